//! Address rules: single IPv4 and IPv6 addresses and CIDR ranges, on
//! blocklists and allowlists.
//!
//! Layer: policy data beside the name rules, for flows whose destination
//! never went through DNS (hard-coded addresses, DoH endpoints). No I/O:
//! callers hand in list bytes and get back [`AddressRules`] to query and a
//! [`ListReport`] per list.
//!
//! Format: one address or range per line (`192.0.2.7`, `198.51.100.0/24`,
//! `2001:db8::/32`), `#` comments anywhere on a line, blank lines; a BOM, CR
//! and surrounding whitespace are skipped. A range with host bits set
//! (`10.0.0.1/8`) is taken as the network it is in. IPv4-mapped IPv6
//! addresses (`::ffff:a.b.c.d`, ranges with a prefix of 96 or more) count as
//! the IPv4 address, in lists and in lookups; so `::/0` covers IPv6 only.
//!
//! Semantics match the name rules: an allowlist entry overrides every
//! blocklist, and when several lists cover an address the first one loaded is
//! named.
//!
//! Invariants: loading never fails and never panics, whatever the bytes; each
//! unusable line is a rejected line with its number and reason. The built
//! rules hold, per family and side, sorted and disjoint inclusive ranges, each
//! tagged with the first list that covers it, and neighbours of one list are
//! merged. A lookup is at most two binary searches and never allocates. A
//! stored range takes 10 bytes for IPv4 and 34 for IPv6.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::IpAddr;

use crate::{
    excerpt, lines, ListId, ListKind, ListReport, RejectReason, RejectedLine, MAX_REJECTED_DETAILS,
};

/// The outcome of matching an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressVerdict {
    Blocked(ListId),
    /// An allowlist covers the address; it overrides blocklists.
    Allowed(ListId),
    Unlisted,
}

/// An address as an unsigned integer, so ranges are integer intervals.
trait Bits: Copy + Ord + Default + Debug {
    const MAX: Self;
    fn successor(self) -> Option<Self>;
    /// Only called on values above zero.
    fn predecessor(self) -> Self;
    /// The first and last address of the network of `prefix` bits holding
    /// `self`, or `None` if the prefix is longer than the address.
    fn cidr(self, prefix: u32) -> Option<(Self, Self)>;
}

macro_rules! bits {
    ($t:ty) => {
        impl Bits for $t {
            const MAX: Self = <$t>::MAX;

            fn successor(self) -> Option<Self> {
                self.checked_add(1)
            }

            fn predecessor(self) -> Self {
                self.wrapping_sub(1)
            }

            fn cidr(self, prefix: u32) -> Option<(Self, Self)> {
                if prefix > <$t>::BITS {
                    return None;
                }
                // A shift by the full width is None: a /32 (or /128) has no host bits.
                let host = <$t>::MAX.checked_shr(prefix).unwrap_or(0);
                Some((self & !host, self | host))
            }
        }
    };
}

bits!(u32);
bits!(u128);

/// An inclusive range and the list that gave it, while building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span<T> {
    first: T,
    last: T,
    list: u16,
}

/// Sorted, disjoint inclusive ranges as parallel arrays: the binary search
/// reads only `firsts`, so it touches as little memory as it can.
#[derive(Debug, Default)]
struct Ranges<T> {
    firsts: Vec<T>,
    lasts: Vec<T>,
    lists: Vec<u16>,
}

impl<T: Bits> Ranges<T> {
    /// Resolves overlapping spans so each address keeps the lowest list id
    /// (the first loaded) that covers it, by a sweep over range ends.
    fn build(spans: &[Span<T>]) -> Self {
        // (point, opens, list); a range running to the top of the space has no
        // closing point, and stays open to the end of the sweep.
        let mut points: Vec<(T, bool, u16)> = Vec::with_capacity(spans.len() * 2);
        for span in spans {
            points.push((span.first, true, span.list));
            if let Some(after) = span.last.successor() {
                points.push((after, false, span.list));
            }
        }
        points.sort_unstable();
        // Lists covering the sweep position, with how many of their ranges do:
        // one list's ranges may nest.
        let mut open: BTreeMap<u16, usize> = BTreeMap::new();
        let mut ranges = Ranges::default();
        let mut next = 0;
        while let Some(&(at, _, _)) = points.get(next) {
            while let Some(&(point, opens, list)) = points.get(next) {
                if point != at {
                    break;
                }
                if opens {
                    *open.entry(list).or_default() += 1;
                } else if let Some(count) = open.get_mut(&list) {
                    *count -= 1;
                    if *count == 0 {
                        open.remove(&list);
                    }
                }
                next += 1;
            }
            if let Some(&owner) = open.keys().next() {
                let last = points
                    .get(next)
                    .map_or(T::MAX, |&(point, _, _)| point.predecessor());
                ranges.push(at, last, owner);
            }
        }
        ranges
    }

