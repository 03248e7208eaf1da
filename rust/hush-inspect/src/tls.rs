//! The server name a TLS client asks for, read from its ClientHello.
//!
//! The ClientHello may arrive split over several TCP segments (the caller
//! hands over everything the client sent so far) and over several TLS records
//! (reassembled here). Record framing is checked here; the ClientHello itself
//! and its extensions are parsed with `tls-parser`.

use std::borrow::Cow;

use tls_parser::{SNIType, TlsExtension, TlsMessage, TlsMessageHandshake};

/// Record content type of a handshake record.
const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello.
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
/// The largest plaintext record TLS allows (2^14), plus the slack RFC 5246
/// allows a compressed one. Anything longer is not TLS.
const MAX_RECORD: usize = (1 << 14) + 1024;
/// The longest ClientHello TLS can express, header included: every
/// variable-length field at its largest (session ID 32 bytes, cipher suites
/// 65,534, compression methods 255, extensions 65,535). Longer is not a
/// ClientHello; refuse before holding it.
pub const MAX_CLIENT_HELLO: usize = 4 + 2 + 32 + (1 + 32) + (2 + 65_534) + (1 + 255) + (2 + 65_535);
/// The stream bytes that carry the longest ClientHello in full-size records
/// (a 5-byte header for each 2^14 bytes): what a reader holds at most. A
/// client that cuts it into smaller records gets past this only with a
/// ClientHello far shorter than the longest.
pub const MAX_CLIENT_HELLO_STREAM: usize =
    MAX_CLIENT_HELLO + 5 * MAX_CLIENT_HELLO.div_ceil(1 << 14);

/// Why the bytes are not a ClientHello Hush can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("TLS record of type {0} before the ClientHello was complete")]
    UnexpectedRecord(u8),
    #[error("TLS record of {0} bytes is longer than TLS allows")]
    RecordTooLong(usize),
    #[error("first handshake message is type {0}, not a ClientHello")]
    NotClientHello(u8),
    #[error("ClientHello of {0} bytes is longer than Hush reads")]
    ClientHelloTooLong(usize),
    #[error("ClientHello is malformed")]
    MalformedClientHello,
    #[error("server name extension is malformed")]
    MalformedServerName,
}

/// What the first bytes of a stream say, read as TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProgress<'a> {
    /// The stream does not start with a TLS handshake record.
    NotTls,
    /// A ClientHello has begun but is not complete yet.
    NeedMore,
    /// A complete ClientHello, and the host name it names, if any. Borrowed
    /// when the ClientHello sat in one record, copied when it was reassembled.
    ClientHello { sni: Option<Cow<'a, str>> },
    /// It is TLS, but not a ClientHello Hush can read.
    Malformed(TlsError),
}

/// Reads the ClientHello at the start of a client's byte stream.
pub fn sniff_stream(stream: &[u8]) -> TlsProgress<'_> {
    match stream.first() {
        None => return TlsProgress::NeedMore,
        Some(&CONTENT_HANDSHAKE) => {}
        Some(_) => return TlsProgress::NotTls,
    }
    // SSL 3.0 and every TLS version put 3 in the major version byte.
    match stream.get(1) {
        None => return TlsProgress::NeedMore,
        Some(3) => {}
        Some(_) => return TlsProgress::NotTls,
    }
    match first_handshake_message(stream) {
        Ok(Some(Cow::Borrowed(message))) => match client_hello_sni(message) {
            Ok(sni) => TlsProgress::ClientHello {
                sni: sni.map(Cow::Borrowed),
            },
            Err(error) => TlsProgress::Malformed(error),
        },
        Ok(Some(Cow::Owned(message))) => match client_hello_sni(&message) {
            Ok(sni) => TlsProgress::ClientHello {
                sni: sni.map(|name| Cow::Owned(name.to_owned())),
            },
            Err(error) => TlsProgress::Malformed(error),
        },
        Ok(None) => TlsProgress::NeedMore,
        Err(error) => TlsProgress::Malformed(error),
    }
}

