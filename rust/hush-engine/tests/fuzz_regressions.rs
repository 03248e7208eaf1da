//! Inputs the fuzz targets (fuzz/, `dns_firewall`) found, kept as tests.

use std::sync::Arc;
use std::time::Instant;

use hush_engine::{DiscardEvents, DnsConfig, DnsFirewall, Step};
use hush_packet::{build, parse, Checksums, Transport};
use hush_rules::RuleSet;

const APP: &str = "198.18.0.2:40000";
const RESOLVER: &str = "10.111.222.1:53";

/// A query for `shop.example` A with the app's ID 0, in a tun packet.
fn query_packet() -> Vec<u8> {
    let mut dns = vec![0x00, 0x00, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    dns.extend_from_slice(b"\x04shop\x07example\x00\x00\x01\x00\x01");
    build::udp(APP.parse().unwrap(), RESOLVER.parse().unwrap(), &dns).unwrap()
}

/// The resolver's answer on `id`: `shop.example` is an alias of the name
/// at offset 0 (a compression pointer into the header, so the name is read
/// from the ID bytes: the root for ID 0, no valid name for most others),
/// and has the address 198.18.5.5.
fn answer_pointing_into_the_header(id: u16) -> Vec<u8> {
    let mut dns = id.to_be_bytes().to_vec();
    dns.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
    dns.extend_from_slice(b"\x04shop\x07example\x00\x00\x01\x00\x01");
    // shop.example CNAME <pointer to offset 0>
    dns.extend_from_slice(&[0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0x01, 0x2c, 0, 2, 0xc0, 0x00]);
    // shop.example A 198.18.5.5
    dns.extend_from_slice(&[
        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 198, 18, 5, 5,
    ]);
    dns
}

/// The firewall read a resolver's answer with the upstream ID in it, then
/// gave it to the app with the app's ID. A compression pointer into the
/// header makes the two read differently: what Hush judged (the CNAME
/// chain, the addresses it learnt) was not what the app got. The answer is
/// now read with the app's ID, as the app reads it.
#[test]
fn an_answer_is_judged_as_the_app_reads_it() {
    let now = Instant::now();
    // Upstream IDs are random: try until one under which the pointer names
    // no valid name (most do: the header's flags follow the ID).
    for _ in 0..256 {
        let mut firewall = DnsFirewall::new(
            DnsConfig::default(),
            Arc::new(RuleSet::empty()),
            Arc::new(DiscardEvents),
        );
        let Step::Forward(forwarded) = firewall.on_tun_packet(&query_packet(), now) else {
            panic!("an unlisted name is forwarded");
        };
        let upstream_id = u16::from_be_bytes([forwarded[0], forwarded[1]]);
        let answer = answer_pointing_into_the_header(upstream_id);
        if hush_dns::parse_answer(&answer).is_ok() {
            continue;
        }
        let packet = firewall
            .on_upstream_answer(answer, now)
            .expect("relayed to the app");
        let view = parse(&packet, Checksums::Verify).unwrap();
        let Transport::Udp(udp) = view.transport else {
            panic!("{view:?}")
        };
        let read = hush_dns::parse_answer(udp.payload).expect("the app reads it");
        assert_eq!(read.id, 0);
        assert_eq!(read.addresses.len(), 1);
        // What the app reads is what Hush learnt.
        assert_eq!(
            firewall.name_of("198.18.5.5".parse().unwrap(), now),
            Some("shop.example")
        );
        return;
    }
    panic!("no upstream ID made the answer unreadable in 256 tries");
}
