//! Packet views and builders: any bytes parse to a view or an error; a
//! checksum-verified view is also a view without verification; every
//! packet a builder makes from a view (UDP, TCP reset, ICMP errors, echo
//! replies) parses back, checksums verified, to what was built.

#![no_main]

use std::net::{IpAddr, SocketAddr};

use hush_packet::build::{self, Unreachable};
use hush_packet::{parse, Checksums, PacketView, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verified = parse(data, Checksums::Verify);
    let ignored = parse(data, Checksums::Ignore);
    if let Ok(view) = verified {
        assert_eq!(ignored, Ok(view), "verifying checksums changed the view");
    }
    let Ok(view) = ignored else {
        return;
    };
    assert!(
        data.starts_with(view.bytes),
        "the view is a prefix of the input"
    );
    rebuild(&view);
});

fn rebuild(view: &PacketView<'_>) {
    match view.transport {
        Transport::Udp(udp) => {
            let src = SocketAddr::new(view.ip.src, udp.src_port);
            let dst = SocketAddr::new(view.ip.dst, udp.dst_port);
            let built = build::udp(src, dst, udp.payload).expect("a parsed datagram fits");
            let back = parse(&built, Checksums::Verify).expect("a built datagram parses");
            let Transport::Udp(again) = back.transport else {
                panic!("built UDP parsed as {back:?}")
            };
            assert_eq!((back.ip.src, back.ip.dst), (view.ip.src, view.ip.dst));
            assert_eq!(again, udp);
            assert_eq!(back.fragment, None);
        }
        Transport::Tcp(segment) => match build::tcp_rst(&view.ip, &segment) {
            None => assert!(segment.flags.rst, "only a reset goes unanswered"),
            Some(rst) => {
                let back = parse(&rst, Checksums::Verify).expect("a built reset parses");
                let Transport::Tcp(reply) = back.transport else {
                    panic!("built reset parsed as {back:?}")
                };
                assert_eq!((back.ip.src, back.ip.dst), (view.ip.dst, view.ip.src));
                assert_eq!(
                    (reply.src_port, reply.dst_port),
                    (segment.dst_port, segment.src_port)
                );
                assert!(reply.flags.rst && !reply.flags.syn && !reply.flags.fin);
                assert!(reply.payload.is_empty());
                if segment.flags.ack {
                    assert_eq!(reply.seq, segment.ack);
                    assert!(!reply.flags.ack);
                } else {
                    let consumed = segment.payload.len() as u32
                        + u32::from(segment.flags.syn)
                        + u32::from(segment.flags.fin);
                    assert!(reply.flags.ack);
                    assert_eq!(reply.ack, segment.seq.wrapping_add(consumed));
                }
            }
        },
        Transport::Icmp(kind, data) => {
            if let Some((ident, seq)) = kind.echo {
                let reply = build::icmp_echo_reply(view.ip.dst, view.ip.src, ident, seq, data)
                    .expect("a parsed echo fits");
                let back = parse(&reply, Checksums::Verify).expect("a built echo reply parses");
                let Transport::Icmp(answer, echoed) = back.transport else {
                    panic!("built echo reply parsed as {back:?}")
                };
                assert_eq!(answer.echo, Some((ident, seq)));
                assert_eq!(answer.msg_type, if view.is_ipv6() { 129 } else { 0 });
                assert_eq!(echoed, data);
            }
        }
        Transport::Fragment(_) | Transport::Other(_) => {}
    }
    for reason in [
        Unreachable::Port,
        Unreachable::AdminProhibited,
        Unreachable::Host,
    ] {
        unreachable(view, reason);
    }
}

fn unreachable(view: &PacketView<'_>, reason: Unreachable) {
    let Some(error) = build::icmp_unreachable(view, reason) else {
        let later_fragment = view.fragment.is_some_and(|f| f.offset != 0);
        let icmp_error = matches!(view.transport, Transport::Icmp(kind, _)
            if if view.is_ipv6() { kind.msg_type < 128 } else { !matches!(kind.msg_type, 0 | 8 | 13 | 14) });
        assert!(
            later_fragment || icmp_error,
            "an ICMP error refused for {view:?}"
        );
        return;
    };
    let limit = if view.is_ipv6() { 1280 } else { 576 };
    assert!(error.len() <= limit, "ICMP error of {} bytes", error.len());
    let back = parse(&error, Checksums::Verify).expect("a built ICMP error parses");
    assert_eq!((back.ip.src, back.ip.dst), (view.ip.dst, view.ip.src));
    let Transport::Icmp(kind, quoted) = back.transport else {
        panic!("built ICMP error parsed as {back:?}")
    };
    let expected = match (view.ip.src, reason) {
        (IpAddr::V4(_), Unreachable::Port) => (3, 3),
        (IpAddr::V4(_), Unreachable::AdminProhibited) => (3, 13),
        (IpAddr::V4(_), Unreachable::Host) => (3, 1),
        (IpAddr::V6(_), Unreachable::Port) => (1, 4),
        (IpAddr::V6(_), Unreachable::AdminProhibited) => (1, 1),
        (IpAddr::V6(_), Unreachable::Host) => (1, 3),
    };
    assert_eq!((kind.msg_type, kind.code), expected);
    assert!(!quoted.is_empty() && view.bytes.starts_with(quoted));
}
