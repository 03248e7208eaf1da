//! Blocklists and allowlists: loading them, and matching DNS names against
//! them, fast and in little memory.
//!
//! Layer: policy data below the engine. No I/O: callers hand in list bytes
//! (from a file, a download or [`DEFAULT_LIST`]) and get back a [`RuleSet`]
//! to query and a [`ListReport`] per list to show the user. Three lists are
//! built in: [`DEFAULT_LIST`] (phone-vendor telemetry),
//! [`ADAWAY_LIST`] (ads and trackers in general) and
//! [`ENCRYPTED_DNS_LIST`] (resolvers apps could use around Hush), each under
//! its own name and each loaded only on request; [`BUILTIN_LISTS`] is their
//! catalogue.
//!
//! Formats, detected line by line so mixed files load: hosts files, plain
//! names, adblock `||name^` (and `@@||name^` exceptions), wildcard `*.name`,
//! and dnsmasq `address=/name/`, `server=/name/`, `local=/name/`. See
//! `parse` for the details and what is rejected.
//!
//! Semantics: a name is blocked when it or any parent domain is on a
//! blocklist, so listing `example.com` blocks `a.b.example.com` but not
//! `badexample.com`. Matching ignores ASCII case and one trailing dot; IDN
//! names are compared in punycode. An allowlist entry overrides every
//! blocklist, with the same parent rule. A verdict names the list that
//! matched: when several lists hold the same name, the first one loaded is
//! named; when lists hold different suffixes of the name (`example.com` in
//! one, `x.example.com` in another), the list with the shortest, broadest
//! match is named.
//!
//! Exceptions are scoped: an adblock `@@` exception in a blocklist takes
//! the name (and its subdomains) off *that list only*, whatever that list's
//! blocks are. A name another list blocks stays blocked, named by that list;
//! a name no other list blocks is [`Verdict::Unlisted`], never
//! [`Verdict::Allowed`], so it overrides nothing downstream (address lists).
//! A downloaded list can thus weaken only itself. Only allowlists (the
//! owner's: `--allow FILE`, a list added as an allowlist; their own `@@`
//! lines allow too) override every list; the engine puts the owner's domain
//! rules before all lists. To keep the common path as it was, a list's
//! exceptions are looked at only when a lookup hits a list that has some;
//! the table keeps a later list's entry for a name beside an earlier
//! excepting list's (see `block_table`), so each list's block is still found.
//!
//! Invariants: loading never fails and never panics, whatever the bytes; every
//! line that is not an entry, a comment or a local name (`localhost`...) is a
//! rejected line with its number and reason. Lookups never allocate for ASCII
//! names.
//!
//! Exact matching. Blocklist names are stored as 48-bit hashes, not strings: a
//! million names take about 11.4 bytes each. Allowlists and exceptions keep
//! their names and confirm each hash hit by comparing them, so a name that
//! only hashes like an allowed or excepted one is never let through: that
//! side fails open, and an app could search out a colliding label offline
//! (the hash is not keyed: about 2^48 / n tries against n allowed names,
//! about an hour of one core for a hundred). The block side fails closed and gains an
//! app nothing, so there the odds were weighed instead: a false match has
//! probability n / 2^48 per probed suffix, 3.6e-8 at n = 10 million names.
//! A busy phone asking 40,000 names a day of about 4 labels makes 5.8e7
//! probes a year: about 2 false lookups a year at 10 million names, 0.2 at a
//! million, but repeats of the same few names: a name hashes the same every
//! time, so what counts is distinct names, perhaps 50,000 a year, giving
//! 7e-3 wrongly blocked names per phone-year at 10 million names (7e-4 at a
//! million), each shown in the log under a list's name and fixed by one
//! domain rule. Keeping the blocklist names instead would cost about 33 more
//! bytes per name (44 against 11.4, measured: BENCHMARKS.md, "Scoped
//! exceptions and exact matching"), 33 MB at a million names, for that. The
//! `table` module says more.
//!
//! Never: keep the list text, or log the names it holds.

#![forbid(unsafe_code)]

pub mod address;
mod parse;
mod table;

use std::fmt;

pub use address::{AddressRules, AddressRulesBuilder, AddressVerdict};

use parse::{parse_line, Line, Side};
use table::{entry, for_each_suffix_hash, key_of, name_hash, pair_hash, ExactTable, HashTable};

/// The built-in list of phone-vendor telemetry hosts, with each entry's source.
pub const DEFAULT_LIST: &str = include_str!("../lists/default.txt");
/// The name [`RuleSetBuilder::add_default_list`] loads the built-in list under.
pub const DEFAULT_LIST_NAME: &str = "hush-default";
/// The built-in list of encrypted-DNS endpoints (DNS over HTTPS, TLS, QUIC,
/// DNSCrypt, vendor HTTP-DNS): HaGeZi's Encrypted DNS Bypass list, taken
/// whole (see `lists/SOURCES.md`). Blocking these names by DNS, TLS SNI,
/// HTTP Host and QUIC SNI keeps apps on the resolver Hush answers.
pub const ENCRYPTED_DNS_LIST: &str = include_str!("../lists/doh.txt");
/// The name [`RuleSetBuilder::add_encrypted_dns_list`] loads it under, so a
/// verdict says `list:hush-doh`.
pub const ENCRYPTED_DNS_LIST_NAME: &str = "hush-doh";

/// The built-in list of ads and trackers in general: AdAway's default
/// hosts file, taken whole (CC BY 3.0; see `lists/SOURCES.md`). Off unless
/// asked for ([`RuleSetBuilder::add_adaway_list`]).
pub const ADAWAY_LIST: &str = include_str!("../lists/adaway.txt");
/// The name [`RuleSetBuilder::add_adaway_list`] loads it under, so a
/// verdict says `list:hush-adaway`.
pub const ADAWAY_LIST_NAME: &str = "hush-adaway";

/// A list that ships inside Hush, as the catalogue shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinList {
    /// What it is loaded under, and what a verdict names (`list:NAME`).
    pub name: &'static str,
    /// For people: what it blocks.
    pub title: &'static str,
    /// SPDX-style licence of the list's text.
    pub licence: &'static str,
    /// Where it comes from: repository, path and commit.
    pub source: &'static str,
    pub text: &'static str,
}

impl BuiltinList {
    /// Loads the list alone and says what it holds: its entry count is the
    /// parser's, never a number written down.
    pub fn report(&self) -> ListReport {
        RuleSetBuilder::new().add_list(self.name, ListKind::Block, self.text.as_bytes())
    }
}

