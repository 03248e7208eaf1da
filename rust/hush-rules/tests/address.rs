//! Address rules through the public API: exact edges, list naming, allow
//! overrides, mapped addresses, reports; then junk, and random lists against
//! a brute-force model.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hush_rules::{
    AddressRules, AddressRulesBuilder, AddressVerdict, ListId, ListKind, RejectReason,
    MAX_REJECTED_DETAILS,
};

use AddressVerdict::{Allowed, Blocked, Unlisted};

fn rules(lists: &[(&str, ListKind, &str)]) -> AddressRules {
    let mut builder = AddressRulesBuilder::new();
    for (name, kind, text) in lists {
        let report = builder.add_list(name, *kind, text.as_bytes());
        assert_eq!(report.rejected_count, 0, "{report}");
    }
    builder.build()
}

fn block(text: &str) -> AddressRules {
    rules(&[("block", ListKind::Block, text)])
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn assert_verdicts(rules: &AddressRules, expected: AddressVerdict, addresses: &[&str]) {
    for address in addresses {
        assert_eq!(rules.check(ip(address)), expected, "{address}");
    }
}

#[test]
fn single_addresses_match_only_themselves() {
    let rules = block("192.0.2.7\n2001:db8::7\n");
    assert_verdicts(&rules, Blocked(ListId(0)), &["192.0.2.7", "2001:db8::7"]);
    assert_verdicts(
        &rules,
        Unlisted,
        &[
            "192.0.2.6",
            "192.0.2.8",
            "2001:db8::6",
            "2001:db8::8",
            // The same bits in the other family are another address.
            "::c000:207",
            "0.0.0.7",
        ],
    );
    assert_eq!(rules.len(), 2);
}

#[test]
fn cidr_ranges_cover_first_to_last_and_not_one_past() {
    let rules = block("198.51.100.0/24\n203.0.113.6/31\n2001:db8::/32\n2001:db8:1::/127\n");
    let b = Blocked(ListId(0));
    assert_verdicts(
        &rules,
        b,
        &[
            "198.51.100.0",
            "198.51.100.255",
            "203.0.113.6",
            "203.0.113.7",
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        ],
    );
    assert_verdicts(
        &rules,
        Unlisted,
        &[
            "198.51.99.255",
            "198.51.101.0",
            "203.0.113.5",
            "203.0.113.8",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::",
        ],
    );
    // 2001:db8:1::/127 lies inside 2001:db8::/32 and merges into it.
    assert_eq!(rules.len(), 3);
}

#[test]
fn whole_spaces_and_host_prefixes() {
    let all4 = block("0.0.0.0/0");
    assert_verdicts(
        &all4,
        Blocked(ListId(0)),
        &["0.0.0.0", "255.255.255.255", "::ffff:1.2.3.4"],
    );
    assert_verdicts(
        &all4,
        Unlisted,
        &["::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    );

    // ::/0 is IPv6 only: mapped addresses are IPv4 and stay unlisted.
    let all6 = block("::/0");
    assert_verdicts(
        &all6,
        Blocked(ListId(0)),
        &["::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    );
    assert_verdicts(
        &all6,
        Unlisted,
        &["0.0.0.0", "192.0.2.1", "::ffff:192.0.2.1"],
    );

    let hosts = block(
        "0.0.0.0/32\n255.255.255.255/32\n10.0.0.1/32\n::/128\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128\n2001:db8::1/128\n",
    );
    assert_verdicts(
        &hosts,
        Blocked(ListId(0)),
        &[
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "::",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db8::1",
        ],
    );
    assert_verdicts(
        &hosts,
        Unlisted,
        &[
            "0.0.0.1",
            "255.255.255.254",
            "10.0.0.0",
            "10.0.0.2",
            "::2",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
            "2001:db8::",
            "2001:db8::2",
        ],
    );
}

#[test]
fn host_bits_are_masked_off() {
    let rules = block("10.1.2.3/8\n2001:db8::dead:beef/112\n");
    assert_verdicts(
        &rules,
        Blocked(ListId(0)),
        &[
            "10.0.0.0",
            "10.255.255.255",
            "2001:db8::dead:0",
            "2001:db8::dead:ffff",
        ],
    );
    assert_verdicts(
        &rules,
        Unlisted,
        &["9.255.255.255", "11.0.0.0", "2001:db8::deae:0"],
    );
}

#[test]
fn overlapping_lists_name_the_first_loaded() {
    let rules = rules(&[
        ("narrow", ListKind::Block, "10.1.0.0/16\n2001:db8:1::/48\n"),
        (
            "wide",
            ListKind::Block,
            "10.0.0.0/8\n2001:db8::/32\n192.0.2.0/24\n",
        ),
        ("again", ListKind::Block, "192.0.2.0/25\n198.51.100.1\n"),
    ]);
    assert_verdicts(
        &rules,
        Blocked(ListId(0)),
        &["10.1.0.0", "10.1.255.255", "2001:db8:1::5"],
    );
    assert_verdicts(
        &rules,
        Blocked(ListId(1)),
        &[
            "10.0.255.255",
            "10.2.0.0",
            "2001:db8:2::",
            "192.0.2.1",
            "192.0.2.200",
        ],
    );
    assert_verdicts(&rules, Blocked(ListId(2)), &["198.51.100.1"]);
    assert_eq!(rules.list_name(ListId(0)), "narrow");
    assert_eq!(rules.list_name(ListId(1)), "wide");
    assert_eq!(rules.list_name(ListId(2)), "again");
    assert_eq!(rules.list_name(ListId(3)), "?");
    // IPv4: wide, narrow, wide, wide's /24 (covering again's /25), again's
    // host; IPv6: wide, narrow, wide.
    assert_eq!(rules.len(), 5 + 3);
}

#[test]
fn an_allowlist_overrides_every_blocklist_whatever_the_order() {
    let rules = rules(&[
        ("mine", ListKind::Allow, "10.1.2.3\n2001:db8::1\n"),
        ("wide", ListKind::Block, "10.0.0.0/8\n2001:db8::/32\n"),
        ("host", ListKind::Block, "10.1.2.3\n10.1.2.4\n"),
        ("later", ListKind::Allow, "10.0.0.0/16\n10.1.2.3\n"),
    ]);
    assert_verdicts(
        &rules,
        Allowed(ListId(0)),
        &["10.1.2.3", "2001:db8::1", "::ffff:10.1.2.3"],
    );
    assert_verdicts(&rules, Allowed(ListId(3)), &["10.0.0.0", "10.0.255.255"]);
    assert_verdicts(
        &rules,
        Blocked(ListId(1)),
        &["10.1.2.4", "10.1.0.0", "2001:db8::2"],
    );
    assert_verdicts(&rules, Unlisted, &["11.0.0.0", "2001:db9::1"]);
}

#[test]
fn ipv4_mapped_addresses_count_as_ipv4_in_lists_and_lookups() {
    let rules = rules(&[
        (
            "mapped",
            ListKind::Block,
            "::ffff:192.0.2.1\n::ffff:198.51.100.0/120\n",
        ),
        ("plain", ListKind::Block, "203.0.113.0/24\n"),
    ]);
    assert_verdicts(
        &rules,
        Blocked(ListId(0)),
        &[
            "192.0.2.1",
            "::ffff:192.0.2.1",
            "198.51.100.0",
            "198.51.100.255",
            "::ffff:c633:64ff",
        ],
    );
    assert_verdicts(
        &rules,
        Blocked(ListId(1)),
        &["::ffff:203.0.113.9", "203.0.113.9"],
    );
    assert_verdicts(
        &rules,
        Unlisted,
        &[
            "198.51.101.0",
            "::ffff:198.51.101.0",
            "::192.0.2.1",
            "64:ff9b::192.0.2.1",
        ],
    );
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
    assert_eq!(rules.check(mapped), Blocked(ListId(0)));
}

#[test]
fn rejected_lines_are_numbered_and_the_rest_loads() {
    let text = b"\xef\xbb\xbf# header with a BOM\r\n\
        192.0.2.1\r\n\
        example.com\n\
        192.0.2.0/33\n\
        \n\
        0.0.0.0 ads.example\n\
        \xff\xfe\n\
        192.0.2.1 # again\n\
        ::ffff:1.2.3.4/64\n\
        \t2001:db8::/32\t# fine\n\
        10.0.0.0/+8\n";
    let mut builder = AddressRulesBuilder::new();
    let report = builder.add_list("mixed", ListKind::Block, text);
    assert_eq!(report.name, "mixed");
    assert_eq!(report.kind, ListKind::Block);
    assert_eq!(report.lines, 11);
    assert_eq!((report.entries, report.duplicates), (2, 1));
    assert_eq!((report.ignored, report.allow_entries), (0, 0));
    let rejected: Vec<(usize, RejectReason, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason, r.excerpt.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (3, RejectReason::InvalidAddress, "example.com"),
            (4, RejectReason::InvalidAddress, "192.0.2.0/33"),
            (6, RejectReason::InvalidAddress, "0.0.0.0 ads.example"),
            (7, RejectReason::NotUtf8, "\u{fffd}\u{fffd}"),
            (9, RejectReason::InvalidAddress, "::ffff:1.2.3.4/64"),
            (11, RejectReason::InvalidAddress, "10.0.0.0/+8"),
        ]
    );
    assert_eq!(report.rejected_count, 6);
    let printed = report.to_string();
    assert!(
        printed.contains("line 11: not an IP address or CIDR range"),
        "{printed}"
    );

    let rules = builder.build();
    assert_verdicts(&rules, Blocked(ListId(0)), &["192.0.2.1", "2001:db8::5"]);
    assert_verdicts(&rules, Unlisted, &["192.0.2.0", "10.0.0.1", "1.2.3.4"]);
}

#[test]
fn rejects_past_the_detail_limit_are_counted() {
    let text = "not an address\n".repeat(MAX_REJECTED_DETAILS + 5);
    let report = AddressRulesBuilder::new().add_list("bad", ListKind::Block, text.as_bytes());
    assert_eq!(report.rejected_count, MAX_REJECTED_DETAILS + 5);
    assert_eq!(report.rejected.len(), MAX_REJECTED_DETAILS);
    assert_eq!(
        report.rejected[MAX_REJECTED_DETAILS - 1].line,
        MAX_REJECTED_DETAILS
    );
}

#[test]
fn empty_rules_list_nothing() {
    for rules in [
        AddressRules::empty(),
        AddressRulesBuilder::new().build(),
        block("# only a comment\n\n"),
    ] {
        assert!(rules.is_empty());
        assert_eq!(rules.len(), 0);
        assert_verdicts(
            &rules,
            Unlisted,
            &["0.0.0.0", "255.255.255.255", "::", "::1"],
        );
        assert_eq!(rules.list_name(ListId(9)), "?");
    }
    let rules = block("192.0.2.1");
    assert!(!rules.is_empty());
    assert_eq!(rules.len(), 1);
}

#[test]
fn list_65537_is_refused_whole() {
    let mut builder = AddressRulesBuilder::new();
    for n in 0..=u16::MAX {
        builder.add_list(&format!("l{n}"), ListKind::Block, b"");
    }
    let report = builder.add_list("one too many", ListKind::Block, b"192.0.2.1\n");
    assert_eq!(report.rejected_count, 1);
    assert_eq!(report.rejected[0].line, 0);
    assert_eq!(report.rejected[0].reason, RejectReason::TooManyLists);
    let rules = builder.build();
    assert_eq!(rules.check(ip("192.0.2.1")), Unlisted);
    assert_eq!(rules.list_name(ListId(u16::MAX)), "l65535");
}

/// Deterministic xorshift64, so failures reproduce.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[test]
fn junk_never_panics_and_is_rejected_by_line() {
    let mut noise = Noise(0x0123_4567_89ab_cdef);
    let alphabet = b"0123456789abcdefABCDEF:./# \t\r\n\xff\xc3%[]+-";
    let seeds = [
        "192.0.2.1",
        "198.51.100.0/24",
        "2001:db8::/32",
        "::ffff:192.0.2.1/120",
        "::/0",
        "0.0.0.0/0",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
    ];
    let mut builder = AddressRulesBuilder::new();
    let (mut rejected, mut entries) = (0, 0);
    for round in 0..6000 {
        let text: Vec<u8> = match round % 3 {
            // Any bytes at all.
            0 => (0..noise.below(200)).map(|_| noise.next() as u8).collect(),
            // Bytes that look like addresses.
            1 => (0..noise.below(80))
                .map(|_| *noise.pick(alphabet))
                .collect(),
            // Valid lines with a few bytes changed.
            _ => {
                let mut text = Vec::new();
                for _ in 0..noise.below(8) {
                    let mut line = noise.pick(&seeds).as_bytes().to_vec();
                    for _ in 0..noise.below(3) {
                        let at = noise.below(line.len() as u64) as usize;
                        line[at] = *noise.pick(alphabet);
                    }
                    text.extend_from_slice(&line);
                    text.push(b'\n');
                }
                text
            }
        };
        let kind = if noise.below(4) == 0 {
            ListKind::Allow
        } else {
            ListKind::Block
        };
        let report = builder.add_list("junk", kind, &text);
        assert!(report
            .rejected
            .iter()
            .all(|r| (1..=report.lines).contains(&r.line)));
        assert!(report.entries + report.duplicates + report.rejected_count <= report.lines);
        rejected += report.rejected_count;
        entries += report.entries;
    }
    assert!(
        rejected > 3000,
        "junk should mostly be rejected: {rejected}"
    );
    assert!(
        entries > 1000,
        "mutated lines should often still load: {entries}"
    );
    let rules = builder.build();
    for _ in 0..1000 {
        let v4 = IpAddr::V4(Ipv4Addr::from(noise.next() as u32));
        let v6 = IpAddr::V6(Ipv6Addr::from(
            u128::from(noise.next()) << 64 | u128::from(noise.next()),
        ));
        let _ = (rules.check(v4), rules.check(v6));
    }
}

/// The model: each (first, last, list, kind) range checked one by one.
fn model<T: Ord + Copy>(ranges: &[(T, T, u16, ListKind)], address: T) -> AddressVerdict {
    let covering = |kind: ListKind| {
        ranges
            .iter()
            .filter(|r| r.3 == kind && r.0 <= address && address <= r.1)
            .map(|r| r.2)
            .min()
    };
    if let Some(list) = covering(ListKind::Allow) {
        return Allowed(ListId(list));
    }
    covering(ListKind::Block).map_or(Unlisted, |list| Blocked(ListId(list)))
}

/// Random lists of random ranges of `bits`-bit addresses in a crowded corner
/// (so they overlap often), some wide ones, checked against the model at
/// random probes and at every range's edges.
fn agrees_with_the_model<T>(
    seed: u64,
    max_bits: u32,
    address_of: impl Fn(u128) -> T,
    write: impl Fn(T) -> String,
    to_ip: impl Fn(T) -> IpAddr,
) where
    T: Ord + Copy + std::fmt::Debug + Into<u128>,
{
    let mut noise = Noise(seed);
    let base: u128 = if max_bits == 32 {
        0x0a00_0000
    } else {
        0x2001_0db8 << 96
    };
    // Addresses crowd into base + 0..2^17; prefixes mostly leave 0 to 16 host bits.
    let random_address = |noise: &mut Noise| address_of(base | u128::from(noise.next() & 0x1_ffff));
    for round in 0..40 {
        let mut builder = AddressRulesBuilder::new();
        let mut ranges: Vec<(u128, u128, u16, ListKind)> = Vec::new();
        for list in 0..1 + noise.below(6) as u16 {
            let kind = if noise.below(3) == 0 {
                ListKind::Allow
            } else {
                ListKind::Block
            };
            let mut text = String::new();
            for _ in 0..noise.below(30) {
                let address: u128 = random_address(&mut noise).into();
                let host_bits = if noise.below(50) == 0 {
                    noise.below(u64::from(max_bits) + 1) as u32
                } else {
                    noise.below(17) as u32
                };
                let prefix = max_bits - host_bits;
                let host = if host_bits == 0 {
                    0
                } else {
                    u128::MAX >> (128 - host_bits)
                };
                let first = address & !host;
                ranges.push((first, first | host, list, kind));
                text.push_str(&format!("{}/{prefix}\n", write(address_of(address))));
            }
            let report = builder.add_list(&format!("list{list}"), kind, text.as_bytes());
            assert_eq!(report.rejected_count, 0, "{report}");
        }
        let rules = builder.build();
        let mut probes: Vec<u128> = (0..1000)
            .map(|_| random_address(&mut noise).into())
            .collect();
        for &(first, last, _, _) in &ranges {
            probes.extend([first.wrapping_sub(1), first, last, last.wrapping_add(1)]);
        }
        let top = if max_bits == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        probes.extend([0, top]);
        for probe in probes {
            let probe = probe & top;
            assert_eq!(
                rules.check(to_ip(address_of(probe))),
                model(&ranges, probe),
                "seed {seed:#x} round {round}: {:?}",
                address_of(probe)
            );
        }
    }
}

#[test]
fn ipv4_lookups_agree_with_a_linear_scan() {
    agrees_with_the_model(
        0x9e37_79b9_7f4a_7c15,
        32,
        |bits| bits as u32,
        |a| Ipv4Addr::from(a).to_string(),
        |a| IpAddr::V4(Ipv4Addr::from(a)),
    );
}

#[test]
fn ipv6_lookups_agree_with_a_linear_scan() {
    agrees_with_the_model(
        0xdead_beef_cafe_f00d,
        128,
        |bits| bits,
        |a| Ipv6Addr::from(a).to_string(),
        |a| IpAddr::V6(Ipv6Addr::from(a)),
    );
}

#[test]
fn ipv4_lookups_through_mapped_addresses_agree_too() {
    // The same v4 rules, probed as ::ffff:a.b.c.d.
    agrees_with_the_model(
        0x5555_aaaa_1234_5678,
        32,
        |bits| bits as u32,
        |a| Ipv4Addr::from(a).to_string(),
        |a| IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped()),
    );
}
