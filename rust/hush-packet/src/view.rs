//! Zero-copy parsing of one IP packet into a [`PacketView`].
//!
//! Every accessor of the `smoltcp` wire types is only called after its
//! `new_checked` succeeded, which is what makes the whole parse panic-free.

use std::net::IpAddr;

use smoltcp::wire::{
    Icmpv4Packet, Icmpv6Packet, IpAddress, IpProtocol, Ipv4Packet, Ipv6ExtHeader,
    Ipv6FragmentHeader, Ipv6Packet, TcpPacket, UdpPacket,
};

/// Whether transport and header checksums are verified.
///
/// A tun device delivers packets with correct checksums, so the engine verifies
/// them. Captures taken on a sending host often carry checksums left for the
/// NIC to fill in; tests over such captures pass [`Checksums::Ignore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksums {
    Verify,
    Ignore,
}

/// Why a byte sequence is not a packet Hush can look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("not an IP packet (version nibble {0})")]
    UnknownVersion(u8),
    #[error("truncated or inconsistent {0} header")]
    Malformed(&'static str),
    #[error("bad {0} checksum")]
    BadChecksum(&'static str),
    #[error("too many IPv6 extension headers")]
    TooManyExtensionHeaders,
}

/// The network-layer facts of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpHeader {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub hop_limit: u8,
    /// The upper-layer protocol number, after any IPv6 extension headers.
    pub protocol: u8,
}

/// Fragmentation facts, present when the packet is one fragment of a larger datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Offset of this fragment's data in the original datagram, in bytes.
    pub offset: u32,
    pub more_follow: bool,
    pub ident: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload: &'a [u8],
}

/// ICMP message, for either IP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpKind {
    pub msg_type: u8,
    pub code: u8,
    /// Identifier and sequence number of an echo request or reply.
    pub echo: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Udp(UdpDatagram<'a>),
    Tcp(TcpSegment<'a>),
    Icmp(IcmpKind, &'a [u8]),
    /// A fragment: its transport header is absent or its payload incomplete, so
    /// nothing above IP can be trusted until reassembly.
    Fragment(&'a [u8]),
    /// Another upper-layer protocol, carried as is.
    Other(&'a [u8]),
}

/// A parsed packet. Borrows the input; copies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketView<'a> {
    pub ip: IpHeader,
    pub fragment: Option<Fragment>,
    pub transport: Transport<'a>,
    /// The whole IP packet, trimmed to the length its header states.
    pub bytes: &'a [u8],
}

impl PacketView<'_> {
    pub fn is_ipv6(&self) -> bool {
        self.ip.src.is_ipv6()
    }
}

/// The extension-header chain is walked at most this deep, which bounds the
/// work a crafted packet can cause.
const MAX_IPV6_EXTENSION_HEADERS: usize = 8;

/// Parses one raw IP packet. Any input yields a view or an error, never a panic.
pub fn parse(bytes: &[u8], checksums: Checksums) -> Result<PacketView<'_>, PacketError> {
    let Some(first) = bytes.first() else {
        return Err(PacketError::Empty);
    };
    match first >> 4 {
        4 => parse_ipv4(bytes, checksums),
        6 => parse_ipv6(bytes, checksums),
        other => Err(PacketError::UnknownVersion(other)),
    }
}

fn parse_ipv4(bytes: &[u8], checksums: Checksums) -> Result<PacketView<'_>, PacketError> {
    let packet = Ipv4Packet::new_checked(bytes).map_err(|_| PacketError::Malformed("IPv4"))?;
    if checksums == Checksums::Verify && !packet.verify_checksum() {
        return Err(PacketError::BadChecksum("IPv4 header"));
    }
    let total_len = usize::from(packet.total_len());
    let bytes = &bytes[..total_len];
    let header_len = usize::from(packet.header_len());
    let payload = &bytes[header_len..];
    let ip = IpHeader {
        src: IpAddr::V4(packet.src_addr()),
        dst: IpAddr::V4(packet.dst_addr()),
        hop_limit: packet.hop_limit(),
        protocol: u8::from(packet.next_header()),
    };
    let fragment = (packet.more_frags() || packet.frag_offset() != 0).then(|| Fragment {
        offset: u32::from(packet.frag_offset()),
        more_follow: packet.more_frags(),
        ident: u32::from(packet.ident()),
    });
    let transport = parse_transport(&ip, fragment.is_some(), payload, checksums)?;
    Ok(PacketView {
        ip,
        fragment,
        transport,
        bytes,
    })
}

