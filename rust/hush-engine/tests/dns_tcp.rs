//! DNS over TCP through the relay, on a fake tun (a datagram socket pair, as
//! in tests/relay.rs) with a real TCP resolver on loopback answering framed
//! DNS. The "app" here is a few lines of TCP written by hand: it connects to
//! whatever address it likes on port 53, and every answer it gets must come
//! from Hush or from the configured resolver.

mod support;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use hush_engine::owner::Transport as FlowTransport;
use hush_engine::{policy_channel, AppMode, AppPolicy, DnsConfig, DomainAction, Network, Verdict};
use hush_rules::{ListKind, RuleSetBuilder};
use smoltcp::wire::TcpControl;
use support::{
    addr, framed, owners_of, query, run, segment, start_relay, Answer, AppConn, Behaviour,
    Resolver, Setup, ANSWER, SHOP, TRACKER, VIRTUAL_DNS,
};

/// A name the resolver maps to a loopback address, to see it learnt.
const LEARNT: &str = "shop.example";
const LEARNT_ADDRESS: &str = SHOP;

/// The relay asking `upstream`, with one list blocking [`TRACKER`] and its
/// subdomains.
fn setup(upstream: SocketAddr) -> Setup {
    let mut rules = RuleSetBuilder::new();
    rules.add_list(
        "trackers",
        ListKind::Block,
        format!("{TRACKER}\n").as_bytes(),
    );
    Setup {
        rules,
        ..Setup::new(upstream)
    }
}

// ---- the tests ----

