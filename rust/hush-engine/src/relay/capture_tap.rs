//! The relay's side of a packet capture ([`crate::capture`]): which flows
//! are the captured app's, and a copy of each of their packets for the
//! capture's writer.
//!
//! A flow is the app's once its owner is known (at its first packet, or
//! when the parked packets are taken again after a lookup). Its packets,
//! both ways, wait in order until the relay's turn ends, so that a decision
//! the relay makes in that turn (allowed, blocked, and why: on a DNS query,
//! a SYN, or the ClientHello the stack reassembled) goes into the comment
//! of the app's packet it was made on.
//!
//! With no capture under way there is no tap, and the packet path pays one
//! atomic load per packet. With one, the other apps' packets cost a hash
//! lookup each.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_packet::{Checksums, PacketView, Transport};

use crate::capture::{Batch, Sink, SNAP_BYTES};
use crate::owner::{FlowKey, Transport as FlowTransport};

/// Flows of the captured app followed at once, at most; past it a new
/// flow's packets are not captured, and the flow is counted as missed.
const MAX_FLOWS: usize = 16_384;

/// How long a flow the relay no longer holds (a DNS query's, whose answer
/// came or was dropped) stays followed after its last packet.
const LINGER: Duration = Duration::from_secs(30);

pub(crate) struct Tap {
    sink: Arc<Sink>,
    /// The app's flows, by their app-side key.
    flows: HashMap<FlowKey, Followed>,
    /// The turn's packets, in the order the tun saw them. A cell: decisions
    /// are recorded from `&self` methods of the relay.
    turn: RefCell<Batch>,
    /// For each of the turn's packets: its server end and whether it came
    /// from the app, to find the app's packet a decision was made on.
    turn_ends: Vec<(SocketAddr, bool)>,
    /// What the next packet Hush itself sends says (the decision on a DNS
    /// answer, made as the resolver's answer came).
    next_reply_comment: Option<String>,
}

/// A flow of the app's: when it was last seen, and the bytes taken each way
/// (past [`Sink::whole_bytes`], packets are cut).
struct Followed {
    seen: Instant,
    from_app: u64,
    to_app: u64,
}

impl Followed {
    fn new(now: Instant) -> Self {
        Self {
            seen: now,
            from_app: 0,
            to_app: 0,
        }
    }
}

impl Tap {
    pub fn new(sink: Arc<Sink>) -> Self {
        Self {
            sink,
            flows: HashMap::new(),
            turn: RefCell::new(Batch::default()),
            turn_ends: Vec::new(),
            next_reply_comment: None,
        }
    }

    pub fn uid(&self) -> u32 {
        self.sink.uid
    }

    /// False once the capture ended: the relay drops the tap.
    pub fn is_open(&self) -> bool {
        self.sink.is_open()
    }

    /// A packet from the app: taken if its flow is followed. Not a SYN
    /// that opens a flow, nor a DNS query: the relay asks for their owner
    /// ([`Self::owner_known`]), and another app may have taken the same
    /// ports since the captured app's flow on them ended.
    pub fn on_app_packet(&mut self, view: &PacketView<'_>, now: Instant) {
        if self.flows.is_empty() || asks_for_owner(view) {
            return;
        }
        self.on_flow_packet(view, now);
    }

    /// A packet of a flow the relay holds (a SYN the app sent again while
    /// Hush still connects): taken if the flow is followed.
    pub fn on_flow_packet(&mut self, view: &PacketView<'_>, now: Instant) {
        let Some(key) = key_from_app(view) else {
            return;
        };
        if let Some(followed) = self.flows.get_mut(&key) {
            followed.seen = now;
            self.take(view.bytes, false, key, None);
        }
    }