fn parse_ipv6(bytes: &[u8], checksums: Checksums) -> Result<PacketView<'_>, PacketError> {
    let packet = Ipv6Packet::new_checked(bytes).map_err(|_| PacketError::Malformed("IPv6"))?;
    let bytes = &bytes[..packet.total_len()];
    let mut protocol = packet.next_header();
    let mut rest = &bytes[40..];
    let mut fragment = None;
    let mut walked = 0;
    loop {
        let header_len = match protocol {
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                let header = Ipv6ExtHeader::new_checked(rest)
                    .map_err(|_| PacketError::Malformed("IPv6 extension"))?;
                protocol = header.next_header();
                8 + usize::from(header.header_len()) * 8
            }
            IpProtocol::Ipv6Frag => {
                let header = Ipv6ExtHeader::new_checked(rest)
                    .map_err(|_| PacketError::Malformed("IPv6 fragment"))?;
                let body = Ipv6FragmentHeader::new_checked(header.payload())
                    .map_err(|_| PacketError::Malformed("IPv6 fragment"))?;
                fragment = Some(Fragment {
                    offset: u32::from(body.frag_offset()) * 8,
                    more_follow: body.more_frags(),
                    ident: body.ident(),
                });
                protocol = header.next_header();
                8
            }
            _ => break,
        };
        // `new_checked` guaranteed `rest` holds `header_len` bytes.
        rest = &rest[header_len..];
        walked += 1;
        if walked > MAX_IPV6_EXTENSION_HEADERS {
            return Err(PacketError::TooManyExtensionHeaders);
        }
    }
    // A fragment that is the whole datagram (offset 0, none to follow) is atomic:
    // RFC 8200 says to process it as if it were not fragmented.
    let fragment = fragment.filter(|f| f.offset != 0 || f.more_follow);
    let ip = IpHeader {
        src: IpAddr::V6(packet.src_addr()),
        dst: IpAddr::V6(packet.dst_addr()),
        hop_limit: packet.hop_limit(),
        protocol: u8::from(protocol),
    };
    let transport = parse_transport(&ip, fragment.is_some(), rest, checksums)?;
    Ok(PacketView {
        ip,
        fragment,
        transport,
        bytes,
    })
}