/// Every built-in list, in the order a session loads them: the vendor list
/// first (a name it shares with AdAway is named as vendor telemetry), then
/// AdAway, then (after the user's lists) the encrypted-DNS list, which must
/// come last (see [`RuleSetBuilder::add_encrypted_dns_list`]).
pub const BUILTIN_LISTS: [BuiltinList; 3] = [
    BuiltinList {
        name: DEFAULT_LIST_NAME,
        title: "Phone-vendor telemetry",
        licence: "GPL-3.0 (HaGeZi), CC-BY-3.0 (AdAway)",
        source: "hagezi/dns-blocklists native.* lists and AdAway/adaway.github.io hosts.txt, curated (lists/SOURCES.md)",
        text: DEFAULT_LIST,
    },
    BuiltinList {
        name: ADAWAY_LIST_NAME,
        title: "Ads & trackers — AdAway",
        licence: "CC-BY-3.0",
        source: "AdAway/adaway.github.io hosts.txt @7b5368f (2023-04-29)",
        text: ADAWAY_LIST,
    },
    BuiltinList {
        name: ENCRYPTED_DNS_LIST_NAME,
        title: "Encrypted DNS (DoH) endpoints",
        licence: "GPL-3.0",
        source: "hagezi/dns-blocklists domains/doh.txt @005e5ae8 (v2024.0714.2238.12)",
        text: ENCRYPTED_DNS_LIST,
    },
];

/// The built-in list loaded under `name`, if any.
pub fn builtin_list(name: &str) -> Option<&'static BuiltinList> {
    BUILTIN_LISTS.iter().find(|list| list.name == name)
}

/// Which list matched: an index into the lists in load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListId(pub u16);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    Block,
    Allow,
}

/// Why a list line was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    InvalidAddress,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::NotUtf8 => "not UTF-8 text",
            RejectReason::InvalidName => "not a valid domain name",
            RejectReason::NameTooLong => "name longer than 253 bytes or label longer than 63",
            RejectReason::AddressNotName => "an address, not a domain (address rules are separate)",
            RejectReason::InvalidAddress => "not an IP address or CIDR range",
            RejectReason::UnsupportedAdblock => {
                "adblock rule other than ||name^ (cosmetic, path, regex or modifier)"
            }
            RejectReason::NotABlock => "dnsmasq rule that forwards or redirects rather than blocks",
            RejectReason::Unrecognised => "unrecognised line",
            RejectReason::TooManyLists => "too many lists loaded (65536 at most)",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number; 0 when the whole list was refused
    /// ([`RejectReason::TooManyLists`]).
    pub line: usize,
    pub reason: RejectReason,
    /// The line, lossily decoded and trimmed, at most 80 characters.
    pub excerpt: String,
}

/// How a list loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListReport {
    pub name: String,
    pub kind: ListKind,
    pub lines: usize,
    /// Distinct names taken from this list (blocked or allowed as the list's
    /// kind says), adblock `@@` exceptions aside.
    pub entries: usize,
    /// Names this list repeats.
    pub duplicates: usize,
    /// Local names of hosts files (`localhost`...), skipped.
    pub ignored: usize,
    /// Distinct adblock `@@` exceptions. In a blocklist they exempt names
    /// from this list's own blocks only; in an allowlist they allow, as its
    /// entries do.
    pub allow_entries: usize,
    /// Every rejected line.
    pub rejected_count: usize,
    /// The first [`MAX_REJECTED_DETAILS`] rejected lines.
    pub rejected: Vec<RejectedLine>,
}

/// Rejected lines kept in detail per list; the count covers all of them.
pub const MAX_REJECTED_DETAILS: usize = 1000;
/// Rejected lines a printed report shows.
const PRINTED_REJECTS: usize = 20;
const EXCERPT_CHARS: usize = 80;

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
        let shown = self.rejected.len().min(PRINTED_REJECTS);
        if self.rejected_count > shown {
            write!(f, "\n    ... and {} more", self.rejected_count - shown)?;
        }
        Ok(())
    }
}

/// The outcome of matching a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Blocked(ListId),
    /// An allowlist entry matched; it overrides every blocklist. (A
    /// blocklist's own `@@` exception never gives this: it only takes the
    /// name off that list, so the verdict is another list's block or
    /// [`Verdict::Unlisted`].)
    Allowed(ListId),
    Unlisted,
}

