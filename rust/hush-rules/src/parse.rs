//! Reading one line of a list, in any of the common formats.
//!
//! The format is recognised per line, so mixed files load: hosts
//! (`0.0.0.0 name ...`), plain names, adblock `||name^` and `@@||name^`,
//! wildcards `*.name`, and dnsmasq `address=/name/...`, `server=/name/`,
//! `local=/name/`. Comments (`#`, `!`), `[Adblock Plus]` headers, blank
//! lines, CR, surrounding whitespace and a BOM are skipped.
//!
//! Names are handed to a callback as they are found, normalised into one
//! reusable buffer, so a million-line list is read without an allocation
//! per line. Never panics, whatever the bytes.

use std::net::IpAddr;

use crate::RejectReason;

/// Which side a name found on a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The list's own kind: blocked in a blocklist, allowed in an allowlist.
    Listed,
    /// An adblock exception (`@@||name^`): always allowed.
    Exception,
}

/// What one line held, once its names (if any) have been handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Blank, a comment, or a header.
    Nothing,
    /// The line's names were handed over; `ignored` more were local names
    /// such as `localhost`, skipped.
    Names { ignored: usize },
    /// The line is unusable. Names it handed over before the fault was found
    /// must be discarded by the caller, so a line counts whole or not at all.
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

/// Reads one line (without its `\n`), handing each name to `emit`.
pub fn parse_line(raw: &[u8], scratch: &mut String, emit: &mut impl FnMut(Side, &str)) -> Line {
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
        return adblock(rule, Side::Exception, scratch, emit);
    }
    if text.starts_with("||") {
        return adblock(text, Side::Listed, scratch, emit);
    }
    for prefix in ["address=/", "server=/", "local=/"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return dnsmasq(prefix, rest, scratch, emit);
        }
    }
    // Hosts files and plain lists put comments after whitespace.
    let text = match text.find('#') {
        Some(at) if text[..at].ends_with(char::is_whitespace) => text[..at].trim_end(),
        _ => text,
    };
    let mut tokens = text.split_whitespace();
    let first = tokens.next().unwrap_or_default();
    let mut names = tokens.peekable();
    if names.peek().is_some() {
        return hosts(first, names, scratch, emit);
    }
    if looks_like_adblock(first) {
        return Line::Rejected(RejectReason::UnsupportedAdblock);
    }
    // `*.example.com` in wildcard lists means the name and its subdomains,
    // which is what listing `example.com` already does.
    let name = first.strip_prefix("*.").unwrap_or(first);
    one_name(name, Side::Listed, scratch, emit)
}

/// Cosmetic rules, URL patterns and modifiers: adblock syntax that a DNS
/// filter cannot honour, so it must be reported rather than half-applied.
fn looks_like_adblock(token: &str) -> bool {
    token.contains(['^', '$', '/', '|']) || token.contains("##") || token.contains("#@#")
}

fn one_name(
    text: &str,
    side: Side,
    scratch: &mut String,
    emit: &mut impl FnMut(Side, &str),
) -> Line {
    match crate::normalize_into(text, scratch) {
        Ok(()) => {
            emit(side, scratch);
            Line::Names { ignored: 0 }
        }
        Err(reason) => Line::Rejected(reason),
    }
}

fn hosts<'a>(
    address: &str,
    names: impl Iterator<Item = &'a str>,
    scratch: &mut String,
    emit: &mut impl FnMut(Side, &str),
) -> Line {
    if address.parse::<IpAddr>().is_err() {
        return Line::Rejected(RejectReason::Unrecognised);
    }
    let mut ignored = 0;
    for name in names {
        if LOCAL_NAMES
            .iter()
            .any(|local| local.eq_ignore_ascii_case(name))
        {
            ignored += 1;
            continue;
        }
        if let Line::Rejected(reason) = one_name(name, Side::Listed, scratch, emit) {
            return Line::Rejected(reason);
        }
    }
    Line::Names { ignored }
}