fn parse_transport<'a>(
    ip: &IpHeader,
    fragmented: bool,
    payload: &'a [u8],
    checksums: Checksums,
) -> Result<Transport<'a>, PacketError> {
    if fragmented {
        return Ok(Transport::Fragment(payload));
    }
    let verify = checksums == Checksums::Verify;
    let (src, dst) = (IpAddress::from(ip.src), IpAddress::from(ip.dst));
    match IpProtocol::from(ip.protocol) {
        IpProtocol::Udp => {
            let udp = UdpPacket::new_checked(payload).map_err(|_| PacketError::Malformed("UDP"))?;
            // An IPv4 UDP checksum of zero means "not computed"; IPv6 forbids it.
            let unchecked_v4 = ip.src.is_ipv4() && udp.checksum() == 0;
            if verify && !unchecked_v4 && !udp.verify_checksum(&src, &dst) {
                return Err(PacketError::BadChecksum("UDP"));
            }
            Ok(Transport::Udp(UdpDatagram {
                src_port: udp.src_port(),
                dst_port: udp.dst_port(),
                payload: udp.payload(),
            }))
        }
        IpProtocol::Tcp => {
            let tcp = TcpPacket::new_checked(payload).map_err(|_| PacketError::Malformed("TCP"))?;
            if verify && !tcp.verify_checksum(&src, &dst) {
                return Err(PacketError::BadChecksum("TCP"));
            }
            Ok(Transport::Tcp(TcpSegment {
                src_port: tcp.src_port(),
                dst_port: tcp.dst_port(),
                seq: tcp.seq_number().0 as u32,
                ack: tcp.ack_number().0 as u32,
                flags: TcpFlags {
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    psh: tcp.psh(),
                },
                window: tcp.window_len(),
                payload: tcp.payload(),
            }))
        }
        IpProtocol::Icmp if ip.src.is_ipv4() => {
            let icmp =
                Icmpv4Packet::new_checked(payload).map_err(|_| PacketError::Malformed("ICMPv4"))?;
            if verify && !icmp.verify_checksum() {
                return Err(PacketError::BadChecksum("ICMPv4"));
            }
            let msg_type = u8::from(icmp.msg_type());
            let is_echo = matches!(msg_type, 0 | 8);
            Ok(Transport::Icmp(
                IcmpKind {
                    msg_type,
                    code: icmp.msg_code(),
                    echo: is_echo.then(|| (icmp.echo_ident(), icmp.echo_seq_no())),
                },
                icmp.data(),
            ))
        }
        IpProtocol::Icmpv6 => {
            let (IpAddr::V6(src6), IpAddr::V6(dst6)) = (ip.src, ip.dst) else {
                return Err(PacketError::Malformed("ICMPv6 over IPv4"));
            };
            let icmp =
                Icmpv6Packet::new_checked(payload).map_err(|_| PacketError::Malformed("ICMPv6"))?;
            if verify && !icmp.verify_checksum(&src6, &dst6) {
                return Err(PacketError::BadChecksum("ICMPv6"));
            }
            let msg_type = u8::from(icmp.msg_type());
            let is_echo = matches!(msg_type, 128 | 129);
            Ok(Transport::Icmp(
                IcmpKind {
                    msg_type,
                    code: icmp.msg_code(),
                    echo: is_echo.then(|| (icmp.echo_ident(), icmp.echo_seq_no())),
                },
                icmp.payload(),
            ))
        }
        _ => Ok(Transport::Other(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator, so the garbage test needs no dependency.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn udp_v6_with_extensions(extensions: &[(u8, Vec<u8>)], payload_proto: u8) -> Vec<u8> {
        // extensions: (this header's protocol number, its bytes including next/len)
        let udp = [0x9c, 0x40, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, b'h', b'i'];
        let mut body = Vec::new();
        for (i, (_, bytes)) in extensions.iter().enumerate() {
            let mut bytes = bytes.clone();
            bytes[0] = extensions.get(i + 1).map_or(payload_proto, |e| e.0);
            body.extend_from_slice(&bytes);
        }
        body.extend_from_slice(&udp);
        let first = extensions.first().map_or(payload_proto, |e| e.0);
        let mut packet = vec![0x60, 0, 0, 0];
        packet.extend_from_slice(&(body.len() as u16).to_be_bytes());
        packet.extend_from_slice(&[first, 64]);
        packet.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        packet.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]);
        packet.extend_from_slice(&body);
        packet
    }

    #[test]
    fn any_byte_sequence_gives_a_value_or_an_error() {
        let mut rng = XorShift(0x5eed_1234_abcd_ef01);
        let mut buf = [0u8; 128];
        for round in 0..200_000 {
            let len = (rng.next() % 129) as usize;
            for b in buf.iter_mut().take(len) {
                *b = rng.next() as u8;
            }
            // Bias towards the interesting versions so the deep paths are reached.
            if len > 0 && round % 2 == 0 {
                buf[0] = (if round % 4 == 0 { 0x45 } else { 0x60 }) | (buf[0] & 0x0f);
            }
            for checksums in [Checksums::Verify, Checksums::Ignore] {
                let _ = parse(&buf[..len], checksums);
            }
        }
    }

    #[test]
    fn empty_and_unknown_versions_are_errors() {
        assert_eq!(parse(&[], Checksums::Verify), Err(PacketError::Empty));
        assert_eq!(
            parse(&[0x20, 0, 0, 0], Checksums::Verify),
            Err(PacketError::UnknownVersion(2))
        );
    }

    #[test]
    fn ipv6_extension_headers_are_walked_to_the_upper_layer() {
        let hop_by_hop = vec![0, 0, 1, 4, 0, 0, 0, 0]; // PadN option
        let dest_opts = vec![0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let packet = udp_v6_with_extensions(&[(0, hop_by_hop), (60, dest_opts)], 17);
        let view = parse(&packet, Checksums::Ignore).unwrap();
        assert_eq!(view.ip.protocol, 17);
        let Transport::Udp(udp) = view.transport else {
            panic!("{view:?}")
        };
        assert_eq!((udp.dst_port, udp.payload), (53, &b"hi"[..]));
    }

    #[test]
    fn ipv6_fragments_are_reported_and_atomic_fragments_are_not() {
        let fragment = |offset_units: u16, more: bool| {
            let word = (offset_units << 3) | u16::from(more);
            let [a, b] = word.to_be_bytes();
            vec![0, 0, a, b, 0xde, 0xad, 0xbe, 0xef]
        };
        let packet = udp_v6_with_extensions(&[(44, fragment(0, true))], 17);
        let view = parse(&packet, Checksums::Ignore).unwrap();
        assert_eq!(
            view.fragment,
            Some(Fragment {
                offset: 0,
                more_follow: true,
                ident: 0xdead_beef
            })
        );
        assert!(matches!(view.transport, Transport::Fragment(_)));

        let later = udp_v6_with_extensions(&[(44, fragment(3, false))], 17);
        let view = parse(&later, Checksums::Ignore).unwrap();
        assert_eq!(view.fragment.map(|f| f.offset), Some(24));

        let atomic = udp_v6_with_extensions(&[(44, fragment(0, false))], 17);
        let view = parse(&atomic, Checksums::Ignore).unwrap();
        assert_eq!(view.fragment, None);
        assert!(matches!(view.transport, Transport::Udp(_)));
    }

    #[test]
    fn an_endless_extension_chain_is_cut_off() {
        let chain: Vec<(u8, Vec<u8>)> = (0..20).map(|_| (60, vec![0; 8])).collect();
        let packet = udp_v6_with_extensions(&chain, 17);
        assert_eq!(
            parse(&packet, Checksums::Ignore),
            Err(PacketError::TooManyExtensionHeaders)
        );
    }

    #[test]
    fn ipv4_options_and_fragments_and_bad_checksums() {
        let src = "198.18.0.2:40000".parse().unwrap();
        let dst = "198.18.0.53:53".parse().unwrap();
        let plain = crate::build::udp(src, dst, b"query").unwrap();
        // Insert a 4-byte option (NOP NOP NOP EOL), fix IHL, length and checksum.
        let mut with_options = plain[..20].to_vec();
        with_options.extend_from_slice(&[1, 1, 1, 0]);
        with_options.extend_from_slice(&plain[20..]);
        with_options[0] = 0x46;
        let total = (with_options.len() as u16).to_be_bytes();
        with_options[2..4].copy_from_slice(&total);
        let mut packet = Ipv4Packet::new_unchecked(&mut with_options[..]);
        packet.fill_checksum();
        let view = parse(&with_options, Checksums::Verify).unwrap();
        let Transport::Udp(udp) = view.transport else {
            panic!()
        };
        assert_eq!(udp.payload, b"query");

        let mut fragment = plain.clone();
        fragment[6] = 0x20; // more fragments
        Ipv4Packet::new_unchecked(&mut fragment[..]).fill_checksum();
        let view = parse(&fragment, Checksums::Verify).unwrap();
        assert!(view
            .fragment
            .is_some_and(|f| f.more_follow && f.offset == 0));
        assert!(matches!(view.transport, Transport::Fragment(_)));

        let mut corrupt = plain.clone();
        *corrupt.last_mut().unwrap() ^= 0xff;
        assert_eq!(
            parse(&corrupt, Checksums::Verify),
            Err(PacketError::BadChecksum("UDP"))
        );
        assert!(parse(&corrupt, Checksums::Ignore).is_ok());

        // Trailing bytes beyond the stated length (link padding) are trimmed.
        let mut padded = plain.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(parse(&padded, Checksums::Verify).unwrap().bytes, &plain[..]);
    }
}
