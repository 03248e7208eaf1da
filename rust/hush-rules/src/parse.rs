//! Reading one line of a list, in any of the common formats.

use std::net::IpAddr;

use crate::RejectReason;

/// What one line of a list holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// Blank, a comment, or a header.
    Nothing,
    /// Names to block (or to allow, in an allowlist).
    Names(Vec<String>),
    /// An adblock exception (`@@||name^`): a name to allow.
    Exception(String),
    /// Names that hosts files map for the machine itself, such as `localhost`.
    Ignored(usize),
    Rejected(RejectReason),
}

/// Hosts-file names that describe the machine itself, never a tracker.
const LOCAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
];

pub fn parse_line(raw: &[u8]) -> Line {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Line::Rejected(RejectReason::NotUtf8);
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() || text.starts_with('#') || text.starts_with('!') {
        return Line::Nothing;
    }
    if text.starts_with('[') && text.ends_with(']') {
        return Line::Nothing;
    }
    if let Some(rule) = text.strip_prefix("@@") {
        return match adblock_name(rule) {
            Ok(name) => Line::Exception(name),
            Err(reason) => Line::Rejected(reason),
        };
    }
    if text.starts_with("||") {
        return match adblock_name(text) {
            Ok(name) => Line::Names(vec![name]),
            Err(reason) => Line::Rejected(reason),
        };
    }
    for prefix in ["address=/", "server=/", "local=/"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return dnsmasq(prefix, rest);
        }
    }
    // Inline comments follow whitespace in hosts files and plain lists.
    let text = match text.find('#') {
        Some(at) if text[..at].ends_with(char::is_whitespace) => text[..at].trim_end(),
        _ => text,
    };
    let mut tokens = text.split_whitespace();
    let first = tokens.next().unwrap_or_default();
    let rest: Vec<&str> = tokens.collect();
    if !rest.is_empty() {
        return hosts(first, &rest);
    }
    if let Some(name) = first.strip_prefix("*.") {
        return one_name(name);
    }
    if first.parse::<IpAddr>().is_ok() {
        return Line::Rejected(RejectReason::AddressNotName);
    }
    one_name(first)
}

fn one_name(text: &str) -> Line {
    match crate::normalize_domain(text) {
        Ok(name) => Line::Names(vec![name]),
        Err(reason) => Line::Rejected(reason),
    }
}

fn hosts(address: &str, names: &[&str]) -> Line {
    if address.parse::<IpAddr>().is_err() {
        return Line::Rejected(RejectReason::Unrecognised);
    }
    let mut kept = Vec::with_capacity(names.len());
    let mut ignored = 0;
    for name in names {
        if LOCAL_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
            ignored += 1;
            continue;
        }
        match crate::normalize_domain(name) {
            Ok(name) => kept.push(name),
            Err(reason) => return Line::Rejected(reason),
        }
    }
    if kept.is_empty() {
        Line::Ignored(ignored)
    } else {
        Line::Names(kept)
    }
}

/// `||name^`, optionally followed by `|` or `$important`: the only adblock
/// rules that mean "block this name and its subdomains" at the DNS level.
fn adblock_name(rule: &str) -> Result<String, RejectReason> {
    let body = rule
        .strip_prefix("||")
        .ok_or(RejectReason::UnsupportedAdblock)?;
    let (name, tail) = body
        .split_once('^')
        .ok_or(RejectReason::UnsupportedAdblock)?;
    if !matches!(tail, "" | "|" | "$important") {
        return Err(RejectReason::UnsupportedAdblock);
    }
    let name = name.strip_prefix("*.").unwrap_or(name);
    crate::normalize_domain(name)
}

/// `address=/a.com/b.com/0.0.0.0`, `server=/a.com/`, `local=/a.com/`.
fn dnsmasq(prefix: &str, rest: &str) -> Line {
    let parts: Vec<&str> = rest.split('/').collect();
    let Some((target, names)) = parts.split_last() else {
        return Line::Rejected(RejectReason::Unrecognised);
    };
    // `server=/x/1.2.3.4` forwards x elsewhere; it does not block it.
    if prefix != "address=/" && !target.is_empty() {
        return Line::Rejected(RejectReason::NotABlock);
    }
    let mut kept = Vec::with_capacity(names.len());
    for name in names.iter().filter(|n| !n.is_empty()) {
        match crate::normalize_domain(name) {
            Ok(name) => kept.push(name),
            Err(reason) => return Line::Rejected(reason),
        }
    }
    if kept.is_empty() {
        Line::Rejected(RejectReason::InvalidName)
    } else {
        Line::Names(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> Vec<String> {
        match parse_line(line.as_bytes()) {
            Line::Names(names) => names,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    #[test]
    fn every_format() {
        assert_eq!(names("0.0.0.0 tracking.miui.com"), ["tracking.miui.com"]);
        assert_eq!(
            names("127.0.0.1\ta.example b.example # two"),
            ["a.example", "b.example"]
        );
        assert_eq!(names(":: ads.example"), ["ads.example"]);
        assert_eq!(names("ads.example"), ["ads.example"]);
        assert_eq!(names("ads.example # why"), ["ads.example"]);
        assert_eq!(names("||ads.example^"), ["ads.example"]);
        assert_eq!(names("||ads.example^$important"), ["ads.example"]);
        assert_eq!(names("*.ads.example"), ["ads.example"]);
        assert_eq!(names("address=/ads.example/0.0.0.0"), ["ads.example"]);
        assert_eq!(
            names("address=/a.example/b.example/::"),
            ["a.example", "b.example"]
        );
        assert_eq!(names("server=/ads.example/"), ["ads.example"]);
        assert_eq!(names("\u{feff}ADS.Example.\r"), ["ads.example"]);
        assert_eq!(names("bücher.example"), ["xn--bcher-kva.example"]);
        assert_eq!(
            parse_line(b"@@||good.example^"),
            Line::Exception("good.example".into())
        );
    }

    #[test]
    fn comments_headers_and_local_names() {
        for line in ["", "   ", "# c", "! c", "[Adblock Plus 2.0]"] {
            assert_eq!(parse_line(line.as_bytes()), Line::Nothing, "{line:?}");
        }
        assert_eq!(parse_line(b"127.0.0.1 localhost"), Line::Ignored(1));
        assert_eq!(parse_line(b"::1 localhost ip6-localhost"), Line::Ignored(2));
    }

    #[test]
    fn junk_is_rejected_with_a_reason() {
        use RejectReason::*;
        for (line, reason) in [
            (&b"\xff\xfe\x00garbage"[..], NotUtf8),
            (b"198.18.0.1", AddressNotName),
            (b"||ads.example^$third-party", UnsupportedAdblock),
            (b"example.com##.banner", InvalidName),
            (b"/ads[0-9]+/", InvalidName),
            (b"server=/x.example/198.18.0.1", NotABlock),
            (b"not-an-ip some.example", Unrecognised),
            (b"a..b", InvalidName),
        ] {
            assert_eq!(parse_line(line), Line::Rejected(reason), "{line:?}");
        }
    }
}
