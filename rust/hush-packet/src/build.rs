//! Builders for the packets Hush writes back into the tun: UDP datagrams
//! (DNS answers), TCP resets and ICMP destination-unreachable errors.
//!
//! Every builder emits complete, checksummed IP packets through `smoltcp`'s
//! emitters. Inputs that cannot make a valid packet give an error, not a panic.

use std::net::{IpAddr, SocketAddr};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    checksum, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpControl,
    TcpPacket, TcpRepr, TcpSeqNumber, UdpPacket, UdpRepr,
};

use crate::view::{IpHeader, PacketView, TcpSegment, Transport};

/// Hop limit of every packet Hush originates.
const HOP_LIMIT: u8 = 64;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
const ICMP_HEADER: usize = 8;
/// RFC 1812 §4.3.2.3: an ICMPv4 error should not exceed 576 bytes.
const ICMPV4_ERROR_MAX: usize = 576;
/// RFC 4443 §2.4(c): an ICMPv6 error must fit in the minimum IPv6 MTU.
const ICMPV6_ERROR_MAX: usize = 1280;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("source and destination are of different IP versions")]
    MixedVersions,
    #[error("payload of {0} bytes does not fit in one IP packet")]
    TooLarge(usize),
}

/// Why a flow is refused, as told to the app in an ICMP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens there (ICMPv4 code 3, ICMPv6 code 4).
    Port,
    /// A policy forbids it (ICMPv4 code 13, ICMPv6 code 1).
    AdminProhibited,
    /// The host cannot be reached (ICMPv4 code 1, ICMPv6 code 3).
    Host,
}

/// Builds a UDP datagram from `src` to `dst` carrying `payload`.
pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Result<Vec<u8>, BuildError> {
    let udp_len = UDP_HEADER + payload.len();
    let (mut out, ip_header_len) = ip_packet(src.ip(), dst.ip(), IpProtocol::Udp, udp_len)?;
    let repr = UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
    };
    let mut packet = UdpPacket::new_unchecked(&mut out[ip_header_len..]);
    repr.emit(
        &mut packet,
        &IpAddress::from(src.ip()),
        &IpAddress::from(dst.ip()),
        payload.len(),
        |buf| buf.copy_from_slice(payload),
        &ChecksumCapabilities::default(),
    );
    Ok(out)
}

/// Builds the TCP reset that answers `segment`, which arrived with `ip`, as
/// RFC 9293 §3.10.7.1 prescribes for a segment to a closed port. Returns
/// `None` for a segment that is itself a reset: a reset is never answered.
pub fn tcp_rst(ip: &IpHeader, segment: &TcpSegment<'_>) -> Option<Vec<u8>> {
    if segment.flags.rst {
        return None;
    }
    let (seq_number, ack_number) = if segment.flags.ack {
        (segment.ack, None)
    } else {
        let consumed = segment.payload.len() as u32
            + u32::from(segment.flags.syn)
            + u32::from(segment.flags.fin);
        (0, Some(segment.seq.wrapping_add(consumed)))
    };
    let repr = TcpRepr {
        src_port: segment.dst_port,
        dst_port: segment.src_port,
        control: TcpControl::Rst,
        seq_number: TcpSeqNumber(seq_number as i32),
        ack_number: ack_number.map(|n| TcpSeqNumber(n as i32)),
        window_len: 0,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None, None, None],
        timestamp: None,
        payload: &[],
    };
    let (mut out, ip_header_len) =
        ip_packet(ip.dst, ip.src, IpProtocol::Tcp, repr.header_len()).ok()?;
    let mut packet = TcpPacket::new_unchecked(&mut out[ip_header_len..]);
    repr.emit(
        &mut packet,
        &IpAddress::from(ip.dst),
        &IpAddress::from(ip.src),
        &ChecksumCapabilities::default(),
    );
    Some(out)
}

