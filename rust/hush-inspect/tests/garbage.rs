//! Random and half-valid bytes: every input gets an answer, never a panic,
//! and the sniffers hold no more than their stated bounds.

use hush_inspect::quic::{QuicProgress, QuicSniffer};
use hush_inspect::{classify_stream, StreamClass};

/// xorshift64*: deterministic, so a failure replays.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, prefix: &[u8], max: usize) -> Vec<u8> {
        let length = prefix.len() + (self.next() as usize % max);
        let mut out = prefix.to_vec();
        while out.len() < length {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(length);
        out
    }
}

const PREFIXES: [&[u8]; 6] = [
    b"",
    b"\x16\x03\x01",
    b"\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03",
    b"GET / HTTP/1.1\r\nHost: ",
    b"\xc3\x00\x00\x00\x01\x08",
    b"\xd3\x6b\x33\x43\xcf\x08",
];

#[test]
fn random_streams_are_classified_without_panic() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut classes = [0usize; 4];
    for round in 0..40_000 {
        let prefix = PREFIXES[round % PREFIXES.len()];
        let bytes = noise.bytes(prefix, 2048);
        let class = match classify_stream(&bytes) {
            StreamClass::NeedMore => 0,
            StreamClass::Tls { .. } => 1,
            StreamClass::Http { .. } => 2,
            StreamClass::Other => 3,
        };
        classes[class] += 1;
    }
    // The TLS and HTTP prefixes steer a share of inputs into each parser.
    assert!(classes.iter().all(|&count| count > 0), "{classes:?}");
}

#[test]
fn random_datagrams_never_panic_and_always_settle() {
    let mut noise = Noise(0x0123_4567_89ab_cdef);
    let mut failed = 0;
    for round in 0..20_000 {
        let mut sniffer = QuicSniffer::new();
        let prefix = PREFIXES[4 + round % 2];
        let mut settled = false;
        // A flow of up to 8 datagrams, as the engine holds at most that many.
        for _ in 0..8 {
            let datagram = noise.bytes(prefix, 1400);
            match sniffer.feed(&datagram) {
                QuicProgress::NeedMore => continue,
                QuicProgress::Failed(_) => failed += 1,
                _ => {}
            }
            settled = true;
            break;
        }
        // Random bytes after a v1/v2 header cannot authenticate.
        assert!(settled, "round {round} kept asking for more");
    }
    assert_eq!(failed, 20_000);
}
