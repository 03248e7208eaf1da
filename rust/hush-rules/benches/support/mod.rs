//! Shared by the `blocklist` bench and the `blocklist_memory` example: a
//! counting global allocator, a seeded generator of a million distinct
//! domains, and the `HashSet<String>` baseline the Hush table is compared to.
//!
//! Not part of the library; the allocator needs `unsafe`, which the library
//! forbids.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes (and their peak) and defers to the system allocator.
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is passed unchanged to the system allocator; the only
// addition is arithmetic on two atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        // SAFETY: `layout` is the caller's, valid for `alloc` as GlobalAlloc requires
        // (non-zero size); it goes to the system allocator unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        // SAFETY: as for `alloc`: the caller's valid layout, unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`
        // (every allocation above is `System`'s), with this `layout`, as the
        // caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        // SAFETY: `ptr` is `System`'s with `layout` and `new_size` is valid for
        // it, as the caller guarantees; passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Live heap bytes now.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Restarts peak tracking from the current live bytes.
pub fn reset_peak() {
    PEAK.store(live_bytes(), Ordering::Relaxed);
}

/// The highest live heap bytes since the last [`reset_peak`].
pub fn peak_bytes() -> isize {
    PEAK.load(Ordering::Relaxed)
}

pub const DOMAINS: usize = 1_000_000;

/// Top-level domains weighted roughly like blocklists: mostly .com.
const TLDS: &[&str] = &[
    "com", "com", "com", "com", "com", "com", "net", "net", "org", "io", "de", "cn", "ru", "co.uk",
    "com.br", "app", "xyz", "info", "jp", "fr", "top", "online", "site", "tv",
];

/// `count` distinct domain names of 2 to 5 labels, always the same for a
/// given count (xorshift from a fixed seed), sorted.
pub fn generate_domains(count: usize) -> Vec<String> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";
    let mut seen = HashSet::with_capacity(count);
    while seen.len() < count {
        let labels = 1 + next() % 3;
        let mut name = String::new();
        for _ in 0..labels {
            let len = 3 + next() % 10;
            for position in 0..len {
                // Letters only at the ends, so every label is a valid one.
                let pick = if position == 0 || position + 1 == len {
                    next() % 26
                } else {
                    next() % ALPHABET.len() as u64
                };
                name.push(char::from(ALPHABET[pick as usize]));
            }
            name.push('.');
        }
        name.push_str(TLDS[(next() % TLDS.len() as u64) as usize]);
        seen.insert(name);
    }
    let mut names: Vec<String> = seen.into_iter().collect();
    names.sort_unstable();
    names
}

/// The baseline: every name as a `String` in a `HashSet`.
pub fn hashset_load(text: &str) -> HashSet<String> {
    text.lines().map(str::to_ascii_lowercase).collect()
}

/// The baseline lookup: the name, then each parent, until one is listed.
pub fn hashset_blocks(set: &HashSet<String>, name: &str) -> bool {
    let mut rest = name.strip_suffix('.').unwrap_or(name);
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

/// A 4-label name under a listed 3-label name (a hit on a parent, the common
/// case), and a 4-label name under nothing listed (a miss).
pub fn four_label_probes(names: &[String]) -> (String, String) {
    let listed = names
        .iter()
        .find(|n| n.matches('.').count() == 2)
        .expect("the generator makes 3-label names");
    (
        format!("cdn.{listed}"),
        "cdn.static.unlisted-example.com".to_string(),
    )
}

/// `count` different 4-label hits (each under a different listed 3-label
/// name) and `count` different 4-label misses, to measure lookups whose table
/// slots are not all in cache, unlike one name asked again and again.
pub fn rotating_probes(names: &[String], count: usize) -> (Vec<String>, Vec<String>) {
    let hits: Vec<String> = names
        .iter()
        .filter(|n| n.matches('.').count() == 2)
        .step_by(50)
        .take(count)
        .map(|n| format!("cdn.{n}"))
        .collect();
    let listed: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut state = 0x51_7cc1_b727_220au64;
    let mut misses = Vec::with_capacity(count);
    while misses.len() < count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let name = format!("cdn.m{:x}.s{:x}.com", state >> 40, state & 0xff_ffff);
        if !hashset_blocks_strs(&listed, &name) {
            misses.push(name);
        }
    }
    assert_eq!(hits.len(), count, "enough 3-label names to probe under");
    (hits, misses)
}

fn hashset_blocks_strs(set: &HashSet<&str>, name: &str) -> bool {
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
