//! Address lists against a model: fuzzer-chosen IPv4 and IPv6 addresses
//! and CIDR ranges (IPv4-mapped ones too, prefixes valid or not), written
//! over four lists, two block and two allow, with comments and blanks.
//!
//! Every valid line must load and every invalid one be rejected; each
//! probe (the ends of every range, the addresses just outside them, and
//! the fuzzer's) must get the verdict a plain scan of the ranges gives: an
//! allow list over any block list, and the first list loaded named.
//!
//! Input: entries, each a flags byte (bit 0 IPv6, bit 1 with a prefix,
//! bit 2 IPv4 written as IPv4-mapped IPv6, bit 3 a comment, bits 4-5 the
//! list), the address bytes and a prefix byte.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hush_fuzz::Input;
use hush_rules::address::{AddressRulesBuilder, AddressVerdict};
use hush_rules::{ListId, ListKind};
use libfuzzer_sys::fuzz_target;

const LISTS: [ListKind; 4] = [
    ListKind::Block,
    ListKind::Allow,
    ListKind::Block,
    ListKind::Allow,
];

#[derive(Debug, Clone, Copy)]
enum Range {
    V4(u32, u32),
    V6(u128, u128),
}

fn cidr4(address: u32, prefix: u32) -> Option<Range> {
    (prefix <= 32).then(|| {
        let host = u32::MAX.checked_shr(prefix).unwrap_or(0);
        Range::V4(address & !host, address | host)
    })
}

fn cidr6(address: u128, prefix: u32) -> Option<Range> {
    (prefix <= 128).then(|| {
        let host = u128::MAX.checked_shr(prefix).unwrap_or(0);
        Range::V6(address & !host, address | host)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut texts = [String::new(), String::new(), String::new(), String::new()];
    let mut lines = [0usize; 4];
    let mut invalid_lines: [Vec<usize>; 4] = Default::default();
    let mut ranges: Vec<(usize, Range)> = Vec::new();
    let mut probes: Vec<IpAddr> = Vec::new();
    let mut entries = 0;
    while !input.is_empty() && entries < 48 {
        entries += 1;
        let flags = input.u8();
        let list = usize::from(flags >> 4) % 4;
        let (text, range) = if flags & 1 == 0 {
            let address = Ipv4Addr::from(input.u32());
            let prefix = u32::from(input.u8() % 40);
            probes.push(IpAddr::V4(address));
            if flags & 4 == 0 {
                match flags & 2 {
                    0 => (address.to_string(), cidr4(address.into(), 32)),
                    _ => (format!("{address}/{prefix}"), cidr4(address.into(), prefix)),
                }
            } else {
                let mapped = address.to_ipv6_mapped();
                let prefix = 96 + prefix;
                match flags & 2 {
                    0 => (mapped.to_string(), cidr4(address.into(), 32)),
                    _ => (
                        format!("{mapped}/{prefix}"),
                        (prefix <= 128)
                            .then(|| cidr4(address.into(), prefix - 96))
                            .flatten(),
                    ),
                }
            }
        } else {
            let address = Ipv6Addr::from((u128::from(input.u64()) << 64) | u128::from(input.u64()));
            let prefix = u32::from(input.u8() % 140);
            probes.push(IpAddr::V6(address));
            let written = match flags & 2 {
                0 => address.to_string(),
                _ => format!("{address}/{prefix}"),
            };
            let prefix = (flags & 2 != 0).then_some(prefix);
            let range = match address.to_ipv4_mapped() {
                Some(v4) => match prefix {
                    None => cidr4(v4.into(), 32),
                    Some(p) => p.checked_sub(96).and_then(|p| cidr4(v4.into(), p)),
                },
                None => cidr6(address.into(), prefix.unwrap_or(128)),
            };
            (written, range)
        };
        let text = if flags & 8 != 0 {
            format!("  {text}\t# entry {entries}\r\n# a comment line\n")
        } else {
            format!("{text}\n")
        };
        texts[list].push_str(&text);
        lines[list] += 1;
        match range {
            Some(range) => ranges.push((list, range)),
            None => invalid_lines[list].push(lines[list]),
        }
        if flags & 8 != 0 {
            lines[list] += 1;
        }
    }

    let mut builder = AddressRulesBuilder::new();
    for (list, kind) in LISTS.iter().enumerate() {
        let report = builder.add_list(&format!("list-{list}"), *kind, texts[list].as_bytes());
        let rejected: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(
            rejected, invalid_lines[list],
            "rejected lines of {:?}",
            texts[list]
        );
    }
    let rules = builder.build();

    for &(_, range) in &ranges {
        match range {
            Range::V4(first, last) => {
                for probe in [
                    Some(first),
                    Some(last),
                    first.checked_sub(1),
                    last.checked_add(1),
                ]
                .into_iter()
                .flatten()
                {
                    probes.push(IpAddr::V4(probe.into()));
                    probes.push(IpAddr::V6(Ipv4Addr::from(probe).to_ipv6_mapped()));
                }
            }
            Range::V6(first, last) => {
                for probe in [
                    Some(first),
                    Some(last),
                    first.checked_sub(1),
                    last.checked_add(1),
                ]
                .into_iter()
                .flatten()
                {
                    probes.push(IpAddr::V6(probe.into()));
                }
            }
        }
    }
    for probe in probes {
        let expected = model(&ranges, probe);
        assert_eq!(rules.check(probe), expected, "{probe} in {texts:?}");
    }
});

/// A plain scan: the first allow list covering the address, else the first
/// block list; an IPv4-mapped IPv6 address is its IPv4 address.
fn model(ranges: &[(usize, Range)], probe: IpAddr) -> AddressVerdict {
    let probe = match probe {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let covering = |kind: ListKind| {
        ranges
            .iter()
            .filter(|(list, _)| LISTS[*list] == kind)
            .filter(|(_, range)| match (range, probe) {
                (Range::V4(first, last), IpAddr::V4(a)) => (*first..=*last).contains(&u32::from(a)),
                (Range::V6(first, last), IpAddr::V6(a)) => {
                    (*first..=*last).contains(&u128::from(a))
                }
                _ => false,
            })
            .map(|(list, _)| *list)
            .min()
    };
    if let Some(list) = covering(ListKind::Allow) {
        AddressVerdict::Allowed(ListId(list as u16))
    } else if let Some(list) = covering(ListKind::Block) {
        AddressVerdict::Blocked(ListId(list as u16))
    } else {
        AddressVerdict::Unlisted
    }
}