/// `||name^`, optionally followed by `|` or `$important`: the only adblock
/// rules that mean "this name and its subdomains" at the DNS level.
fn adblock(
    rule: &str,
    side: Side,
    scratch: &mut String,
    emit: &mut impl FnMut(Side, &str),
) -> Line {
    let Some((name, tail)) = rule
        .strip_prefix("||")
        .and_then(|body| body.split_once('^'))
    else {
        return Line::Rejected(RejectReason::UnsupportedAdblock);
    };
    if !matches!(tail, "" | "|" | "$important") || looks_like_adblock(name) {
        return Line::Rejected(RejectReason::UnsupportedAdblock);
    }
    let name = name.strip_prefix("*.").unwrap_or(name);
    one_name(name, side, scratch, emit)
}

/// `address=/a.com/b.com/0.0.0.0`, `address=/a.com/`, `server=/a.com/`,
/// `local=/a.com/`: the names between the slashes, when the rule blocks.
fn dnsmasq(
    prefix: &str,
    rest: &str,
    scratch: &mut String,
    emit: &mut impl FnMut(Side, &str),
) -> Line {
    let Some((names, target)) = rest.rsplit_once('/') else {
        return Line::Rejected(RejectReason::Unrecognised);
    };
    let blocks = if prefix == "address=/" {
        // A sinkhole address, none, or `#` (dnsmasq's "null address").
        target.is_empty() || target == "#" || target.parse::<IpAddr>().is_ok()
    } else {
        // `server=/x/1.2.3.4` forwards x elsewhere; only no upstream blocks.
        target.is_empty()
    };
    if !blocks {
        return Line::Rejected(RejectReason::NotABlock);
    }
    let mut any = false;
    for name in names.split('/').filter(|n| !n.is_empty()) {
        // `address=/#/...` would block every name; `#` is rejected here as
        // an invalid name rather than honoured.
        if let Line::Rejected(reason) = one_name(name, Side::Listed, scratch, emit) {
            return Line::Rejected(reason);
        }
        any = true;
    }
    if any {
        Line::Names { ignored: 0 }
    } else {
        Line::Rejected(RejectReason::InvalidName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line's outcome and the names it handed over, rolled back on reject.
    fn parse(line: &[u8]) -> (Line, Vec<(Side, String)>) {
        let mut found = Vec::new();
        let mut scratch = String::new();
        let outcome = parse_line(line, &mut scratch, &mut |side, name| {
            found.push((side, name.to_string()))
        });
        if matches!(outcome, Line::Rejected(_)) {
            found.clear();
        }
        (outcome, found)
    }

    fn names(line: &str) -> Vec<String> {
        match parse(line.as_bytes()) {
            (Line::Names { ignored: 0 }, found) => found
                .into_iter()
                .map(|(side, name)| {
                    assert_eq!(side, Side::Listed, "{line:?}");
                    name
                })
                .collect(),
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    fn rejected(line: &[u8]) -> RejectReason {
        match parse(line) {
            (Line::Rejected(reason), found) => {
                assert!(found.is_empty());
                reason
            }
            other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn hosts_lines() {
        assert_eq!(names("0.0.0.0 tracking.miui.com"), ["tracking.miui.com"]);
        assert_eq!(names("127.0.0.1 ads.example"), ["ads.example"]);
        assert_eq!(
            names("127.0.0.1\ta.example   b.example # two"),
            ["a.example", "b.example"]
        );
        assert_eq!(names(":: ads.example"), ["ads.example"]);
        assert_eq!(names("::1 ads.example"), ["ads.example"]);
        assert_eq!(names("  0.0.0.0 Ads.Example.  \r"), ["ads.example"]);
    }

    #[test]
    fn plain_wildcard_and_idn_names() {
        assert_eq!(names("ads.example"), ["ads.example"]);
        assert_eq!(names("ads.example # why"), ["ads.example"]);
        assert_eq!(names("*.ads.example"), ["ads.example"]);
        assert_eq!(names("\u{feff}ADS.Example.\r"), ["ads.example"]);
        assert_eq!(names("bücher.example"), ["xn--bcher-kva.example"]);
        assert_eq!(names("com"), ["com"]);
    }

    #[test]
    fn adblock_rules() {
        assert_eq!(names("||ads.example^"), ["ads.example"]);
        assert_eq!(names("||ads.example^|"), ["ads.example"]);
        assert_eq!(names("||ads.example^$important"), ["ads.example"]);
        assert_eq!(names("||*.ads.example^"), ["ads.example"]);
        assert_eq!(
            parse(b"@@||good.example^"),
            (
                Line::Names { ignored: 0 },
                vec![(Side::Exception, "good.example".to_string())]
            )
        );
    }

    #[test]
    fn dnsmasq_rules() {
        assert_eq!(names("address=/ads.example/0.0.0.0"), ["ads.example"]);
        assert_eq!(names("address=/ads.example/"), ["ads.example"]);
        assert_eq!(names("address=/ads.example/#"), ["ads.example"]);
        assert_eq!(
            names("address=/a.example/b.example/::"),
            ["a.example", "b.example"]
        );
        assert_eq!(names("server=/ads.example/"), ["ads.example"]);
        assert_eq!(names("local=/ads.example/"), ["ads.example"]);
    }

    #[test]
    fn comments_headers_and_local_names() {
        for line in [
            "",
            "   ",
            "\r",
            "# c",
            "! c",
            "[Adblock Plus 2.0]",
            "\u{feff}# c",
        ] {
            assert_eq!(parse(line.as_bytes()).0, Line::Nothing, "{line:?}");
        }
        assert_eq!(
            parse(b"127.0.0.1 localhost"),
            (Line::Names { ignored: 1 }, vec![])
        );
        assert_eq!(
            parse(b"::1 localhost ip6-localhost ip6-loopback"),
            (Line::Names { ignored: 3 }, vec![])
        );
        assert_eq!(
            parse(b"0.0.0.0 0.0.0.0").0,
            Line::Names { ignored: 1 },
            "hosts files map 0.0.0.0 to itself"
        );
        let (outcome, found) = parse(b"127.0.0.1 LocalHost ads.example");
        assert_eq!(outcome, Line::Names { ignored: 1 });
        assert_eq!(found, [(Side::Listed, "ads.example".to_string())]);
    }

    #[test]
    fn junk_is_rejected_with_a_reason() {
        use RejectReason::*;
        for (line, reason) in [
            (&b"\xff\xfe\x00garbage"[..], NotUtf8),
            (b"ads.ex\xc3ample", NotUtf8),
            (b"198.18.0.1", AddressNotName),
            (b"2001:db8::1", AddressNotName),
            (b"0.0.0.0 198.18.0.1", AddressNotName),
            (b"||198.18.0.1^", AddressNotName),
            (b"||ads.example^$third-party", UnsupportedAdblock),
            (b"||ads.example^$domain=a.example", UnsupportedAdblock),
            (b"||ads.example/banner^", UnsupportedAdblock),
            (b"||ads.example", UnsupportedAdblock),
            (b"example.com##.banner", UnsupportedAdblock),
            (b"example.com#@#.banner", UnsupportedAdblock),
            (b"/ads[0-9]+/", UnsupportedAdblock),
            (b"|https://ads.example/", UnsupportedAdblock),
            (b"@@ads.example", UnsupportedAdblock),
            (b"server=/x.example/198.18.0.1", NotABlock),
            (b"address=/x.example/elsewhere", NotABlock),
            (b"address=/#/0.0.0.0", InvalidName),
            (b"address=//", InvalidName),
            (b"address=/x.example", Unrecognised),
            (b"not-an-ip some.example", Unrecognised),
            (b"a..b", InvalidName),
            (b"ads*.example", InvalidName),
            (b"*", InvalidName),
            (b"*.", InvalidName),
        ] {
            assert_eq!(
                rejected(line),
                reason,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn one_bad_name_rejects_the_whole_hosts_line() {
        assert_eq!(
            rejected(b"0.0.0.0 good.example bad..example"),
            RejectReason::InvalidName
        );
    }
}
