//! Blocklists and allowlists: loading them, and matching names against them.
//!
//! Layer: policy data below the engine; no I/O (callers hand in list bytes).
//!
//! Semantics: a name is blocked when it or any parent domain is on a
//! blocklist, so listing `example.com` blocks `a.b.example.com` but not
//! `badexample.com`. Matching ignores case and one trailing dot; IDN names are
//! compared in punycode. An allowlist entry overrides every blocklist, with the
//! same parent rule. A match names its list; a name on several blocklists is
//! reported against the first list loaded.
//!
//! Invariants: loading never fails and never panics; every line that is not
//! an entry, a comment or a local name is a rejected line with its number and
//! reason. Names are stored as hashes (see [`table`] for the collision odds),
//! so a million names take about 11.4 bytes each.
//!
//! Never: keep the list text, or log the names it holds.

#![forbid(unsafe_code)]

mod parse;
pub mod table;

use std::fmt;

use parse::{parse_line, Line};
use table::{entry, for_each_suffix_hash, key_of, name_hash, HashTable};

/// The built-in list of phone-vendor telemetry hosts, with each entry's source.
pub const DEFAULT_LIST: &str = include_str!("../lists/default.txt");
pub const DEFAULT_LIST_NAME: &str = "hush-default";

/// Which list matched, as an index into the lists in load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListId(pub u16);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Block,
    Allow,
}

/// Why a list line was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    NotUtf8,
    InvalidName,
    NameTooLong,
    AddressNotName,
    UnsupportedAdblock,
    NotABlock,
    Unrecognised,
    TooManyLists,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::NotUtf8 => "not UTF-8 text",
            RejectReason::InvalidName => "not a valid domain name",
            RejectReason::NameTooLong => "name or label too long",
            RejectReason::AddressNotName => "an address, not a name (address rules are separate)",
            RejectReason::UnsupportedAdblock => "adblock rule that is not ||name^",
            RejectReason::NotABlock => "dnsmasq rule that forwards rather than blocks",
            RejectReason::Unrecognised => "unrecognised line",
            RejectReason::TooManyLists => "too many lists loaded",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number.
    pub line: usize,
    pub reason: RejectReason,
    /// The start of the line, lossily decoded, at most 80 characters.
    pub excerpt: String,
}

/// How a list loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReport {
    pub name: String,
    pub kind: ListKind,
    pub lines: usize,
    /// Distinct names taken from this list.
    pub entries: usize,
    /// Names this list repeats.
    pub duplicates: usize,
    /// Local names of hosts files (`localhost`...), skipped.
    pub ignored: usize,
    /// Adblock `@@` exceptions, which go to the allow side.
    pub allow_entries: usize,
    pub rejected_count: usize,
    /// The first [`MAX_REJECTED_DETAILS`] rejected lines.
    pub rejected: Vec<RejectedLine>,
}

/// Rejected lines kept in detail per list; the count covers all of them.
pub const MAX_REJECTED_DETAILS: usize = 1000;
/// Rejected lines a report prints.
const PRINTED_REJECTS: usize = 20;

impl fmt::Display for ListReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ListKind::Block => "blocklist",
            ListKind::Allow => "allowlist",
        };
        writeln!(f, "{} ({kind})", self.name)?;
        writeln!(f, "  lines            {}", self.lines)?;
        writeln!(f, "  entries          {}", self.entries)?;
        writeln!(f, "  duplicates       {}", self.duplicates)?;
        writeln!(f, "  local names      {}", self.ignored)?;
        writeln!(f, "  allow exceptions {}", self.allow_entries)?;
        write!(f, "  rejected lines   {}", self.rejected_count)?;
        for rejected in self.rejected.iter().take(PRINTED_REJECTS) {
            write!(
                f,
                "\n    line {}: {}: {:?}",
                rejected.line, rejected.reason, rejected.excerpt
            )?;
        }
        if self.rejected_count > PRINTED_REJECTS {
            write!(
                f,
                "\n    ... and {} more",
                self.rejected_count - PRINTED_REJECTS
            )?;
        }
        Ok(())
    }
}

/// The outcome of matching a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Blocked(ListId),
    /// An allowlist entry matched; it overrides blocklists.
    Allowed(ListId),
    Unlisted,
}

/// Collects lists, then builds a [`RuleSet`].
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    names: Vec<String>,
    blocked: Vec<u64>,
    allowed: Vec<u64>,
}

