//! Ways around the firewall, and what closes them: the resolvers Hush must
//! never block, the addresses each app had from DNS through Hush, and which
//! addresses are the local network's.
//!
//! An app that carries its own resolver (DNS over HTTPS, TLS or QUIC), or
//! connects to an address it was never given by DNS, is not seen by Hush's
//! DNS path. The engine closes these ways: port 853 is refused (DoT, DoQ;
//! [`crate::Reason::EncryptedDns`]), known encrypted-DNS endpoints are
//! blocked by name like any list entry (the built-in `hush-doh` list), and
//! an app set to "resolved only" reaches only addresses Hush resolved for it
//! ([`crate::Reason::NotResolved`], with [`ResolvedAddresses`] as its memory).
//!
//! Layer: engine policy data, no I/O; the clock is passed in.
//!
//! Invariants: [`ResolvedAddresses`] is bounded in entries (the oldest
//! answer goes first), forgets an answer at its TTL plus the grace period,
//! and answers a lookup in one hash probe.
//!
//! Never: log the names or addresses it holds.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// What the resolver Hush itself uses, and any the platform needs, are
/// known by: these names (and every name under them) and addresses are
/// never blocked for being an encrypted-DNS endpoint or an unresolved
/// address.
///
/// Exempt from: the `hush-doh` list (by DNS, TLS SNI, HTTP Host, QUIC SNI,
/// and by the DNS name of an address); the port-853 refusal; the
/// "resolved only" refusal. Not exempt from: the user's own rules and
/// modes, and every other list.
///
/// Hush's own queries leave through protected sockets, never the tun, and
/// are not judged at all; this is for resolver traffic that does pass
/// through the tun. On Android, the platform should add the Private DNS
/// host name when Private DNS is in strict mode (the system resolver then
/// speaks DNS over TLS to it, through the VPN), and its addresses.
///
/// The upstream resolver's address is exempt from "resolved only" on its
/// own (the relay knows it); it is deliberately *not* exempt from the
/// port-853 refusal, since apps that bring their own DoT mostly use the
/// same few public resolvers a user may also pick for Hush.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolverExemptions {
    /// Lower case, no trailing dot.
    names: Vec<String>,
    addresses: Vec<IpAddr>,
}

impl ResolverExemptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Exempts `name` and every name under it. Case and a trailing dot do
    /// not matter; an empty name exempts nothing.
    pub fn add_name(&mut self, name: &str) {
        let name = normalise(name);
        if !name.is_empty() && !self.names.contains(&name) {
            self.names.push(name);
        }
    }

    /// Exempts `name` as [`Self::add_name`] does, once it is checked to be
    /// a host name (letters, digits, `-` and `_` in dot-separated labels of
    /// at most 63 bytes, 253 in all): what the platform sends is not trusted
    /// to be one.
    pub fn add_host_name(&mut self, name: &str) -> Result<(), String> {
        let normalised = normalise(name);
        let label_ok = |label: &str| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if normalised.is_empty() || normalised.len() > 253 || !normalised.split('.').all(label_ok) {
            return Err(format!("{name:?} is not a host name"));
        }
        self.add_name(&normalised);
        Ok(())
    }

    pub fn add_address(&mut self, address: IpAddr) {
        let address = canonical(address);
        if !self.addresses.contains(&address) {
            self.addresses.push(address);
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.addresses.is_empty()
    }

    /// Whether `name` is an exempt name or under one.
    pub fn exempts_name(&self, name: &str) -> bool {
        // Bytes, not characters: an SNI may hold any UTF-8.
        let name = name.as_bytes();
        let name = name.strip_suffix(b".").unwrap_or(name);
        self.names.iter().any(|exempt| {
            let exempt = exempt.as_bytes();
            let Some(start) = name.len().checked_sub(exempt.len()) else {
                return false;
            };
            name[start..].eq_ignore_ascii_case(exempt) && (start == 0 || name[start - 1] == b'.')
        })
    }

    pub fn exempts_address(&self, address: IpAddr) -> bool {
        self.addresses.contains(&canonical(address))
    }
}

