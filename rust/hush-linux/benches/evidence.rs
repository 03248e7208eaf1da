//! The evidence report over 100,000 events (issue 16: under 2 s on the
//! 2-core machine): reading one app's events from the database, summarising
//! and hashing them, rendering the HTML and writing it whole.
//!
//! The lab database holds 100,000 stored events of the app (4,200 hosts, 30
//! days, allowed, blocked and failed) and 20,000 of another app, written
//! through the log writer.
//!
//! Run: `cargo bench -p hush-linux --bench evidence`

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, Criterion};
use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::EventWriter;

const APP: u32 = 10_123;
const EVENTS: u64 = 100_000;
/// 2025-03-01T00:00:00Z.
const T0: u64 = 1_740_787_200_000;
const SPAN_MS: u64 = 30 * 24 * 3_600_000;

fn event(i: u64, uid: u32) -> Event {
    let verdict = match i % 10 {
        0..=5 => Verdict::Allowed,
        6..=8 => Verdict::Blocked,
        _ => Verdict::Failed,
    };
    let reason = match verdict {
        Verdict::Allowed => Reason::Unlisted,
        Verdict::Blocked => Reason::Blocklist("hush-default".into()),
        Verdict::Failed => Reason::UpstreamTimeout,
    };
    Event {
        time: UNIX_EPOCH + Duration::from_millis(T0 + i * (SPAN_MS / EVENTS)),
        uid: Some(uid),
        host: format!("h{}.tracker{}.example", i % 600, i % 7),
        address: "198.18.0.9".parse().unwrap(),
        port: if i.is_multiple_of(2) { 443 } else { 53 },
        protocol: if i.is_multiple_of(2) { "tcp" } else { "dns" },
        detail: "sni".into(),
        verdict,
        reason,
        screen_off: false,
    }
}

fn benches(c: &mut Criterion) {
    let directory = tempfile::tempdir().unwrap();
    let db = directory.path().join("hush.db");
    let started = Instant::now();
    let writer = EventWriter::start(hush_store::open(&db).unwrap(), 1 << 18).unwrap();
    for i in 0..EVENTS {
        writer.record(event(i, APP));
        if i.is_multiple_of(5) {
            writer.record(event(i, APP + 1));
        }
    }
    assert_eq!(writer.dropped(), 0);
    writer.finish().unwrap();
    let connection = hush_store::open(&db).unwrap();
    let rows: i64 = connection
        .query_row("SELECT count(*) FROM events WHERE uid = ?1", [APP], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows as u64, EVENTS, "every event stored as its own row");
    eprintln!("lab database written in {:?}", started.elapsed());

    let out = directory.path().join("report.html");
    let mut group = c.benchmark_group("evidence_report");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("100k_events_4200_hosts", |b| {
        b.iter(|| black_box(hush_report::write_report(&db, APP, &out, None).unwrap()))
    });
    group.finish();
    let written = hush_report::write_report(&db, APP, &out, None).unwrap();
    assert_eq!(written.attempts, EVENTS);
    assert_eq!(written.hosts, 600 * 7 / gcd(600, 7));
    eprintln!(
        "report: {} bytes, {} hosts",
        std::fs::metadata(&out).unwrap().len(),
        written.hosts
    );
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

criterion_group!(group, benches);
criterion_main!(group);
