//! Ways around the firewall, through the relay on a fake tun (a datagram
//! socket pair, as in tests/relay.rs and tests/dns_tcp.rs), with real
//! kernel sockets on loopback as servers and a resolver on loopback that
//! answers over UDP and TCP on one port: the app's own DNS over TLS and
//! QUIC (port 853), a DoH endpoint named in a ClientHello, addresses an app
//! never resolved through Hush, a tracker behind a CNAME, and ECH keys in
//! HTTPS records.
//!
//! Loopback addresses stand in for the internet here: they are not "local"
//! to Hush (no packet to loopback reaches a real tun).

mod support;

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use hush_engine::owner::{FakeOwners, Transport as FlowTransport};
use hush_engine::{policy_channel, AppPolicy, ResolverExemptions, Verdict};
use hush_packet::{parse, Checksums, Transport};
use smoltcp::wire::TcpControl;
use support::{
    addr, drain, framed, https_params, listen, next_packet, owners_of, query, run, segment,
    start_relay, AppConn, Resolver, Setup, CLOAKED, SHOP, SHORT, VIRTUAL_DNS,
};

/// An address the test resolver gives no name.
const OTHER: &str = "127.0.0.78";
const APP_UID: u32 = 10_001;
const OTHER_UID: u32 = 10_002;

/// The relay with the vendor list and the encrypted-DNS list, asking a
/// resolver of its own (over UDP and TCP), each flow's owner looked up.
fn setup() -> Setup {
    let mut setup = Setup {
        owners: Arc::new(FakeOwners::default()),
        ..Setup::new(Resolver::start().address)
    };
    setup.rules.add_encrypted_dns_list();
    setup
}

// ---- the tun ----

/// Asks `name` over UDP from `app`, through the tun; returns the answer.
fn ask_udp(tun: &UnixDatagram, app: SocketAddr, name: &str, record_type: RecordType) -> Message {
    let resolver: SocketAddr = VIRTUAL_DNS.parse().unwrap();
    tun.send(&hush_packet::build::udp(app, resolver, &query(name, record_type, 0x4444)).unwrap())
        .unwrap();
    next_packet(tun, |packet| {
        let view = parse(packet, Checksums::Verify).ok()?;
        match view.transport {
            Transport::Udp(udp) if udp.dst_port == app.port() && udp.src_port == 53 => {
                Message::from_vec(udp.payload).ok()
            }
            _ => None,
        }
    })
}

/// Sends one UDP datagram from `app` to `server`; returns whether the
/// relay answered it with an ICMP error (waiting `quiet` for one).
fn udp_refused(tun: &UnixDatagram, app: SocketAddr, server: SocketAddr, quiet: Duration) -> bool {
    tun.send(&hush_packet::build::udp(app, server, b"hello").unwrap())
        .unwrap();
    let mut buffer = vec![0u8; 65_536];
    let deadline = Instant::now() + quiet;
    while Instant::now() < deadline {
        if let Ok(len) = tun.recv(&mut buffer) {
            let view = parse(&buffer[..len], Checksums::Verify).unwrap();
            if matches!(view.transport, Transport::Icmp(..)) {
                return true;
            }
        }
    }
    false
}

/// A TLS ClientHello naming `sni`, as small as tls-parser takes.
fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let be16 = |n: usize| (n as u16).to_be_bytes();
    let mut server_name = be16(3 + name.len()).to_vec();
    server_name.push(0);
    server_name.extend(be16(name.len()));
    server_name.extend(name);
    let mut extensions = vec![0, 0];
    extensions.extend(be16(server_name.len()));
    extensions.extend(server_name);
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

// ---- the tests ----

