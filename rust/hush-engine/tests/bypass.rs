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

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::svcb::{Alpn, EchConfigList, SvcParamKey, SvcParamValue};
use hickory_proto::rr::rdata::{A, CNAME, HTTPS, SVCB};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hush_engine::owner::{FakeOwners, FlowKey, OwnerLookup, Transport as FlowTransport};
use hush_engine::{
    policy_channel, run_relay, AppPolicy, DnsConfig, DnsFirewall, Event, EventSink, NoProtection,
    Platform, RelayConfig, ResolverExemptions, Stats, Verdict,
};
use hush_packet::{parse, Checksums, Transport};
use hush_rules::RuleSetBuilder;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

/// Hush's virtual resolver address, as the Android VPN hands it to apps.
const VIRTUAL_DNS: &str = "10.111.222.1:53";
/// What the test resolver answers for names it has no rule for.
const OTHER: &str = "127.0.0.78";
/// `shop.example`'s address, TTL 300.
const SHOP: &str = "127.0.0.77";
/// `short.example`'s address, TTL 1.
const SHORT: &str = "127.0.0.79";
/// The address behind `cloaked.example`, an alias of a listed tracker.
const CLOAKED: &str = "127.0.0.80";
const APP_UID: u32 = 10_001;
const OTHER_UID: u32 = 10_002;

// ---- the resolver ----

/// The answer the test resolver gives to `request`.
fn answer_to(request: &Message) -> Vec<u8> {
    let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
    answer.add_queries(request.queries.iter().cloned());
    let question = request.queries[0].name().clone();
    let name = question.to_ascii().trim_end_matches('.').to_string();
    let a = |owner: Name, ttl: u32, address: &str| {
        Record::from_rdata(owner, ttl, RData::A(A(address.parse().unwrap())))
    };
    match name.as_str() {
        "shop.example" => answer.add_answer(a(question, 300, SHOP)),
        "short.example" => answer.add_answer(a(question, 1, SHORT)),
        "cloaked.example" => {
            // A first-party name, aliased to a tracker on the vendor list.
            let tracker = Name::from_str("x.tracking.miui.com.").unwrap();
            answer.add_answer(Record::from_rdata(
                question,
                300,
                RData::CNAME(CNAME(tracker.clone())),
            ));
            answer.add_answer(a(tracker, 300, CLOAKED))
        }
        "ech.example" => answer.add_answer(Record::from_rdata(
            question,
            300,
            RData::HTTPS(HTTPS(SVCB::new(1, Name::root(), https_params(true)))),
        )),
        _ => answer.add_answer(a(question, 300, OTHER)),
    };
    answer.to_vec().unwrap()
}

/// The SvcParams of `ech.example`'s HTTPS record, with or without `ech`.
fn https_params(with_ech: bool) -> Vec<(SvcParamKey, SvcParamValue)> {
    let mut params = vec![(
        SvcParamKey::Alpn,
        SvcParamValue::Alpn(Alpn(vec!["h2".into(), "h3".into()])),
    )];
    if with_ech {
        params.push((
            SvcParamKey::EchConfigList,
            SvcParamValue::EchConfigList(EchConfigList(vec![0xfe, 0x0d, 0, 3, 1, 2, 3])),
        ));
    }
    params
}

/// A resolver on one loopback port, over UDP and TCP (framed), answering
/// with [`answer_to`].
fn start_resolver() -> SocketAddr {
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        // The same port for TCP, as the relay asks one address both ways.
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
            break (udp, tcp);
        }
    };
    let address = udp.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok((len, from)) = udp.recv_from(&mut buffer) {
            if let Ok(request) = Message::from_vec(&buffer[..len]) {
                let _ = udp.send_to(&answer_to(&request), from);
            }
        }
    });
    std::thread::spawn(move || {
        for mut stream in tcp.incoming().flatten() {
            std::thread::spawn(move || loop {
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).is_err() {
                    return;
                }
                let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut body).is_err() {
                    return;
                }
                let answer = answer_to(&Message::from_vec(&body).unwrap());
                let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
                framed.extend(answer);
                if stream.write_all(&framed).is_err() {
                    return;
                }
            });
        }
    });
    address
}