/// Collects lists, then builds a [`RuleSet`].
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    names: Vec<String>,
    /// Table entries (48-bit key | list id), each list's keys distinct.
    blocked: Vec<u64>,
    /// Allowlists' entries, with their names for exact matching.
    allowed: Vec<(u64, Box<str>)>,
    /// Blocklists' `@@` exceptions, keyed by (name, list): see [`pair_hash`].
    exceptions: Vec<(u64, Box<str>)>,
    /// Per list id: whether the list has `@@` exceptions of its own.
    excepting: Vec<bool>,
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

        // Names are kept (for exact matching) only where a false match
        // would let something through: an allowlist's entries and exceptions.
        let keep_listed = kind == ListKind::Allow;
        let mut listed: Vec<u64> = Vec::new();
        let mut named: Vec<(u64, Box<str>)> = Vec::new();
        let mut exceptions: Vec<(u64, Box<str>)> = Vec::new();
        let mut scratch = String::new();
        for (index, raw) in lines(text).enumerate() {
            report.lines = index + 1;
            // A rejected line hands back nothing, even names it found first.
            let before = (listed.len(), named.len(), exceptions.len());
            let outcome = parse_line(raw, &mut scratch, &mut |side, name| {
                let hash = name_hash(name);
                match side {
                    Side::Listed if keep_listed => named.push((key_of(hash), name.into())),
                    Side::Listed => listed.push(key_of(hash)),
                    Side::Exception => exceptions.push((hash, name.into())),
                }
            });
            match outcome {
                Line::Nothing => {}
                Line::Names { ignored } => report.ignored += ignored,
                Line::Rejected(reason) => {
                    listed.truncate(before.0);
                    named.truncate(before.1);
                    exceptions.truncate(before.2);
                    report.rejected_count += 1;
                    if report.rejected.len() < MAX_REJECTED_DETAILS {
                        report.rejected.push(RejectedLine {
                            line: index + 1,
                            reason,
                            excerpt: excerpt(raw),
                        });
                    }
                }
            }
        }

        let taken = listed.len() + named.len();
        sort_distinct(&mut listed);
        sort_distinct(&mut named);
        report.entries = listed.len() + named.len();
        report.duplicates = taken - report.entries;
        sort_distinct(&mut exceptions);
        report.allow_entries = exceptions.len();
        match kind {
            ListKind::Block => {
                self.blocked
                    .extend(listed.iter().map(|&key| entry(key, id)));
                // Scoped to this list: "list `id` excepts this name".
                self.exceptions.extend(
                    exceptions
                        .into_iter()
                        .map(|(hash, name)| (entry(key_of(pair_hash(hash, id)), id), name)),
                );
                self.excepting.push(report.allow_entries > 0);
            }
            ListKind::Allow => {
                // An allowlist is the owner's: its `@@` lines allow too.
                let exceptions = exceptions
                    .into_iter()
                    .map(|(hash, name)| (key_of(hash), name));
                self.allowed.extend(
                    named
                        .into_iter()
                        .chain(exceptions)
                        .map(|(key, name)| (entry(key, id), name)),
                );
                self.excepting.push(false);
            }
        }
        report
    }

    /// Loads the built-in list of vendor telemetry hosts as [`DEFAULT_LIST_NAME`].
    pub fn add_default_list(&mut self) -> ListReport {
        self.add_list(DEFAULT_LIST_NAME, ListKind::Block, DEFAULT_LIST.as_bytes())
    }

    /// Loads AdAway's hosts file as [`ADAWAY_LIST_NAME`]. Load it after the
    /// vendor list and before the user's lists: a name several lists hold
    /// is named by the first one loaded.
    pub fn add_adaway_list(&mut self) -> ListReport {
        self.add_list(ADAWAY_LIST_NAME, ListKind::Block, ADAWAY_LIST.as_bytes())
    }

    /// Loads the built-in list of encrypted-DNS endpoints as
    /// [`ENCRYPTED_DNS_LIST_NAME`]. Like the vendor list, it is in force only
    /// when loaded: a caller that leaves this call out turns it off.
    ///
    /// Load it after every other list. A name several lists hold is named
    /// by the first one loaded, and the engine lets an exempt resolver (its
    /// `ResolverExemptions`) through only where this list is the one named;
    /// loaded last, it never hides another list's entry.
    pub fn add_encrypted_dns_list(&mut self) -> ListReport {
        self.add_list(
            ENCRYPTED_DNS_LIST_NAME,
            ListKind::Block,
            ENCRYPTED_DNS_LIST.as_bytes(),
        )
    }

    pub fn build(self) -> RuleSet {
        let (blocked, blocked_names) = block_table(self.blocked, &self.excepting);
        let any_exceptions = !self.exceptions.is_empty();
        RuleSet {
            blocked,
            blocked_names,
            allowed: exact_table(self.allowed),
            exceptions: exact_table(self.exceptions),
            excepting: if any_exceptions {
                self.excepting
            } else {
                Vec::new()
            },
            names: self.names,
        }
    }
}

/// The lines of a list without their `\n`; an empty text has none, and a
/// final newline does not start another line.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    body.split(|&byte| byte == b'\n')
        .take(if text.is_empty() { 0 } else { usize::MAX })
}

fn excerpt(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .trim()
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
}

fn sort_distinct<T: Ord>(keys: &mut Vec<T>) {
    keys.sort_unstable();
    keys.dedup();
}

/// The block table: for each key, the entry of the first list loaded, and
/// after it those of later lists for as long as the one before has `@@`
/// exceptions (its block may be excepted, and the next list's must then
/// still hold). Lists without exceptions (the built-in ones, most
/// downloads) cost one entry per key, as before scoping.
fn block_table(mut entries: Vec<u64>, excepting: &[bool]) -> (HashTable, usize) {
    let excepts = |entry: u64| {
        let list = usize::from(entry_list(entry));
        excepting.get(list).copied().unwrap_or(false)
    };
    // Sorting whole entries orders each key's lists by list id (load order),
    // and the table keeps that order within a key.
    entries.sort_unstable();
    // In place: the kept entries are a prefix, so loading a million names
    // needs no second vector.
    let mut kept = 0;
    let mut distinct = 0;
    for at in 0..entries.len() {
        let entry = entries[at];
        if kept > 0 && key_of(entries[kept - 1]) == key_of(entry) {
            if excepts(entries[kept - 1]) {
                entries[kept] = entry;
                kept += 1;
            }
        } else {
            entries[kept] = entry;
            kept += 1;
            distinct += 1;
        }
    }
    entries.truncate(kept);
    (HashTable::from_entries(&entries, |_, _| {}), distinct)
}

/// An exact table: entries sorted by key, then list (load order), then name,
/// one per (key, list, name).
fn exact_table(mut entries: Vec<(u64, Box<str>)>) -> ExactTable {
    sort_distinct(&mut entries);
    ExactTable::from_named(&entries)
}

fn entry_list(entry: u64) -> u16 {
    (entry & 0xffff) as u16
}

/// Loaded lists, ready for matching. Immutable, so it can be shared between
/// threads (it is `Send + Sync`) and swapped whole when lists change.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Blocklists' names, hash only (see [`block_table`]).
    blocked: HashTable,
    /// Distinct keys in `blocked`.
    blocked_names: usize,
    /// Allowlists' names, matched exactly.
    allowed: ExactTable,
    /// Blocklists' own `@@` exceptions, by (name, list), matched exactly.
    exceptions: ExactTable,
    /// Per list id: whether it has exceptions; empty when none has.
    excepting: Vec<bool>,
    names: Vec<String>,
}

impl RuleSet {
    /// A rule set with no lists: everything is [`Verdict::Unlisted`].
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Matches a name in presentation form: any case, optional trailing dot.
    ///
    /// A name that cannot be a DNS name (empty, an empty label, a label over
    /// 63 bytes, over 253 in all) is [`Verdict::Unlisted`]. Characters are not
    /// policed here: a query for `x y.tracker.example` is still matched
    /// against `tracker.example`, so odd bytes cannot slip a name past a list.
    /// A non-ASCII name is converted to punycode first (the only case that
    /// allocates).
    pub fn check(&self, name: &str) -> Verdict {
        let bytes = name.as_bytes();
        let bytes = bytes.strip_suffix(b".").unwrap_or(bytes);
        if !bytes.is_ascii() {
            if let Ok(ascii) = normalize_domain(name) {
                return self.check_ascii(ascii.as_bytes());
            }
            // Not valid IDN; its ASCII parents (a listed domain) still match.
        }
        if !is_plausible_name(bytes) {
            return Verdict::Unlisted;
        }
        self.check_ascii(bytes)
    }

