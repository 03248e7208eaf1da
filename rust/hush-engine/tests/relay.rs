//! The relay on a fake tun (a datagram socket pair: one packet per read and
//! write, as a tun) with real kernel sockets on loopback as the servers.
//! No root needed; the full-size tests with real clients run in network
//! namespaces (tests/e2e_relay.rs).

use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hush_engine::owner::{FakeOwners, FlowKey, NoOwners, OwnerLookup, Transport as FlowTransport};
use hush_engine::{
    policy_channel, run_relay, AppMode, AppPolicy, DiscardEvents, DnsConfig, DnsFirewall, Event,
    EventSink, Network, NoProtection, Platform, PolicyReceiver, RelayConfig, Stats, Verdict,
};
use hush_packet::{parse, Checksums, Transport};
use hush_rules::RuleSetBuilder;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

const APP: &str = "127.0.0.1:41000";

/// A TCP segment from the app, as its kernel would write it to the tun.
fn segment(
    app: SocketAddr,
    server: SocketAddr,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
) -> Vec<u8> {
    let (SocketAddr::V4(app), SocketAddr::V4(server)) = (app, server) else {
        panic!("IPv4 only here");
    };
    let tcp = TcpRepr {
        src_port: app.port(),
        dst_port: server.port(),
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
        window_len: 65_535,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &[],
    };
    let ip = Ipv4Repr {
        src_addr: *app.ip(),
        dst_addr: *server.ip(),
        next_header: IpProtocol::Tcp,
        payload_len: tcp.header_len(),
        hop_limit: 64,
    };
    let mut out = vec![0u8; 20 + tcp.header_len()];
    let caps = ChecksumCapabilities::default();
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]), &caps);
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut out[20..]),
        &IpAddress::from(*app.ip()),
        &IpAddress::from(*server.ip()),
        &caps,
    );
    out
}

struct TcpReply {
    seq: u32,
    syn: bool,
    ack: Option<u32>,
    rst: bool,
}

/// Waits (bounded) for the next TCP segment the relay writes to the app.
fn next_tcp(app_end: &UnixDatagram) -> TcpReply {
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let Ok(len) = app_end.recv(&mut buf) else {
            continue;
        };
        let view = parse(&buf[..len], Checksums::Verify).expect("the relay writes valid packets");
        if let Transport::Tcp(seg) = view.transport {
            return TcpReply {
                seq: seg.seq,
                syn: seg.flags.syn,
                ack: seg.flags.ack.then_some(seg.ack),
                rst: seg.flags.rst,
            };
        }
    }
    panic!("no TCP segment from the relay within 5 s");
}

/// Starts the relay on one end of a socket pair; returns the app's end and
/// a handle that stops the relay and yields its counters.
fn start_relay(
    config: RelayConfig,
) -> (
    UnixDatagram,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Stats>,
) {
    start_relay_for(
        config,
        Arc::new(NoOwners),
        policy_channel(AppPolicy::default()).1,
        Arc::new(DiscardEvents),
        None,
    )
}

/// [`start_relay`] with owners, per-app rules and an activity log.
fn start_relay_for(
    config: RelayConfig,
    owners: Arc<dyn OwnerLookup>,
    policy: PolicyReceiver,
    events: Arc<dyn EventSink>,
    live_stats: Option<tokio::sync::watch::Sender<Stats>>,
) -> (
    UnixDatagram,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Stats>,
) {
    start_relay_with(config, owners, policy, events, live_stats, None)
}

