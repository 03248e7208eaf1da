//! Faults injected on purpose, to test that a panic in the engine is
//! contained: only in builds with the `fault-injection` feature, which no
//! shipped build has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hush_packet::{Checksums, Transport};

/// Panics armed for the engine's next packet or DNS query; each fires once.
#[derive(Debug, Default)]
pub struct Faults {
    packet: AtomicBool,
    dns: AtomicBool,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next packet read from the tun panics the relay.
    pub fn panic_at_next_packet(&self) {
        self.packet.store(true, Ordering::SeqCst);
    }

    /// The next DNS query read from the tun panics the relay.
    pub fn panic_at_next_dns_query(&self) {
        self.dns.store(true, Ordering::SeqCst);
    }

    /// Called with each packet before it is judged.
    pub(crate) fn at_packet(&self, packet: &[u8]) {
        if self.packet.swap(false, Ordering::SeqCst) {
            panic!("injected fault: the packet path");
        }
        if self.dns.load(Ordering::SeqCst) {
            let is_query = hush_packet::parse(packet, Checksums::Ignore)
                .is_ok_and(|view| matches!(view.transport, Transport::Udp(u) if u.dst_port == 53));
            if is_query && self.dns.swap(false, Ordering::SeqCst) {
                panic!("injected fault: the DNS path");
            }
        }
    }
}
