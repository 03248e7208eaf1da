//! The server name in a QUIC client's Initial packets.
//!
//! Initial packets are encrypted, but with keys anyone can derive from the
//! client's first Destination Connection ID (RFC 9001 §5.2 for QUIC v1,
//! RFC 9369 §3.3 for v2). A [`QuicSniffer`] follows one UDP flow: it removes
//! header protection, decrypts each Initial, gathers CRYPTO frames in any
//! order and across packets, and parses the ClientHello they carry once it is
//! whole. Legacy Google QUIC is recognised and left alone.

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::{AeadInOut, Aes128Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::tls::{self, TlsError};

pub const VERSION_1: u32 = 0x0000_0001;
pub const VERSION_2: u32 = 0x6b33_43cf;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// The ClientHello is read from at most this many CRYPTO bytes. Post-quantum
/// ClientHellos are about 2 KB; this leaves room and bounds what a flow holds.
pub const MAX_CRYPTO: usize = 16 * 1024;
/// QUIC connection IDs are at most 20 bytes in v1 and v2.
const MAX_CONNECTION_ID: usize = 20;
/// Header-protection sample size and AEAD tag size.
const SAMPLE: usize = 16;
const TAG: usize = 16;

/// Why a flow's Initials could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuicError {
    #[error("QUIC version {0:#010x} is not one Hush can decrypt")]
    UnsupportedVersion(u32),
    #[error("QUIC long header is malformed")]
    MalformedHeader,
    #[error("QUIC Initial failed to decrypt")]
    Decrypt,
    #[error("QUIC Initial carries a frame of type {0:#x}, which Initials may not")]
    UnexpectedFrame(u64),
    #[error("QUIC Initial frame is truncated")]
    MalformedFrame,
    #[error("QUIC CRYPTO data reaches past {MAX_CRYPTO} bytes")]
    CryptoTooLong,
    #[error("QUIC ClientHello: {0}")]
    Tls(#[from] TlsError),
}

/// What a flow's datagrams say so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuicProgress {
    /// The flow is not IETF QUIC (or began before Hush saw its Initials).
    NotQuic,
    /// Legacy Google QUIC (Q0xx or T0xx versions): not parsed.
    GoogleQuic,
    /// Initials so far hold only part of the ClientHello.
    NeedMore,
    /// The ClientHello is whole; the host name it names, if any.
    Sni(Option<String>),
    /// QUIC that could not be read: an unknown version, bad crypto, bad frames.
    Failed(QuicError),
}

/// Reads the ClientHello from the Initials of one UDP flow, client to server.
#[derive(Default)]
pub struct QuicSniffer {
    /// Keys from the first Initial's Destination Connection ID: later client
    /// Initials keep using them even after the server picks a new ID.
    keys: Option<Box<InitialKeys>>,
    largest_packet_number: Option<u64>,
    crypto: CryptoStream,
    /// Reused for each packet's decryption.
    scratch: Vec<u8>,
}

