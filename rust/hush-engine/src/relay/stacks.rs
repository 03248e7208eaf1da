//! The TCP flows' `smoltcp` sockets, each in a socket set of its own, and
//! the timers that say when each must be polled.
//!
//! `smoltcp` walks every socket of a set to find the one a packet belongs
//! to, to let each send, and to find the next timer (`Interface::poll`,
//! `poll_at`). With all flows in one set, every packet and every turn of
//! the relay cost as many steps as there were open flows, idle ones
//! included. With a set per flow, a packet is handed to its own flow's set
//! (the relay has already found the flow), only the flows a turn touched
//! are let send, and each set's next timer waits in a heap: the cost of a
//! packet no longer grows with the number of flows (BENCHMARKS.md, "beside
//! idle flows").
//!
//! A flow's socket, once removed, is kept as a spare (a few at most) and
//! taken again by a new flow whose buffers are the same size: its 512 KiB
//! of buffers were otherwise mapped and unmapped by the allocator for
//! every connection, and their pages faulted in again (17% of the relay's
//! CPU under sequential connects, BENCHMARKS.md). smoltcp's `listen`
//! resets the connection's state (sequence numbers, timers, buffers,
//! options), as its own examples rely on to serve one connection after
//! another on a socket; the duplicate-ACK count it keeps is set afresh by
//! the new connection's first ACK. The old bytes are never read, as a ring
//! buffer reads only what was written into it. Spares are dropped when no
//! TCP flow is open at a sweep.
//!
//! Invariants: a [`StackId`] names a slot holding one socket from
//! [`Stacks::add`] until [`Stacks::remove`]; a slot's `scheduled` is the
//! time of its one live heap entry, and heap entries that differ from it
//! are stale and skipped.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use smoltcp::iface::{Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;

use super::device::TunDevice;
use super::wake::FlowRef;

/// A TCP flow's socket set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StackId(u32);

struct Slot {
    set: SocketSet<'static>,
    socket: Option<SocketHandle>,
    flow: Option<FlowRef>,
    scheduled: Option<Instant>,
}

/// Sockets kept for the next flows: at the default buffers, 2 MiB.
const SPARE_SOCKETS: usize = 4;

pub(crate) struct Stacks {
    slots: Vec<Slot>,
    free: Vec<u32>,
    timers: BinaryHeap<Reverse<(Instant, u32)>>,
    spares: Vec<tcp::Socket<'static>>,
}

