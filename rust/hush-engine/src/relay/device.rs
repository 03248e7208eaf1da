//! The `smoltcp` device over the tun: packets the relay hands in are
//! received, packets the stack sends are written straight to the tun.
//!
//! Nothing queues on the way out: a packet the tun refuses (its queue is
//! full) is dropped and counted, and TCP's retransmission recovers it, as
//! it would on a real link.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use super::capture_tap::Tap;

/// Packet buffers kept for reuse, so steady traffic allocates nothing.
const POOL_LIMIT: usize = 256;

pub(crate) struct TunDevice {
    tun: Arc<File>,
    mtu: usize,
    rx: VecDeque<Vec<u8>>,
    pool: Vec<Vec<u8>>,
    tx_scratch: Vec<u8>,
    pub write_errors: u64,
    pub packets_out: u64,
    /// Copies what goes to the captured app, while a capture is under way.
    pub tap: Option<Tap>,
}

impl TunDevice {
    pub fn new(tun: Arc<File>, mtu: usize) -> Self {
        Self {
            tun,
            mtu,
            rx: VecDeque::new(),
            pool: Vec::new(),
            tx_scratch: vec![0; mtu],
            write_errors: 0,
            packets_out: 0,
            tap: None,
        }
    }

    /// An empty buffer for a packet bound for [`Self::push_rx`]; the stack
    /// returns it to the pool once it has taken the packet.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }

    /// Queues a packet for the stack's next ingress.
    pub fn push_rx(&mut self, packet: Vec<u8>) {
        self.rx.push_back(packet);
    }

    pub fn has_rx(&self) -> bool {
        !self.rx.is_empty()
    }

    /// Sends every packet from now on to `tun` (a new tun the platform
    /// handed over).
    pub fn replace_tun(&mut self, tun: Arc<File>) {
        self.tun = tun;
    }

    /// Writes a packet that asks the kernel something (see
    /// `big_segments`): no app's, so no capture shows it.
    pub fn write_probe(&mut self, packet: &[u8]) {
        write_counted(
            &self.tun,
            packet,
            &mut self.write_errors,
            &mut self.packets_out,
        );
    }

    /// Writes a packet the relay built itself (a reset, an ICMP error, a UDP
    /// answer) to the tun.
    pub fn write_packet(&mut self, packet: &[u8]) {
        if let Some(tap) = &mut self.tap {
            tap.on_packet_to_app(packet, true);
        }
        write_counted(
            &self.tun,
            packet,
            &mut self.write_errors,
            &mut self.packets_out,
        );
    }
}

fn write_counted(tun: &File, packet: &[u8], errors: &mut u64, written: &mut u64) {
    // A tun write takes the whole packet or fails; `&File` writes need no lock.
    match (&*tun).write(packet) {
        Ok(n) if n == packet.len() => *written += 1,
        _ => *errors += 1,
    }
}

pub(crate) struct RxToken<'a> {
    packet: Vec<u8>,
    pool: &'a mut Vec<Vec<u8>>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(mut self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        let result = f(&self.packet);
        if self.pool.len() < POOL_LIMIT {
            self.packet.clear();
            self.pool.push(std::mem::take(&mut self.packet));
        }
        result
    }
}

pub(crate) struct TxToken<'a> {
    tun: &'a File,
    tap: &'a mut Option<Tap>,
    scratch: &'a mut Vec<u8>,
    write_errors: &'a mut u64,
    packets_out: &'a mut u64,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        let buffer = &mut self.scratch[..len];
        let result = f(buffer);
        if let Some(tap) = self.tap {
            tap.on_packet_to_app(buffer, false);
        }
        write_counted(self.tun, buffer, self.write_errors, self.packets_out);
        result
    }
}

impl phy::Device for TunDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((
            RxToken {
                packet,
                pool: &mut self.pool,
            },
            TxToken {
                tun: &self.tun,
                tap: &mut self.tap,
                scratch: &mut self.tx_scratch,
                write_errors: &mut self.write_errors,
                packets_out: &mut self.packets_out,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            tun: &self.tun,
            tap: &mut self.tap,
            scratch: &mut self.tx_scratch,
            write_errors: &mut self.write_errors,
            packets_out: &mut self.packets_out,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        // The relay has verified every packet's checksums before handing it
        // in; verifying again would cost a second pass over every payload.
        let mut checksum = ChecksumCapabilities::default();
        checksum.ipv4 = Checksum::Tx;
        checksum.tcp = Checksum::Tx;
        checksum.udp = Checksum::Tx;
        checksum.icmpv4 = Checksum::Tx;
        checksum.icmpv6 = Checksum::Tx;
        caps.checksum = checksum;
        caps
    }
}
