//! The names read from every TCP and UDP flow of every shared capture must be
//! exactly the TLS SNI, HTTP Host and QUIC SNI values tshark found
//! (`pcaps/expected_names.tsv`), at the same frames.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use hush_inspect::quic::{QuicError, QuicProgress, QuicSniffer};
use hush_inspect::{classify_stream, StreamClass};
use hush_packet::{parse, Checksums, Transport};

type FlowKey = (IpAddr, u16, IpAddr, u16);

/// One direction of a TCP connection, put back in order.
#[derive(Default)]
struct TcpStream {
    next_seq: Option<u32>,
    pending: BTreeMap<u32, Vec<u8>>,
    bytes: Vec<u8>,
    decided: bool,
}

impl TcpStream {
    fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) {
        if syn {
            self.next_seq = Some(seq.wrapping_add(1));
        }
        if payload.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        // Captures here never wrap the sequence space; a segment wholly
        // before `next` is a retransmission.
        if seq.wrapping_sub(next) > u32::MAX / 2 {
            return;
        }
        self.pending.insert(seq, payload.to_vec());
        while let Some(segment) = self.pending.remove(&self.next_seq.unwrap_or(0)) {
            self.next_seq = Some(
                self.next_seq
                    .unwrap_or(0)
                    .wrapping_add(segment.len() as u32),
            );
            self.bytes.extend_from_slice(&segment);
        }
    }
}

/// What each flow yielded: names as (frame, kind, value), and how each QUIC
/// flow ended, for the negative cases.
struct Findings {
    names: BTreeSet<(usize, String, String)>,
    /// (destination port, outcome) per UDP flow, in the order decided.
    quic_outcomes: Vec<(u16, QuicProgress)>,
    tls_without_name: usize,
}

fn inspect_capture(file: &str) -> Findings {
    let mut tcp: HashMap<FlowKey, TcpStream> = HashMap::new();
    let mut udp: HashMap<FlowKey, Option<QuicSniffer>> = HashMap::new();
    let mut findings = Findings {
        names: BTreeSet::new(),
        quic_outcomes: Vec::new(),
        tls_without_name: 0,
    };
    for frame in hush_testdata::read_capture(file) {
        let Some(ip) = frame.ip else { continue };
        let Ok(packet) = parse(&ip, Checksums::Ignore) else {
            continue;
        };
        let (src, dst) = (packet.ip.src, packet.ip.dst);
        match packet.transport {
            Transport::Tcp(segment) => {
                let key = (src, segment.src_port, dst, segment.dst_port);
                let stream = tcp.entry(key).or_default();
                if stream.decided {
                    continue;
                }
                stream.push(segment.seq, segment.flags.syn, segment.payload);
                if stream.bytes.is_empty() {
                    continue;
                }
                let (kind, name) = match classify_stream(&stream.bytes) {
                    StreamClass::NeedMore => continue,
                    StreamClass::Tls { sni } => ("tls_sni", sni),
                    StreamClass::Http { host } => ("http_host", host),
                    StreamClass::Other => ("", None),
                };
                stream.decided = true;
                match name {
                    Some(name) => {
                        findings
                            .names
                            .insert((frame.number, kind.to_string(), name.into_owned()));
                    }
                    None if kind == "tls_sni" => findings.tls_without_name += 1,
                    None => {}
                }
            }
            Transport::Udp(datagram) if datagram.src_port != 53 && datagram.dst_port != 53 => {
                let key = (src, datagram.src_port, dst, datagram.dst_port);
                let slot = udp.entry(key).or_insert_with(|| Some(QuicSniffer::new()));
                let Some(sniffer) = slot else { continue };
                let progress = sniffer.feed(datagram.payload);
                if progress == QuicProgress::NeedMore {
                    continue;
                }
                *slot = None;
                if let QuicProgress::Sni(Some(name)) = &progress {
                    findings
                        .names
                        .insert((frame.number, "quic_sni".to_string(), name.clone()));
                }
                findings.quic_outcomes.push((datagram.dst_port, progress));
            }
            _ => {}
        }
    }
    findings
}

#[test]
fn every_capture_gives_exactly_the_expected_names() {
    let mut expected: BTreeMap<String, BTreeSet<(usize, String, String)>> = BTreeMap::new();
    for kind in ["tls_sni", "http_host", "quic_sni"] {
        for row in hush_testdata::expected_names(kind) {
            expected
                .entry(row.file)
                .or_default()
                .insert((row.frame, row.kind, row.value));
        }
    }
    assert!(
        expected.values().map(BTreeSet::len).sum::<usize>() >= 20,
        "the ground truth should hold the TLS, HTTP and QUIC rows"
    );
    for file in hush_testdata::capture_files() {
        let found = inspect_capture(&file).names;
        let want = expected.remove(&file).unwrap_or_default();
        assert_eq!(found, want, "{file}");
    }
    assert!(expected.is_empty(), "captures not found: {expected:?}");
}

