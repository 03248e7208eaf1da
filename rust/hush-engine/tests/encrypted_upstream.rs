//! The encrypted upstream against resolvers that behave badly: the relay on
//! a fake tun (as in tests/relay.rs) asks an in-process DNS-over-TLS or
//! DNS-over-HTTPS server on loopback, under a CA made with the `openssl`
//! command for the test. The server answers HTTP 500, a body that is not
//! DNS, the wrong content type, garbage, nothing at all, or shows a
//! certificate for another name; or nothing listens. Each time the app's
//! query must come back as SERVFAIL with its ID and question, within the
//! query timeout, counted under its reason; nothing may be sent in clear
//! text (plain listeners on the server's address see nothing); and once
//! the server behaves, the next query is answered on a new connection.
//!
//! Each test has a loopback address of its own (127.0.53.x), so the plain
//! listeners see only its traffic. Port 53 needs root; without it, only
//! the clear-text listener on the server's own port is checked.

mod support;

use std::net::{IpAddr, SocketAddr, TcpListener as StdTcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use hush_engine::{
    policy_channel, run_relay, AppPolicy, DnsConfig, DnsFirewall, NoProtection, Platform,
    RelayConfig, Stats, Upstream,
};
use hush_packet::{parse, Checksums, Transport};
use hush_rules::RuleSetBuilder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use support::{answer_to, framed, query, run, tun_pair, Recorded, Running, ANSWER, VIRTUAL_DNS};

/// The resolver's name, in its certificate and in the upstream URL.
const NAME: &str = "dns.lab.test";
/// The firewall's query timeout here; the client gives up at 80 % of it.
const QUERY_TIMEOUT: Duration = Duration::from_millis(1000);
/// Longer than the client's pause after a failed connection (500 ms),
/// during which queries fail at once without trying.
const PAST_BACKOFF: Duration = Duration::from_millis(700);

/// How long the DoH server takes over a name starting with "slow.".
const SLOW: Duration = Duration::from_millis(300);

// ---- certificates ----

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "hush-encrypted-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, command: &str) {
    let args: Vec<&str> = command.split_whitespace().collect();
    let output = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (apt-get install openssl)");
    assert!(
        output.status.success(),
        "openssl {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

/// The lab CA (PEM) and, signed by it, certificates for [`NAME`] and for
/// another name, each with its key.
struct Certificates {
    ca_pem: Vec<u8>,
    right: (Vec<CertificateDer<'static>>, Vec<u8>),
    other_name: (Vec<CertificateDer<'static>>, Vec<u8>),
}

fn certificates() -> Certificates {
    let work = TempDir::new("ca");
    let dir = &work.0;
    openssl(
        dir,
        &format!(
            "req -x509 {EC} -days 2 -subj /CN=hush-test-ca \
             -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem"
        ),
    );
    let server = |host: &str| {
        openssl(
            dir,
            &format!("req {EC} -subj /CN={host} -keyout {host}.key -out {host}.csr"),
        );
        std::fs::write(
            dir.join(format!("{host}.ext")),
            format!(
                "subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n\
                 extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n"
            ),
        )
        .unwrap();
        openssl(
            dir,
            &format!(
                "x509 -req -in {host}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
                 -extfile {host}.ext -out {host}.pem"
            ),
        );
        let chain = std::fs::read(dir.join(format!("{host}.pem"))).unwrap();
        let chain = CertificateDer::pem_slice_iter(&chain)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        (
            chain,
            std::fs::read(dir.join(format!("{host}.key"))).unwrap(),
        )
    };
    let right = server(NAME);
    let other_name = server("other.lab.test");
    Certificates {
        ca_pem: std::fs::read(dir.join("ca.pem")).unwrap(),
        right,
        other_name,
    }
}

fn acceptor((chain, key): &(Vec<CertificateDer<'static>>, Vec<u8>), alpn: &[u8]) -> TlsAcceptor {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), PrivateKeyDer::from_pem_slice(key).unwrap())
        .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

// ---- the fake resolver ----

/// How the fake resolver behaves, read at each connection and query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Mode {
    /// Answers as the test resolver of tests/support does.
    Answers,
    /// DoH: status 500 (with a DNS answer as its body).
    Http500,
    /// DoH: 200, `application/dns-message`, a body that is no DNS answer.
    NotDns,
    /// DoH: 200 with a good answer, but `text/html`.
    WrongType,
    /// Takes queries and never answers them.
    Stalls,
    /// DoT: a frame too short for a DNS message, then the close.
    ShortGarbage,
    /// DoT: bytes that announce a long frame, then the close.
    LongGarbage,
    /// The handshake shows a certificate for another name.
    OtherName,
    /// Takes the TCP connection and never says a word of TLS.
    SilentHandshake,
}

const MODES: [Mode; 9] = [
    Mode::Answers,
    Mode::Http500,
    Mode::NotDns,
    Mode::WrongType,
    Mode::Stalls,
    Mode::ShortGarbage,
    Mode::LongGarbage,
    Mode::OtherName,
    Mode::SilentHandshake,
];

#[derive(Clone)]
struct Fake {
    mode: Arc<AtomicU8>,
    /// TLS handshakes completed.
    connections: Arc<AtomicUsize>,
    /// DNS queries read after the handshake.
    queries: Arc<AtomicUsize>,
}

impl Fake {
    fn new(mode: Mode) -> Self {
        Self {
            mode: Arc::new(AtomicU8::new(mode as u8)),
            connections: Arc::default(),
            queries: Arc::default(),
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn mode(&self) -> Mode {
        MODES[usize::from(self.mode.load(Ordering::SeqCst))]
    }

    /// Serves DoT (`https` false) or DoH on `listener`, at most
    /// `max_streams` HTTP/2 streams at once.
    fn serve(
        &self,
        listener: TcpListener,
        https: bool,
        max_streams: u32,
        certificates: &Certificates,
    ) {
        let alpn: &[u8] = if https { b"h2" } else { b"dot" };
        let right = acceptor(&certificates.right, alpn);
        let other = acceptor(&certificates.other_name, alpn);
        let fake = self.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = match fake.mode() {
                    Mode::OtherName => other.clone(),
                    _ => right.clone(),
                };
                let fake = fake.clone();
                tokio::spawn(async move {
                    if fake.mode() == Mode::SilentHandshake {
                        // Held open, unread, until the client gives up.
                        let mut tcp = tcp;
                        let _ = tcp.read(&mut [0u8; 0]).await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    fake.connections.fetch_add(1, Ordering::SeqCst);
                    if https {
                        fake.serve_doh(tls, max_streams).await;
                    } else {
                        fake.serve_dot(tls).await;
                    }
                });
            }
        });
    }

    async fn serve_dot(&self, mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>) {
        loop {
            let mut length = [0u8; 2];
            if tls.read_exact(&mut length).await.is_err() {
                return;
            }
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(length))];
            if tls.read_exact(&mut body).await.is_err() {
                return;
            }
            self.queries.fetch_add(1, Ordering::SeqCst);
            let request = Message::from_vec(&body).expect("the client sends DNS");
            match self.mode() {
                Mode::Stalls => continue,
                Mode::ShortGarbage | Mode::LongGarbage => {
                    let garbage: &[u8] = if self.mode() == Mode::ShortGarbage {
                        b"\x00\x04junk"
                    } else {
                        b"garbage, and no more of it"
                    };
                    let _ = tls.write_all(garbage).await;
                    let _ = tls.shutdown().await;
                    return;
                }
                _ => {
                    if tls.write_all(&framed(&answer_to(&request))).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    async fn serve_doh(
        &self,
        tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        max_streams: u32,
    ) {
        let Ok(mut connection) = h2::server::Builder::new()
            .max_concurrent_streams(max_streams)
            .handshake::<_, Bytes>(tls)
            .await
        else {
            return;
        };
        // Stalled streams are held here, never answered nor reset.
        let held = Arc::new(Mutex::new(Vec::new()));
        while let Some(Ok((request, mut respond))) = connection.accept().await {
            let fake = self.clone();
            let held = Arc::clone(&held);
            tokio::spawn(async move {
                let mut body = request.into_body();
                let mut query = Vec::new();
                while let Some(Ok(chunk)) = body.data().await {
                    let _ = body.flow_control().release_capacity(chunk.len());
                    query.extend_from_slice(&chunk);
                }
                fake.queries.fetch_add(1, Ordering::SeqCst);
                let request = Message::from_vec(&query).expect("the client sends DNS");
                let name = request.queries[0].name().to_ascii();
                let (status, content_type, body) = match fake.mode() {
                    // Whatever the mode: one name fails, another is slow.
                    _ if name.starts_with("bad.") => {
                        (500, "application/dns-message", answer_to(&request))
                    }
                    _ if name.starts_with("slow.") => {
                        tokio::time::sleep(SLOW).await;
                        (200, "application/dns-message", answer_to(&request))
                    }
                    Mode::Stalls => {
                        held.lock().unwrap().push(respond);
                        return;
                    }
                    // A good answer in the right type: only the status is wrong.
                    Mode::Http500 => (500, "application/dns-message", answer_to(&request)),
                    Mode::NotDns => (
                        200,
                        "application/dns-message",
                        b"<html>not dns at all</html>".to_vec(),
                    ),
                    Mode::WrongType => (200, "text/html", answer_to(&request)),
                    _ => (200, "application/dns-message", answer_to(&request)),
                };
                let response = http::Response::builder()
                    .status(status)
                    .header(http::header::CONTENT_TYPE, content_type)
                    .body(())
                    .unwrap();
                if let Ok(mut send) = respond.send_response(response, false) {
                    let _ = send.send_data(Bytes::from(body), true);
                }
            });
        }
    }
}

/// Plain listeners on the resolver's address: UDP and TCP on 53 (where
/// the test may bind them) and UDP on the TLS port. None may hear a thing.
struct ClearText {
    udp: Vec<UdpSocket>,
    tcp: Option<StdTcpListener>,
}

impl ClearText {
    fn bind(ip: IpAddr, tls_port: u16) -> Self {
        let mut udp = vec![UdpSocket::bind(SocketAddr::new(ip, tls_port)).unwrap()];
        udp.extend(UdpSocket::bind(SocketAddr::new(ip, 53)).ok());
        let tcp = StdTcpListener::bind(SocketAddr::new(ip, 53)).ok();
        for socket in &udp {
            socket.set_nonblocking(true).unwrap();
        }
        if let Some(tcp) = &tcp {
            tcp.set_nonblocking(true).unwrap();
        }
        Self { udp, tcp }
    }

    fn assert_silent(&self) {
        let mut buffer = [0u8; 512];
        for socket in &self.udp {
            let heard = socket.recv_from(&mut buffer);
            assert!(
                heard.is_err(),
                "clear text on {:?}: {heard:?}",
                socket.local_addr()
            );
        }
        if let Some(tcp) = &self.tcp {
            assert!(tcp.accept().is_err(), "a TCP connection to port 53");
        }
    }
}

/// A fake resolver on `127.0.53.{host}`, its clear-text listeners, and the
/// upstream that reaches it.
async fn resolver(
    host: u8,
    https: bool,
    mode: Mode,
    max_streams: u32,
) -> (Fake, ClearText, Upstream) {
    let ip: IpAddr = format!("127.0.53.{host}").parse().unwrap();
    let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let certificates = certificates();
    let fake = Fake::new(mode);
    fake.serve(listener, https, max_streams, &certificates);
    let upstream = upstream(ip, port, https, &certificates.ca_pem);
    (fake, ClearText::bind(ip, port), upstream)
}

fn upstream(ip: IpAddr, port: u16, https: bool, ca_pem: &[u8]) -> Upstream {
    let url = if https {
        format!("https://{NAME}:{port}/dns-query")
    } else {
        format!("tls://{NAME}:{port}")
    };
    Upstream::parse(&url, &[ip], Some(ca_pem)).unwrap()
}

// ---- the relay and the app ----

/// The relay on a fake tun, its allowed queries going to `upstream`.
fn start(upstream: Upstream) -> Running {
    let (engine_end, app_end) = tun_pair(Duration::from_millis(100));
    let events = Arc::new(Recorded::default());
    let mut rules = RuleSetBuilder::new();
    rules.add_default_list();
    let dns = DnsConfig {
        query_timeout: QUERY_TIMEOUT,
        ..DnsConfig::default()
    };
    let firewall = DnsFirewall::new(dns, Arc::new(rules.build()), events.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(async move {
        run_relay(
            Arc::new(std::fs::File::from(OwnedFd::from(engine_end))),
            RelayConfig::default(),
            firewall,
            upstream,
            Platform {
                protector: Arc::new(NoProtection),
                owners: Arc::new(hush_engine::owner::NoOwners),
                policy: policy_channel(AppPolicy::default()).1,
                live_stats: None,
                lists: None,
                network_changes: None,
                upstream_changes: None,
                resolver_exemptions: None,
                tuns: None,
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

/// What the app got for one query, and how long it took.
struct Got {
    id: u16,
    name: String,
    record_type: RecordType,
    rcode: ResponseCode,
    addresses: Vec<String>,
    took: Duration,
}

/// Sends each (name, ID) over UDP from a port of its own at once; returns
/// the answers in the same order. Panics unless all come within 5 s.
fn ask_all(tun: &UnixDatagram, queries: &[(&str, u16)]) -> Vec<Got> {
    let resolver: SocketAddr = VIRTUAL_DNS.parse().unwrap();
    let app = |i: usize| SocketAddr::from(([10, 0, 0, 2], 42_000 + i as u16));
    let sent = Instant::now();
    for (i, (name, id)) in queries.iter().enumerate() {
        let packet = hush_packet::build::udp(app(i), resolver, &query(name, RecordType::A, *id));
        tun.send(&packet.unwrap()).unwrap();
    }
    let mut got: Vec<Option<Got>> = queries.iter().map(|_| None).collect();
    let deadline = sent + Duration::from_secs(5);
    let mut buffer = vec![0u8; 65_536];
    while got.iter().any(Option::is_none) {
        assert!(Instant::now() < deadline, "answers missing after 5 s");
        let Ok(len) = tun.recv(&mut buffer) else {
            continue;
        };
        let Ok(view) = parse(&buffer[..len], Checksums::Verify) else {
            continue;
        };
        let Transport::Udp(udp) = view.transport else {
            continue;
        };
        let Some(i) = (0..queries.len()).find(|&i| app(i).port() == udp.dst_port) else {
            continue;
        };
        let message = Message::from_vec(udp.payload).expect("a DNS answer");
        assert!(got[i].is_none(), "two answers to query {i}");
        got[i] = Some(Got {
            id: message.metadata.id,
            name: message.queries[0].name().to_ascii(),
            record_type: message.queries[0].query_type(),
            rcode: message.metadata.response_code,
            addresses: message
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0.to_string()),
                    _ => None,
                })
                .collect(),
            took: sent.elapsed(),
        });
    }
    got.into_iter().map(Option::unwrap).collect()
}

fn ask(tun: &UnixDatagram, name: &str, id: u16) -> Got {
    ask_all(tun, &[(name, id)]).pop().unwrap()
}

/// The app got SERVFAIL for (`name`, `id`), before the firewall's own
/// timeout would have answered it.
fn assert_servfail(got: &Got, name: &str, id: u16) {
    assert_eq!(
        (got.id, got.name.as_str(), got.record_type, got.rcode),
        (
            id,
            format!("{name}.").as_str(),
            RecordType::A,
            ResponseCode::ServFail
        ),
        "SERVFAIL for the query's own ID and question"
    );
    assert!(got.addresses.is_empty());
    assert!(
        got.took < QUERY_TIMEOUT,
        "SERVFAIL after {:?}, past the query timeout",
        got.took
    );
}

fn assert_answered(got: &Got, name: &str, id: u16) {
    assert_eq!(
        (got.id, got.name.as_str(), got.rcode, got.addresses.clone()),
        (
            id,
            format!("{name}.").as_str(),
            ResponseCode::NoError,
            vec![ANSWER.to_string()]
        ),
        "the resolver's answer"
    );
}

/// Every encrypted-upstream failure counter, by name, for one comparison.
fn failures(stats: &Stats) -> [(&'static str, u64); 10] {
    [
        ("connect", stats.upstream_connect_failed),
        ("certificate", stats.upstream_bad_certificate),
        ("handshake", stats.upstream_handshake_failed),
        ("timeout", stats.upstream_timeouts),
        ("http", stats.upstream_http_errors),
        ("bad answer", stats.upstream_bad_answers),
        ("closed", stats.upstream_closed),
        ("overload", stats.upstream_overload),
        ("no trust store", stats.upstream_no_trust_store),
        ("firewall's own timeout", stats.servfail_timeouts),
    ]
}

/// `failures` with only the named counters set.
fn only(counts: &[(&str, u64)]) -> [(&'static str, u64); 10] {
    let mut all = failures(&Stats::default());
    for (name, count) in counts {
        all.iter_mut().find(|(n, _)| n == name).unwrap().1 = *count;
    }
    all
}

// ---- the tests ----

/// The relay asking `upstream`; `checks` get the app's end of the tun.
async fn relay_with<T: Send + 'static>(
    upstream: Upstream,
    checks: impl FnOnce(&UnixDatagram) -> T + Send + 'static,
) -> (Stats, T) {
    let (stats, _, outcome) = run(start(upstream), checks).await;
    (stats, outcome)
}

#[tokio::test(flavor = "current_thread")]
async fn doh_http_500_is_servfail_and_the_next_query_goes_on_a_new_connection() {
    let (fake, clear_text, upstream) = resolver(1, true, Mode::Http500, 100).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        assert_servfail(&ask(tun, "one.example", 0x0101), "one.example", 0x0101);
        server.set(Mode::Answers);
        assert_answered(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("http", 1)]), "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 2);
    assert_eq!(fake.queries.load(Ordering::SeqCst), 2);
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn doh_200_with_a_body_that_is_no_dns_or_the_wrong_type_is_servfail() {
    let (fake, clear_text, upstream) = resolver(2, true, Mode::NotDns, 100).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        assert_servfail(&ask(tun, "one.example", 0x0101), "one.example", 0x0101);
        // A good DNS answer, labelled text/html: refused all the same.
        server.set(Mode::WrongType);
        assert_servfail(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
        server.set(Mode::Answers);
        assert_answered(&ask(tun, "three.example", 0x0303), "three.example", 0x0303);
    })
    .await;
    assert_eq!(
        failures(&stats),
        only(&[("bad answer", 1), ("http", 1)]),
        "{stats}"
    );
    assert_eq!(fake.connections.load(Ordering::SeqCst), 3);
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_doh_stream_times_out_and_a_new_connection_answers() {
    let (fake, clear_text, upstream) = resolver(3, true, Mode::Stalls, 100).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        let stalled = ask(tun, "one.example", 0x0101);
        assert_servfail(&stalled, "one.example", 0x0101);
        assert!(
            stalled.took >= QUERY_TIMEOUT.mul_f32(0.7),
            "SERVFAIL after {:?}: the client did not wait",
            stalled.took
        );
        server.set(Mode::Answers);
        assert_answered(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("timeout", 1)]), "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 2);
    clear_text.assert_silent();
}

/// A server that allows one stream at a time and stalls it: the queries
/// behind it must not wait one after another past their own timeout.
#[tokio::test(flavor = "current_thread")]
async fn queries_behind_a_stalled_doh_stream_fail_in_time_not_one_after_another() {
    let (fake, clear_text, upstream) = resolver(4, true, Mode::Answers, 1).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        // The connection open, and the client told of the one stream.
        assert_answered(&ask(tun, "zero.example", 0x0100), "zero.example", 0x0100);
        server.set(Mode::Stalls);
        let names = ["one.example", "two.example", "three.example"];
        let queries: Vec<(&str, u16)> = names.iter().map(|n| (*n, 0x0101)).collect();
        for (got, name) in ask_all(tun, &queries).iter().zip(names) {
            assert_servfail(got, name, 0x0101);
        }
        server.set(Mode::Answers);
        assert_answered(&ask(tun, "four.example", 0x0404), "four.example", 0x0404);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("timeout", 3)]), "{stats}");
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn stalled_dot_queries_time_out_and_a_new_connection_answers() {
    let (fake, clear_text, upstream) = resolver(5, false, Mode::Stalls, 0).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        let stalled = ask_all(tun, &[("one.example", 0x0101), ("two.example", 0x0202)]);
        assert_servfail(&stalled[0], "one.example", 0x0101);
        assert_servfail(&stalled[1], "two.example", 0x0202);
        server.set(Mode::Answers);
        assert_answered(&ask(tun, "three.example", 0x0303), "three.example", 0x0303);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("timeout", 2)]), "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 2);
    assert_eq!(fake.queries.load(Ordering::SeqCst), 3);
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn dot_garbage_then_a_close_is_servfail_and_the_next_query_reconnects() {
    let (fake, clear_text, upstream) = resolver(6, false, Mode::ShortGarbage, 0).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        assert_servfail(&ask(tun, "one.example", 0x0101), "one.example", 0x0101);
        // A length that promises more than ever comes.
        server.set(Mode::LongGarbage);
        assert_servfail(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
        server.set(Mode::Answers);
        assert_answered(&ask(tun, "three.example", 0x0303), "three.example", 0x0303);
    })
    .await;
    assert_eq!(
        failures(&stats),
        only(&[("bad answer", 1), ("closed", 1)]),
        "{stats}"
    );
    assert_eq!(fake.connections.load(Ordering::SeqCst), 3);
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn a_dot_server_silent_at_the_handshake_is_servfail_in_time() {
    let (fake, clear_text, upstream) = resolver(7, false, Mode::SilentHandshake, 0).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        assert_servfail(&ask(tun, "one.example", 0x0101), "one.example", 0x0101);
        server.set(Mode::Answers);
        std::thread::sleep(PAST_BACKOFF);
        assert_answered(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("connect", 1)]), "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);
    clear_text.assert_silent();
}

/// Nothing listens at first; once a server does (after the client's pause
/// between attempts), the next query is answered.
async fn refused_then_served(host: u8, https: bool) {
    let ip: IpAddr = format!("127.0.53.{host}").parse().unwrap();
    let port = StdTcpListener::bind(SocketAddr::new(ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let certificates = certificates();
    let upstream = upstream(ip, port, https, &certificates.ca_pem);
    let clear_text = ClearText::bind(ip, port);
    let fake = Fake::new(Mode::Answers);
    let server = fake.clone();
    let runtime = tokio::runtime::Handle::current();
    let (stats, ()) = relay_with(upstream, move |tun| {
        let refused = ask(tun, "one.example", 0x0101);
        assert_servfail(&refused, "one.example", 0x0101);
        assert!(refused.took < QUERY_TIMEOUT / 2, "{:?}", refused.took);
        let _entered = runtime.enter();
        let listener = StdTcpListener::bind(SocketAddr::new(ip, port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        server.serve(
            TcpListener::from_std(listener).unwrap(),
            https,
            100,
            &certificates,
        );
        std::thread::sleep(PAST_BACKOFF);
        assert_answered(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("connect", 1)]), "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_listening_for_dot_is_servfail_until_a_server_does() {
    refused_then_served(8, false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_listening_for_doh_is_servfail_until_a_server_does() {
    refused_then_served(9, true).await;
}

/// The server's certificate is signed by the trusted CA, but for another
/// name; then it shows the right one.
async fn other_name_then_right(host: u8, https: bool) {
    let (fake, clear_text, upstream) = resolver(host, https, Mode::OtherName, 100).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        assert_servfail(&ask(tun, "one.example", 0x0101), "one.example", 0x0101);
        server.set(Mode::Answers);
        std::thread::sleep(PAST_BACKOFF);
        assert_answered(&ask(tun, "two.example", 0x0202), "two.example", 0x0202);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("certificate", 1)]), "{stats}");
    // The refused handshake never completed; the query never reached it.
    assert_eq!(fake.connections.load(Ordering::SeqCst), 1);
    assert_eq!(fake.queries.load(Ordering::SeqCst), 1);
    clear_text.assert_silent();
}

#[tokio::test(flavor = "current_thread")]
async fn a_dot_certificate_for_another_name_is_servfail() {
    other_name_then_right(10, false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_doh_certificate_for_another_name_is_servfail() {
    other_name_then_right(11, true).await;
}

/// An app's own DNS over TCP goes through the encrypted client too: its
/// SERVFAIL comes back on its connection, which stays usable.
#[tokio::test(flavor = "current_thread")]
async fn an_apps_dns_over_tcp_gets_servfail_on_its_connection_then_an_answer() {
    let (fake, clear_text, upstream) = resolver(12, false, Mode::Stalls, 0).await;
    let server = fake.clone();
    let (stats, ()) = relay_with(upstream, move |tun| {
        let app = support::addr("10.0.0.2:43000");
        let mut conn = support::AppConn::open(tun, app, support::addr(VIRTUAL_DNS));
        let sent = Instant::now();
        conn.send(&framed(&query("one.example", RecordType::A, 0x0101)));
        let stalled = conn.answers(1);
        assert!(sent.elapsed() < QUERY_TIMEOUT, "{:?}", sent.elapsed());
        assert_eq!(
            (stalled[0].id, stalled[0].name.as_str(), stalled[0].rcode),
            (0x0101, "one.example", ResponseCode::ServFail)
        );
        server.set(Mode::Answers);
        conn.send(&framed(&query("two.example", RecordType::A, 0x0202)));
        let answered = conn.answers(1);
        assert_eq!(
            (answered[0].id, answered[0].addresses.clone()),
            (0x0202, vec![ANSWER.to_string()])
        );
    })
    .await;
    assert_eq!(failures(&stats), only(&[("timeout", 1)]), "{stats}");
    assert_eq!(stats.dns_tcp_encrypted, 2, "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 2);
    clear_text.assert_silent();
}

/// One query's HTTP error is that query's: another in flight on the same
/// connection is still answered, and later ones go on a new connection.
#[tokio::test(flavor = "current_thread")]
async fn a_doh_error_fails_its_own_query_not_the_others_in_flight() {
    let (fake, clear_text, upstream) = resolver(13, true, Mode::Answers, 100).await;
    let (stats, ()) = relay_with(upstream, move |tun| {
        assert_answered(&ask(tun, "zero.example", 0x0100), "zero.example", 0x0100);
        let got = ask_all(tun, &[("slow.example", 0x0101), ("bad.example", 0x0202)]);
        assert_servfail(&got[1], "bad.example", 0x0202);
        assert_answered(&got[0], "slow.example", 0x0101);
        assert!(got[0].took >= SLOW, "{:?}", got[0].took);
        assert_answered(&ask(tun, "three.example", 0x0303), "three.example", 0x0303);
    })
    .await;
    assert_eq!(failures(&stats), only(&[("http", 1)]), "{stats}");
    assert_eq!(fake.connections.load(Ordering::SeqCst), 2);
    clear_text.assert_silent();
}