    /// Appends a range above all held, merged into the last one when it
    /// continues it for the same list.
    fn push(&mut self, first: T, last: T, list: u16) {
        if let (Some(previous_last), Some(&previous_list)) =
            (self.lasts.last_mut(), self.lists.last())
        {
            if previous_list == list && previous_last.successor() == Some(first) {
                *previous_last = last;
                return;
            }
        }
        self.firsts.push(first);
        self.lasts.push(last);
        self.lists.push(list);
    }

    fn find(&self, value: T) -> Option<u16> {
        let at = self
            .firsts
            .partition_point(|&first| first <= value)
            .checked_sub(1)?;
        (self.lasts[at] >= value).then_some(self.lists[at])
    }

    fn len(&self) -> usize {
        self.firsts.len()
    }
}

/// One value per side of the rules.
#[derive(Debug, Default)]
struct Sides<T> {
    blocked: T,
    allowed: T,
}

impl<T> Sides<T> {
    fn side(&mut self, kind: ListKind) -> &mut T {
        match kind {
            ListKind::Block => &mut self.blocked,
            ListKind::Allow => &mut self.allowed,
        }
    }
}

/// Collects address lists, then builds [`AddressRules`].
#[derive(Debug, Default)]
pub struct AddressRulesBuilder {
    names: Vec<String>,
    v4: Sides<Vec<Span<u32>>>,
    v6: Sides<Vec<Span<u128>>>,
}

impl AddressRulesBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one list. Never fails: anything unusable is a rejected line.
    /// `entries` counts the distinct ranges the list gives (after masking),
    /// `duplicates` the ones it repeats; overlapping ranges count apart.
    pub fn add_list(&mut self, name: &str, kind: ListKind, text: &[u8]) -> ListReport {
        let mut report = ListReport {
            name: name.to_string(),
            kind,
            lines: 0,
            entries: 0,
            duplicates: 0,
            ignored: 0,
            allow_entries: 0,
            rejected_count: 0,
            rejected: Vec::new(),
        };
        let Ok(id) = u16::try_from(self.names.len()) else {
            report.rejected_count = 1;
            report.rejected.push(RejectedLine {
                line: 0,
                reason: RejectReason::TooManyLists,
                excerpt: String::new(),
            });
            return report;
        };
        self.names.push(name.to_string());

        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (index, raw) in lines(text).enumerate() {
            report.lines = index + 1;
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some(Entry::V4(first, last))) => v4.push((first, last)),
                Ok(Some(Entry::V6(first, last))) => v6.push((first, last)),
                Err(reason) => {
                    report.rejected_count += 1;
                    if report.rejected.len() < MAX_REJECTED_DETAILS {
                        report.rejected.push(RejectedLine {
                            line: index + 1,
                            reason,
                            excerpt: excerpt(raw),
                        });
                    }
                }
            }
        }

        let taken = v4.len() + v6.len();
        report.entries = take(self.v4.side(kind), v4, id) + take(self.v6.side(kind), v6, id);
        report.duplicates = taken - report.entries;
        report
    }

    pub fn build(self) -> AddressRules {
        AddressRules {
            v4: Sides {
                blocked: Ranges::build(&self.v4.blocked),
                allowed: Ranges::build(&self.v4.allowed),
            },
            v6: Sides {
                blocked: Ranges::build(&self.v6.blocked),
                allowed: Ranges::build(&self.v6.allowed),
            },
            names: self.names,
        }
    }
}

