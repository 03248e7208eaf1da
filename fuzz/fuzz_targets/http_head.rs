//! The HTTP/1.x request head, and the Host read from it.
//!
//! Mode 0 (a client's first bytes): each prefix at the fuzzer's cuts is read
//! in turn; once one is decided, every longer prefix gives the same
//! decision; a host read is text taken from the stream.
//!
//! Mode 1 (a request written here): a request line, fuzzer-chosen headers
//! (however many), a Host header with a fuzzer-chosen name and port, and
//! the blank line: the name must come back, without its port, whatever the
//! headers around it, and no prefix may name another host.
//!
//! Input: mode byte, cut count and 16-bit cuts, then for mode 0 the stream,
//! for mode 1 a filler count, the host name and the header bytes.

#![no_main]

use hush_fuzz::{cut_points, Input};
use hush_inspect::http::{sniff_request, HttpProgress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.u8();
    let cuts: Vec<u16> = (0..input.u8() % 16).map(|_| input.u16()).collect();
    if mode & 1 == 0 {
        cut_stream(input.rest(), &cuts);
    } else {
        written(input, &cuts, mode);
    }
});

fn cut_stream(stream: &[u8], cuts: &[u16]) {
    let mut decided: Option<HttpProgress<'_>> = None;
    for cut in cut_points(cuts.iter().copied(), stream.len()) {
        let progress = sniff_request(&stream[..cut]);
        if let HttpProgress::Request { host: Some(host) } = progress {
            let range = stream.as_ptr_range();
            assert!(
                range.contains(&host.as_ptr()),
                "the host is read from the stream"
            );
            assert!(!host.is_empty());
        }
        match decided {
            Some(first) => assert_eq!(progress, first, "decision changed at {cut} bytes"),
            None if progress != HttpProgress::NeedMore => decided = Some(progress),
            None => {}
        }
    }
}

fn written(mut input: Input<'_>, cuts: &[u16], mode: u8) {
    let fillers = usize::from(input.u8());
    let port = input.u16();
    let name: String = input
        .string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if name.is_empty() {
        return;
    }
    let header_bytes = input.rest();
    let mut request = b"GET /collect?x=1 HTTP/1.1\r\n".to_vec();
    let mut filler = header_bytes
        .split(|&b| b == b'\n')
        .map(|line| {
            // A header name of token characters (RFC 9110 §5.6.2).
            line.iter()
                .copied()
                .filter(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
                .collect::<Vec<u8>>()
        })
        .filter(|line| !line.is_empty())
        .cycle();
    let host_at = if fillers == 0 {
        0
    } else {
        usize::from(mode >> 1) % fillers
    };
    for i in 0..=fillers {
        if i == host_at {
            let host_header: &[u8] = if mode & 2 == 0 { b"Host" } else { b"hOsT" };
            request.extend_from_slice(host_header);
            request.extend_from_slice(b": ");
            request.extend_from_slice(name.as_bytes());
            if mode & 4 != 0 {
                request.extend_from_slice(format!(":{port}").as_bytes());
            }
            request.extend_from_slice(b"\r\n");
        } else if let Some(line) = filler.next() {
            // Never another Host: the first one is the one read.
            if line.eq_ignore_ascii_case(b"host") {
                continue;
            }
            request.extend_from_slice(b"X-");
            request.extend_from_slice(&line);
            request.extend_from_slice(b": v\r\n");
        }
    }
    request.extend_from_slice(b"\r\n");
    assert_eq!(
        sniff_request(&request),
        HttpProgress::Request {
            host: Some(name.as_str())
        },
        "the Host of {:?}",
        String::from_utf8_lossy(&request)
    );
    for cut in cut_points(cuts.iter().copied(), request.len()) {
        match sniff_request(&request[..cut]) {
            HttpProgress::NeedMore => {}
            HttpProgress::Request { host } => assert_eq!(host, Some(name.as_str())),
            other => panic!("a prefix of a valid head gave {other:?}"),
        }
    }
}
