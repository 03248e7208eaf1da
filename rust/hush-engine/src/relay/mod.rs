//! The full-tunnel relay: every packet the apps send, on one task.
//!
//! DNS to port 53 goes to the [`DnsFirewall`]. TCP is terminated in a
//! `smoltcp` stack and relayed flow by flow through protected sockets (see
//! [`tcp`]); UDP is relayed datagram by datagram (see [`udp`]). Each new
//! flow is judged at its first packet on what is known then (the server
//! address and the name DNS gave for it), and again on the name its first
//! bytes carry.
//!
//! One task owns the stack, the flows and the firewall, so nothing needs a
//! lock. Sockets wake it through [`wake::ReadyQueue`], which names the flow,
//! so a wake-up costs work for that flow only.
//!
//! Ways around the firewall are refused at a flow's first packet (see
//! `Relay::judge_destination`): the app's own encrypted DNS on port 853, and,
//! for apps set to "resolved only", addresses no DNS answer through Hush gave
//! them. DoH endpoints are blocked by their name (SNI, Host, QUIC SNI, or
//! the DNS name of the address) through the `hush-doh` list.
//!
//! Invariants: every buffer is bounded (per flow, and in flow count); every
//! packet not relayed or answered is counted in [`Stats`]; a refused flow is
//! answered (reset or ICMP error), never left to time out.

mod big_segments;
mod budget;
mod capture_tap;
mod device;
mod dns_stream;
mod encrypted;
mod icmp;
mod slab;
mod stacks;
pub(crate) mod tcp;
mod trust_dirs;
pub(crate) mod udp;
mod unread;
mod upstream;
mod wake;

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hush_packet::build::{self, Unreachable};
use hush_packet::{Checksums, PacketView, Transport};
use smoltcp::iface::{Config, Interface};
use smoltcp::socket::tcp as stack_tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpListenEndpoint};
use tokio::io::unix::AsyncFd;

use crate::apps::{AppPolicy, PolicyReceiver};
use crate::capture::Capture;
use crate::dns_firewall::{DnsFirewall, Step};
use crate::driver::{io_context, set_nonblocking, tun_failed, EngineError, SocketProtector};
use crate::event::{Event, Reason, Verdict};
use crate::owner::{FlowKey, OwnerCache, OwnerLookup, Transport as FlowTransport};
use crate::policy;
use crate::stats::Stats;
use big_segments::{BigSegments, SynStep};
pub use budget::FlowLimits;
use budget::{FlowBudget, Refusal};
use capture_tap::Tap;
use device::TunDevice;
pub use encrypted::Failure as UpstreamFailure;
use encrypted::Route;
use hush_inspect as inspect;
use icmp::PingFlow;
use slab::Slab;
use stacks::{StackId, Stacks};
use tcp::{Connect, Ending, Phase, TcpFlow};
use udp::UdpFlow;
use unread::{checked_name, Unread};
use upstream::{DnsUpstream, Received};
use wake::{FlowKind, FlowRef, ReadyQueue};

/// What a rule change judges an open flow on.
struct OpenFlow {
    uid: Option<u32>,
    server: SocketAddr,
    dns_name: Option<String>,
    seen_name: Option<String>,
    /// Why the flow named nothing, when it looked like TLS, HTTP or QUIC.
    unnamed: Option<&'static str>,
}

/// Settings of the relay.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The tun's MTU: the largest packet the stack sends to the apps. The
    /// default, 9000, is what Hush gives its tun: big segments cost fewer
    /// reads, writes and stack turns per byte (BENCHMARKS.md).
    pub mtu: usize,
    /// Bytes from the app held per TCP flow before its window closes.
    pub tcp_app_buffer: usize,
    /// Bytes from the server held per TCP flow before Hush stops reading.
    pub tcp_server_buffer: usize,
    pub max_tcp_flows: usize,
    pub max_udp_flows: usize,
    /// How long a server connect may take before the app is told the host
    /// is unreachable.
    pub connect_timeout: Duration,
    /// How long the app may leave the local handshake unfinished (a SYN and
    /// no ACK, as in a SYN flood) before the flow is dropped.
    pub handshake_timeout: Duration,
    /// How long an established flow may be silent before Hush probes the
    /// app's end with a keep-alive. The app's kernel answers for as long as
    /// the connection lives there; a connection it lost (its FIN or reset
    /// was dropped in a burst) gets a reset, or no answer, and the flow ends
    /// instead of lingering. Probes stay on the device, on the tun.
    pub app_keepalive: Duration,
    /// How long a flow's first bytes are held when they end mid-way through
    /// a ClientHello or request; then the flow is relayed unnamed.
    pub inspect_timeout: Duration,
    /// At most this many first bytes are held for inspection.
    pub inspect_limit: usize,
    pub udp_idle_timeout: Duration,
    /// Echo flows (app, server, identifier) relayed at once.
    pub max_ping_flows: usize,
    pub ping_idle_timeout: Duration,
    /// Datagrams of a new UDP flow held while its QUIC Initial is read.
    pub udp_hold_limit: usize,
    /// Hush's own addresses inside the tun (the virtual DNS resolver the
    /// platform hands the apps): DNS to them on port 53 is answered, and
    /// anything else sent to them is refused, never relayed out.
    pub own_addresses: Vec<IpAddr>,
    /// Let apps reach port 853 (their own DNS over TLS, over QUIC). Off by
    /// default: such flows are refused (a reset, an ICMP error) and logged
    /// as `encrypted-dns`, except to the exempt resolvers
    /// ([`crate::DnsConfig::resolver_exemptions`]).
    pub allow_encrypted_dns: bool,
    /// What all flows together, and each app, may hold (see [`FlowLimits`]).
    pub limits: FlowLimits,
    /// The packet capture of one app, started and stopped by the platform
    /// while the relay runs ([`crate::capture`]).
    pub capture: Capture,
    /// Send the apps TCP segments larger than the tun's MTU once the
    /// kernel has shown it takes them (see `big_segments`): a fortieth of
    /// the tun writes for a download at MTU 1500.
    pub big_segments: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            mtu: 9000,
            tcp_app_buffer: 256 * 1024,
            tcp_server_buffer: 256 * 1024,
            max_tcp_flows: 16_384,
            max_udp_flows: 4096,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            app_keepalive: Duration::from_secs(300),
            inspect_timeout: Duration::from_millis(500),
            inspect_limit: inspect::tls::MAX_CLIENT_HELLO_STREAM,
            udp_idle_timeout: Duration::from_secs(60),
            max_ping_flows: 256,
            ping_idle_timeout: Duration::from_secs(10),
            udp_hold_limit: 8,
            own_addresses: Vec::new(),
            allow_encrypted_dns: false,
            limits: FlowLimits::default(),
            capture: Capture::default(),
            big_segments: true,
        }
    }
}

/// What the relay needs from the platform it runs on.
pub struct Platform {
    /// Keeps Hush's own sockets out of the tun.
    pub protector: Arc<dyn SocketProtector>,
    /// Names the app behind each new flow and DNS query.
    pub owners: Arc<dyn OwnerLookup>,
    /// The per-app rules, and later versions of them as the user changes them.
    pub policy: PolicyReceiver,
    /// Where the counts are published while the relay runs (at most every
    /// [`STATS_EVERY`], when there is traffic), for a live display.
    pub live_stats: Option<tokio::sync::watch::Sender<Stats>>,
    /// Later versions of the lists, when the platform reloads them (an
    /// update was downloaded, a list was added or turned off).
    pub lists: Option<tokio::sync::watch::Receiver<Lists>>,
    /// Bumped by the platform when the network changes (another network,
    /// or new addresses on the same one).
    pub network_changes: Option<tokio::sync::watch::Receiver<u64>>,
    /// The resolver allowed queries go to from the next network change on,
    /// when the platform follows the network's own resolvers.
    /// (`None` in the channel: the configured one.) Plain DNS only: an
    /// encrypted upstream is never swapped for clear text.
    pub upstream_changes: Option<tokio::sync::watch::Receiver<Option<SocketAddr>>>,
    /// Later versions of the exempt resolvers
    /// ([`crate::DnsConfig::resolver_exemptions`]), as the platform's
    /// Private DNS changes; in force for new queries and flows.
    pub resolver_exemptions: Option<tokio::sync::watch::Receiver<crate::ResolverExemptions>>,
    /// Later tuns the platform hands over (on Android, the VPN established
    /// again with another set of apps left out). The relay reads what waits
    /// in the one it leaves, then moves to the new one with its flows:
    /// connections open through Hush go on.
    pub tuns: Option<tokio::sync::watch::Receiver<Arc<File>>>,
    /// Faults to inject, for tests of their containment.
    #[cfg(feature = "fault-injection")]
    pub faults: Option<Arc<crate::Faults>>,
}

/// Completes when `changes` is bumped; never, without a channel or once
/// its sender is gone.
async fn changed(changes: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match changes {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                *changes = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// The name and address lists in force, replaced whole on a reload. New
/// flows and queries are judged by the new lists; open flows go on.
#[derive(Debug, Clone)]
pub struct Lists {
    pub names: Arc<hush_rules::RuleSet>,
    pub addresses: Arc<hush_rules::AddressRules>,
}

/// The next version of the lists; never, without a channel.
async fn lists_changed(
    lists: &mut Option<tokio::sync::watch::Receiver<Lists>>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    match lists {
        Some(lists) => lists.changed().await,
        None => std::future::pending().await,
    }
}

/// The next version of a value the platform may change; never, without a
/// channel.
async fn next_version<T>(
    changes: &mut Option<tokio::sync::watch::Receiver<T>>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    match changes {
        Some(changes) => changes.changed().await,
        None => std::future::pending().await,
    }
}

/// How often live counts are published, at most.
pub const STATS_EVERY: Duration = Duration::from_millis(250);

/// Owner answers remembered (see [`OwnerCache`]).
const OWNER_CACHE: usize = 16_384;

/// How many packets are taken from the tun per wake-up before the sockets
/// get a turn.
const TUN_BATCH: usize = 128;
/// What wakes the relay on the tun: packets, and its failure. A tun whose
/// device is gone (a VPN revoked, `ip link del`) polls as an error only,
/// never as readable; the read then fails, and the relay ends saying so.
pub(crate) const TUN_INTEREST: tokio::io::Interest =
    tokio::io::Interest::READABLE.add(tokio::io::Interest::ERROR);
/// Largest IP packet a tun can hand over.
const MAX_PACKET: usize = 65_535;
/// How often every flow is looked at while any exists: idle UDP and echo
/// flows are closed, and TCP sockets the stack closed on its own timers are
/// removed. Deadlines that must be met sooner (DNS, connect, inspection) set
/// their own wake-up, so an idle relay wakes only this often.
const SWEEP: Duration = Duration::from_secs(2);
/// The longest the relay sleeps when there is nothing at all to watch.
const IDLE_WAKE: Duration = Duration::from_secs(3600);
/// Addresses the stack owns. With any-IP on it answers for every address;
/// these two are reserved so no real server can have them (RFC 7600's IPv4
/// dummy address and the IPv6 discard prefix, RFC 6666).
const STACK_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 8);
const STACK_V6: Ipv6Addr = Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 1);

