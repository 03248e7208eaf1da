//! The relay on a fake tun (a datagram socket pair: one packet per read and
//! write, as a tun) with real kernel sockets on loopback as the servers.
//! No root needed; the full-size tests with real clients run in network
//! namespaces (tests/e2e_relay.rs).

mod support;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_engine::owner::{FlowKey, OwnerLookup, Transport as FlowTransport};
use hush_engine::{
    policy_channel, AppMode, AppPolicy, FlowLimits, Network, RelayConfig, Stats, Verdict,
};
use hush_packet::{parse, Checksums, Transport};
use smoltcp::wire::TcpControl;
use support::{addr, drain_tcp, listen, next_tcp, owners_of, run, segment, start_relay, Setup};

const APP: &str = "127.0.0.1:41000";

/// The relay with the defaults. DNS is not exercised here; any resolver
/// address will do.
fn setup() -> Setup {
    Setup::new(addr("127.0.0.1:9"))
}

/// [`setup`] with `relay` for the relay's settings.
fn setup_with(relay: RelayConfig) -> Setup {
    Setup { relay, ..setup() }
}

#[tokio::test(flavor = "current_thread")]
async fn each_flow_is_judged_for_its_app_and_a_rule_change_cuts_open_flows() {
    let (listener, server) = listen();
    let cut_off: SocketAddr = "127.0.0.1:41100".parse().unwrap();
    let allowed: SocketAddr = "127.0.0.1:41101".parse().unwrap();
    let owners = owners_of([
        (FlowTransport::Tcp, cut_off, server, 10_001),
        (FlowTransport::Tcp, allowed, server, 10_002),
    ]);
    let mut policy = AppPolicy::default();
    policy.set_mode(10_001, Network::Any, AppMode::BlockAll);
    let (rules, policy_updates) = policy_channel(policy.clone());
    let setup = Setup {
        owners: owners.clone(),
        policy: policy_updates,
        ..setup()
    };
    let (stats, events, _rules) = run(start_relay(setup), move |app_end| {
        // The app in block-all mode: a reset at the SYN; the server sees nothing.
        app_end
            .send(&segment(cut_off, server, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        assert!(next_tcp(app_end).rst, "a block-all app's SYN is reset");
        // The other app connects.
        app_end
            .send(&segment(allowed, server, TcpControl::Syn, 5000, None, &[]))
            .unwrap();
        let synack = next_tcp(app_end);
        assert!(synack.syn && !synack.rst, "expected a SYN-ACK");
        app_end
            .send(&segment(
                allowed,
                server,
                TcpControl::None,
                5001,
                Some(synack.seq.wrapping_add(1)),
                &[],
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
        while !next_tcp(app_end).rst {
            assert!(
                Instant::now() < deadline,
                "the open flow of an app just cut off is reset"
            );
        }
        drop(accepted);
        rules
    })
    .await;
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
    let (listener, open_port) = listen();
    let closed_port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let app: SocketAddr = APP.parse().unwrap();
    let (stats, _, ()) = run(start_relay(setup()), move |app_end| {
        // A listening server: the SYN-ACK comes only once the server took
        // the connection, and acknowledges the app's SYN.
        app_end
            .send(&segment(app, open_port, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        let synack = next_tcp(app_end);
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
                &[],
            ))
            .unwrap();
        let reset = next_tcp(app_end);
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
                &[],
            ))
            .unwrap();
        assert!(next_tcp(app_end).rst, "a stray segment is reset");
    })
    .await;
    assert_eq!(stats.tcp_flows, 2, "{stats}");
    assert_eq!(stats.tcp_refused_by_server, 1, "{stats}");
    assert_eq!(stats.tcp_reset_unknown, 1, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_syn_flood_is_bounded_and_the_table_frees_itself() {
    let (listener, server) = listen();
    let config = setup_with(RelayConfig {
        max_tcp_flows: 64,
        handshake_timeout: Duration::from_millis(500),
        ..RelayConfig::default()
    });
    let (stats, _, ()) = run(start_relay(config), move |app_end| {
        // 200 SYNs that will never be followed by an ACK.
        for port in 0..200u16 {
            let app = SocketAddr::from(([127, 0, 0, 1], 42_000 + port));
            app_end
                .send(&segment(app, server, TcpControl::Syn, 1, None, &[]))
                .unwrap();
        }
        let replies = drain_tcp(app_end, Duration::from_millis(300));
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
        let _ = drain_tcp(app_end, Duration::from_millis(100));
        let app = SocketAddr::from(([127, 0, 0, 1], 45_000));
        app_end
            .send(&segment(app, server, TcpControl::Syn, 9, None, &[]))
            .unwrap();
        let reply = next_tcp(app_end);
        assert!(reply.syn && !reply.rst, "a new connection is taken again");
        drop(listener);
    })
    .await;
    assert_eq!(stats.tcp_refused_overload, 136, "{stats}");
    assert_eq!(stats.tcp_flows, 65, "{stats}");
}

/// Sends `count` SYNs from distinct ports and counts the SYN-ACKs and resets.
fn syns_answered(
    app_end: &std::os::unix::net::UnixDatagram,
    server: SocketAddr,
    first_port: u16,
    count: u16,
) -> (usize, usize) {
    for port in first_port..first_port + count {
        let app = SocketAddr::from(([127, 0, 0, 1], port));
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1, None, &[]))
            .unwrap();
    }
    let replies = drain_tcp(app_end, Duration::from_millis(300));
    let synacks = replies.iter().filter(|r| r.syn && !r.rst).count();
    let resets = replies.iter().filter(|r| r.rst).count();
    (synacks, resets)
}

#[tokio::test(flavor = "current_thread")]
async fn the_flows_buffers_come_from_one_budget_small_when_it_runs_low() {
    let (listener, server) = listen();
    let buffer = 64 * 1024;
    let config = setup_with(RelayConfig {
        tcp_app_buffer: buffer,
        tcp_server_buffer: buffer,
        limits: FlowLimits {
            // Two flows at full size, then one with small buffers (16 KiB
            // each way), then nothing fits.
            buffer_budget: 4 * buffer + 2 * 16 * 1024,
            app_buffer_share: 4 * buffer,
            ..FlowLimits::default()
        },
        ..RelayConfig::default()
    });
    let (stats, _, ()) = run(start_relay(config), move |app_end| {
        assert_eq!(syns_answered(app_end, server, 43_000, 5), (3, 2));
        drop(listener);
    })
    .await;
    assert_eq!(stats.tcp_small_buffers, 1, "{stats}");
    assert_eq!(stats.tcp_refused_memory, 2, "{stats}");
    assert_eq!(
        stats.flow_buffer_bytes,
        (4 * buffer + 2 * 16 * 1024) as u64,
        "{stats}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn one_app_cannot_hold_more_than_its_share_of_flows() {
    let (listener, server) = listen();
    // No owners here: every flow is the unknown owner's, one app.
    let config = setup_with(RelayConfig {
        limits: FlowLimits {
            app_tcp_flows: 3,
            ..FlowLimits::default()
        },
        ..RelayConfig::default()
    });
    let (stats, _, ()) = run(start_relay(config), move |app_end| {
        assert_eq!(syns_answered(app_end, server, 44_000, 5), (3, 2));
        drop(listener);
    })
    .await;
    assert_eq!(stats.tcp_refused_app_limit, 2, "{stats}");
    assert_eq!(stats.tcp_refused_overload, 0, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn garbage_and_overlapping_fragments_are_counted_and_harmless() {
    let (listener, server) = listen();
    let (stats, _, ()) = run(start_relay(setup()), move |app_end| {
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
            &[],
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
        let _ = drain_tcp(app_end, Duration::from_millis(300));
        // And the relay still takes a real connection.
        let app = SocketAddr::from(([127, 0, 0, 1], 44_000));
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1, None, &[]))
            .unwrap();
        let reply = next_tcp(app_end);
        assert!(
            reply.syn && !reply.rst,
            "the relay stopped taking connections"
        );
        drop(listener);
    })
    .await;
    assert!(stats.dropped_malformed_ip >= 1000, "{stats}");
    assert_eq!(stats.dropped_fragments, 2, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_connection_the_app_forgot_is_ended_by_keepalives() {
    let (listener, server) = listen();
    let config = setup_with(RelayConfig {
        app_keepalive: Duration::from_millis(400),
        ..RelayConfig::default()
    });
    let (app_end, _, stop, relay) = start_relay(config);
    let checks = tokio::task::spawn_blocking(move || {
        let app: SocketAddr = APP.parse().unwrap();
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        let synack = next_tcp(&app_end);
        assert!(synack.syn && !synack.rst);
        let established = segment(
            app,
            server,
            TcpControl::None,
            1001,
            Some(synack.seq.wrapping_add(1)),
            &[],
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
    let (listener, server) = listen();
    let (stats, _, _listener) = run(start_relay(setup()), move |app_end| {
        let app: SocketAddr = APP.parse().unwrap();
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        let synack = next_tcp(app_end);
        assert!(synack.syn && !synack.rst);
        // A retransmission of the same SYN is the same connection.
        app_end
            .send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        let again = next_tcp(app_end);
        assert_eq!((again.syn, again.seq), (true, synack.seq));
        app_end
            .send(&segment(
                app,
                server,
                TcpControl::None,
                1001,
                Some(synack.seq.wrapping_add(1)),
                &[],
            ))
            .unwrap();
        // The app lost that connection (its reset never arrived) and reuses
        // the port with a new sequence number: answered at once.
        app_end
            .send(&segment(app, server, TcpControl::Syn, 900_000, None, &[]))
            .unwrap();
        let replies = drain_tcp(app_end, Duration::from_millis(500));
        let summary: Vec<_> = replies.iter().map(|r| (r.syn, r.rst, r.ack)).collect();
        assert!(
            replies
                .iter()
                .any(|r| r.syn && !r.rst && r.ack == Some(900_001)),
            "no SYN-ACK for the new SYN: {summary:?}"
        );
        listener
    })
    .await;
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
    let (app_end, _, stop, relay) = start_relay(Setup {
        live_stats: Some(live),
        ..setup()
    });
    let app: SocketAddr = APP.parse().unwrap();
    let sent = tokio::task::spawn_blocking(move || {
        app_end
            .send(&segment(app, closed, TcpControl::Syn, 9, None, &[]))
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

/// An owner lookup that takes its time, as a binder call on a busy phone.
struct SlowOwners;

impl OwnerLookup for SlowOwners {
    fn owner(&self, _flow: &FlowKey) -> Option<u32> {
        std::thread::sleep(Duration::from_millis(150));
        Some(10_001)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn past_the_lookups_under_way_new_flows_are_dropped_not_judged_unowned() {
    let (listener, server) = listen();
    let setup = Setup {
        owners: Arc::new(SlowOwners),
        ..setup_with(RelayConfig {
            limits: FlowLimits {
                awaiting_owner: 4,
                ..FlowLimits::default()
            },
            ..RelayConfig::default()
        })
    };
    let (stats, _, ()) = run(start_relay(setup), move |app_end| {
        // Each SYN's sequence number is its port, so a SYN-ACK (acking it
        // plus one) names its flow, and a resent SYN-ACK is not counted twice.
        let answered = |ports: std::ops::Range<u32>| {
            for port in ports.clone() {
                let app = SocketAddr::from(([127, 0, 0, 1], port as u16));
                app_end
                    .send(&segment(app, server, TcpControl::Syn, port, None, &[]))
                    .unwrap();
            }
            let replies = drain_tcp(app_end, Duration::from_millis(300));
            assert!(replies.iter().all(|r| !r.rst), "no flow is reset");
            let mut acked: Vec<u32> = replies
                .iter()
                .filter(|r| r.syn)
                .filter_map(|r| r.ack.map(|ack| ack - 1))
                .filter(|port| ports.contains(port))
                .collect();
            acked.sort_unstable();
            acked.dedup();
            acked.len()
        };
        // Ten SYNs at once: four wait for their owner; six are dropped, with
        // no SYN-ACK and no reset.
        assert_eq!(answered(46_000..46_010), 4);
        // The app's kernel sends them again; now there is room, four at a time.
        assert_eq!(answered(46_004..46_008), 4);
        assert_eq!(answered(46_008..46_010), 2);
        drop(listener);
    })
    .await;
    assert_eq!(stats.owner_lookups_overflow, 6, "{stats}");
    assert_eq!(
        stats.owner_unknown, 0,
        "none was judged as unowned: {stats}"
    );
    assert_eq!(stats.tcp_flows, 10, "{stats}");
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
    let (_listener, server) = listen();
    let setup = Setup {
        owners: Arc::new(PanickingOwners),
        ..setup()
    };
    let app: SocketAddr = APP.parse().unwrap();
    let (stats, _, ()) = run(start_relay(setup), move |app_end| {
        app_end
            .send(&segment(app, server, TcpControl::Syn, 77, None, &[]))
            .unwrap();
        let synack = next_tcp(app_end);
        assert!(synack.syn && !synack.rst, "the flow goes on, as unowned");
    })
    .await;
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
    let (network, network_changes) = tokio::sync::watch::channel(0u64);
    let (app_end, events, stop, relay) = start_relay(Setup {
        network_changes: Some(network_changes),
        ..setup()
    });
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

/// Bad input: a tun that stops draining (the reader behind it takes
/// nothing for a while). What the relay cannot write is dropped and
/// counted, nothing queues up in it, and traffic flows again once the tun
/// drains.
#[tokio::test(flavor = "current_thread")]
async fn a_tun_that_stops_draining_loses_packets_counted_and_then_carries_traffic_again() {
    const BURST: usize = 2_000;
    let server_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    server_socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let server = server_socket.local_addr().unwrap();
    let app: SocketAddr = "127.0.0.1:41300".parse().unwrap();
    let (stats, _events, (delivered, last)) = run(start_relay(setup()), move |app_end| {
        app_end
            .send(&hush_packet::build::udp(app, server, b"open").unwrap())
            .unwrap();
        let mut buffer = [0u8; 2048];
        let (_, relay_socket) = server_socket.recv_from(&mut buffer).unwrap();
        // The app's end is not read while the server sends, paced so that
        // the tun, not the relay's own socket, is what overflows.
        for chunk in 0..BURST / 10 {
            for i in 0..10 {
                let payload = format!("burst {}", chunk * 10 + i);
                server_socket
                    .send_to(payload.as_bytes(), relay_socket)
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(300));
        let mut delivered = 0;
        while app_end.recv(&mut buffer).is_ok() {
            delivered += 1;
            assert!(delivered <= BURST, "more packets than the server sent");
        }
        server_socket.send_to(b"after", relay_socket).unwrap();
        let len = app_end
            .recv(&mut buffer)
            .expect("the tun drains: traffic flows again");
        let view = parse(&buffer[..len], Checksums::Verify).unwrap();
        let Transport::Udp(datagram) = view.transport else {
            panic!("not UDP");
        };
        (delivered, datagram.payload.to_vec())
    })
    .await;
    assert_eq!(last, b"after");
    assert!(stats.tun_write_errors > 0, "the tun never filled");
    // Every datagram of the burst the relay took (all of them, unless a
    // loaded machine let its socket overflow first) was delivered or
    // counted as lost.
    let taken = stats.udp_datagrams_down - 1;
    assert!(taken > 0 && taken <= BURST as u64);
    assert_eq!(
        delivered as u64 + stats.tun_write_errors,
        taken,
        "{delivered} delivered, {} counted as lost",
        stats.tun_write_errors
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
    let config = setup_with(RelayConfig {
        own_addresses: vec![own.ip()],
        ..RelayConfig::default()
    });
    let (app_end, events, stop, relay) = start_relay(config);
    let checks = tokio::task::spawn_blocking(move || {
        app_end
            .send(&segment(app, own, TcpControl::Syn, 1000, None, &[]))
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

/// Issue 13, the network's own resolvers: a network change that names
/// another resolver sends the next queries to it, through new sockets.
#[tokio::test(flavor = "current_thread")]
async fn a_network_change_can_bring_another_resolver() {
    let (first, second) = (support::Resolver::start(), support::Resolver::start());
    let (network, network_changes) = tokio::sync::watch::channel(0u64);
    let (upstream, upstream_changes) = tokio::sync::watch::channel(None);
    let (app_end, _events, stop, relay) = start_relay(Setup {
        network_changes: Some(network_changes),
        upstream_changes: Some(upstream_changes),
        ..Setup::new(first.address)
    });
    let second_address = second.address;
    let checks = tokio::task::spawn_blocking(move || {
        let app = addr("127.0.0.1:41300");
        let resolver = addr("127.0.0.53:53");
        let ask = |name: &str, id: u16| {
            let query = support::query(name, hickory_proto::rr::RecordType::A, id);
            app_end
                .send(&hush_packet::build::udp(app, resolver, &query).unwrap())
                .unwrap();
            support::next_packet(&app_end, |packet| {
                let view = parse(packet, Checksums::Verify).ok()?;
                let Transport::Udp(udp) = view.transport else {
                    return None;
                };
                Some(support::read_answer(udp.payload))
            })
        };
        assert_eq!(ask("before.example", 1).id, 1);
        // Only the resolver named when the network changes counts.
        upstream.send_replace(Some(addr("127.0.0.1:9")));
        upstream.send_replace(Some(second_address));
        network.send_modify(|generation| *generation += 1);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(ask("after.example", 2).id, 2);
        (app_end, network, upstream)
    });
    let _kept = checks.await.unwrap();
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    assert_eq!(first.names(), ["before.example"]);
    assert_eq!(second.names(), ["after.example"]);
    assert_eq!((stats.network_changes, stats.upstream_changes), (1, 1));
}

/// Owners that say which thread asked them, answering at once (as
/// `sock_diag` does) when `at_once`, else only through the blocking path.
struct ThreadOwners {
    at_once: bool,
    threads: std::sync::Mutex<Vec<(&'static str, std::thread::ThreadId)>>,
}

impl ThreadOwners {
    fn new(at_once: bool) -> Arc<Self> {
        Arc::new(Self {
            at_once,
            threads: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<(&'static str, std::thread::ThreadId)> {
        self.threads.lock().unwrap().clone()
    }
}

impl OwnerLookup for ThreadOwners {
    fn owner(&self, _flow: &FlowKey) -> Option<u32> {
        let thread = std::thread::current().id();
        self.threads.lock().unwrap().push(("owner", thread));
        Some(10_001)
    }

    fn owner_at_once(&self, _flow: &FlowKey) -> Option<Option<u32>> {
        let thread = std::thread::current().id();
        self.threads.lock().unwrap().push(("at-once", thread));
        self.at_once.then_some(Some(10_001))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_lookup_that_answers_at_once_is_asked_on_the_packet_task_one_that_cannot_is_not() {
    let relay_thread = std::thread::current().id();
    for at_once in [true, false] {
        let (listener, server) = listen();
        let owners = ThreadOwners::new(at_once);
        let mut policy = AppPolicy::default();
        policy.set_mode(10_001, Network::Any, AppMode::BlockAll);
        let setup = Setup {
            owners: owners.clone(),
            policy: policy_channel(policy).1,
            ..setup()
        };
        let app: SocketAddr = APP.parse().unwrap();
        let (stats, events, ()) = run(start_relay(setup), move |app_end| {
            app_end
                .send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
                .unwrap();
            // Judged for its app either way: block-all resets it.
            assert!(next_tcp(app_end).rst, "the app's SYN is reset");
            drop(listener);
        })
        .await;
        let asked = owners.asked();
        assert_eq!(asked[0], ("at-once", relay_thread), "{asked:?}");
        if at_once {
            assert_eq!(
                asked.len(),
                1,
                "nothing went to the blocking pool: {asked:?}"
            );
            assert_eq!((stats.owner_lookups, stats.owner_lookups_inline), (1, 1));
        } else {
            // Parked, asked on the blocking pool, and taken again.
            assert_eq!(asked.len(), 2, "{asked:?}");
            assert_eq!(asked[1].0, "owner");
            assert_ne!(asked[1].1, relay_thread, "asked off the packet task");
            assert_eq!((stats.owner_lookups, stats.owner_lookups_inline), (1, 0));
        }
        assert_eq!(stats.tcp_blocked, 1, "{stats}");
        assert_eq!(events.0.lock().unwrap()[0].uid, Some(10_001));
    }
}

/// A protector that says which thread called it, failing for TCP sockets
/// (the flows', not the DNS sockets opened at start) when told to.
struct ThreadProtector {
    may_block: bool,
    fails: bool,
    threads: std::sync::Mutex<Vec<std::thread::ThreadId>>,
}

impl hush_engine::SocketProtector for ThreadProtector {
    fn protect(&self, socket: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        let stream = socket2::SockRef::from(&socket).r#type().unwrap() == socket2::Type::STREAM;
        if self.fails && stream {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the platform refused to protect a socket from the VPN",
            ));
        }
        Ok(())
    }

    fn may_block(&self) -> bool {
        self.may_block
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_protector_that_may_block_runs_off_the_packet_task_and_its_failure_fails_the_flow() {
    let relay_thread = std::thread::current().id();
    for (may_block, fails) in [(true, false), (true, true), (false, false), (false, true)] {
        let (listener, server) = listen();
        let protector = Arc::new(ThreadProtector {
            may_block,
            fails,
            threads: std::sync::Mutex::new(Vec::new()),
        });
        let setup = Setup {
            protector: protector.clone(),
            ..setup()
        };
        let app: SocketAddr = APP.parse().unwrap();
        let (stats, events, ()) = run(start_relay(setup), move |app_end| {
            app_end
                .send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
                .unwrap();
            if fails {
                // The app hears at once that the server cannot be reached.
                // (Not to be taken for the echo request that asks the kernel
                // about big segments.)
                let reply = support::next_packet(app_end, |packet| {
                    let view = parse(packet, Checksums::Verify).ok()?;
                    match view.transport {
                        Transport::Icmp(kind, _) if matches!(kind.msg_type, 1 | 3) => Some("icmp"),
                        Transport::Tcp(tcp) if tcp.flags.syn => Some("syn-ack"),
                        _ => None,
                    }
                });
                assert_eq!(reply, "icmp");
            } else {
                let synack = next_tcp(app_end);
                assert!(synack.syn && !synack.rst, "expected a SYN-ACK");
            }
            drop(listener);
        })
        .await;
        let threads = protector.threads.lock().unwrap().clone();
        // The DNS sockets are protected at start; the flow's is the last.
        let flow_thread = *threads.last().unwrap();
        assert_eq!(
            flow_thread != relay_thread,
            may_block,
            "may_block {may_block}: protected on the packet task {}",
            flow_thread == relay_thread
        );
        assert_eq!(stats.protected_off_task, u64::from(may_block), "{stats}");
        let connects: Vec<_> = events
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.verdict == Verdict::Failed)
            .map(|e| (e.detail.clone(), e.reason.code()))
            .collect();
        if fails {
            assert_eq!(
                connects,
                [("connect".to_string(), "unreachable".into())],
                "{stats}"
            );
            assert_eq!((stats.tcp_unreachable, stats.tcp_open), (1, 0), "{stats}");
        } else {
            assert!(connects.is_empty(), "{connects:?}");
            assert_eq!(stats.tcp_flows, 1, "{stats}");
        }
    }
}

/// Whether this process may open unprivileged ICMP sockets
/// (`net.ipv4.ping_group_range` holds its group), as the relay's echo
/// flows need.
fn icmp_sockets_allowed() -> bool {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap_or_default();
    let bounds: Vec<u32> = range
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    // SAFETY: getegid has no preconditions and cannot fail.
    let gid = unsafe { libc::getegid() };
    matches!(bounds[..], [low, high] if low <= gid && gid <= high)
}

#[tokio::test(flavor = "current_thread")]
async fn a_protector_that_may_block_opens_udp_and_echo_sockets_off_the_packet_task() {
    let relay_thread = std::thread::current().id();
    let echo_expected = if icmp_sockets_allowed() {
        "reply"
    } else {
        "unreachable"
    };
    for may_block in [true, false] {
        let server_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server_socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let server = server_socket.local_addr().unwrap();
        let app: SocketAddr = "127.0.0.1:41400".parse().unwrap();
        let protector = Arc::new(ThreadProtector {
            may_block,
            fails: false,
            threads: std::sync::Mutex::new(Vec::new()),
        });
        let (network, network_changes) = tokio::sync::watch::channel(0u64);
        let setup = Setup {
            protector: protector.clone(),
            network_changes: Some(network_changes),
            ..setup()
        };
        let (stats, _events, echo) = run(start_relay(setup), move |app_end| {
            // Three datagrams at once: the first opens the flow, and all of
            // them reach the server, in order, whenever its socket is there.
            for payload in [b"one", b"two", b"six"] {
                app_end
                    .send(&hush_packet::build::udp(app, server, payload).unwrap())
                    .unwrap();
            }
            let mut buffer = [0u8; 2048];
            let mut ports = Vec::new();
            for expected in [b"one", b"two", b"six"] {
                let (len, from) = server_socket.recv_from(&mut buffer).unwrap();
                assert_eq!(&buffer[..len], expected);
                server_socket.send_to(&buffer[..len], from).unwrap();
                ports.push(from.port());
            }
            for expected in [b"one", b"two", b"six"] {
                let len = app_end.recv(&mut buffer).unwrap();
                let view = parse(&buffer[..len], Checksums::Verify).unwrap();
                let Transport::Udp(datagram) = view.transport else {
                    panic!("not UDP");
                };
                assert_eq!(datagram.payload, expected);
            }
            // A new network: the flow moves to a new socket, opened the same way.
            network.send_modify(|generation| *generation += 1);
            send_until_moved(app_end, &server_socket, (app, server), b"ten", ports[0]);
            // An echo request: relayed where ICMP sockets are allowed, else
            // refused with an unreachable, as it is without a protector.
            app_end
                .send(
                    &hush_packet::build::icmp_echo_request(app.ip(), server.ip(), 7, 1, b"ping")
                        .unwrap(),
                )
                .unwrap();
            let echo = support::next_packet(app_end, |packet| {
                let view = parse(packet, Checksums::Verify).ok()?;
                match view.transport {
                    Transport::Icmp(kind, _) if kind.msg_type == 0 => Some("reply"),
                    Transport::Icmp(kind, quoted) if kind.msg_type == 3 => {
                        // Not the kernel's answer to the big-segments probe.
                        let quoted = parse(quoted, Checksums::Ignore).ok()?;
                        matches!(quoted.transport, Transport::Icmp(k, _) if k.echo == Some((7, 1)))
                            .then_some("unreachable")
                    }
                    _ => None,
                }
            });
            (network, echo)
        })
        .await;
        let (_network, echo) = echo;
        assert_eq!(echo, echo_expected, "may_block {may_block}");
        // The flow's socket and its move (and the echo socket, where the
        // platform allows one) off the task when the protector may block;
        // the resolver's sockets, at start and after the move, on it.
        let flows = if echo_expected == "reply" { 3 } else { 2 };
        let off_task = protector
            .threads
            .lock()
            .unwrap()
            .iter()
            .filter(|&&thread| thread != relay_thread)
            .count();
        assert_eq!(off_task, if may_block { flows } else { 0 }, "{stats}");
        // Counted as asked: an echo socket the platform refuses was asked too.
        assert_eq!(
            stats.protected_off_task,
            if may_block { 3 } else { 0 },
            "{stats}"
        );
        assert_eq!((stats.udp_flows, stats.udp_flows_moved), (1, 1), "{stats}");
        assert_eq!(stats.udp_send_errors, 0, "{stats}");
    }
}

/// A protector that may block, and holds the first UDP socket it is asked
/// to protect off the packet task until the test lets it go.
struct GatedProtector {
    relay_thread: std::thread::ThreadId,
    gate: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    off_task: std::sync::atomic::AtomicUsize,
}

impl hush_engine::SocketProtector for GatedProtector {
    fn protect(&self, socket: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
        let datagram = socket2::SockRef::from(&socket).r#type()? == socket2::Type::DGRAM;
        if std::thread::current().id() == self.relay_thread || !datagram {
            return Ok(());
        }
        use std::sync::atomic::Ordering;
        if self.off_task.fetch_add(1, Ordering::SeqCst) == 0 {
            let gate = self.gate.lock().unwrap().take();
            if let Some(gate) = gate {
                let _ = gate.recv_timeout(Duration::from_secs(5));
            }
        }
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_network_change_while_a_udp_socket_is_opened_takes_the_newer_socket() {
    use std::sync::atomic::Ordering;
    let server_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    server_socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let server = server_socket.local_addr().unwrap();
    let app: SocketAddr = "127.0.0.1:41500".parse().unwrap();
    let (release, gate) = std::sync::mpsc::channel();
    let protector = Arc::new(GatedProtector {
        relay_thread: std::thread::current().id(),
        gate: std::sync::Mutex::new(Some(gate)),
        off_task: std::sync::atomic::AtomicUsize::new(0),
    });
    let (network, network_changes) = tokio::sync::watch::channel(0u64);
    let setup = Setup {
        protector: protector.clone(),
        network_changes: Some(network_changes),
        ..setup()
    };
    let held = Arc::clone(&protector);
    let (stats, _events, _network) = run(start_relay(setup), move |app_end| {
        app_end
            .send(&hush_packet::build::udp(app, server, b"one").unwrap())
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while held.off_task.load(Ordering::SeqCst) == 0 {
            assert!(
                Instant::now() < deadline,
                "the flow's socket was never asked for"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // The network changes while the flow's first socket is held.
        network.send_modify(|generation| *generation += 1);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            held.off_task.load(Ordering::SeqCst),
            1,
            "a second open began while the first was under way"
        );
        release.send(()).unwrap();
        let mut buffer = [0u8; 64];
        let (len, first) = server_socket.recv_from(&mut buffer).unwrap();
        assert_eq!(&buffer[..len], b"one");
        // The open for the new network follows the first, and is kept.
        send_until_moved(app_end, &server_socket, (app, server), b"two", first.port());
        assert_eq!(held.off_task.load(Ordering::SeqCst), 2);
        network
    })
    .await;
    assert_eq!(stats.protected_off_task, 2, "{stats}");
    assert_eq!((stats.udp_flows, stats.udp_flows_moved), (1, 1), "{stats}");
}

/// A protector that may block and refuses every UDP socket it is asked to
/// protect off the packet task (the flows', not the resolver's).
struct RefusingProtector {
    relay_thread: std::thread::ThreadId,
}

impl hush_engine::SocketProtector for RefusingProtector {
    fn protect(&self, socket: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
        let datagram = socket2::SockRef::from(&socket).r#type()? == socket2::Type::DGRAM;
        if datagram && std::thread::current().id() != self.relay_thread {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the platform refused to protect a socket from the VPN",
            ));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_udp_socket_the_platform_refuses_off_the_packet_task_is_an_unreachable_for_the_app() {
    let server: SocketAddr = "127.0.0.1:9999".parse().unwrap();
    let app: SocketAddr = "127.0.0.1:41600".parse().unwrap();
    let setup = Setup {
        protector: Arc::new(RefusingProtector {
            relay_thread: std::thread::current().id(),
        }),
        ..setup()
    };
    let (stats, _events, ()) = run(start_relay(setup), move |app_end| {
        for payload in [b"one", b"two"] {
            app_end
                .send(&hush_packet::build::udp(app, server, payload).unwrap())
                .unwrap();
            // An unreachable quoting the app's datagram, as when the socket
            // cannot be made on the packet task.
            let quoted = support::next_packet(app_end, |packet| {
                let view = parse(packet, Checksums::Verify).ok()?;
                let Transport::Icmp(kind, quoted) = view.transport else {
                    return None;
                };
                let quoted = parse(quoted, Checksums::Ignore).ok()?;
                match quoted.transport {
                    Transport::Udp(datagram) if kind.msg_type == 3 => {
                        Some((datagram.src_port, datagram.dst_port))
                    }
                    _ => None,
                }
            });
            assert_eq!(quoted, (app.port(), server.port()));
        }
    })
    .await;
    // The refused flow ended: the second datagram opened a flow again.
    assert_eq!(stats.udp_flows, 2, "{stats}");
    assert_eq!(stats.udp_send_errors, 2, "{stats}");
    assert_eq!(stats.udp_open, 0, "{stats}");
}

/// Sends `payload` from the app's `flow` (app, server) until the server sees
/// it come from a port other than `old`: the flow moved to a new socket,
/// which may take a moment when it is opened off the packet task. At most
/// 3 s.
fn send_until_moved(
    app_end: &std::os::unix::net::UnixDatagram,
    server_socket: &std::net::UdpSocket,
    (app, server): (SocketAddr, SocketAddr),
    payload: &[u8],
    old: u16,
) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut buffer = [0u8; 2048];
    loop {
        app_end
            .send(&hush_packet::build::udp(app, server, payload).unwrap())
            .unwrap();
        let (len, from) = server_socket.recv_from(&mut buffer).unwrap();
        assert_eq!(&buffer[..len], payload);
        if from.port() != old {
            return;
        }
        assert!(Instant::now() < deadline, "the flow kept its old socket");
        std::thread::sleep(Duration::from_millis(50));
    }
}
