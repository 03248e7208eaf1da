//! DNS over TCP through the relay, on a fake tun (a datagram socket pair, as
//! in tests/relay.rs) with a real TCP resolver on loopback answering framed
//! DNS. The "app" here is a few lines of TCP written by hand: it connects to
//! whatever address it likes on port 53, and every answer it gets must come
//! from Hush or from the configured resolver.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hush_engine::owner::{FakeOwners, FlowKey, NoOwners, OwnerLookup, Transport as FlowTransport};
use hush_engine::{
    policy_channel, run_relay, AppMode, AppPolicy, DnsConfig, DnsFirewall, DomainAction, Event,
    EventSink, Network, NoProtection, Platform, PolicyReceiver, RelayConfig, Stats, Verdict,
};
use hush_packet::{parse, Checksums, Transport};
use hush_rules::{ListKind, RuleSetBuilder};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

/// Hush's virtual resolver address, as the Android VPN hands it to apps.
const VIRTUAL_DNS: &str = "10.111.222.1:53";
const TRACKER: &str = "tracking.miui.com";
/// What the test resolver answers for every name but [`LEARNT`].
const ANSWER: &str = "198.18.7.7";
/// A name the resolver maps to a loopback address, to see it learnt.
const LEARNT: &str = "shop.example";
const LEARNT_ADDRESS: &str = "127.0.0.77";

// ---- the resolver ----

/// A TCP resolver on loopback: answers each framed query with one A record,
/// and remembers every question it was asked. A query for a name starting
/// with "first." is held until the next one is answered, so answers leave
/// out of order.
struct Resolver {
    address: SocketAddr,
    /// The (ID, name) of every query, in arrival order.
    asked: Arc<Mutex<Vec<(u16, String)>>>,
    connections: Arc<Mutex<usize>>,
}

impl Resolver {
    fn start() -> Self {
        Self::start_with(Behaviour::Answers)
    }

    fn start_with(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (seen, count) = (Arc::clone(&asked), Arc::clone(&connections));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *count.lock().unwrap() += 1;
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(stream, seen, behaviour));
            }
        });
        Self {
            address,
            asked,
            connections,
        }
    }

    fn names(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .map(|(_, n)| n.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Answers,
    /// Reads queries and never answers.
    Silent,
    /// Answers one query, then closes the connection, as a server may
    /// close an idle one (RFC 7766 §6.2.3).
    ClosesAfterOne,
}

fn serve(mut stream: TcpStream, asked: Arc<Mutex<Vec<(u16, String)>>>, behaviour: Behaviour) {
    let mut held = None;
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut body).is_err() {
            return;
        }
        let request = Message::from_vec(&body).expect("the resolver gets DNS only");
        let name = request.queries[0].name().to_ascii();
        asked
            .lock()
            .unwrap()
            .push((request.metadata.id, name.trim_end_matches('.').to_string()));
        if behaviour == Behaviour::Silent {
            continue;
        }
        if name.starts_with("first.") && held.is_none() {
            held = Some(request);
            continue;
        }
        if name.starts_with("wrong.") {
            // An answer for another question on the query's ID.
            let mut spoof = request.clone();
            spoof.queries[0].set_name(Name::from_str("evil.example.").unwrap());
            let _ = stream.write_all(&framed(&answer_to(&spoof)));
            continue;
        }
        let mut out = framed(&answer_to(&request));
        if let Some(first) = held.take() {
            out.extend(framed(&answer_to(&first)));
        }
        if stream.write_all(&out).is_err() || behaviour == Behaviour::ClosesAfterOne {
            return;
        }
    }
}

fn answer_to(request: &Message) -> Vec<u8> {
    let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
    answer.add_queries(request.queries.iter().cloned());
    let name = request.queries[0].name().clone();
    let address = if name.to_ascii().trim_end_matches('.') == LEARNT {
        LEARNT_ADDRESS
    } else {
        ANSWER
    };
    answer.add_answer(Record::from_rdata(
        name,
        300,
        RData::A(A(address.parse().unwrap())),
    ));
    answer.to_vec().unwrap()
}