/// Runs the relay on `tun` until `shutdown` completes, then returns the
/// final counts. `tun` carries raw IP packets, one per read; the caller
/// keeps it open, so a relay that fails leaves the tun (and with it the
/// VPN) in place for the next one. Allowed DNS queries go to `upstream`.
pub async fn run_relay(
    tun: Arc<File>,
    config: RelayConfig,
    mut firewall: DnsFirewall,
    upstream: impl Into<crate::Upstream>,
    platform: Platform,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, EngineError> {
    let Platform {
        protector,
        owners,
        mut policy,
        live_stats,
        mut lists,
        mut network_changes,
        mut upstream_changes,
        mut resolver_exemptions,
        mut tuns,
        #[cfg(feature = "fault-injection")]
        faults,
    } = platform;
    let mut lists_open = lists.is_some();
    let mut exemptions_open = resolver_exemptions.is_some();
    let mut published_at = Instant::now();
    firewall.set_app_policy(Arc::clone(&policy.borrow_and_update()));
    let mut policy_open = true;
    let (owner_answers, mut owner_answered) = tokio::sync::mpsc::unbounded_channel();
    set_nonblocking(tun.as_fd()).map_err(tun_failed("make the tun non-blocking"))?;
    let reader = Arc::clone(&tun);
    // SAFETY: a `File` owns its descriptor, keeps it open until dropped and
    // always reports the same one, which is what `register` requires. The
    // relay's device writes to the same file through its own `Arc`.
    let mut tun_ready = unsafe { AsyncFd::register(ArcFile(reader)) }
        .map_err(|e| io_context("register the tun")(e.into()))?;
    let upstream: crate::Upstream = upstream.into();
    let dns_upstream = Arc::new(DnsUpstream::open(
        &upstream,
        Arc::clone(&protector),
        firewall.query_timeout(),
    )?);
    let mut relay = Relay::new(config, firewall, Arc::clone(&dns_upstream), protector, tun);
    relay.owners_enabled = owners.is_available();
    relay.owners = Arc::new(OwnerCache::new(owners, OWNER_CACHE));
    relay.owner_answers = Some(owner_answers);
    let (protected_sockets, mut protected_socket) = tokio::sync::mpsc::unbounded_channel();
    if relay.protector.may_block() {
        relay.protected_sockets = Some(protected_sockets);
    }
    let ready = Arc::clone(&relay.ready);

    let mut packet_buffer = vec![0u8; MAX_PACKET];
    let mut answer = vec![0u8; MAX_PACKET];
    let wake_at = tokio::time::sleep(SWEEP);
    tokio::pin!(wake_at);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            // Before the tun: a packet the app sends after a rule change
            // returned to the platform is judged by the new rules.
            changed = policy.changed(), if policy_open => match changed {
                Ok(()) => {
                    let apps = Arc::clone(&policy.borrow_and_update());
                    relay.apply_app_policy(apps, Instant::now());
                }
                // The platform is gone; the last rules stay in force.
                Err(_) => policy_open = false,
            },
            changed = lists_changed(&mut lists), if lists_open => match changed {
                Ok(()) => {
                    if let Some(update) = lists.as_mut().map(|l| l.borrow_and_update().clone()) {
                        relay.firewall.set_rules(update.names);
                        relay.firewall.set_address_rules(update.addresses);
                    }
                }
                Err(_) => lists_open = false,
            },
            changed = next_version(&mut resolver_exemptions), if exemptions_open => match changed {
                Ok(()) => {
                    if let Some(update) = resolver_exemptions.as_mut().map(|e| e.borrow_and_update().clone()) {
                        relay.firewall.set_resolver_exemptions(update);
                    }
                }
                Err(_) => exemptions_open = false,
            },
            changed = next_version(&mut tuns) => match changed {
                Ok(()) => {
                    let next = tuns.as_mut().map(|t| Arc::clone(&t.borrow_and_update()));
                    if let Some(next) = next.filter(|next| !Arc::ptr_eq(next, &tun_ready.get_ref().0)) {
                        // Android sends nothing more to the old tun once the
                        // new one is up: what waits there is read first.
                        drain_tun(&tun_ready, &mut relay, &mut packet_buffer);
                        set_nonblocking(next.as_fd()).map_err(tun_failed("make the new tun non-blocking"))?;
                        // SAFETY: as for the first tun, above.
                        tun_ready = unsafe { AsyncFd::register(ArcFile(Arc::clone(&next))) }
                            .map_err(|e| io_context("register the new tun")(e.into()))?;
                        relay.device.replace_tun(next);
                        relay.stats().tun_replaced += 1;
                    }
                }
                Err(_) => tuns = None,
            },
            () = changed(&mut network_changes) => {
                if let Some(Some(upstream)) = upstream_changes.as_mut().map(|u| *u.borrow_and_update()) {
                    if dns_upstream.set_address(upstream) {
                        relay.firewall.stats_mut().upstream_changes += 1;
                    }
                }
                relay.on_network_change(Instant::now());
            }
            readable = tun_ready.ready(TUN_INTEREST) => {
                let mut guard = readable.map_err(tun_failed("poll the tun"))?;
                for _ in 0..TUN_BATCH {
                    let read = guard.try_io(|tun| (&*tun.get_ref().0).read(&mut packet_buffer));
                    match read {
                        Ok(Ok(len)) => {
                            // A change made while this batch is read holds
                            // for the packets after it (a version compare).
                            if policy_open && policy.has_changed().unwrap_or(false) {
                                let apps = Arc::clone(&policy.borrow_and_update());
                                relay.apply_app_policy(apps, Instant::now());
                            }
                            #[cfg(feature = "fault-injection")]
                            if let Some(faults) = &faults {
                                faults.at_packet(&packet_buffer[..len]);
                            }
                            relay.on_tun_packet(&packet_buffer[..len], Instant::now())
                        }
                        Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(Err(e)) => return Err(tun_failed("read the tun")(e)),
                        Err(_would_block) => break,
                    }
                }
            }
            () = ready.notified() => {
                ready.drain_into(&mut relay.touched);
            }
            Some((flow, uid)) = owner_answered.recv() => {
                relay.on_owner_known(flow, uid, Instant::now());
            }
            Some((flow, socket)) = protected_socket.recv() => {
                relay.on_protected_socket(flow, socket);
            }
            received = dns_upstream.recv(&mut answer) => match received {
                Ok(Received { len, failure, route }) => {
                    if let Some(failure) = failure {
                        relay.count_upstream_failure(failure);
                    }
                    match route {
                        Route::Firewall => relay.on_dns_answer(&answer[..len], Instant::now()),
                        Route::Stream(flow) => relay.on_stream_answer(flow, &answer[..len]),
                    }
                }
                // A refused or unreachable resolver shows up here (ICMP errors
                // on a connected socket); its queries end in SERVFAIL on timeout.
                Err(_) => relay.firewall.stats_mut().upstream_send_errors += 1,
            },
            () = &mut wake_at => {}
        }
        let now = Instant::now();
        if now >= relay.housekeeping_due(now) {
            relay.housekeeping(now);
        }
        relay.turn(now);
        if let Some(tap) = &mut relay.device.tap {
            tap.end_turn();
        }
        // Something may have been counted: publish, or come back to.
        let mut publish_due = None;
        if let Some(live) = &live_stats {
            if now >= published_at + STATS_EVERY {
                live.send_replace(relay.snapshot());
                published_at = now;
            } else {
                publish_due = Some(published_at + STATS_EVERY);
            }
        }
        let mut due = relay.housekeeping_due(now);
        if let Some(delay) = relay.stack_delay(now) {
            due = due.min(now + delay);
        }
        if let Some(publish) = publish_due {
            due = due.min(publish);
        }
        wake_at.as_mut().reset(tokio::time::Instant::from_std(due));
    }
    let stats = relay.snapshot();
    if let Some(live) = &live_stats {
        live.send_replace(stats.clone());
    }
    Ok(stats)
}

/// Most packets read from a tun being left, before the relay moves on.
const DRAIN_LIMIT: usize = 4096;

