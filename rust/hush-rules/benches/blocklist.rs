//! Blocklist load time and 4-label lookup time at 1,000,000 domains, for the
//! Hush rule set and, side by side, a plain `HashSet<String>` with a parent
//! walk. The domains are generated from a fixed seed (no network). Lookups are
//! timed for one name asked repeatedly (hot cache) and for 4096 different
//! names in turn (cold-ish cache).
//!
//! Live heap per domain is measured with a counting global allocator and
//! printed before the timings; `examples/blocklist_memory.rs` prints the same
//! figures on their own.
//!
//! Run: `cargo bench -p hush-rules --bench blocklist`

mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hush_rules::{ListKind, RuleSet, RuleSetBuilder, Verdict};
use support::{
    four_label_probes, generate_domains, hashset_blocks, hashset_load, live_bytes, rotating_probes,
    Counting, DOMAINS,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Different names per rotating lookup bench.
const ROTATING: usize = 4096;

fn hush_load(text: &str) -> RuleSet {
    let mut builder = RuleSetBuilder::new();
    builder.add_list("generated", ListKind::Block, text.as_bytes());
    builder.build()
}

fn bench(c: &mut Criterion) {
    let names = generate_domains(DOMAINS);
    let text = names.join("\n");
    let (hit, miss) = four_label_probes(&names);
    let (hits, misses) = rotating_probes(&names, ROTATING);
    drop(names);

    let before = live_bytes();
    let rules = hush_load(&text);
    let hush_heap = live_bytes() - before;
    let before = live_bytes();
    let set = hashset_load(&text);
    let set_heap = live_bytes() - before;
    println!(
        "live heap, {DOMAINS} domains: hush {:.2} B/domain, HashSet<String> {:.2} B/domain",
        hush_heap as f64 / DOMAINS as f64,
        set_heap as f64 / DOMAINS as f64,
    );

    assert!(matches!(rules.check(&hit), Verdict::Blocked(_)));
    assert_eq!(rules.check(&miss), Verdict::Unlisted);
    assert!(hashset_blocks(&set, &hit) && !hashset_blocks(&set, &miss));

    let mut group = c.benchmark_group("lookup_4_labels_1M");
    group.bench_function("hush_hit", |b| b.iter(|| rules.check(black_box(&hit))));
    group.bench_function("hush_miss", |b| b.iter(|| rules.check(black_box(&miss))));
    group.bench_function("hashset_hit", |b| {
        b.iter(|| hashset_blocks(&set, black_box(&hit)))
    });
    group.bench_function("hashset_miss", |b| {
        b.iter(|| hashset_blocks(&set, black_box(&miss)))
    });
    group.finish();

    // A different name each iteration, so table slots are often cold.
    let mut group = c.benchmark_group("lookup_4_labels_1M_rotating");
    for (label, probes, expect_hit) in [("hit", &hits, true), ("miss", &misses, false)] {
        for probe in probes.iter() {
            assert_eq!(
                matches!(rules.check(probe), Verdict::Blocked(_)),
                expect_hit
            );
            assert_eq!(hashset_blocks(&set, probe), expect_hit);
        }
        let mut next = 0;
        group.bench_function(format!("hush_{label}"), |b| {
            b.iter(|| {
                next = (next + 1) % ROTATING;
                rules.check(black_box(&probes[next]))
            })
        });
        group.bench_function(format!("hashset_{label}"), |b| {
            b.iter(|| {
                next = (next + 1) % ROTATING;
                hashset_blocks(&set, black_box(&probes[next]))
            })
        });
    }
    group.finish();
    drop(set);

    let mut group = c.benchmark_group("load_1M");
    group.sample_size(10);
    group.bench_function("hush", |b| b.iter(|| hush_load(black_box(&text))));
    group.bench_function("hashset", |b| b.iter(|| hashset_load(black_box(&text))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
