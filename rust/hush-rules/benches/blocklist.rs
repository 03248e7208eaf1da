//! Blocklist load time, lookup time and heap per domain at 1,000,000 domains,
//! measured side by side with a plain `HashSet<String>` and a parent walk.
//!
//! Heap is measured, not estimated: a counting global allocator records the
//! live bytes before and after each structure is built.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use hush_rules::{ListKind, RuleSetBuilder, Verdict};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers every call to the system allocator, only counting sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const DOMAINS: usize = 1_000_000;

/// 1,000,000 distinct domains of 2 to 4 labels, from a fixed seed.
fn generate() -> Vec<String> {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "de", "cn", "ru", "co.uk", "app", "xyz",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut seen = HashSet::with_capacity(DOMAINS);
    while seen.len() < DOMAINS {
        let labels = 1 + next() % 3;
        let mut name = String::new();
        for _ in 0..labels {
            let len = 3 + next() % 10;
            for _ in 0..len {
                name.push((b'a' + (next() % 26) as u8) as char);
            }
            name.push('.');
        }
        name.push_str(TLDS[(next() % TLDS.len() as u64) as usize]);
        seen.insert(name);
    }
    let mut names: Vec<String> = seen.into_iter().collect();
    names.sort();
    names
}

fn hashset_blocks(set: &HashSet<String>, name: &str) -> bool {
    let mut rest = name;
    loop {
        if set.contains(rest) {
            return true;
        }
        match rest.find('.') {
            Some(dot) => rest = &rest[dot + 1..],
            None => return false,
        }
    }
}

fn bench(c: &mut Criterion) {
    let names = generate();
    let text = names.join("\n");

    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut builder = RuleSetBuilder::new();
    builder.add_list("generated", ListKind::Block, text.as_bytes());
    let rules = builder.build();
    let hush_load = started.elapsed();
    let hush_heap = LIVE.load(Ordering::Relaxed) - before;

    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let set: HashSet<String> = text.lines().map(str::to_string).collect();
    let set_load = started.elapsed();
    let set_heap = LIVE.load(Ordering::Relaxed) - before;

    println!(
        "memory: hush {:.1} B/domain ({} B live), HashSet<String> {:.1} B/domain ({} B live), {} domains",
        hush_heap as f64 / DOMAINS as f64,
        hush_heap,
        set_heap as f64 / DOMAINS as f64,
        set_heap,
        DOMAINS
    );
    println!("one-shot load: hush {hush_load:?}, HashSet<String> {set_load:?}");

    // A 4-label name under a listed 3-label domain (hit), and one that is not.
    let listed = names
        .iter()
        .find(|n| n.matches('.').count() == 2)
        .expect("a 3-label name");
    let hit = format!("cdn.{listed}");
    let miss = "cdn.static.unlisted-example.com".to_string();
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

    let mut group = c.benchmark_group("load_1M");
    group.sample_size(10);
    group.bench_function("hush", |b| {
        b.iter(|| {
            let mut builder = RuleSetBuilder::new();
            builder.add_list("generated", ListKind::Block, black_box(text.as_bytes()));
            builder.build()
        })
    });
    group.bench_function("hashset", |b| {
        b.iter(|| {
            black_box(&text)
                .lines()
                .map(str::to_string)
                .collect::<HashSet<String>>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
