//! "Strict" apps (issue 14): a flow that looks like TLS, HTTP or QUIC but
//! whose name could not be read is reset (TCP) or refused (QUIC) for an
//! app set to strict, and relayed by its address for any other app; flows
//! with a readable name, and protocols that carry none, are judged as
//! before. Through the relay on a fake tun, with real kernel sockets on
//! loopback as servers (see tests/bypass.rs).

mod support;

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_engine::owner::Transport as FlowTransport;
use hush_engine::{policy_channel, AppMode, AppPolicy, Network, Verdict};
use hush_packet::{parse, Checksums, Transport};
use support::{addr, owners_of, run, start_relay, AppConn, Resolver, Setup};

const STRICT: u32 = 10_001;
const LAX: u32 = 10_002;
const ALLOW_ALL: u32 = 10_003;

/// A TLS ClientHello, naming `sni` if given.
fn client_hello(sni: Option<&str>) -> Vec<u8> {
    let be16 = |n: usize| (n as u16).to_be_bytes();
    let mut extensions = Vec::new();
    if let Some(sni) = sni {
        let name = sni.as_bytes();
        let mut server_name = be16(3 + name.len()).to_vec();
        server_name.push(0);
        server_name.extend(be16(name.len()));
        server_name.extend(name);
        extensions.extend([0, 0]);
        extensions.extend(be16(server_name.len()));
        extensions.extend(server_name);
    } else {
        // Something for the extensions to hold: supported_versions, TLS 1.3.
        extensions.extend([0, 0x2b, 0, 3, 2, 3, 4]);
    }
    let mut body = vec![3, 3];
    body.extend([0x11; 32]);
    body.push(0);
    body.extend([0, 2, 0x13, 0x01, 1, 0]);
    body.extend(be16(extensions.len()));
    body.extend(extensions);
    let mut handshake = vec![1];
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 3, 1];
    record.extend(be16(handshake.len()));
    record.extend(handshake);
    record
}

/// A server on `ip` that takes every connection and counts the bytes all
/// of them sent it.
fn counting_server(ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0)).unwrap();
    let address = listener.local_addr().unwrap();
    let bytes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&bytes);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buffer) {
                    counted.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    (address, bytes)
}

/// A QUIC long header of draft 29, a version Hush cannot decrypt.
fn draft_quic() -> Vec<u8> {
    let mut datagram = vec![0xc0, 0xff, 0, 0, 29, 8];
    datagram.extend_from_slice(&[0; 40]);
    datagram
}

/// Sends `payload` from `app` to `server`; returns whether the relay
/// answered with an ICMP error (else the echo server's echo came back).
fn quic_refused(tun: &UnixDatagram, app: SocketAddr, server: SocketAddr) -> bool {
    tun.send(&hush_packet::build::udp(app, server, &draft_quic()).unwrap())
        .unwrap();
    let mut buffer = vec![0u8; 65_536];
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(len) = tun.recv(&mut buffer) {
            let view = parse(&buffer[..len], Checksums::Verify).unwrap();
            match view.transport {
                Transport::Icmp(..) => return true,
                Transport::Udp(udp) if udp.dst_port == app.port() => return false,
                _ => {}
            }
        }
    }
    panic!("neither an ICMP error nor the echo came back in 3 s");
}

