//! The DNS path, packet in to packet out, without a tun: a blocked query
//! answered in-engine, and an allowed query turned into a forward.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};
use hush_engine::{DiscardEvents, DnsConfig, DnsFirewall, Step};
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

criterion_group!(benches, bench);
criterion_main!(benches);