/// Builds the ICMP destination-unreachable error for `original`, quoting as
/// much of it as the RFCs allow. Returns `None` where an error must not be
/// sent: in answer to an ICMP error, or to a non-first fragment.
pub fn icmp_unreachable(original: &PacketView<'_>, reason: Unreachable) -> Option<Vec<u8>> {
    if original.fragment.is_some_and(|f| f.offset != 0) {
        return None;
    }
    if let Transport::Icmp(kind, _) = original.transport {
        let is_error = if original.is_ipv6() {
            kind.msg_type < 128
        } else {
            !matches!(kind.msg_type, 0 | 8 | 13 | 14)
        };
        if is_error {
            return None;
        }
    }
    let (src, dst) = (original.ip.dst, original.ip.src);
    let (protocol, msg_type, code, limit) = match (original.is_ipv6(), reason) {
        (false, Unreachable::Port) => (IpProtocol::Icmp, 3, 3, ICMPV4_ERROR_MAX - IPV4_HEADER),
        (false, Unreachable::AdminProhibited) => {
            (IpProtocol::Icmp, 3, 13, ICMPV4_ERROR_MAX - IPV4_HEADER)
        }
        (false, Unreachable::Host) => (IpProtocol::Icmp, 3, 1, ICMPV4_ERROR_MAX - IPV4_HEADER),
        (true, Unreachable::Host) => (IpProtocol::Icmpv6, 1, 3, ICMPV6_ERROR_MAX - IPV6_HEADER),
        (true, Unreachable::Port) => (IpProtocol::Icmpv6, 1, 4, ICMPV6_ERROR_MAX - IPV6_HEADER),
        (true, Unreachable::AdminProhibited) => {
            (IpProtocol::Icmpv6, 1, 1, ICMPV6_ERROR_MAX - IPV6_HEADER)
        }
    };
    let quoted = &original.bytes[..original.bytes.len().min(limit - ICMP_HEADER)];
    let icmp_len = ICMP_HEADER + quoted.len();
    let (mut out, ip_header_len) = ip_packet(src, dst, protocol, icmp_len).ok()?;
    let icmp = &mut out[ip_header_len..];
    icmp[0] = msg_type;
    icmp[1] = code;
    // Bytes 2..8 (checksum and the unused word) are already zero.
    icmp[ICMP_HEADER..].copy_from_slice(quoted);
    fill_icmp_checksum(src, dst, icmp);
    Some(out)
}

/// Builds the echo reply from `src` to `dst` that answers an echo request
/// with identifier `ident` and sequence number `seq`, carrying `data`.
pub fn icmp_echo_reply(
    src: IpAddr,
    dst: IpAddr,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let msg_type = if src.is_ipv6() { 129 } else { 0 };
    icmp_echo(src, dst, msg_type, ident, seq, data)
}

/// Builds an echo request from `src` to `dst` carrying `data`. An IPv4
/// request says "don't fragment", so a router must refuse it whole rather
/// than pass it on in pieces.
pub fn icmp_echo_request(
    src: IpAddr,
    dst: IpAddr,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let msg_type = if src.is_ipv6() { 128 } else { 8 };
    icmp_echo(src, dst, msg_type, ident, seq, data)
}

fn icmp_echo(
    src: IpAddr,
    dst: IpAddr,
    msg_type: u8,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let protocol = if src.is_ipv6() {
        IpProtocol::Icmpv6
    } else {
        IpProtocol::Icmp
    };
    let (mut out, ip_header_len) = ip_packet(src, dst, protocol, ICMP_HEADER + data.len())?;
    let icmp = &mut out[ip_header_len..];
    icmp[0] = msg_type;
    icmp[4..6].copy_from_slice(&ident.to_be_bytes());
    icmp[6..8].copy_from_slice(&seq.to_be_bytes());
    icmp[ICMP_HEADER..].copy_from_slice(data);
    fill_icmp_checksum(src, dst, icmp);
    Ok(out)
}

