//! QUIC Initial packets, protected and opened with rustls' Initial keys
//! (RFC 9001 §5: HKDF from the client's Destination Connection ID,
//! AES-128-GCM, AES header protection), so the fuzzer's frames reach the
//! parser under test through a real decryption done by other code.

use rustls::quic::{Keys, Suite, Version};
use rustls::Side;
use rustls::SupportedCipherSuite;

/// Connection IDs are at most 20 bytes in QUIC v1 and v2.
pub const MAX_CONNECTION_ID: usize = 20;
const TAG: usize = 16;
const SAMPLE: usize = 16;

fn suite() -> Suite {
    match rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256 {
        SupportedCipherSuite::Tls13(suite) => suite
            .quic_suite()
            .expect("TLS_AES_128_GCM_SHA256 has QUIC keys"),
        _ => unreachable!("a TLS 1.3 suite"),
    }
}

fn version(v2: bool) -> (Version, u32) {
    if v2 {
        (Version::V2, hush_inspect::quic::VERSION_2)
    } else {
        (Version::V1, hush_inspect::quic::VERSION_1)
    }
}

/// The fields of one client Initial.
#[derive(Debug, Clone)]
pub struct Initial<'a> {
    pub v2: bool,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    pub token: &'a [u8],
    /// 1 to 4.
    pub pn_len: usize,
    pub packet_number: u64,
}

/// A client's Initial keys for one Destination Connection ID.
pub struct ClientKeys {
    keys: Keys,
    version: u32,
}

impl ClientKeys {
    pub fn new(v2: bool, dcid: &[u8]) -> Self {
        let (quic_version, version) = version(v2);
        Self {
            keys: suite().keys(dcid, Side::Client, quic_version),
            version,
        }
    }

    /// The protected packet carrying `frames`, padded with PADDING frames
    /// to the length header protection needs.
    pub fn protect(&self, initial: &Initial<'_>, frames: &[u8]) -> Vec<u8> {
        let pn_len = initial.pn_len.clamp(1, 4);
        let mut payload = frames.to_vec();
        // The sample starts 4 bytes after the packet number's start.
        if pn_len + payload.len() < 4 {
            payload.resize(4 - pn_len, 0);
        }
        let packet_type: u8 = if initial.v2 { 1 } else { 0 };
        let mut packet = vec![0xc0 | (packet_type << 4) | (pn_len as u8 - 1)];
        packet.extend_from_slice(&self.version.to_be_bytes());
        packet.push(initial.dcid.len() as u8);
        packet.extend_from_slice(initial.dcid);
        packet.push(initial.scid.len() as u8);
        packet.extend_from_slice(initial.scid);
        put_varint(&mut packet, initial.token.len() as u64);
        packet.extend_from_slice(initial.token);
        put_varint(&mut packet, (pn_len + payload.len() + TAG) as u64);
        let pn_offset = packet.len();
        let truncated = initial.packet_number.to_be_bytes();
        packet.extend_from_slice(&truncated[8 - pn_len..]);
        let tag = self
            .keys
            .local
            .packet
            .encrypt_in_place(initial.packet_number, &packet, &mut payload)
            .expect("an Initial is far below AES-GCM's limits");
        packet.extend_from_slice(&payload);
        packet.extend_from_slice(tag.as_ref());
        let mut sample = [0u8; SAMPLE];
        sample.copy_from_slice(&packet[pn_offset + 4..pn_offset + 4 + SAMPLE]);
        let (head, rest) = packet.split_at_mut(pn_offset);
        self.keys
            .local
            .header
            .encrypt_in_place(&sample, &mut head[0], &mut rest[..pn_len])
            .expect("a 16-byte sample and a packet number of 1 to 4 bytes");
        packet
    }
}