#[tokio::test(flavor = "current_thread")]
async fn a_strict_apps_unreadable_flows_are_reset_and_other_apps_pass_by_address() {
    let (refused_server, refused_bytes) = counting_server("127.0.0.77");
    let (passed_server, passed_bytes) = counting_server("127.0.0.79");
    let echo = UdpSocket::bind("127.0.0.77:0").unwrap();
    let quic_server = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 2048];
        while let Ok((len, from)) = echo.recv_from(&mut buffer) {
            let _ = echo.send_to(&buffer[..len], from);
        }
    });

    let mut policy = AppPolicy::default();
    policy.set_strict(STRICT, true);
    policy.set_strict(ALLOW_ALL, true);
    policy.set_mode(ALLOW_ALL, Network::Any, AppMode::AllowAll);
    let mut setup = Setup::new(Resolver::start().address);
    setup.policy = policy_channel(policy).1;
    use FlowTransport::{Tcp, Udp};
    let (r, p) = (refused_server, passed_server);
    let flows = [
        (Tcp, "127.0.0.1:44001", r, STRICT),
        (Tcp, "127.0.0.1:44002", r, STRICT),
        (Tcp, "127.0.0.1:44003", r, STRICT),
        (Tcp, "127.0.0.1:44004", p, STRICT),
        (Tcp, "127.0.0.1:44005", p, STRICT),
        (Tcp, "127.0.0.1:44006", p, LAX),
        (Tcp, "127.0.0.1:44007", p, LAX),
        (Tcp, "127.0.0.1:44008", p, ALLOW_ALL),
        (Udp, "127.0.0.1:44009", quic_server, STRICT),
        (Udp, "127.0.0.1:44010", quic_server, LAX),
    ];
    setup.owners =
        owners_of(flows.map(|(transport, app, server, uid)| (transport, addr(app), server, uid)));
    let hello = client_hello(Some("stalled.example"));
    let (stats, events, ()) = run(start_relay(setup), move |tun| {
        let open = |port: u16, server| {
            AppConn::try_open(tun, SocketAddr::new([127, 0, 0, 1].into(), port), server)
                .expect("the SYN is judged by the address, which is unlisted")
        };
        // One connection at a time: each reads only its own packets off
        // the tun. The strict app: a ClientHello that stalls half-way, one
        // that does not parse, one that names nothing (to a bare address).
        let broken_hello = [0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0xff, 0xff];
        let nameless_hello = client_hello(None);
        let half = &hello[..hello.len() / 2];
        for (port, bytes, what) in [
            (44001, half, "the stalled ClientHello"),
            (44002, &broken_hello[..], "the malformed ClientHello"),
            (44003, &nameless_hello[..], "the nameless ClientHello"),
        ] {
            let mut conn = open(port, r);
            conn.send(bytes);
            assert!(
                conn.reset_within(Duration::from_secs(3)),
                "{what} of the strict app is reset"
            );
        }
        // Its readable names and its other protocols are judged as before;
        // another app's stalled and nameless ClientHellos pass by address,
        // and so do those of a strict app allowed everything.
        let named_hello = client_hello(Some("www.example.org"));
        for (port, bytes, what) in [
            (44004, &named_hello[..], "a named ClientHello"),
            (44005, &b"SSH-2.0-OpenSSH_9.2\r\n"[..], "SSH"),
            (44006, half, "another app's stalled ClientHello"),
            (
                44007,
                &nameless_hello[..],
                "another app's nameless ClientHello",
            ),
            (44008, half, "an allowed-all app's stalled ClientHello"),
        ] {
            let mut conn = open(port, p);
            conn.send(bytes);
            assert!(!conn.reset_within(Duration::from_millis(800)), "{what}");
        }
        assert!(quic_refused(tun, addr("127.0.0.1:44009"), quic_server));
        assert!(!quic_refused(tun, addr("127.0.0.1:44010"), quic_server));
        // Lets the servers read what reached them.
        std::thread::sleep(Duration::from_millis(300));
    })
    .await;

    assert_eq!(
        refused_bytes.load(Ordering::SeqCst),
        0,
        "nothing of a refused flow reached its server"
    );
    assert!(passed_bytes.load(Ordering::SeqCst) > 0);
    assert_eq!((stats.strict_tcp_reset, stats.strict_quic_refused), (3, 1));
    assert_eq!(stats.tcp_blocked_by_name, 0);
    assert_eq!(stats.quic_blocked, 0);
    // Give-ups are counted as such whoever made them.
    assert_eq!(stats.unread_timeout, 3, "{stats}");
    assert_eq!(stats.unread_malformed, 1, "{stats}");
    assert_eq!(stats.unread_quic_version, 2, "{stats}");
    // Only the strict app's unread flows are refused.
    let mut decisions = events.decisions();
    decisions.sort();
    assert_eq!(
        decisions,
        [
            "quic strict:quic-version blocked strict ",
            "tls strict:malformed blocked strict ",
            "tls strict:no-name blocked strict ",
            "tls strict:timeout blocked strict ",
        ]
    );
    let by_port = |port: u16| -> Vec<(String, Verdict)> {
        events
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.port == port)
            .map(|e| (e.detail.clone(), e.verdict))
            .collect()
    };
    assert!(by_port(quic_server.port())
        .contains(&("unread:quic-version".to_string(), Verdict::Allowed)));
    let seen = events.seen();
    let lax: Vec<&str> = seen
        .iter()
        .filter(|e| e.0 == "tls" && e.3 == Verdict::Allowed && e.4 == "unlisted")
        .map(|e| e.2.as_str())
        .collect();
    for detail in ["unread:timeout", "address", "sni"] {
        assert!(lax.contains(&detail), "{detail} in {lax:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn switching_strict_on_cuts_the_apps_open_nameless_flows_and_no_other() {
    let (server, bytes) = counting_server("127.0.0.81");
    let echo = UdpSocket::bind("127.0.0.81:0").unwrap();
    let quic_server = echo.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 2048];
        while let Ok((len, from)) = echo.recv_from(&mut buffer) {
            let _ = echo.send_to(&buffer[..len], from);
        }
    });
    let (rules, receiver) = policy_channel(AppPolicy::default());
    let mut setup = Setup::new(Resolver::start().address);
    setup.policy = receiver;
    use FlowTransport::{Tcp, Udp};
    setup.owners = owners_of([
        (Tcp, addr("127.0.0.1:45001"), server, STRICT),
        (Tcp, addr("127.0.0.1:45002"), server, STRICT),
        (Tcp, addr("127.0.0.1:45003"), server, LAX),
        (Udp, addr("127.0.0.1:45004"), quic_server, STRICT),
    ]);
    let (stats, events, ()) = run(start_relay(setup), move |tun| {
        let open = |port: u16| {
            AppConn::try_open(tun, SocketAddr::new([127, 0, 0, 1].into(), port), server)
                .expect("the SYN is judged by the address, which is unlisted")
        };
        // Strict is off: a nameless ClientHello and SSH pass for the app,
        // and another app's nameless ClientHello too.
        let nameless = client_hello(None);
        let mut nameless_flow = open(45001);
        nameless_flow.send(&nameless);
        assert!(!nameless_flow.reset_within(Duration::from_millis(500)));
        let mut ssh_flow = open(45002);
        ssh_flow.send(b"SSH-2.0-OpenSSH_9.2\r\n");
        assert!(!ssh_flow.reset_within(Duration::from_millis(500)));
        let mut other_app = open(45003);
        other_app.send(&nameless);
        assert!(!other_app.reset_within(Duration::from_millis(500)));
        assert!(!quic_refused(tun, addr("127.0.0.1:45004"), quic_server));

        // The owner makes the app strict: its open nameless flow is cut at
        // once; its SSH flow (no name to read) and the other app's stay.
        let mut strict = AppPolicy::default();
        strict.set_strict(STRICT, true);
        rules.send(Arc::new(strict)).unwrap();
        assert!(
            nameless_flow.reset_within(Duration::from_secs(3)),
            "the strict app's open nameless flow is reset"
        );
        assert!(!ssh_flow.reset_within(Duration::from_millis(300)));
        assert!(!other_app.reset_within(Duration::from_millis(300)));
        // Its QUIC flow that named nothing is refused from now on.
        assert!(quic_refused(tun, addr("127.0.0.1:45004"), quic_server));
        std::thread::sleep(Duration::from_millis(200));
    })
    .await;
    assert!(bytes.load(Ordering::SeqCst) > 0);
    assert_eq!(stats.flows_cut_by_rule, 2, "{stats}");
    let cut: Vec<(String, Verdict)> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.verdict == Verdict::Blocked)
        .map(|e| (format!("{} {}", e.protocol, e.detail), e.verdict))
        .collect();
    assert_eq!(
        cut,
        [
            // Cut flows are logged by transport, as other rule changes' cuts.
            ("tcp strict:no-name".to_string(), Verdict::Blocked),
            ("udp strict:quic-version".to_string(), Verdict::Blocked),
        ]
    );
}
