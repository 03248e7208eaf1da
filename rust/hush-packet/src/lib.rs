//! Packet layer of Hush: zero-copy views of what a tun device delivers, and
//! builders for the packets Hush writes back.
//!
//! Layer: the bottom of the core, below DNS and the engine. It knows nothing of
//! policy. Input is one raw IP packet (IPv4 or IPv6, no link header, no
//! packet-information prefix), exactly as Android's `VpnService` tun and a Linux
//! `IFF_TUN | IFF_NO_PI` device hand it over.
//!
//! Invariants:
//! - [`parse`] accepts any byte sequence and returns a view or a [`PacketError`];
//!   it never panics and never copies payload bytes. Parsing is delegated to
//!   `smoltcp`'s `wire` module; this crate only walks IPv6 extension headers and
//!   decides which checksums to verify.
//! - Builders in [`build`] always emit valid checksums.
//!
//! Never: allocate on the parse path, log packet contents.

#![forbid(unsafe_code)]

pub mod build;
mod view;

pub use view::{
    parse, Checksums, Fragment, IcmpKind, IpHeader, PacketError, PacketView, TcpFlags, TcpSegment,
    Transport, UdpDatagram,
};
