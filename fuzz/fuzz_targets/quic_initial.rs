//! QUIC Initials as a client sends them, protected with real Initial keys
//! (rustls, RFC 9001), so the fuzzer's frames reach the frame parser and
//! the CRYPTO reassembly behind the decryption.
//!
//! Every packet is protected correctly, so the sniffer must never fail to
//! decrypt one: that checks its key derivation and header protection
//! against rustls' on every run.
//!
//! Mode 0 (frames): the fuzzer's plaintext is cut into packets at its
//! chosen points; any outcome but a decryption failure is fine.
//!
//! Mode 1 (a ClientHello): the message is cut into CRYPTO frames at
//! fuzzer-chosen offsets and lengths (overlapping, repeated, out of order),
//! mixed with PADDING, PING and ACK frames, spread over packets, and the
//! gaps filled last; the first decision must be what the message says
//! read whole, and once every byte is sent there must be one.
//!
//! Input: flags (bit 0 v2, bit 1 mode, bit 2 coalesce packets into one
//! datagram, bit 3 damage a byte after the last packet), DCID, SCID, token
//! (each a length byte and bytes), packet-number length, first packet
//! number, packet count, per packet a 16-bit split and a number step, then
//! for mode 1 a fragment count and per fragment a 16-bit offset and
//! length; then the plaintext frames or the ClientHello body.

#![no_main]

use hush_fuzz::quic::{put_varint, ClientKeys, Initial, MAX_CONNECTION_ID};
use hush_fuzz::{cut_points, Input};
use hush_inspect::quic::{QuicError, QuicProgress, QuicSniffer, MAX_CRYPTO};
use hush_inspect::tls;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.u8();
    let v2 = flags & 1 != 0;
    let dcid_len = usize::from(input.u8()) % (MAX_CONNECTION_ID + 1);
    let dcid = input.bytes(dcid_len);
    let scid_len = usize::from(input.u8()) % (MAX_CONNECTION_ID + 1);
    let scid = input.bytes(scid_len);
    let token_len = usize::from(input.u8() % 64);
    let token = input.bytes(token_len);
    let pn_len = usize::from(input.u8() % 4) + 1;
    // The receiver expects 0 before its first packet: the first number must
    // be within half the window of it to decode as sent (RFC 9000 §A.3).
    let mut packet_number = u64::from(input.u32()) % (1u64 << (8 * pn_len - 1));
    let packets = usize::from(input.u8() % 8) + 1;
    let layout: Vec<(u16, u8)> = (0..packets).map(|_| (input.u16(), input.u8())).collect();

    let keys = ClientKeys::new(v2, dcid);
    let mut numbers = Vec::with_capacity(packets);
    for (_, step) in &layout {
        numbers.push(packet_number);
        packet_number += 1 + u64::from(step % 64);
    }
    let initial = |n: usize| Initial {
        v2,
        dcid,
        scid,
        token,
        pn_len,
        packet_number: numbers[n],
    };

    if flags & 2 == 0 {
        let frames = input.rest();
        let splits = cut_points(layout.iter().map(|(split, _)| *split), frames.len());
        let mut payloads = Vec::with_capacity(packets);
        let mut start = 0;
        for end in splits.into_iter().take(packets) {
            payloads.push(&frames[start..end]);
            start = end;
        }
        let datagrams = protect(&keys, &initial, &payloads, flags);
        let mut sniffer = QuicSniffer::new();
        for datagram in &datagrams {
            let progress = sniffer.feed(datagram);
            if flags & 8 == 0 {
                assert_ne!(progress, QuicProgress::Failed(QuicError::Decrypt));
            }
            if progress != QuicProgress::NeedMore {
                break;
            }
        }
        return;
    }

    // Mode 1: a ClientHello in CRYPTO frames.
    let fragments: Vec<(u16, u16)> = (0..input.u8() % 32)
        .map(|_| (input.u16(), input.u16()))
        .collect();
    let body = input.rest();
    let mut message = vec![1];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(body);
    if message.len() > MAX_CRYPTO {
        return;
    }
    let expected = match tls::client_hello_sni(&message) {
        Ok(name) => QuicProgress::Sni(name.map(str::to_owned)),
        Err(error) => QuicProgress::Failed(error.into()),
    };

    let mut covered = vec![false; message.len()];
    let mut frames: Vec<Vec<u8>> = vec![Vec::new(); packets];
    for (i, &(offset, length)) in fragments.iter().enumerate() {
        let start = usize::from(offset) % message.len();
        let end = (start + usize::from(length) % 1200).min(message.len());
        let packet = &mut frames[i % packets];
        // Other frames an Initial may carry, between the CRYPTO ones.
        match length % 4 {
            0 => packet.push(0x01),                                         // PING
            1 => packet.extend_from_slice(&[0; 3]),                         // PADDING
            2 => packet.extend_from_slice(&[0x02, 0x05, 0x00, 0x00, 0x01]), // ACK
            _ => {}
        }
        crypto_frame(packet, start, &message[start..end]);
        covered[start..end].iter_mut().for_each(|c| *c = true);
    }
    // Whatever was not sent yet goes in the last packet.
    let mut at = 0;
    while at < covered.len() {
        if covered[at] {
            at += 1;
            continue;
        }
        let end = covered[at..]
            .iter()
            .position(|&c| c)
            .map_or(covered.len(), |n| at + n);
        crypto_frame(&mut frames[packets - 1], at, &message[at..end]);
        at = end;
    }
    let payloads: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let datagrams = protect(&keys, &initial, &payloads, flags & !8);
    let mut sniffer = QuicSniffer::new();
    let mut decided = None;
    for datagram in &datagrams {
        let progress = sniffer.feed(datagram);
        if progress != QuicProgress::NeedMore {
            decided = Some(progress);
            break;
        }
    }
    assert_eq!(
        decided,
        Some(expected),
        "the ClientHello read from CRYPTO frames"
    );
});

fn crypto_frame(out: &mut Vec<u8>, offset: usize, data: &[u8]) {
    out.push(0x06);
    put_varint(out, offset as u64);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// The protected packets, one datagram each or all coalesced into one
/// (flag bit 2); flag bit 3 damages a byte of the last packet.
fn protect<'a>(
    keys: &ClientKeys,
    initial: &impl Fn(usize) -> Initial<'a>,
    payloads: &[&[u8]],
    flags: u8,
) -> Vec<Vec<u8>> {
    let mut packets: Vec<Vec<u8>> = payloads
        .iter()
        .enumerate()
        .map(|(n, payload)| keys.protect(&initial(n), payload))
        .collect();
    if flags & 8 != 0 {
        if let Some(last) = packets.last_mut() {
            let at = usize::from(flags >> 4) * 7 % last.len();
            last[at] ^= 0x5a;
        }
    }
    if flags & 4 != 0 {
        vec![packets.concat()]
    } else {
        packets
    }
}
