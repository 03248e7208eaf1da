//! Address rules: single IPv4 and IPv6 addresses and CIDR ranges, on
//! blocklists and allowlists.
//!
//! Layer: policy data beside the name rules; the relay asks it about each new
//! flow's destination. No I/O.
//!
//! Format: one address or range per line (`192.0.2.7`, `198.51.100.0/24`,
//! `2001:db8::/32`), `#` comments, blank lines. A range with host bits set is
//! taken as the network it is in. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
//! count as the IPv4 address, in lists and in lookups.
//!
//! Semantics match the name rules: an allowlist entry overrides every
//! blocklist; when several lists cover an address, the first loaded is named.
//!
//! Invariants: loading never fails or panics; each unusable line is a rejected
//! line with its number. The built rules are sorted, disjoint ranges per
//! family and side, so a lookup is two binary searches and never allocates.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::{excerpt, lines, ListId, ListKind, ListReport, RejectReason, RejectedLine};

/// The outcome of matching an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressVerdict {
    Blocked(ListId),
    /// An allowlist covers it; that overrides blocklists.
    Allowed(ListId),
    Unlisted,
}

/// An inclusive range of addresses, both families as `u128` (IPv4 in the
/// low 32 bits), and the list that put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    first: u128,
    last: u128,
    list: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Family {
    V4,
    V6,
}

/// Collects address lists, then builds [`AddressRules`].
#[derive(Debug, Default)]
pub struct AddressRulesBuilder {
    names: Vec<String>,
    /// Per (family, kind): every range in load order.
    ranges: BTreeMap<(Family, bool), Vec<Span>>,
}

impl AddressRulesBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one list. Never fails: anything unusable is a rejected line.
    /// `duplicates` counts ranges the list repeats exactly.
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
        let mut taken: Vec<(Family, u128, u128)> = Vec::new();
        for (index, raw) in lines(text).enumerate() {
            report.lines = index + 1;
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some(range)) => taken.push(range),
                Err(reason) => {
                    report.rejected_count += 1;
                    if report.rejected.len() < crate::MAX_REJECTED_DETAILS {
                        report.rejected.push(RejectedLine {
                            line: index + 1,
                            reason,
                            excerpt: excerpt(raw),
                        });
                    }
                }
            }
        }
        let count = taken.len();
        taken.sort_unstable();
        taken.dedup();
        report.entries = taken.len();
        report.duplicates = count - taken.len();
        let allow = kind == ListKind::Allow;
        for (family, first, last) in taken {
            self.ranges.entry((family, allow)).or_default().push(Span {
                first,
                last,
                list: id,
            });
        }
        report
    }

    pub fn build(self) -> AddressRules {
        let table = |family, allow| {
            self.ranges
                .get(&(family, allow))
                .map_or_else(Vec::new, |spans| disjoint(spans))
        };
        AddressRules {
            blocked_v4: table(Family::V4, false),
            blocked_v6: table(Family::V6, false),
            allowed_v4: table(Family::V4, true),
            allowed_v6: table(Family::V6, true),
            names: self.names,
        }
    }
}

/// Turns ranges in load order into sorted, disjoint ones where each address
/// keeps the first list that covered it; neighbours of one list are merged.
fn disjoint(spans: &[Span]) -> Vec<Span> {
    // first → (last, list); disjoint at every step.
    let mut covered: BTreeMap<u128, (u128, u16)> = BTreeMap::new();
    let mut ordered = spans.to_vec();
    // Stable: load order is kept within one list id.
    ordered.sort_by_key(|span| span.list);
    for span in ordered {
        let overlapping: Vec<(u128, u128)> = covered
            .range(..=span.last)
            .rev()
            .take_while(|(_, (last, _))| *last >= span.first)
            .map(|(&first, &(last, _))| (first, last))
            .collect();
        let mut cursor = Some(span.first);
        for &(first, last) in overlapping.iter().rev() {
            let Some(from) = cursor else { break };
            if first > from {
                covered.insert(from, (first - 1, span.list));
            }
            cursor = cursor.max(last.checked_add(1)).filter(|_| last < u128::MAX);
        }
        if let Some(from) = cursor.filter(|&from| from <= span.last) {
            covered.insert(from, (span.last, span.list));
        }
    }
    let mut merged: Vec<Span> = Vec::with_capacity(covered.len());
    for (first, (last, list)) in covered {
        match merged.last_mut() {
            Some(previous)
                if previous.list == list && previous.last.checked_add(1) == Some(first) =>
            {
                previous.last = last;
            }
            _ => merged.push(Span { first, last, list }),
        }
    }
    merged
}