impl RuleSetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads one list. Never fails: anything unusable is a rejected line.
    pub fn add_list(&mut self, name: &str, kind: ListKind, text: &[u8]) -> ListReport {
        let mut report = ListReport {
            name: name.to_string(),
            kind,
            lines: 0,
            entries: 0,
            duplicates: 0,
            ignored: 0,
            allow_entries: 0,
            rejected_count: 0,
            rejected: Vec::new(),
        };
        let Ok(id) = u16::try_from(self.names.len()) else {
            report.rejected_count = 1;
            report.rejected.push(RejectedLine {
                line: 0,
                reason: RejectReason::TooManyLists,
                excerpt: String::new(),
            });
            return report;
        };
        self.names.push(name.to_string());
        let mut keys = Vec::new();
        let mut exceptions = Vec::new();
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            report.lines = index + 1;
            match parse_line(raw) {
                Line::Nothing => {}
                Line::Names(names) => keys.extend(names.iter().map(|n| key_of(name_hash(n)))),
                Line::Exception(name) => exceptions.push(key_of(name_hash(&name))),
                Line::Ignored(count) => report.ignored += count,
                Line::Rejected(reason) => {
                    report.rejected_count += 1;
                    if report.rejected.len() < MAX_REJECTED_DETAILS {
                        let excerpt: String = String::from_utf8_lossy(raw)
                            .trim()
                            .chars()
                            .take(80)
                            .collect();
                        report.rejected.push(RejectedLine {
                            line: index + 1,
                            reason,
                            excerpt,
                        });
                    }
                }
            }
        }
        if text.ends_with(b"\n") {
            report.lines -= 1;
        }
        let taken = keys.len();
        keys.sort_unstable();
        keys.dedup();
        report.entries = keys.len();
        report.duplicates = taken - keys.len();
        exceptions.sort_unstable();
        exceptions.dedup();
        report.allow_entries = exceptions.len();
        let own = match kind {
            ListKind::Block => &mut self.blocked,
            ListKind::Allow => &mut self.allowed,
        };
        own.extend(keys.iter().map(|&k| entry(k, id)));
        self.allowed
            .extend(exceptions.iter().map(|&k| entry(k, id)));
        report
    }

    /// Loads the built-in list of vendor telemetry hosts.
    pub fn add_default_list(&mut self) -> ListReport {
        self.add_list(DEFAULT_LIST_NAME, ListKind::Block, DEFAULT_LIST.as_bytes())
    }

    pub fn build(self) -> RuleSet {
        RuleSet {
            blocked: distinct_table(self.blocked),
            allowed: distinct_table(self.allowed),
            names: self.names,
        }
    }
}

/// Keeps the first list's entry for each key, then builds the table.
fn distinct_table(mut entries: Vec<u64>) -> HashTable {
    // Sorting by the whole entry orders each key's lists by load order.
    entries.sort_unstable();
    entries.dedup_by_key(|e| key_of(*e));
    HashTable::from_distinct(&entries)
}

/// Loaded lists, ready for matching. Cheap to share between threads.
#[derive(Debug, Default)]
pub struct RuleSet {
    blocked: HashTable,
    allowed: HashTable,
    names: Vec<String>,
}

impl RuleSet {
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Matches a name in presentation form: any case, optional trailing dot.
    pub fn check(&self, name: &str) -> Verdict {
        let bytes = name.as_bytes();
        let bytes = bytes.strip_suffix(b".").unwrap_or(bytes);
        if !self.allowed.is_empty() {
            let mut allowed = None;
            for_each_suffix_hash(bytes, |hash| {
                allowed = self.allowed.get(hash);
                allowed.is_some()
            });
            if let Some(list) = allowed {
                return Verdict::Allowed(ListId(list));
            }
        }
        let mut blocked = None;
        for_each_suffix_hash(bytes, |hash| {
            blocked = self.blocked.get(hash);
            blocked.is_some()
        });
        blocked.map_or(Verdict::Unlisted, |list| Verdict::Blocked(ListId(list)))
    }

    /// The name a list was loaded under.
    pub fn list_name(&self, id: ListId) -> &str {
        self.names
            .get(usize::from(id.0))
            .map_or("?", String::as_str)
    }

    pub fn blocked_len(&self) -> usize {
        self.blocked.len()
    }

    pub fn allowed_len(&self) -> usize {
        self.allowed.len()
    }

    /// Heap bytes held by the match tables (list names aside).
    pub fn heap_bytes(&self) -> usize {
        self.blocked.heap_bytes() + self.allowed.heap_bytes()
    }
}