impl QuicSniffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next datagram the client sent. Once this returns anything but
    /// `NeedMore`, the flow is decided and further calls are not needed.
    pub fn feed(&mut self, datagram: &[u8]) -> QuicProgress {
        let Some(&first) = datagram.first() else {
            return QuicProgress::NotQuic;
        };
        if first & 0x80 == 0 {
            if is_legacy_gquic(datagram) {
                return QuicProgress::GoogleQuic;
            }
            // A short header: a connection already under way.
            return if self.keys.is_some() {
                QuicProgress::NeedMore
            } else {
                QuicProgress::NotQuic
            };
        }
        let Some(version) = datagram.get(1..5) else {
            return QuicProgress::NotQuic;
        };
        let version = u32::from_be_bytes([version[0], version[1], version[2], version[3]]);
        if is_gquic_version(version) {
            return QuicProgress::GoogleQuic;
        }
        match self.read_datagram(datagram) {
            Ok(()) => {}
            Err(error) => return QuicProgress::Failed(error),
        }
        match self.crypto.client_hello() {
            Ok(None) => QuicProgress::NeedMore,
            Ok(Some(message)) => match tls::client_hello_sni(message) {
                Ok(name) => QuicProgress::Sni(name.map(str::to_owned)),
                Err(error) => QuicProgress::Failed(error.into()),
            },
            Err(error) => QuicProgress::Failed(error),
        }
    }

    /// Decrypts every Initial coalesced in the datagram and files its CRYPTO
    /// frames; other long-header packets are skipped over.
    fn read_datagram(&mut self, datagram: &[u8]) -> Result<(), QuicError> {
        let mut rest = datagram;
        // Coalesced packets all have long headers; anything after them (a
        // short-header packet, padding) is not read.
        while rest.first().is_some_and(|&byte| byte & 0x80 != 0) {
            let header = LongHeader::parse(rest)?;
            if header.is_initial() {
                self.read_initial(rest, &header)?;
            }
            match header.packet_end {
                Some(end) => rest = &rest[end..],
                None => break,
            }
        }
        Ok(())
    }

    fn read_initial(&mut self, packet: &[u8], header: &LongHeader<'_>) -> Result<(), QuicError> {
        let end = header.packet_end.ok_or(QuicError::MalformedHeader)?;
        let keys = match &self.keys {
            Some(keys) => keys,
            None => self
                .keys
                .insert(Box::new(InitialKeys::derive(header.version, header.dcid)?)),
        };
        let pn_offset = header.packet_number_offset;
        let sample = packet
            .get(pn_offset + 4..pn_offset + 4 + SAMPLE)
            .filter(|_| pn_offset + 4 + SAMPLE <= end)
            .ok_or(QuicError::MalformedHeader)?;
        let mask = keys.header_mask(sample);
        self.scratch.clear();
        self.scratch.extend_from_slice(&packet[..end]);
        let buffer = &mut self.scratch;
        buffer[0] ^= mask[0] & 0x0f;
        let pn_length = usize::from(buffer[0] & 0x03) + 1;
        let mut truncated = 0u64;
        for i in 0..pn_length {
            buffer[pn_offset + i] ^= mask[1 + i];
            truncated = truncated << 8 | u64::from(buffer[pn_offset + i]);
        }
        let packet_number =
            decode_packet_number(self.largest_packet_number, truncated, pn_length * 8);
        let payload_start = pn_offset + pn_length;
        if end < payload_start + TAG {
            return Err(QuicError::MalformedHeader);
        }
        let (header_bytes, protected) = buffer.split_at_mut(payload_start);
        let (ciphertext, tag) = protected.split_at_mut(protected.len() - TAG);
        keys.open(packet_number, header_bytes, ciphertext, tag)?;
        self.largest_packet_number = Some(
            self.largest_packet_number
                .map_or(packet_number, |largest| largest.max(packet_number)),
        );
        read_frames(ciphertext, &mut self.crypto)
    }
}

/// The fields of a long header that matter here.
struct LongHeader<'a> {
    version: u32,
    packet_type: u8,
    dcid: &'a [u8],
    packet_number_offset: usize,
    /// Where this packet ends within the datagram; `None` for packets without
    /// a Length field (Retry, version negotiation).
    packet_end: Option<usize>,
}

impl<'a> LongHeader<'a> {
    fn parse(packet: &'a [u8]) -> Result<Self, QuicError> {
        let mut reader = Reader::new(packet);
        let first = reader.byte().ok_or(QuicError::MalformedHeader)?;
        let version = reader.u32().ok_or(QuicError::MalformedHeader)?;
        if version != VERSION_1 && version != VERSION_2 {
            return Err(QuicError::UnsupportedVersion(version));
        }
        let dcid = reader.connection_id().ok_or(QuicError::MalformedHeader)?;
        reader.connection_id().ok_or(QuicError::MalformedHeader)?;
        let packet_type = (first >> 4) & 0x03;
        let mut header = LongHeader {
            version,
            packet_type,
            dcid,
            packet_number_offset: 0,
            packet_end: None,
        };
        if header.is_retry() {
            return Ok(header);
        }
        if header.is_initial() {
            let token = reader.varint().ok_or(QuicError::MalformedHeader)?;
            reader.skip(token).ok_or(QuicError::MalformedHeader)?;
        }
        let length = reader.varint().ok_or(QuicError::MalformedHeader)?;
        header.packet_number_offset = reader.position;
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| reader.position.checked_add(length))
            .filter(|&end| end <= packet.len())
            .ok_or(QuicError::MalformedHeader)?;
        header.packet_end = Some(end);
        Ok(header)
    }

    /// v2 renumbered the long-header packet types (RFC 9369 §3.2).
    fn is_initial(&self) -> bool {
        self.packet_type == if self.version == VERSION_2 { 1 } else { 0 }
    }

    fn is_retry(&self) -> bool {
        self.packet_type == if self.version == VERSION_2 { 0 } else { 3 }
    }
}