/// Adds one list's ranges, each once; returns how many were distinct.
fn take<T: Bits>(side: &mut Vec<Span<T>>, mut ranges: Vec<(T, T)>, list: u16) -> usize {
    ranges.sort_unstable();
    ranges.dedup();
    side.extend(
        ranges
            .iter()
            .map(|&(first, last)| Span { first, last, list }),
    );
    ranges.len()
}

/// A line's range, as integers of its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    V4(u32, u32),
    V6(u128, u128),
}

/// Reads one line (without its `\n`): `Ok(None)` for blanks and comments.
fn parse_line(raw: &[u8]) -> Result<Option<Entry>, RejectReason> {
    let text = std::str::from_utf8(raw).map_err(|_| RejectReason::NotUtf8)?;
    // No address holds a `#`, so one starts a comment wherever it is.
    let text = text.split('#').next().unwrap_or_default();
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = RejectReason::InvalidAddress;
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix_len(prefix)?)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().map_err(|_| invalid)?;
    let entry = match address {
        IpAddr::V4(v4) => {
            let (first, last) = u32::from(v4).cidr(prefix.unwrap_or(32)).ok_or(invalid)?;
            Entry::V4(first, last)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                // Written with an IPv6 prefix length; one under 96 would reach
                // past the mapped block into plain IPv6.
                let prefix = prefix.map_or(Some(32), |p| p.checked_sub(96));
                let (first, last) = u32::from(v4).cidr(prefix.ok_or(invalid)?).ok_or(invalid)?;
                Entry::V4(first, last)
            }
            None => {
                let (first, last) = u128::from(v6).cidr(prefix.unwrap_or(128)).ok_or(invalid)?;
                Entry::V6(first, last)
            }
        },
    };
    Ok(Some(entry))
}

/// A prefix length in plain digits: `str::parse` alone would take `+8`.
fn prefix_len(text: &str) -> Result<u32, RejectReason> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RejectReason::InvalidAddress);
    }
    text.parse().map_err(|_| RejectReason::InvalidAddress)
}

/// Loaded address lists, ready for matching. Immutable, so it can be shared
/// between threads (it is `Send + Sync`) and swapped whole when lists change.
#[derive(Debug, Default)]
pub struct AddressRules {
    v4: Sides<Ranges<u32>>,
    v6: Sides<Ranges<u128>>,
    names: Vec<String>,
}

impl AddressRules {
    /// Rules with no lists: every address is [`AddressVerdict::Unlisted`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// Matches an address; an IPv4-mapped IPv6 address as its IPv4 address.
    pub fn check(&self, address: IpAddr) -> AddressVerdict {
        match address {
            IpAddr::V4(v4) => verdict(&self.v4, u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => verdict(&self.v4, u32::from(v4)),
                None => verdict(&self.v6, u128::from(v6)),
            },
        }
    }

    /// The name a list was loaded under, or `"?"` for an id it never gave.
    pub fn list_name(&self, id: ListId) -> &str {
        self.names
            .get(usize::from(id.0))
            .map_or("?", String::as_str)
    }