#[test]
fn clienthello_split_over_two_segments_needs_both() {
    let file = "derived/rawip__chrome125-kyber-clienthello-split-2-tcp-segments.pcap";
    let frames = hush_testdata::read_capture(file);
    let mut stream = Vec::new();
    let mut results = Vec::new();
    for frame in frames {
        let packet = parse(frame.ip.as_deref().unwrap(), Checksums::Ignore).unwrap();
        if let Transport::Tcp(segment) = packet.transport {
            if segment.dst_port == 443 && !segment.payload.is_empty() {
                stream.extend_from_slice(segment.payload);
                results.push(match classify_stream(&stream) {
                    StreamClass::NeedMore => "need more".to_string(),
                    StreamClass::Tls { sni } => format!("{sni:?}"),
                    _ => "other".to_string(),
                });
            }
        }
    }
    assert_eq!(results, ["need more", "Some(\"lh3.google.com\")"]);
}

#[test]
fn clienthello_without_sni_is_tls_without_a_name() {
    for file in ["zeek/tls_tls1.2.pcap", "zeek/tls_hrr.pcap"] {
        let findings = inspect_capture(file);
        assert!(findings.names.is_empty(), "{file}: {:?}", findings.names);
        assert!(findings.tls_without_name >= 1, "{file}");
    }
}

#[test]
fn quic_v2_decrypts_and_names_nothing() {
    // The v2 capture's ClientHello carries no server name: reading it at all
    // proves the v2 salt, labels and packet types.
    let findings = inspect_capture("zeek/quic_quicv2-http3-443.pcap");
    // The client's flow reads; the server's Initials are sealed with the
    // server's keys, so that direction fails to decrypt, as it should.
    assert_eq!(
        findings.quic_outcomes,
        [
            (443, QuicProgress::Sni(None)),
            (
                findings.quic_outcomes[1].0,
                QuicProgress::Failed(QuicError::Decrypt)
            )
        ]
    );
}

#[test]
fn google_quic_is_recognised_not_misparsed() {
    let findings = inspect_capture("tcpdump/gquic.pcap");
    assert!(findings.names.is_empty());
    assert!(
        !findings.quic_outcomes.is_empty()
            && findings
                .quic_outcomes
                .iter()
                .all(|(_, o)| *o == QuicProgress::GoogleQuic),
        "{:?}",
        findings.quic_outcomes
    );
}

#[test]
fn corrupted_quic_initials_fail_to_decrypt() {
    let file = "derived/rawip__quic_chromium-115.0.5790.110-api-cirrus-com.pcap";
    let frame = hush_testdata::read_capture(file).remove(0);
    let packet = parse(frame.ip.as_deref().unwrap(), Checksums::Ignore).unwrap();
    let Transport::Udp(datagram) = packet.transport else {
        panic!("frame 1 is the Initial");
    };
    assert_eq!(
        QuicSniffer::new().feed(datagram.payload),
        QuicProgress::Sni(Some("api.cirrus-ci.com".into()))
    );
    // Flip one ciphertext byte: authentication must fail, not yield a name.
    let mut bad = datagram.payload.to_vec();
    bad[200] ^= 0x01;
    assert!(matches!(
        QuicSniffer::new().feed(&bad),
        QuicProgress::Failed(QuicError::Decrypt)
    ));
    // Every truncation and many corruptions: an answer each, never a panic.
    for cut in 0..datagram.payload.len() {
        let _ = QuicSniffer::new().feed(&datagram.payload[..cut]);
    }
    for at in 0..64 {
        let mut bad = datagram.payload.to_vec();
        bad[at] ^= 0xff;
        let _ = QuicSniffer::new().feed(&bad);
    }
}

#[test]
fn tls_parser_assets_clienthello_split_over_two_records() {
    let dir = hush_testdata::dir().join("tls-parser-assets");
    let first = std::fs::read(dir.join("tls_record_ch_fragmented_1.bin")).unwrap();
    let second = std::fs::read(dir.join("tls_record_ch_fragmented_2.bin")).unwrap();
    assert_eq!(classify_stream(&first), StreamClass::NeedMore);
    let joined = [first, second].concat();
    assert!(matches!(classify_stream(&joined), StreamClass::Tls { .. }));
    let whole = std::fs::read(dir.join("client_hello_dhe.bin")).unwrap();
    assert!(matches!(classify_stream(&whole), StreamClass::Tls { .. }));
}
