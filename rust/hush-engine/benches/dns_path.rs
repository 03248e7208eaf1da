//! The DNS path, packet in to packet out, without a tun: a blocked query
//! answered in-engine, and an allowed query turned into a forward. And the
//! check "resolved only" makes at each new flow, on a full memory of
//! 65,536 (app, address) pairs learnt from real answers.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use hush_engine::{is_local, DiscardEvents, DnsConfig, DnsFirewall, ResolverExemptions, Step};
use hush_rules::RuleSetBuilder;
use std::str::FromStr;

fn query_packet(name: &str) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    let payload = message.to_vec().unwrap();
    hush_packet::build::udp(
        "198.18.0.1:40000".parse().unwrap(),
        "198.18.0.53:53".parse().unwrap(),
        &payload,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let mut builder = RuleSetBuilder::new();
    builder.add_default_list();
    let rules = Arc::new(builder.build());
    let mut firewall = DnsFirewall::new(DnsConfig::default(), rules, Arc::new(DiscardEvents));
    let blocked = query_packet("tracking.intl.miui.com");
    let allowed = query_packet("www.debian.org");
    let mut group = c.benchmark_group("dns_path");
    group.bench_function("blocked_query_to_answer_packet", |b| {
        b.iter(
            || match firewall.on_tun_packet(black_box(&blocked), Instant::now()) {
                Step::Reply(packet) => packet,
                other => panic!("expected a reply, got {other:?}"),
            },
        )
    });
    group.bench_function("allowed_query_to_forward", |b| {
        b.iter(|| {
            let step = firewall.on_tun_packet(black_box(&allowed), Instant::now());
            // Keep the pending table from filling: time every query out at once.
            firewall.expire(Instant::now() + std::time::Duration::from_secs(60));
            step
        })
    });
    group.finish();
}

/// A firewall whose "resolved only" memory is full: 65,536 answers, one
/// address each, to 16 apps in turn, learnt as the relay learns them.
fn resolved_firewall() -> (DnsFirewall, Vec<(u32, std::net::IpAddr)>) {
    use hickory_proto::op::Message;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    // Twice the default bound, as a user may set it: the larger table.
    let config = DnsConfig {
        resolved_capacity: 65_536,
        ..DnsConfig::default()
    };
    let capacity = config.resolved_capacity;
    let mut firewall = DnsFirewall::new(
        config,
        Arc::new(RuleSetBuilder::new().build()),
        Arc::new(DiscardEvents),
    );
    let query = query_packet("shop.example");
    let now = Instant::now();
    let mut given = Vec::with_capacity(capacity);
    for i in 0..capacity as u32 {
        let uid = 10_000 + i % 16;
        let Step::Forward(forwarded) = firewall.on_tun_packet_from(&query, Some(uid), now) else {
            panic!("expected a forward");
        };
        let request = Message::from_vec(&forwarded).unwrap();
        let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
        answer.add_queries(request.queries.iter().cloned());
        let address = std::net::Ipv4Addr::from(0xc612_0000 + i); // 198.18.0.0/15
        answer.add_answer(Record::from_rdata(
            request.queries[0].name().clone(),
            300,
            RData::A(A(address)),
        ));
        firewall
            .on_upstream_answer(answer.to_vec().unwrap(), now)
            .expect("relayed");
        given.push((uid, address.into()));
    }
    (firewall, given)
}

fn bench_resolved_only(c: &mut Criterion) {
    let (firewall, given) = resolved_firewall();
    let mut exemptions = ResolverExemptions::new();
    exemptions.add_address("198.51.100.53".parse().unwrap());
    let upstream: std::net::IpAddr = "198.51.100.1".parse().unwrap();
    let now = Instant::now();
    // What the relay asks of a new flow's address, in its order.
    let check = |uid: u32, address: std::net::IpAddr| {
        exemptions.exempts_address(address)
            || is_local(address)
            || address == upstream
            || firewall.was_resolved_for(Some(uid), address, now)
    };
    let mut group = c.benchmark_group("resolved_only");
    let mut next = 0usize;
    group.bench_function("new_flow_check_resolved_address", |b| {
        b.iter(|| {
            let (uid, address) = given[next % given.len()];
            next = next.wrapping_add(7919);
            assert!(check(black_box(uid), black_box(address)));
        })
    });
    group.bench_function("new_flow_check_other_apps_address", |b| {
        b.iter(|| {
            let (uid, address) = given[next % given.len()];
            next = next.wrapping_add(7919);
            assert!(!check(black_box(uid + 1), black_box(address)));
        })
    });
    group.finish();
}

/// Domain-rule matching for a short name and for a hostile one of 126
/// one-letter labels before the rule: linear in the name's length.
fn bench_domain_rules(c: &mut Criterion) {
    let mut policy = hush_engine::AppPolicy::new();
    for i in 0..1000 {
        let action = hush_engine::DomainAction::Block;
        policy.add_domain_rule(None, &format!("tracker{i}.example"), action);
        policy.add_domain_rule(Some(10_000 + i), &format!("app{i}.example"), action);
    }
    let short = "ads.tracker7.example";
    let deep = format!("{}tracker7.example", "x.".repeat(126));
    let mut group = c.benchmark_group("domain_rules");
    group.bench_function("short_name_3_labels", |b| {
        b.iter(|| policy.domain_rule(Some(10_001), std::hint::black_box(short)))
    });
    group.bench_function("hostile_name_128_labels", |b| {
        b.iter(|| policy.domain_rule(Some(10_001), std::hint::black_box(&deep)))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_resolved_only, bench_domain_rules);
criterion_main!(benches);