fn normalise(name: &str) -> String {
    let name = name.trim();
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `address` is on the local network, where "resolved only" does
/// not apply (printers, casting, a router's page are reached by address):
/// private IPv4 (RFC 1918), link-local (169.254.0.0/16, fe80::/10), unique
/// local IPv6 (fc00::/7, which holds fd00::/8), multicast and the IPv4
/// broadcast address. IPv4-mapped IPv6 addresses count as their IPv4 one.
///
/// Not local: benchmarking space 198.18.0.0/15 (Hush's lab stands in for
/// the internet there), shared space 100.64.0.0/10 (the carrier's side of
/// a NAT), and loopback, whose packets never reach a tun.
pub fn is_local(address: IpAddr) -> bool {
    match canonical(address) {
        IpAddr::V4(v4) => is_local_v4(v4),
        IpAddr::V6(v6) => is_local_v6(v6),
    }
}

fn is_local_v4(v4: Ipv4Addr) -> bool {
    v4.is_private() || v4.is_link_local() || v4.is_multicast() || v4.is_broadcast()
}

fn is_local_v6(v6: Ipv6Addr) -> bool {
    let first = v6.segments()[0];
    (first & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (first & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || v6.is_multicast()
}

/// An app's answer is kept at most this long past its TTL's start, whatever
/// the TTL says (one day: resolvers cap TTLs there, e.g. Unbound's
/// `cache-max-ttl`).
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// An (app, address) pair as a 64-bit keyed hash (SipHash with a key drawn
/// at start): 8 bytes where the pair takes 28.
type Key = u64;

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Whole seconds since the memory's origin, rounded up.
    expires: u32,
    /// Bumped on every refresh, so stale queue slots can be told apart.
    generation: u32,
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used, for a `Key`; mix anything else in.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// Which addresses DNS through Hush gave to which app, until each answer's
/// TTL plus a grace period has passed. Bounded in entries: past the bound,
/// the entry least recently given goes. A lookup is one keyed hash and one
/// table probe; an insert adds amortised O(1) eviction.
///
/// Pairs are kept as 64-bit keyed hashes, so two pairs could share one,
/// with a chance of about n / 2^64 per lookup (n = pairs held): 3.6e-15 at
/// 65,536. Memory when full, measured with a counting allocator after a
/// million inserts: 100 bytes an entry (3.3 MB at the default 32,768, 6.6 MB
/// at 65,536): 17 bytes per table slot, with four slots an entry once
/// evictions have left tombstones, and 16 per eviction queue slot, two an
/// entry. It fills over a day of use and stays at that size.
#[derive(Debug)]
pub struct ResolvedAddresses {
    entries: HashMap<Key, Entry, std::hash::BuildHasherDefault<KeyHasher>>,
    /// Insertion order for eviction: (key, generation when queued).
    order: VecDeque<(Key, u32)>,
    capacity: usize,
    grace: Duration,
    next_generation: u32,
    /// Where expiry seconds count from.
    origin: Instant,
    keys: std::collections::hash_map::RandomState,
}

impl ResolvedAddresses {
    /// A memory of at most `capacity` (app, address) pairs, each kept for
    /// its answer's TTL and then `grace`.
    pub fn new(capacity: usize, grace: Duration) -> Self {
        Self {
            entries: HashMap::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            grace,
            next_generation: 0,
            origin: Instant::now(),
            keys: std::collections::hash_map::RandomState::new(),
        }
    }

    fn key(&self, uid: Option<u32>, address: IpAddr) -> Key {
        use std::hash::BuildHasher;
        self.keys.hash_one((uid, canonical(address)))
    }

    /// Seconds from the origin to `now`, plus `ahead`, rounded up.
    fn seconds(&self, now: Instant, ahead: Duration) -> u32 {
        let since = now.saturating_duration_since(self.origin) + ahead;
        let whole = since.as_secs() + u64::from(since.subsec_nanos() > 0);
        u32::try_from(whole).unwrap_or(u32::MAX)
    }

    /// Records that an answer through Hush gave `address` to the app `uid`
    /// (`None`: an app whose owner is unknown) with `ttl` seconds to live.
    /// A later answer never shortens what an earlier one gave.
    pub fn insert(&mut self, uid: Option<u32>, address: IpAddr, ttl: u32, now: Instant) {
        let keep = Duration::from_secs(u64::from(ttl)).min(MAX_TTL) + self.grace;
        let mut expires = self.seconds(now, keep);
        let key = self.key(uid, address);
        if let Some(entry) = self.entries.get(&key) {
            expires = expires.max(entry.expires);
        }
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        // Stale queue slots (refreshed keys) are dropped lazily; the queue
        // never holds more than twice the bound, so it never grows past it.
        if self.order.len() >= 2 * self.capacity {
            let live = &self.entries;
            self.order
                .retain(|(k, g)| live.get(k).is_some_and(|e| e.generation == *g));
        }
        self.entries.insert(
            key,
            Entry {
                expires,
                generation,
            },
        );
        self.order.push_back((key, generation));
        while self.entries.len() > self.capacity {
            self.evict_oldest();
        }
    }

    /// Whether an answer through Hush gave `address` to the app `uid`, and
    /// its TTL and the grace period have not yet passed.
    pub fn contains(&self, uid: Option<u32>, address: IpAddr, now: Instant) -> bool {
        let now = self.seconds(now, Duration::ZERO);
        self.entries
            .get(&self.key(uid, address))
            .is_some_and(|entry| entry.expires > now)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    fn evict_oldest(&mut self) {
        while let Some((key, generation)) = self.order.pop_front() {
            let current = self
                .entries
                .get(&key)
                .is_some_and(|e| e.generation == generation);
            if current {
                self.entries.remove(&key);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn local_ranges_are_local_and_the_lab_and_the_internet_are_not() {
        for local in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.10.1",
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "ff02::fb",
            "::ffff:192.168.0.10",
        ] {
            assert!(is_local(ip(local)), "{local}");
        }
        for remote in [
            "198.18.0.1",
            "198.19.255.254",
            "172.32.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "8.8.8.8",
            "::1",
            "2001:db8::1",
            "fec0::1",
            "::ffff:198.18.0.1",
        ] {
            assert!(!is_local(ip(remote)), "{remote}");
        }
    }

    #[test]
    fn exemptions_cover_names_below_and_addresses_in_either_form() {
        let mut exempt = ResolverExemptions::new();
        assert!(exempt.is_empty());
        exempt.add_name("DNS.Google.");
        exempt.add_name("");
        exempt.add_address(ip("8.8.8.8"));
        assert_eq!(exempt.names(), ["dns.google"]);
        assert!(exempt.exempts_name("dns.google"));
        assert!(exempt.exempts_name("x.DNS.google."));
        assert!(!exempt.exempts_name("notdns.google"));
        assert!(!exempt.exempts_name("google"));
        assert!(!exempt.exempts_name(""));
        assert!(!exempt.exempts_name("é.dns.googlé"));
        assert!(exempt.exempts_name("é.dns.google"));
        assert!(exempt.exempts_address(ip("8.8.8.8")));
        assert!(exempt.exempts_address(ip("::ffff:8.8.8.8")));
        assert!(!exempt.exempts_address(ip("8.8.4.4")));
    }

    #[test]
    fn an_answer_holds_for_its_ttl_and_the_grace_period_for_its_app_only() {
        let grace = Duration::from_secs(300);
        let mut resolved = ResolvedAddresses::new(16, grace);
        let now = Instant::now();
        let address = ip("198.18.7.7");
        resolved.insert(Some(10_001), address, 60, now);
        assert!(resolved.contains(Some(10_001), address, now));
        assert!(resolved.contains(
            Some(10_001),
            ip("::ffff:198.18.7.7"),
            now + Duration::from_secs(359)
        ));
        assert!(!resolved.contains(Some(10_001), address, now + Duration::from_secs(360)));
        assert!(!resolved.contains(Some(10_002), address, now));
        assert!(!resolved.contains(None, address, now));
        assert!(!resolved.contains(Some(10_001), ip("198.18.7.8"), now));
        // A shorter answer later does not cut a longer one short; a longer one extends.
        resolved.insert(Some(10_001), address, 3600, now);
        resolved.insert(Some(10_001), address, 1, now);
        assert!(resolved.contains(Some(10_001), address, now + Duration::from_secs(3000)));
        // A TTL past a day counts as a day.
        resolved.insert(Some(7), address, u32::MAX, now);
        assert!(!resolved.contains(Some(7), address, now + MAX_TTL + grace));
    }

    #[test]
    fn the_memory_is_bounded_and_the_oldest_answer_goes_first() {
        let mut resolved = ResolvedAddresses::new(100, Duration::from_secs(300));
        let now = Instant::now();
        let kept = ip("198.18.9.9");
        for i in 0..10_000u32 {
            resolved.insert(Some(i % 7), IpAddr::from(i.to_be_bytes()), 60, now);
            // Refreshed now and then, so it survives.
            resolved.insert(Some(1), kept, 60, now);
            assert!(resolved.len() <= 100);
            assert!(resolved.order.len() <= 200);
            assert!(resolved.order.capacity() <= 256, "the queue stays small");
        }
        assert!(resolved.contains(Some(1), kept, now));
        assert!(!resolved.contains(Some(0), IpAddr::from(0u32.to_be_bytes()), now));
        assert!(resolved.contains(Some(9_999 % 7), IpAddr::from(9_999u32.to_be_bytes()), now));
    }
}
