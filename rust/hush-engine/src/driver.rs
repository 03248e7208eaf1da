//! The I/O around [`DnsFirewall`]: reads the tun, talks to the upstream
//! resolver through a protected socket, writes answers back.
//!
//! One task on the caller's tokio runtime does it all, so the firewall needs
//! no lock. Nothing here blocks: the tun is non-blocking and a full tun or
//! socket buffer costs a counted drop, never a stall.

use std::fs::File;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::net::UdpSocket;

use crate::dns_firewall::{DnsFirewall, Step};
use crate::stats::Stats;

/// Makes a socket bypass the tun, so Hush's own traffic does not loop back
/// into itself. Linux binds it to the real interface (`SO_BINDTODEVICE`);
/// Android calls `VpnService.protect`, a JNI call and a binder call, which
/// may block: the relay then opens each new flow's server socket off its
/// packet task ([`SocketProtector::may_block`]).
///
/// Where the platform already keeps every socket of Hush's process out of
/// the tun, no protector is needed ([`NoProtection`]): Android's VPN leaves
/// out the apps named by `VpnService.Builder.addDisallowedApplication`,
/// and Hush names itself. The platform's documentation: "By default, all
/// applications are allowed access, except for those denied through this
/// method. Denied applications will use networking as if the VPN wasn't
/// running." (developer.android.com/reference/android/net/VpnService.Builder,
/// `addDisallowedApplication`); and AOSP's `Vpn.agentConnect` gives the VPN
/// network the uids of `createUserAndRestrictedProfilesRanges(mUserId,
/// mConfig.allowedApplications, mConfig.disallowedApplications)`, whose
/// `addUserToRanges` adds "all ranges for user skipping UIDs for
/// disallowedApplications" (frameworks/base,
/// services/core/java/com/android/server/connectivity/Vpn.java). Lockdown
/// ("Block connections without VPN") exempts the VPN's own package too
/// (`setVpnForcedLocked`: `exemptedPackages.add(mPackage)`). What protect
/// does is the same: "data sent through this socket will go directly to
/// the underlying network, so its traffic will not be forwarded through the
/// VPN" (developer.android.com/reference/android/net/VpnService, `protect`).
pub trait SocketProtector: Send + Sync {
    fn protect(&self, socket: BorrowedFd<'_>) -> io::Result<()>;

    /// Whether [`protect`](SocketProtector::protect) may wait on anything
    /// (another process, a lock held long): then the relay opens each new
    /// TCP, UDP and echo flow's server socket off its packet task, and so a
    /// UDP flow's next one after a network change and a DNS-over-TCP
    /// flow's connections to the resolver. Only the resolver's own sockets,
    /// opened at start and at a network change, not per flow, are still
    /// protected on it. True unless a protector says otherwise.
    fn may_block(&self) -> bool {
        true
    }
}

/// For setups where Hush's sockets do not enter the tun anyway: tests, and
/// a platform that leaves Hush's own process out of the VPN.
pub struct NoProtection;

impl SocketProtector for NoProtection {
    fn protect(&self, _socket: BorrowedFd<'_>) -> io::Result<()> {
        Ok(())
    }

    fn may_block(&self) -> bool {
        false
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("failed to {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: io::Error,
    },
    /// The tun itself failed: the VPN is gone (revoked, its device
    /// deleted). No restart on it can help.
    #[error("the tun failed to {context}: {source}")]
    Tun {
        context: &'static str,
        #[source]
        source: io::Error,
    },
}

impl EngineError {
    /// Whether the tun failed, rather than something an engine started
    /// again on the same tun might not meet.
    pub fn is_tun_failure(&self) -> bool {
        matches!(self, EngineError::Tun { .. })
    }
}

pub(crate) fn io_context(context: &'static str) -> impl FnOnce(io::Error) -> EngineError {
    move |source| EngineError::Io { context, source }
}

pub(crate) fn tun_failed(context: &'static str) -> impl FnOnce(io::Error) -> EngineError {
    move |source| EngineError::Tun { context, source }
}

/// How many packets are taken from the tun per wake-up before the upstream
/// socket and the timers get a turn.
const TUN_BATCH: usize = 64;
/// Largest IP packet a tun can hand over.
const MAX_PACKET: usize = 65_535;
const TIMER_TICK: Duration = Duration::from_millis(100);

/// Opens a UDP socket to `upstream` and protects it before it sends anything.
pub fn open_upstream(
    upstream: SocketAddr,
    protector: &dyn SocketProtector,
) -> Result<UdpSocket, EngineError> {
    let domain = Domain::for_address(upstream);
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(io_context("create the upstream socket"))?;
    protector
        .protect(socket.as_fd())
        .map_err(io_context("protect the upstream socket"))?;
    socket
        .set_nonblocking(true)
        .map_err(io_context("make the upstream socket non-blocking"))?;
    socket
        .connect(&upstream.into())
        .map_err(io_context("connect the upstream socket"))?;
    UdpSocket::from_std(socket.into()).map_err(io_context("register the upstream socket"))
}

/// Runs the DNS path on `tun` until `shutdown` completes, then returns the
/// final counts. `tun` carries raw IP packets, one per read.
pub async fn run_dns_path(
    tun: OwnedFd,
    upstream: UdpSocket,
    mut firewall: DnsFirewall,
    shutdown: impl Future<Output = ()>,
) -> Result<Stats, EngineError> {
    set_nonblocking(tun.as_fd()).map_err(tun_failed("make the tun non-blocking"))?;
    // SAFETY: a `File` owns its descriptor, keeps it open until dropped and
    // always reports the same one, which is what `register` requires.
    let tun = unsafe { AsyncFd::register(File::from(tun)) }
        .map_err(|e| io_context("register the tun")(e.into()))?;
    let mut packet = vec![0u8; MAX_PACKET];
    let mut answer = vec![0u8; MAX_PACKET];
    let mut timer = tokio::time::interval(TIMER_TICK);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            ready = tun.ready(crate::relay::TUN_INTEREST) => {
                let mut guard = ready.map_err(tun_failed("poll the tun"))?;
                for _ in 0..TUN_BATCH {
                    let len = match guard.try_io(|tun| tun.get_ref().read(&mut packet)) {
                        Ok(Ok(len)) => len,
                        Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(Err(e)) => return Err(tun_failed("read the tun")(e)),
                        Err(_would_block) => break,
                    };
                    match firewall.on_tun_packet(&packet[..len], Instant::now()) {
                        Step::Reply(reply) => write_tun(&tun, &reply, &mut firewall),
                        Step::Forward(query) => {
                            if upstream.try_send(&query).is_err() {
                                firewall.stats_mut().upstream_send_errors += 1;
                            }
                        }
                        Step::Drop => {}
                    }
                }
            }
            received = upstream.recv(&mut answer) => match received {
                Ok(len) => {
                    let relayed = firewall.on_upstream_answer(answer[..len].to_vec(), Instant::now());
                    if let Some(reply) = relayed {
                        write_tun(&tun, &reply, &mut firewall);
                    }
                }
                // A refused or unreachable upstream shows up here (ICMP errors
                // on a connected socket); its queries end in SERVFAIL on timeout.
                Err(_) => firewall.stats_mut().upstream_send_errors += 1,
            },
            _ = timer.tick() => {
                for reply in firewall.expire(Instant::now()) {
                    write_tun(&tun, &reply, &mut firewall);
                }
            }
        }
    }
    Ok(firewall.stats().clone())
}

