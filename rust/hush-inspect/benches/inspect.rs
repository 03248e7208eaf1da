//! Cost of reading a name from a flow's first bytes, on real captures: a
//! Chrome 125 ClientHello (1,756 bytes, post-quantum key share) in one record
//! and split over two segments' worth of records, an HTTP request head, and a
//! Chrome QUIC v1 Initial (header protection, AES-128-GCM, CRYPTO frames).
//! Each QUIC iteration includes the per-flow key derivation.
//!
//! Run: `cargo bench -p hush-inspect --bench inspect`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hush_inspect::quic::{QuicProgress, QuicSniffer};
use hush_inspect::{classify_stream, StreamClass};
use hush_packet::{parse, Checksums, Transport};

/// The first payload-carrying frame's transport payload, client to server.
fn first_payload(file: &str, udp: bool) -> Vec<u8> {
    for frame in hush_testdata::read_capture(file) {
        let Some(ip) = frame.ip else { continue };
        let Ok(packet) = parse(&ip, Checksums::Ignore) else {
            continue;
        };
        match packet.transport {
            Transport::Tcp(segment) if !udp && !segment.payload.is_empty() => {
                return segment.payload.to_vec()
            }
            Transport::Udp(datagram) if udp => return datagram.payload.to_vec(),
            _ => {}
        }
    }
    panic!("{file}: no payload");
}

/// The same ClientHello re-framed as two TLS records, as a client may send it.
fn two_records(stream: &[u8]) -> Vec<u8> {
    let message = &stream[5..];
    let (a, b) = message.split_at(message.len() / 2);
    let mut out = Vec::new();
    for part in [a, b] {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn benches(c: &mut Criterion) {
    let hello = first_payload(
        "derived/rawip__tls_chrome-1250-tls-x25519-kyber.pcap",
        false,
    );
    assert!(matches!(
        classify_stream(&hello),
        StreamClass::Tls { sni: Some(_) }
    ));
    let split = two_records(&hello);
    assert!(matches!(
        classify_stream(&split),
        StreamClass::Tls { sni: Some(_) }
    ));
    let http = first_payload("derived/rawip__http_get.pcap", false);
    assert!(matches!(
        classify_stream(&http),
        StreamClass::Http { host: Some(_) }
    ));
    let initial = first_payload(
        "derived/rawip__quic_chromium-115.0.5790.110-api-cirrus-com.pcap",
        true,
    );
    assert!(matches!(
        QuicSniffer::new().feed(&initial),
        QuicProgress::Sni(Some(_))
    ));

    let mut group = c.benchmark_group("inspect");
    group.bench_function("tls_clienthello_1756B_one_record", |b| {
        b.iter(|| black_box(classify_stream(black_box(&hello))))
    });
    group.bench_function("tls_clienthello_1756B_two_records", |b| {
        b.iter(|| black_box(classify_stream(black_box(&split))))
    });
    group.bench_function("http_request_head", |b| {
        b.iter(|| black_box(classify_stream(black_box(&http))))
    });
    group.bench_function("quic_v1_initial_with_key_derivation", |b| {
        b.iter(|| black_box(QuicSniffer::new().feed(black_box(&initial))))
    });
    group.finish();
}

criterion_group!(inspect, benches);
criterion_main!(inspect);