impl Stacks {
    pub fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            spares: Vec::new(),
        }
    }

    /// A closed socket with buffers of these sizes: a spare when one
    /// matches, else a new one. Its settings are a past flow's, so the
    /// caller sets every one it relies on.
    pub fn new_socket(&mut self, app_buffer: usize, server_buffer: usize) -> tcp::Socket<'static> {
        let matching = self.spares.iter().position(|socket| {
            socket.recv_capacity() == app_buffer && socket.send_capacity() == server_buffer
        });
        match matching {
            Some(index) => self.spares.swap_remove(index),
            None => tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; app_buffer]),
                tcp::SocketBuffer::new(vec![0; server_buffer]),
            ),
        }
    }

    pub fn has_spares(&self) -> bool {
        !self.spares.is_empty()
    }

    /// Gives the spares' memory back.
    pub fn drop_spares(&mut self) {
        self.spares = Vec::new();
    }

    /// Puts `socket` in a set of its own (a freed one, reused with its
    /// storage, when there is one).
    pub fn add(&mut self, socket: tcp::Socket<'static>) -> StackId {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot {
                    set: SocketSet::new(Vec::with_capacity(1)),
                    socket: None,
                    flow: None,
                    scheduled: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.socket = Some(slot.set.add(socket));
        StackId(index)
    }

    /// Names the flow whose socket this is: the flow a due timer touches.
    pub fn bind(&mut self, id: StackId, flow: FlowRef) {
        self.slots[id.0 as usize].flow = Some(flow);
    }

    pub fn socket(&self, id: StackId) -> &tcp::Socket<'static> {
        let slot = &self.slots[id.0 as usize];
        slot.set
            .get(slot.socket.expect("a live stack holds its socket"))
    }

    pub fn socket_mut(&mut self, id: StackId) -> &mut tcp::Socket<'static> {
        let slot = &mut self.slots[id.0 as usize];
        slot.set
            .get_mut(slot.socket.expect("a live stack holds its socket"))
    }

    /// Takes the flow's socket out, to be a spare or dropped; its set
    /// waits for the next flow. Nothing more is sent from the socket.
    pub fn remove(&mut self, id: StackId) {
        let slot = &mut self.slots[id.0 as usize];
        if let Some(handle) = slot.socket.take() {
            let socket = slot.set.remove(handle);
            slot.flow = None;
            slot.scheduled = None;
            self.free.push(id.0);
            if let smoltcp::socket::Socket::Tcp(mut socket) = socket {
                if self.spares.len() < SPARE_SOCKETS {
                    // Closed, so that `listen` takes it; it is never let
                    // send again before that, so the reset `abort` would
                    // send goes nowhere.
                    socket.abort();
                    self.spares.push(socket);
                }
            }
        }
    }

    /// Lets the flow's socket take every packet queued in `device` (the
    /// flow's own: the relay queues one flow's packets at a time).
    pub fn ingest(
        &mut self,
        id: StackId,
        iface: &mut Interface,
        device: &mut TunDevice,
        now: Instant,
    ) {
        let set = &mut self.slots[id.0 as usize].set;
        while device.has_rx() {
            if iface.poll_ingress_single(now, device, set) == PollIngressSingleResult::None {
                break;
            }
        }
    }

    /// Lets the flow's socket send what it has, then notes when it must be
    /// polled again.
    pub fn egress(
        &mut self,
        id: StackId,
        iface: &mut Interface,
        device: &mut TunDevice,
        now: Instant,
    ) {
        let slot = &mut self.slots[id.0 as usize];
        if slot.socket.is_none() {
            return;
        }
        // Each round sends at most one segment per socket; a socket's
        // segments are bounded by its window and buffer.
        while iface.poll_egress(now, device, &mut slot.set) == PollResult::SocketStateChanged {}
        let next = iface.poll_at(now, &slot.set);
        match (next, slot.scheduled) {
            (None, _) => slot.scheduled = None,
            // An earlier entry stands: when it comes, the time is asked again.
            (Some(next), Some(scheduled)) if scheduled > now && scheduled <= next => {}
            (Some(next), _) => {
                slot.scheduled = Some(next);
                self.timers.push(Reverse((next, id.0)));
            }
        }
    }

    /// The flows whose timers have come, into `flows`.
    pub fn take_due(&mut self, now: Instant, flows: &mut Vec<FlowRef>) {
        while let Some(&Reverse((at, index))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let slot = &mut self.slots[index as usize];
            if slot.scheduled == Some(at) {
                slot.scheduled = None;
                flows.extend(slot.flow);
            }
        }
    }

    /// When the earliest timer comes, stale entries dropped on the way.
    pub fn next_due(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, index))) = self.timers.peek() {
            if self.slots[index as usize].scheduled == Some(at) {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::sync::Arc;

    use smoltcp::iface::Config;
    use smoltcp::time::Duration;
    use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint};

    use super::*;
    use crate::relay::wake::FlowKind;

    fn setup() -> (Interface, TunDevice) {
        // Packets the stack sends are counted, not delivered.
        let sink = OpenOptions::new().write(true).open("/dev/null").unwrap();
        let mut device = TunDevice::new(Arc::new(sink), 1500);
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ip),
            &mut device,
            Instant::from_millis(0),
        );
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(198, 18, 0, 1), 24));
        });
        (iface, device)
    }

    fn socket() -> tcp::Socket<'static> {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 1024]),
            tcp::SocketBuffer::new(vec![0; 1024]),
        )
    }

    fn flow(slot: u32) -> FlowRef {
        FlowRef {
            kind: FlowKind::Tcp,
            slot,
            generation: 0,
        }
    }

    #[test]
    fn only_the_polled_flow_sends_and_its_timer_brings_it_back() {
        let (mut iface, mut device) = setup();
        let mut stacks = Stacks::new();
        let (quiet, opening) = (stacks.add(socket()), stacks.add(socket()));
        stacks.bind(quiet, flow(0));
        stacks.bind(opening, flow(1));
        stacks
            .socket_mut(quiet)
            .listen(IpEndpoint::new(IpAddress::v4(198, 18, 0, 9), 80))
            .unwrap();
        let server = IpEndpoint::new(IpAddress::v4(198, 18, 0, 9), 443);
        stacks
            .socket_mut(opening)
            .connect(iface.context(), server, 40000)
            .unwrap();
        let now = Instant::from_millis(10);

        // A listener has nothing to send and no timer.
        stacks.egress(quiet, &mut iface, &mut device, now);
        assert_eq!(device.packets_out, 0);
        assert_eq!(stacks.next_due(), None);

        // The opening socket sends its SYN and waits to send it again.
        stacks.egress(opening, &mut iface, &mut device, now);
        assert_eq!(device.packets_out, 1);
        let due = stacks.next_due().expect("a retransmission timer");
        assert!(due > now, "{due} after {now}");

        let mut flows = Vec::new();
        stacks.take_due(now, &mut flows);
        assert!(flows.is_empty(), "{flows:?}");
        stacks.take_due(due, &mut flows);
        assert_eq!(flows, [flow(1)]);
        assert_eq!(stacks.next_due(), None, "taken once");

        // Polled at its time, it sends the SYN again and is due again later.
        stacks.egress(opening, &mut iface, &mut device, due);
        assert_eq!(device.packets_out, 2);
        let again = stacks.next_due().expect("the next retransmission");
        assert!(again > due);
    }

    #[test]
    fn a_removed_flows_timer_is_dropped_and_its_set_reused() {
        let (mut iface, mut device) = setup();
        let mut stacks = Stacks::new();
        let first = stacks.add(socket());
        stacks.bind(first, flow(0));
        let server = IpEndpoint::new(IpAddress::v4(198, 18, 0, 9), 443);
        stacks
            .socket_mut(first)
            .connect(iface.context(), server, 40000)
            .unwrap();
        let now = Instant::from_millis(10);
        stacks.egress(first, &mut iface, &mut device, now);
        assert!(stacks.next_due().is_some());

        stacks.remove(first);
        assert_eq!(stacks.next_due(), None);
        let mut flows = Vec::new();
        stacks.take_due(now + Duration::from_secs(60), &mut flows);
        assert!(flows.is_empty(), "{flows:?}");

        // The next flow gets the freed set, with a fresh socket and no timer.
        let second = stacks.add(socket());
        assert_eq!(second, first);
        assert_eq!(stacks.socket(second).state(), tcp::State::Closed);
        assert_eq!(stacks.next_due(), None);
    }

    #[test]
    fn a_removed_socket_comes_back_closed_and_empty_for_a_flow_of_its_size() {
        let (mut iface, mut device) = setup();
        let mut stacks = Stacks::new();
        let first = stacks.add(socket());
        stacks.bind(first, flow(0));
        let server = IpEndpoint::new(IpAddress::v4(198, 18, 0, 9), 443);
        let socket = stacks.socket_mut(first);
        socket.connect(iface.context(), server, 40000).unwrap();
        socket.set_keep_alive(Some(Duration::from_secs(5)));
        stacks.egress(first, &mut iface, &mut device, Instant::from_millis(10));
        let sent = device.packets_out;
        stacks.remove(first);
        assert!(stacks.has_spares());

        // Another size gets a new socket; this size gets the spare, closed,
        // with nothing queued, and it sends nothing until it is opened.
        let other = stacks.new_socket(2048, 1024);
        assert_eq!(other.recv_capacity(), 2048);
        assert!(stacks.has_spares());
        let mut spare = stacks.new_socket(1024, 1024);
        assert!(!stacks.has_spares());
        assert_eq!(spare.state(), tcp::State::Closed);
        assert_eq!((spare.send_queue(), spare.recv_queue()), (0, 0));
        spare
            .listen(IpEndpoint::new(IpAddress::v4(198, 18, 0, 9), 80))
            .unwrap();
        let again = stacks.add(spare);
        stacks.egress(again, &mut iface, &mut device, Instant::from_millis(20));
        assert_eq!(
            device.packets_out, sent,
            "the old flow's reset or data got out"
        );
        assert_eq!(stacks.next_due(), None, "no timer of the old flow");
    }

    #[test]
    fn spares_are_few_and_dropped_on_request() {
        let mut stacks = Stacks::new();
        let ids: Vec<StackId> = (0..SPARE_SOCKETS + 3)
            .map(|_| stacks.add(socket()))
            .collect();
        for id in ids {
            stacks.remove(id);
        }
        assert_eq!(stacks.spares.len(), SPARE_SOCKETS);
        stacks.drop_spares();
        assert!(!stacks.has_spares());
    }
}
