//! Name lists against a model: fuzzer-chosen names written in every list
//! format (plain, hosts, adblock `||name^` and `@@||name^`, wildcard,
//! dnsmasq), with case, trailing dots, CR, BOM, blanks and comments.
//!
//! A name `normalize_domain` accepts must load from every format and then
//! match, itself and its subdomains; every probe's verdict must be what a
//! plain set of the listed names says (the parent rule; a list's `@@`
//! exceptions take names off that list only), so a 48-bit hash match that
//! is not a name match would show.
//! Lines of invalid names that load nothing alone are kept as noise.
//!
//! Input: entries, each a format byte and a name (length byte and bytes).

#![no_main]

use std::collections::BTreeSet;

use hush_fuzz::Input;
use hush_rules::{normalize_domain, ListId, ListKind, RuleSet, RuleSetBuilder, Verdict};
use libfuzzer_sys::fuzz_target;

/// Names a hosts file uses for the machine itself, skipped there.
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

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mut text = String::new();
    let mut blocked = BTreeSet::new();
    let mut excepted = BTreeSet::new();
    let mut listed_lines = 0usize;
    let mut valid_lines = Vec::new();
    let mut line = 0usize;
    let mut probes = Vec::new();
    while !input.is_empty() && probes.len() < 64 {
        let format = input.u8();
        let raw = input.string();
        probes.push(raw.clone());
        if raw.contains('\n') {
            continue;
        }
        let (rendered, token) = render(format, &raw);
        match normalize_domain(&raw) {
            // A hosts file's own names are skipped, as written there.
            Ok(name) if !(format % 8 == 1 && is_local(&token)) => {
                line += 1;
                valid_lines.push(line);
                if format % 8 == 7 {
                    excepted.insert(name.clone());
                } else {
                    blocked.insert(name.clone());
                    listed_lines += 1;
                }
                probes.push(format!("x-{}.{name}", format));
                probes.push(name.to_ascii_uppercase());
                probes.push(format!("{name}."));
                if let Some((_, parent)) = name.split_once('.') {
                    probes.push(parent.to_string());
                }
                probes.push(name);
            }
            _ => {
                // Kept only if it loads nothing on its own.
                let mut alone = RuleSetBuilder::new();
                let report = alone.add_list("alone", ListKind::Block, rendered.as_bytes());
                if report.entries > 0 || report.allow_entries > 0 {
                    continue;
                }
                line += report.lines.max(1);
            }
        }
        text.push_str(&rendered);
        text.push('\n');
    }

    let mut builder = RuleSetBuilder::new();
    let report = builder.add_list("fuzz", ListKind::Block, text.as_bytes());
    assert_eq!(report.lines, line, "lines of {text:?}");
    for rejected in &report.rejected {
        assert!(
            !valid_lines.contains(&rejected.line),
            "a valid name was rejected: {rejected:?} in {text:?}"
        );
    }
    assert_eq!(report.entries, blocked.len(), "entries of {text:?}");
    assert_eq!(report.duplicates, listed_lines - blocked.len());
    assert_eq!(report.allow_entries, excepted.len());
    let rules = builder.build();
    for probe in &probes {
        let expected = model(probe, &blocked, &excepted);
        assert_eq!(rules.check(probe), expected, "{probe:?} against {text:?}");
    }
    one_list_per_kind(&blocked, &excepted);
});

fn is_local(raw: &str) -> bool {
    LOCAL_NAMES
        .iter()
        .any(|local| local.eq_ignore_ascii_case(raw))
}

/// The line for `raw` in the format the low bits of `format` pick, dressed
/// as the high bits say, and the name as written in it.
fn render(format: u8, raw: &str) -> (String, String) {
    let mut name = raw.to_string();
    if format & 0x40 != 0 {
        name.make_ascii_uppercase();
    }
    if format & 0x80 != 0 && !name.ends_with('.') {
        name.push('.');
    }
    let mut line = match format % 8 {
        0 => name.clone(),
        1 => {
            if format & 0x10 == 0 {
                format!("0.0.0.0 {name}")
            } else {
                format!("::1\t{name}")
            }
        }
        2 => format!("||{name}^"),
        3 => format!("*.{name}"),
        4 => {
            if format & 0x10 == 0 {
                format!("address=/{name}/")
            } else {
                format!("address=/{name}/0.0.0.0")
            }
        }
        5 => format!("server=/{name}/"),
        6 => format!("local=/{name}/"),
        _ => format!("@@||{name}^"),
    };
    if format & 0x20 != 0 && format % 8 <= 1 {
        line.push_str(" # why");
    }
    if format & 0x08 != 0 {
        line = format!("\u{feff}  {line}\r");
    }
    (line, name)
}

/// What a plain set of names says of `probe`: its suffixes at label
/// boundaries, ASCII case and one trailing dot ignored; names that cannot
/// be DNS names are unlisted. A blocklist's `@@` exceptions are scoped: a
/// name they cover is off that list, so unlisted here (one list), never
/// allowed.
fn model(probe: &str, blocked: &BTreeSet<String>, excepted: &BTreeSet<String>) -> Verdict {
    let trimmed = probe.strip_suffix('.').unwrap_or(probe);
    let name = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        match normalize_domain(probe) {
            Ok(name) => name,
            Err(_) => trimmed.to_ascii_lowercase(),
        }
    };
    let plausible = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| (1..=63).contains(&label.len()));
    if !plausible {
        return Verdict::Unlisted;
    }
    let suffixes: Vec<&str> = std::iter::once(name.as_str())
        .chain(name.match_indices('.').map(|(at, _)| &name[at + 1..]))
        .collect();
    if suffixes.iter().any(|s| excepted.contains(*s)) {
        Verdict::Unlisted
    } else if suffixes.iter().any(|s| blocked.contains(*s)) {
        Verdict::Blocked(ListId(0))
    } else {
        Verdict::Unlisted
    }
}

/// The same names as a block list and an allow list, loaded in that
/// order: the allow list wins on every one of them, and names it.
fn one_list_per_kind(blocked: &BTreeSet<String>, excepted: &BTreeSet<String>) {
    let joined = |set: &BTreeSet<String>| set.iter().map(|n| format!("{n}\n")).collect::<String>();
    let mut builder = RuleSetBuilder::new();
    builder.add_list("block", ListKind::Block, joined(blocked).as_bytes());
    builder.add_list("allow", ListKind::Allow, joined(excepted).as_bytes());
    let rules: RuleSet = builder.build();
    for name in excepted {
        assert_eq!(rules.check(name), Verdict::Allowed(ListId(1)), "{name}");
    }
    for name in blocked {
        let allowed = model(name, excepted, &BTreeSet::new()) != Verdict::Unlisted;
        let expected = if allowed {
            Verdict::Allowed(ListId(1))
        } else {
            Verdict::Blocked(ListId(0))
        };
        assert_eq!(rules.check(name), expected, "{name}");
    }
}