/// Takes what waits in a tun the relay is leaving, up to [`DRAIN_LIMIT`]
/// packets; a read error ends it (a tun gone bad has nothing more to give).
fn drain_tun(tun: &AsyncFd<ArcFile>, relay: &mut Relay, buffer: &mut [u8]) {
    for _ in 0..DRAIN_LIMIT {
        match (&*tun.get_ref().0).read(buffer) {
            Ok(len) => relay.on_tun_packet(&buffer[..len], Instant::now()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

/// A shared `File` that `AsyncFd` can own.
pub(crate) struct ArcFile(pub(crate) Arc<File>);

impl std::os::fd::AsRawFd for ArcFile {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

struct Relay {
    config: RelayConfig,
    firewall: DnsFirewall,
    dns_upstream: Arc<DnsUpstream>,
    protector: Arc<dyn SocketProtector>,
    iface: Interface,
    stacks: Stacks,
    device: TunDevice,
    origin: Instant,
    tcp: Slab<TcpFlow>,
    tcp_index: HashMap<(SocketAddr, SocketAddr), FlowRef>,
    udp: Slab<UdpFlow>,
    udp_index: HashMap<(SocketAddr, SocketAddr), FlowRef>,
    ping: Slab<PingFlow>,
    ping_index: HashMap<(IpAddr, IpAddr, u16), FlowRef>,
    ready: Arc<ReadyQueue>,
    /// Flows to service in this turn; may hold repeats and stale references.
    touched: Vec<FlowRef>,
    /// Flows that ended this turn; removed after the stack has sent their
    /// last packets (a FIN or a reset).
    ended: Vec<(FlowRef, Ending)>,
    udp_scratch: Vec<u8>,
    last_sweep: Instant,
    /// The earliest deadline a flow is waiting on (connect, inspection).
    flow_deadline: Option<Instant>,
    owners: Arc<OwnerCache<Arc<dyn OwnerLookup>>>,
    /// False when the platform cannot name owners: nothing waits for them.
    owners_enabled: bool,
    /// The first packets of new flows whose owner is being looked up, off
    /// this task; they are taken again once it is known.
    awaiting_owner: HashMap<FlowKey, Vec<Vec<u8>>>,
    /// The flows' buffers and counts, in total and per app.
    budget: FlowBudget,
    owner_answers: Option<tokio::sync::mpsc::UnboundedSender<(FlowKey, Option<u32>)>>,
    /// Where new flows' server sockets come back when the protector may
    /// block and they are opened off this task; `None` when it does not.
    protected_sockets: Option<tokio::sync::mpsc::UnboundedSender<ProtectedSocket>>,
    /// The owner of the flow whose parked packets are being taken again.
    replaying: Option<(FlowKey, Option<u32>)>,
    /// The capture version the device's tap was set for.
    capture_version: u64,
    big_segments: BigSegments,
}

impl Relay {
    fn new(
        config: RelayConfig,
        firewall: DnsFirewall,
        dns_upstream: Arc<DnsUpstream>,
        protector: Arc<dyn SocketProtector>,
        tun: Arc<File>,
    ) -> Self {
        // The stack's segments to an app are as large as the MSS the app
        // announced allows; `big_segments` raises it only where the kernel
        // takes bigger packets. smoltcp reads its device's MTU once, here.
        let stack_mtu = if config.big_segments {
            config.mtu.max(big_segments::BIG_MTU)
        } else {
            config.mtu
        };
        let mut device = TunDevice::new(tun, stack_mtu);
        let origin = Instant::now();
        let limits = config.limits;
        let big_segments = BigSegments::new(config.big_segments);
        let mut iface_config = Config::new(HardwareAddress::Ip);
        iface_config.random_seed = rand::random();
        let mut iface = Interface::new(iface_config, &mut device, stack_time(origin, origin));
        iface.set_any_ip(true);
        iface.update_ip_addrs(|addrs| {
            // Capacity is fixed at compile time and far above two.
            let _ = addrs.push(IpCidr::new(IpAddress::from(STACK_V4), 32));
            let _ = addrs.push(IpCidr::new(IpAddress::from(STACK_V6), 128));
        });
        Self {
            config,
            firewall,
            dns_upstream,
            protector,
            iface,
            stacks: Stacks::new(),
            device,
            origin,
            tcp: Slab::new(FlowKind::Tcp),
            tcp_index: HashMap::new(),
            udp: Slab::new(FlowKind::Udp),
            udp_index: HashMap::new(),
            ping: Slab::new(FlowKind::Ping),
            ping_index: HashMap::new(),
            ready: ReadyQueue::new(),
            touched: Vec::new(),
            ended: Vec::new(),
            udp_scratch: vec![0; MAX_PACKET],
            last_sweep: origin,
            flow_deadline: None,
            owners: Arc::new(OwnerCache::new(
                Arc::new(crate::owner::NoOwners) as Arc<dyn OwnerLookup>,
                2,
            )),
            owners_enabled: false,
            awaiting_owner: HashMap::new(),
            budget: FlowBudget::new(limits),
            owner_answers: None,
            protected_sockets: None,
            replaying: None,
            capture_version: 0,
            big_segments,
        }
    }

    fn stats(&mut self) -> &mut Stats {
        self.firewall.stats_mut()
    }

    /// The counts so far, with the device's and the open-flow gauges.
    fn snapshot(&self) -> Stats {
        let mut stats = self.firewall.stats().clone();
        stats.packets_out += self.device.packets_out;
        stats.tun_write_errors += self.device.write_errors;
        stats.tcp_open = self.tcp.len() as u64;
        stats.udp_open = self.udp.len() as u64;
        stats.flow_buffer_bytes = self.budget.buffers_in_use() as u64;
        stats
    }

    fn on_tun_packet(&mut self, packet: &[u8], now: Instant) {
        self.follow_capture();
        let view = match hush_packet::parse(packet, Checksums::Verify) {
            Ok(view) => view,
            Err(_) => {
                // Counted by the firewall, which sees every packet.
                let _ = self.firewall.on_tun_packet(packet, now);
                return;
            }
        };
        if let Some(tap) = &mut self.device.tap {
            tap.on_app_packet(&view, now);
        }
        self.dispatch(view, packet, now);
    }

    /// Starts or ends the device's tap when the platform started or ended a
    /// capture, or when the capture ended by itself.
    fn follow_capture(&mut self) {
        let version = self.config.capture.version();
        if version != self.capture_version {
            self.capture_version = version;
            self.device.tap = self.config.capture.sink().map(Tap::new);
        } else if self.device.tap.as_ref().is_some_and(|tap| !tap.is_open()) {
            self.device.tap = None;
        } else {
            return;
        }
        let uid = self.device.tap.as_ref().map(Tap::uid);
        self.firewall.keep_decisions_of(uid);
    }

    fn dispatch(&mut self, view: PacketView<'_>, packet: &[u8], now: Instant) {
        match view.transport {
            Transport::Udp(udp) if udp.dst_port == 53 => {
                let key = FlowKey {
                    transport: FlowTransport::Udp,
                    local: SocketAddr::new(view.ip.src, udp.src_port),
                    remote: SocketAddr::new(view.ip.dst, udp.dst_port),
                };
                match self.owner_of(key, packet, now) {
                    Some(uid) => self.on_dns_query(packet, uid, now),
                    // Counted now, as the firewall would have; not again
                    // when it is taken back.
                    None => self.stats().packets_in += 1,
                }
            }
            Transport::Tcp(_) => {
                self.stats().packets_in += 1;
                self.on_tcp(&view, now);
            }
            Transport::Udp(_) => {
                self.stats().packets_in += 1;
                self.on_udp(&view, now);
            }
            Transport::Icmp(..) | Transport::Fragment(_) if self.big_segments.take_reply(&view) => {
            }
            Transport::Icmp(..) => {
                self.stats().packets_in += 1;
                self.on_icmp(&view, now);
            }
            Transport::Fragment(_) | Transport::Other(_) => {
                // The firewall counts both kinds.
                let _ = self.firewall.on_tun_packet(packet, now);
            }
        }
    }

    fn on_dns_query(&mut self, packet: &[u8], uid: Option<u32>, now: Instant) {
        let step = self.firewall.on_tun_packet_from(packet, uid, now);
        if let Some(tap) = &self.device.tap {
            if let Some(decision) = self.firewall.take_decision() {
                let view = hush_packet::parse(packet, Checksums::Ignore);
                if let Ok(PacketView {
                    ip,
                    transport: Transport::Udp(udp),
                    ..
                }) = view
                {
                    tap.decided(uid, SocketAddr::new(ip.dst, udp.dst_port), || decision);
                }
            }
        }
        match step {
            Step::Reply(reply) => self.device.write_packet(&reply),
            Step::Forward(query) => {
                if self.dns_upstream.send(&query).is_err() {
                    self.stats().upstream_send_errors += 1;
                }
            }
            Step::Drop => {}
        }
    }

    fn count_upstream_failure(&mut self, failure: UpstreamFailure) {
        let stats = self.stats();
        let counter = match failure {
            UpstreamFailure::Connect => &mut stats.upstream_connect_failed,
            UpstreamFailure::Certificate => &mut stats.upstream_bad_certificate,
            UpstreamFailure::Handshake => &mut stats.upstream_handshake_failed,
            UpstreamFailure::Timeout => &mut stats.upstream_timeouts,
            UpstreamFailure::Http => &mut stats.upstream_http_errors,
            UpstreamFailure::BadAnswer => &mut stats.upstream_bad_answers,
            UpstreamFailure::Closed => &mut stats.upstream_closed,
            UpstreamFailure::Overload => &mut stats.upstream_overload,
            UpstreamFailure::TrustStore => &mut stats.upstream_no_trust_store,
        };
        *counter += 1;
    }

    /// An answer from the encrypted client for a DNS-over-TCP flow: read
    /// in the flow's next turn. One for a flow that ended is dropped.
    fn on_stream_answer(&mut self, flow_ref: FlowRef, answer: &[u8]) {
        match self.tcp.get_mut(flow_ref).and_then(|f| f.dns.as_mut()) {
            Some(stream) => {
                stream.deliver(answer.to_vec());
                self.touched.push(flow_ref);
            }
            None => self.stats().dropped_stray_answers += 1,
        }
    }

    fn on_dns_answer(&mut self, answer: &[u8], now: Instant) {
        if let Some(reply) = self.firewall.on_upstream_answer(answer.to_vec(), now) {
            if let Some(tap) = &mut self.device.tap {
                if let Some(decision) = self.firewall.take_decision() {
                    tap.comment_next_reply(decision);
                }
            }
            self.device.write_packet(&reply);
        }
    }

    /// The owner of a new flow, if it can be told now: from the cache, from
    /// a platform lookup that answers at once ([`OwnerLookup::owner_at_once`]),
    /// or unknown when the platform cannot say. Otherwise the packet is parked,
    /// the lookup runs off this task, and [`Self::on_owner_known`] takes the
    /// packet again; or, with too many lookups under way, it is dropped.
    /// Either way `None` is returned and the caller stops there.
    fn owner_of(&mut self, key: FlowKey, packet: &[u8], now: Instant) -> Option<Option<u32>> {
        let owner = self.look_up_owner(key, packet, now);
        if let (Some(tap), Some(uid)) = (&mut self.device.tap, owner) {
            tap.owner_known(key, uid, packet, now);
        }
        owner
    }

    fn look_up_owner(&mut self, key: FlowKey, packet: &[u8], now: Instant) -> Option<Option<u32>> {
        if !self.owners_enabled {
            return Some(None);
        }
        if let Some((replayed, uid)) = self.replaying {
            if replayed == key {
                return Some(uid);
            }
        }
        if let Some(uid) = self.owners.cached(&key, now) {
            return Some(uid);
        }
        if let Some(parked) = self.awaiting_owner.get_mut(&key) {
            if parked.len() < self.config.udp_hold_limit {
                parked.push(packet.to_vec());
            } else {
                self.stats().owner_wait_dropped += 1;
            }
            return None;
        }
        // A lookup that waits on nothing but the kernel (`sock_diag`) is
        // asked here: the hop to the blocking pool and back would cost
        // more than the lookup. A panic in it is "not at once".
        let at_once = std::panic::AssertUnwindSafe(|| self.owners.owner_at_once_at(&key, now));
        if let Some(uid) = std::panic::catch_unwind(at_once).unwrap_or(None) {
            let stats = self.stats();
            stats.owner_lookups += 1;
            stats.owner_lookups_inline += 1;
            if uid.is_none() {
                stats.owner_unknown += 1;
            }
            return Some(uid);
        }
        let Some(answers) = self.owner_answers.clone() else {
            return Some(None);
        };
        if self.awaiting_owner.len() >= self.config.limits.awaiting_owner {
            // Dropped, not judged as unowned: see `FlowLimits::awaiting_owner`.
            self.stats().owner_lookups_overflow += 1;
            return None;
        }
        self.awaiting_owner.insert(key, vec![packet.to_vec()]);
        self.stats().owner_lookups += 1;
        let owners = Arc::clone(&self.owners);
        // A lookup may block (a netlink round trip, a call into the JVM):
        // never on this task.
        tokio::task::spawn_blocking(move || {
            // An answer always comes back, so nothing stays parked: a
            // platform lookup that panics counts as "unknown".
            let lookup = std::panic::AssertUnwindSafe(|| owners.owner_at(&key, Instant::now()));
            let uid = std::panic::catch_unwind(lookup).unwrap_or(None);
            let _ = answers.send((key, uid));
        });
        None
    }

    /// Takes again the packets parked while `key`'s owner was looked up.
    fn on_owner_known(&mut self, key: FlowKey, uid: Option<u32>, now: Instant) {
        let Some(packets) = self.awaiting_owner.remove(&key) else {
            return;
        };
        if uid.is_none() {
            self.stats().owner_unknown += 1;
        }
        self.replaying = Some((key, uid));
        for packet in &packets {
            self.on_tun_packet(packet, now);
        }
        self.replaying = None;
        // Each was counted when it was first read.
        let stats = self.stats();
        stats.packets_in = stats.packets_in.saturating_sub(packets.len() as u64);
    }

    /// The network changed: every outside socket opened on the old one is
    /// suspect. The DNS sockets are reopened; UDP flows get new outside
    /// sockets for the same app 4-tuple (the app notices nothing); TCP
    /// flows whose socket died (its source address is gone, or it holds an
    /// error) are reset on the app's side at once, so the app reconnects
    /// now instead of waiting out its own timeouts.
    fn on_network_change(&mut self, now: Instant) {
        self.stats().network_changes += 1;
        self.dns_upstream.reopen();
        let mut resend_failed = 0;
        for query in self.firewall.pending_queries() {
            if self.dns_upstream.send(query).is_err() {
                resend_failed += 1;
            }
        }
        self.stats().upstream_send_errors += resend_failed;
        // DNS-over-TCP queries in flight on the encrypted client went with
        // its connection: sent again, as the firewall's are. (Over a plain
        // upstream each flow has its own connection, which fails or lives.)
        if let Some(client) = self.dns_upstream.encrypted() {
            for flow_ref in self.tcp.refs() {
                if let Some(stream) = self.tcp.get_mut(flow_ref).and_then(|f| f.dns.as_ref()) {
                    stream.resend(|query| client.send_for(query, Route::Stream(flow_ref)));
                }
            }
        }
        for flow_ref in self.udp.refs() {
            if self.protected_sockets.is_some() {
                // Counted as moved when the new socket comes.
                self.open_udp_off_task(flow_ref);
                continue;
            }
            let Some(flow) = self.udp.get_mut(flow_ref) else {
                continue;
            };
            if let Ok(socket) = udp::connect(flow.server, self.protector.as_ref()) {
                if flow.attach(socket) > 0 {
                    self.stats().udp_send_errors += 1;
                }
                self.touched.push(flow_ref);
                self.stats().udp_flows_moved += 1;
            }
        }
        let addresses = local_addresses();
        for flow_ref in self.tcp.refs() {
            let Some(flow) = self.tcp.get_mut(flow_ref) else {
                continue;
            };
            if flow.outside_alive(&addresses) {
                continue;
            }
            self.stacks.socket_mut(flow.handle).abort();
            self.ended.push((flow_ref, Ending::ServerReset));
            self.stats().tcp_reset_network_change += 1;
        }
        self.turn(now);
    }

    /// Puts new per-app rules in force, and ends the open flows they block.
    fn apply_app_policy(&mut self, apps: Arc<AppPolicy>, now: Instant) {
        self.firewall.set_app_policy(apps);
        for flow_ref in self.tcp.refs() {
            let Some(flow) = self.tcp.get_mut(flow_ref) else {
                continue;
            };
            let facts = OpenFlow {
                uid: flow.uid,
                server: flow.server,
                dns_name: flow.dns_name.clone(),
                seen_name: flow.seen_name.clone(),
                unnamed: flow.unnamed,
            };
            if self.cut_by_rule_change(facts, "tcp") {
                if let Some(flow) = self.tcp.get_mut(flow_ref) {
                    self.stacks.socket_mut(flow.handle).abort();
                    self.ended.push((flow_ref, Ending::AppReset));
                }
            }
        }
        for flow_ref in self.udp.refs() {
            let Some(flow) = self.udp.get_mut(flow_ref).filter(|f| !f.is_blocked()) else {
                continue;
            };
            let facts = OpenFlow {
                uid: flow.uid,
                server: flow.server,
                dns_name: flow.dns_name.clone(),
                seen_name: flow.seen_name.clone(),
                unnamed: flow.unnamed,
            };
            if self.cut_by_rule_change(facts, "udp") {
                if let Some(flow) = self.udp.get_mut(flow_ref) {
                    flow.block();
                }
            }
        }
        self.turn(now);
    }

    /// Whether the rules now in force block an open flow; if so, it is
    /// counted and recorded, and the caller ends it.
    fn cut_by_rule_change(&mut self, flow: OpenFlow, protocol: &'static str) -> bool {
        let strict = flow.unnamed.filter(|_| self.strict_for(flow.uid));
        let blocked =
            self.now_blocked(flow.uid, flow.server, flow.dns_name.clone(), flow.seen_name);
        // A flow no rule blocks, that named nothing, is cut when its app is
        // made strict: as it would have been reset had strict been on.
        let Some((reason, host, detail)) =
            blocked.or_else(|| strict.map(|detail| (Reason::Strict, flow.dns_name, detail)))
        else {
            return false;
        };
        self.stats().flows_cut_by_rule += 1;
        self.record(
            flow.uid,
            host.as_deref(),
            flow.server,
            protocol,
            detail,
            Verdict::Blocked,
            reason,
        );
        true
    }

    /// Whether the rules now in force block an open flow, and why: its
    /// destination (address and DNS name), or the name its first bytes carried.
    fn now_blocked(
        &self,
        uid: Option<u32>,
        server: SocketAddr,
        dns_name: Option<String>,
        seen_name: Option<String>,
    ) -> Option<(Reason, Option<String>, &'static str)> {
        if let Some(name) = seen_name {
            let (verdict, reason) = self.firewall.judge_name(uid, &name);
            if verdict == Verdict::Blocked {
                return Some((reason, Some(name), "rule-change"));
            }
        }
        let (verdict, reason, _) = self.judge_destination(uid, server, &dns_name, None);
        (verdict == Verdict::Blocked).then_some((reason, dns_name, "rule-change"))
    }

    /// The rules' verdict on a flow of `uid`'s to `server` (port 0 for
    /// echo), before any byte; `new_flow` is the time of its first packet,
    /// `None` when an open flow is judged again after a rule change. In order:
    ///
    /// 1. Hush's own addresses inside the tun (the virtual resolver) answer
    ///    DNS on port 53 and nothing else: whatever else is sent to them is
    ///    refused, never relayed out (`hush-address`).
    /// 2. The user's own rules and the app's mode ([`policy::user_choice`]).
    /// 3. Port 853, the app's own DNS over TLS or QUIC, unless allowed
    ///    ([`RelayConfig::allow_encrypted_dns`]) or to an exempt resolver
    ///    (`encrypted-dns`).
    /// 4. The name and address lists; a `hush-doh` match by the DNS name of
    ///    an exempt resolver's address does not count.
    /// 5. For a new TCP or UDP flow the lists left unlisted, of an app set to
    ///    "resolved only": an address no DNS answer through Hush gave the
    ///    app is refused (`not-resolved`), unless it is on the local network,
    ///    the upstream resolver's, or exempt. DNS (port 53) is Hush's anyway.
    fn judge_destination(
        &self,
        uid: Option<u32>,
        server: SocketAddr,
        dns_name: &Option<String>,
        new_flow: Option<Instant>,
    ) -> (Verdict, Reason, &'static str) {
        if server.port() != 53 && self.config.own_addresses.contains(&server.ip()) {
            return (Verdict::Blocked, Reason::HushAddress, "hush-address");
        }
        let address = server.ip();
        let dns_name = dns_name.as_deref();
        let apps = self.firewall.app_policy();
        if let Some((verdict, reason)) = policy::user_choice(apps, uid, dns_name) {
            return (verdict, reason, policy::name_or_address(dns_name));
        }
        let exemptions = self.firewall.resolver_exemptions();
        let exempt = exemptions.exempts_address(address)
            || dns_name.is_some_and(|name| exemptions.exempts_name(name));
        if server.port() == 853 && !self.config.allow_encrypted_dns && !exempt {
            return (Verdict::Blocked, Reason::EncryptedDns, "port-853");
        }
        let rules = self.firewall.rules();
        let addresses = self.firewall.address_rules();
        let judged = match policy::judge_destination_by_lists(rules, addresses, address, dns_name) {
            (Verdict::Blocked, Reason::Blocklist(list), "dns-name")
                if exempt && list == hush_rules::ENCRYPTED_DNS_LIST_NAME =>
            {
                policy::judge_destination_by_lists(rules, addresses, address, None)
            }
            judged => judged,
        };
        let Some(now) = new_flow else {
            return judged;
        };
        let unlisted = judged.0 == Verdict::Allowed && judged.1 == Reason::Unlisted;
        let checked = !matches!(server.port(), 0 | 53)
            && unlisted
            && apps.resolved_only(uid)
            && !exempt
            && !crate::bypass::is_local(address)
            && address != self.dns_upstream.address().ip();
        if checked && !self.firewall.was_resolved_for(uid, address, now) {
            return (Verdict::Blocked, Reason::NotResolved, "address");
        }
        judged
    }

    /// Whether a new flow of `uid`'s that names nothing is refused: the
    /// app is strict, and its mode lets the lists decide (an app allowed
    /// everything is not filtered, and one blocked everything never got
    /// this far).
    fn strict_for(&self, uid: Option<u32>) -> bool {
        let apps = self.firewall.app_policy();
        apps.strict(uid) && apps.mode(uid) == crate::apps::AppMode::BlockTrackers
    }

    /// The name DNS gave for `address`, if it is still remembered.
    fn dns_name(&self, address: IpAddr, now: Instant) -> Option<String> {
        self.firewall.name_of(address, now).map(str::to_owned)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        uid: Option<u32>,
        host: Option<&str>,
        server: SocketAddr,
        protocol: &'static str,
        detail: &str,
        verdict: Verdict,
        reason: Reason,
    ) {
        if let Some(tap) = &self.device.tap {
            tap.decided(uid, server, || {
                let host = host.unwrap_or("(no name)");
                format!("hush: {} {host} ({})", verdict.as_str(), reason.code())
            });
        }
        self.firewall.events().record(Event {
            time: SystemTime::now(),
            uid,
            host: host.unwrap_or_default().to_string(),
            address: server.ip(),
            port: server.port(),
            protocol,
            detail: detail.to_string(),
            verdict,
            reason,
            screen_off: false, // set by the sink as it records
        });
    }

    // ---- TCP ----

    fn on_tcp(&mut self, view: &PacketView<'_>, now: Instant) {
        let Transport::Tcp(segment) = view.transport else {
            return;
        };
        let app = SocketAddr::new(view.ip.src, segment.src_port);
        let server = SocketAddr::new(view.ip.dst, segment.dst_port);
        if let Some(&flow) = self.tcp_index.get(&(app, server)) {
            let new_syn = segment.flags.syn && !segment.flags.ack;
            let Some(existing) = self.tcp.get_mut(flow) else {
                // Cannot happen: flows leave the index when they leave the slab.
                self.tcp_index.remove(&(app, server));
                return;
            };
            if new_syn && matches!(existing.phase, Phase::Connecting { .. }) {
                // A retransmitted SYN: the first one is still being answered.
                if let Some(tap) = &mut self.device.tap {
                    tap.on_flow_packet(view, now);
                }
                return;
            }
            let state = self.stacks.socket(existing.handle).state();
            let closed = matches!(state, stack_tcp::State::TimeWait | stack_tcp::State::Closed);
            if new_syn && (closed || segment.seq != existing.app_isn) {
                // A SYN that is not the flow's own: the app reused the port
                // of a connection that is over for it (ended, or lost when
                // its FIN or reset was dropped). smoltcp would ignore it and
                // the app would time out; end the old flow now and take the
                // SYN as a new one, as a kernel would after a reset.
                let ending = if closed {
                    Ending::Graceful
                } else {
                    Ending::AppReset
                };
                self.finish_tcp(flow, ending);
                self.stats().tcp_port_reuses += 1;
            } else {
                let handle = existing.handle;
                let mut buffer = self.device.buffer();
                buffer.extend_from_slice(view.bytes);
                self.device.push_rx(buffer);
                self.ingest(handle, now);
                self.touched.push(flow);
                return;
            }
        }
        if !segment.flags.syn || segment.flags.ack || segment.flags.rst {
            // No such flow (it ended, or predates Hush): fail it fast.
            if let Some(reset) = build::tcp_rst(&view.ip, &segment) {
                self.device.write_packet(&reset);
            }
            self.stats().tcp_reset_unknown += 1;
            return;
        }
        let key = FlowKey {
            transport: FlowTransport::Tcp,
            local: app,
            remote: server,
        };
        if let Some(uid) = self.owner_of(key, view.bytes, now) {
            self.on_tcp_syn(view, app, server, uid, now);
        }
    }

    fn on_tcp_syn(
        &mut self,
        view: &PacketView<'_>,
        app: SocketAddr,
        server: SocketAddr,
        uid: Option<u32>,
        now: Instant,
    ) {
        let Transport::Tcp(segment) = view.transport else {
            return;
        };
        let dns_name = self.dns_name(server.ip(), now);
        if let (Verdict::Blocked, reason, detail) =
            self.judge_destination(uid, server, &dns_name, Some(now))
        {
            self.refuse_tcp(view, &segment);
            let stats = self.stats();
            stats.tcp_blocked += 1;
            match reason {
                Reason::EncryptedDns => stats.encrypted_dns_tcp += 1,
                Reason::NotResolved => stats.not_resolved_tcp += 1,
                _ => {}
            }
            self.record(
                uid,
                dns_name.as_deref(),
                server,
                "tcp",
                detail,
                Verdict::Blocked,
                reason,
            );
            return;
        }
        if self.tcp.len() >= self.config.max_tcp_flows {
            self.refuse_tcp(view, &segment);
            self.stats().tcp_refused_overload += 1;
            return;
        }
        // DNS over TCP goes to Hush's own resolver, whatever address the app
        // chose (see `dns_stream`); the app still sees its address answer.
        // Under an encrypted upstream each query goes through its client:
        // no connection of the flow's own, never clear text.
        let dns = server.port() == 53;
        let encrypted_dns = dns && self.dns_upstream.is_encrypted();
        let grant = match self.budget.admit_tcp(
            uid,
            self.config.tcp_app_buffer,
            self.config.tcp_server_buffer,
            !dns,
        ) {
            Ok(grant) => grant,
            Err(refusal) => {
                self.refuse_tcp(view, &segment);
                let stats = self.stats();
                match refusal {
                    Refusal::Memory => stats.tcp_refused_memory += 1,
                    Refusal::AppFlows | Refusal::AppConnects | Refusal::AppMemory => {
                        stats.tcp_refused_app_limit += 1
                    }
                }
                return;
            }
        };
        if grant.small {
            self.stats().tcp_small_buffers += 1;
        }
        let outside = if dns {
            self.dns_upstream.address()
        } else {
            server
        };
        // A protector that may block (a JNI and binder call) opens the
        // server socket off this task; the SYN is taken meanwhile, its
        // SYN-ACK paused as for any connect, so nothing is reordered (a DNS
        // flow, accepted at once, keeps its queries until the resolver's
        // connection is up).
        let protecting = !encrypted_dns && self.protected_sockets.is_some();
        let connect = if encrypted_dns || protecting {
            Ok(None)
        } else {
            tcp::connect(outside, self.protector.as_ref()).map(Some)
        };
        let upstream = match connect {
            Ok(upstream) => upstream,
            Err(error) => {
                self.budget.release_tcp(uid, grant, !dns);
                self.answer_failed_connect(view, &error);
                self.record(
                    uid,
                    dns_name.as_deref(),
                    server,
                    "tcp",
                    "connect",
                    Verdict::Failed,
                    Reason::Unreachable,
                );
                return;
            }
        };
        let mut socket = self
            .stacks
            .new_socket(grant.app_buffer, grant.server_buffer);
        // A spare socket keeps its last flow's keep-alive.
        socket.set_keep_alive(None);
        // DNS flows are accepted at once: their queries need no server to
        // be judged, and an unreachable resolver is a SERVFAIL to each.
        socket.pause_synack(!dns);
        socket.set_nagle_enabled(false);
        socket.set_ack_delay(None);
        // The handshake's bound; past it, keep-alives take over (below, in
        // `service_tcp`).
        socket.set_timeout(Some(stack_duration(self.config.handshake_timeout)));
        let endpoint = IpListenEndpoint {
            addr: Some(IpAddress::from(server.ip())),
            port: server.port(),
        };
        if socket.listen(endpoint).is_err() {
            // Port 0: not a connection any server could take.
            self.budget.release_tcp(uid, grant, !dns);
            self.refuse_tcp(view, &segment);
            self.stats().dropped_malformed_ip += 1;
            return;
        }
        // A set of its own: the SYN finds this socket and no other.
        let handle = self.stacks.add(socket);
        let mut syn = self.device.buffer();
        syn.extend_from_slice(view.bytes);
        match self
            .big_segments
            .on_syn(&mut syn, view.ip.src, view.ip.dst, now)
        {
            SynStep::Probe(probe) => self.device.write_probe(&probe),
            SynStep::Raised | SynStep::Unchanged => {}
        }
        self.device.push_rx(syn);
        self.ingest(handle, now);
        let taken = self.stacks.socket(handle).state() == stack_tcp::State::SynReceived;
        if !taken {
            self.budget.release_tcp(uid, grant, !dns);
            self.stacks.remove(handle);
            self.stats().dropped_malformed_ip += 1;
            return;
        }
        let waker_queue = Arc::clone(&self.ready);
        let flow = self.tcp.insert_with(|flow| TcpFlow {
            app,
            server,
            handle,
            upstream,
            protecting,
            waker: waker_queue.waker_for(flow),
            phase: if dns {
                Phase::Dns
            } else {
                Phase::Connecting {
                    deadline: now + self.config.connect_timeout,
                }
            },
            syn: if dns { Vec::new() } else { view.bytes.to_vec() },
            app_isn: segment.seq,
            uid,
            dns_name,
            seen_name: None,
            unnamed: None,
            held: Vec::new(),
            held_sent: 0,
            app_fin_forwarded: false,
            server_fin: false,
            bytes_up: 0,
            bytes_down: 0,
            grant,
            held_charged: 0,
            dns: dns.then(|| {
                dns_stream::DnsStream::new(now + self.config.connect_timeout, encrypted_dns)
            }),
        });
        self.tcp_index.insert((app, server), flow);
        self.stacks.bind(handle, flow);
        if dns {
            self.stats().dns_tcp_connections += 1;
        } else {
            self.stats().tcp_flows += 1;
        }
        if protecting {
            self.open_off_task(flow, move |protector| {
                tcp::open(outside, protector).map(Opened::Tcp)
            });
        }
        self.touched.push(flow);
    }

    /// Opens (and protects) a new flow's server socket on a blocking
    /// thread, for a protector that may block; it comes back through
    /// [`Self::on_protected_socket`].
    fn open_off_task(
        &mut self,
        flow: FlowRef,
        open: impl FnOnce(&dyn SocketProtector) -> io::Result<Opened> + Send + 'static,
    ) {
        if let Some(answers) = &self.protected_sockets {
            spawn_open(answers, &self.protector, flow, open);
            self.stats().protected_off_task += 1;
        }
    }

    /// A flow's server socket, opened off the packet task. A TCP connect
    /// goes on, or the app hears it failed; a UDP or echo flow sends what
    /// waited, or ends (the app's next datagram opens it again). One for a
    /// flow that ended is closed.
    fn on_protected_socket(&mut self, flow_ref: FlowRef, socket: io::Result<Opened>) {
        match (flow_ref.kind, socket) {
            (FlowKind::Tcp, Ok(Opened::Tcp(socket))) => self.on_tcp_socket(flow_ref, Ok(socket)),
            (FlowKind::Tcp, Err(error)) => self.on_tcp_socket(flow_ref, Err(error)),
            (FlowKind::Udp, Ok(Opened::Udp(socket))) => self.on_udp_socket(flow_ref, Ok(socket)),
            (FlowKind::Udp, Err(error)) => self.on_udp_socket(flow_ref, Err(error)),
            (FlowKind::Ping, Ok(Opened::Echo(socket))) => self.on_echo_socket(flow_ref, Ok(socket)),
            (FlowKind::Ping, Err(error)) => self.on_echo_socket(flow_ref, Err(error)),
            // Cannot happen: each flow asks for its own kind.
            (_, Ok(_)) => {}
        }
    }

    fn on_tcp_socket(&mut self, flow_ref: FlowRef, socket: io::Result<std::net::TcpStream>) {
        let Some(flow) = self.tcp.get_mut(flow_ref).filter(|f| f.protecting) else {
            return;
        };
        flow.protecting = false;
        match socket.and_then(tokio::net::TcpStream::from_std) {
            Ok(upstream) => {
                flow.upstream = Some(upstream);
                if let Some(stream) = flow.dns.as_mut() {
                    stream.connection_came(Instant::now() + self.config.connect_timeout);
                }
                self.touched.push(flow_ref);
            }
            // A DNS flow's app is connected already: with no connection
            // to the resolver, its queries are answered SERVFAIL.
            Err(_) if flow.dns.is_some() => self.touched.push(flow_ref),
            Err(error) => self.fail_connect(flow_ref, &error),
        }
    }

    /// A UDP flow's socket: its first, or a new one after a network change
    /// (a failed move leaves the flow on its old socket).
    fn on_udp_socket(&mut self, flow_ref: FlowRef, socket: io::Result<std::net::UdpSocket>) {
        let Some(flow) = self.udp.get_mut(flow_ref) else {
            return;
        };
        flow.opening = false;
        let reopen = std::mem::take(&mut flow.reopen);
        let moved = flow.has_socket();
        match socket.and_then(tokio::net::UdpSocket::from_std) {
            Ok(socket) => {
                let unsent = flow.attach(socket);
                self.touched.push(flow_ref);
                let stats = self.stats();
                if unsent > 0 {
                    stats.udp_send_errors += 1;
                }
                if moved {
                    stats.udp_flows_moved += 1;
                }
            }
            // Kept: on its old socket, for the open to come, or blocked
            // until it goes idle (a new flow in its place would go unnamed).
            Err(_) if moved || reopen || flow.is_blocked() => {}
            Err(_) => {
                if let Some(flow) = self.udp.remove(flow_ref) {
                    self.budget.release_udp(flow.uid);
                    self.udp_index.remove(&(flow.app, flow.server));
                    if let Some(payload) = flow.kept_datagram() {
                        self.answer_unreachable(build::udp(flow.app, flow.server, payload));
                    }
                }
                self.stats().udp_send_errors += 1;
            }
        }
        if reopen {
            self.open_udp_off_task(flow_ref);
        }
    }

    /// Opens a UDP flow's socket off the packet task, one open at a time:
    /// asked again while one is under way (the network changed again), it
    /// opens once more when that one comes, so the last open is the one
    /// kept, whatever order the platform's calls end in.
    fn open_udp_off_task(&mut self, flow_ref: FlowRef) {
        let Some(flow) = self.udp.get_mut(flow_ref) else {
            return;
        };
        if flow.opening {
            flow.reopen = true;
            return;
        }
        flow.opening = true;
        let server = flow.server;
        self.open_off_task(flow_ref, move |protector| {
            udp::open(server, protector).map(Opened::Udp)
        });
    }

    /// Tells the app a packet of its could not go, as when its socket
    /// cannot be opened on the packet task: an ICMP unreachable quoting the
    /// packet, rebuilt from what its flow kept.
    fn answer_unreachable(&mut self, packet: Result<Vec<u8>, build::BuildError>) {
        let Ok(packet) = packet else {
            return;
        };
        let Ok(view) = hush_packet::parse(&packet, Checksums::Ignore) else {
            return;
        };
        if let Some(error) = build::icmp_unreachable(&view, Unreachable::Host) {
            self.device.write_packet(&error);
        }
    }

    fn on_echo_socket(&mut self, flow_ref: FlowRef, socket: io::Result<socket2::Socket>) {
        let Some(flow) = self.ping.get_mut(flow_ref) else {
            return;
        };
        match socket.and_then(icmp::register) {
            Ok(socket) => {
                let unsent = flow.attach(socket);
                self.touched.push(flow_ref);
                self.stats().icmp_refused += unsent as u64;
            }
            Err(_) => {
                let Some(flow) = self.ping.remove(flow_ref) else {
                    return;
                };
                self.ping_index
                    .remove(&(flow.app, flow.server, flow.app_ident));
                let (app, server, ident) = (flow.app, flow.server, flow.app_ident);
                let waiting = flow.into_waiting();
                self.stats().icmp_refused += waiting.len() as u64;
                for (seq, data) in waiting {
                    self.answer_unreachable(build::icmp_echo_request(
                        app, server, ident, seq, &data,
                    ));
                }
            }
        }
    }

    /// Refuses a new connection the way a firewall should: a reset, at once.
    fn refuse_tcp(&mut self, view: &PacketView<'_>, segment: &hush_packet::TcpSegment<'_>) {
        if let Some(reset) = build::tcp_rst(&view.ip, segment) {
            self.device.write_packet(&reset);
        }
    }

    /// Tells the app what the server connect met: a reset for a refusal, an
    /// ICMP error for an unreachable host or a timeout.
    fn answer_failed_connect(&mut self, view: &PacketView<'_>, error: &io::Error) {
        let Transport::Tcp(segment) = view.transport else {
            return;
        };
        if error.kind() == io::ErrorKind::ConnectionRefused {
            self.stats().tcp_refused_by_server += 1;
            self.refuse_tcp(view, &segment);
        } else {
            self.stats().tcp_unreachable += 1;
            match build::icmp_unreachable(view, Unreachable::Host) {
                Some(error) => self.device.write_packet(&error),
                None => self.refuse_tcp(view, &segment),
            }
        }
    }

    /// Lets a flow's socket take the packets queued for it, without sending.
    fn ingest(&mut self, handle: StackId, now: Instant) {
        let now = stack_time(self.origin, now);
        self.stacks
            .ingest(handle, &mut self.iface, &mut self.device, now);
    }

    fn service_tcp(&mut self, flow_ref: FlowRef, now: Instant) {
        let Some(flow) = self.tcp.get_mut(flow_ref) else {
            return;
        };
        let socket = self.stacks.socket_mut(flow.handle);
        if socket.keep_alive().is_none()
            && !matches!(
                socket.state(),
                stack_tcp::State::Listen | stack_tcp::State::SynReceived
            )
        {
            // Past the handshake. smoltcp's timeout ends connections that
            // are merely quiet; with keep-alives the app's kernel answers,
            // so only a connection the app no longer has times out.
            let keepalive = self.config.app_keepalive;
            socket.set_keep_alive(Some(stack_duration(keepalive)));
            socket.set_timeout(Some(stack_duration(keepalive + keepalive / 4)));
        }
        if flow.phase == Phase::Dns {
            self.service_dns_tcp(flow_ref, now);
            return;
        }
        if let Phase::Connecting { deadline } = flow.phase {
            match flow.poll_connect() {
                Connect::Pending if now < deadline => {
                    self.note_deadline(deadline);
                    return;
                }
                Connect::Pending => {
                    let error = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                    self.fail_connect(flow_ref, &error);
                    return;
                }
                Connect::Failed(error) => {
                    self.fail_connect(flow_ref, &error);
                    return;
                }
                Connect::Connected => {
                    self.budget.connect_done(flow.uid);
                    socket.pause_synack(false);
                    flow.phase = Phase::Inspecting { deadline: None };
                    flow.syn = Vec::new();
                }
            }
        }
        if let Phase::Inspecting { deadline } = flow.phase {
            // The first bytes held come from the flows' budget too: a flood
            // of flows that each send most of a ClientHello and stall holds
            // no more than the budget lets it.
            let before = flow.held.len();
            let limit = self
                .config
                .inspect_limit
                .min(before + self.budget.room_for(flow.uid));
            flow.take_first_bytes(socket, limit);
            let taken = flow.held.len() - before;
            self.budget.charge_held(flow.uid, taken);
            flow.held_charged += taken;
            let app_done =
                TcpFlow::app_finished(socket) || socket.state() == stack_tcp::State::Closed;
            let timed_out = deadline.is_some_and(|d| now >= d);
            let (raw_name, protocol, mut unread) = if flow.held.is_empty() {
                // Nothing from the app yet. A server that speaks first
                // (SMTP, SSH...) must be heard; so must an app that closes.
                let mut cx = std::task::Context::from_waker(&flow.waker);
                let server_spoke = flow
                    .upstream
                    .as_ref()
                    .is_some_and(|u| u.poll_read_ready(&mut cx).is_ready());
                if !server_spoke && !app_done {
                    return;
                }
                (None, "tcp", None)
            } else {
                match inspect::classify_stream(&flow.held) {
                    inspect::StreamClass::NeedMore
                        if flow.held.len() < limit && !app_done && !timed_out =>
                    {
                        let deadline = deadline.unwrap_or(now + self.config.inspect_timeout);
                        flow.phase = Phase::Inspecting {
                            deadline: Some(deadline),
                        };
                        self.note_deadline(deadline);
                        return;
                    }
                    inspect::StreamClass::NeedMore => {
                        let why = if flow.held.len() >= limit {
                            Unread::TooLarge
                        } else if app_done {
                            Unread::AppClosed
                        } else {
                            Unread::Timeout
                        };
                        let tls = !matches!(
                            inspect::tls::sniff_stream(&flow.held),
                            inspect::tls::TlsProgress::NotTls
                        );
                        (None, if tls { "tls" } else { "http" }, Some(why))
                    }
                    inspect::StreamClass::Tls { sni: Some(sni) } => (Some(sni), "tls", None),
                    inspect::StreamClass::Tls { sni: None } => {
                        // No name is a ClientHello's right (a connection
                        // to an address); a ClientHello that does not
                        // parse is a give-up.
                        let malformed = matches!(
                            inspect::tls::sniff_stream(&flow.held),
                            inspect::tls::TlsProgress::Malformed(_)
                        );
                        (None, "tls", malformed.then_some(Unread::Malformed))
                    }
                    inspect::StreamClass::Http { host: Some(host) } => (Some(host), "http", None),
                    inspect::StreamClass::Http { host: None } => {
                        let malformed = matches!(
                            inspect::http::sniff_request(&flow.held),
                            inspect::http::HttpProgress::Malformed
                        );
                        (None, "http", malformed.then_some(Unread::Malformed))
                    }
                    inspect::StreamClass::Other => (None, "tcp", None),
                }
            };
            let name = match raw_name.map(checked_name) {
                Some(Ok(name)) => Some(name),
                Some(Err(why)) => {
                    unread = Some(why);
                    None
                }
                None => None,
            };
            let (server, dns_name, uid) = (flow.server, flow.dns_name.clone(), flow.uid);
            flow.seen_name = name.clone();
            // A flow that is TLS or HTTP and names nothing (a give-up, or
            // a ClientHello or request without a name) is one a strict
            // app may not make; other protocols never carry a name here.
            let unnamed = protocol != "tcp";
            let (verdict, reason, host, detail) = match &name {
                Some(name) => {
                    let (verdict, reason) = self.firewall.judge_name(uid, name);
                    let detail = if protocol == "tls" { "sni" } else { "host" };
                    (verdict, reason, Some(name.clone()), detail)
                }
                None if unnamed && self.strict_for(uid) => (
                    Verdict::Blocked,
                    Reason::Strict,
                    dns_name,
                    Unread::strict_detail(unread),
                ),
                None => (
                    Verdict::Allowed,
                    Reason::Unlisted,
                    dns_name,
                    unread.map_or("address", Unread::detail),
                ),
            };
            if let Some(why) = unread {
                why.count(self.stats());
            }
            let reason_for_event = reason.clone();
            self.record(
                uid,
                host.as_deref(),
                server,
                protocol,
                detail,
                verdict,
                reason_for_event,
            );
            let flow = self.tcp.get_mut(flow_ref).expect("looked up above");
            if unnamed && name.is_none() {
                flow.unnamed = Some(Unread::strict_detail(unread));
            }
            let socket = self.stacks.socket_mut(flow.handle);
            self.budget
                .release_held(flow.uid, std::mem::take(&mut flow.held_charged));
            if verdict == Verdict::Blocked {
                socket.abort();
                flow.held = Vec::new();
                let stats = self.firewall.stats_mut();
                match reason {
                    Reason::Strict => stats.strict_tcp_reset += 1,
                    _ => stats.tcp_blocked_by_name += 1,
                }
                self.ended.push((flow_ref, Ending::AppReset));
                return;
            }
            flow.phase = Phase::Relaying;
        }
        let flow = self.tcp.get_mut(flow_ref).expect("looked up above");
        let socket = self.stacks.socket_mut(flow.handle);
        if let Some(ending) = flow.pump(socket) {
            self.ended.push((flow_ref, ending));
        }
    }

    fn fail_connect(&mut self, flow_ref: FlowRef, error: &io::Error) {
        let Some(flow) = self.tcp.remove(flow_ref) else {
            return;
        };
        self.budget.release_tcp(flow.uid, flow.grant, true);
        self.budget.release_held(flow.uid, flow.held_charged);
        self.tcp_index.remove(&(flow.app, flow.server));
        // The paused socket has sent nothing; it goes without a word, and
        // the app hears the server's answer from us instead.
        self.stacks.remove(flow.handle);
        if matches!(error.kind(), io::ErrorKind::TimedOut) {
            self.stats().tcp_connect_timeouts += 1;
        }
        if let Ok(view) = hush_packet::parse(&flow.syn, Checksums::Ignore) {
            self.answer_failed_connect(&view, error);
        }
        self.record(
            flow.uid,
            flow.dns_name.as_deref(),
            flow.server,
            "tcp",
            "connect",
            Verdict::Failed,
            Reason::Unreachable,
        );
    }

    fn finish_tcp(&mut self, flow_ref: FlowRef, ending: Ending) {
        let Some(flow) = self.tcp.remove(flow_ref) else {
            return;
        };
        let connecting = matches!(flow.phase, Phase::Connecting { .. });
        self.budget.release_tcp(flow.uid, flow.grant, connecting);
        self.budget.release_held(flow.uid, flow.held_charged);
        self.tcp_index.remove(&(flow.app, flow.server));
        self.stacks.remove(flow.handle);
        if ending != Ending::Graceful {
            flow.reset_server_on_drop();
        }
        let stats = self.stats();
        stats.tcp_bytes_up += flow.bytes_up;
        stats.tcp_bytes_down += flow.bytes_down;
    }

    // ---- UDP ----

    fn on_udp(&mut self, view: &PacketView<'_>, now: Instant) {
        let Transport::Udp(datagram) = view.transport else {
            return;
        };
        let app = SocketAddr::new(view.ip.src, datagram.src_port);
        let server = SocketAddr::new(view.ip.dst, datagram.dst_port);
        let flow_ref = match self.udp_index.get(&(app, server)) {
            Some(&flow) => flow,
            None => {
                let key = FlowKey {
                    transport: FlowTransport::Udp,
                    local: app,
                    remote: server,
                };
                let Some(uid) = self.owner_of(key, view.bytes, now) else {
                    return;
                };
                match self.open_udp(view, app, server, uid, now) {
                    Some(flow) => flow,
                    None => return,
                }
            }
        };
        let Some(flow) = self.udp.get_mut(flow_ref) else {
            return;
        };
        flow.last_active = now;
        let was_sniffing = flow.is_sniffing();
        let outcome = flow.on_app_datagram(datagram.payload, self.config.udp_hold_limit);
        if was_sniffing && matches!(outcome, udp::Outcome::Sent | udp::Outcome::SendFailed) {
            // Not QUIC from its first datagram: the flow is relayed as it
            // is, and logged as allowed now (a QUIC flow is logged once its
            // name is judged).
            let (uid, server, host) = (flow.uid, flow.server, flow.dns_name.clone());
            let detail = if host.is_some() {
                "dns-name"
            } else {
                "address"
            };
            self.record(
                uid,
                host.as_deref(),
                server,
                "udp",
                detail,
                Verdict::Allowed,
                Reason::Unlisted,
            );
        }
        match outcome {
            udp::Outcome::Sent | udp::Outcome::Held => {}
            udp::Outcome::SendFailed => self.stats().udp_send_errors += 1,
            udp::Outcome::Refused => {
                if let Some(error) = build::icmp_unreachable(view, Unreachable::AdminProhibited) {
                    self.device.write_packet(&error);
                }
                self.stats().udp_refused_blocked += 1;
            }
            udp::Outcome::Named(name) => {
                let (name, unread) = match name.map(|n| checked_name(n.into())) {
                    Some(Ok(name)) => (Some(name), None),
                    Some(Err(why)) => (None, Some(why)),
                    None => (None, None),
                };
                self.judge_udp_name(flow_ref, view, name, unread)
            }
            udp::Outcome::Unread(why) => self.judge_udp_name(flow_ref, view, None, Some(why)),
        }
    }

    fn open_udp(
        &mut self,
        view: &PacketView<'_>,
        app: SocketAddr,
        server: SocketAddr,
        uid: Option<u32>,
        now: Instant,
    ) -> Option<FlowRef> {
        let dns_name = self.dns_name(server.ip(), now);
        if let (Verdict::Blocked, reason, detail) =
            self.judge_destination(uid, server, &dns_name, Some(now))
        {
            if let Some(error) = build::icmp_unreachable(view, Unreachable::AdminProhibited) {
                self.device.write_packet(&error);
            }
            let stats = self.stats();
            stats.udp_blocked += 1;
            match reason {
                Reason::EncryptedDns => stats.encrypted_dns_udp += 1,
                Reason::NotResolved => stats.not_resolved_udp += 1,
                _ => {}
            }
            self.record(
                uid,
                dns_name.as_deref(),
                server,
                "udp",
                detail,
                Verdict::Blocked,
                reason,
            );
            return None;
        }
        if self.udp.len() >= self.config.max_udp_flows {
            if let Some(error) = build::icmp_unreachable(view, Unreachable::Host) {
                self.device.write_packet(&error);
            }
            self.stats().udp_refused_overload += 1;
            return None;
        }
        if self.budget.admit_udp(uid).is_err() {
            if let Some(error) = build::icmp_unreachable(view, Unreachable::Host) {
                self.device.write_packet(&error);
            }
            self.stats().udp_refused_app_limit += 1;
            return None;
        }
        // A protector that may block opens the socket off this task; the
        // flow keeps what the app sends until it is there.
        let off_task = self.protected_sockets.is_some();
        let socket = if off_task {
            None
        } else {
            match udp::connect(server, self.protector.as_ref()) {
                Ok(socket) => Some(socket),
                Err(_) => {
                    self.budget.release_udp(uid);
                    if let Some(error) = build::icmp_unreachable(view, Unreachable::Host) {
                        self.device.write_packet(&error);
                    }
                    self.stats().udp_send_errors += 1;
                    return None;
                }
            }
        };
        let queue = Arc::clone(&self.ready);
        let flow = self.udp.insert_with(|flow| {
            UdpFlow::new(
                app,
                server,
                uid,
                socket,
                queue.waker_for(flow),
                dns_name,
                now,
            )
        });
        self.udp_index.insert((app, server), flow);
        self.stats().udp_flows += 1;
        if off_task {
            self.open_udp_off_task(flow);
        }
        // Register for the server's datagrams. The flow is logged when its
        // first datagram shows whether it is QUIC (see `on_udp`).
        self.touched.push(flow);
        Some(flow)
    }

    fn judge_udp_name(
        &mut self,
        flow_ref: FlowRef,
        view: &PacketView<'_>,
        name: Option<String>,
        unread: Option<Unread>,
    ) {
        let Some(flow) = self.udp.get_mut(flow_ref) else {
            return;
        };
        let (server, uid) = (flow.server, flow.uid);
        flow.seen_name = name.clone();
        let host = name.clone().or_else(|| flow.dns_name.clone());
        if let (None, Some(why)) = (&name, unread) {
            why.count(self.stats());
        }
        // Every flow judged here looked like QUIC: without a name (a
        // give-up, or a ClientHello that names nothing), a strict app's
        // is refused.
        let (verdict, reason, detail) = match &name {
            Some(name) => {
                let (verdict, reason) = self.firewall.judge_name(uid, name);
                (verdict, reason, "sni")
            }
            None if self.strict_for(uid) => (
                Verdict::Blocked,
                Reason::Strict,
                Unread::strict_detail(unread),
            ),
            None => (
                Verdict::Allowed,
                Reason::Unlisted,
                unread.map_or("address", Unread::detail),
            ),
        };
        self.record(
            uid,
            host.as_deref(),
            server,
            "quic",
            detail,
            verdict,
            reason.clone(),
        );
        if verdict == Verdict::Blocked {
            if let Some(error) = build::icmp_unreachable(view, Unreachable::AdminProhibited) {
                self.device.write_packet(&error);
            }
            let stats = self.stats();
            match reason {
                Reason::Strict => stats.strict_quic_refused += 1,
                _ => stats.quic_blocked += 1,
            }
            if let Some(flow) = self.udp.get_mut(flow_ref) {
                flow.block();
            }
            return;
        }
        let flow = self.udp.get_mut(flow_ref).expect("looked up above");
        if name.is_none() {
            flow.unnamed = Some(Unread::strict_detail(unread));
        }
        if flow.release_held() > 0 {
            self.stats().udp_send_errors += 1;
        }
    }

    fn service_udp(&mut self, flow_ref: FlowRef, now: Instant) {
        let Some(flow) = self.udp.get_mut(flow_ref) else {
            return;
        };
        let (app, server) = (flow.app, flow.server);
        let mut received = 0u64;
        let mut failed = false;
        while let Some(result) = flow.poll_receive(&mut self.udp_scratch) {
            match result {
                Ok(len) => {
                    flow.last_active = now;
                    received += 1;
                    match build::udp(server, app, &self.udp_scratch[..len]) {
                        Ok(packet) => self.device.write_packet(&packet),
                        Err(_) => failed = true,
                    }
                }
                // ICMP errors from the server's side arrive as errors on the
                // connected socket; the app's own retries decide what next.
                Err(_) => failed = true,
            }
        }
        let stats = self.stats();
        stats.udp_datagrams_down += received;
        if failed {
            stats.udp_send_errors += 1;
        }
    }

    // ---- ICMP ----

    fn on_icmp(&mut self, view: &PacketView<'_>, now: Instant) {
        let Transport::Icmp(kind, data) = view.transport else {
            return;
        };
        let request_type = if view.is_ipv6() { 128 } else { 8 };
        let (Some((ident, seq)), true) = (kind.echo, kind.msg_type == request_type) else {
            // Errors and other messages from apps have no one to go to.
            self.stats().dropped_not_dns += 1;
            return;
        };
        let (app, server) = (view.ip.src, view.ip.dst);
        let flow_ref = match self.ping_index.get(&(app, server, ident)) {
            Some(&flow) => flow,
            None => match self.open_ping(view, ident, now) {
                Some(flow) => flow,
                None => return,
            },
        };
        let Some(flow) = self.ping.get_mut(flow_ref) else {
            return;
        };
        flow.last_active = now;
        if flow.send_echo(seq, data).is_err() {
            if let Some(error) = build::icmp_unreachable(view, Unreachable::Host) {
                self.device.write_packet(&error);
            }
            self.stats().icmp_refused += 1;
        }
    }

    fn open_ping(&mut self, view: &PacketView<'_>, ident: u16, now: Instant) -> Option<FlowRef> {
        let (app, server) = (view.ip.src, view.ip.dst);
        let dns_name = self.dns_name(server, now);
        // Owners are looked up for TCP and UDP only, as Android's
        // `getConnectionOwnerUid` allows; echo flows are judged unowned.
        let judged = self.judge_destination(None, SocketAddr::new(server, 0), &dns_name, Some(now));
        let blocked = Some(judged.clone()).filter(|(verdict, _, _)| *verdict == Verdict::Blocked);
        let off_task = self.protected_sockets.is_some();
        let socket = if blocked.is_some() || self.ping.len() >= self.config.max_ping_flows {
            None
        } else if off_task {
            // Opened off this task (a protector that may block); the
            // requests wait for it.
            Some(None)
        } else {
            // No ICMP socket where the platform forbids them (Linux outside
            // `ping_group_range`): the app hears so at once.
            icmp::open(server, self.protector.as_ref()).ok().map(Some)
        };
        let Some(socket) = socket else {
            let reason = if blocked.is_some() {
                Unreachable::AdminProhibited
            } else {
                Unreachable::Host
            };
            if let Some(error) = build::icmp_unreachable(view, reason) {
                self.device.write_packet(&error);
            }
            self.stats().icmp_refused += 1;
            if let Some((verdict, reason, detail)) = blocked {
                let address = SocketAddr::new(server, 0);
                self.record(
                    None,
                    dns_name.as_deref(),
                    address,
                    "icmp",
                    detail,
                    verdict,
                    reason,
                );
            }
            return None;
        };
        let queue = Arc::clone(&self.ready);
        let flow = self.ping.insert_with(|flow| {
            PingFlow::new(app, server, ident, socket, queue.waker_for(flow), now)
        });
        self.ping_index.insert((app, server, ident), flow);
        self.touched.push(flow);
        if off_task {
            self.open_off_task(flow, move |protector| {
                icmp::open_socket(server, protector).map(Opened::Echo)
            });
        }
        // Logged once per echo flow, as UDP flows are, not per request.
        let (verdict, reason, detail) = judged;
        self.record(
            None,
            dns_name.as_deref(),
            SocketAddr::new(server, 0),
            "icmp",
            detail,
            verdict,
            reason,
        );
        Some(flow)
    }

    fn service_ping(&mut self, flow_ref: FlowRef, now: Instant) {
        let Some(flow) = self.ping.get_mut(flow_ref) else {
            return;
        };
        let mut relayed = 0;
        while let Some(reply) = flow.poll_reply(&mut self.udp_scratch) {
            let Ok((seq, len)) = reply else {
                break;
            };
            flow.last_active = now;
            let data = &self.udp_scratch[8..len];
            if let Ok(packet) =
                build::icmp_echo_reply(flow.server, flow.app, flow.app_ident, seq, data)
            {
                self.device.write_packet(&packet);
                relayed += 1;
            }
        }
        self.stats().icmp_echo_relayed += relayed;
    }

    // ---- the turn ----

    /// Services every flow that was touched or whose stack timer came, then
    /// lets those flows' sockets send, then removes the flows that ended.
    fn turn(&mut self, now: Instant) {
        let stack_now = stack_time(self.origin, now);
        // Timers first, as a stack poll would: a retransmission, a
        // keep-alive, a timeout that closes the socket, which servicing
        // the flow below then sees.
        let first_due = self.touched.len();
        self.stacks.take_due(stack_now, &mut self.touched);
        for &flow in &self.touched[first_due..] {
            if let Some(flow) = self.tcp.get_mut(flow) {
                self.stacks
                    .egress(flow.handle, &mut self.iface, &mut self.device, stack_now);
            }
        }
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable_by_key(|f| (f.kind as u8, f.slot, f.generation));
        touched.dedup();
        for &flow in &touched {
            match flow.kind {
                FlowKind::Tcp => self.service_tcp(flow, now),
                FlowKind::Udp => self.service_udp(flow, now),
                FlowKind::Ping => self.service_ping(flow, now),
            }
        }
        // What servicing touched again is serviced next turn, but sends now,
        // as do the flows that ended (their FIN or reset).
        let again = self.touched.iter();
        let ended = self.ended.iter().map(|(flow, _)| flow);
        for &flow in touched.iter().chain(again).chain(ended) {
            if flow.kind != FlowKind::Tcp {
                continue;
            }
            if let Some(flow) = self.tcp.get_mut(flow) {
                self.stacks
                    .egress(flow.handle, &mut self.iface, &mut self.device, stack_now);
            }
        }
        touched.clear();
        if self.touched.is_empty() {
            self.touched = touched;
        }
        for (flow, ending) in std::mem::take(&mut self.ended) {
            self.finish_tcp(flow, ending);
        }
    }

    fn stack_delay(&mut self, now: Instant) -> Option<Duration> {
        let now = stack_time(self.origin, now);
        self.stacks.next_due().map(|due| {
            Duration::from_micros(due.total_micros().saturating_sub(now.total_micros()) as u64)
        })
    }

    /// When housekeeping must next run.
    fn housekeeping_due(&self, now: Instant) -> Instant {
        let has_flows = self.tcp.len() + self.udp.len() + self.ping.len() > 0;
        // Spare sockets are dropped at the sweep after the last TCP flow.
        let mut due = if has_flows || self.stacks.has_spares() {
            self.last_sweep + SWEEP
        } else {
            now + IDLE_WAKE
        };
        for deadline in [self.firewall.next_deadline(), self.flow_deadline]
            .into_iter()
            .flatten()
        {
            due = due.min(deadline);
        }
        due
    }

    fn note_deadline(&mut self, deadline: Instant) {
        self.flow_deadline = Some(self.flow_deadline.map_or(deadline, |d| d.min(deadline)));
    }

    fn housekeeping(&mut self, now: Instant) {
        for reply in self.firewall.expire(now) {
            self.device.write_packet(&reply);
        }
        self.last_sweep = now;
        if self.tcp.len() == 0 {
            self.stacks.drop_spares();
        }
        // Servicing every TCP flow below notes each remaining deadline again.
        self.flow_deadline = None;
        // Flows with deadlines of the relay's own get a look: connects,
        // inspection under way, DNS queries. Others need none: their
        // packets, their server and their stack timers (which the stack
        // closes sockets on) touch them, so the sweep costs nothing per
        // idle open flow, relaying or still waiting for its first byte.
        for flow_ref in self.tcp.refs() {
            let due = self.tcp.get_mut(flow_ref).is_some_and(|flow| {
                !matches!(
                    flow.phase,
                    Phase::Relaying | Phase::Inspecting { deadline: None }
                )
            });
            if due {
                self.touched.push(flow_ref);
            }
        }
        let idle = self.config.udp_idle_timeout;
        let expired: Vec<FlowRef> = self
            .udp
            .refs()
            .into_iter()
            .filter(|&flow| self.udp.get_mut(flow).is_some_and(|f| f.is_idle(now, idle)))
            .collect();
        for flow in expired {
            if let Some(flow) = self.udp.remove(flow) {
                self.budget.release_udp(flow.uid);
                self.udp_index.remove(&(flow.app, flow.server));
                self.stats().udp_idle_closed += 1;
            }
        }
        if let Some(tap) = &mut self.device.tap {
            let (tcp, udp) = (&self.tcp_index, &self.udp_index);
            tap.sweep(now, |key| {
                let index = match key.transport {
                    FlowTransport::Tcp => tcp,
                    FlowTransport::Udp => udp,
                };
                index.contains_key(&(key.local, key.remote))
            });
        }
        let idle = self.config.ping_idle_timeout;
        for flow_ref in self.ping.refs() {
            if self
                .ping
                .get_mut(flow_ref)
                .is_some_and(|f| f.is_idle(now, idle))
            {
                if let Some(flow) = self.ping.remove(flow_ref) {
                    self.ping_index
                        .remove(&(flow.app, flow.server, flow.app_ident));
                }
            }
        }
    }
}

/// A flow's server socket, opened and protected off the packet task.
type ProtectedSocket = (FlowRef, io::Result<Opened>);

/// Runs `open` on a blocking thread and sends what it opened to `answers`,
/// for the flow `flow`; a panic in the platform's callback is an error.
fn spawn_open(
    answers: &tokio::sync::mpsc::UnboundedSender<ProtectedSocket>,
    protector: &Arc<dyn SocketProtector>,
    flow: FlowRef,
    open: impl FnOnce(&dyn SocketProtector) -> io::Result<Opened> + Send + 'static,
) {
    let (answers, protector) = (answers.clone(), Arc::clone(protector));
    tokio::task::spawn_blocking(move || {
        let open = std::panic::AssertUnwindSafe(|| open(protector.as_ref()));
        let socket = std::panic::catch_unwind(open)
            .unwrap_or_else(|_| Err(io::Error::other("the platform's protect callback panicked")));
        let _ = answers.send((flow, socket));
    });
}

/// What [`Relay::open_off_task`] opens, by the flow's kind.
enum Opened {
    Tcp(std::net::TcpStream),
    Udp(std::net::UdpSocket),
    Echo(socket2::Socket),
}

/// The addresses of the device's interfaces now. Empty when they cannot be
/// read, which makes every TCP flow look dead: after a network change a
/// reset the app recovers from beats a flow stuck on a vanished address.
fn local_addresses() -> Vec<IpAddr> {
    let mut addresses = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocated into `list`, or fails
    // and leaves it untouched.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return addresses;
    }
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a node of the list getifaddrs returned, which
        // stays valid until freeifaddrs below; `ifa_addr` is null or points
        // to a sockaddr whose family says its size.
        unsafe {
            let address = (*entry).ifa_addr;
            if !address.is_null() {
                match i32::from((*address).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*(address as *const libc::sockaddr_in);
                        addresses
                            .push(IpAddr::from(u32::from_be(v4.sin_addr.s_addr).to_be_bytes()));
                    }
                    libc::AF_INET6 => {
                        let v6 = &*(address as *const libc::sockaddr_in6);
                        addresses.push(IpAddr::from(v6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            entry = (*entry).ifa_next;
        }
    }
    // SAFETY: `list` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

fn stack_duration(duration: Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(duration.as_micros().try_into().unwrap_or(u64::MAX))
}

fn stack_time(origin: Instant, now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(now.saturating_duration_since(origin).as_micros() as i64)
}