/// Files the CRYPTO frames of a decrypted Initial payload.
fn read_frames(payload: &[u8], crypto: &mut CryptoStream) -> Result<(), QuicError> {
    let mut reader = Reader::new(payload);
    while reader.remaining() > 0 {
        let frame_type = reader.varint().ok_or(QuicError::MalformedFrame)?;
        match frame_type {
            0x00 | 0x01 => {} // PADDING, PING
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, the ranges,
                // and ECN counts for type 3.
                let fields = [reader.varint(), reader.varint()];
                let ranges = reader.varint().ok_or(QuicError::MalformedFrame)?;
                let mut more = 1 + ranges.saturating_mul(2);
                if frame_type == 0x03 {
                    more = more.saturating_add(3);
                }
                if fields.iter().any(Option::is_none) || more > reader.remaining() as u64 {
                    return Err(QuicError::MalformedFrame);
                }
                for _ in 0..more {
                    reader.varint().ok_or(QuicError::MalformedFrame)?;
                }
            }
            0x06 => {
                let offset = reader.varint().ok_or(QuicError::MalformedFrame)?;
                let length = reader.varint().ok_or(QuicError::MalformedFrame)?;
                let data = usize::try_from(length)
                    .ok()
                    .and_then(|length| reader.take(length))
                    .ok_or(QuicError::MalformedFrame)?;
                crypto.insert(offset, data)?;
            }
            0x1c | 0x1d => return Ok(()), // CONNECTION_CLOSE: nothing more to read.
            other => return Err(QuicError::UnexpectedFrame(other)),
        }
    }
    Ok(())
}

/// The CRYPTO stream of the Initial packet space, assembled from frames that
/// may arrive out of order, overlap or repeat.
#[derive(Default)]
struct CryptoStream {
    bytes: Vec<u8>,
    /// Received ranges, sorted and merged.
    ranges: Vec<(usize, usize)>,
}

impl CryptoStream {
    fn insert(&mut self, offset: u64, data: &[u8]) -> Result<(), QuicError> {
        let start = usize::try_from(offset).map_err(|_| QuicError::CryptoTooLong)?;
        let end = start
            .checked_add(data.len())
            .filter(|&end| end <= MAX_CRYPTO)
            .ok_or(QuicError::CryptoTooLong)?;
        if data.is_empty() {
            return Ok(());
        }
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[start..end].copy_from_slice(data);
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(start, end) in &self.ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        self.ranges = merged;
        Ok(())
    }

    /// The bytes received without a gap from offset 0.
    fn contiguous(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, end)) => &self.bytes[..end],
            _ => &[],
        }
    }

    /// The complete ClientHello message, once every byte of it is here.
    fn client_hello(&self) -> Result<Option<&[u8]>, QuicError> {
        let bytes = self.contiguous();
        let Some(header) = bytes.get(..4) else {
            return Ok(None);
        };
        if header[0] != 1 {
            return Err(TlsError::NotClientHello(header[0]).into());
        }
        let length = 4
            + (usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]));
        if length > MAX_CRYPTO {
            return Err(QuicError::CryptoTooLong);
        }
        Ok(bytes.get(..length))
    }
}

/// The client's Initial keys.
struct InitialKeys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    header_protection: Aes128,
}

impl InitialKeys {
    fn derive(version: u32, dcid: &[u8]) -> Result<Self, QuicError> {
        let (salt, labels) = match version {
            VERSION_1 => (&SALT_V1, ["quic key", "quic iv", "quic hp"]),
            VERSION_2 => (&SALT_V2, ["quicv2 key", "quicv2 iv", "quicv2 hp"]),
            other => return Err(QuicError::UnsupportedVersion(other)),
        };
        let initial = Hkdf::<Sha256>::new(Some(salt), dcid);
        let mut client_secret = [0u8; 32];
        expand_label(&initial, "client in", &mut client_secret);
        let client = Hkdf::<Sha256>::from_prk(&client_secret).expect("32 bytes is a valid PRK");
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut hp = [0u8; 16];
        expand_label(&client, labels[0], &mut key);
        expand_label(&client, labels[1], &mut iv);
        expand_label(&client, labels[2], &mut hp);
        Ok(Self {
            aead: Aes128Gcm::new(&Array::from(key)),
            iv,
            header_protection: Aes128::new(&Array::from(hp)),
        })
    }

    fn header_mask(&self, sample: &[u8]) -> [u8; 16] {
        let mut block = Array::<u8, _>::default();
        block.copy_from_slice(sample);
        self.header_protection.encrypt_block(&mut block);
        block.into()
    }

