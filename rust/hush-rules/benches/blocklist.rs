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
//! Two more rule sets, after the plain blocklist: the same names loaded as
//! an allowlist, which keeps the names and confirms every hit by comparing
//! them (what exact matching would cost the block table), and the same
//! blocklist with `@@` exceptions of its own for half the rotating hits,
//! whose hits take the scoped-exception path.
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
    hush_load_as(ListKind::Block, text)
}

fn hush_load_as(kind: ListKind, text: &str) -> RuleSet {
    let mut builder = RuleSetBuilder::new();
    builder.add_list("generated", kind, text.as_bytes());
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

    // Exact matching: the names kept and compared on every hit.
    let before = live_bytes();
    let exact = hush_load_as(ListKind::Allow, &text);
    let exact_heap = live_bytes() - before;
    println!(
        "live heap, {DOMAINS} domains kept whole and matched exactly (loaded as an allowlist): {:.2} B/domain",
        exact_heap as f64 / DOMAINS as f64,
    );
    // Scoped exceptions: the first half of the rotating hits excepted by the
    // list itself, the second half still blocked by it.
    let half = ROTATING / 2;
    let mut excepting_text = text.clone();
    for name in &hits[..half] {
        excepting_text.push_str(&format!("\n@@||{name}^"));
    }
    let excepting = hush_load(&excepting_text);
    let mut group = c.benchmark_group("lookup_4_labels_1M_rotating_exact_and_excepting");
    for (label, probes, expect) in [
        ("exact_hit", &hits[..], Some(true)),
        ("exact_miss", &misses[..], None),
    ] {
        for probe in probes.iter() {
            assert_eq!(
                matches!(exact.check(probe), Verdict::Allowed(_)),
                expect.is_some()
            );
        }
        let mut next = 0;
        group.bench_function(label, |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                exact.check(black_box(&probes[next]))
            })
        });
    }
    for (label, probes, blocked) in [
        ("excepting_list_excepted", &hits[..half], false),
        ("excepting_list_blocked", &hits[half..], true),
    ] {
        for probe in probes.iter() {
            let verdict = excepting.check(probe);
            assert_eq!(
                matches!(verdict, Verdict::Blocked(_)),
                blocked,
                "{verdict:?}"
            );
        }
        let mut next = 0;
        group.bench_function(label, |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                excepting.check(black_box(&probes[next]))
            })
        });
    }
    group.finish();
    drop((exact, excepting));

    let mut group = c.benchmark_group("load_1M");
    group.sample_size(10);
    group.bench_function("hush", |b| b.iter(|| hush_load(black_box(&text))));
    group.bench_function("hashset", |b| b.iter(|| hashset_load(black_box(&text))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