fn query(name: &str, record_type: RecordType, id: u16) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    message.to_vec().unwrap()
}

// ---- the tun ----

/// The next packet the relay writes that `wanted` takes, within 5 s.
fn next_packet<T>(tun: &UnixDatagram, mut wanted: impl FnMut(&[u8]) -> Option<T>) -> T {
    let mut buffer = vec![0u8; 65_536];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(len) = tun.recv(&mut buffer) {
            if let Some(found) = wanted(&buffer[..len]) {
                return found;
            }
        }
    }
    panic!("no such packet from the relay within 5 s");
}

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

/// Reads and drops whatever the relay writes for `wait`.
fn drain(tun: &UnixDatagram, wait: Duration) {
    let mut buffer = vec![0u8; 65_536];
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let _ = tun.recv(&mut buffer);
    }
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

/// A TCP segment from the app, as its kernel would write it to the tun.
fn segment(
    app: SocketAddr,
    server: SocketAddr,
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
    payload: &[u8],
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
        max_seg_size: (control == TcpControl::Syn).then_some(1460),
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload,
    };
    let ip = Ipv4Repr {
        src_addr: *app.ip(),
        dst_addr: *server.ip(),
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let mut out = vec![0u8; 20 + tcp.buffer_len()];
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

/// One TCP connection of the app's, through the tun.
struct AppConn<'a> {
    tun: &'a UnixDatagram,
    app: SocketAddr,
    server: SocketAddr,
    seq: u32,
    ack: u32,
    received: Vec<u8>,
    reset: bool,
}

impl<'a> AppConn<'a> {
    /// Sends a SYN; returns the connection once the relay answers it, with
    /// a SYN-ACK (`Ok`, the handshake completed) or a reset (`Err`).
    fn open(tun: &'a UnixDatagram, app: SocketAddr, server: SocketAddr) -> Result<Self, ()> {
        let mut conn = Self {
            tun,
            app,
            server,
            seq: 1000,
            ack: 0,
            received: Vec::new(),
            reset: false,
        };
        tun.send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while conn.ack == 0 && !conn.reset {
            assert!(Instant::now() < deadline, "no answer to the SYN within 5 s");
            conn.take_one();
        }
        if conn.reset {
            return Err(());
        }
        conn.seq = 1001;
        conn.send_ack();
        Ok(conn)
    }

    fn send(&mut self, bytes: &[u8]) {
        let packet = segment(
            self.app,
            self.server,
            TcpControl::Psh,
            self.seq,
            Some(self.ack),
            bytes,
        );
        self.tun.send(&packet).unwrap();
        self.seq = self.seq.wrapping_add(bytes.len() as u32);
    }

    fn send_ack(&self) {
        let packet = segment(
            self.app,
            self.server,
            TcpControl::None,
            self.seq,
            Some(self.ack),
            &[],
        );
        self.tun.send(&packet).unwrap();
    }

    /// Takes the next packet from the tun (waiting up to 200 ms), if it is
    /// this connection's: data in order is kept and acknowledged.
    fn take_one(&mut self) {
        let mut buf = vec![0u8; 65_536];
        let Ok(len) = self.tun.recv(&mut buf) else {
            return;
        };
        let view = parse(&buf[..len], Checksums::Verify).expect("the relay writes valid packets");
        let Transport::Tcp(seg) = view.transport else {
            return;
        };
        if SocketAddr::new(view.ip.src, seg.src_port) != self.server
            || SocketAddr::new(view.ip.dst, seg.dst_port) != self.app
        {
            return;
        }
        if seg.flags.rst {
            self.reset = true;
            return;
        }
        if seg.flags.syn {
            self.ack = seg.seq.wrapping_add(1);
            return;
        }
        if !seg.payload.is_empty() && seg.seq == self.ack {
            self.received.extend_from_slice(seg.payload);
            self.ack = self.ack.wrapping_add(seg.payload.len() as u32);
            self.send_ack();
        }
    }