    /// Decrypts `ciphertext` in place.
    fn open(
        &self,
        packet_number: u64,
        header: &[u8],
        ciphertext: &mut [u8],
        tag: &[u8],
    ) -> Result<(), QuicError> {
        let mut nonce = self.iv;
        for (byte, pn) in nonce[4..].iter_mut().zip(packet_number.to_be_bytes()) {
            *byte ^= pn;
        }
        let tag = Tag::try_from(tag).map_err(|_| QuicError::Decrypt)?;
        self.aead
            .decrypt_inout_detached(&Nonce::from(nonce), header, ciphertext.into(), &tag)
            .map_err(|_| QuicError::Decrypt)
    }
}

/// HKDF-Expand-Label from TLS 1.3 (RFC 8446 §7.1) with an empty context.
fn expand_label(hkdf: &Hkdf<Sha256>, label: &str, out: &mut [u8]) {
    const PREFIX: &[u8] = b"tls13 ";
    let mut info = [0u8; 64];
    let length = out.len() as u16;
    info[..2].copy_from_slice(&length.to_be_bytes());
    info[2] = (PREFIX.len() + label.len()) as u8;
    info[3..3 + PREFIX.len()].copy_from_slice(PREFIX);
    let end = 3 + PREFIX.len() + label.len();
    info[3 + PREFIX.len()..end].copy_from_slice(label.as_bytes());
    info[end] = 0; // empty context
    hkdf.expand(&info[..end + 1], out)
        .expect("Initial key lengths are valid HKDF-SHA256 output lengths");
}

/// RFC 9000 §A.3.
fn decode_packet_number(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let expected = largest.map_or(0, |largest| largest + 1);
    let window = 1u64 << bits;
    let half = window / 2;
    let candidate = (expected & !(window - 1)) | truncated;
    if candidate + half <= expected && candidate < (1 << 62) - window {
        candidate + window
    } else if candidate > expected + half && candidate >= window {
        candidate - window
    } else {
        candidate
    }
}

/// Google QUIC versions are ASCII: `Q046`, `Q050`, `T051`...
fn is_gquic_version(version: u32) -> bool {
    let [kind, a, b, c] = version.to_be_bytes();
    matches!(kind, b'Q' | b'T') && [a, b, c].iter().all(u8::is_ascii_digit)
}

/// gQUIC before Q046 used its own public header: flags, an 8-byte
/// connection ID, then the version when the flags say one is present.
fn is_legacy_gquic(datagram: &[u8]) -> bool {
    const VERSION_PRESENT: u8 = 0x01;
    const CONNECTION_ID_PRESENT: u8 = 0x08;
    let flags = datagram[0];
    if flags & VERSION_PRESENT == 0 || flags & CONNECTION_ID_PRESENT == 0 {
        return false;
    }
    datagram.get(9..13).is_some_and(|version| {
        is_gquic_version(u32::from_be_bytes([
            version[0], version[1], version[2], version[3],
        ]))
    })
}

