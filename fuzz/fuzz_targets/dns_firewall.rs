//! The DNS firewall as a state machine: packets from the tun, resolver
//! answers and the passing of time, in the order the fuzzer picks.
//!
//! Every packet it writes to the tun must parse (checksums verified) as a
//! UDP datagram from the resolver the app asked to the app, whose DNS
//! payload is an answer with the query's ID and question. A forwarded query
//! differs from the app's only in its ID. The firewall's pending queries are
//! the ones a model of it expects.
//!
//! Input: a sequence of operations, each a byte and its operands:
//! 0 raw tun packet (chunk); 1 query (address byte, port, DNS payload
//! chunk), sent through a built UDP packet; 2 resolver answer (index of a
//! pending query, payload chunk) given that query's upstream ID; 3 resolver
//! answer as is (chunk); 4 time passes (milliseconds).

#![no_main]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hush_dns::BlockMode;
use hush_engine::{DiscardEvents, DnsConfig, DnsFirewall, Step};
use hush_fuzz::Input;
use hush_packet::{build, parse, Checksums, Transport};
use hush_rules::{ListKind, RuleSet, RuleSetBuilder};
use libfuzzer_sys::fuzz_target;

/// Names the seeds ask for, some blocked, some not: blocked ones take the
/// answer path, the others the forwarding path.
const BLOCKED: &[u8] = b"example.com\ntracking.miui.com\ncloudflare-ech.com\n\
    googleads.g.doubleclick.net\n||xiaomi.com^\n";

fn rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let mut builder = RuleSetBuilder::new();
            builder.add_default_list();
            builder.add_list("fuzz", ListKind::Block, BLOCKED);
            builder.add_list(
                "fuzz-allow",
                ListKind::Allow,
                b"allowed.tracking.miui.com\n",
            );
            Arc::new(builder.build())
        })
        .clone()
}

/// What the model knows of a query the firewall forwarded.
#[derive(Debug, Clone)]
struct Asked {
    app: SocketAddr,
    resolver: SocketAddr,
    id: u16,
    name: String,
    record_type: String,
    deadline: Instant,
}

const TIMEOUT: Duration = Duration::from_millis(1500);

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.u8();
    let block_mode = if flags & 1 == 0 {
        BlockMode::NxDomain
    } else {
        BlockMode::Unspecified
    };
    let config = DnsConfig {
        block_mode,
        query_timeout: TIMEOUT,
        // Small, so a few queries reach the overload path.
        max_pending: 1 + usize::from(flags >> 4),
        strip_ech: flags & 2 == 0,
        ..DnsConfig::default()
    };
    let mut firewall = DnsFirewall::new(config, rules(), Arc::new(DiscardEvents));
    let mut now = Instant::now();
    let mut pending: BTreeMap<u16, Asked> = BTreeMap::new();
    let mut operations = 0;
    while !input.is_empty() && operations < 64 {
        operations += 1;
        let operation = input.u8() % 5;
        match operation {
            0 => {
                let packet = input.chunk().to_vec();
                let step = firewall.on_tun_packet(&packet, now);
                on_step(&packet, step, now, block_mode, &mut pending);
            }
            1 => {
                let which = input.u8();
                let port = input.u16();
                let payload = input.chunk();
                let (app, resolver): (IpAddr, IpAddr) = if which & 1 == 0 {
                    (
                        "198.18.0.2".parse().unwrap(),
                        "10.111.222.1".parse().unwrap(),
                    )
                } else {
                    ("fd00::2".parse().unwrap(), "fd00::53".parse().unwrap())
                };
                let resolver_port = if which & 2 == 0 { 53 } else { u16::from(which) };
                let Ok(packet) = build::udp(
                    SocketAddr::new(app, port),
                    SocketAddr::new(resolver, resolver_port),
                    payload,
                ) else {
                    continue;
                };
                let step = firewall.on_tun_packet(&packet, now);
                on_step(&packet, step, now, block_mode, &mut pending);
            }
            2 | 3 => {
                let to_pending = operation == 2;
                let index = usize::from(input.u8());
                let mut payload = input.chunk().to_vec();
                let keys: Vec<u16> = pending.keys().copied().collect();
                if to_pending && !keys.is_empty() && payload.len() >= 2 {
                    hush_dns::set_message_id(&mut payload, keys[index % keys.len()]);
                }
                let id = hush_dns::message_id(&payload);
                let before = firewall.pending_len();
                let relayed = firewall.on_upstream_answer(payload.clone(), now);
                let after = firewall.pending_len();
                match relayed {
                    Some(packet) => {
                        let id = id.expect("an answer with an ID");
                        let asked = pending.remove(&id).expect("an answer to a pending query");
                        check_relayed(&packet, &asked, &payload);
                    }
                    None if after < before => {
                        // Answered, but nothing could be sent for it.
                        pending.remove(&id.expect("an answer with an ID"));
                    }
                    None => {}
                }
                assert_eq!(after, pending.len(), "pending queries");
            }
            _ => {
                now += Duration::from_millis(u64::from(input.u16()));
                let expired: Vec<Asked> = pending
                    .values()
                    .filter(|asked| asked.deadline <= now)
                    .cloned()
                    .collect();
                pending.retain(|_, asked| asked.deadline > now);
                let packets = firewall.expire(now);
                assert_eq!(packets.len(), expired.len(), "SERVFAILs at the deadline");
                for packet in &packets {
                    let (_, dns) = udp_of(packet);
                    if std::env::var_os("HUSH_FUZZ_DEBUG").is_some() {
                        eprintln!("servfail {dns:02x?}");
                    }
                    let answer = hush_dns::parse_answer(dns).expect("a SERVFAIL parses");
                    let record_type = format!("{:?}", answer.record_type);
                    // Apps may reuse an ID: the question tells them apart.
                    let asked = expired
                        .iter()
                        .find(|a| {
                            a.id == answer.id
                                && udp_of(packet).0 == (a.resolver, a.app)
                                && a.name == answer.name
                                && a.record_type == record_type
                        })
                        .expect("a SERVFAIL for an expired query");
                    check_answer(packet, asked, Some(2));
                }
                assert_eq!(firewall.pending_len(), pending.len(), "pending queries");
            }
        }
    }
});

