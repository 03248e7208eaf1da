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

/// Every answer in every capture: one whose HTTPS/SVCB records carry `ech`
/// comes out of [`strip_ech`] without it and otherwise equal; every other
/// is left alone, byte for byte (the engine then relays the resolver's own
/// bytes).
#[test]
fn ech_is_stripped_from_real_https_answers_and_nothing_else_changes() {
    use hickory_proto::op::Message;
    use hickory_proto::rr::rdata::svcb::SvcParamKey;
    use hickory_proto::rr::RData;
    use hush_dns::strip_ech;

    let mut stripped_names = Vec::new();
    let mut https_untouched = 0;
    for file in capture_files() {
        for frame in read_capture(&file) {
            let Some(payload) = frame.ip.as_deref().and_then(dns_payload) else {
                continue;
            };
            let Ok(answer) = parse_answer(&payload) else {
                // Not an answer: whatever it is, stripping never panics.
                let _ = strip_ech(&payload);
                continue;
            };
            let original = Message::from_vec(&payload).expect("parse_answer decoded it");
            let svcb = |message: &Message| {
                message
                    .answers
                    .iter()
                    .chain(&message.additionals)
                    .filter(|r| matches!(r.data, RData::HTTPS(_) | RData::SVCB(_)))
                    .count()
            };
            let result = strip_ech(&payload).expect("a decodable answer encodes again");
            if !answer.has_ech {
                assert_eq!(result, None, "{file} frame {}", frame.number);
                https_untouched += svcb(&original);
                continue;
            }
            let stripped = result.expect("an answer with ech is rewritten");
            assert!(stripped.len() < payload.len());
            let after = Message::from_vec(&stripped).unwrap();
            // The same message once ech is taken out of the original here.
            let mut expected = original.clone();
            for record in expected.answers.iter_mut().chain(&mut expected.additionals) {
                let params = match &mut record.data {
                    RData::HTTPS(https) => &mut https.0.svc_params,
                    RData::SVCB(svcb) => &mut svcb.svc_params,
                    _ => continue,
                };
                params.retain(|(key, _)| *key != SvcParamKey::EchConfigList);
            }
            assert_ne!(original, expected, "{file} frame {}", frame.number);
            assert_eq!(after, expected, "{file} frame {}", frame.number);
            assert_eq!(svcb(&after), svcb(&original));
            assert!(!parse_answer(&stripped).unwrap().has_ech);
            // Addresses (hints included) survive.
            assert_eq!(parse_answer(&stripped).unwrap().addresses, answer.addresses);
            stripped_names.push(answer.name);
        }
    }
    stripped_names.sort();
    stripped_names.dedup();
    assert!(
        stripped_names.contains(&"cloudflare-ech.com".to_string())
            && stripped_names.contains(&"defo.ie".to_string()),
        "the ech answers of dns_ech.pcap: {stripped_names:?}"
    );
    assert!(
        https_untouched > 0,
        "HTTPS/SVCB answers without ech (dns-https.pcap, dns-svcb.pcap) must be seen"
    );
}