/// The first handshake message (4-byte header included), once all records
/// carrying it have arrived. Borrowed when one record holds all of it.
fn first_handshake_message(stream: &[u8]) -> Result<Option<Cow<'_, [u8]>>, TlsError> {
    let mut rest = stream;
    let mut joined: Option<Vec<u8>> = None;
    loop {
        let Some(header) = rest.get(..5) else {
            return Ok(None);
        };
        if header[0] != CONTENT_HANDSHAKE {
            return Err(TlsError::UnexpectedRecord(header[0]));
        }
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if length > MAX_RECORD {
            return Err(TlsError::RecordTooLong(length));
        }
        // A record that has not fully arrived still counts: its bytes may
        // already complete the message.
        let fragment = &rest[5..rest.len().min(5 + length)];
        let record_complete = fragment.len() == length;
        let so_far: &[u8] = match joined.as_mut() {
            None => fragment,
            Some(buffer) => {
                buffer.extend_from_slice(fragment);
                buffer
            }
        };
        if let Some(needed) = message_length(so_far)? {
            if so_far.len() >= needed {
                return Ok(Some(match joined {
                    None => Cow::Borrowed(&fragment[..needed]),
                    Some(mut buffer) => {
                        buffer.truncate(needed);
                        Cow::Owned(buffer)
                    }
                }));
            }
        }
        if !record_complete {
            return Ok(None);
        }
        if joined.is_none() {
            joined = Some(fragment.to_vec());
        }
        rest = &rest[5 + length..];
    }
}

/// The full length of the handshake message that `bytes` begins, once its
/// header is there.
fn message_length(bytes: &[u8]) -> Result<Option<usize>, TlsError> {
    let Some(header) = bytes.get(..4) else {
        return Ok(None);
    };
    if header[0] != HANDSHAKE_CLIENT_HELLO {
        return Err(TlsError::NotClientHello(header[0]));
    }
    let body = usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
    if body + 4 > MAX_CLIENT_HELLO {
        return Err(TlsError::ClientHelloTooLong(body + 4));
    }
    Ok(Some(body + 4))
}