// ---- DNS messages ----

fn query(name: &str, id: u16) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    message.to_vec().unwrap()
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut bytes = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

/// What the app reads from an answer: its ID, question, rcode and addresses.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    id: u16,
    name: String,
    rcode: ResponseCode,
    addresses: Vec<String>,
}

fn read_answer(bytes: &[u8]) -> Answer {
    let message = Message::from_vec(bytes).expect("a DNS message");
    Answer {
        id: message.metadata.id,
        name: message.queries[0]
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_string(),
        rcode: message.metadata.response_code,
        addresses: message
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0.to_string()),
                _ => None,
            })
            .collect(),
    }
}

// ---- the app's TCP ----

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
    /// The next sequence number the app sends.
    seq: u32,
    /// The next sequence number the app expects.
    ack: u32,
    received: Vec<u8>,
    reset: bool,
    fin: bool,
}

impl<'a> AppConn<'a> {
    /// Connects; panics unless the relay answers the SYN with a SYN-ACK.
    fn open(tun: &'a UnixDatagram, app: SocketAddr, server: SocketAddr) -> Self {
        let mut conn = Self {
            tun,
            app,
            server,
            seq: 1000,
            ack: 0,
            received: Vec::new(),
            reset: false,
            fin: false,
        };
        tun.send(&segment(app, server, TcpControl::Syn, 1000, None, &[]))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while conn.ack == 0 {
            assert!(Instant::now() < deadline, "no SYN-ACK within 5 s");
            conn.take_one();
            assert!(!conn.reset, "the SYN to {server} was reset");
        }
        conn.seq = 1001;
        conn.send_ack();
        conn
    }

    fn send(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(1000) {
            self.tun
                .send(&segment(
                    self.app,
                    self.server,
                    TcpControl::Psh,
                    self.seq,
                    Some(self.ack),
                    chunk,
                ))
                .unwrap();
            self.seq = self.seq.wrapping_add(chunk.len() as u32);
        }
    }

    fn send_fin(&mut self) {
        self.tun
            .send(&segment(
                self.app,
                self.server,
                TcpControl::Fin,
                self.seq,
                Some(self.ack),
                &[],
            ))
            .unwrap();
        self.seq = self.seq.wrapping_add(1);
    }

    fn send_ack(&self) {
        self.tun
            .send(&segment(
                self.app,
                self.server,
                TcpControl::None,
                self.seq,
                Some(self.ack),
                &[],
            ))
            .unwrap();
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
        let mut advanced = false;
        if !seg.payload.is_empty() && seg.seq == self.ack {
            self.received.extend_from_slice(seg.payload);
            self.ack = self.ack.wrapping_add(seg.payload.len() as u32);
            advanced = true;
        }
        if seg.flags.fin && seg.seq.wrapping_add(seg.payload.len() as u32) == self.ack {
            self.ack = self.ack.wrapping_add(1);
            self.fin = true;
            advanced = true;
        }
        if advanced || !seg.payload.is_empty() {
            self.send_ack();
        }
    }

    /// Reads `count` framed answers; panics if they do not all come within 5 s.
    fn answers(&mut self, count: usize) -> Vec<Answer> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let messages = split_frames(&self.received);
            if messages.len() >= count {
                assert_eq!(messages.len(), count, "more answers than queries");
                self.received.clear();
                return messages.iter().map(|m| read_answer(m)).collect();
            }
            assert!(!self.reset, "reset after {} answers", messages.len());
            assert!(
                Instant::now() < deadline,
                "{} of {count} answers within 5 s",
                messages.len()
            );
            self.take_one();
        }
    }

    /// Waits (up to 5 s) for the relay to reset or finish the connection.
    fn wait_end(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.reset && !self.fin {
            assert!(
                Instant::now() < deadline,
                "the connection did not end in 5 s"
            );
            self.take_one();
        }
    }
}