/// [`start_relay_for`] with a channel the platform bumps on a network change.
fn start_relay_with(
    config: RelayConfig,
    owners: Arc<dyn OwnerLookup>,
    policy: PolicyReceiver,
    events: Arc<dyn EventSink>,
    live_stats: Option<tokio::sync::watch::Sender<Stats>>,
    network_changes: Option<tokio::sync::watch::Receiver<u64>>,
) -> (
    UnixDatagram,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Stats>,
) {
    let (engine_end, app_end) = UnixDatagram::pair().unwrap();
    app_end
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut builder = RuleSetBuilder::new();
    builder.add_default_list();
    let firewall = DnsFirewall::new(DnsConfig::default(), Arc::new(builder.build()), events);
    // DNS is not exercised here; any address will do.
    let upstream: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        run_relay(
            Arc::new(std::fs::File::from(OwnedFd::from(engine_end))),
            config,
            firewall,
            upstream,
            Platform {
                protector: Arc::new(NoProtection),
                owners,
                policy,
                live_stats,
                lists: None,
                network_changes,
                #[cfg(feature = "fault-injection")]
                faults: None,
            },
            async {
                let _ = stopped.await;
            },
        )
        .await
        .unwrap()
    });
    (app_end, stop, relay)
}

#[derive(Default)]
struct Recorded(Mutex<Vec<Event>>);

impl EventSink for Recorded {
    fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_flow_is_judged_for_its_app_and_a_rule_change_cuts_open_flows() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let cut_off: SocketAddr = "127.0.0.1:41100".parse().unwrap();
    let allowed: SocketAddr = "127.0.0.1:41101".parse().unwrap();
    let owners = Arc::new(FakeOwners::default());
    for (app, uid) in [(cut_off, 10_001), (allowed, 10_002)] {
        let flow = FlowKey {
            transport: FlowTransport::Tcp,
            local: app,
            remote: server,
        };
        owners.insert(flow, uid);
    }
    let mut policy = AppPolicy::default();
    policy.set_mode(10_001, Network::Any, AppMode::BlockAll);
    let (rules, policy_updates) = policy_channel(policy.clone());
    let events = Arc::new(Recorded::default());
    let (app_end, stop, relay) = start_relay_for(
        RelayConfig::default(),
        owners.clone(),
        policy_updates,
        events.clone(),
        None,
    );
    let checks = tokio::task::spawn_blocking(move || {
        // The app in block-all mode: a reset at the SYN; the server sees nothing.
        app_end
            .send(&segment(cut_off, server, TcpControl::Syn, 1000, None))
            .unwrap();
        assert!(next_tcp(&app_end).rst, "a block-all app's SYN is reset");
        // The other app connects.
        app_end
            .send(&segment(allowed, server, TcpControl::Syn, 5000, None))
            .unwrap();
        let synack = next_tcp(&app_end);
        assert!(synack.syn && !synack.rst, "expected a SYN-ACK");
        app_end
            .send(&segment(
                allowed,
                server,
                TcpControl::None,
                5001,
                Some(synack.seq.wrapping_add(1)),
            ))
            .unwrap();
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let accepted = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("only the allowed app reaches the server: {e}"),
            }
        };
        assert!(
            listener.accept().is_err(),
            "the blocked app never reached the server"
        );
        // Now the user cuts that app off too: its open flow is reset.
        policy.set_mode(10_002, Network::Any, AppMode::BlockAll);
        rules.send(Arc::new(policy)).unwrap();
        // The stack may still acknowledge what it had; the reset follows.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !next_tcp(&app_end).rst {
            assert!(
                Instant::now() < deadline,
                "the open flow of an app just cut off is reset"
            );
        }
        drop(accepted);
        rules
    });
    let outcome = checks.await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    let _rules = outcome.unwrap();
    assert_eq!(stats.owner_lookups, 2, "{stats}");
    assert_eq!(owners.lookups(), 2, "one lookup per new flow");
    assert_eq!(stats.tcp_blocked, 1, "{stats}");
    assert_eq!(stats.flows_cut_by_rule, 1, "{stats}");
    let events = events.0.lock().unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.uid, e.verdict, e.reason.code(), e.detail.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some(10_001),
                Verdict::Blocked,
                "app:block-all".into(),
                "address".into()
            ),
            (
                Some(10_002),
                Verdict::Blocked,
                "app:block-all".into(),
                "rule-change".into()
            ),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_syn_is_answered_as_the_server_answered_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = listener.local_addr().unwrap();
    let closed_port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (app_end, stop, relay) = start_relay(RelayConfig::default());
    let app: SocketAddr = APP.parse().unwrap();
    let checks = tokio::task::spawn_blocking(move || {
        // A listening server: the SYN-ACK comes only once the server took
        // the connection, and acknowledges the app's SYN.
        app_end
            .send(&segment(app, open_port, TcpControl::Syn, 1000, None))
            .unwrap();
        let synack = next_tcp(&app_end);
        assert!(synack.syn && !synack.rst, "expected a SYN-ACK");
        assert_eq!(synack.ack, Some(1001));
        listener.set_nonblocking(true).unwrap();
        assert!(
            listener.accept().is_ok(),
            "the server saw the connection before the app got its SYN-ACK"
        );

        // A closed port: a reset, at once, not a timeout.
        let started = Instant::now();
        let other_app: SocketAddr = "127.0.0.1:41001".parse().unwrap();
        app_end
            .send(&segment(
                other_app,
                closed_port,
                TcpControl::Syn,
                5000,
                None,
            ))
            .unwrap();
        let reset = next_tcp(&app_end);
        assert!(reset.rst, "a refused connect is answered with a reset");
        assert_eq!(reset.ack, Some(5001));
        assert!(started.elapsed() < Duration::from_secs(1));

        // A segment for no known flow: a reset too.
        let stray_app: SocketAddr = "127.0.0.1:41002".parse().unwrap();
        app_end
            .send(&segment(
                stray_app,
                open_port,
                TcpControl::None,
                77,
                Some(1),
            ))
            .unwrap();
        assert!(next_tcp(&app_end).rst, "a stray segment is reset");
    });
    let outcome = checks.await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    outcome.unwrap();
    assert_eq!(stats.tcp_flows, 2, "{stats}");
    assert_eq!(stats.tcp_refused_by_server, 1, "{stats}");
    assert_eq!(stats.tcp_reset_unknown, 1, "{stats}");
}

