//! Address rules against a brute-force model, and against junk.

use std::net::{IpAddr, Ipv4Addr};

use hush_rules::{AddressRulesBuilder, AddressVerdict, ListId, ListKind};

struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The model: every (first, last, list, allow) range, checked one by one.
fn model(ranges: &[(u32, u32, u16, bool)], address: u32) -> AddressVerdict {
    let covering = |allow: bool| {
        ranges
            .iter()
            .filter(|r| r.3 == allow && r.0 <= address && address <= r.1)
            .map(|r| r.2)
            .min()
    };
    if let Some(list) = covering(true) {
        return AddressVerdict::Allowed(ListId(list));
    }
    covering(false).map_or(AddressVerdict::Unlisted, |list| {
        AddressVerdict::Blocked(ListId(list))
    })
}

#[test]
fn lookups_agree_with_a_linear_scan() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for round in 0..50 {
        let mut builder = AddressRulesBuilder::new();
        let mut ranges = Vec::new();
        // Addresses crowd into 10.0.0.0/16 so ranges overlap often.
        for list in 0..4u16 {
            let allow = list == 3;
            let mut text = String::new();
            for _ in 0..(noise.next() % 40) {
                let base = 0x0a00_0000 | (noise.next() as u32 & 0xffff);
                let prefix = 16 + (noise.next() % 17) as u32;
                let mask = if prefix == 32 { 0 } else { u32::MAX >> prefix };
                let first = base & !mask;
                ranges.push((first, first | mask, list, allow));
                text.push_str(&format!("{}/{prefix}\n", Ipv4Addr::from(base)));
            }
            let kind = if allow {
                ListKind::Allow
            } else {
                ListKind::Block
            };
            builder.add_list(&format!("list{list}"), kind, text.as_bytes());
        }
        let rules = builder.build();
        for _ in 0..2000 {
            let address = 0x0a00_0000 | (noise.next() as u32 & 0x1_ffff);
            assert_eq!(
                rules.check(IpAddr::V4(Ipv4Addr::from(address))),
                model(&ranges, address),
                "round {round}, {}",
                Ipv4Addr::from(address)
            );
        }
    }
}

#[test]
fn junk_never_panics_and_is_rejected_by_line() {
    let mut noise = Noise(0x0123_4567_89ab_cdef);
    let alphabet = b"0123456789abcdef:./# \n\xff";
    let mut builder = AddressRulesBuilder::new();
    let mut rejected = 0;
    for _ in 0..2000 {
        let text: Vec<u8> = (0..(noise.next() % 60))
            .map(|_| alphabet[(noise.next() % alphabet.len() as u64) as usize])
            .collect();
        let report = builder.add_list("junk", ListKind::Block, &text);
        assert!(report
            .rejected
            .iter()
            .all(|r| r.line >= 1 && r.line <= report.lines));
        rejected += report.rejected_count;
    }
    assert!(
        rejected > 1000,
        "junk should mostly be rejected: {rejected}"
    );
    let _ = builder.build().check("10.0.0.1".parse().unwrap());
}