    /// Waits up to `wait` for a reset; whether one came.
    fn reset_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.reset && Instant::now() < deadline {
            self.take_one();
        }
        self.reset
    }

    /// The first framed DNS answer, within 5 s.
    fn framed_answer(&mut self) -> Message {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let [high, low, rest @ ..] = &self.received[..] {
                let len = usize::from(u16::from_be_bytes([*high, *low]));
                if rest.len() >= len {
                    return Message::from_vec(&rest[..len]).unwrap();
                }
            }
            assert!(!self.reset, "reset before the answer");
            assert!(Instant::now() < deadline, "no answer within 5 s");
            self.take_one();
        }
    }
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

// ---- the relay ----

#[derive(Default)]
struct Recorded(Mutex<Vec<Event>>);

impl EventSink for Recorded {
    fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorded {
    /// "protocol detail verdict reason host" of each event with a verdict
    /// other than allowed-unlisted, in order.
    fn decisions(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| !(e.verdict == Verdict::Allowed && e.reason.code() == "unlisted"))
            .map(|e| {
                format!(
                    "{} {} {} {} {}",
                    e.protocol,
                    e.detail,
                    e.verdict.as_str(),
                    e.reason.code(),
                    e.host
                )
            })
            .collect()
    }
}

struct Setup {
    relay: RelayConfig,
    dns: DnsConfig,
    policy: AppPolicy,
    owners: Arc<FakeOwners>,
    upstream: SocketAddr,
}

impl Setup {
    fn new() -> Self {
        Self {
            relay: RelayConfig::default(),
            dns: DnsConfig::default(),
            policy: AppPolicy::default(),
            owners: Arc::new(FakeOwners::default()),
            upstream: start_resolver(),
        }
    }

    /// `uid` owns the flow from `app` to `server`.
    fn own(&self, transport: FlowTransport, app: SocketAddr, server: SocketAddr, uid: u32) {
        self.owners.insert(
            FlowKey {
                transport,
                local: app,
                remote: server,
            },
            uid,
        );
    }
}