/// Parses one line: `Ok(None)` for blanks and comments.
fn parse_line(raw: &[u8]) -> Result<Option<(Family, u128, u128)>, RejectReason> {
    let text = std::str::from_utf8(raw).map_err(|_| RejectReason::NotUtf8)?;
    let text = text.split('#').next().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().map_err(|_| RejectReason::InvalidAddress)?;
    let (family, value, bits) = match canonical(address) {
        IpAddr::V4(v4) => (Family::V4, u128::from(u32::from(v4)), 32u32),
        IpAddr::V6(v6) => (Family::V6, u128::from(v6), 128u32),
    };
    let mapped = matches!(address, IpAddr::V6(_)) && family == Family::V4;
    let prefix = match prefix {
        None => bits,
        Some(prefix) => {
            let prefix: u32 = prefix.parse().map_err(|_| RejectReason::InvalidAddress)?;
            // A mapped range is written in IPv6 prefix lengths.
            let prefix = if mapped {
                prefix.checked_sub(96).ok_or(RejectReason::InvalidAddress)?
            } else {
                prefix
            };
            if prefix > bits {
                return Err(RejectReason::InvalidAddress);
            }
            prefix
        }
    };
    let host_bits = bits - prefix;
    let host_mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let first = value & !host_mask;
    Ok(Some((family, first, first | host_mask)))
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they carry.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Loaded address lists, ready for matching. Immutable and `Send + Sync`;
/// swap it whole when lists change.
#[derive(Debug, Default)]
pub struct AddressRules {
    blocked_v4: Vec<Span>,
    blocked_v6: Vec<Span>,
    allowed_v4: Vec<Span>,
    allowed_v6: Vec<Span>,
    names: Vec<String>,
}

impl AddressRules {
    /// No lists: every address is unlisted.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn check(&self, address: IpAddr) -> AddressVerdict {
        let (value, allowed, blocked) = match canonical(address) {
            IpAddr::V4(v4) => (
                u128::from(u32::from(v4)),
                &self.allowed_v4,
                &self.blocked_v4,
            ),
            IpAddr::V6(v6) => (u128::from(v6), &self.allowed_v6, &self.blocked_v6),
        };
        if let Some(list) = find(allowed, value) {
            return AddressVerdict::Allowed(ListId(list));
        }
        match find(blocked, value) {
            Some(list) => AddressVerdict::Blocked(ListId(list)),
            None => AddressVerdict::Unlisted,
        }
    }

    /// The name a list was loaded under.
    pub fn list_name(&self, id: ListId) -> &str {
        self.names.get(usize::from(id.0)).map_or("", String::as_str)
    }

    /// Disjoint ranges stored, both sides and families.
    pub fn len(&self) -> usize {
        self.blocked_v4.len()
            + self.blocked_v6.len()
            + self.allowed_v4.len()
            + self.allowed_v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn find(table: &[Span], value: u128) -> Option<u16> {
    let after = table.partition_point(|span| span.first <= value);
    let span = table.get(after.checked_sub(1)?)?;
    (span.last >= value).then_some(span.list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lists: &[(&str, ListKind, &str)]) -> AddressRules {
        let mut builder = AddressRulesBuilder::new();
        for (name, kind, text) in lists {
            builder.add_list(name, *kind, text.as_bytes());
        }
        builder.build()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_cover_exactly_their_addresses() {
        let rules = rules(&[(
            "b",
            ListKind::Block,
            "198.51.100.0/24\n192.0.2.7\n2001:db8::/32\n10.0.0.1/8 # host bits set\n",
        )]);
        let blocked = AddressVerdict::Blocked(ListId(0));
        for inside in [
            "198.51.100.0",
            "198.51.100.255",
            "192.0.2.7",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "10.0.0.0",
            "10.255.255.255",
            "::ffff:198.51.100.9",
        ] {
            assert_eq!(rules.check(ip(inside)), blocked, "{inside}");
        }
        for outside in [
            "198.51.99.255",
            "198.51.101.0",
            "192.0.2.6",
            "192.0.2.8",
            "2001:db9::",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "11.0.0.0",
            "9.255.255.255",
        ] {
            assert_eq!(
                rules.check(ip(outside)),
                AddressVerdict::Unlisted,
                "{outside}"
            );
        }
    }

    #[test]
    fn whole_spaces_and_single_hosts() {
        let rules = rules(&[
            ("all4", ListKind::Block, "0.0.0.0/0"),
            (
                "host6",
                ListKind::Block,
                "::1/128\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
        ]);
        assert_eq!(
            rules.check(ip("255.255.255.255")),
            AddressVerdict::Blocked(ListId(0))
        );
        assert_eq!(
            rules.check(ip("0.0.0.0")),
            AddressVerdict::Blocked(ListId(0))
        );
        assert_eq!(rules.check(ip("::1")), AddressVerdict::Blocked(ListId(1)));
        assert_eq!(
            rules.check(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
            AddressVerdict::Blocked(ListId(1))
        );
        assert_eq!(rules.check(ip("::2")), AddressVerdict::Unlisted);
        let everything = self::rules(&[("all6", ListKind::Block, "::/0")]);
        assert_eq!(
            everything.check(ip("1234::5")),
            AddressVerdict::Blocked(ListId(0))
        );
        // Mapped addresses are IPv4, so ::/0 leaves IPv4 alone.
        assert_eq!(everything.check(ip("192.0.2.1")), AddressVerdict::Unlisted);
    }

    #[test]
    fn first_list_is_named_and_allow_wins() {
        let rules = rules(&[
            ("wide", ListKind::Block, "10.0.0.0/8"),
            ("narrow", ListKind::Block, "10.1.0.0/16\n172.16.0.0/12"),
            ("mine", ListKind::Allow, "10.1.2.3\n::ffff:172.16.0.0/124"),
        ]);
        assert_eq!(
            rules.check(ip("10.1.9.9")),
            AddressVerdict::Blocked(ListId(0))
        );
        assert_eq!(rules.list_name(ListId(0)), "wide");
        assert_eq!(
            rules.check(ip("172.16.0.20")),
            AddressVerdict::Blocked(ListId(1))
        );
        assert_eq!(
            rules.check(ip("10.1.2.3")),
            AddressVerdict::Allowed(ListId(2))
        );
        assert_eq!(
            rules.check(ip("172.16.0.15")),
            AddressVerdict::Allowed(ListId(2))
        );
        assert_eq!(
            rules.check(ip("::ffff:10.1.2.3")),
            AddressVerdict::Allowed(ListId(2))
        );
    }

    #[test]
    fn rejected_lines_are_numbered() {
        let mut builder = AddressRulesBuilder::new();
        let report = builder.add_list(
            "mixed",
            ListKind::Block,
            b"# header\n192.0.2.1\nexample.com\n192.0.2.0/33\n\n0.0.0.0 ads.example\n\xff\xfe\n192.0.2.1\n::ffff:1.2.3.4/64\n",
        );
        assert_eq!(report.lines, 9);
        assert_eq!(report.entries, 1);
        assert_eq!(report.duplicates, 1);
        let lines: Vec<(usize, RejectReason)> =
            report.rejected.iter().map(|r| (r.line, r.reason)).collect();
        assert_eq!(
            lines,
            [
                (3, RejectReason::InvalidAddress),
                (4, RejectReason::InvalidAddress),
                (6, RejectReason::InvalidAddress),
                (7, RejectReason::NotUtf8),
                (9, RejectReason::InvalidAddress),
            ]
        );
        assert_eq!(report.rejected_count, 5);
    }

    #[test]
    fn neighbours_of_one_list_merge() {
        let rules = rules(&[(
            "b",
            ListKind::Block,
            "192.0.2.0/25\n192.0.2.128/25\n192.0.2.64/26",
        )]);
        assert_eq!(rules.len(), 1);
    }
}