#[tokio::test(flavor = "current_thread")]
async fn a_blocked_name_is_answered_by_hush_and_an_allowed_one_by_the_resolver() {
    let resolver = Resolver::start();
    let app = addr("10.0.0.2:40001");
    let (stats, events, ()) = run(start_relay(setup(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, app, addr(VIRTUAL_DNS));
        conn.send(&framed(&query(
            &format!("a.{TRACKER}"),
            RecordType::A,
            0x1111,
        )));
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
        conn.send(&framed(&query("f-droid.org", RecordType::A, 0x2222)));
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
    let (stats, events, ()) = run(start_relay(setup(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, app, elsewhere);
        conn.send(&framed(&query("example.org", RecordType::A, 9)));
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
    let (_, _, answers) = run(start_relay(setup(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, app, addr(VIRTUAL_DNS));
        // Three queries in one segment; the resolver answers the second
        // before the first, and the tracker is Hush's to answer. The app
        // gives the first two one ID: Hush must not mix up their answers.
        let mut bytes = framed(&query("first.example", RecordType::A, 7));
        bytes.extend(framed(&query("second.example", RecordType::A, 7)));
        bytes.extend(framed(&query(TRACKER, RecordType::A, 3)));
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
    let (stats, events, ()) = run(start_relay(setup(resolver.address)), move |tun| {
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
        conn.send(&framed(&query("example.org", RecordType::A, 1))[..10]);
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
    let owners = owners_of([
        (FlowTransport::Tcp, trusting, addr(VIRTUAL_DNS), 10_001),
        (FlowTransport::Tcp, other, addr(VIRTUAL_DNS), 10_002),
    ]);
    let mut policy = AppPolicy::default();
    policy.set_mode(10_001, Network::Any, AppMode::AllowAll);
    let setup = Setup {
        owners: owners.clone(),
        policy: policy_channel(policy).1,
        ..setup(resolver.address)
    };
    let (_, events, ()) = run(start_relay(setup), move |tun| {
        for app in [trusting, other] {
            let mut conn = AppConn::open(tun, app, addr(VIRTUAL_DNS));
            conn.send(&framed(&query(TRACKER, RecordType::A, 5)));
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
        ..setup(resolver.address)
    };
    let (stats, events, _rules) = run(start_relay(setup), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40009"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query(LEARNT, RecordType::A, 1)));
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
            seq: 2,
            ..AppConn::new(tun, app, server)
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
    let (stats, events, ()) = run(start_relay(setup(closed)), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40011"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query("example.org", RecordType::A, 77)));
        let answer = conn.answers(1);
        assert_eq!(
            (answer[0].id, answer[0].rcode),
            (77, ResponseCode::ServFail)
        );
        // A blocked name is still answered as blocked.
        conn.send(&framed(&query(TRACKER, RecordType::A, 78)));
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
        ..setup(silent.address)
    };
    let (stats, events, waited) = run(start_relay(setup), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40012"), addr(VIRTUAL_DNS));
        let started = Instant::now();
        conn.send(&framed(&query("example.org", RecordType::A, 5)));
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
        ..setup(resolver.address)
    };
    let (stats, _, ()) = run(start_relay(setup), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40013"), addr(VIRTUAL_DNS));
        conn.send(&framed(&query("wrong.example", RecordType::A, 4)));
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
    let (stats, _, ()) = run(start_relay(setup(resolver.address)), move |tun| {
        let mut conn = AppConn::open(tun, addr("10.0.0.2:40014"), addr(VIRTUAL_DNS));
        for (id, name) in [(1, "one.example"), (2, "two.example")] {
            conn.send(&framed(&query(name, RecordType::A, id)));
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

/// A protector that may block (Android's `protect` when Hush is not left out
/// of its VPN): it notes the thread each TCP socket was protected on, and
/// refuses them when told to.
struct BlockingProtector {
    refuses: bool,
    stream_threads: std::sync::Mutex<Vec<std::thread::ThreadId>>,
}

impl hush_engine::SocketProtector for BlockingProtector {
    fn protect(&self, socket: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
        if socket2::SockRef::from(&socket).r#type()? != socket2::Type::STREAM {
            return Ok(());
        }
        self.stream_threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        if self.refuses {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the platform refused to protect a socket from the VPN",
            ));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_protector_that_may_block_connects_to_the_resolver_off_the_packet_task() {
    let relay_thread = std::thread::current().id();
    for refuses in [false, true] {
        let resolver = Resolver::start_with(Behaviour::ClosesAfterOne);
        let protector = Arc::new(BlockingProtector {
            refuses,
            stream_threads: std::sync::Mutex::new(Vec::new()),
        });
        let setup = Setup {
            protector: protector.clone(),
            ..setup(resolver.address)
        };
        let (stats, _, ()) = run(start_relay(setup), move |tun| {
            let mut conn = AppConn::open(tun, addr("10.0.0.2:40015"), addr(VIRTUAL_DNS));
            // The resolver closes after each answer: the second query needs
            // a second connection.
            for (id, name) in [(1, "one.example"), (2, "two.example")] {
                conn.send(&framed(&query(name, RecordType::A, id)));
                let answer = conn.answers(1);
                let rcode = if refuses {
                    ResponseCode::ServFail
                } else {
                    ResponseCode::NoError
                };
                assert_eq!((answer[0].id, answer[0].rcode), (id, rcode));
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(!conn.reset && !conn.fin, "the app's connection stays up");
        })
        .await;
        let threads = protector.stream_threads.lock().unwrap().clone();
        // One connection per query; refused, also the one opened at the
        // SYN when its refusal came before the first query did.
        let connections = if refuses { 2..=3 } else { 2..=2 };
        assert!(connections.contains(&threads.len()), "{stats}");
        assert!(
            threads.iter().all(|&thread| thread != relay_thread),
            "protected on the packet task"
        );
        assert_eq!(stats.protected_off_task, threads.len() as u64, "{stats}");
        if refuses {
            assert!(resolver.names().is_empty());
            assert_eq!(stats.dns_tcp_servfail, 2, "{stats}");
        } else {
            assert_eq!(resolver.names(), ["one.example", "two.example"]);
            assert_eq!(stats.dns_tcp_servfail, 0, "{stats}");
        }
    }
}
