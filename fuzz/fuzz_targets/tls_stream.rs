//! TLS ClientHello reassembly, from a stream cut where the fuzzer says.
//!
//! Mode 0 (a client's first bytes as captured): the relay classifies what
//! it has each time more arrives, so each prefix at a cut is classified in
//! turn; once a prefix is decided (not `NeedMore`), every longer prefix
//! must give the same decision, name included.
//!
//! Mode 1 (a ClientHello message): the message is framed in TLS records
//! of fuzzer-chosen sizes; whatever the framing, the stream gives what the
//! message gives read whole, every shorter prefix is `NeedMore`, and bytes
//! after it change nothing.
//!
//! Input: mode byte, cut count and 16-bit cuts, record-size count and
//! 16-bit sizes, then the stream or the message.

#![no_main]

use std::borrow::Cow;

use hush_fuzz::{cut_points, Input};
use hush_inspect::tls::{self, TlsProgress, MAX_CLIENT_HELLO};
use hush_inspect::{classify_stream, StreamClass};
use libfuzzer_sys::fuzz_target;

/// The largest record the reader accepts is 2^14 + 1024; framing keeps
/// below 2^14, as real clients do.
const MAX_FRAGMENT: usize = 1 << 14;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.u8();
    let cuts: Vec<u16> = (0..input.u8() % 16).map(|_| input.u16()).collect();
    let sizes: Vec<u16> = (0..input.u8() % 16).map(|_| input.u16()).collect();
    let payload = input.rest();
    if mode & 1 == 0 {
        cut_stream(payload, &cuts);
    } else {
        reframe(payload, &cuts, &sizes, mode & 2 != 0);
    }
});

fn cut_stream(stream: &[u8], cuts: &[u16]) {
    let mut decided: Option<StreamClass<'_>> = None;
    for cut in cut_points(cuts.iter().copied(), stream.len()) {
        let class = classify_stream(&stream[..cut]);
        match &decided {
            Some(first) => assert_eq!(&class, first, "decision changed at {cut} bytes"),
            None if class != StreamClass::NeedMore => decided = Some(class),
            None => {}
        }
    }
}

fn reframe(body: &[u8], cuts: &[u16], sizes: &[u16], trailing: bool) {
    let body = &body[..body.len().min(MAX_CLIENT_HELLO - 4)];
    let mut message = vec![1];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(body);
    let expected = match tls::client_hello_sni(&message) {
        Ok(name) => TlsProgress::ClientHello {
            sni: name.map(Cow::Borrowed),
        },
        Err(error) => TlsProgress::Malformed(error),
    };

    let mut stream = Vec::with_capacity(message.len() + 64);
    let mut rest = &message[..];
    let mut size = sizes.iter().cycle();
    while !rest.is_empty() {
        let take = size
            .next()
            .map_or(rest.len(), |&s| usize::from(s) % MAX_FRAGMENT + 1)
            .min(rest.len())
            .min(MAX_FRAGMENT);
        stream.extend_from_slice(&[22, 3, 1]);
        stream.extend_from_slice(&(take as u16).to_be_bytes());
        stream.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
    }
    let complete = stream.len();
    if trailing {
        // The server's answer never comes before it; the client's next
        // records (or garbage) may follow at once.
        stream.extend_from_slice(&[23, 3, 3, 0, 5, 1, 2, 3, 4, 5, 0xff]);
    }

    let whole = tls::sniff_stream(&stream);
    assert_eq!(whole, expected, "framing changed what the ClientHello says");
    for cut in cut_points(cuts.iter().copied(), complete) {
        let progress = tls::sniff_stream(&stream[..cut]);
        if cut < complete {
            assert_eq!(
                progress,
                TlsProgress::NeedMore,
                "decided at {cut} of {complete}"
            );
        } else {
            assert_eq!(progress, expected);
        }
    }
}
