//! The host an HTTP/1.x request is for, read from its Host header.
//!
//! The request head is parsed with `httparse`. The host comes back without
//! its port, and IPv6 literals without their brackets, so it can be matched
//! against lists as is.

/// Headers read before the head counts as malformed. Real requests carry a
/// few dozen; a request with more is still searched for its Host line.
const MAX_HEADERS: usize = 96;
/// Longest method token accepted while the request line is incomplete.
const MAX_METHOD: usize = 24;

/// What the first bytes of a stream say, read as HTTP/1.x.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpProgress<'a> {
    /// The stream does not start like an HTTP request.
    NotHttp,
    /// A request head has begun but is not complete yet.
    NeedMore,
    /// A complete request head, and its Host, if it has one.
    Request { host: Option<&'a str> },
    /// It started like a request but is not valid HTTP/1.x.
    Malformed,
}

/// Reads the request head at the start of a client's byte stream.
pub fn sniff_request(stream: &[u8]) -> HttpProgress<'_> {
    match method_prefix(stream) {
        Prefix::No => return HttpProgress::NotHttp,
        Prefix::TooShort => return HttpProgress::NeedMore,
        Prefix::Yes => {}
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(stream) {
        Ok(httparse::Status::Partial) => HttpProgress::NeedMore,
        Ok(httparse::Status::Complete(_)) => {
            let host = request
                .headers
                .iter()
                .find(|header| header.name.eq_ignore_ascii_case("host"))
                .map(|header| header.value);
            HttpProgress::Request {
                host: host.and_then(host_without_port),
            }
        }
        Err(httparse::Error::TooManyHeaders) => match head_end(stream) {
            None => HttpProgress::NeedMore,
            Some(end) => HttpProgress::Request {
                host: host_line(&stream[..end]).and_then(host_without_port),
            },
        },
        Err(_) => HttpProgress::Malformed,
    }
}

enum Prefix {
    Yes,
    No,
    TooShort,
}

/// Whether the stream starts with a method token (upper-case letters, as every
/// registered method is) and a space.
fn method_prefix(stream: &[u8]) -> Prefix {
    for (at, &byte) in stream.iter().enumerate().take(MAX_METHOD + 1) {
        match byte {
            b'A'..=b'Z' | b'-' | b'_' => {}
            b' ' if at > 0 => return Prefix::Yes,
            _ => return Prefix::No,
        }
    }
    if stream.len() > MAX_METHOD {
        Prefix::No
    } else {
        Prefix::TooShort
    }
}

/// Where the request head ends (before the blank line), once it has. Lines
/// may end in a bare `\n`, as `httparse` accepts them too: a head that
/// `httparse` reads whole must also be read when it has too many headers.
fn head_end(stream: &[u8]) -> Option<usize> {
    let mut newlines = stream
        .iter()
        .enumerate()
        .filter(|&(_, &byte)| byte == b'\n');
    newlines.find_map(|(at, _)| match &stream[at + 1..] {
        [b'\n', ..] | [b'\r', b'\n', ..] => Some(at),
        _ => None,
    })
}

/// The Host header's value found by a plain line scan, for heads with more
/// headers than the parser is given room for.
fn host_line(head: &[u8]) -> Option<&[u8]> {
    head.split(|&byte| byte == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&byte| byte == b':')?;
        let (name, value) = line.split_at(colon);
        name.eq_ignore_ascii_case(b"host")
            .then(|| value[1..].trim_ascii())
    })
}

/// `example.com:8080` → `example.com`; `[2001:db8::1]:80` → `2001:db8::1`.
/// An unbracketed value with more than one colon is a bare IPv6 address
/// (a Host cannot give it a port without brackets) and is kept whole.
/// `None` when the value is empty or not text.
fn host_without_port(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value.trim_ascii()).ok()?;
    let host = if let Some(bracketed) = value.strip_prefix('[') {
        bracketed.split(']').next()?
    } else if value.bytes().filter(|&b| b == b':').count() > 1 {
        value
    } else {
        value.rsplit_once(':').map_or(value, |(host, _port)| host)
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_read_and_port_dropped() {
        let request =
            b"GET /collect?id=1 HTTP/1.1\r\nUser-Agent: x\r\nHost: tracking.example:8080\r\n\r\n";
        assert_eq!(
            sniff_request(request),
            HttpProgress::Request {
                host: Some("tracking.example")
            }
        );
        let request = b"POST / HTTP/1.0\r\nhOsT:  [fd00::5]:80 \r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(
            sniff_request(request),
            HttpProgress::Request {
                host: Some("fd00::5")
            }
        );
        let request = b"GET / HTTP/1.0\r\n\r\n";
        assert_eq!(sniff_request(request), HttpProgress::Request { host: None });
    }

    #[test]
    fn every_cut_of_a_head_needs_more() {
        let request = b"GET / HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n";
        for cut in 0..request.len() {
            assert_eq!(
                sniff_request(&request[..cut]),
                HttpProgress::NeedMore,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn host_is_found_past_many_headers() {
        let mut request = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..200 {
            request.extend_from_slice(format!("X-Filler-{i}: {i}\r\n").as_bytes());
        }
        request.extend_from_slice(b"Host: hidden.example\r\n\r\n");
        assert_eq!(
            sniff_request(&request),
            HttpProgress::Request {
                host: Some("hidden.example")
            }
        );
    }

    #[test]
    fn host_is_found_past_many_headers_with_bare_newlines() {
        let head = |ending: &str| {
            let mut request = format!("GET / HTTP/1.1{ending}").into_bytes();
            for i in 0..200 {
                request.extend_from_slice(format!("X-Filler-{i}: {i}{ending}").as_bytes());
            }
            request.extend_from_slice(format!("Host: hidden.example{ending}").as_bytes());
            request
        };
        for (ending, blank) in [("\n", "\n"), ("\n", "\r\n"), ("\r\n", "\n")] {
            let mut request = head(ending);
            // Not complete before its blank line, whatever the line endings.
            assert_eq!(sniff_request(&request), HttpProgress::NeedMore);
            request.extend_from_slice(blank.as_bytes());
            assert_eq!(
                sniff_request(&request),
                HttpProgress::Request {
                    host: Some("hidden.example")
                },
                "lines ending {ending:?}, blank line {blank:?}"
            );
        }
    }

    #[test]
    fn other_streams_are_not_http() {
        assert_eq!(sniff_request(b"\x16\x03\x01"), HttpProgress::NotHttp);
        assert_eq!(sniff_request(b"get / HTTP/1.1"), HttpProgress::NotHttp);
        assert_eq!(sniff_request(b" GET"), HttpProgress::NotHttp);
        assert_eq!(
            sniff_request(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ "),
            HttpProgress::NotHttp
        );
        assert_eq!(
            sniff_request(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
            HttpProgress::Malformed
        );
    }

    #[test]
    fn no_input_panics() {
        let request = b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n";
        for at in 0..request.len() {
            for value in [0u8, b':', b'[', b']', b'\n', 0xff] {
                let mut bad = request.to_vec();
                bad[at] = value;
                let _ = sniff_request(&bad);
            }
        }
        assert_eq!(host_without_port(b"[::1"), Some("::1"));
        assert_eq!(host_without_port(b"2001:db8::1"), Some("2001:db8::1"));
        assert_eq!(
            host_without_port(b"[2001:db8::1]:8080"),
            Some("2001:db8::1")
        );
        assert_eq!(host_without_port(b"example.com:8080"), Some("example.com"));
        assert_eq!(host_without_port(b":80"), None);
        assert_eq!(host_without_port(b"\xff"), None);
    }
}
