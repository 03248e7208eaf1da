//! Measures, with a counting global allocator, the live heap a million
//! domains take in a Hush `RuleSet` and in a `HashSet<String>`, and how long
//! each takes to load from list text in memory; then how long 10 MB of binary
//! junk takes to be rejected.
//!
//! Run: `cargo run --release -p hush-rules --example blocklist_memory`

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;

use hush_rules::{ListKind, RuleSetBuilder, Verdict};
use support::{
    four_label_probes, generate_domains, hashset_blocks, hashset_load, live_bytes, peak_bytes,
    reset_peak, Counting, DOMAINS,
};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let names = generate_domains(DOMAINS);
    let text = names.join("\n");
    let (hit, miss) = four_label_probes(&names);
    println!(
        "{DOMAINS} distinct generated domains, {} bytes of list text",
        text.len()
    );

    let before = live_bytes();
    reset_peak();
    let started = Instant::now();
    let mut builder = RuleSetBuilder::new();
    let report = builder.add_list("generated", ListKind::Block, text.as_bytes());
    let rules = builder.build();
    let load = started.elapsed();
    let live = live_bytes() - before;
    let peak = peak_bytes() - before;
    assert_eq!(report.entries, DOMAINS, "{report}");
    assert!(matches!(rules.check(&hit), Verdict::Blocked(_)));
    assert_eq!(rules.check(&miss), Verdict::Unlisted);
    println!(
        "hush RuleSet:     load {:>7.1} ms, live heap {:>11} B = {:>5.2} B/domain (peak during load {:.2} B/domain)",
        load.as_secs_f64() * 1e3,
        live,
        live as f64 / DOMAINS as f64,
        peak as f64 / DOMAINS as f64,
    );
    drop(rules);

    let before = live_bytes();
    reset_peak();
    let started = Instant::now();
    let set = hashset_load(&text);
    let load = started.elapsed();
    let live = live_bytes() - before;
    let peak = peak_bytes() - before;
    assert!(hashset_blocks(&set, &hit) && !hashset_blocks(&set, &miss));
    println!(
        "HashSet<String>:  load {:>7.1} ms, live heap {:>11} B = {:>5.2} B/domain (peak during load {:.2} B/domain)",
        load.as_secs_f64() * 1e3,
        live,
        live as f64 / DOMAINS as f64,
        peak as f64 / DOMAINS as f64,
    );

    drop(set);

    let junk = junk(10 << 20);
    let started = Instant::now();
    let report = RuleSetBuilder::new().add_list("junk", ListKind::Block, &junk);
    println!(
        "10 MiB of junk:   load {:>7.1} ms, {} lines, {} rejected, {} taken",
        started.elapsed().as_secs_f64() * 1e3,
        report.lines,
        report.rejected_count,
        report.entries,
    );
}

/// Random bytes from a fixed seed, with newlines where they happen to fall.
fn junk(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 8);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes
}