#[tokio::test(flavor = "current_thread")]
async fn the_apps_own_dns_over_tls_and_quic_is_refused() {
    // Were anything let through, these would see it.
    let dot = TcpListener::bind("127.0.9.53:853").ok();
    let doq = UdpSocket::bind("127.0.9.53:853").ok();
    if let Some(listener) = &dot {
        listener.set_nonblocking(true).unwrap();
    }
    let server = addr("127.0.9.53:853");
    let (stats, events, ()) = run(start_relay(setup()), move |tun| {
        assert!(
            AppConn::try_open(tun, addr("127.0.0.1:43001"), server).is_err(),
            "DoT is reset at the SYN"
        );
        assert!(
            udp_refused(tun, addr("127.0.0.1:43002"), server, Duration::from_secs(2)),
            "DoQ gets an ICMP error"
        );
        // Any address: a resolver the app carries is as refused as a known one.
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43003"), addr("198.18.3.3:853")).is_err());
        std::thread::sleep(Duration::from_millis(100));
        if let Some(listener) = &dot {
            assert!(listener.accept().is_err(), "a DoT connection left");
        }
        if let Some(socket) = &doq {
            socket.set_nonblocking(true).unwrap();
            assert!(socket.recv(&mut [0; 64]).is_err(), "a DoQ datagram left");
        }
    })
    .await;
    assert_eq!(
        (stats.encrypted_dns_tcp, stats.encrypted_dns_udp),
        (2, 1),
        "{stats}"
    );
    assert_eq!((stats.tcp_blocked, stats.udp_blocked), (2, 1));
    assert_eq!(
        events.decisions(),
        [
            "tcp port-853 blocked encrypted-dns ",
            "udp port-853 blocked encrypted-dns ",
            "tcp port-853 blocked encrypted-dns ",
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn port_853_passes_when_allowed_and_to_an_exempt_resolver() {
    // Binding port 853 needs privilege; without it, a connection Hush let
    // through is refused by the kernel instead, and says so in the events.
    let allowed_server = addr("127.0.8.53:853");
    let exempt_server = addr("127.0.10.53:853");
    let dot = TcpListener::bind(allowed_server).ok();
    let exempt_dot = TcpListener::bind(exempt_server).ok();
    let doq = UdpSocket::bind(allowed_server).ok();
    let privileged = dot.is_some() && exempt_dot.is_some() && doq.is_some();

    // The setting lets every app's DoT and DoQ through.
    let mut allowing = setup();
    allowing.relay.allow_encrypted_dns = true;
    let (stats, events, ()) = run(start_relay(allowing), move |tun| {
        let tcp = AppConn::try_open(tun, addr("127.0.0.1:43101"), allowed_server);
        if privileged {
            assert!(tcp.is_ok(), "DoT allowed: the SYN-ACK comes");
            assert!(
                !udp_refused(
                    tun,
                    addr("127.0.0.1:43102"),
                    allowed_server,
                    Duration::from_millis(500)
                ),
                "DoQ allowed"
            );
            let mut datagram = [0u8; 16];
            let socket = doq.as_ref().unwrap();
            socket
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            assert_eq!(
                socket.recv(&mut datagram).unwrap(),
                5,
                "the datagram arrives"
            );
        }
    })
    .await;
    assert_eq!((stats.encrypted_dns_tcp, stats.encrypted_dns_udp), (0, 0));
    assert!(
        !events
            .decisions()
            .iter()
            .any(|d| d.contains("encrypted-dns")),
        "{:?}",
        events.decisions()
    );
    if !privileged {
        assert_eq!(stats.tcp_refused_by_server, 1, "Hush let the SYN through");
    }

    // Without the setting, an exempt resolver (Android's Private DNS, say)
    // still passes, and another address does not.
    let mut setup = setup();
    let mut exempt = ResolverExemptions::new();
    exempt.add_address(exempt_server.ip());
    setup.dns.resolver_exemptions = exempt;
    let (stats, _, ()) = run(start_relay(setup), move |tun| {
        let tcp = AppConn::try_open(tun, addr("127.0.0.1:43103"), exempt_server);
        assert_eq!(tcp.is_ok(), privileged);
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43104"), addr("127.0.9.54:853")).is_err());
    })
    .await;
    assert_eq!(stats.encrypted_dns_tcp, 1);
    drop((dot, exempt_dot));
}

#[tokio::test(flavor = "current_thread")]
async fn exempt_resolvers_changed_while_running_judge_the_next_connection() {
    // As above: without the privilege to listen on 853, a connection Hush
    // lets through is refused by the kernel, which the counts tell apart.
    let private_dns = addr("127.0.11.53:853");
    let other = addr("127.0.11.54:853");
    let dot = TcpListener::bind(private_dns).ok();
    let (changes, receiver) = tokio::sync::watch::channel(ResolverExemptions::new());
    let mut setup = setup();
    setup.resolver_exemptions = Some(receiver);
    let (stats, events, ()) = run(start_relay(setup), move |tun| {
        // Not exempt yet: refused at the SYN.
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43401"), private_dns).is_err());
        // Strict Private DNS turned on: the platform names its resolver.
        let mut exempt = ResolverExemptions::new();
        exempt.add_address(private_dns.ip());
        changes.send_replace(exempt);
        std::thread::sleep(Duration::from_millis(100));
        let passed = AppConn::try_open(tun, addr("127.0.0.1:43402"), private_dns);
        assert_eq!(passed.is_ok(), dot.is_some());
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43403"), other).is_err());
        // And off again.
        changes.send_replace(ResolverExemptions::new());
        std::thread::sleep(Duration::from_millis(100));
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43404"), private_dns).is_err());
    })
    .await;
    assert_eq!(stats.encrypted_dns_tcp, 3, "{stats}");
    assert_eq!(stats.tcp_flows, 1, "{stats}");
    if !privileged_port_853() {
        assert_eq!(stats.tcp_refused_by_server, 1, "Hush let the SYN through");
    }
    let refused = events
        .decisions()
        .iter()
        .filter(|d| d.starts_with("tcp port-853 blocked encrypted-dns"))
        .count();
    assert_eq!(refused, 3, "{:?}", events.decisions());
}

/// Whether this process may listen on port 853 (root, in the tests' CI).
fn privileged_port_853() -> bool {
    TcpListener::bind("127.0.11.99:853").is_ok()
}

#[tokio::test(flavor = "current_thread")]
async fn a_doh_endpoint_is_reset_on_its_sni_and_other_sites_pass() {
    let (listener, server) = listen();
    let accepted = std::thread::spawn(move || {
        // Both connections reach the server (the SYN is judged on the
        // address, which is unlisted); only the second gets its bytes.
        let mut got = Vec::new();
        for _ in 0..2 {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(1500)))
                .unwrap();
            let mut buffer = vec![0u8; 4096];
            got.push(stream.read(&mut buffer).unwrap_or(0));
        }
        got
    });
    let (stats, events, ()) = run(start_relay(setup()), move |tun| {
        let mut doh = AppConn::try_open(tun, addr("127.0.0.1:43201"), server).unwrap();
        doh.send(&client_hello("dns.google"));
        assert!(
            doh.reset_within(Duration::from_secs(3)),
            "dns.google is reset"
        );
        let mut site = AppConn::try_open(tun, addr("127.0.0.1:43202"), server).unwrap();
        site.send(&client_hello("www.example.org"));
        assert!(
            !site.reset_within(Duration::from_millis(500)),
            "an ordinary site passes"
        );
    })
    .await;
    let got = accepted.join().unwrap();
    assert_eq!(
        got[0], 0,
        "nothing of the DoH ClientHello reached the server"
    );
    assert!(got[1] > 0, "the ordinary ClientHello reached the server");
    assert_eq!(stats.tcp_blocked_by_name, 1);
    assert_eq!(
        events.decisions(),
        ["tls sni blocked list:hush-doh dns.google"]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn resolved_only_lets_an_app_reach_what_hush_resolved_for_it_and_nothing_else() {
    let listen = |ip: &str| {
        let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), 0)).unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || for _ in listener.incoming() {});
        address
    };
    let shop = listen(SHOP);
    let unresolved = listen(OTHER);
    let short = listen(SHORT);
    let echo = UdpSocket::bind((SHOP.parse::<IpAddr>().unwrap(), 0)).unwrap();
    let shop_udp = echo.local_addr().unwrap();
    let unresolved_udp = SocketAddr::new(OTHER.parse().unwrap(), shop_udp.port());
    std::thread::spawn(move || {
        let mut buffer = [0u8; 64];
        while let Ok((len, from)) = echo.recv_from(&mut buffer) {
            let _ = echo.send_to(&buffer[..len], from);
        }
    });
    // Nothing listens here: a flow Hush lets through fails to connect.
    let lan = addr("192.168.255.254:9");

    let mut policy = AppPolicy::default();
    policy.set_resolved_only_default(true);
    let mut setup = setup();
    setup.policy = policy_channel(policy).1;
    setup.dns.resolved_grace = Duration::ZERO;
    setup.relay.connect_timeout = Duration::from_millis(300);
    let dns: SocketAddr = VIRTUAL_DNS.parse().unwrap();
    let (a, b) = (APP_UID, OTHER_UID);
    use FlowTransport::{Tcp, Udp};
    let flows = [
        (Udp, "127.0.0.1:43301", dns, a),
        (Tcp, "127.0.0.1:43302", shop, a),
        (Tcp, "127.0.0.1:43303", unresolved, a),
        (Tcp, "127.0.0.1:43304", shop, b),
        (Tcp, "127.0.0.1:43305", lan, a),
        (Udp, "127.0.0.1:43306", shop_udp, a),
        (Udp, "127.0.0.1:43307", unresolved_udp, a),
        (Udp, "127.0.0.1:43308", dns, a),
        (Tcp, "127.0.0.1:43309", short, a),
        (Tcp, "127.0.0.1:43310", short, a),
    ];
    setup.owners =
        owners_of(flows.map(|(transport, app, server, uid)| (transport, addr(app), server, uid)));
    let (stats, events, ()) = run(start_relay(setup), move |tun| {
        let answer = ask_udp(tun, addr("127.0.0.1:43301"), "shop.example", RecordType::A);
        assert_eq!(answer.answers.len(), 1);
        assert!(
            AppConn::try_open(tun, addr("127.0.0.1:43302"), shop).is_ok(),
            "the address the app resolved"
        );
        assert!(
            AppConn::try_open(tun, addr("127.0.0.1:43303"), unresolved).is_err(),
            "an address it did not"
        );
        assert!(
            AppConn::try_open(tun, addr("127.0.0.1:43304"), shop).is_err(),
            "another app's answer is not this one's"
        );
        // The local network is not checked: Hush tries the connect (which
        // fails, nothing being there) rather than refusing it.
        tun.send(&segment(
            addr("127.0.0.1:43305"),
            lan,
            TcpControl::Syn,
            1,
            None,
            &[],
        ))
        .unwrap();
        drain(tun, Duration::from_millis(800));
        assert!(
            !udp_refused(
                tun,
                addr("127.0.0.1:43306"),
                shop_udp,
                Duration::from_millis(500)
            ),
            "UDP to the resolved address passes"
        );
        assert!(
            udp_refused(
                tun,
                addr("127.0.0.1:43307"),
                unresolved_udp,
                Duration::from_secs(2)
            ),
            "UDP to another address is refused"
        );
        // An answer holds for its TTL (1 s here, no grace), then no more.
        ask_udp(tun, addr("127.0.0.1:43308"), "short.example", RecordType::A);
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43309"), short).is_ok());
        std::thread::sleep(Duration::from_millis(1300));
        assert!(
            AppConn::try_open(tun, addr("127.0.0.1:43310"), short).is_err(),
            "an expired answer"
        );
    })
    .await;
    assert_eq!(
        (stats.not_resolved_tcp, stats.not_resolved_udp),
        (3, 1),
        "{stats}"
    );
    let decisions = events.decisions();
    let refused: Vec<&String> = decisions
        .iter()
        .filter(|d| d.contains("not-resolved"))
        .collect();
    assert_eq!(
        refused,
        [
            "tcp address blocked not-resolved ",
            // Another app resolved it: the name is known, the address still refused.
            "tcp address blocked not-resolved shop.example",
            "udp address blocked not-resolved ",
            "tcp address blocked not-resolved short.example",
        ]
    );
    // The local address was tried, not refused: its connect is under way,
    // or failed (what this machine's network does with it), and no event
    // blocks it.
    let events = events.0.lock().unwrap();
    let lan_events: Vec<_> = events.iter().filter(|e| e.address == lan.ip()).collect();
    assert!(
        lan_events.iter().all(|e| e.verdict != Verdict::Blocked),
        "{lan_events:?}"
    );
    // Connects tried: shop and short (open), and the local address (open,
    // or failed at once or later, which counts it twice).
    let connects = stats.tcp_flows + stats.tcp_unreachable + stats.tcp_refused_by_server;
    assert!(connects >= 3, "shop, short and the local address: {stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_cname_to_a_listed_tracker_is_blocked_over_udp_and_tcp() {
    let target = TcpListener::bind((CLOAKED.parse::<IpAddr>().unwrap(), 0)).unwrap();
    let target = target.local_addr().unwrap();
    let mut policy = AppPolicy::default();
    policy.set_resolved_only(APP_UID, true);
    let dns: SocketAddr = VIRTUAL_DNS.parse().unwrap();
    let setup = Setup {
        policy: policy_channel(policy).1,
        owners: owners_of([
            (FlowTransport::Udp, addr("127.0.0.1:43401"), dns, APP_UID),
            (FlowTransport::Tcp, addr("127.0.0.1:43402"), dns, APP_UID),
            (FlowTransport::Tcp, addr("127.0.0.1:43403"), target, APP_UID),
        ]),
        ..setup()
    };
    let (stats, events, ()) = run(start_relay(setup), move |tun| {
        let answer = ask_udp(
            tun,
            addr("127.0.0.1:43401"),
            "cloaked.example",
            RecordType::A,
        );
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.answers.is_empty(), "no address of the tracker's");
        let mut conn = AppConn::try_open(tun, addr("127.0.0.1:43402"), dns).unwrap();
        conn.send(&framed(&query("cloaked.example", RecordType::A, 0x5151)));
        let answer = conn.framed_answer();
        assert_eq!(answer.metadata.id, 0x5151);
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.answers.is_empty());
        // Its address was not learnt: for an app set to "resolved only" it
        // is no address Hush resolved.
        assert!(AppConn::try_open(tun, addr("127.0.0.1:43403"), target).is_err());
    })
    .await;
    assert_eq!(stats.cname_cloaked, 2);
    assert_eq!(stats.not_resolved_tcp, 1);
    assert_eq!(
        events.decisions(),
        [
            "dns A blocked cname:x.tracking.miui.com:list:hush-default cloaked.example",
            "dns A/tcp blocked cname:x.tracking.miui.com:list:hush-default cloaked.example",
            "tcp address blocked not-resolved ",
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn ech_is_stripped_from_an_https_answer_and_kept_when_told() {
    let ask = |tun: &UnixDatagram, port: u16| {
        let app = SocketAddr::new(addr("127.0.0.1:0").ip(), port);
        let answer = ask_udp(tun, app, "ech.example", RecordType::HTTPS);
        let [record] = &answer.answers[..] else {
            panic!("one HTTPS record: {answer:?}")
        };
        let RData::HTTPS(https) = &record.data else {
            panic!("not HTTPS: {record:?}")
        };
        https.0.svc_params.clone()
    };
    let (stats, _, params) = run(start_relay(setup()), move |tun| ask(tun, 43501)).await;
    assert_eq!(params, https_params(false), "ech gone, alpn kept");
    assert_eq!(stats.ech_stripped, 1);

    let mut setup = setup();
    setup.dns.strip_ech = false;
    let (stats, _, params) = run(start_relay(setup), move |tun| ask(tun, 43502)).await;
    assert_eq!(params, https_params(true));
    assert_eq!(stats.ech_stripped, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn names_that_cannot_be_read_are_counted_and_logged_by_reason_never_stored_raw() {
    let (listener, server) = listen();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(3) {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    // Over 253 bytes, ending in a listed name: no name can be this long.
    let impossible = format!("{}dns.google", "abcdefghij.".repeat(25));
    let (stats, events, ()) = run(start_relay(setup()), move |tun| {
        let mut long = AppConn::try_open(tun, addr("127.0.0.1:43301"), server).unwrap();
        long.send(&client_hello(&impossible));
        let mut stalled = AppConn::try_open(tun, addr("127.0.0.1:43302"), server).unwrap();
        let hello = client_hello("stalled.example");
        stalled.send(&hello[..hello.len() / 2]);
        let mut broken = AppConn::try_open(tun, addr("127.0.0.1:43303"), server).unwrap();
        // A handshake record whose ClientHello is cut short inside itself.
        broken.send(&[0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0xff, 0xff]);
        // Past the inspection timeout (500 ms) for the stalled one.
        std::thread::sleep(Duration::from_millis(1200));
    })
    .await;
    let details: Vec<String> = events.seen().into_iter().map(|e| e.2).collect();
    for reason in ["unread:invalid-name", "unread:timeout", "unread:malformed"] {
        assert!(
            details.iter().any(|d| d == reason),
            "{reason} in {details:?}"
        );
    }
    assert!(
        events.seen().iter().all(|e| !e.1.contains("abcdefghij")),
        "the impossible name is not stored"
    );
    assert_eq!(stats.unread_invalid_name, 1, "{stats}");
    assert_eq!(stats.unread_timeout, 1, "{stats}");
    assert_eq!(stats.unread_malformed, 1, "{stats}");
}