/// QUIC's variable-length integer (RFC 9000 §16), shortest form; values
/// past 2^62 are cut to fit.
pub fn put_varint(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=0x3f => out.push(value as u8),
        0x40..=0x3fff => out.extend_from_slice(&(value as u16 | 0x4000).to_be_bytes()),
        0x4000..=0x3fff_ffff => out.extend_from_slice(&(value as u32 | 0x8000_0000).to_be_bytes()),
        _ => out.extend_from_slice(
            &((value & 0x3fff_ffff_ffff_ffff) | 0xc000_0000_0000_0000).to_be_bytes(),
        ),
    }
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let first = *bytes.get(*at)?;
    let len = 1usize << (first >> 6);
    let raw = bytes.get(*at..*at + len)?;
    *at += len;
    let mut value = u64::from(first & 0x3f);
    for &byte in &raw[1..] {
        value = value << 8 | u64::from(byte);
    }
    Some(value)
}

/// An opened client Initial: its header fields and decrypted frames.
#[derive(Debug, Clone)]
pub struct Opened {
    pub v2: bool,
    pub dcid: Vec<u8>,
    pub scid: Vec<u8>,
    pub token: Vec<u8>,
    pub pn_len: usize,
    pub packet_number: u64,
    pub frames: Vec<u8>,
}

/// Opens the client Initials coalesced in `datagram` (for seeds taken from
/// captures). `keys` holds the keys of the first Initial's DCID, as a
/// server keeps them. Packet numbers are read as sent (no reconstruction
/// past the truncated bits: captures start at small numbers).
pub fn open_initials(datagram: &[u8], keys: &mut Option<(bool, Keys)>) -> Vec<Opened> {
    let mut opened = Vec::new();
    let mut rest = datagram;
    while let Some(packet) = open_one(rest, keys, &mut opened) {
        rest = packet;
    }
    opened
}

/// Opens the packet at the start of `data`, returns what follows it.
fn open_one<'a>(
    data: &'a [u8],
    keys: &mut Option<(bool, Keys)>,
    opened: &mut Vec<Opened>,
) -> Option<&'a [u8]> {
    let first = *data.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(data.get(1..5)?.try_into().ok()?);
    let v2 = match version {
        hush_inspect::quic::VERSION_1 => false,
        hush_inspect::quic::VERSION_2 => true,
        _ => return None,
    };
    let mut at = 5;
    let dcid_len = usize::from(*data.get(at)?);
    let dcid = data.get(at + 1..at + 1 + dcid_len)?.to_vec();
    at += 1 + dcid_len;
    let scid_len = usize::from(*data.get(at)?);
    let scid = data.get(at + 1..at + 1 + scid_len)?.to_vec();
    at += 1 + scid_len;
    let packet_type = (first >> 4) & 3;
    let initial = packet_type == if v2 { 1 } else { 0 };
    let mut token = Vec::new();
    if initial {
        let token_len = usize::try_from(varint(data, &mut at)?).ok()?;
        token = data.get(at..at.checked_add(token_len)?)?.to_vec();
        at += token_len;
    }
    let length = usize::try_from(varint(data, &mut at)?).ok()?;
    let pn_offset = at;
    let end = pn_offset.checked_add(length)?;
    if end > data.len() {
        return None;
    }
    if initial {
        let (quic_version, _) = self::version(v2);
        let (_, keys) =
            keys.get_or_insert_with(|| (v2, suite().keys(&dcid, Side::Server, quic_version)));
        let mut packet = data[..end].to_vec();
        let sample: [u8; SAMPLE] = packet
            .get(pn_offset + 4..pn_offset + 4 + SAMPLE)?
            .try_into()
            .ok()?;
        let (head, rest) = packet.split_at_mut(pn_offset);
        keys.remote
            .header
            .decrypt_in_place(&sample, &mut head[0], &mut rest[..4])
            .ok()?;
        let pn_len = usize::from(packet[0] & 3) + 1;
        let packet_number = packet[pn_offset..pn_offset + pn_len]
            .iter()
            .fold(0u64, |n, &b| n << 8 | u64::from(b));
        let (header, payload) = packet.split_at_mut(pn_offset + pn_len);
        if let Ok(frames) = keys
            .remote
            .packet
            .decrypt_in_place(packet_number, header, payload)
        {
            opened.push(Opened {
                v2,
                dcid,
                scid,
                token,
                pn_len,
                packet_number,
                frames: frames.to_vec(),
            });
        }
    }
    Some(&data[end..])
}
