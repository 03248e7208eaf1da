//! The `smoltcp` device over the tun: packets the relay hands in are
//! received, packets the stack sends go to the tun.
//!
//! Writing a packet to a tun is the costly half of a download: the kernel
//! delivers it to the app's socket (IP, TCP, a wake-up) inside the write
//! call. So packets are written by a thread of their own when they come in
//! numbers: the relay hands over each turn's packets at once and goes on
//! while the kernel takes them, on another core. A lone packet (a SYN-ACK,
//! a DNS answer) with nothing queued before it is written at once, on the
//! relay's thread, which keeps a connect's round trip free of a hand-off.
//! Either way the tun sees packets in the order they were sent.
//!
//! Nothing queues without bound: past [`QUEUE_LIMIT`] bytes waiting, a
//! packet is dropped and counted, as a tun whose queue is full drops it,
//! and TCP's retransmission recovers it, as it would on a real link.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Packet buffers kept for reuse, so steady traffic allocates nothing.
const POOL_LIMIT: usize = 256;

/// Bytes of packets waiting for the writer thread, at most.
const QUEUE_LIMIT: usize = 4 << 20;

/// A turn's packets up to this many go straight to the tun when nothing is
/// waiting before them: handing them over would cost more than writing.
const INLINE_LIMIT: usize = 2;

pub(crate) struct TunDevice {
    tun: Arc<File>,
    mtu: usize,
    rx: VecDeque<Vec<u8>>,
    /// Buffers for packets from the tun, and for packets to it.
    pool: Vec<Vec<u8>>,
    tx_pool: Vec<Vec<u8>>,
    /// This turn's packets, handed to the writer (or written) by [`Self::flush`].
    batch: Vec<Vec<u8>>,
    writer: Arc<Writer>,
}

/// What the relay's thread and the writer thread share.
struct Writer {
    queue: Mutex<Queue>,
    wake: Condvar,
    written: AtomicU64,
    errors: AtomicU64,
}

#[derive(Default)]
struct Queue {
    packets: VecDeque<Vec<u8>>,
    bytes: usize,
    /// The writer has taken packets and not finished writing them.
    writing: bool,
    /// Buffers the writer is done with, for the relay to fill again.
    spare: Vec<Vec<u8>>,
    closed: bool,
    /// The tun written to: replaced when the platform hands over a new one.
    tun: Option<Arc<File>>,
}

