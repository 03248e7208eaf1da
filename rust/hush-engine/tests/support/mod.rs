//! What the integration tests share: a fake tun (a datagram socket pair:
//! one packet per read and write, as a tun), the relay started on it, the
//! app's TCP written by hand, a resolver on loopback and DNS messages.

// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::svcb::{Alpn, EchConfigList, SvcParamKey, SvcParamValue};
use hickory_proto::rr::rdata::{A, CNAME, HTTPS, SVCB};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hush_engine::owner::{FakeOwners, FlowKey, NoOwners, OwnerLookup, Transport as FlowTransport};
use hush_engine::{
    policy_channel, run_relay, AppPolicy, DnsConfig, DnsFirewall, Event, EventSink, NoProtection,
    Platform, PolicyReceiver, RelayConfig, Stats, Verdict,
};
use hush_packet::{parse, Checksums, PacketView, Transport};
use hush_rules::RuleSetBuilder;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};

/// Hush's virtual resolver address, as the Android VPN hands it to apps.
pub const VIRTUAL_DNS: &str = "10.111.222.1:53";
/// A tracker on the vendor list.
pub const TRACKER: &str = "tracking.miui.com";
/// What the test resolver answers for names it has no rule for.
pub const ANSWER: &str = "198.18.7.7";
/// `shop.example`'s address, TTL 300.
pub const SHOP: &str = "127.0.0.77";
/// `short.example`'s address, TTL 1.
pub const SHORT: &str = "127.0.0.79";
/// The address behind `cloaked.example`, an alias of a listed tracker.
pub const CLOAKED: &str = "127.0.0.80";

pub fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// A TCP server on a loopback port of its own, and its address.
pub fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    (listener, address)
}

// ---- the resolver ----

/// A resolver on one loopback port, over UDP and TCP (framed), answering
/// with [`answer_to`], and remembering every question it was asked. Over
/// TCP, a query for a name starting with "first." is held until the next
/// one is answered, so answers leave out of order, and one for a name
/// starting with "wrong." is answered for another question.
pub struct Resolver {
    pub address: SocketAddr,
    /// The (ID, name) of every query, in arrival order.
    pub asked: Arc<Mutex<Vec<(u16, String)>>>,
    /// TCP connections taken.
    pub connections: Arc<Mutex<usize>>,
}

impl Resolver {
    pub fn start() -> Self {
        Self::start_with(Behaviour::Answers)
    }

