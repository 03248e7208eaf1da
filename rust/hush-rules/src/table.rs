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
//! million names, so a 4-label name about 1.4e-8, one in 70 million). That is
//! the price of the memory budget, and it is stated here rather than hidden:
//! a rare unlisted name may be blocked (or allowed) as if it were listed.
//!
//! The table size is not rounded to a power of two (that could nearly double
//! the memory); slots are chosen with the multiply-high "fastrange" mapping.

/// Slots per entry is 1 / LOAD_FACTOR.
const LOAD_FACTOR: f64 = 0.7;
const LIST_BITS: u32 = 16;
const LIST_MASK: u64 = (1 << LIST_BITS) - 1;

/// The 48-bit key of a hash, never zero so that zero can mark an empty slot.
#[inline]
pub fn key_of(hash: u64) -> u64 {
    let key = hash & !LIST_MASK;
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
    /// Builds a table from `(key, list)` pairs whose keys are distinct.
    pub fn from_distinct(entries: &[u64]) -> Self {
        if entries.is_empty() {
            return Self::default();
        }
        let capacity = ((entries.len() as f64 / LOAD_FACTOR).ceil() as usize).max(8);
        let mut slots = vec![0u64; capacity].into_boxed_slice();
        for &entry in entries {
            let mut index = slot_of(entry, capacity);
            while slots[index] != 0 {
                index += 1;
                if index == capacity {
                    index = 0;
                }
            }
            slots[index] = entry;
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

    /// The list id stored for `hash`, if the table holds its key.
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

    /// Heap bytes held by the table.
    pub fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
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

/// Calls `visit` with the hash of every suffix of `name` that starts at a
/// label, shortest first ("com", "example.com", "a.example.com"), in one pass
/// from the right. Bytes are lowered to ASCII lower case on the way.
#[inline]
pub fn for_each_suffix_hash(name: &[u8], mut visit: impl FnMut(u64) -> bool) {
    let mut state = FNV_OFFSET;
    for (i, &byte) in name.iter().enumerate().rev() {
        if byte == b'.' && i + 1 < name.len() && visit(finish(state)) {
            return;
        }
        state = (state ^ u64::from(byte.to_ascii_lowercase())).wrapping_mul(FNV_PRIME);
    }
    if !name.is_empty() {
        visit(finish(state));
    }
}

/// The hash of a whole (normalised) name, equal to its longest suffix hash.
pub fn name_hash(name: &str) -> u64 {
    let mut last = 0;
    for_each_suffix_hash(name.as_bytes(), |hash| {
        last = hash;
        false
    });
    last
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
        for_each_suffix_hash(b"A.Example.COM", |h| {
            seen.push(h);
            false
        });
        assert_eq!(
            seen,
            vec![
                name_hash("com"),
                name_hash("example.com"),
                name_hash("a.example.com")
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
        let table = HashTable::from_distinct(&entries);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(table.get(name_hash(n)), Some((i % 3) as u16));
        }
        for i in 0..10_000 {
            assert_eq!(table.get(name_hash(&format!("m{i}.example"))), None);
        }
        assert!(table.heap_bytes() <= 12 * names.len());
    }
}