/// Holds all traffic on `tun` until `until` completes: the fail-closed
/// state for when the engine cannot run. Every packet is dropped and
/// counted, except DNS queries, which get SERVFAIL at once so that apps
/// fail fast instead of waiting out their timeouts. Nothing is forwarded
/// anywhere. The counts are added to `live` as they happen (holding is
/// rare, and the owner should see it); returns the tun's failure, if any.
pub async fn hold_traffic(
    tun: std::sync::Arc<File>,
    live: tokio::sync::watch::Sender<Stats>,
    until: impl Future<Output = ()>,
) -> Result<(), EngineError> {
    set_nonblocking(tun.as_fd()).map_err(tun_failed("make the tun non-blocking"))?;
    let reader = std::sync::Arc::clone(&tun);
    // SAFETY: as in `run_dns_path`; the `File` behind the `Arc` stays open
    // while registered.
    let ready = unsafe { AsyncFd::register(crate::relay::ArcFile(reader)) }
        .map_err(|e| tun_failed("register the tun")(e.into()))?;
    let mut packet = vec![0u8; MAX_PACKET];
    tokio::pin!(until);
    loop {
        tokio::select! {
            () = &mut until => return Ok(()),
            readable = ready.ready(crate::relay::TUN_INTEREST) => {
                let mut guard = readable.map_err(tun_failed("poll the tun"))?;
                for _ in 0..TUN_BATCH {
                    let len = match guard.try_io(|tun| (&*tun.get_ref().0).read(&mut packet)) {
                        Ok(Ok(len)) => len,
                        Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(Err(e)) => return Err(tun_failed("read the tun")(e)),
                        Err(_would_block) => break,
                    };
                    let answer = servfail_for(&packet[..len]);
                    let written = answer.as_ref().map(|answer| (&*tun).write(answer).is_ok());
                    live.send_modify(|stats| {
                        stats.packets_in += 1;
                        match written {
                            Some(true) => stats.servfail_while_holding += 1,
                            Some(false) => stats.tun_write_errors += 1,
                            None => stats.dropped_while_holding += 1,
                        }
                    });
                }
            }
        }
    }
}

/// A SERVFAIL answer to `packet` if it is a DNS query to port 53.
fn servfail_for(packet: &[u8]) -> Option<Vec<u8>> {
    let view = hush_packet::parse(packet, hush_packet::Checksums::Verify).ok()?;
    let hush_packet::Transport::Udp(udp) = view.transport else {
        return None;
    };
    if udp.dst_port != 53 {
        return None;
    }
    let query = hush_dns::parse_query(udp.payload).ok()?;
    let answer = hush_dns::servfail(&query).ok()?;
    let app = SocketAddr::new(view.ip.src, udp.src_port);
    let resolver = SocketAddr::new(view.ip.dst, udp.dst_port);
    hush_packet::build::udp(resolver, app, &answer).ok()
}

fn write_tun(tun: &AsyncFd<File>, packet: &[u8], firewall: &mut DnsFirewall) {
    // A tun write either takes the whole packet or fails; a full queue is a drop.
    if tun.get_ref().write(packet).is_err() {
        firewall.stats_mut().tun_write_errors += 1;
    }
}

pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: `raw` is a valid open descriptor for the duration of these calls,
    // borrowed from `fd`; F_GETFL/F_SETFL only change its status flags.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
