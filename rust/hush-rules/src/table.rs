//! A compact set of name hashes, each tagged with the list it came from.
//!
//! Why not a `HashSet<String>`: a million names cost about 73 bytes each
//! there (measured, see BENCH_NOTES.md). Here a name costs one `u64` slot at
//! a load factor of 0.7, about 11.4 bytes, and a lookup allocates nothing:
//! the hashes of all of a name's suffixes come out of one right-to-left pass
//! over its bytes, and each is one linear-probe sequence.
//!
//! Each slot holds the top 48 bits of the name's 64-bit hash and a 16-bit list
//! id; 0 marks an empty slot. Two different names collide when their 48-bit
//! keys are equal: with n names in the table, a lookup of an unlisted name is a
//! false match with probability about n / 2^48 per probed suffix (3.6e-9 for a
//! million names, so a 4-label name about 1.4e-8, one in 70 million). In a
//! [`HashTable`] alone that is the price of the memory budget, and it is
//! stated here rather than hidden: a rare unlisted name may be blocked as if
//! it were listed. [`ExactTable`] removes it where it would let a name
//! through (see below, and the crate docs for the figures).
//!
//! The table size is not rounded to a power of two (that could nearly double
//! the memory); slots are chosen with the multiply-high "fastrange" mapping.
//!
//! [`HashTable`] may hold several entries under one key (one per list): they
//! sit in the probe sequence in the order they were inserted, so a caller
//! that inserts them in list order meets them in list order.
//!
//! [`ExactTable`] is a [`HashTable`] that also keeps each entry's name and
//! confirms a key match by comparing names, so a name that merely hashes
//! like a listed one never matches. Hush uses it where a false match would
//! let something through (allowlists, a list's own `@@` exceptions): an app
//! can compute a colliding label offline, since the hash is not keyed. The
//! block table stays hash-only; the figures behind that choice are in the
//! crate docs and BENCHMARKS.md ("Scoped exceptions and exact matching").

#[cfg(test)]
use std::cell::Cell;

/// Slots per entry is 1 / LOAD_FACTOR.
const LOAD_FACTOR: f64 = 0.7;
const LIST_BITS: u32 = 16;
const LIST_MASK: u64 = (1 << LIST_BITS) - 1;

