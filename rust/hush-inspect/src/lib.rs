//! Reads the name a flow is for from its first bytes: the TLS ClientHello's
//! SNI, the HTTP/1.x Host header, and the SNI inside a QUIC Initial.
//!
//! Layer: pure parsing above packets, below the engine. No I/O, no clock.
//!
//! Never: panic or grow without bound on any input; log the names it reads.

pub mod http;
pub mod quic;
pub mod tls;