/// Every TCP segment the relay writes within `quiet` of the last one.
fn drain_tcp(app_end: &UnixDatagram, quiet: Duration) -> Vec<TcpReply> {
    let mut buf = [0u8; 2048];
    let mut replies = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let Ok(len) = app_end.recv(&mut buf) else {
            continue;
        };
        last = Instant::now();
        if let Ok(view) = parse(&buf[..len], Checksums::Verify) {
            if let Transport::Tcp(seg) = view.transport {
                replies.push(TcpReply {
                    seq: seg.seq,
                    syn: seg.flags.syn,
                    ack: seg.flags.ack.then_some(seg.ack),
                    rst: seg.flags.rst,
                });
            }
        }
    }
    replies
}

#[tokio::test(flavor = "current_thread")]
async fn a_syn_flood_is_bounded_and_the_table_frees_itself() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let config = RelayConfig {
        max_tcp_flows: 64,
        handshake_timeout: Duration::from_millis(500),
        ..RelayConfig::default()
    };
    let (app_end, stop, relay) = start_relay(config);
    let checks = tokio::task::spawn_blocking(move || {
        // 200 SYNs that will never be followed by an ACK.
        for port in 0..200u16 {
            let app = SocketAddr::from(([127, 0, 0, 1], 42_000 + port));
            app_end
                .send(&segment(app, server, TcpControl::Syn, 1, None))
                .unwrap();
        }
        let replies = drain_tcp(&app_end, Duration::from_millis(300));
        let synacks = replies.iter().filter(|r| r.syn && !r.rst).count();
        let resets = replies.iter().filter(|r| r.rst).count();
        assert_eq!(
            (synacks, resets),
            (64, 136),
            "the table holds 64; the rest are refused"
        );
        // The half-open flows time out and the table frees itself (the
        // sweep runs every 2 s while flows exist).
        std::thread::sleep(Duration::from_millis(2600));
        let _ = drain_tcp(&app_end, Duration::from_millis(100));
        let app = SocketAddr::from(([127, 0, 0, 1], 45_000));
        app_end
            .send(&segment(app, server, TcpControl::Syn, 9, None))
            .unwrap();
        let reply = next_tcp(&app_end);
        assert!(reply.syn && !reply.rst, "a new connection is taken again");
        drop(listener);
    });
    let outcome = checks.await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    outcome.unwrap();
    assert_eq!(stats.tcp_refused_overload, 136, "{stats}");
    assert_eq!(stats.tcp_flows, 65, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn garbage_and_overlapping_fragments_are_counted_and_harmless() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let (app_end, stop, relay) = start_relay(RelayConfig::default());
    let checks = tokio::task::spawn_blocking(move || {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let template = segment(
            SocketAddr::from(([127, 0, 0, 1], 43_000)),
            server,
            TcpControl::Syn,
            1,
            None,
        );
        for round in 0..5000 {
            let packet: Vec<u8> = match round % 3 {
                // Random bytes with an IPv4 or IPv6 version nibble.
                0 => (0..(next() % 200))
                    .map(|i| if i == 0 { 0x45 } else { next() as u8 })
                    .collect(),
                // A real SYN with one byte corrupted: bad checksums, lengths.
                1 => {
                    let mut bad = template.clone();
                    let at = next() as usize % bad.len();
                    bad[at] ^= (next() as u8) | 1;
                    bad
                }
                // A real SYN cut short.
                _ => template[..next() as usize % template.len()].to_vec(),
            };
            let _ = app_end.send(&packet);
        }
        // Two overlapping fragments of one UDP datagram.
        for (offset, more) in [(0u16, true), (1u16, false)] {
            let mut fragment = vec![0x45, 0, 0, 36, 0x12, 0x34];
            let flags = if more { 0x2000 } else { 0 } | offset;
            fragment.extend_from_slice(&flags.to_be_bytes());
            fragment.extend_from_slice(&[64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
            let sum = fragment
                .chunks(2)
                .map(|pair| u32::from(u16::from_be_bytes([pair[0], pair[1]])))
                .sum::<u32>();
            let folded = !(((sum & 0xffff) + (sum >> 16)) as u16);
            fragment[10..12].copy_from_slice(&folded.to_be_bytes());
            fragment.extend_from_slice(&[0xaa; 16]);
            let _ = app_end.send(&fragment);
        }
        let _ = drain_tcp(&app_end, Duration::from_millis(300));
        // And the relay still takes a real connection.
        let app = SocketAddr::from(([127, 0, 0, 1], 44_000));
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1, None))
            .unwrap();
        let reply = next_tcp(&app_end);
        assert!(
            reply.syn && !reply.rst,
            "the relay stopped taking connections"
        );
        drop(listener);
    });
    let outcome = checks.await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    outcome.unwrap();
    assert!(stats.dropped_malformed_ip >= 1000, "{stats}");
    assert_eq!(stats.dropped_fragments, 2, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_the_app_forgot_is_ended_by_keepalives() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let config = RelayConfig {
        app_keepalive: Duration::from_millis(400),
        ..RelayConfig::default()
    };
    let (app_end, stop, relay) = start_relay(config);
    let checks = tokio::task::spawn_blocking(move || {
        let app: SocketAddr = APP.parse().unwrap();
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1000, None))
            .unwrap();
        let synack = next_tcp(&app_end);
        assert!(synack.syn && !synack.rst);
        let established = segment(
            app,
            server,
            TcpControl::None,
            1001,
            Some(synack.seq.wrapping_add(1)),
        );
        app_end.send(&established).unwrap();
        // The "app" now forgets the connection and answers nothing, as when
        // its FIN was lost: probes, then the flow's end, within the keep-alive,
        // its timeout and one 2 s sweep.
        let replies = drain_tcp(&app_end, Duration::from_millis(3500));
        let probes = replies.iter().filter(|r| !r.syn && !r.rst).count();
        assert!(probes >= 2, "{probes} keep-alive probes were sent");
        // The server side stays open throughout: only the app's silence
        // can end this flow.
        listener.set_nonblocking(true).unwrap();
        let accepted = listener.accept().expect("the server took the connection");
        (listener, accepted)
    });
    let outcome = checks.await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    let _server_side = outcome.unwrap();
    assert_eq!(stats.tcp_flows, 1, "{stats}");
    assert_eq!(stats.tcp_open, 0, "the forgotten flow lingers: {stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_new_syn_on_a_forgotten_flow_starts_a_new_one() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let (app_end, stop, relay) = start_relay(RelayConfig::default());
    let checks = tokio::task::spawn_blocking(move || {
        let app: SocketAddr = APP.parse().unwrap();
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1000, None))
            .unwrap();
        let synack = next_tcp(&app_end);
        assert!(synack.syn && !synack.rst);
        // A retransmission of the same SYN is the same connection.
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1000, None))
            .unwrap();
        let again = next_tcp(&app_end);
        assert_eq!((again.syn, again.seq), (true, synack.seq));
        app_end
            .send(&segment(
                app,
                server,
                TcpControl::None,
                1001,
                Some(synack.seq.wrapping_add(1)),
            ))
            .unwrap();
        // The app lost that connection (its reset never arrived) and reuses
        // the port with a new sequence number: answered at once.
        app_end
            .send(&segment(app, server, TcpControl::Syn, 900_000, None))
            .unwrap();
        let replies = drain_tcp(&app_end, Duration::from_millis(500));
        let summary: Vec<_> = replies.iter().map(|r| (r.syn, r.rst, r.ack)).collect();
        assert!(
            replies
                .iter()
                .any(|r| r.syn && !r.rst && r.ack == Some(900_001)),
            "no SYN-ACK for the new SYN: {summary:?}"
        );
        listener
    });
    let outcome = checks.await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    let _listener = outcome.unwrap();
    assert_eq!(stats.tcp_flows, 2, "{stats}");
    assert_eq!(stats.tcp_port_reuses, 1, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn counts_are_published_while_the_relay_runs() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (live, mut counts) = tokio::sync::watch::channel(Stats::default());
    let (app_end, stop, relay) = start_relay_for(
        RelayConfig::default(),
        Arc::new(NoOwners),
        policy_channel(AppPolicy::default()).1,
        Arc::new(DiscardEvents),
        Some(live),
    );
    let app: SocketAddr = APP.parse().unwrap();
    let sent = tokio::task::spawn_blocking(move || {
        app_end
            .send(&segment(app, closed, TcpControl::Syn, 9, None))
            .unwrap();
        assert!(next_tcp(&app_end).rst);
        app_end
    });
    let app_end = sent.await.unwrap();
    // Published within a quarter second or so, while the relay still runs.
    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            counts.changed().await.unwrap();
            if counts.borrow().tcp_refused_by_server == 1 {
                break counts.borrow().clone();
            }
        }
    })
    .await
    .expect("the counts were never published");
    assert_eq!(seen.tcp_flows, 1);
    assert!(!relay.is_finished());
    stop.send(()).unwrap();
    let last = relay.await.unwrap();
    assert_eq!(last, *counts.borrow(), "the final counts are published too");
    drop(app_end);
}