#[cfg(test)]
thread_local! {
    /// Test builds only: a mask that shortens keys, so that collisions,
    /// infeasible to find at 48 bits, turn up among a few hundred names.
    static KEY_MASK: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// Runs `f` with keys cut to their top `bits` bits on this thread (tests).
#[cfg(test)]
pub fn with_short_keys<R>(bits: u32, f: impl FnOnce() -> R) -> R {
    let mask = !(u64::MAX >> bits.min(48));
    let before = KEY_MASK.with(|m| m.replace(mask));
    let out = f();
    KEY_MASK.with(|m| m.set(before));
    out
}

#[cfg(test)]
#[inline]
fn key_mask() -> u64 {
    KEY_MASK.with(Cell::get)
}

#[cfg(not(test))]
#[inline(always)]
fn key_mask() -> u64 {
    u64::MAX
}

/// The 48-bit key of a hash, never zero so that zero can mark an empty slot.
#[inline]
pub fn key_of(hash: u64) -> u64 {
    let key = hash & !LIST_MASK & key_mask();
    if key == 0 {
        1 << LIST_BITS
    } else {
        key
    }
}

#[derive(Debug, Default)]
pub struct HashTable {
    slots: Box<[u64]>,
    len: usize,
}

impl HashTable {
    /// Builds a table from `(key, list)` entries; a key may repeat. `placed`
    /// hears where each entry went: (index in `entries`, slot).
    pub fn from_entries(entries: &[u64], mut placed: impl FnMut(usize, usize)) -> Self {
        if entries.is_empty() {
            return Self::default();
        }
        let capacity = ((entries.len() as f64 / LOAD_FACTOR).ceil() as usize).max(8);
        let mut slots = vec![0u64; capacity].into_boxed_slice();
        for (at, &entry) in entries.iter().enumerate() {
            let mut index = slot_of(entry, capacity);
            while slots[index] != 0 {
                index += 1;
                if index == capacity {
                    index = 0;
                }
            }
            slots[index] = entry;
            placed(at, index);
        }
        Self {
            slots,
            len: entries.len(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The list id of the first entry stored under `hash`'s key, if any.
    #[inline]
    pub fn get(&self, hash: u64) -> Option<u16> {
        let capacity = self.slots.len();
        if capacity == 0 {
            return None;
        }
        let key = key_of(hash);
        let mut index = slot_of(key, capacity);
        loop {
            let slot = self.slots[index];
            if slot == 0 {
                return None;
            }
            if slot & !LIST_MASK == key {
                return Some((slot & LIST_MASK) as u16);
            }
            index += 1;
            if index == capacity {
                index = 0;
            }
        }
    }

    /// Calls `visit(slot, list)` for every entry under `hash`'s key, in
    /// insertion order, until it returns true; returns whether one did.
    pub fn probe(&self, hash: u64, mut visit: impl FnMut(usize, u16) -> bool) -> bool {
        let capacity = self.slots.len();
        if capacity == 0 {
            return false;
        }
        let key = key_of(hash);
        let mut index = slot_of(key, capacity);
        // At least one slot is always empty (load factor below 1), so this
        // ends; the count is a second guard.
        for _ in 0..capacity {
            let slot = self.slots[index];
            if slot == 0 {
                return false;
            }
            if slot & !LIST_MASK == key && visit(index, (slot & LIST_MASK) as u16) {
                return true;
            }
            index += 1;
            if index == capacity {
                index = 0;
            }
        }
        false
    }

    /// Heap bytes held by the table.
    pub fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }
}

/// A [`HashTable`] that keeps its names and matches only on equal names.
#[derive(Debug, Default)]
pub struct ExactTable {
    table: HashTable,
    /// Per slot: where its name starts in `names` (a length byte, then the
    /// bytes). Unused for empty slots.
    starts: Box<[usize]>,
    names: Box<[u8]>,
}

impl ExactTable {
    /// Builds from `(entry, name)` pairs; names are normalised (lower case)
    /// and at most 253 bytes. Entries under one key are met in this order.
    pub fn from_named(entries: &[(u64, Box<str>)]) -> Self {
        if entries.is_empty() {
            return Self::default();
        }
        let mut names = Vec::new();
        let mut name_at = Vec::with_capacity(entries.len());
        for (_, name) in entries {
            name_at.push(names.len());
            // Longer names cannot be normalised ones; cut rather than fail.
            let bytes = &name.as_bytes()[..name.len().min(usize::from(u8::MAX))];
            names.push(bytes.len() as u8);
            names.extend_from_slice(bytes);
        }
        let keys: Vec<u64> = entries.iter().map(|(entry, _)| *entry).collect();
        let mut starts = Vec::new();
        let table = HashTable::from_entries(&keys, |at, slot| {
            if starts.len() <= slot {
                starts.resize(slot + 1, 0);
            }
            starts[slot] = name_at[at];
        });
        Self {
            table,
            starts: starts.into_boxed_slice(),
            names: names.into_boxed_slice(),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The name stored in `slot`.
    fn name(&self, slot: usize) -> &[u8] {
        let Some(&start) = self.starts.get(slot) else {
            return &[];
        };
        let len = self.names.get(start).map_or(0, |&len| usize::from(len));
        self.names.get(start + 1..start + 1 + len).unwrap_or(&[])
    }

    /// The list of the first entry under `hash` whose name is `name` (any
    /// ASCII case) and whose list `wanted` accepts.
    #[inline]
    pub fn get(&self, hash: u64, name: &[u8], wanted: impl Fn(u16) -> bool) -> Option<u16> {
        let mut found = None;
        self.table.probe(hash, |slot, list| {
            let hit = wanted(list) && self.name(slot).eq_ignore_ascii_case(name);
            if hit {
                found = Some(list);
            }
            hit
        });
        found
    }

    /// Heap bytes held by the table and its names.
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.starts.len() * std::mem::size_of::<usize>()
            + self.names.len()
    }
}

/// Maps a key onto `0..capacity` without a division ("fastrange").
#[inline]
fn slot_of(key: u64, capacity: usize) -> usize {
    // The key's low 16 bits are the list id, so mix from the high bits.
    ((u128::from(key) * capacity as u128) >> 64) as usize
}

/// Combines a 48-bit key and a list id into a table entry.
pub fn entry(key: u64, list: u16) -> u64 {
    key | u64::from(list)
}

/// Calls `visit(hash, start)` for every suffix of `name` that starts at a
/// label, shortest first ("com", "example.com", "a.example.com"), in one pass
/// from the right; the suffix is `name[start..]`. Bytes are lowered to ASCII
/// lower case on the way. Stops when `visit` returns true.
#[inline]
pub fn for_each_suffix_hash(name: &[u8], mut visit: impl FnMut(u64, usize) -> bool) {
    let mut state = FNV_OFFSET;
    for (i, &byte) in name.iter().enumerate().rev() {
        if byte == b'.' && i + 1 < name.len() && visit(finish(state), i + 1) {
            return;
        }
        state = (state ^ u64::from(byte.to_ascii_lowercase())).wrapping_mul(FNV_PRIME);
    }
    if !name.is_empty() {
        visit(finish(state), 0);
    }
}

/// The hash of a whole (normalised) name, equal to its longest suffix hash.
pub fn name_hash(name: &str) -> u64 {
    let mut last = 0;
    for_each_suffix_hash(name.as_bytes(), |hash, _| {
        last = hash;
        false
    });
    last
}

/// The hash of the pair (a name's hash, a list): the key under which "this
/// list makes an exception for this name" is stored.
#[inline]
pub fn pair_hash(hash: u64, list: u16) -> u64 {
    finish(hash ^ (u64::from(list) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// murmur3's finaliser: spreads FNV's weak high bits over the whole word,
/// which the 48-bit key and the slot index both depend on.
#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_hashes_equal_the_hashes_of_the_suffixes() {
        let mut seen = Vec::new();
        for_each_suffix_hash(b"A.Example.COM", |h, start| {
            seen.push((h, start));
            false
        });
        assert_eq!(
            seen,
            vec![
                (name_hash("com"), 10),
                (name_hash("example.com"), 2),
                (name_hash("a.example.com"), 0)
            ]
        );
    }

    #[test]
    fn table_finds_what_it_holds_and_nothing_else() {
        let names: Vec<String> = (0..10_000).map(|i| format!("n{i}.example")).collect();
        let entries: Vec<u64> = names
            .iter()
            .enumerate()
            .map(|(i, n)| entry(key_of(name_hash(n)), (i % 3) as u16))
            .collect();
        let table = HashTable::from_entries(&entries, |_, _| {});
        for (i, n) in names.iter().enumerate() {
            assert_eq!(table.get(name_hash(n)), Some((i % 3) as u16));
        }
        for i in 0..10_000 {
            assert_eq!(table.get(name_hash(&format!("m{i}.example"))), None);
        }
        assert!(table.heap_bytes() <= 12 * names.len());
    }

    #[test]
    fn entries_under_one_key_are_met_in_insertion_order() {
        let key = key_of(name_hash("shared.example"));
        let other = key_of(name_hash("other.example"));
        let entries = [entry(key, 3), entry(key, 7), entry(other, 1), entry(key, 9)];
        let table = HashTable::from_entries(&entries, |_, _| {});
        let mut seen = Vec::new();
        table.probe(name_hash("shared.example"), |_, list| {
            seen.push(list);
            false
        });
        assert_eq!(seen, [3, 7, 9]);
        assert_eq!(table.get(name_hash("shared.example")), Some(3));
        assert_eq!(table.get(name_hash("other.example")), Some(1));
        assert!(!table.probe(name_hash("none.example"), |_, _| true));
    }

    #[test]
    fn an_exact_table_matches_names_not_keys() {
        let named =
            |name: &str, list| (entry(key_of(name_hash(name)), list), Box::<str>::from(name));
        // "lookalike.example" stored under the real key of "a.example": a
        // collision, as far as the hash can tell.
        let forged = (
            entry(key_of(name_hash("a.example")), 2),
            Box::<str>::from("lookalike.example"),
        );
        let table = ExactTable::from_named(&[named("a.example", 0), forged, named("b.example", 1)]);
        assert_eq!(table.len(), 3);
        let a = name_hash("a.example");
        assert_eq!(table.get(a, b"a.example", |_| true), Some(0));
        assert_eq!(table.get(a, b"A.Example", |_| true), Some(0));
        assert_eq!(table.get(a, b"lookalike.example", |_| true), Some(2));
        assert_eq!(table.get(a, b"a.example", |list| list != 0), None);
        assert_eq!(table.get(a, b"c.example", |_| true), None);
        assert_eq!(
            table.get(name_hash("b.example"), b"b.example", |_| true),
            Some(1)
        );
        assert!(table.heap_bytes() > 3 * "a.example".len());
        assert_eq!(
            ExactTable::from_named(&[]).get(a, b"a.example", |_| true),
            None
        );
    }
}