/// Normalises a domain name: lower case, no trailing dot, IDN in punycode,
/// labels of letters, digits, `-` and `_`, 1 to 63 bytes, 253 in all.
pub fn normalize_domain(input: &str) -> Result<String, RejectReason> {
    let input = input.strip_suffix('.').unwrap_or(input);
    if input.is_empty() {
        return Err(RejectReason::InvalidName);
    }
    let name = if input.is_ascii() {
        input.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(input).map_err(|_| RejectReason::InvalidName)?
    };
    if name.len() > 253 {
        return Err(RejectReason::NameTooLong);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(RejectReason::InvalidName);
        }
        if label.len() > 63 {
            return Err(RejectReason::NameTooLong);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(RejectReason::InvalidName);
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(block: &str, allow: &str) -> RuleSet {
        let mut builder = RuleSetBuilder::new();
        builder.add_list("block", ListKind::Block, block.as_bytes());
        builder.add_list("allow", ListKind::Allow, allow.as_bytes());
        builder.build()
    }

    #[test]
    fn parents_match_and_lookalikes_do_not() {
        let rules = rules("example.com\n", "");
        assert_eq!(rules.check("a.b.example.com"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("EXAMPLE.com."), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("badexample.com"), Verdict::Unlisted);
        assert_eq!(rules.check("com"), Verdict::Unlisted);
        assert_eq!(rules.check(""), Verdict::Unlisted);
        assert_eq!(rules.list_name(ListId(0)), "block");
    }

    #[test]
    fn the_allowlist_overrides_with_the_same_parent_rule() {
        let rules = rules("x.example.com\nads.example\n", "example.com\n");
        assert_eq!(rules.check("x.example.com"), Verdict::Allowed(ListId(1)));
        assert_eq!(
            rules.check("deep.x.example.com"),
            Verdict::Allowed(ListId(1))
        );
        assert_eq!(rules.check("ads.example"), Verdict::Blocked(ListId(0)));
    }

    #[test]
    fn adblock_exceptions_allow() {
        let rules = rules("||example.com^\n@@||ok.example.com^\n", "");
        assert_eq!(rules.check("ok.example.com"), Verdict::Allowed(ListId(0)));
        assert_eq!(rules.check("no.example.com"), Verdict::Blocked(ListId(0)));
    }

    #[test]
    fn the_first_list_loaded_is_named() {
        let mut builder = RuleSetBuilder::new();
        builder.add_list("first", ListKind::Block, b"t.example\n");
        builder.add_list("second", ListKind::Block, b"t.example\nu.example\n");
        let rules = builder.build();
        assert_eq!(rules.check("t.example"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("u.example"), Verdict::Blocked(ListId(1)));
        assert_eq!(rules.blocked_len(), 2);
    }

    #[test]
    fn the_report_counts_duplicates_rejects_and_line_numbers() {
        let text = b"# header\na.example\nA.example.\n\xff\xfe\n127.0.0.1 localhost\nb.example\n198.18.0.1\n";
        let report = RuleSetBuilder::new().add_list("mixed", ListKind::Block, text);
        assert_eq!(report.lines, 7);
        assert_eq!(report.entries, 2);
        assert_eq!(report.duplicates, 1);
        assert_eq!(report.ignored, 1);
        assert_eq!(report.rejected_count, 2);
        let lines: Vec<(usize, RejectReason)> =
            report.rejected.iter().map(|r| (r.line, r.reason)).collect();
        assert_eq!(
            lines,
            [
                (4, RejectReason::NotUtf8),
                (7, RejectReason::AddressNotName)
            ]
        );
        let printed = report.to_string();
        assert!(printed.contains("line 7"), "{printed}");
    }

    #[test]
    fn ten_megabytes_of_junk_load_without_panic_and_are_counted() {
        let mut junk = Vec::with_capacity(10 << 20);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        while junk.len() < 10 << 20 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            junk.extend_from_slice(&state.to_le_bytes());
        }
        let report = RuleSetBuilder::new().add_list("junk", ListKind::Block, &junk);
        assert!(report.rejected_count > 0);
        assert!(report.rejected.len() <= MAX_REJECTED_DETAILS);
        assert!(report.entries + report.rejected_count <= report.lines);
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize_domain("Bücher.Example.").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            normalize_domain("_dmarc.example").unwrap(),
            "_dmarc.example"
        );
        assert_eq!(
            normalize_domain(&"a".repeat(64)),
            Err(RejectReason::NameTooLong)
        );
        assert_eq!(normalize_domain("."), Err(RejectReason::InvalidName));
        assert_eq!(normalize_domain("a b"), Err(RejectReason::InvalidName));
    }

    #[test]
    fn the_default_list_names_a_source_for_every_entry_and_blocks_xiaomi() {
        let mut source_seen = false;
        for line in DEFAULT_LIST.lines() {
            if let Some(source) = line.strip_prefix("# source:") {
                source_seen = !source.trim().is_empty();
            } else if !line.trim().is_empty() && !line.starts_with('#') {
                assert!(source_seen, "entry {line:?} has no source above it");
            }
        }
        let mut builder = RuleSetBuilder::new();
        let report = builder.add_default_list();
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
        let rules = builder.build();
        for name in [
            "tracking.miui.com",
            "tracking.intl.miui.com",
            "data.mistat.xiaomi.com",
            "sa.api.intl.miui.com",
            "api.ad.xiaomi.com",
        ] {
            assert_eq!(rules.check(name), Verdict::Blocked(ListId(0)), "{name}");
        }
        assert_eq!(rules.check("f-droid.org"), Verdict::Unlisted);
    }
}