/// Starts the relay with the vendor list and the encrypted-DNS list, runs
/// `checks` with the app's end of the tun off the runtime, then stops it
/// and returns the counts, the events and what `checks` returned.
async fn run<T: Send + 'static>(
    setup: Setup,
    checks: impl FnOnce(&UnixDatagram) -> T + Send + 'static,
) -> (Stats, Arc<Recorded>, T) {
    let (engine_end, app_end) = UnixDatagram::pair().unwrap();
    app_end
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut builder = RuleSetBuilder::new();
    builder.add_default_list();
    builder.add_encrypted_dns_list();
    let events = Arc::new(Recorded::default());
    let firewall = DnsFirewall::new(setup.dns, Arc::new(builder.build()), events.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let owners: Arc<dyn OwnerLookup> = setup.owners;
    let policy = policy_channel(setup.policy).1;
    let relay = tokio::spawn(async move {
        run_relay(
            Arc::new(std::fs::File::from(OwnedFd::from(engine_end))),
            setup.relay,
            firewall,
            setup.upstream,
            Platform {
                protector: Arc::new(NoProtection),
                owners,
                policy,
                live_stats: None,
                lists: None,
                network_changes: None,
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
    let result = tokio::task::spawn_blocking(move || {
        let result = checks(&app_end);
        (app_end, result)
    })
    .await
    .unwrap()
    .1;
    stop.send(()).unwrap();
    (relay.await.unwrap(), events, result)
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
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
    let (stats, events, ()) = run(Setup::new(), move |tun| {
        assert!(
            AppConn::open(tun, addr("127.0.0.1:43001"), server).is_err(),
            "DoT is reset at the SYN"
        );
        assert!(
            udp_refused(tun, addr("127.0.0.1:43002"), server, Duration::from_secs(2)),
            "DoQ gets an ICMP error"
        );
        // Any address: a resolver the app carries is as refused as a known one.
        assert!(AppConn::open(tun, addr("127.0.0.1:43003"), addr("198.18.3.3:853")).is_err());
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
    let mut setup = Setup::new();
    setup.relay.allow_encrypted_dns = true;
    let (stats, events, ()) = run(setup, move |tun| {
        let tcp = AppConn::open(tun, addr("127.0.0.1:43101"), allowed_server);
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
    let mut setup = Setup::new();
    let mut exempt = ResolverExemptions::new();
    exempt.add_address(exempt_server.ip());
    setup.dns.resolver_exemptions = exempt;
    let (stats, _, ()) = run(setup, move |tun| {
        let tcp = AppConn::open(tun, addr("127.0.0.1:43103"), exempt_server);
        assert_eq!(tcp.is_ok(), privileged);
        assert!(AppConn::open(tun, addr("127.0.0.1:43104"), addr("127.0.9.54:853")).is_err());
    })
    .await;
    assert_eq!(stats.encrypted_dns_tcp, 1);
    drop((dot, exempt_dot));
}

#[tokio::test(flavor = "current_thread")]
async fn a_doh_endpoint_is_reset_on_its_sni_and_other_sites_pass() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
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
    let (stats, events, ()) = run(Setup::new(), move |tun| {
        let mut doh = AppConn::open(tun, addr("127.0.0.1:43201"), server).unwrap();
        doh.send(&client_hello("dns.google"));
        assert!(
            doh.reset_within(Duration::from_secs(3)),
            "dns.google is reset"
        );
        let mut site = AppConn::open(tun, addr("127.0.0.1:43202"), server).unwrap();
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

    let mut setup = Setup::new();
    setup.policy.set_resolved_only_default(true);
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
    for (transport, app, server, uid) in flows {
        setup.own(transport, addr(app), server, uid);
    }
    let (stats, events, ()) = run(setup, move |tun| {
        let answer = ask_udp(tun, addr("127.0.0.1:43301"), "shop.example", RecordType::A);
        assert_eq!(answer.answers.len(), 1);
        assert!(
            AppConn::open(tun, addr("127.0.0.1:43302"), shop).is_ok(),
            "the address the app resolved"
        );
        assert!(
            AppConn::open(tun, addr("127.0.0.1:43303"), unresolved).is_err(),
            "an address it did not"
        );
        assert!(
            AppConn::open(tun, addr("127.0.0.1:43304"), shop).is_err(),
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
        assert!(AppConn::open(tun, addr("127.0.0.1:43309"), short).is_ok());
        std::thread::sleep(Duration::from_millis(1300));
        assert!(
            AppConn::open(tun, addr("127.0.0.1:43310"), short).is_err(),
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
    let mut setup = Setup::new();
    setup.policy.set_resolved_only(APP_UID, true);
    let dns: SocketAddr = VIRTUAL_DNS.parse().unwrap();
    setup.own(FlowTransport::Udp, addr("127.0.0.1:43401"), dns, APP_UID);
    setup.own(FlowTransport::Tcp, addr("127.0.0.1:43402"), dns, APP_UID);
    setup.own(FlowTransport::Tcp, addr("127.0.0.1:43403"), target, APP_UID);
    let (stats, events, ()) = run(setup, move |tun| {
        let answer = ask_udp(
            tun,
            addr("127.0.0.1:43401"),
            "cloaked.example",
            RecordType::A,
        );
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.answers.is_empty(), "no address of the tracker's");
        let mut conn = AppConn::open(tun, addr("127.0.0.1:43402"), dns).unwrap();
        let message = query("cloaked.example", RecordType::A, 0x5151);
        let mut framed = (message.len() as u16).to_be_bytes().to_vec();
        framed.extend(message);
        conn.send(&framed);
        let answer = conn.framed_answer();
        assert_eq!(answer.metadata.id, 0x5151);
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.answers.is_empty());
        // Its address was not learnt: for an app set to "resolved only" it
        // is no address Hush resolved.
        assert!(AppConn::open(tun, addr("127.0.0.1:43403"), target).is_err());
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
    let (stats, _, params) = run(Setup::new(), move |tun| ask(tun, 43501)).await;
    assert_eq!(params, https_params(false), "ech gone, alpn kept");
    assert_eq!(stats.ech_stripped, 1);

    let mut setup = Setup::new();
    setup.dns.strip_ech = false;
    let (stats, _, params) = run(setup, move |tun| ask(tun, 43502)).await;
    assert_eq!(params, https_params(true));
    assert_eq!(stats.ech_stripped, 0);
}