impl Writer {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere cannot leave the queue half-changed: every
        // change under the lock is a push, a pop or a flag.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, tun: &File, packet: &[u8]) {
        // A tun write takes the whole packet or fails; `&File` writes need no lock.
        match (&*tun).write(packet) {
            Ok(n) if n == packet.len() => self.written.fetch_add(1, Ordering::Relaxed),
            _ => self.errors.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// The writer thread: takes whatever is queued, writes it, returns the
    /// buffers, until the device is dropped and the queue is empty.
    fn run(&self) {
        let mut taken = VecDeque::new();
        loop {
            let tun = {
                let mut queue = self.queue();
                queue.writing = false;
                queue.spare.extend(taken.drain(..).take(POOL_LIMIT));
                while queue.packets.is_empty() && !queue.closed {
                    queue = self.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
                if queue.packets.is_empty() {
                    return;
                }
                std::mem::swap(&mut taken, &mut queue.packets);
                queue.bytes = 0;
                queue.writing = true;
                queue.tun.clone()
            };
            for packet in taken.iter_mut() {
                match &tun {
                    Some(tun) => self.write(tun, packet),
                    None => {
                        self.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                packet.clear();
            }
        }
    }
}

impl TunDevice {
    pub fn new(tun: Arc<File>, mtu: usize) -> Self {
        let writer = Arc::new(Writer {
            queue: Mutex::new(Queue {
                tun: Some(Arc::clone(&tun)),
                ..Queue::default()
            }),
            wake: Condvar::new(),
            written: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        let shared = Arc::clone(&writer);
        // Without the thread every packet is written inline, as before.
        let spawned = std::thread::Builder::new()
            .name("hush-tun-writer".into())
            .spawn(move || shared.run());
        if spawned.is_err() {
            writer.queue().closed = true;
        }
        Self {
            tun,
            mtu,
            rx: VecDeque::new(),
            pool: Vec::new(),
            tx_pool: Vec::new(),
            batch: Vec::new(),
            writer,
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

    /// Sends a packet the relay built itself (a reset, an ICMP error, a UDP
    /// answer) to the tun, after those sent before it.
    pub fn write_packet(&mut self, packet: &[u8]) {
        let mut buffer = self.tx_pool.pop().unwrap_or_default();
        buffer.extend_from_slice(packet);
        self.batch.push(buffer);
    }

    /// Packets written to the tun, and those it refused or that were
    /// dropped because too many waited.
    pub fn packets_out(&self) -> u64 {
        self.writer.written.load(Ordering::Relaxed)
    }

    pub fn write_errors(&self) -> u64 {
        self.writer.errors.load(Ordering::Relaxed)
    }

    /// Writes this turn's packets, or hands them to the writer thread.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let mut queue = self.writer.queue();
        let idle = queue.packets.is_empty() && !queue.writing;
        if queue.closed || (idle && self.batch.len() <= INLINE_LIMIT) {
            // Nothing is waiting to be written before these: order holds.
            drop(queue);
            for mut packet in std::mem::take(&mut self.batch) {
                self.writer.write(&self.tun, &packet);
                if self.tx_pool.len() < POOL_LIMIT {
                    packet.clear();
                    self.tx_pool.push(packet);
                }
            }
            return;
        }
        for packet in self.batch.drain(..) {
            if queue.bytes + packet.len() > QUEUE_LIMIT {
                self.writer.errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            queue.bytes += packet.len();
            queue.packets.push_back(packet);
        }
        let room = POOL_LIMIT.saturating_sub(self.tx_pool.len());
        let spare = queue.spare.len().min(room);
        let start = queue.spare.len() - spare;
        self.tx_pool.extend(queue.spare.drain(start..));
        queue.spare.clear();
        drop(queue);
        if idle {
            self.writer.wake.notify_one();
        }
    }

    /// Sends every packet from now on to `tun` (a new tun the platform
    /// handed over); what is still queued goes there too.
    pub fn replace_tun(&mut self, tun: Arc<File>) {
        self.flush();
        self.writer.queue().tun = Some(Arc::clone(&tun));
        self.tun = tun;
    }

    /// Flushes, then waits (at most `limit`) until the writer thread has
    /// written everything: the last counts include every packet sent.
    pub fn drain(&mut self, limit: std::time::Duration) {
        self.flush();
        let deadline = std::time::Instant::now() + limit;
        loop {
            let queue = self.writer.queue();
            let done = queue.closed || (queue.packets.is_empty() && !queue.writing);
            drop(queue);
            if done || std::time::Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

impl Drop for TunDevice {
    fn drop(&mut self) {
        self.flush();
        // The thread writes what is queued, then ends, and lets the tun go.
        self.writer.queue().closed = true;
        self.writer.wake.notify_one();
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
    pool: &'a mut Vec<Vec<u8>>,
    batch: &'a mut Vec<Vec<u8>>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut buffer = self.pool.pop().unwrap_or_default();
        buffer.resize(len, 0);
        let result = f(&mut buffer);
        self.batch.push(buffer);
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
                pool: &mut self.tx_pool,
                batch: &mut self.batch,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            pool: &mut self.tx_pool,
            batch: &mut self.batch,
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

#[cfg(test)]
mod tests {
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    use super::*;

    #[test]
    fn packets_reach_the_tun_in_order_whether_written_inline_or_by_the_thread() {
        // A datagram socket keeps packet boundaries, as a tun does.
        let (tun_end, app_end) = UnixDatagram::pair().unwrap();
        let tun = Arc::new(File::from(OwnedFd::from(tun_end)));
        let mut device = TunDevice::new(tun, 1500);
        let reader = std::thread::spawn(move || {
            app_end
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut seen = Vec::new();
            let mut buffer = [0u8; 64];
            while let Ok(len) = app_end.recv(&mut buffer) {
                seen.push(u32::from_be_bytes(buffer[..len].try_into().unwrap()));
                if seen.len() == 3_000 {
                    break;
                }
            }
            seen
        });
        // Turns of one packet (written inline when nothing waits), of two,
        // and of many (handed to the writer), mixed.
        let mut next = 0u32;
        for turn in 0..300 {
            let count = [1, 2, 17][turn % 3];
            for _ in 0..count {
                device.write_packet(&next.to_be_bytes());
                next += 1;
            }
            device.flush();
        }
        while next < 3_000 {
            device.write_packet(&next.to_be_bytes());
            next += 1;
        }
        device.drain(Duration::from_secs(5));
        assert_eq!(device.packets_out(), 3_000);
        assert_eq!(device.write_errors(), 0);
        let seen = reader.join().unwrap();
        assert_eq!(seen, (0..3_000).collect::<Vec<u32>>());
    }

    #[test]
    fn a_tun_that_refuses_writes_is_counted_not_waited_on() {
        let (tun_end, app_end) = UnixDatagram::pair().unwrap();
        drop(app_end); // every write now fails
        let tun = Arc::new(File::from(OwnedFd::from(tun_end)));
        let mut device = TunDevice::new(tun, 1500);
        for turn in 0..50u32 {
            for packet in 0..10u32 {
                device.write_packet(&(turn * 10 + packet).to_be_bytes());
            }
            device.flush();
        }
        device.drain(Duration::from_secs(5));
        assert_eq!(device.packets_out(), 0);
        assert_eq!(device.write_errors(), 500);
    }
}