fn split_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    while let [high, low, rest @ ..] = bytes {
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        if rest.len() < len {
            break;
        }
        messages.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    messages
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
    /// (protocol, host, detail, verdict, reason, address) of each event.
    fn seen(&self) -> Vec<(String, String, String, Verdict, String, SocketAddr)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e.protocol.to_string(),
                    e.host.clone(),
                    e.detail.clone(),
                    e.verdict,
                    e.reason.code(),
                    SocketAddr::new(e.address, e.port),
                )
            })
            .collect()
    }
}

struct Setup {
    upstream: SocketAddr,
    owners: Arc<dyn OwnerLookup>,
    policy: PolicyReceiver,
    dns: DnsConfig,
}

impl Setup {
    fn new(upstream: SocketAddr) -> Self {
        Self {
            upstream,
            owners: Arc::new(NoOwners),
            policy: policy_channel(AppPolicy::default()).1,
            dns: DnsConfig::default(),
        }
    }
}

type Running = (
    UnixDatagram,
    Arc<Recorded>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Stats>,
);

/// Starts the relay on one end of a socket pair, with one list blocking
/// [`TRACKER`] and its subdomains.
fn start_relay(setup: Setup) -> Running {
    let (engine_end, app_end) = UnixDatagram::pair().unwrap();
    app_end
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut builder = RuleSetBuilder::new();
    builder.add_list(
        "trackers",
        ListKind::Block,
        format!("{TRACKER}\n").as_bytes(),
    );
    let events = Arc::new(Recorded::default());
    let firewall = DnsFirewall::new(setup.dns, Arc::new(builder.build()), events.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        run_relay(
            Arc::new(std::fs::File::from(OwnedFd::from(engine_end))),
            RelayConfig::default(),
            firewall,
            setup.upstream,
            Platform {
                protector: Arc::new(NoProtection),
                owners: setup.owners,
                policy: setup.policy,
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
    (app_end, events, stop, relay)
}

/// Runs `checks` with the app's end of the tun off the runtime, then stops
/// the relay and returns its counts and what `checks` returned.
async fn run<T: Send + 'static>(
    running: Running,
    checks: impl FnOnce(&UnixDatagram) -> T + Send + 'static,
) -> (Stats, Arc<Recorded>, T) {
    let (app_end, events, stop, relay) = running;
    let outcome = tokio::task::spawn_blocking(move || checks(&app_end)).await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    (stats, events, outcome.unwrap())
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

// ---- the tests ----

#[tokio::test(flavor = "current_thread")]
async fn a_blocked_name_is_answered_by_hush_and_an_allowed_one_by_the_resolver() {
    let resolver = Resolver::start();
    let app = addr("10.0.0.2:40001");
    let (stats, events, ()) = run(start_relay(Setup::new(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, app, addr(VIRTUAL_DNS));
        conn.send(&framed(&query(&format!("a.{TRACKER}"), 0x1111)));
        let blocked = conn.answers(1);
        assert_eq!(
            blocked,
            [Answer {
                id: 0x1111,
                name: format!("a.{TRACKER}"),
                rcode: ResponseCode::NXDomain,
                addresses: vec![],
            }]
        );
        conn.send(&framed(&query("f-droid.org", 0x2222)));
        let allowed = conn.answers(1);
        assert_eq!(
            allowed,
            [Answer {
                id: 0x2222,
                name: "f-droid.org".into(),
                rcode: ResponseCode::NoError,
                addresses: vec![ANSWER.into()],
            }]
        );
        // The app closes; Hush closes in turn, every answer given.
        conn.send_fin();
        conn.wait_end();
        assert!(conn.fin && !conn.reset, "a clean close, not a reset");
        // Time for the relay to take the last ACK and let the flow go.
        std::thread::sleep(Duration::from_millis(200));
    })
    .await;
    assert_eq!(
        resolver.names(),
        ["f-droid.org"],
        "the resolver saw the allowed query only"
    );
    let dns = addr(VIRTUAL_DNS);
    assert_eq!(
        events.seen(),
        [
            (
                "dns".into(),
                format!("a.{TRACKER}"),
                "A/tcp".into(),
                Verdict::Blocked,
                "list:trackers".into(),
                dns
            ),
            (
                "dns".into(),
                "f-droid.org".into(),
                "A/tcp".into(),
                Verdict::Allowed,
                "unlisted".into(),
                dns
            ),
        ]
    );
    assert_eq!(
        (
            stats.dns_tcp_connections,
            stats.dns_tcp_queries,
            stats.dns_tcp_blocked,
            stats.dns_tcp_forwarded
        ),
        (1, 2, 1, 1),
        "{stats}"
    );
    assert_eq!(
        (
            stats.queries,
            stats.blocked,
            stats.forwarded,
            stats.answered
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(stats.tcp_flows, 0, "not counted as a relayed connection");
    assert_eq!(stats.tcp_open, 0, "the flow ended: {stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_query_to_any_address_goes_to_the_configured_resolver_only() {
    let resolver = Resolver::start();
    // Where the app sends it. Listened on, where this test may (port 53
    // needs root), to see that nothing reaches it.
    let elsewhere = addr("127.0.0.2:53");
    let decoy = TcpListener::bind(elsewhere).ok();
    let app = addr("127.0.0.1:40002");
    let (stats, events, ()) = run(start_relay(Setup::new(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, app, elsewhere);
        conn.send(&framed(&query("example.org", 9)));
        let answer = conn.answers(1);
        assert_eq!(
            answer[0].addresses,
            [ANSWER],
            "the configured resolver's answer"
        );
        assert_eq!(answer[0].id, 9);
    })
    .await;
    assert_eq!(resolver.names(), ["example.org"]);
    assert_eq!(*resolver.connections.lock().unwrap(), 1);
    if let Some(decoy) = decoy {
        decoy.set_nonblocking(true).unwrap();
        assert!(
            decoy.accept().is_err(),
            "the app's chosen address was reached"
        );
    }
    // The events name the address the app asked.
    assert_eq!(events.seen()[0].5, elsewhere);
    assert_eq!(stats.dns_tcp_forwarded, 1, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn pipelined_queries_are_all_answered_even_out_of_order() {
    let resolver = Resolver::start();
    let app = addr("10.0.0.2:40003");
    let (_, _, answers) = run(start_relay(Setup::new(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, app, addr(VIRTUAL_DNS));
        // Three queries in one segment; the resolver answers the second
        // before the first, and the tracker is Hush's to answer. The app
        // gives the first two one ID: Hush must not mix up their answers.
        let mut bytes = framed(&query("first.example", 7));
        bytes.extend(framed(&query("second.example", 7)));
        bytes.extend(framed(&query(TRACKER, 3)));
        conn.send(&bytes);
        conn.answers(3)
    })
    .await;
    let by_name: HashMap<String, (u16, ResponseCode, Vec<String>)> = answers
        .into_iter()
        .map(|a| (a.name, (a.id, a.rcode, a.addresses)))
        .collect();
    assert_eq!(
        by_name,
        HashMap::from([
            (
                "first.example".into(),
                (7, ResponseCode::NoError, vec![ANSWER.into()])
            ),
            (
                "second.example".into(),
                (7, ResponseCode::NoError, vec![ANSWER.into()])
            ),
            (TRACKER.into(), (3, ResponseCode::NXDomain, vec![])),
        ])
    );
    let asked = resolver.asked.lock().unwrap().clone();
    let names: Vec<&str> = asked.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["first.example", "second.example"]);
    assert_ne!(asked[0].0, asked[1].0, "each query has its own ID upstream");
}

#[tokio::test(flavor = "current_thread")]
async fn a_frame_that_is_no_dns_query_resets_the_connection() {
    let resolver = Resolver::start();
    let (stats, events, ()) = run(start_relay(Setup::new(resolver.address)), move |tun| {
        // A length shorter than any DNS header.
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40004"), addr(VIRTUAL_DNS));
        conn.send(b"\x00\x05hello");
        conn.wait_end();
        assert!(conn.reset, "a short frame is reset");
        // A frame of the right length that does not decode.
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40005"), addr(VIRTUAL_DNS));
        conn.send(&framed(&[0xff; 40]));
        conn.wait_end();
        assert!(conn.reset, "an undecodable message is reset");
        // A stream the app ends inside a message.
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40006"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query("example.org", 1))[..10]);
        conn.send_fin();
        conn.wait_end();
        assert!(conn.reset, "a truncated query is reset");
    })
    .await;
    assert!(resolver.names().is_empty(), "the resolver heard nothing");
    assert!(events.seen().is_empty());
    assert_eq!(stats.dns_tcp_malformed, 3, "{stats}");
    assert_eq!(stats.dns_tcp_queries, 0, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn queries_are_judged_by_the_rules_of_the_app_that_sent_them() {
    let resolver = Resolver::start();
    let (trusting, other) = (addr("10.0.0.2:40007"), addr("10.0.0.2:40008"));
    let owners = Arc::new(FakeOwners::default());
    for (app, uid) in [(trusting, 10_001), (other, 10_002)] {
        let flow = FlowKey {
            transport: FlowTransport::Tcp,
            local: app,
            remote: addr(VIRTUAL_DNS),
        };
        owners.insert(flow, uid);
    }
    let mut policy = AppPolicy::default();
    policy.set_mode(10_001, Network::Any, AppMode::AllowAll);
    let setup = Setup {
        owners: owners.clone(),
        policy: policy_channel(policy).1,
        ..Setup::new(resolver.address)
    };
    let (_, events, ()) = run(start_relay(setup), move |tun| {
        for app in [trusting, other] {
            let mut conn = AppConn::open(tun, app, addr(VIRTUAL_DNS));
            conn.send(&framed(&query(TRACKER, 5)));
            conn.answers(1);
        }
    })
    .await;
    assert_eq!(
        resolver.names(),
        [TRACKER],
        "only the allow-all app's query left"
    );
    let seen: Vec<_> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.uid, e.verdict, e.reason.code()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(10_001), Verdict::Allowed, "app:allow-all".into()),
            (Some(10_002), Verdict::Blocked, "list:trackers".into()),
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn addresses_in_answers_over_tcp_name_later_flows() {
    let resolver = Resolver::start();
    let (rules, policy) = policy_channel(AppPolicy::default());
    let setup = Setup {
        policy,
        ..Setup::new(resolver.address)
    };
    let (stats, events, _rules) = run(start_relay(setup), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40009"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query(LEARNT, 1)));
        assert_eq!(conn.answers(1)[0].addresses, [LEARNT_ADDRESS]);
        // The user blocks the name; a connection to the address the
        // answer gave is now refused at its SYN, by that name.
        let mut blocking = AppPolicy::default();
        blocking.add_domain_rule(None, LEARNT, DomainAction::Block);
        rules.send(Arc::new(blocking)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let app = addr("10.0.0.2:40010");
        let server = SocketAddr::new(LEARNT_ADDRESS.parse().unwrap(), 443);
        tun.send(&segment(app, server, TcpControl::Syn, 1, None, &[]))
            .unwrap();
        let mut probe = AppConn {
            tun,
            app,
            server,
            seq: 2,
            ack: 0,
            received: Vec::new(),
            reset: false,
            fin: false,
        };
        probe.wait_end();
        assert!(probe.reset);
        rules
    })
    .await;
    assert_eq!(stats.tcp_blocked, 1, "blocked at the SYN: {stats}");
    let last = events.seen().pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.2.as_str(), last.3),
        ("tcp", LEARNT, "dns-name", Verdict::Blocked)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_resolver_that_cannot_be_reached_or_is_silent_gives_servfail() {
    // Nothing listens here: the connect is refused.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (stats, events, ()) = run(start_relay(Setup::new(closed)), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40011"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query("example.org", 77)));
        let answer = conn.answers(1);
        assert_eq!(
            (answer[0].id, answer[0].rcode),
            (77, ResponseCode::ServFail)
        );
        // A blocked name is still answered as blocked.
        conn.send(&framed(&query(TRACKER, 78)));
        assert_eq!(conn.answers(1)[0].rcode, ResponseCode::NXDomain);
    })
    .await;
    assert_eq!(stats.dns_tcp_servfail, 1, "{stats}");
    let reasons: Vec<_> = events.seen().into_iter().map(|e| (e.3, e.4)).collect();
    assert_eq!(
        reasons,
        [
            (Verdict::Allowed, "unlisted".into()),
            (Verdict::Failed, "unreachable".into()),
            (Verdict::Blocked, "list:trackers".into()),
        ]
    );

    let silent = Resolver::start_with(Behaviour::Silent);
    let timeout = Duration::from_millis(300);
    let setup = Setup {
        dns: DnsConfig {
            query_timeout: timeout,
            ..DnsConfig::default()
        },
        ..Setup::new(silent.address)
    };
    let (stats, events, waited) = run(start_relay(setup), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40012"), addr(VIRTUAL_DNS));
        let started = Instant::now();
        conn.send(&framed(&query("example.org", 5)));
        assert_eq!(conn.answers(1)[0].rcode, ResponseCode::ServFail);
        started.elapsed()
    })
    .await;
    assert!(waited >= timeout, "SERVFAIL before the timeout: {waited:?}");
    assert!(
        waited < timeout * 5,
        "SERVFAIL long after the timeout: {waited:?}"
    );
    assert_eq!(silent.names(), ["example.org"]);
    assert_eq!(
        (stats.dns_tcp_servfail, stats.servfail_timeouts),
        (1, 1),
        "{stats}"
    );
    assert_eq!(events.seen().last().unwrap().4, "timeout");
}

#[tokio::test(flavor = "current_thread")]
async fn an_answer_to_another_question_is_not_taken() {
    let resolver = Resolver::start();
    let setup = Setup {
        dns: DnsConfig {
            query_timeout: Duration::from_millis(300),
            ..DnsConfig::default()
        },
        ..Setup::new(resolver.address)
    };
    let (stats, _, ()) = run(start_relay(setup), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40013"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query("wrong.example", 4)));
        let answer = conn.answers(1);
        assert_eq!(
            (answer[0].name.as_str(), answer[0].rcode),
            ("wrong.example", ResponseCode::ServFail),
            "the query waited for its own answer, and timed out"
        );
    })
    .await;
    assert_eq!(resolver.names(), ["wrong.example"]);
    assert_eq!(stats.dropped_stray_answers, 1, "{stats}");
    assert_eq!(stats.servfail_timeouts, 1, "{stats}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_resolver_that_closes_its_side_is_connected_to_again() {
    let resolver = Resolver::start_with(Behaviour::ClosesAfterOne);
    let (stats, _, ()) = run(start_relay(Setup::new(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40014"), addr(VIRTUAL_DNS));
        for (id, name) in [(1, "one.example"), (2, "two.example")] {
            conn.send(&framed(&query(name, id)));
            let answer = conn.answers(1);
            assert_eq!((answer[0].id, answer[0].rcode), (id, ResponseCode::NoError));
            // Time for the resolver's close to reach Hush.
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!conn.reset && !conn.fin, "the app's connection stays up");
    })
    .await;
    assert_eq!(resolver.names(), ["one.example", "two.example"]);
    assert_eq!(*resolver.connections.lock().unwrap(), 2);
    assert_eq!(stats.dns_tcp_servfail, 0, "{stats}");
}