/// Sets the maximum segment size that a TCP SYN announces to `mss`, and
/// its checksum to match. Returns whether it did: not for a packet that is
/// not a whole TCP SYN, whose TCP header does not follow the IP header at
/// once (IPv6 extension headers), or that announces no MSS.
pub fn set_syn_mss(packet: &mut [u8], mss: u16) -> bool {
    let Ok(view) = crate::view::parse(packet, crate::view::Checksums::Ignore) else {
        return false;
    };
    let syn = matches!(view.transport, Transport::Tcp(segment) if segment.flags.syn);
    if !syn || view.fragment.is_some() {
        return false;
    }
    let (src, dst, total) = (view.ip.src, view.ip.dst, view.bytes.len());
    let tcp_start = if src.is_ipv6() {
        if packet[6] != u8::from(IpProtocol::Tcp) {
            return false;
        }
        IPV6_HEADER
    } else {
        usize::from(packet[0] & 0x0f) * 4
    };
    // The parse checked that the TCP header and its options lie within
    // `total`.
    let tcp = &mut packet[tcp_start..total];
    let header_len = usize::from(tcp[12] >> 4) * 4;
    let mut at = 20;
    let found = loop {
        match tcp[at..header_len] {
            [] | [0, ..] => break None,
            [1, ..] => at += 1,
            [2, 4, _, _, ..] => break Some(at + 2),
            [_, len, ..] if len >= 2 => at += usize::from(len),
            _ => break None,
        }
        if at >= header_len {
            break None;
        }
    };
    let Some(value) = found else {
        return false;
    };
    tcp[value..value + 2].copy_from_slice(&mss.to_be_bytes());
    tcp[16..18].fill(0);
    let sum = !checksum::combine(&[
        checksum::pseudo_header(
            &IpAddress::from(src),
            &IpAddress::from(dst),
            IpProtocol::Tcp,
            tcp.len() as u32,
        ),
        checksum::data(tcp),
    ]);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    true
}

/// ICMPv6 sums a pseudo-header as well; ICMPv4 sums the message alone.
fn fill_icmp_checksum(src: IpAddr, dst: IpAddr, icmp: &mut [u8]) {
    let checksum = match (src, dst) {
        (IpAddr::V6(s), IpAddr::V6(d)) => !checksum::combine(&[
            checksum::pseudo_header_v6(&s, &d, IpProtocol::Icmpv6, icmp.len() as u32),
            checksum::data(icmp),
        ]),
        _ => !checksum::data(icmp),
    };
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
}

