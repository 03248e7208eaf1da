//! Reads the name a flow is for from its first bytes: the TLS ClientHello's
//! SNI, the HTTP/1.x Host header, and the SNI inside a QUIC Initial.
//!
//! Layer: pure parsing above packets, below the engine. No I/O, no clock.
//!
//! Never: panic or grow without bound on any input; log the names it reads.

pub mod http;
pub mod quic;
pub mod tls;

use std::borrow::Cow;

use http::HttpProgress;
use tls::TlsProgress;

/// What a TCP stream's first bytes say about where it is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamClass<'a> {
    /// Could still become a ClientHello or a request head: hold and wait.
    NeedMore,
    /// TLS: the SNI of a complete ClientHello, or `None` when it names no
    /// host or could not be read.
    Tls { sni: Option<Cow<'a, str>> },
    /// HTTP/1.x: the request's Host, or `None` when it has none or could not
    /// be read.
    Http { host: Option<Cow<'a, str>> },
    /// Neither: the stream is relayed unnamed.
    Other,
}

/// Classifies a client's first bytes, everything it sent so far, in order.
pub fn classify_stream(first_bytes: &[u8]) -> StreamClass<'_> {
    match tls::sniff_stream(first_bytes) {
        TlsProgress::NotTls => {}
        TlsProgress::NeedMore => return StreamClass::NeedMore,
        TlsProgress::ClientHello { sni } => return StreamClass::Tls { sni },
        TlsProgress::Malformed(_) => return StreamClass::Tls { sni: None },
    }
    match http::sniff_request(first_bytes) {
        HttpProgress::NotHttp => StreamClass::Other,
        HttpProgress::NeedMore => StreamClass::NeedMore,
        HttpProgress::Request { host } => StreamClass::Http {
            host: host.map(Cow::Borrowed),
        },
        HttpProgress::Malformed => StreamClass::Http { host: None },
    }
}