/// An owner lookup that fails the hard way.
struct PanickingOwners;

impl OwnerLookup for PanickingOwners {
    fn owner(&self, _flow: &FlowKey) -> Option<u32> {
        panic!("the platform's lookup broke");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_lookup_that_panics_leaves_the_flow_unowned_not_stuck() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let (app_end, stop, relay) = start_relay_for(
        RelayConfig::default(),
        Arc::new(PanickingOwners),
        policy_channel(AppPolicy::default()).1,
        Arc::new(DiscardEvents),
        None,
    );
    let app: SocketAddr = APP.parse().unwrap();
    let checks = tokio::task::spawn_blocking(move || {
        app_end
            .send(&segment(app, server, TcpControl::Syn, 77, None))
            .unwrap();
        let synack = next_tcp(&app_end);
        assert!(synack.syn && !synack.rst, "the flow goes on, as unowned");
    });
    let outcome = checks.await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    outcome.unwrap();
    assert_eq!(
        (stats.owner_lookups, stats.owner_unknown),
        (1, 1),
        "{stats}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_udp_flow_is_logged_and_moves_to_a_new_socket_when_the_network_changes() {
    let server_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    server_socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let server = server_socket.local_addr().unwrap();
    let app: SocketAddr = "127.0.0.1:41200".parse().unwrap();
    let events = Arc::new(Recorded::default());
    let (network, network_changes) = tokio::sync::watch::channel(0u64);
    let (app_end, stop, relay) = start_relay_with(
        RelayConfig::default(),
        Arc::new(NoOwners),
        policy_channel(AppPolicy::default()).1,
        events.clone(),
        None,
        Some(network_changes),
    );
    let checks = tokio::task::spawn_blocking(move || {
        // An echo server that says which source port each datagram came from.
        let echo = |server_socket: &std::net::UdpSocket| {
            let mut buffer = [0u8; 64];
            let (len, from) = server_socket.recv_from(&mut buffer).unwrap();
            server_socket.send_to(&buffer[..len], from).unwrap();
            from.port()
        };
        let round = |payload: &[u8], server_socket: &std::net::UdpSocket| {
            app_end
                .send(&hush_packet::build::udp(app, server, payload).unwrap())
                .unwrap();
            let port = echo(server_socket);
            let mut buffer = [0u8; 2048];
            let len = app_end.recv(&mut buffer).unwrap();
            let view = hush_packet::parse(&buffer[..len], hush_packet::Checksums::Verify).unwrap();
            let hush_packet::Transport::Udp(udp) = view.transport else {
                panic!("not UDP");
            };
            assert_eq!(udp.payload, payload);
            (view.ip.src, udp.src_port, port)
        };
        let (from, from_port, before) = round(b"one", &server_socket);
        assert_eq!((from, from_port), (server.ip(), server.port()));
        let (_, _, again) = round(b"two", &server_socket);
        assert_eq!(before, again, "one flow, one outside socket");
        network.send_modify(|generation| *generation += 1);
        std::thread::sleep(Duration::from_millis(100));
        // The same app socket, the same flow: a new outside socket.
        let (from, from_port, after) = round(b"three", &server_socket);
        assert_eq!((from, from_port), (server.ip(), server.port()));
        assert_ne!(before, after, "the flow kept its old socket");
        (app_end, network)
    });
    let (_app_end, _network) = checks.await.unwrap();
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    assert_eq!(stats.network_changes, 1);
    assert_eq!(stats.udp_flows_moved, 1);
    assert_eq!(stats.udp_flows, 1);
    let logged: Vec<(String, Verdict)> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.protocol.to_string(), e.verdict))
        .collect();
    assert_eq!(
        logged,
        [("udp".to_string(), Verdict::Allowed)],
        "one event per flow"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_sent_to_hushs_own_address_leaves_but_dns() {
    // Were anything relayed, this server would see it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let own: SocketAddr = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
    let app: SocketAddr = "127.0.0.1:41300".parse().unwrap();
    let events = Arc::new(Recorded::default());
    let config = RelayConfig {
        own_addresses: vec![own.ip()],
        ..RelayConfig::default()
    };
    let (app_end, stop, relay) = start_relay_for(
        config,
        Arc::new(NoOwners),
        policy_channel(AppPolicy::default()).1,
        events.clone(),
        None,
    );
    let checks = tokio::task::spawn_blocking(move || {
        app_end
            .send(&segment(app, own, TcpControl::Syn, 1000, None))
            .unwrap();
        let reply = next_tcp(&app_end);
        assert!(reply.rst, "a reset, at once");
        app_end
            .send(&hush_packet::build::udp(app, own, b"hello").unwrap())
            .unwrap();
        let mut buffer = [0u8; 2048];
        let len = app_end.recv(&mut buffer).unwrap();
        let view = parse(&buffer[..len], Checksums::Verify).unwrap();
        assert!(
            matches!(view.transport, Transport::Icmp(..)),
            "an ICMP error for the datagram"
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(listener.accept().is_err(), "a connection left the device");
        app_end
    });
    let _app_end = checks.await.unwrap();
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    assert_eq!((stats.tcp_blocked, stats.udp_blocked), (1, 1));
    let reasons: Vec<String> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e.protocol, e.reason.code()))
        .collect();
    assert_eq!(reasons, ["tcp:hush-address", "udp:hush-address"]);
}
