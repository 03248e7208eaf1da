//! The DNS question names Hush reads from every real capture must equal the
//! ground truth tshark extracted (`pcaps/expected_names.tsv`), and malformed
//! DNS must give errors, never panics.

use hush_dns::{parse_answer, parse_query, DnsError};
use hush_packet::{parse, Checksums, Transport};
use hush_testdata::{capture_files, expected_names, read_capture, ExpectedName};

/// The DNS payload of a frame to or from port 53, over UDP or TCP (whose
/// messages carry a two-byte length prefix).
fn dns_payload(ip: &[u8]) -> Option<Vec<u8>> {
    // Captures from sending hosts carry offloaded checksums; they are not tun packets.
    let view = parse(ip, Checksums::Ignore).ok()?;
    match view.transport {
        Transport::Udp(udp) if udp.dst_port == 53 || udp.src_port == 53 => {
            Some(udp.payload.to_vec())
        }
        Transport::Tcp(tcp) if (tcp.dst_port == 53 || tcp.src_port == 53) => tcp
            .payload
            .get(2..)
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec),
        _ => None,
    }
}

#[test]
fn question_names_of_every_capture_match_tshark() {
    let files = capture_files();
    assert!(
        files.len() >= 40,
        "expected the full capture set, found {}",
        files.len()
    );
    let mut found = Vec::new();
    for file in &files {
        for frame in read_capture(file) {
            let Some(payload) = frame.ip.as_deref().and_then(dns_payload) else {
                continue;
            };
            if let Ok(query) = parse_query(&payload) {
                found.push(ExpectedName {
                    file: file.clone(),
                    frame: frame.number,
                    kind: "dns_qname".into(),
                    value: query.name().to_string(),
                });
            }
        }
    }
    let mut expected: Vec<ExpectedName> = expected_names("dns_qname")
        .into_iter()
        .filter(|row| !row.value.starts_with('<'))
        .collect();
    expected.sort();
    found.sort();
    let missing: Vec<_> = expected.iter().filter(|e| !found.contains(e)).collect();
    let extra: Vec<_> = found.iter().filter(|f| !expected.contains(f)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
    assert!(
        expected.len() >= 70,
        "the ground truth shrank: {}",
        expected.len()
    );
}

#[test]
fn a_compression_loop_is_an_error_naming_the_pointer() {
    let frames = read_capture("zeek/dns_dns-invalid-names.pcap");
    let payload = frames[1]
        .ip
        .as_deref()
        .and_then(dns_payload)
        .expect("frame 2 is DNS");
    match parse_query(&payload) {
        Err(DnsError::Malformed(message)) => {
            assert!(message.contains("not prior"), "{message}")
        }
        other => panic!("a looping name must not decode: {other:?}"),
    }
}

#[test]
fn malformed_captures_give_errors_not_panics() {
    let mut errors = 0;
    for file in [
        "tcpdump/dns-zlip-1.pcap",
        "tcpdump/dns-zlip-2.pcap",
        "tcpdump/dns-zlip-3.pcap",
        "tcpdump/dns-badlabel.pcap",
        "zeek/dns_max-compression-depth.pcap",
        "zeek/dns_dns-edns-bad-length.pcap",
        "zeek/dns_dns-invalid-names.pcap",
    ] {
        for frame in read_capture(file) {
            let Some(ip) = frame.ip else { continue };
            // The IP layer may refuse the frame itself (dns-zlip's UDP length of 0).
            let Some(payload) = dns_payload(&ip) else {
                errors += 1;
                continue;
            };
            let as_query = parse_query(&payload);
            let as_answer = parse_answer(&payload);
            if as_query.is_err() && as_answer.is_err() {
                errors += 1;
            }
        }
    }
    assert!(
        errors >= 7,
        "each malformed capture should yield an error, got {errors}"
    );
}

#[test]
fn answers_in_real_captures_yield_addresses_and_hints() {
    // dns_ech.pcap holds HTTPS answers whose hints carry addresses.
    let mut hinted = 0;
    for frame in read_capture("zeek/dns_ech.pcap") {
        let Some(payload) = frame.ip.as_deref().and_then(dns_payload) else {
            continue;
        };
        if let Ok(answer) = parse_answer(&payload) {
            hinted += answer.addresses.len();
        }
    }
    assert!(
        hinted > 0,
        "HTTPS ipv4hint/ipv6hint addresses should be collected"
    );
}
