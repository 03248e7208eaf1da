//! Which app owns a flow: the trait the platforms implement, a fake for
//! tests, and a bounded cache in front of any of them.
//!
//! On Linux the owner is found with netlink `sock_diag` or `/proc/net`
//! (`hush-linux`); on Android 10 and later with
//! `ConnectivityManager.getConnectionOwnerUid`, which takes exactly what a
//! [`FlowKey`] holds, so its adapter stays a one-liner.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The transport of a flow, as owner lookups name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

/// A flow from the app's side: its own address, and where it is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub transport: Transport,
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

/// Finds the Linux/Android uid of the app owning a flow; `None` when the
/// platform cannot say (the socket is gone, or the lookup is not allowed).
/// [`owner`](OwnerLookup::owner) may block (a call into the JVM and on
/// into a binder call, a read of `/proc/net`): the relay makes it off its
/// packet path. A lookup that can answer without waiting says so through
/// [`owner_at_once`](OwnerLookup::owner_at_once), which the relay asks on
/// its packet path first.
pub trait OwnerLookup: Send + Sync {
    fn owner(&self, flow: &FlowKey) -> Option<u32>;

    /// Whether lookups can ever answer; the relay skips them when not.
    fn is_available(&self) -> bool {
        true
    }

    /// The answer if it can be had at once, waiting on nothing but the
    /// kernel under a short bound (a netlink `sock_diag` round trip: a few
    /// microseconds, where the hop to the blocking pool and back costs
    /// more than the lookup); `None` when only [`owner`](OwnerLookup::owner)
    /// can tell. `Some(None)` is a sure "no owner". None by default.
    fn owner_at_once(&self, _flow: &FlowKey) -> Option<Option<u32>> {
        None
    }
}

impl<T: OwnerLookup + ?Sized> OwnerLookup for std::sync::Arc<T> {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        (**self).owner(flow)
    }

    fn is_available(&self) -> bool {
        (**self).is_available()
    }

    fn owner_at_once(&self, flow: &FlowKey) -> Option<Option<u32>> {
        (**self).owner_at_once(flow)
    }
}

/// No owner information: every flow is unknown.
pub struct NoOwners;

impl OwnerLookup for NoOwners {
    fn owner(&self, _flow: &FlowKey) -> Option<u32> {
        None
    }

    fn is_available(&self) -> bool {
        false
    }
}

/// A fixed table of owners, for tests.
#[derive(Default)]
pub struct FakeOwners {
    owners: Mutex<HashMap<FlowKey, u32>>,
    lookups: std::sync::atomic::AtomicU64,
}

impl FakeOwners {
    pub fn insert(&self, flow: FlowKey, uid: u32) {
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(flow, uid);
    }

    /// How many lookups reached this table.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl OwnerLookup for FakeOwners {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(flow)
            .copied()
    }
}

/// Remembers answers for a while, so repeated lookups of one flow (each
/// datagram of a UDP flow, say) cost a hash probe. Bounded: when full, the
/// oldest half is dropped. Unknown owners are remembered too, for less
/// time, since the socket may not be visible yet. Known owners are kept
/// 30 s, not longer: the key holds the app's port, which the system hands
/// to another socket, perhaps another app's, once the first is closed.
pub struct OwnerCache<L> {
    lookup: L,
    entries: Mutex<HashMap<FlowKey, (Option<u32>, Instant)>>,
    capacity: usize,
    known_for: Duration,
    unknown_for: Duration,
}

impl<L: OwnerLookup> OwnerCache<L> {
    pub fn new(lookup: L, capacity: usize) -> Self {
        Self {
            lookup,
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(2),
            known_for: Duration::from_secs(30),
            unknown_for: Duration::from_secs(2),
        }
    }

    /// The remembered answer for `flow`, without asking the platform:
    /// `None` when there is none (or it is stale), `Some(None)` for a
    /// remembered "unknown".
    pub fn cached(&self, flow: &FlowKey, now: Instant) -> Option<Option<u32>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let &(uid, at) = entries.get(flow)?;
        let ttl = if uid.is_some() {
            self.known_for
        } else {
            self.unknown_for
        };
        (now.saturating_duration_since(at) < ttl).then_some(uid)
    }

    /// The owner of `flow`: remembered, or asked for (which may block).
    pub fn owner_at(&self, flow: &FlowKey, now: Instant) -> Option<u32> {
        if let Some(uid) = self.cached(flow, now) {
            return uid;
        }
        let uid = self.lookup.owner(flow);
        self.remember(flow, uid, now);
        uid
    }

    /// The owner of `flow` if it can be told without waiting: remembered,
    /// or from the lookup's [`OwnerLookup::owner_at_once`].
    pub fn owner_at_once_at(&self, flow: &FlowKey, now: Instant) -> Option<Option<u32>> {
        if let Some(uid) = self.cached(flow, now) {
            return Some(uid);
        }
        let uid = self.lookup.owner_at_once(flow)?;
        self.remember(flow, uid, now);
        Some(uid)
    }

    fn remember(&self, flow: &FlowKey, uid: Option<u32>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            let mut ages: Vec<Instant> = entries.values().map(|&(_, at)| at).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            entries.retain(|_, &mut (_, at)| at > cutoff);
        }
        entries.insert(*flow, (uid, now));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<L: OwnerLookup> OwnerLookup for OwnerCache<L> {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        self.owner_at(flow, Instant::now())
    }

    fn is_available(&self) -> bool {
        self.lookup.is_available()
    }

    fn owner_at_once(&self, flow: &FlowKey) -> Option<Option<u32>> {
        self.owner_at_once_at(flow, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(port: u16) -> FlowKey {
        FlowKey {
            transport: Transport::Tcp,
            local: SocketAddr::from(([198, 18, 0, 1], port)),
            remote: SocketAddr::from(([198, 19, 0, 2], 443)),
        }
    }

    #[test]
    fn answers_are_cached_known_longer_than_unknown() {
        let fake = FakeOwners::default();
        fake.insert(flow(1), 10_123);
        let cache = OwnerCache::new(fake, 100);
        let start = Instant::now();
        assert_eq!(cache.owner_at(&flow(1), start), Some(10_123));
        assert_eq!(
            cache.owner_at(&flow(1), start + Duration::from_secs(20)),
            Some(10_123)
        );
        assert_eq!(cache.owner_at(&flow(2), start), None);
        assert_eq!(
            cache.owner_at(&flow(2), start + Duration::from_secs(1)),
            None
        );
        assert_eq!(cache.lookup.lookups(), 2, "repeats come from the cache");
        // An unknown owner is asked again soon; it may have appeared.
        cache.lookup.insert(flow(2), 10_200);
        assert_eq!(
            cache.owner_at(&flow(2), start + Duration::from_secs(3)),
            Some(10_200)
        );
        assert_eq!(cache.lookup.lookups(), 3);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = OwnerCache::new(NoOwners, 64);
        let start = Instant::now();
        for port in 0..10_000u16 {
            cache.owner_at(&flow(port), start + Duration::from_millis(u64::from(port)));
            assert!(cache.len() <= 64);
        }
    }
}
