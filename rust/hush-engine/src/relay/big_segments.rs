//! Segments to the apps larger than the tun's MTU, once the kernel has
//! shown that it takes them.
//!
//! A download's cost on the relay's thread is its tun writes: each one runs
//! the kernel's whole delivery to the app (IP, TCP, waking the app), one
//! MSS-sized segment at a time, where an upload's segments are built by the
//! app's own thread. Linux checks no MTU on a packet written into a tun; it
//! delivers a 64 KiB TCP segment to a local socket as it does one that GRO
//! merged. So a SYN's MSS is raised on its way into the stack, and the
//! stack sends the app segments of up to [`BIG_MSS`] bytes: a fortieth of
//! the writes at MTU 1500.
//!
//! That rests on the kernel, so it is asked first, once per IP version: the
//! first SYN brings an echo request of the largest size to the app's own
//! address, from the address the app connects to (routed back through the
//! tun), with "don't fragment" on IPv4. Only a reply shows that a packet of
//! that size, written into the tun, reaches the local stack; until one
//! comes, and for good if none comes within [`PROBE_WAIT`], SYNs keep the
//! MSS they announced. The reply is the kernel's, in fragments, and goes no
//! further than this module.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hush_packet::build;
use hush_packet::{PacketView, Transport};

/// The MSS announced to the stack for the app once the kernel takes big
/// packets: a segment and its headers stay within one IP packet.
pub const BIG_MSS: u16 = 65_000;
/// The stack's MTU when big segments are on: the largest IP packet.
pub const BIG_MTU: usize = 65_535;
/// How long the kernel has to answer the probe. It answers in microseconds;
/// this is for a phone under load.
pub const PROBE_WAIT: Duration = Duration::from_secs(2);

const PROBE_IDENT: u16 = 0x4855;
const ICMP_HEADER: usize = 8;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Untried,
    Waiting {
        since: Instant,
        seq: u16,
    },
    /// The kernel answered; its reply's later fragments are taken too.
    Taken {
        reply_fragments: Option<u32>,
    },
    Refused,
}

/// Whether big segments go to the apps, per IP version.
#[derive(Debug)]
pub struct BigSegments {
    enabled: bool,
    probes: [Probe; 2],
    next_seq: u16,
}

/// What to do for a SYN (see [`BigSegments::on_syn`]).
#[derive(Debug, PartialEq, Eq)]
pub enum SynStep {
    /// The SYN's MSS was raised.
    Raised,
    /// Write this probe into the tun; the SYN keeps its MSS.
    Probe(Vec<u8>),
    Unchanged,
}

impl BigSegments {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            probes: [Probe::Untried; 2],
            next_seq: 1,
        }
    }

    /// Whether any IP version takes big segments.
    #[cfg(test)]
    fn any_taken(&self) -> bool {
        self.probes
            .iter()
            .any(|probe| matches!(probe, Probe::Taken { .. }))
    }

    /// Raises the MSS of `syn` (from `app` to `server`) if the kernel takes
    /// big segments, or starts the probe if it has not been asked.
    pub fn on_syn(&mut self, syn: &mut [u8], app: IpAddr, server: IpAddr, now: Instant) -> SynStep {
        if !self.enabled {
            return SynStep::Unchanged;
        }
        let version = usize::from(app.is_ipv6());
        match self.probes[version] {
            Probe::Taken { .. } if build::set_syn_mss(syn, BIG_MSS) => SynStep::Raised,
            Probe::Taken { .. } | Probe::Refused => SynStep::Unchanged,
            Probe::Waiting { since, .. } => {
                if now.duration_since(since) > PROBE_WAIT {
                    self.probes[version] = Probe::Refused;
                    log::info!(
                        "segments to the apps over IPv{}: the tun's MTU (the kernel did not answer the probe)",
                        if version == 1 { 6 } else { 4 }
                    );
                }
                SynStep::Unchanged
            }
            Probe::Untried => {
                let seq = self.next_seq;
                self.next_seq = self.next_seq.wrapping_add(1);
                let header = if app.is_ipv6() {
                    IPV6_HEADER
                } else {
                    IPV4_HEADER
                };
                let data = vec![0; BIG_MTU - header - ICMP_HEADER];
                match build::icmp_echo_request(server, app, PROBE_IDENT, seq, &data) {
                    Ok(probe) => {
                        self.probes[version] = Probe::Waiting { since: now, seq };
                        SynStep::Probe(probe)
                    }
                    Err(_) => {
                        self.probes[version] = Probe::Refused;
                        SynStep::Unchanged
                    }
                }
            }
        }
    }

    /// Takes the kernel's reply to a probe, whole or in fragments. Returns
    /// whether the packet was one; it goes no further then.
    pub fn take_reply(&mut self, view: &PacketView<'_>) -> bool {
        if !self.enabled {
            return false;
        }
        let version = usize::from(view.is_ipv6());
        let icmp_protocol = if view.is_ipv6() { 58 } else { 1 };
        if view.ip.protocol != icmp_protocol {
            return false;
        }
        let reply_type = if view.is_ipv6() { 129 } else { 0 };
        match (self.probes[version], view.transport, view.fragment) {
            (Probe::Waiting { seq, .. }, Transport::Icmp(kind, data), None) => {
                let ours = kind.msg_type == reply_type && kind.echo == Some((PROBE_IDENT, seq));
                if ours && data.len() == BIG_MTU - header_len(view) - ICMP_HEADER {
                    self.taken(version, None);
                }
                ours
            }
            (Probe::Waiting { seq, .. }, Transport::Fragment(first), Some(fragment))
                if fragment.offset == 0 =>
            {
                let ours = first.len() >= ICMP_HEADER
                    && first[0] == reply_type
                    && first[4..6] == PROBE_IDENT.to_be_bytes()
                    && first[6..8] == seq.to_be_bytes();
                if ours {
                    self.taken(version, Some(fragment.ident));
                }
                ours
            }
            (
                Probe::Taken {
                    reply_fragments: Some(ident),
                },
                Transport::Fragment(_),
                Some(fragment),
            ) => fragment.ident == ident && fragment.offset != 0,
            _ => false,
        }
    }

    fn taken(&mut self, version: usize, reply_fragments: Option<u32>) {
        self.probes[version] = Probe::Taken { reply_fragments };
        log::info!(
            "segments to the apps over IPv{}: up to {BIG_MSS} bytes (the kernel takes them)",
            if version == 1 { 6 } else { 4 }
        );
    }
}