/// The host name in a complete ClientHello handshake message (4-byte header
/// included): what TLS over TCP carries in records and QUIC in CRYPTO frames.
pub fn client_hello_sni(message: &[u8]) -> Result<Option<&str>, TlsError> {
    let hello = match tls_parser::parse_tls_message_handshake(message) {
        Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)))) => hello,
        Ok((_, TlsMessage::Handshake(_))) => {
            return Err(TlsError::NotClientHello(
                message.first().copied().unwrap_or(0),
            ))
        }
        _ => return Err(TlsError::MalformedClientHello),
    };
    let mut extensions = hello.ext.unwrap_or_default();
    // Walk the extensions generically and parse only the server name: an
    // extension tls-parser does not know, or a GREASE one, must not hide it.
    while !extensions.is_empty() {
        let (rest, extension) = tls_parser::parse_tls_extension_unknown(extensions)
            .map_err(|_| TlsError::MalformedClientHello)?;
        extensions = rest;
        let TlsExtension::Unknown(kind, data) = extension else {
            continue;
        };
        if kind.0 != 0 {
            continue;
        }
        let Ok((_, TlsExtension::SNI(names))) = tls_parser::parse_tls_extension_sni_content(data)
        else {
            return Err(TlsError::MalformedServerName);
        };
        // tls-parser stops quietly at the first entry it cannot read; a
        // non-empty list with no readable entry is malformed.
        if names.is_empty() && !data.is_empty() {
            return Err(TlsError::MalformedServerName);
        }
        return match names.iter().find(|(kind, _)| *kind == SNIType::HostName) {
            None => Ok(None),
            Some((_, name)) => std::str::from_utf8(name)
                .map(Some)
                .map_err(|_| TlsError::MalformedServerName),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ClientHello naming `name`, as one handshake message.
    pub(crate) fn client_hello(name: &str) -> Vec<u8> {
        let mut sni = Vec::new();
        let entry_len = name.len() + 3;
        sni.extend_from_slice(&(entry_len as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni.extend_from_slice(name.as_bytes());
        let mut extensions = Vec::new();
        // A GREASE extension first, as Chrome sends.
        extensions.extend_from_slice(&[0x0a, 0x0a, 0, 0]);
        extensions.extend_from_slice(&[0, 0]);
        extensions.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        extensions.extend_from_slice(&sni);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(&extensions);
        let mut message = vec![HANDSHAKE_CLIENT_HELLO];
        message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        message.extend_from_slice(&body);
        message
    }

    fn records(message: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = message;
        for &size in sizes.iter().chain(std::iter::repeat(&usize::MAX)) {
            if rest.is_empty() {
                break;
            }
            let take = size.min(rest.len());
            out.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 1]);
            out.extend_from_slice(&(take as u16).to_be_bytes());
            out.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        out
    }

    #[test]
    fn one_record_is_read_without_copying() {
        let stream = records(&client_hello("ads.example"), &[]);
        let TlsProgress::ClientHello { sni: Some(sni) } = sniff_stream(&stream) else {
            panic!("no SNI read");
        };
        assert!(matches!(sni, Cow::Borrowed("ads.example")));
    }

    #[test]
    fn every_split_over_records_and_segments_gives_the_name() {
        let message = client_hello("tracker.example.com");
        for record_size in [1, 2, 3, 4, 5, 17, 40] {
            let stream = records(&message, &[record_size, 3]);
            for cut in 0..stream.len() {
                let progress = sniff_stream(&stream[..cut]);
                assert!(
                    matches!(progress, TlsProgress::NeedMore),
                    "records of {record_size}, cut at {cut}: {progress:?}"
                );
            }
            assert_eq!(
                sniff_stream(&stream),
                TlsProgress::ClientHello {
                    sni: Some(Cow::Borrowed("tracker.example.com"))
                },
                "records of {record_size}"
            );
        }
    }

    /// A ClientHello of `padding` bytes of padding extension beside the SNI
    /// (tls-parser reads padding as an opaque extension).
    fn padded_client_hello(name: &str, padding: usize) -> Vec<u8> {
        let mut message = client_hello(name);
        let mut extension = vec![0, 21];
        extension.extend_from_slice(&(padding as u16).to_be_bytes());
        extension.resize(extension.len() + padding, 0);
        message.extend_from_slice(&extension);
        let body = message.len() - 4;
        message[1..4].copy_from_slice(&(body as u32).to_be_bytes()[1..]);
        // The extensions' length, the last two bytes before them.
        let extensions_at = 4 + 2 + 32 + 1 + 4 + 2;
        let extensions = message.len() - extensions_at - 2;
        message[extensions_at..extensions_at + 2]
            .copy_from_slice(&(extensions as u16).to_be_bytes());
        message
    }

    #[test]
    fn the_longest_client_hellos_are_read_across_full_records() {
        // Extensions at their 65,535-byte maximum: eight full records.
        let message = padded_client_hello("big.tracker.example", 65_535 - 4 - 28 - 4);
        assert!(message.len() > 64 * 1024 && message.len() <= MAX_CLIENT_HELLO);
        let stream = records(&message, &[1 << 14; 8]);
        assert!(stream.len() <= MAX_CLIENT_HELLO_STREAM);
        assert_eq!(
            sniff_stream(&stream),
            TlsProgress::ClientHello {
                sni: Some(Cow::Owned("big.tracker.example".to_string()))
            }
        );
        assert_eq!(
            sniff_stream(&stream[..stream.len() - 1]),
            TlsProgress::NeedMore
        );
    }

    #[test]
    fn other_streams_are_not_tls() {
        assert_eq!(sniff_stream(b"GET / HTTP/1.1\r\n"), TlsProgress::NotTls);
        assert_eq!(sniff_stream(b"SSH-2.0-OpenSSH"), TlsProgress::NotTls);
        assert_eq!(sniff_stream(&[22, 9, 9]), TlsProgress::NotTls);
        assert_eq!(sniff_stream(&[]), TlsProgress::NeedMore);
    }

    #[test]
    fn wrong_records_and_messages_are_errors() {
        // An alert record before the ClientHello is complete.
        let mut stream = records(&client_hello("a.example")[..10], &[]);
        stream.extend_from_slice(&[21, 3, 3, 0, 2, 2, 40]);
        assert_eq!(
            sniff_stream(&stream),
            TlsProgress::Malformed(TlsError::UnexpectedRecord(21))
        );
        // A ServerHello where a ClientHello belongs.
        let mut message = client_hello("a.example");
        message[0] = 2;
        assert_eq!(
            sniff_stream(&records(&message, &[])),
            TlsProgress::Malformed(TlsError::NotClientHello(2))
        );
        assert_eq!(
            sniff_stream(&[22, 3, 1, 0xff, 0xff]),
            TlsProgress::Malformed(TlsError::RecordTooLong(0xffff))
        );
        assert_eq!(
            sniff_stream(&[22, 3, 1, 0, 4, 1, 0xff, 0, 0]),
            TlsProgress::Malformed(TlsError::ClientHelloTooLong(0xff_0004))
        );
        // The server name's stated length runs past its extension.
        let mut message = client_hello("a.example");
        let name_length_at = message.len() - "a.example".len() - 2;
        message[name_length_at] = 0x7f;
        assert_eq!(
            sniff_stream(&records(&message, &[])),
            TlsProgress::Malformed(TlsError::MalformedServerName)
        );
    }

    #[test]
    fn no_input_panics() {
        let message = records(&client_hello("a.b.example"), &[9]);
        // Every single-byte corruption, and every truncation, of a real
        // ClientHello.
        for at in 0..message.len() {
            for value in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = message.clone();
                bad[at] = value;
                let _ = sniff_stream(&bad);
            }
            let _ = sniff_stream(&message[at..]);
        }
    }
}
