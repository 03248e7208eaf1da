//! The log writer under load: sustained ingest of 1,000,000 events through
//! [`EventWriter`] into a new database (time from the first `record` to the
//! end of `finish`, so every event is committed), and the cost of one
//! `record` call while the writer drains on its own thread. Events follow
//! the model in `support/mod.rs`, one hour's worth of activity after
//! another. Goals: >= 200,000 events/s; < 1 us per `record`.
//!
//! Run: `cargo bench -p hush-store --bench ingest`

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use hush_engine::{Event, EventSink};
use hush_store::EventWriter;
use support::{Generator, HostInfo, DAY_MS, END_MS};

const SUSTAINED: u64 = 1_000_000;

/// `count` events as the engine would record them, over the `count / 14,000`
/// hours (the bench log's average rate) before the bench log's end.
fn events(generator: &mut Generator, hosts: &[HostInfo], count: u64) -> Vec<Event> {
    let hours = (count / 14_000).max(1) as i64;
    let mut events = Vec::with_capacity(count as usize);
    generator.hours(
        count,
        END_MS + DAY_MS,
        END_MS + DAY_MS + hours * support::HOUR_MS,
        |_, samples| {
            events.extend(
                samples
                    .iter()
                    .map(|s| support::event(s, &hosts[s.host as usize])),
            )
        },
    );
    events
}

fn benches(c: &mut Criterion) {
    let hosts = support::hosts();
    let mut generator = Generator::new(1);
    let dir = tempfile::tempdir().unwrap();

    let mut group = c.benchmark_group("ingest");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(SUSTAINED));
    let mut run = 0;
    group.bench_function("sustained_1m_events", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let batch = events(&mut generator, &hosts, SUSTAINED);
                run += 1;
                let path = dir.path().join(format!("ingest-{run}.db"));
                // The queue holds everything: `record` never drops, and
                // the time measured is the writer's.
                let writer =
                    EventWriter::start(hush_store::open(&path).unwrap(), SUSTAINED as usize)
                        .unwrap();
                let started = Instant::now();
                for event in batch {
                    writer.record(event);
                }
                assert_eq!(writer.dropped(), 0);
                writer.finish().unwrap();
                total += started.elapsed();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            total
        })
    });
    group.finish();

    // One `record` call, with the writer draining at the same time into a
    // database that already holds a million events. Each sample gets a
    // writer whose queue takes all its events (started and finished outside
    // the time measured), so every call measured queues its event.
    let path = dir.path().join("record.db");
    {
        let writer =
            EventWriter::start(hush_store::open(&path).unwrap(), SUSTAINED as usize).unwrap();
        for event in events(&mut generator, &hosts, SUSTAINED) {
            writer.record(event);
        }
        writer.finish().unwrap();
    }
    let mut group = c.benchmark_group("record");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("one_call", |b| {
        b.iter_custom(|iterations| {
            let batch = events(&mut generator, &hosts, iterations);
            let writer =
                EventWriter::start(hush_store::open(&path).unwrap(), iterations as usize).unwrap();
            let started = Instant::now();
            for event in batch {
                writer.record(event);
            }
            let elapsed = started.elapsed();
            assert_eq!(writer.dropped(), 0);
            writer.finish().unwrap();
            elapsed
        })
    });
    group.finish();
}

criterion_group!(ingest, benches);
criterion_main!(ingest);