    pub fn start_with(behaviour: Behaviour) -> Self {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            // The same port for TCP, as the relay asks one address both ways.
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
                break (udp, tcp);
            }
        };
        let address = tcp.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let seen = Arc::clone(&asked);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok((len, from)) = udp.recv_from(&mut buffer) {
                if let Ok(request) = Message::from_vec(&buffer[..len]) {
                    remember(&seen, &request);
                    if behaviour != Behaviour::Silent {
                        let _ = udp.send_to(&answer_to(&request), from);
                    }
                }
            }
        });
        let (seen, count) = (Arc::clone(&asked), Arc::clone(&connections));
        std::thread::spawn(move || {
            for stream in tcp.incoming().flatten() {
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

    pub fn names(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .map(|(_, n)| n.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Answers,
    /// Reads queries and never answers.
    Silent,
    /// Answers one query over TCP, then closes the connection, as a server
    /// may close an idle one (RFC 7766 §6.2.3).
    ClosesAfterOne,
}

fn remember(asked: &Mutex<Vec<(u16, String)>>, request: &Message) {
    let name = request.queries[0].name().to_ascii();
    asked
        .lock()
        .unwrap()
        .push((request.metadata.id, name.trim_end_matches('.').to_string()));
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
        remember(&asked, &request);
        if behaviour == Behaviour::Silent {
            continue;
        }
        let name = request.queries[0].name().to_ascii();
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

/// The answer the test resolver gives to `request`.
pub fn answer_to(request: &Message) -> Vec<u8> {
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
        _ => answer.add_answer(a(question, 300, ANSWER)),
    };
    answer.to_vec().unwrap()
}

/// The SvcParams of `ech.example`'s HTTPS record, with or without `ech`.
pub fn https_params(with_ech: bool) -> Vec<(SvcParamKey, SvcParamValue)> {
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

// ---- DNS messages ----

pub fn query(name: &str, record_type: RecordType, id: u16) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
    message.to_vec().unwrap()
}

/// `message` with its two-byte length in front, as over TCP.
pub fn framed(message: &[u8]) -> Vec<u8> {
    let mut bytes = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

/// The whole messages of a framed stream.
pub fn split_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
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

/// What the app reads from an answer: its ID, question, rcode and addresses.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub id: u16,
    pub name: String,
    pub rcode: ResponseCode,
    pub addresses: Vec<String>,
}

pub fn read_answer(bytes: &[u8]) -> Answer {
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

// ---- the tun ----

/// A fake tun: the engine's end and the app's, whose reads wait at most
/// `read_timeout`.
pub fn tun_pair(read_timeout: Duration) -> (UnixDatagram, UnixDatagram) {
    let (engine_end, app_end) = UnixDatagram::pair().unwrap();
    app_end.set_read_timeout(Some(read_timeout)).unwrap();
    (engine_end, app_end)
}

/// The next packet the relay writes that `wanted` takes, within 5 s.
pub fn next_packet<T>(tun: &UnixDatagram, mut wanted: impl FnMut(&[u8]) -> Option<T>) -> T {
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

/// Reads and drops whatever the relay writes for `wait`.
pub fn drain(tun: &UnixDatagram, wait: Duration) {
    let mut buffer = vec![0u8; 65_536];
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let _ = tun.recv(&mut buffer);
    }
}

/// What the app sees of a TCP segment from the relay.
pub struct TcpReply {
    pub seq: u32,
    pub syn: bool,
    pub ack: Option<u32>,
    pub rst: bool,
}

impl TcpReply {
    pub fn of(view: &PacketView) -> Option<Self> {
        let Transport::Tcp(seg) = view.transport else {
            return None;
        };
        Some(Self {
            seq: seg.seq,
            syn: seg.flags.syn,
            ack: seg.flags.ack.then_some(seg.ack),
            rst: seg.flags.rst,
        })
    }
}

/// Waits (bounded) for the next TCP segment the relay writes to the app.
pub fn next_tcp(tun: &UnixDatagram) -> TcpReply {
    next_packet(tun, |packet| {
        let view = parse(packet, Checksums::Verify).expect("the relay writes valid packets");
        TcpReply::of(&view)
    })
}

/// Every TCP segment the relay writes within `quiet` of the last one.
pub fn drain_tcp(tun: &UnixDatagram, quiet: Duration) -> Vec<TcpReply> {
    let mut buf = [0u8; 2048];
    let mut replies = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        let Ok(len) = tun.recv(&mut buf) else {
            continue;
        };
        last = Instant::now();
        if let Ok(view) = parse(&buf[..len], Checksums::Verify) {
            replies.extend(TcpReply::of(&view));
        }
    }
    replies
}

// ---- the app's TCP ----

/// A TCP segment from the app, as its kernel would write it to the tun.
pub fn segment(
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
pub struct AppConn<'a> {
    pub tun: &'a UnixDatagram,
    pub app: SocketAddr,
    pub server: SocketAddr,
    /// The next sequence number the app sends.
    pub seq: u32,
    /// The next sequence number the app expects.
    pub ack: u32,
    pub received: Vec<u8>,
    pub reset: bool,
    pub fin: bool,
}

impl<'a> AppConn<'a> {
    /// A connection not yet opened, its SYN to be sent with sequence number 1000.
    pub fn new(tun: &'a UnixDatagram, app: SocketAddr, server: SocketAddr) -> Self {
        Self {
            tun,
            app,
            server,
            seq: 1000,
            ack: 0,
            received: Vec::new(),
            reset: false,
            fin: false,
        }
    }

    /// Connects; panics unless the relay answers the SYN with a SYN-ACK.
    pub fn open(tun: &'a UnixDatagram, app: SocketAddr, server: SocketAddr) -> Self {
        Self::try_open(tun, app, server)
            .unwrap_or_else(|()| panic!("the SYN to {server} was reset"))
    }

    /// Sends a SYN; returns the connection once the relay answers it, with
    /// a SYN-ACK (`Ok`, the handshake completed) or a reset (`Err`).
    pub fn try_open(
        tun: &'a UnixDatagram,
        app: SocketAddr,
        server: SocketAddr,
    ) -> Result<Self, ()> {
        let mut conn = Self::new(tun, app, server);
        tun.send(&segment(app, server, TcpControl::Syn, conn.seq, None, &[]))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while conn.ack == 0 && !conn.reset {
            assert!(Instant::now() < deadline, "no answer to the SYN within 5 s");
            conn.take_one();
        }
        if conn.reset {
            return Err(());
        }
        conn.seq = conn.seq.wrapping_add(1);
        conn.send_ack();
        Ok(conn)
    }

    /// Sends `bytes`, in segments of at most 1000.
    pub fn send(&mut self, bytes: &[u8]) {
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

    pub fn send_fin(&mut self) {
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

    pub fn send_ack(&self) {
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

    /// Takes the next packet from the tun (waiting up to its read timeout),
    /// if it is this connection's: data in order is kept and acknowledged.
    pub fn take_one(&mut self) {
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
    pub fn answers(&mut self, count: usize) -> Vec<Answer> {
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

    /// The first framed DNS answer, within 5 s.
    pub fn framed_answer(&mut self) -> Message {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(first) = split_frames(&self.received).first() {
                return Message::from_vec(first).unwrap();
            }
            assert!(!self.reset, "reset before the answer");
            assert!(Instant::now() < deadline, "no answer within 5 s");
            self.take_one();
        }
    }

    /// Waits (up to 5 s) for the relay to reset or finish the connection.
    pub fn wait_end(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.reset && !self.fin {
            assert!(
                Instant::now() < deadline,
                "the connection did not end in 5 s"
            );
            self.take_one();
        }
    }

    /// Waits up to `wait` for a reset; whether one came.
    pub fn reset_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.reset && Instant::now() < deadline {
            self.take_one();
        }
        self.reset
    }
}

// ---- the relay ----

/// An activity log that keeps every event.
#[derive(Default)]
pub struct Recorded(pub Mutex<Vec<Event>>);

impl EventSink for Recorded {
    fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorded {
    /// (protocol, host, detail, verdict, reason, address) of each event.
    pub fn seen(&self) -> Vec<(String, String, String, Verdict, String, SocketAddr)> {
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

    /// "protocol detail verdict reason host" of each event with a verdict
    /// other than allowed-unlisted, in order.
    pub fn decisions(&self) -> Vec<String> {
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

/// Owners that know the uid of each (transport, app, server) flow given.
pub fn owners_of(
    flows: impl IntoIterator<Item = (FlowTransport, SocketAddr, SocketAddr, u32)>,
) -> Arc<FakeOwners> {
    let owners = Arc::new(FakeOwners::default());
    for (transport, local, remote, uid) in flows {
        owners.insert(
            FlowKey {
                transport,
                local,
                remote,
            },
            uid,
        );
    }
    owners
}

/// How the relay is started.
pub struct Setup {
    pub relay: RelayConfig,
    pub dns: DnsConfig,
    /// The lists the firewall is built with.
    pub rules: RuleSetBuilder,
    /// The resolver Hush asks.
    pub upstream: SocketAddr,
    pub owners: Arc<dyn OwnerLookup>,
    /// Keeps the relay's sockets out of the tun (nothing to keep out of here).
    pub protector: Arc<dyn hush_engine::SocketProtector>,
    pub policy: PolicyReceiver,
    pub live_stats: Option<tokio::sync::watch::Sender<Stats>>,
    pub network_changes: Option<tokio::sync::watch::Receiver<u64>>,
    pub upstream_changes: Option<tokio::sync::watch::Receiver<Option<SocketAddr>>>,
    pub resolver_exemptions: Option<tokio::sync::watch::Receiver<hush_engine::ResolverExemptions>>,
    /// New tuns handed over while the relay runs.
    pub tuns: Option<tokio::sync::watch::Receiver<Arc<std::fs::File>>>,
}

impl Setup {
    /// The defaults, the vendor list, no owners and no per-app rules.
    pub fn new(upstream: SocketAddr) -> Self {
        let mut rules = RuleSetBuilder::new();
        rules.add_default_list();
        Self {
            relay: RelayConfig::default(),
            dns: DnsConfig::default(),
            rules,
            upstream,
            owners: Arc::new(NoOwners),
            protector: Arc::new(NoProtection),
            policy: policy_channel(AppPolicy::default()).1,
            live_stats: None,
            network_changes: None,
            upstream_changes: None,
            resolver_exemptions: None,
            tuns: None,
        }
    }
}

/// The app's end of the tun, the activity log, what stops the relay and
/// the relay, which yields its counts.
pub type Running = (
    UnixDatagram,
    Arc<Recorded>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Stats>,
);

/// Starts the relay on one end of a socket pair.
pub fn start_relay(setup: Setup) -> Running {
    let (engine_end, app_end) = tun_pair(Duration::from_millis(200));
    let events = Arc::new(Recorded::default());
    let firewall = DnsFirewall::new(setup.dns, Arc::new(setup.rules.build()), events.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        run_relay(
            Arc::new(std::fs::File::from(OwnedFd::from(engine_end))),
            setup.relay,
            firewall,
            setup.upstream,
            Platform {
                protector: setup.protector,
                owners: setup.owners,
                policy: setup.policy,
                live_stats: setup.live_stats,
                lists: None,
                network_changes: setup.network_changes,
                upstream_changes: setup.upstream_changes,
                resolver_exemptions: setup.resolver_exemptions,
                tuns: setup.tuns,
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
/// the relay and returns its counts, the events and what `checks` returned.
pub async fn run<T: Send + 'static>(
    running: Running,
    checks: impl FnOnce(&UnixDatagram) -> T + Send + 'static,
) -> (Stats, Arc<Recorded>, T) {
    let (app_end, events, stop, relay) = running;
    let outcome = tokio::task::spawn_blocking(move || checks(&app_end)).await;
    stop.send(()).unwrap();
    let stats = relay.await.unwrap();
    (stats, events, outcome.unwrap())
}