    /// One right-to-left pass: each suffix is probed in the allow table (any
    /// hit wins at once), and in the block table until the first hit. A hit
    /// of a list that has `@@` exceptions of its own is settled by
    /// [`Self::check_excepted`], off this path.
    fn check_ascii(&self, name: &[u8]) -> Verdict {
        let any_allowed = !self.allowed.is_empty();
        let mut allowed = None;
        let mut blocked = None;
        let mut maybe_excepted = false;
        for_each_suffix_hash(name, |hash, start| {
            if any_allowed {
                allowed = self.allowed.get(hash, &name[start..], |_| true);
                if allowed.is_some() {
                    return true;
                }
            }
            if blocked.is_none() && !maybe_excepted {
                blocked = self.blocked.get(hash);
                if blocked.is_some_and(|list| self.has_exceptions(list)) {
                    blocked = None;
                    maybe_excepted = true;
                }
            }
            (blocked.is_some() || maybe_excepted) && !any_allowed
        });
        match (allowed, blocked) {
            (Some(list), _) => Verdict::Allowed(ListId(list)),
            (None, Some(list)) => Verdict::Blocked(ListId(list)),
            (None, None) if maybe_excepted => self.check_excepted(name),
            (None, None) => Verdict::Unlisted,
        }
    }

    #[inline]
    fn has_exceptions(&self, list: u16) -> bool {
        self.excepting
            .get(usize::from(list))
            .copied()
            .unwrap_or(false)
    }

    /// The block verdict when a list with exceptions holds a suffix of the
    /// name (no allowlist does): the shortest suffix held by a list that
    /// does not except the name, and of those the first list loaded.
    #[cold]
    fn check_excepted(&self, name: &[u8]) -> Verdict {
        // A plausible name has at most 127 labels (253 bytes).
        let mut suffixes = [(0u64, 0usize); MAX_NAME_LEN / 2 + 1];
        let mut count = 0;
        for_each_suffix_hash(name, |hash, start| {
            if let Some(slot) = suffixes.get_mut(count) {
                *slot = (hash, start);
                count += 1;
            }
            false
        });
        let suffixes = &suffixes[..count];
        let excepts = |list: u16| {
            suffixes.iter().any(|&(hash, start)| {
                let key = pair_hash(hash, list);
                self.exceptions
                    .get(key, &name[start..], |l| l == list)
                    .is_some()
            })
        };
        for &(hash, _) in suffixes {
            let mut blocked = None;
            self.blocked.probe(hash, |_, list| {
                let holds = !self.has_exceptions(list) || !excepts(list);
                if holds {
                    blocked = Some(list);
                }
                holds
            });
            if let Some(list) = blocked {
                return Verdict::Blocked(ListId(list));
            }
        }
        Verdict::Unlisted
    }

    /// The name a list was loaded under, or `"?"` for an id it never gave.
    pub fn list_name(&self, id: ListId) -> &str {
        self.names
            .get(usize::from(id.0))
            .map_or("?", String::as_str)
    }

    /// Distinct blocked names over all blocklists.
    pub fn blocked_len(&self) -> usize {
        self.blocked_names
    }

    /// Allowed names over all allowlists (each list's own counted once).
    pub fn allowed_len(&self) -> usize {
        self.allowed.len()
    }

    /// Blocklists' `@@` exceptions, each list's own counted once.
    pub fn exceptions_len(&self) -> usize {
        self.exceptions.len()
    }

    /// Heap bytes held by the match tables (list names aside).
    pub fn heap_bytes(&self) -> usize {
        self.blocked.heap_bytes()
            + self.allowed.heap_bytes()
            + self.exceptions.heap_bytes()
            + self.excepting.capacity()
    }
}

/// The structure of a DNS name, characters aside: 1 to 253 bytes, labels of
/// 1 to 63.
fn is_plausible_name(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    name.split(|&byte| byte == b'.')
        .all(|label| (1..=MAX_LABEL_LEN).contains(&label.len()))
}

const MAX_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Normalises a domain name: ASCII lower case, no trailing dot, IDN in
/// punycode, labels of letters, digits, `-` and `_`, 1 to 63 bytes, 253 in
/// all. An IP address literal is [`RejectReason::AddressNotName`].
pub fn normalize_domain(input: &str) -> Result<String, RejectReason> {
    let mut name = String::new();
    normalize_into(input, &mut name)?;
    Ok(name)
}

/// [`normalize_domain`] into a reused buffer: no allocation for ASCII names
/// once the buffer has grown.
pub(crate) fn normalize_into(input: &str, out: &mut String) -> Result<(), RejectReason> {
    out.clear();
    let input = input.strip_suffix('.').unwrap_or(input);
    if input.is_ascii() {
        out.push_str(input);
        out.make_ascii_lowercase();
    } else {
        let ascii = idna::domain_to_ascii(input).map_err(|_| RejectReason::InvalidName)?;
        out.push_str(ascii.strip_suffix('.').unwrap_or(&ascii));
    }
    check_name(out)
}