/// Allocates a zeroed packet and emits its IP header for `payload_len` bytes of
/// `protocol`. Returns the buffer and the offset of the payload.
fn ip_packet(
    src: IpAddr,
    dst: IpAddr,
    protocol: IpProtocol,
    payload_len: usize,
) -> Result<(Vec<u8>, usize), BuildError> {
    match (src, dst) {
        (IpAddr::V4(src_addr), IpAddr::V4(dst_addr)) => {
            let total = IPV4_HEADER + payload_len;
            if total > usize::from(u16::MAX) {
                return Err(BuildError::TooLarge(payload_len));
            }
            let mut out = vec![0; total];
            let repr = Ipv4Repr {
                src_addr,
                dst_addr,
                next_header: protocol,
                payload_len,
                hop_limit: HOP_LIMIT,
            };
            repr.emit(
                &mut Ipv4Packet::new_unchecked(&mut out[..]),
                &ChecksumCapabilities::default(),
            );
            Ok((out, IPV4_HEADER))
        }
        (IpAddr::V6(src_addr), IpAddr::V6(dst_addr)) => {
            if payload_len > usize::from(u16::MAX) {
                return Err(BuildError::TooLarge(payload_len));
            }
            let mut out = vec![0; IPV6_HEADER + payload_len];
            let repr = Ipv6Repr {
                src_addr,
                dst_addr,
                next_header: protocol,
                payload_len,
                hop_limit: HOP_LIMIT,
            };
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
            Ok((out, IPV6_HEADER))
        }
        _ => Err(BuildError::MixedVersions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{parse, Checksums, TcpFlags};

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn udp_round_trips_through_the_parser_for_both_versions() {
        for (src, dst) in [
            ("198.18.0.53:53", "198.18.0.2:40000"),
            ("[fd00::53]:53", "[fd00::2]:40000"),
        ] {
            let bytes = udp(sock(src), sock(dst), b"hello").unwrap();
            let view = parse(&bytes, Checksums::Verify).unwrap();
            assert_eq!(view.ip.src, sock(src).ip());
            assert_eq!(view.ip.dst, sock(dst).ip());
            let Transport::Udp(d) = view.transport else {
                panic!("not UDP: {view:?}")
            };
            assert_eq!(
                (d.src_port, d.dst_port, d.payload),
                (53, 40000, &b"hello"[..])
            );
        }
    }

    #[test]
    fn echo_replies_parse_with_valid_checksums_for_both_versions() {
        for (src, dst, reply_type) in [
            ("198.19.0.2", "198.18.0.1", 0),
            ("fd00:19::2", "fd00:18::1", 129),
        ] {
            let (src, dst): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
            let bytes = icmp_echo_reply(src, dst, 0x1234, 7, b"ping data").unwrap();
            let view = parse(&bytes, Checksums::Verify).unwrap();
            assert_eq!((view.ip.src, view.ip.dst), (src, dst));
            let Transport::Icmp(kind, _) = view.transport else {
                panic!("not ICMP: {view:?}")
            };
            assert_eq!(kind.msg_type, reply_type);
            assert_eq!(kind.echo, Some((0x1234, 7)));
        }
        let mixed = icmp_echo_reply(
            "198.19.0.2".parse().unwrap(),
            "fd00::1".parse().unwrap(),
            1,
            1,
            b"",
        );
        assert_eq!(mixed, Err(BuildError::MixedVersions));
    }

    #[test]
    fn udp_refuses_mixed_versions_and_oversized_payloads() {
        let err = udp(sock("198.18.0.1:53"), sock("[fd00::1]:53"), b"x").unwrap_err();
        assert_eq!(err, BuildError::MixedVersions);
        let big = vec![0; 70_000];
        let err = udp(sock("198.18.0.1:53"), sock("198.18.0.2:53"), &big).unwrap_err();
        assert!(matches!(err, BuildError::TooLarge(_)));
    }

    fn syn_packet(src: &str, dst: &str) -> Vec<u8> {
        syn_announcing(src, dst, Some(1460))
    }

    fn syn_announcing(src: &str, dst: &str, mss: Option<u16>) -> Vec<u8> {
        let (src, dst) = (sock(src), sock(dst));
        let repr = TcpRepr {
            src_port: src.port(),
            dst_port: dst.port(),
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(1000),
            ack_number: None,
            window_len: 64240,
            window_scale: Some(7),
            max_seg_size: mss,
            sack_permitted: true,
            sack_ranges: [None, None, None],
            timestamp: None,
            payload: &[],
        };
        let (mut out, off) =
            ip_packet(src.ip(), dst.ip(), IpProtocol::Tcp, repr.header_len()).unwrap();
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out[off..]),
            &IpAddress::from(src.ip()),
            &IpAddress::from(dst.ip()),
            &ChecksumCapabilities::default(),
        );
        out
    }

    #[test]
    fn rst_answers_a_syn_with_ack_of_seq_plus_one() {
        for (src, dst) in [
            ("198.18.0.2:40000", "198.18.5.5:443"),
            ("[fd00::2]:40000", "[fd00::5]:443"),
        ] {
            let syn = syn_packet(src, dst);
            let view = parse(&syn, Checksums::Verify).unwrap();
            let Transport::Tcp(seg) = view.transport else {
                panic!()
            };
            let rst = tcp_rst(&view.ip, &seg).unwrap();
            let reply = parse(&rst, Checksums::Verify).unwrap();
            assert_eq!((reply.ip.src, reply.ip.dst), (view.ip.dst, view.ip.src));
            let Transport::Tcp(r) = reply.transport else {
                panic!()
            };
            assert!(r.flags.rst && r.flags.ack && !r.flags.syn);
            assert_eq!(r.ack, 1001);
            assert_eq!((r.src_port, r.dst_port), (443, 40000));
        }
    }

    #[test]
    fn rst_to_an_ack_takes_its_sequence_from_the_ack_and_a_rst_is_never_answered() {
        let ip = IpHeader {
            src: "198.18.0.2".parse().unwrap(),
            dst: "198.18.0.9".parse().unwrap(),
            hop_limit: 64,
            protocol: 6,
        };
        let mut seg = TcpSegment {
            src_port: 1,
            dst_port: 2,
            seq: 5,
            ack: 777,
            flags: TcpFlags {
                ack: true,
                ..TcpFlags::default()
            },
            window: 0,
            payload: b"data",
        };
        let rst = tcp_rst(&ip, &seg).unwrap();
        let Transport::Tcp(r) = parse(&rst, Checksums::Verify).unwrap().transport else {
            panic!()
        };
        assert!(r.flags.rst && !r.flags.ack);
        assert_eq!(r.seq, 777);
        seg.flags.rst = true;
        assert!(tcp_rst(&ip, &seg).is_none());
    }

    #[test]
    fn icmp_unreachable_quotes_the_original_and_is_never_sent_for_an_icmp_error() {
        for (src, dst, code) in [
            ("198.18.0.2:40000", "198.18.5.5:443", 13),
            ("[fd00::2]:40000", "[fd00::5]:443", 1),
        ] {
            let syn = syn_packet(src, dst);
            let view = parse(&syn, Checksums::Verify).unwrap();
            let err = icmp_unreachable(&view, Unreachable::AdminProhibited).unwrap();
            let reply = parse(&err, Checksums::Verify).unwrap();
            assert_eq!(reply.ip.dst, view.ip.src);
            let Transport::Icmp(kind, data) = reply.transport else {
                panic!()
            };
            assert_eq!(kind.code, code);
            assert_eq!(data, &syn[..], "the whole short original is quoted");
            assert!(icmp_unreachable(&reply, Unreachable::Port).is_none());
        }
    }

    fn announced_mss(packet: &[u8]) -> Option<u16> {
        let view = parse(packet, Checksums::Verify).unwrap();
        let start = packet.len() - tcp_len(&view);
        let tcp = TcpPacket::new_checked(&packet[start..]).unwrap();
        let repr = TcpRepr::parse(
            &tcp,
            &IpAddress::from(view.ip.src),
            &IpAddress::from(view.ip.dst),
            &ChecksumCapabilities::default(),
        )
        .unwrap();
        repr.max_seg_size
    }

    fn tcp_len(view: &PacketView<'_>) -> usize {
        view.bytes.len() - if view.is_ipv6() { 40 } else { 20 }
    }

    #[test]
    fn a_syns_mss_is_raised_and_its_checksums_stay_valid() {
        for (src, dst) in [
            ("198.18.0.2:40000", "198.18.5.5:443"),
            ("[fd00::2]:40000", "[fd00::5]:443"),
        ] {
            let mut syn = syn_announcing(src, dst, Some(1460));
            let before = syn.clone();
            assert!(set_syn_mss(&mut syn, 65_000), "{src}");
            // `announced_mss` parses with checksums verified.
            assert_eq!(announced_mss(&syn), Some(65_000), "{src}");
            let changed: Vec<usize> = (0..syn.len()).filter(|&i| syn[i] != before[i]).collect();
            assert!(
                changed.len() <= 4,
                "only the MSS and the checksum: {changed:?}"
            );
        }
    }

    #[test]
    fn a_syn_without_an_mss_and_other_packets_are_left_alone() {
        let mut bare = syn_announcing("198.18.0.2:40000", "198.18.5.5:443", None);
        let before = bare.clone();
        assert!(!set_syn_mss(&mut bare, 65_000));
        assert_eq!(bare, before);
        let mut answer = udp(sock("198.18.0.1:53"), sock("198.18.0.2:5353"), b"x").unwrap();
        let before = answer.clone();
        assert!(!set_syn_mss(&mut answer, 65_000));
        assert_eq!(answer, before);
        // A reset is TCP but no SYN.
        let syn = syn_packet("198.18.0.2:40000", "198.18.5.5:443");
        let view = parse(&syn, Checksums::Verify).unwrap();
        let Transport::Tcp(segment) = view.transport else {
            panic!()
        };
        let mut rst = tcp_rst(&view.ip, &segment).unwrap();
        assert!(!set_syn_mss(&mut rst, 65_000));
        // Cut short anywhere, a SYN is refused, never a panic.
        for cut in 0..syn.len() {
            let mut short = syn[..cut].to_vec();
            assert!(!set_syn_mss(&mut short, 65_000), "cut at {cut}");
        }
        // Options that run past the header end the search.
        let mut odd = syn.clone();
        let options = 20 + 20;
        odd[options] = 5;
        odd[options + 1] = 40;
        assert!(!set_syn_mss(&mut odd, 65_000));
    }

    #[test]
    fn an_echo_request_is_the_mirror_of_a_reply() {
        for (a, b) in [("198.18.0.1", "198.18.0.2"), ("fd00::1", "fd00::2")] {
            let (a, b): (IpAddr, IpAddr) = (a.parse().unwrap(), b.parse().unwrap());
            let request = icmp_echo_request(a, b, 7, 9, &[0xab; 3000]).unwrap();
            let view = parse(&request, Checksums::Verify).unwrap();
            let Transport::Icmp(kind, data) = view.transport else {
                panic!()
            };
            assert_eq!(kind.msg_type, if a.is_ipv6() { 128 } else { 8 });
            assert_eq!(kind.echo, Some((7, 9)));
            assert_eq!(data.len(), 3000);
            if !a.is_ipv6() {
                assert!(Ipv4Packet::new_checked(&request[..]).unwrap().dont_frag());
            }
        }
    }
}