fn header_len(view: &PacketView<'_>) -> usize {
    if view.is_ipv6() {
        IPV6_HEADER
    } else {
        IPV4_HEADER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_packet::{parse, Checksums};

    const APP_V4: &str = "198.18.0.1";
    const SERVER_V4: &str = "198.19.0.2";
    const APP_V6: &str = "fd00::1";
    const SERVER_V6: &str = "fd00:19::2";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A SYN as a Linux app sends it: MSS 1460 among its options.
    fn syn(app: &str, server: &str) -> Vec<u8> {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::{IpAddress, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber};
        let repr = TcpRepr {
            src_port: 40_000,
            dst_port: 443,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1),
            ack_number: None,
            window_len: 64_240,
            window_scale: Some(7),
            max_seg_size: Some(1460),
            sack_permitted: true,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let mut tcp = vec![0; repr.header_len()];
        let (src, dst) = (IpAddress::from(ip(app)), IpAddress::from(ip(server)));
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut tcp[..]),
            &src,
            &dst,
            &ChecksumCapabilities::default(),
        );
        let header = if ip(app).is_ipv6() {
            IPV6_HEADER
        } else {
            IPV4_HEADER
        };
        // Any packet of the right addresses gives the IP header to reuse.
        let mut packet =
            build::icmp_echo_request(ip(app), ip(server), 0, 0, &tcp[ICMP_HEADER..]).unwrap();
        packet[header..].copy_from_slice(&tcp);
        if header == IPV6_HEADER {
            packet[6] = 6;
        } else {
            packet[9] = 6;
            packet[10..12].fill(0);
            let sum = !smoltcp::wire::checksum::data(&packet[..IPV4_HEADER]);
            packet[10..12].copy_from_slice(&sum.to_be_bytes());
        }
        packet
    }

    /// `packet` cut into fragments that fit `mtu`, as a kernel sends them.
    fn fragments(packet: &[u8], mtu: usize, ident: u16) -> Vec<Vec<u8>> {
        let v6 = packet[0] >> 4 == 6;
        let header = if v6 { IPV6_HEADER } else { IPV4_HEADER };
        let extra = if v6 { 8 } else { 0 };
        let payload = &packet[header..];
        let step = (mtu - header - extra) / 8 * 8;
        let mut out = Vec::new();
        for (n, chunk) in payload.chunks(step).enumerate() {
            let offset = n * step;
            let more = offset + chunk.len() < payload.len();
            let mut piece = packet[..header].to_vec();
            if v6 {
                let next = piece[6];
                piece[6] = 44;
                let mut fragment = vec![next, 0, 0, 0, 0, 0, 0, 0];
                let field = (offset as u16) | u16::from(more);
                fragment[2..4].copy_from_slice(&field.to_be_bytes());
                fragment[4..8].copy_from_slice(&u32::from(ident).to_be_bytes());
                piece.extend_from_slice(&fragment);
                piece.extend_from_slice(chunk);
                let len = (piece.len() - IPV6_HEADER) as u16;
                piece[4..6].copy_from_slice(&len.to_be_bytes());
            } else {
                piece.extend_from_slice(chunk);
                let len = piece.len() as u16;
                piece[2..4].copy_from_slice(&len.to_be_bytes());
                piece[4..6].copy_from_slice(&ident.to_be_bytes());
                let field = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
                piece[6..8].copy_from_slice(&field.to_be_bytes());
                piece[10..12].fill(0);
                let sum = !smoltcp::wire::checksum::data(&piece[..IPV4_HEADER]);
                piece[10..12].copy_from_slice(&sum.to_be_bytes());
            }
            out.push(piece);
        }
        out
    }

    /// What the kernel answers a probe with: the echo reply, cut into
    /// fragments of `mtu` as a kernel sends them through a tun.
    fn kernel_reply(probe: &[u8], mtu: usize) -> Vec<Vec<u8>> {
        let view = parse(probe, Checksums::Verify).unwrap();
        let Transport::Icmp(kind, data) = view.transport else {
            panic!("not an echo request")
        };
        let (ident, seq) = kind.echo.unwrap();
        let reply = build::icmp_echo_reply(view.ip.dst, view.ip.src, ident, seq, data).unwrap();
        fragments(&reply, mtu, 77)
    }

    #[test]
    fn a_kernel_that_answers_gets_big_segments_from_then_on() {
        for (app, server) in [(APP_V4, SERVER_V4), (APP_V6, SERVER_V6)] {
            let mut big = BigSegments::new(true);
            let now = Instant::now();
            let mut first = syn(app, server);
            let SynStep::Probe(probe) = big.on_syn(&mut first, ip(app), ip(server), now) else {
                panic!("no probe")
            };
            assert_eq!(probe.len(), BIG_MTU, "{app}");
            assert_eq!(first, syn(app, server), "the first SYN keeps its MSS");
            // A SYN while the probe is out keeps its MSS too.
            let mut second = syn(app, server);
            assert_eq!(
                big.on_syn(&mut second, ip(app), ip(server), now),
                SynStep::Unchanged
            );
            let fragments = kernel_reply(&probe, 1500);
            assert!(fragments.len() > 40, "{}", fragments.len());
            for fragment in &fragments {
                let view = parse(fragment, Checksums::Verify).unwrap();
                assert!(big.take_reply(&view), "{app}: a fragment got away");
            }
            assert!(big.any_taken());
            let mut third = syn(app, server);
            assert_eq!(
                big.on_syn(&mut third, ip(app), ip(server), now),
                SynStep::Raised
            );
            let view = parse(&third, Checksums::Verify).unwrap();
            assert!(matches!(view.transport, Transport::Tcp(s) if s.flags.syn));
            assert_ne!(third, syn(app, server));
        }
    }

    #[test]
    fn a_kernel_that_stays_silent_keeps_the_mss_for_good() {
        let mut big = BigSegments::new(true);
        let start = Instant::now();
        let mut packet = syn(APP_V4, SERVER_V4);
        let SynStep::Probe(probe) = big.on_syn(&mut packet, ip(APP_V4), ip(SERVER_V4), start)
        else {
            panic!("no probe")
        };
        let late = start + PROBE_WAIT + Duration::from_millis(1);
        assert_eq!(
            big.on_syn(&mut packet, ip(APP_V4), ip(SERVER_V4), late),
            SynStep::Unchanged
        );
        // A reply after the wait changes nothing, and is not taken.
        for fragment in kernel_reply(&probe, 1500) {
            let view = parse(&fragment, Checksums::Verify).unwrap();
            assert!(!big.take_reply(&view));
        }
        assert!(!big.any_taken());
        assert_eq!(
            big.on_syn(&mut packet, ip(APP_V4), ip(SERVER_V4), late),
            SynStep::Unchanged
        );
        assert_eq!(packet, syn(APP_V4, SERVER_V4));
        // The other version is asked on its own.
        let mut v6 = syn(APP_V6, SERVER_V6);
        assert!(matches!(
            big.on_syn(&mut v6, ip(APP_V6), ip(SERVER_V6), late),
            SynStep::Probe(_)
        ));
    }

    #[test]
    fn other_echo_replies_and_fragments_pass_and_off_means_off() {
        let mut big = BigSegments::new(true);
        let now = Instant::now();
        let mut packet = syn(APP_V4, SERVER_V4);
        let SynStep::Probe(_) = big.on_syn(&mut packet, ip(APP_V4), ip(SERVER_V4), now) else {
            panic!("no probe")
        };
        // An app's own ping reply (another identifier), and another
        // datagram's fragments.
        let reply = build::icmp_echo_reply(ip(APP_V4), ip(SERVER_V4), 3, 1, &[1; 64]).unwrap();
        assert!(!big.take_reply(&parse(&reply, Checksums::Verify).unwrap()));
        let other = build::icmp_echo_reply(ip(APP_V4), ip(SERVER_V4), 3, 2, &[1; 4000]).unwrap();
        for fragment in fragments(&other, 1500, 5) {
            assert!(!big.take_reply(&parse(&fragment, Checksums::Verify).unwrap()));
        }
        assert!(!big.any_taken());
        let mut off = BigSegments::new(false);
        let mut packet = syn(APP_V4, SERVER_V4);
        assert_eq!(
            off.on_syn(&mut packet, ip(APP_V4), ip(SERVER_V4), now),
            SynStep::Unchanged
        );
    }
}
