//! The name↔address map: which name an address was handed out for.
//!
//! Filled from resolver answers as they pass, so that a later flow to an
//! address can be attributed to, and judged by, the name the app asked for.
//! Bounded in entries; the least recently refreshed entry goes first.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers are kept at least this long, whatever their TTL: apps keep using an
/// address well past a short TTL, and the attribution should follow them.
const MIN_KEEP: Duration = Duration::from_secs(300);
/// ... and at most this long, so an address reused by another site is not
/// blamed on an old name forever.
const MAX_KEEP: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug)]
struct Entry {
    name: Arc<str>,
    expires: Instant,
    /// Bumped on every refresh, so stale queue slots can be told apart.
    generation: u64,
}

/// A bounded map from addresses to the names they were resolved from, and back.
#[derive(Debug)]
pub struct NameMap {
    by_address: HashMap<IpAddr, Entry>,
    by_name: HashMap<Arc<str>, Vec<IpAddr>>,
    /// Insertion order for eviction: (address, generation when queued).
    order: VecDeque<(IpAddr, u64)>,
    capacity: usize,
    next_generation: u64,
}

impl NameMap {
    pub fn new(capacity: usize) -> Self {
        Self {
            by_address: HashMap::new(),
            by_name: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            next_generation: 0,
        }
    }

    /// Records that `name` resolved to `address` with `ttl` seconds to live.
    pub fn insert(&mut self, name: &str, address: IpAddr, ttl: u32, now: Instant) {
        let keep = Duration::from_secs(u64::from(ttl)).clamp(MIN_KEEP, MAX_KEEP);
        let name = match self.by_name.get_key_value(name) {
            Some((existing, _)) => existing.clone(),
            None => Arc::from(name),
        };
        let generation = self.next_generation;
        self.next_generation += 1;
        let previous = self.by_address.insert(
            address,
            Entry {
                name: name.clone(),
                expires: now + keep,
                generation,
            },
        );
        if let Some(previous) = previous {
            self.unlink(&previous.name, address);
        }
        self.by_name.entry(name).or_default().push(address);
        self.order.push_back((address, generation));
        while self.by_address.len() > self.capacity {
            self.evict_oldest();
        }
        // Stale queue slots (refreshed addresses) are dropped lazily; keep the
        // queue from growing past twice the live entries.
        if self.order.len() > 2 * self.capacity {
            let live = &self.by_address;
            self.order
                .retain(|(a, g)| live.get(a).is_some_and(|e| e.generation == *g));
        }
    }

    /// The name `address` was last handed out for, unless that has expired.
    pub fn name_of(&self, address: IpAddr, now: Instant) -> Option<&str> {
        self.by_address
            .get(&address)
            .filter(|e| e.expires > now)
            .map(|e| &*e.name)
    }

    /// The addresses `name` resolved to and that are still mapped to it.
    pub fn addresses_of(&self, name: &str) -> &[IpAddr] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }

    fn evict_oldest(&mut self) {
        while let Some((address, generation)) = self.order.pop_front() {
            let current = self
                .by_address
                .get(&address)
                .is_some_and(|e| e.generation == generation);
            if current {
                if let Some(entry) = self.by_address.remove(&address) {
                    self.unlink(&entry.name, address);
                }
                return;
            }
        }
    }

    fn unlink(&mut self, name: &Arc<str>, address: IpAddr) {
        if let Some(addresses) = self.by_name.get_mut(name) {
            addresses.retain(|a| *a != address);
            if addresses.is_empty() {
                self.by_name.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn maps_both_ways_and_follows_a_rebinding() {
        let now = Instant::now();
        let mut map = NameMap::new(10);
        map.insert("a.example", ip("198.18.1.1"), 60, now);
        map.insert("a.example", ip("fd00::1"), 60, now);
        assert_eq!(map.name_of(ip("198.18.1.1"), now), Some("a.example"));
        assert_eq!(map.addresses_of("a.example").len(), 2);
        map.insert("b.example", ip("198.18.1.1"), 60, now);
        assert_eq!(map.name_of(ip("198.18.1.1"), now), Some("b.example"));
        assert_eq!(map.addresses_of("a.example"), &[ip("fd00::1")]);
    }

    #[test]
    fn entries_expire_but_short_ttls_are_stretched() {
        let now = Instant::now();
        let mut map = NameMap::new(10);
        map.insert("a.example", ip("198.18.1.1"), 1, now);
        assert!(map
            .name_of(ip("198.18.1.1"), now + Duration::from_secs(10))
            .is_some());
        assert!(map.name_of(ip("198.18.1.1"), now + MIN_KEEP).is_none());
        map.insert("b.example", ip("198.18.1.2"), u32::MAX, now);
        assert!(map.name_of(ip("198.18.1.2"), now + MAX_KEEP).is_none());
    }

    #[test]
    fn capacity_is_a_hard_bound_and_the_oldest_goes_first() {
        let now = Instant::now();
        let mut map = NameMap::new(100);
        for i in 0..10_000u32 {
            let address = IpAddr::from(i.to_be_bytes());
            map.insert(&format!("n{}.example", i % 7), address, 60, now);
            // Refresh an early address now and then, so it survives.
            map.insert("kept.example", ip("198.18.9.9"), 60, now);
            assert!(map.len() <= 100);
        }
        assert!(map.order.len() <= 200);
        assert_eq!(map.name_of(ip("198.18.9.9"), now), Some("kept.example"));
        assert_eq!(map.name_of(IpAddr::from(0u32.to_be_bytes()), now), None);
        let mapped: usize = map.by_name.values().map(Vec::len).sum();
        assert_eq!(mapped, map.len());
    }
}