    /// Ranges stored, over both families and sides, after overlaps are
    /// resolved and neighbours merged.
    pub fn len(&self) -> usize {
        self.v4.blocked.len()
            + self.v4.allowed.len()
            + self.v6.blocked.len()
            + self.v6.allowed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn verdict<T: Bits>(sides: &Sides<Ranges<T>>, value: T) -> AddressVerdict {
    if let Some(list) = sides.allowed.find(value) {
        return AddressVerdict::Allowed(ListId(list));
    }
    match sides.blocked.find(value) {
        Some(list) => AddressVerdict::Blocked(ListId(list)),
        None => AddressVerdict::Unlisted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<Option<Entry>, RejectReason> {
        parse_line(line.as_bytes())
    }

    fn spans(list: &[(u32, u32, u16)]) -> Vec<Span<u32>> {
        list.iter()
            .map(|&(first, last, list)| Span { first, last, list })
            .collect()
    }

    fn contents<T: Bits>(ranges: &Ranges<T>) -> Vec<(T, T, u16)> {
        (0..ranges.len())
            .map(|i| (ranges.firsts[i], ranges.lasts[i], ranges.lists[i]))
            .collect()
    }

    #[test]
    fn lines_parse_to_masked_ranges() {
        let v6 = |text: &str| u128::from(text.parse::<std::net::Ipv6Addr>().unwrap());
        for (line, entry) in [
            ("192.0.2.7", Entry::V4(0xc000_0207, 0xc000_0207)),
            ("192.0.2.7/32", Entry::V4(0xc000_0207, 0xc000_0207)),
            (
                " 10.9.8.7/8 # host bits\r",
                Entry::V4(0x0a00_0000, 0x0aff_ffff),
            ),
            ("\u{feff}0.0.0.0/0", Entry::V4(0, u32::MAX)),
            ("1.2.3.4/008", Entry::V4(0x0100_0000, 0x01ff_ffff)),
            ("::ffff:198.51.100.9", Entry::V4(0xc633_6409, 0xc633_6409)),
            (
                "::ffff:198.51.100.9/120",
                Entry::V4(0xc633_6400, 0xc633_64ff),
            ),
            ("::ffff:0:0/96", Entry::V4(0, u32::MAX)),
            (
                "2001:DB8::1/32",
                Entry::V6(
                    v6("2001:db8::"),
                    v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
                ),
            ),
            ("::/0", Entry::V6(0, u128::MAX)),
            ("::1", Entry::V6(1, 1)),
            ("::1/128", Entry::V6(1, 1)),
        ] {
            assert_eq!(parsed(line), Ok(Some(entry)), "{line:?}");
        }
        for blank in ["", "   ", "# comment", "\u{feff}", " \t# x # y\r"] {
            assert_eq!(parsed(blank), Ok(None), "{blank:?}");
        }
    }

    #[test]
    fn lines_that_are_not_addresses_are_rejected() {
        for line in [
            "192.0.2.0/33",
            "::/129",
            "192.0.2.0/",
            "192.0.2.0/+8",
            "192.0.2.0/-1",
            "192.0.2.0/ 8",
            "192.0.2.0/1000",
            "192.0.2.0/8/8",
            "/8",
            "::ffff:1.2.3.4/95",
            "1.2.3",
            "1.2.3.4.5",
            "010.0.0.1",
            "256.0.0.1",
            "[::1]",
            "fe80::1%eth0",
            "0.0.0.0 ads.example",
            "1.2.3.4 5.6.7.8",
            "example.com",
            "||1.2.3.4^",
        ] {
            assert_eq!(parsed(line), Err(RejectReason::InvalidAddress), "{line:?}");
        }
        assert_eq!(parse_line(b"1.2.3.4 # caf\xe9"), Err(RejectReason::NotUtf8));
    }

    #[test]
    fn overlaps_resolve_to_the_lowest_list_and_neighbours_merge() {
        let built = Ranges::build(&spans(&[
            (10, 20, 0),
            (5, 30, 1),
            (21, 25, 0),
            (12, 14, 2),
            (31, 40, 1),
            (50, 50, 2),
            (51, 51, 2),
        ]));
        assert_eq!(
            contents(&built),
            [(5, 9, 1), (10, 25, 0), (26, 40, 1), (50, 51, 2)]
        );
    }

    #[test]
    fn nested_ranges_of_one_list_and_the_top_of_the_space() {
        let built = Ranges::build(&spans(&[
            (0, u32::MAX, 1),
            (100, 200, 0),
            (150, 160, 0),
            (u32::MAX, u32::MAX, 0),
        ]));
        assert_eq!(
            contents(&built),
            [
                (0, 99, 1),
                (100, 200, 0),
                (201, u32::MAX - 1, 1),
                (u32::MAX, u32::MAX, 0)
            ]
        );
        assert_eq!(built.find(u32::MAX), Some(0));
        assert_eq!(built.find(0), Some(1));
        let empty: Ranges<u128> = Ranges::build(&[]);
        assert_eq!(empty.find(0), None);
        assert_eq!(empty.find(u128::MAX), None);
    }

    #[test]
    fn rules_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<AddressRules>();
    }
}