/// The addresses (from, to) and DNS payload of a packet Hush wrote.
fn udp_of(packet: &[u8]) -> ((SocketAddr, SocketAddr), &[u8]) {
    let view = parse(packet, Checksums::Verify).expect("a packet Hush writes parses");
    let Transport::Udp(udp) = view.transport else {
        panic!("Hush wrote {view:?}")
    };
    (
        (
            SocketAddr::new(view.ip.src, udp.src_port),
            SocketAddr::new(view.ip.dst, udp.dst_port),
        ),
        udp.payload,
    )
}

fn on_step(
    packet: &[u8],
    step: Step,
    now: Instant,
    block_mode: BlockMode,
    pending: &mut BTreeMap<u16, Asked>,
) {
    let query = || {
        let view = parse(packet, Checksums::Verify).expect("only a valid packet is answered");
        let Transport::Udp(udp) = view.transport else {
            panic!("only UDP is answered: {view:?}")
        };
        assert_eq!(udp.dst_port, 53, "only DNS is answered");
        let query = hush_dns::parse_query(udp.payload).expect("only a query is answered");
        let asked = Asked {
            app: SocketAddr::new(view.ip.src, udp.src_port),
            resolver: SocketAddr::new(view.ip.dst, udp.dst_port),
            id: query.id(),
            name: query.name().to_string(),
            record_type: format!("{:?}", query.record_type()),
            deadline: now + TIMEOUT,
        };
        (asked, udp.payload.to_vec())
    };
    match step {
        Step::Drop => {}
        Step::Reply(reply) => {
            let (asked, payload) = query();
            if std::env::var_os("HUSH_FUZZ_DEBUG").is_some() {
                eprintln!("query {payload:02x?}\nreply {:02x?}", udp_of(&reply).1);
            }
            let rcode = if block_mode == BlockMode::NxDomain {
                3
            } else {
                0
            };
            // A blocked name, or SERVFAIL when too many queries wait.
            let answer = check_answer(&reply, &asked, None);
            assert!(
                answer.rcode == rcode || answer.rcode == 2,
                "rcode {}",
                answer.rcode
            );
        }
        Step::Forward(forwarded) => {
            let (asked, payload) = query();
            if std::env::var_os("HUSH_FUZZ_DEBUG").is_some() {
                eprintln!("forwarded {payload:02x?}");
            }
            assert_eq!(forwarded.len(), payload.len());
            assert_eq!(forwarded[2..], payload[2..], "only the ID changes");
            let upstream_id = hush_dns::message_id(&forwarded).unwrap();
            assert!(
                pending.insert(upstream_id, asked).is_none(),
                "an upstream ID in use was given again"
            );
        }
    }
}

/// Checks a resolver's answer as relayed: to the app, with its ID. Read
/// with that ID (as the app reads it: a compression pointer may point into
/// the header), an answer that decodes must still decode after any rewrite,
/// and be for the question's name and type; one that does not goes as it
/// came.
fn check_relayed(packet: &[u8], asked: &Asked, original: &[u8]) {
    let ((from, to), dns) = udp_of(packet);
    assert_eq!((from, to), (asked.resolver, asked.app));
    assert_eq!(
        hush_dns::message_id(dns),
        Some(asked.id),
        "the app's query ID"
    );
    let mut as_the_app_reads = original.to_vec();
    hush_dns::set_message_id(&mut as_the_app_reads, asked.id);
    match hush_dns::parse_answer(&as_the_app_reads) {
        Ok(_) => {
            let answer = hush_dns::parse_answer(dns).unwrap_or_else(|e| {
                panic!("a rewritten answer parses: {e}\n{as_the_app_reads:02x?}\n{dns:02x?}")
            });
            assert_eq!(answer.name, asked.name, "the question's name");
            assert_eq!(
                format!("{:?}", answer.record_type),
                asked.record_type,
                "the question's type"
            );
        }
        Err(_) => assert_eq!(
            dns, as_the_app_reads,
            "an undecodable answer goes as it came"
        ),
    }
}

/// Checks that `packet` answers `asked`: from its resolver, to the app,
/// with its ID and question. Returns the answer.
fn check_answer(packet: &[u8], asked: &Asked, rcode: Option<u16>) -> hush_dns::DnsAnswer {
    let ((from, to), dns) = udp_of(packet);
    assert_eq!((from, to), (asked.resolver, asked.app));
    let answer = hush_dns::parse_answer(dns).expect("the answer parses");
    assert_eq!(answer.id, asked.id, "the app's query ID");
    assert_eq!(answer.name, asked.name, "the question's name");
    assert_eq!(format!("{:?}", answer.record_type), asked.record_type);
    if let Some(rcode) = rcode {
        assert_eq!(answer.rcode, rcode);
    }
    answer
}