    /// The owner of a new flow or a DNS query is known (`None`: it cannot
    /// be told): followed from now on, and `packet` taken, if it is the
    /// captured app's; no longer followed if it is not.
    pub fn owner_known(&mut self, key: FlowKey, uid: Option<u32>, packet: &[u8], now: Instant) {
        if uid != Some(self.sink.uid) {
            self.flows.remove(&key);
            return;
        }
        if !self.flows.contains_key(&key) && self.flows.len() >= MAX_FLOWS {
            self.sink.count_missed_flow();
            return;
        }
        self.flows
            .entry(key)
            .or_insert_with(|| Followed::new(now))
            .seen = now;
        self.take(packet, false, key, None);
    }

    /// The relay decided on a flow of `uid` to `server`: the app's last
    /// packet to it this turn says so.
    pub fn decided(&self, uid: Option<u32>, server: SocketAddr, comment: impl FnOnce() -> String) {
        if uid != Some(self.sink.uid) {
            return;
        }
        let made_on = self
            .turn_ends
            .iter()
            .rposition(|&(end, from_app)| from_app && end == server);
        if let Some(index) = made_on {
            self.turn.borrow_mut().packets[index].comment = Some(comment());
        }
    }

    /// The next packet Hush sends to the app carries `comment`.
    pub fn comment_next_reply(&mut self, comment: String) {
        self.next_reply_comment = Some(comment);
    }

    /// A packet to the app, from a server through the stack or from Hush
    /// itself (`from_hush`: a reset, an ICMP error, a DNS answer).
    pub fn on_packet_to_app(&mut self, packet: &[u8], from_hush: bool) {
        let reply_comment = if from_hush {
            self.next_reply_comment.take()
        } else {
            None
        };
        if self.flows.is_empty() {
            return;
        }
        // The addresses and ports are read straight from the headers the
        // relay or the stack just wrote: no full parse per packet.
        let key = match key_of_ip(packet) {
            Some(sent) => Some(FlowKey {
                transport: sent.transport,
                local: sent.remote,
                remote: sent.local,
            }),
            None => match hush_packet::parse(packet, Checksums::Ignore) {
                // An ICMP error (Hush's own "unreachable" for a refused UDP
                // flow) belongs to the flow of the packet it quotes.
                Ok(PacketView {
                    transport: Transport::Icmp(kind, quoted),
                    ..
                }) if kind.echo.is_none() => key_of_ip(quoted),
                _ => None,
            },
        };
        let Some(key) = key else {
            return;
        };
        if self.flows.contains_key(&key) {
            let comment = from_hush.then(|| {
                let by_hush = "hush: sent by Hush, not by the server";
                match reply_comment {
                    Some(decision) => format!("{decision}; {by_hush}"),
                    None => by_hush.to_string(),
                }
            });
            self.take(packet, true, key, comment);
        }
    }

    /// Hands the turn's packets on to the writer, at the end of the turn.
    pub fn end_turn(&mut self) {
        if self.turn.get_mut().is_empty() {
            return;
        }
        self.turn_ends.clear();
        let next = self.sink.spare_batch();
        self.sink
            .offer(std::mem::replace(self.turn.get_mut(), next));
    }

    /// Lets go of the flows that are over: those `still_open` does not know
    /// and that have been quiet for a while.
    pub fn sweep(&mut self, now: Instant, still_open: impl Fn(&FlowKey) -> bool) {
        self.flows
            .retain(|key, followed| still_open(key) || now.duration_since(followed.seen) < LINGER);
    }

    /// Takes a packet of the followed flow `key`: whole while the flow's
    /// bytes that way are within [`Sink::whole_bytes`], cut past them.
    fn take(&mut self, packet: &[u8], to_app: bool, key: FlowKey, comment: Option<String>) {
        let mut keep = packet.len();
        if let (Some(whole), Some(followed)) = (self.sink.whole_bytes, self.flows.get_mut(&key)) {
            let taken = if to_app {
                &mut followed.to_app
            } else {
                &mut followed.from_app
            };
            if *taken >= whole {
                keep = SNAP_BYTES;
            }
            *taken += packet.len() as u64;
        }
        self.turn.get_mut().push(packet, keep, to_app, comment);
        self.turn_ends.push((key.remote, !to_app));
    }
}