/// Validates a lower-case ASCII name.
fn check_name(name: &str) -> Result<(), RejectReason> {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(RejectReason::InvalidName);
    };
    // Only a leading digit or a colon can start an address; the test is cheap.
    if (first.is_ascii_digit() || bytes.contains(&b':')) && name.parse::<std::net::IpAddr>().is_ok()
    {
        return Err(RejectReason::AddressNotName);
    }
    if bytes.len() > MAX_NAME_LEN {
        return Err(RejectReason::NameTooLong);
    }
    let mut label_len = 0;
    for &byte in bytes {
        if byte == b'.' {
            if label_len == 0 {
                return Err(RejectReason::InvalidName);
            }
            label_len = 0;
        } else if byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        {
            label_len += 1;
            if label_len > MAX_LABEL_LEN {
                return Err(RejectReason::NameTooLong);
            }
        } else {
            return Err(RejectReason::InvalidName);
        }
    }
    if label_len == 0 {
        return Err(RejectReason::InvalidName);
    }
    Ok(())
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

    fn report(text: &[u8]) -> ListReport {
        RuleSetBuilder::new().add_list("test", ListKind::Block, text)
    }

    #[test]
    fn rule_sets_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<RuleSet>();
    }

    #[test]
    fn parents_match_and_lookalikes_do_not() {
        let rules = rules("example.com\n", "");
        assert_eq!(rules.check("example.com"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("a.b.example.com"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("badexample.com"), Verdict::Unlisted);
        assert_eq!(rules.check("example.com.evil"), Verdict::Unlisted);
        assert_eq!(rules.check("com"), Verdict::Unlisted);
        assert_eq!(rules.list_name(ListId(0)), "block");
        assert_eq!(rules.list_name(ListId(9)), "?");
    }

    #[test]
    fn case_and_trailing_dot_are_ignored() {
        let rules = rules("Tracking.MIUI.com.\n", "");
        for name in [
            "tracking.miui.com",
            "TRACKING.miui.COM.",
            "A.Tracking.Miui.Com",
        ] {
            assert_eq!(rules.check(name), Verdict::Blocked(ListId(0)), "{name}");
        }
    }

    #[test]
    fn a_single_label_can_be_listed() {
        let rules = rules("zip\n", "");
        assert_eq!(rules.check("evil.zip"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("zip.example"), Verdict::Unlisted);
    }

    #[test]
    fn names_that_cannot_be_dns_names_are_unlisted() {
        let rules = rules("example.com\n", "");
        let too_long = format!("{}.example.com", "a.".repeat(125));
        let long_label = format!("{}.example.com", "a".repeat(64));
        for name in [
            "",
            ".",
            "..",
            "a..example.com",
            ".example.com",
            &too_long,
            &long_label,
        ] {
            assert_eq!(rules.check(name), Verdict::Unlisted, "{name:?}");
        }
        // Odd characters below a listed name do not get it past the list.
        assert_eq!(rules.check("x y.example.com"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("*.example.com"), Verdict::Blocked(ListId(0)));
    }

    #[test]
    fn idn_names_match_in_punycode_either_way() {
        let rules = rules("bücher.example\nxn--caf-dma.example\n", "");
        assert_eq!(
            rules.check("xn--bcher-kva.example"),
            Verdict::Blocked(ListId(0))
        );
        assert_eq!(
            rules.check("www.Bücher.example."),
            Verdict::Blocked(ListId(0))
        );
        assert_eq!(rules.check("café.example"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("bucher.example"), Verdict::Unlisted);
    }

    #[test]
    fn the_allowlist_overrides_with_the_same_parent_rule() {
        let rules = rules(
            "x.example.com\nads.example\nexample.org\n",
            "example.com\ngood.example.org\n",
        );
        assert_eq!(rules.check("x.example.com"), Verdict::Allowed(ListId(1)));
        assert_eq!(
            rules.check("deep.x.example.com"),
            Verdict::Allowed(ListId(1))
        );
        assert_eq!(rules.check("example.com"), Verdict::Allowed(ListId(1)));
        assert_eq!(rules.check("ads.example"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("bad.example.org"), Verdict::Blocked(ListId(0)));
        assert_eq!(
            rules.check("a.good.example.org"),
            Verdict::Allowed(ListId(1))
        );
        assert_eq!(rules.check("other.example"), Verdict::Unlisted);
        assert_eq!((rules.blocked_len(), rules.allowed_len()), (3, 2));
    }

    #[test]
    fn a_lists_own_exception_lets_its_own_block_go() {
        let mut builder = RuleSetBuilder::new();
        let report = builder.add_list(
            "adblock",
            ListKind::Block,
            b"[Adblock Plus 2.0]\n! Title: t\n||example.com^\n@@||ok.example.com^\n@@||ok.example.com^\n",
        );
        assert_eq!((report.entries, report.allow_entries), (1, 1));
        let rules = builder.build();
        // Taken off this list, and no other list holds it: unlisted, not
        // "allowed", so it overrides nothing (address lists still apply).
        assert_eq!(rules.check("ok.example.com"), Verdict::Unlisted);
        assert_eq!(rules.check("a.OK.example.com."), Verdict::Unlisted);
        assert_eq!(rules.check("no.example.com"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("example.com"), Verdict::Blocked(ListId(0)));
        assert_eq!(
            rules.check("notok.example.com"),
            Verdict::Blocked(ListId(0))
        );
        assert_eq!(
            (
                rules.blocked_len(),
                rules.allowed_len(),
                rules.exceptions_len()
            ),
            (1, 0, 1)
        );
        // A broader exception covers narrower blocks of the same list.
        let mut builder = RuleSetBuilder::new();
        builder.add_list(
            "broad",
            ListKind::Block,
            b"||ads.example.net^\n@@||example.net^\n||other.example^\n",
        );
        let rules = builder.build();
        assert_eq!(rules.check("x.ads.example.net"), Verdict::Unlisted);
        assert_eq!(rules.check("other.example"), Verdict::Blocked(ListId(0)));
    }

    #[test]
    fn an_exception_never_unblocks_the_vendor_list_or_another_list() {
        let mut builder = RuleSetBuilder::new();
        builder.add_default_list();
        builder.add_list(
            "hostile",
            ListKind::Block,
            b"||x.example^\n@@||tracking.miui.com^\n@@||other.example^\n@@||miui.com^\n",
        );
        builder.add_list("other", ListKind::Block, b"other.example\n");
        let rules = builder.build();
        for name in ["tracking.miui.com", "a.tracking.miui.com"] {
            assert_eq!(rules.check(name), Verdict::Blocked(ListId(0)), "{name}");
        }
        assert_eq!(rules.list_name(ListId(0)), DEFAULT_LIST_NAME);
        for name in ["other.example", "sub.other.example"] {
            assert_eq!(rules.check(name), Verdict::Blocked(ListId(2)), "{name}");
        }
        assert_eq!(rules.check("x.example"), Verdict::Blocked(ListId(1)));
    }

    #[test]
    fn a_list_loaded_after_an_excepting_one_still_blocks_the_same_name() {
        let mut builder = RuleSetBuilder::new();
        builder.add_list(
            "first",
            ListKind::Block,
            b"||shared.example^\n@@||ok.shared.example^\n||example.net^\n@@||a.example.net^\n",
        );
        builder.add_list(
            "second",
            ListKind::Block,
            b"shared.example\nb.a.example.net\n",
        );
        builder.add_list("third", ListKind::Block, b"shared.example\n");
        let rules = builder.build();
        // Same name in both: the first names it, unless it excepts the query;
        // then the next list holding it does.
        assert_eq!(rules.check("x.shared.example"), Verdict::Blocked(ListId(0)));
        assert_eq!(
            rules.check("ok.shared.example"),
            Verdict::Blocked(ListId(1))
        );
        assert_eq!(
            rules.check("y.ok.shared.example"),
            Verdict::Blocked(ListId(1))
        );
        // A longer suffix on another list blocks what the broader one excepts.
        assert_eq!(
            rules.check("c.b.a.example.net"),
            Verdict::Blocked(ListId(1))
        );
        assert_eq!(rules.check("z.a.example.net"), Verdict::Unlisted);
        assert_eq!(rules.check("q.example.net"), Verdict::Blocked(ListId(0)));
        // Distinct names, not table entries: `shared.example` counts once.
        assert_eq!(rules.blocked_len(), 3);
    }

    #[test]
    fn an_owner_allowlist_overrides_every_list() {
        let mut builder = RuleSetBuilder::new();
        builder.add_default_list();
        builder.add_list("sub", ListKind::Block, b"||x.example^\n@@||y.x.example^\n");
        let report = builder.add_list(
            "mine",
            ListKind::Allow,
            b"tracking.miui.com\nx.example\n@@||also.example^\n",
        );
        assert_eq!((report.entries, report.allow_entries), (2, 1));
        builder.add_list("later", ListKind::Block, b"also.example\n");
        let rules = builder.build();
        for name in [
            "tracking.miui.com",
            "x.example",
            "y.x.example",
            "z.also.example",
        ] {
            assert_eq!(rules.check(name), Verdict::Allowed(ListId(2)), "{name}");
        }
        assert_eq!(
            rules.check("tracking.intl.miui.com"),
            Verdict::Blocked(ListId(0))
        );
        assert_eq!(rules.allowed_len(), 3);
    }

    /// Two names of the form `n{i}.{zone}` whose `key` is equal, neither
    /// colliding with the bare `zone` (which every probe also tries).
    fn colliding(zone: &str, key: impl Fn(&str) -> u64) -> (String, String) {
        let zone_key = key(zone);
        let mut seen = std::collections::HashMap::new();
        for i in 0..1_000_000 {
            let name = format!("n{i}.{zone}");
            let k = key(&name);
            if k == zone_key {
                continue;
            }
            if let Some(first) = seen.insert(k, name.clone()) {
                return (first, name);
            }
        }
        panic!("no collision among a million names: is the key really short?");
    }

    #[test]
    fn a_forced_collision_never_allows_or_excepts_but_can_block() {
        table::with_short_keys(16, || {
            let (listed, lookalike) = colliding("example", |n| key_of(name_hash(n)));
            assert_ne!(listed, lookalike);
            // The block table is hash-only: under a 16-bit key, the collision
            // is real (at 48 bits, see the crate docs for the odds).
            let mut builder = RuleSetBuilder::new();
            builder.add_list("block", ListKind::Block, listed.as_bytes());
            assert_eq!(
                builder.build().check(&lookalike),
                Verdict::Blocked(ListId(0))
            );
            // An allowlist confirms the name: the lookalike stays blocked.
            let mut builder = RuleSetBuilder::new();
            builder.add_list("block", ListKind::Block, b"example\n");
            builder.add_list("mine", ListKind::Allow, listed.as_bytes());
            let rules = builder.build();
            assert_eq!(rules.check(&lookalike), Verdict::Blocked(ListId(0)));
            assert_eq!(rules.check(&listed), Verdict::Allowed(ListId(1)));
            // So does a list's own exception.
            let (excepted, lookalike) =
                colliding("example", |n| key_of(pair_hash(name_hash(n), 0)));
            let text = format!("||example^\n@@||{excepted}^\n");
            let mut builder = RuleSetBuilder::new();
            builder.add_list("block", ListKind::Block, text.as_bytes());
            let rules = builder.build();
            assert_eq!(rules.check(&lookalike), Verdict::Blocked(ListId(0)));
            assert_eq!(rules.check(&excepted), Verdict::Unlisted);
            // Two allowed names under one key both stay allowed, each itself.
            let (a, b) = colliding("example", |n| key_of(name_hash(n)));
            let mut builder = RuleSetBuilder::new();
            builder.add_list("block", ListKind::Block, b"example\n");
            let report =
                builder.add_list("mine", ListKind::Allow, format!("{a}\n{b}\n").as_bytes());
            assert_eq!((report.entries, report.duplicates), (2, 0));
            let rules = builder.build();
            assert_eq!(rules.check(&a), Verdict::Allowed(ListId(1)));
            assert_eq!(rules.check(&b), Verdict::Allowed(ListId(1)));
            assert_eq!(rules.check("n-other.example"), Verdict::Blocked(ListId(0)));
        });
    }

    #[test]
    fn the_first_list_loaded_is_named() {
        let mut builder = RuleSetBuilder::new();
        builder.add_list("first", ListKind::Block, b"t.example\n");
        builder.add_list("second", ListKind::Block, b"t.example\nu.example\n");
        let rules = builder.build();
        assert_eq!(rules.check("t.example"), Verdict::Blocked(ListId(0)));
        assert_eq!(rules.check("u.example"), Verdict::Blocked(ListId(1)));
        assert_eq!(rules.list_name(ListId(1)), "second");
        assert_eq!(rules.blocked_len(), 2);
    }

    #[test]
    fn the_broadest_match_is_named_when_lists_hold_different_suffixes() {
        let mut builder = RuleSetBuilder::new();
        builder.add_list("narrow", ListKind::Block, b"x.example.com\n");
        builder.add_list("broad", ListKind::Block, b"example.com\n");
        builder.add_list("allow", ListKind::Allow, b"ok.example.org\n");
        let rules = builder.build();
        assert_eq!(rules.check("a.x.example.com"), Verdict::Blocked(ListId(1)));
        assert_eq!(rules.check("y.example.com"), Verdict::Blocked(ListId(1)));
    }

    #[test]
    fn an_empty_rule_set_lists_nothing() {
        let rules = RuleSet::empty();
        assert_eq!(rules.check("example.com"), Verdict::Unlisted);
        assert_eq!((rules.blocked_len(), rules.allowed_len()), (0, 0));
        let rules = RuleSetBuilder::new().build();
        assert_eq!(rules.check("example.com"), Verdict::Unlisted);
    }

    #[test]
    fn mixed_formats_load_from_one_file() {
        let text = "\u{feff}# mixed\r\n\
            0.0.0.0 hosts.example # inline\r\n\
            plain.example\r\n\
            ||adblock.example^\r\n\
            *.wildcard.example\r\n\
            address=/dnsmasq.example/0.0.0.0\r\n\
            server=/server.example/\r\n\
            \t  spaced.example  \r\n";
        let mut builder = RuleSetBuilder::new();
        let report = builder.add_list("mixed", ListKind::Block, text.as_bytes());
        assert_eq!(report.lines, 8);
        assert_eq!(report.entries, 7, "{report}");
        assert_eq!(report.rejected_count, 0, "{report}");
        let rules = builder.build();
        for name in [
            "hosts", "plain", "adblock", "wildcard", "dnsmasq", "server", "spaced",
        ] {
            let name = format!("sub.{name}.example");
            assert_eq!(rules.check(&name), Verdict::Blocked(ListId(0)), "{name}");
        }
    }

    #[test]
    fn line_counts_do_not_invent_a_last_line() {
        assert_eq!(report(b"").lines, 0);
        assert_eq!(report(b"\n").lines, 1);
        assert_eq!(report(b"a.example").lines, 1);
        assert_eq!(report(b"a.example\n").lines, 1);
        assert_eq!(report(b"a.example\r\nb.example\r\n").lines, 2);
    }

    #[test]
    fn the_report_counts_duplicates_rejects_and_line_numbers() {
        let text = b"# header\na.example\nA.example.\n\xff\xfe\n127.0.0.1 localhost\nb.example\n198.18.0.1\n0.0.0.0 c.example a.example\n";
        let report = report(text);
        assert_eq!(report.lines, 8);
        assert_eq!(report.entries, 3);
        assert_eq!(report.duplicates, 2);
        assert_eq!(report.ignored, 1);
        assert_eq!(report.rejected_count, 2);
        let lines: Vec<(usize, RejectReason, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason, r.excerpt.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (4, RejectReason::NotUtf8, "\u{fffd}\u{fffd}"),
                (7, RejectReason::AddressNotName, "198.18.0.1")
            ]
        );
        let printed = report.to_string();
        assert!(printed.contains("line 7"), "{printed}");
        assert!(printed.contains("rejected lines   2"), "{printed}");
    }

    #[test]
    fn a_rejected_hosts_line_adds_none_of_its_names() {
        let mut builder = RuleSetBuilder::new();
        let report = builder.add_list(
            "hosts",
            ListKind::Block,
            b"0.0.0.0 good.example bad..example\n",
        );
        assert_eq!((report.entries, report.rejected_count), (0, 1));
        assert_eq!(builder.build().check("good.example"), Verdict::Unlisted);
    }

    #[test]
    fn only_the_first_thousand_rejects_are_detailed_but_all_are_counted() {
        let text = "bad..example\n".repeat(2500);
        let report = report(text.as_bytes());
        assert_eq!(report.rejected_count, 2500);
        assert_eq!(report.rejected.len(), MAX_REJECTED_DETAILS);
        assert_eq!(report.rejected[999].line, 1000);
        let long = format!("{}..example", "x".repeat(200));
        assert_eq!(report_excerpt_len(&long), EXCERPT_CHARS);
        assert!(report.to_string().contains("... and 2480 more"));
    }

    fn report_excerpt_len(line: &str) -> usize {
        report(line.as_bytes()).rejected[0].excerpt.chars().count()
    }

    #[test]
    fn binary_garbage_is_rejected_by_line_never_panics() {
        let mut text = b"a.example\n".to_vec();
        text.extend_from_slice(
            b"\x00\x01\x02\xff\xfe\n\x7fELF\x02\x01\x01\x00\x00\n\xc3\x28\nb.example\n",
        );
        let mut builder = RuleSetBuilder::new();
        let report = builder.add_list("garbage", ListKind::Block, &text);
        assert_eq!(report.entries, 2, "{report}");
        let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        let rules = builder.build();
        assert_eq!(rules.check("b.example"), Verdict::Blocked(ListId(0)));
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
            // Some printable stretches too, so the text paths get exercised.
            if state & 0b111 == 0 {
                junk.extend_from_slice(b"\n0.0.0.0 x.example\n||y^$z\n##.\naddress=/\n\xc3\n");
            }
        }
        let started = std::time::Instant::now();
        let report = report(&junk);
        // Generous: debug builds are slow; release is in BENCH_NOTES.md.
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        assert!(report.lines > 100_000, "{}", report.lines);
        assert!(report.rejected_count > 0);
        assert!(report.rejected.len() <= MAX_REJECTED_DETAILS);
        assert!(report
            .rejected
            .iter()
            .all(|r| r.excerpt.chars().count() <= EXCERPT_CHARS));
        assert!(report.entries + report.rejected_count <= report.lines);
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize_domain("Bücher.Example.").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        assert_eq!(
            normalize_domain("_dmarc.Example").as_deref(),
            Ok("_dmarc.example")
        );
        assert_eq!(normalize_domain("com").as_deref(), Ok("com"));
        assert_eq!(
            normalize_domain("1password.com").as_deref(),
            Ok("1password.com")
        );
        let longest = format!("{}.{}", "a".repeat(63), vec!["b".repeat(63); 3].join("."));
        assert_eq!(longest.len(), 255);
        assert_eq!(normalize_domain(&longest), Err(RejectReason::NameTooLong));
        assert_eq!(normalize_domain(&longest[2..]).map(|n| n.len()), Ok(253));
        assert_eq!(
            normalize_domain(&"a".repeat(64)),
            Err(RejectReason::NameTooLong)
        );
        assert_eq!(normalize_domain(""), Err(RejectReason::InvalidName));
        assert_eq!(normalize_domain("."), Err(RejectReason::InvalidName));
        assert_eq!(normalize_domain("a b"), Err(RejectReason::InvalidName));
        assert_eq!(
            normalize_domain("a.example.."),
            Err(RejectReason::InvalidName)
        );
        assert_eq!(
            normalize_domain("198.18.0.1"),
            Err(RejectReason::AddressNotName)
        );
        assert_eq!(
            normalize_domain("2001:DB8::1"),
            Err(RejectReason::AddressNotName)
        );
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
        assert_eq!(report.name, DEFAULT_LIST_NAME);
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
        assert!(report.entries >= 5, "{report}");
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
        assert_eq!(rules.list_name(ListId(0)), "hush-default");
        assert_eq!(rules.check("f-droid.org"), Verdict::Unlisted);
    }

    #[test]
    fn the_encrypted_dns_list_is_hagezis_whole_and_names_itself() {
        // HaGeZi's part, below Hush's header, is the upstream file byte for
        // byte: its stated count, and the length of the stored copy.
        let (_, upstream) = ENCRYPTED_DNS_LIST
            .split_once("# ---")
            .and_then(|(head, rest)| Some((head, rest.split_once('\n')?.1)))
            .expect("Hush's header ends at a dashed line");
        assert_eq!(upstream.len(), 22_434);
        assert!(upstream.contains("# Number of entries: 1216\n"));
        let mut builder = RuleSetBuilder::new();
        let vendor = builder.add_default_list();
        let report = builder.add_encrypted_dns_list();
        assert_eq!(report.name, ENCRYPTED_DNS_LIST_NAME);
        assert_eq!(report.entries, 1216, "{report}");
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
        let rules = builder.build();
        assert_eq!(rules.blocked_len(), vendor.entries + 1216);
        let mut vendor_only = RuleSetBuilder::new();
        vendor_only.add_default_list();
        let (both, alone) = (rules.heap_bytes(), vendor_only.build().heap_bytes());
        eprintln!("match tables: vendor list {alone} B, with the encrypted-DNS list {both} B");
        assert!(both - alone < 40 * 1024, "{both} - {alone}");
        let doh = Verdict::Blocked(ListId(1));
        for name in [
            "dns.google",
            "cloudflare-dns.com",
            "mozilla.cloudflare-dns.com",
            "dns.quad9.net",
            "dns.adguard-dns.com",
            "doh.opendns.com",
            "dns.nextdns.io",
            "abc123.dns.nextdns.io",
            "httpdns-sc.aliyuncs.com",
            "httpdns-push.heytapmobile.com",
        ] {
            assert_eq!(rules.check(name), doh, "{name}");
        }
        assert_eq!(rules.list_name(ListId(1)), "hush-doh");
        // The vendor list keeps its own name, and ordinary sites are unlisted.
        assert_eq!(
            rules.check("tracking.miui.com"),
            Verdict::Blocked(ListId(0))
        );
        for name in [
            "www.google.com",
            "google.com",
            "cloudflare.com",
            "quad9.net",
        ] {
            assert_eq!(rules.check(name), Verdict::Unlisted, "{name}");
        }
        // Without the call, the list is not in force.
        let mut builder = RuleSetBuilder::new();
        builder.add_default_list();
        assert_eq!(builder.build().check("dns.google"), Verdict::Unlisted);
    }

    #[test]
    fn adaways_list_is_the_upstream_file_whole_and_names_itself() {
        // Below Hush's header, AdAway's file byte for byte (its length in
        // shared/testdata), AdAway's own licence header included.
        let (_, upstream) = ADAWAY_LIST
            .split_once("# ---")
            .and_then(|(head, rest)| Some((head, rest.split_once('\n')?.1)))
            .expect("Hush's header ends at a dashed line");
        assert_eq!(upstream.len(), 243_454);
        assert!(upstream.starts_with("# AdAway default blocklist\n"));
        assert!(upstream
            .contains("# CC Attribution 3.0 (http://creativecommons.org/licenses/by/3.0/)\n"));
        let mut builder = RuleSetBuilder::new();
        let vendor = builder.add_default_list();
        let report = builder.add_adaway_list();
        assert_eq!(report.name, ADAWAY_LIST_NAME);
        // 6,541 hosts lines, one of them `127.0.0.1 localhost`, and `::1
        // localhost`: the two local names are skipped, nothing rejected.
        assert_eq!(report.entries, 6_540, "{report}");
        assert_eq!(report.ignored, 2, "{report}");
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
        let rules = builder.build();
        assert_eq!(rules.list_name(ListId(1)), "hush-adaway");
        for name in [
            "googleads.g.doubleclick.net",
            "analytics.163.com",
            "deeper.sync.1rx.io",
        ] {
            assert_eq!(rules.check(name), Verdict::Blocked(ListId(1)), "{name}");
        }
        // A vendor name AdAway also holds is named by the vendor list,
        // loaded first.
        assert_eq!(
            rules.check("sa.api.intl.miui.com"),
            Verdict::Blocked(ListId(0))
        );
        assert!(vendor.entries > 1000);
        let mut vendor_only = RuleSetBuilder::new();
        vendor_only.add_default_list();
        let (both, alone) = (rules.heap_bytes(), vendor_only.build().heap_bytes());
        eprintln!("match tables: vendor list {alone} B, with AdAway's {both} B");
        assert!(both - alone < 6_540 * 16, "{both} - {alone}");
        for name in ["f-droid.org", "www.wikipedia.org", "localhost"] {
            assert_eq!(rules.check(name), Verdict::Unlisted, "{name}");
        }
    }

    #[test]
    fn the_catalogue_counts_each_list_with_the_parser_and_each_loads_clean() {
        let names: Vec<_> = BUILTIN_LISTS.iter().map(|l| l.name).collect();
        assert_eq!(names, ["hush-default", "hush-adaway", "hush-doh"]);
        for list in &BUILTIN_LISTS {
            let report = list.report();
            assert_eq!(report.name, list.name);
            assert_eq!(report.rejected_count, 0, "{report}");
            assert_eq!(report.duplicates, 0, "{report}");
            assert!(report.entries > 0, "{report}");
            assert!(!list.title.is_empty() && !list.licence.is_empty() && !list.source.is_empty());
            assert_eq!(builtin_list(list.name), Some(list));
        }
        // The counts are the parser's: the same as loading each the usual way.
        let mut builder = RuleSetBuilder::new();
        assert_eq!(builder.add_default_list(), BUILTIN_LISTS[0].report());
        assert_eq!(builder.add_adaway_list().entries, 6_540);
        assert_eq!(builder.add_encrypted_dns_list().entries, 1_216);
        assert_eq!(BUILTIN_LISTS[1].report().entries, 6_540);
        assert_eq!(BUILTIN_LISTS[2].report().entries, 1_216);
        assert!(BUILTIN_LISTS[1].licence.contains("CC-BY-3.0"));
        assert!(BUILTIN_LISTS[2].licence.contains("GPL-3.0"));
        assert_eq!(builtin_list("nope"), None);
    }
}
