//! The UI's and the CLI's queries on a log of 10,000,000 events over 30 days
//! (200 apps, 5,000 hosts; see `support/mod.rs` for the model), built once
//! into /tmp/hush-bench-10m-v5.db and reused. Goal: < 50 ms each.
//!
//! Run: `cargo bench -p hush-store --bench queries`

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use hush_store::query::{
    app_host_count, app_hosts, app_summaries, daily_timeline, export_csv, export_json,
    top_blocked_hosts,
};
use hush_store::{recent_events, EventFilter};
use support::{DAY_MS, END_MS, FIRST_UID, HOUR_MS};

/// One page of the activity screen.
const PAGE: u32 = 100;

fn benches(c: &mut Criterion) {
    let path = support::bench_database();
    let connection = hush_store::open(&path).unwrap();
    let count = |sql: &str| -> i64 { connection.query_row(sql, [], |r| r.get(0)).unwrap() };
    eprintln!(
        "bench database: {} events, {} hourly rows, {} MB",
        count("SELECT count(*) FROM events"),
        count("SELECT count(*) FROM hourly"),
        std::fs::metadata(&path).unwrap().len() / 1_000_000
    );
    let hosts = support::hosts();

    let mut group = c.benchmark_group("recent_events");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    let filters = [
        ("none", EventFilter::default()),
        (
            "uid_busiest",
            EventFilter {
                uid: Some(FIRST_UID),
                ..Default::default()
            },
        ),
        (
            "uid_50th",
            EventFilter {
                uid: Some(FIRST_UID + 49),
                ..Default::default()
            },
        ),
        (
            "uid_quietest",
            EventFilter {
                uid: Some(FIRST_UID + 199),
                ..Default::default()
            },
        ),
        (
            "action_blocked",
            EventFilter {
                action: Some("blocked".into()),
                ..Default::default()
            },
        ),
        (
            "action_failed",
            EventFilter {
                action: Some("failed".into()),
                ..Default::default()
            },
        ),
        (
            "host_common",
            EventFilter {
                host_contains: Some("Google".into()),
                ..Default::default()
            },
        ),
        (
            "host_one_tail_host",
            EventFilter {
                host_contains: Some(hosts[2_000].name.clone()),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in &filters {
        let page = recent_events(&connection, filter, PAGE, 0).unwrap();
        eprintln!("recent_events {name}: {} rows", page.len());
        group.bench_function(*name, |b| {
            b.iter(|| black_box(recent_events(&connection, black_box(filter), PAGE, 0).unwrap()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("aggregates");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    let week = (END_MS - 7 * DAY_MS, END_MS);
    let month = (END_MS - 30 * DAY_MS, END_MS);
    let summaries = app_summaries(&connection, week.0, week.1).unwrap();
    eprintln!("app_summaries 7 days: {} apps", summaries.len());
    group.bench_function("app_summaries_7_days", |b| {
        b.iter(|| black_box(app_summaries(&connection, week.0, week.1).unwrap()))
    });
    group.bench_function("top_blocked_hosts_7_days_all_apps", |b| {
        b.iter(|| black_box(top_blocked_hosts(&connection, week.0, week.1, None, 20).unwrap()))
    });
    group.bench_function("top_blocked_hosts_7_days_one_app", |b| {
        b.iter(|| {
            black_box(
                top_blocked_hosts(&connection, week.0, week.1, Some(Some(FIRST_UID)), 20).unwrap(),
            )
        })
    });
    let days = daily_timeline(&connection, month.0, month.1, None, 60).unwrap();
    eprintln!("daily_timeline 30 days: {} days", days.len());
    group.bench_function("daily_timeline_30_days_all_apps", |b| {
        b.iter(|| black_box(daily_timeline(&connection, month.0, month.1, None, 60).unwrap()))
    });
    group.bench_function("daily_timeline_30_days_one_app", |b| {
        b.iter(|| {
            black_box(
                daily_timeline(&connection, month.0, month.1, Some(Some(FIRST_UID)), 60).unwrap(),
            )
        })
    });
    group.finish();

    // App detail: one app's hosts over the 14 local days it shows (midnight
    // at UTC+1, so the range is not whole UTC days), and over everything.
    let mut group = c.benchmark_group("app_hosts");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    let fortnight = (Some(END_MS - 14 * DAY_MS - HOUR_MS), Some(END_MS - HOUR_MS));
    for (name, uid) in [
        ("busiest", Some(FIRST_UID)),
        ("50th", Some(FIRST_UID + 49)),
        ("unknown_owner", None),
    ] {
        for (range_name, (since, until)) in [("14_days", fortnight), ("all", (None, None))] {
            let hosts = app_hosts(&connection, uid, since, until, PAGE, 0).unwrap();
            let total = app_host_count(&connection, uid, since, until).unwrap();
            eprintln!(
                "app_hosts {name} {range_name}: {total} hosts, {} on the page",
                hosts.len()
            );
            group.bench_function(format!("{name}_{range_name}"), |b| {
                b.iter(|| black_box(app_hosts(&connection, uid, since, until, PAGE, 0).unwrap()))
            });
        }
    }
    // The most hours at the ends a range can have: 23 on each side.
    let widest = (Some(END_MS - 14 * DAY_MS + HOUR_MS), Some(END_MS - HOUR_MS));
    group.bench_function("busiest_14_days_widest_ends", |b| {
        b.iter(|| {
            black_box(app_hosts(&connection, Some(FIRST_UID), widest.0, widest.1, PAGE, 0).unwrap())
        })
    });
    group.bench_function("count_busiest_14_days", |b| {
        b.iter(|| {
            black_box(
                app_host_count(&connection, Some(FIRST_UID), fortnight.0, fortnight.1).unwrap(),
            )
        })
    });
    group.finish();

    // The newest 10,000 events.
    let since: i64 = connection
        .query_row(
            "SELECT time_ms FROM events ORDER BY time_ms DESC LIMIT 1 OFFSET 9999",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let filter = EventFilter {
        since_ms: Some(since),
        ..Default::default()
    };
    let exported = export_csv(&connection, &filter, std::io::sink()).unwrap();
    eprintln!("export: {exported} events");
    let mut group = c.benchmark_group("export");
    group.sample_size(20).warm_up_time(Duration::from_secs(1));
    group.bench_function("csv_10000_events", |b| {
        b.iter(|| black_box(export_csv(&connection, &filter, std::io::sink()).unwrap()))
    });
    group.bench_function("json_lines_10000_events", |b| {
        b.iter(|| black_box(export_json(&connection, &filter, std::io::sink()).unwrap()))
    });
    group.finish();
}

criterion_group!(queries, benches);
criterion_main!(queries);