/// A bounds-checked cursor over a byte slice.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(count)?;
        let taken = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(taken)
    }

    fn skip(&mut self, count: u64) -> Option<()> {
        self.take(usize::try_from(count).ok()?).map(|_| ())
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|bytes| bytes[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn connection_id(&mut self) -> Option<&'a [u8]> {
        let length = usize::from(self.byte()?);
        if length > MAX_CONNECTION_ID {
            return None;
        }
        self.take(length)
    }

    /// A QUIC variable-length integer (RFC 9000 §16).
    fn varint(&mut self) -> Option<u64> {
        let first = self.byte()?;
        let extra = (1usize << (first >> 6)) - 1;
        let mut value = u64::from(first & 0x3f);
        for &byte in self.take(extra)? {
            value = value << 8 | u64::from(byte);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn derived(version: u32) -> ([u8; 16], [u8; 12], [u8; 16]) {
        // Re-derives like InitialKeys::derive, to compare against the RFCs'
        // published intermediate values.
        let labels = if version == VERSION_2 {
            ["quicv2 key", "quicv2 iv", "quicv2 hp"]
        } else {
            ["quic key", "quic iv", "quic hp"]
        };
        let salt = if version == VERSION_2 {
            SALT_V2
        } else {
            SALT_V1
        };
        let initial = Hkdf::<Sha256>::new(Some(&salt), &hex("8394c8f03e515708"));
        let mut secret = [0u8; 32];
        expand_label(&initial, "client in", &mut secret);
        let client = Hkdf::<Sha256>::from_prk(&secret).unwrap();
        let (mut key, mut iv, mut hp) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        expand_label(&client, labels[0], &mut key);
        expand_label(&client, labels[1], &mut iv);
        expand_label(&client, labels[2], &mut hp);
        (key, iv, hp)
    }

    #[test]
    fn keys_match_rfc_9001_appendix_a() {
        let (key, iv, hp) = derived(VERSION_1);
        assert_eq!(key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
    }

    #[test]
    fn keys_match_rfc_9369_appendix_a() {
        let (key, iv, hp) = derived(VERSION_2);
        assert_eq!(key.to_vec(), hex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(iv.to_vec(), hex("91f73e2351d8fa91660e909f"));
        assert_eq!(hp.to_vec(), hex("45b95e15235d6f45a6b19cbcb0294ba9"));
    }

    #[test]
    fn rfc_9001_header_protection_sample_gives_the_published_mask() {
        let keys = InitialKeys::derive(VERSION_1, &hex("8394c8f03e515708")).unwrap();
        let mask = keys.header_mask(&hex("d1b1c98dd7689fb8ec11d242b123dc9b"));
        assert_eq!(mask[..5].to_vec(), hex("437b9aec36"));
    }

    #[test]
    fn crypto_frames_out_of_order_and_overlapping_reassemble() {
        let mut stream = CryptoStream::default();
        stream.insert(6, b"ghij").unwrap();
        assert_eq!(stream.contiguous(), b"");
        stream.insert(0, b"abcd").unwrap();
        assert_eq!(stream.contiguous(), b"abcd");
        stream.insert(3, b"def").unwrap();
        assert_eq!(stream.contiguous(), b"abcdefghij");
        assert_eq!(
            stream.insert(MAX_CRYPTO as u64 - 1, b"xy"),
            Err(QuicError::CryptoTooLong)
        );
        assert_eq!(stream.insert(u64::MAX, b"x"), Err(QuicError::CryptoTooLong));
    }

    #[test]
    fn packet_numbers_decode_as_rfc_9000_shows() {
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 16),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 0, 8), 0);
        assert_eq!(decode_packet_number(Some(255), 1, 8), 257);
    }

    #[test]
    fn varints_decode_as_rfc_9000_shows() {
        for (bytes, value) in [
            ("c2197c5eff14e88c", 151_288_809_941_952_652u64),
            ("9d7f3e7d", 494_878_333),
            ("7bbd", 15_293),
            ("25", 37),
        ] {
            let bytes = hex(bytes);
            assert_eq!(Reader::new(&bytes).varint(), Some(value));
        }
        assert_eq!(Reader::new(&[0x40]).varint(), None);
    }

    #[test]
    fn not_quic_and_unknown_versions_are_told_apart() {
        let mut sniffer = QuicSniffer::new();
        assert_eq!(sniffer.feed(&[]), QuicProgress::NotQuic);
        assert_eq!(sniffer.feed(b"\x40hello"), QuicProgress::NotQuic);
        let mut draft = vec![0xc0, 0xff, 0, 0, 29, 8];
        draft.extend_from_slice(&[0; 40]);
        assert_eq!(
            QuicSniffer::new().feed(&draft),
            QuicProgress::Failed(QuicError::UnsupportedVersion(0xff00_001d))
        );
        let mut q050 = vec![0xc3];
        q050.extend_from_slice(b"Q050");
        q050.extend_from_slice(&[0x50; 40]);
        assert_eq!(QuicSniffer::new().feed(&q050), QuicProgress::GoogleQuic);
        let mut q043 = vec![0x09, 1, 2, 3, 4, 5, 6, 7, 8];
        q043.extend_from_slice(b"Q043");
        q043.extend_from_slice(&[0; 40]);
        assert_eq!(QuicSniffer::new().feed(&q043), QuicProgress::GoogleQuic);
    }

    #[test]
    fn truncated_and_lying_headers_are_errors() {
        let mut header = vec![0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0];
        // Length says far more than the datagram holds.
        header.extend_from_slice(&[0x44, 0x00]);
        header.extend_from_slice(&[0; 30]);
        assert_eq!(
            QuicSniffer::new().feed(&header),
            QuicProgress::Failed(QuicError::MalformedHeader)
        );
        // Connection ID longer than 20 bytes.
        let long_cid = [0xc0, 0, 0, 0, 1, 21, 0, 0, 0];
        assert_eq!(
            QuicSniffer::new().feed(&long_cid),
            QuicProgress::Failed(QuicError::MalformedHeader)
        );
    }
}