/// A TCP SYN opening a flow, or a DNS query (UDP to port 53): packets the
/// relay looks the owner up for.
fn asks_for_owner(view: &PacketView<'_>) -> bool {
    match view.transport {
        Transport::Tcp(ref segment) => segment.flags.syn && !segment.flags.ack,
        Transport::Udp(ref datagram) => datagram.dst_port == 53,
        _ => false,
    }
}

/// The key of the flow a packet from the app belongs to (TCP and UDP).
fn key_from_app(view: &PacketView<'_>) -> Option<FlowKey> {
    let (transport, src_port, dst_port) = ports(view)?;
    Some(FlowKey {
        transport,
        local: SocketAddr::new(view.ip.src, src_port),
        remote: SocketAddr::new(view.ip.dst, dst_port),
    })
}

/// A TCP or UDP packet's addresses and ports as a key, source as `local`,
/// read from its IP header and the 4 bytes after it: a whole packet, or
/// the start of one an ICMP error quotes. `None` for other protocols (and
/// IPv6 extension headers before the transport).
fn key_of_ip(quoted: &[u8]) -> Option<FlowKey> {
    let (protocol, src, dst, rest): (u8, IpAddr, IpAddr, &[u8]) = match quoted.first()? >> 4 {
        4 => {
            let header_len = usize::from(quoted[0] & 0x0f) * 4;
            let src: [u8; 4] = quoted.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = quoted.get(16..20)?.try_into().ok()?;
            (
                *quoted.get(9)?,
                src.into(),
                dst.into(),
                quoted.get(header_len..)?,
            )
        }
        6 => {
            let src: [u8; 16] = quoted.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = quoted.get(24..40)?.try_into().ok()?;
            (*quoted.get(6)?, src.into(), dst.into(), quoted.get(40..)?)
        }
        _ => return None,
    };
    let transport = match protocol {
        6 => FlowTransport::Tcp,
        17 => FlowTransport::Udp,
        // IPv6 extension headers before the transport: not followed.
        _ => return None,
    };
    let port = |at: usize| Some(u16::from_be_bytes(rest.get(at..at + 2)?.try_into().ok()?));
    Some(FlowKey {
        transport,
        local: SocketAddr::new(src, port(0)?),
        remote: SocketAddr::new(dst, port(2)?),
    })
}

fn ports(view: &PacketView<'_>) -> Option<(FlowTransport, u16, u16)> {
    match view.transport {
        Transport::Tcp(ref segment) => {
            Some((FlowTransport::Tcp, segment.src_port, segment.dst_port))
        }
        Transport::Udp(ref datagram) => {
            Some((FlowTransport::Udp, datagram.src_port, datagram.dst_port))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_packet::build;

    #[test]
    fn an_icmp_error_belongs_to_the_flow_it_quotes() {
        // A UDP datagram from the app, and the unreachable Hush answers it with.
        let app = SocketAddr::from(([198, 18, 0, 1], 40_000));
        let server = SocketAddr::from(([198, 19, 0, 10], 443));
        let datagram = build::udp(app, server, b"quic initial").unwrap();
        let view = hush_packet::parse(&datagram, Checksums::Verify).unwrap();
        let error = build::icmp_unreachable(&view, build::Unreachable::Port).unwrap();
        let view = hush_packet::parse(&error, Checksums::Verify).unwrap();
        let Transport::Icmp(kind, quoted) = view.transport else {
            panic!("not ICMP");
        };
        assert!(kind.echo.is_none());
        let key = key_of_ip(quoted).unwrap();
        assert_eq!(
            (key.transport, key.local, key.remote),
            (FlowTransport::Udp, app, server)
        );
        assert_eq!(key_of_ip(&quoted[..10]), None, "a cut quote is no key");
        assert_eq!(key_of_ip(&[]), None);
    }

    #[test]
    fn past_a_flows_whole_bytes_its_packets_keep_their_start_and_their_length() {
        let dir = std::env::temp_dir().join(format!("hush-tap-cut-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let capture = crate::Capture::default();
        let spec = crate::CaptureSpec {
            whole_bytes: Some(1500),
            ..crate::CaptureSpec::new(10_001, dir.join("cut.pcapng"))
        };
        capture.start(spec).unwrap();
        let mut tap = Tap::new(capture.sink().unwrap());
        let now = Instant::now();
        let app = SocketAddr::from(([198, 18, 0, 1], 40_001));
        let server = SocketAddr::from(([198, 19, 0, 10], 4433));
        let key = FlowKey {
            transport: FlowTransport::Udp,
            local: app,
            remote: server,
        };
        let up = build::udp(app, server, &[1; 1000]).unwrap();
        let down = build::udp(server, app, &[2; 1000]).unwrap();
        tap.owner_known(key, Some(10_001), &up, now);
        for _ in 0..2 {
            tap.on_app_packet(&hush_packet::parse(&up, Checksums::Verify).unwrap(), now);
        }
        for _ in 0..3 {
            tap.on_packet_to_app(&down, false);
        }
        tap.end_turn();
        capture.stop().unwrap();
        let mut reader = pcap_file::pcapng::PcapNgReader::new(
            std::fs::File::open(dir.join("cut.pcapng")).unwrap(),
        )
        .unwrap();
        let mut lengths = Vec::new();
        while let Some(block) = reader.next_block() {
            if let pcap_file::pcapng::Block::EnhancedPacket(packet) = block.unwrap() {
                lengths.push((packet.data.len(), packet.original_len as usize));
            }
        }
        let (whole, cut) = ((1028, 1028), (SNAP_BYTES, 1028));
        // Each way on its own: two whole packets reach 1,500 bytes, the rest are cut.
        assert_eq!(lengths, [whole, whole, cut, whole, whole, cut]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ports_another_app_takes_over_are_no_longer_captured() {
        let dir = std::env::temp_dir().join(format!("hush-tap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let capture = crate::Capture::default();
        capture
            .start(crate::CaptureSpec::new(10_001, dir.join("tap.pcapng")))
            .unwrap();
        let mut tap = Tap::new(capture.sink().unwrap());
        let now = Instant::now();
        let app = SocketAddr::from(([198, 18, 0, 1], 40_000));
        let server = SocketAddr::from(([198, 19, 0, 10], 4433));
        let key = FlowKey {
            transport: FlowTransport::Udp,
            local: app,
            remote: server,
        };
        let first = build::udp(app, server, b"first").unwrap();
        let second = build::udp(app, server, b"second").unwrap();
        let third = build::udp(app, server, b"third").unwrap();
        let answer = build::udp(server, app, b"answer").unwrap();
        // The captured app opens the flow; its next packet and the answer follow.
        tap.owner_known(key, Some(10_001), &first, now);
        tap.on_app_packet(
            &hush_packet::parse(&second, Checksums::Verify).unwrap(),
            now,
        );
        tap.on_packet_to_app(&answer, false);
        tap.decided(Some(10_001), server, || "hush: allowed x (unlisted)".into());
        tap.end_turn();
        // Another app's flow on the same ports, later: none of it is taken.
        tap.owner_known(key, Some(10_002), &third, now);
        tap.on_app_packet(&hush_packet::parse(&third, Checksums::Verify).unwrap(), now);
        tap.on_packet_to_app(&answer, false);
        tap.owner_known(key, None, &third, now);
        tap.end_turn();
        let summary = capture.stop().unwrap();
        assert_eq!(summary.packets, 3, "{summary:?}");
        let mut reader = pcap_file::pcapng::PcapNgReader::new(
            std::fs::File::open(dir.join("tap.pcapng")).unwrap(),
        )
        .unwrap();
        let mut payload_ends = Vec::new();
        while let Some(block) = reader.next_block() {
            if let pcap_file::pcapng::Block::EnhancedPacket(packet) = block.unwrap() {
                payload_ends.push(packet.data[28..].to_vec());
            }
        }
        assert_eq!(
            payload_ends,
            [b"first".to_vec(), b"second".to_vec(), b"answer".to_vec()]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
