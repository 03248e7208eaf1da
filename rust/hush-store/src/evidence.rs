//! What the evidence report (`hush report`, issue 16) says about one app:
//! every host it contacted with its counts, reasons and times, a per-day
//! timeline, the app as the platform described it, the lists, the periods
//! Hush was not filtering, what it tried while the screen was off, and a
//! SHA-256 of the events summarised.
//!
//! Read from the raw events (not the rollups), so the report holds exactly
//! what is stored: a row that stands for repeated attempts
//! ([`crate::REPEAT_WINDOW`]) counts as its `repeats`.
//!
//! The hash is over a canonical form of the events that does not depend on
//! the order rows were written in, so two copies of the same events give the
//! same digest ([`CANONICAL_FORM`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::gaps::{self, Gap};
use crate::rules::{self, ListSource};
use crate::StoreError;

/// How the events are put into the SHA-256, as the report states it.
pub const CANONICAL_FORM: &str = "\
Every stored event of the UID, one line each, UTF-8, in ascending order of \
(time_ms, host, ip, port, protocol, detail, action, reason, repeats, last_ms, \
screen_off), text compared byte by byte. A line is: time_ms TAB last_ms TAB uid TAB \
host TAB ip TAB port TAB protocol TAB detail TAB action TAB reason TAB repeats TAB \
screen_off LF. Numbers are decimal; in text fields a backslash is written \\\\, a TAB \
\\t, a LF \\n and a CR \\r. time_ms is the first attempt in Unix milliseconds (UTC), \
last_ms the last (equal to time_ms for one attempt), repeats the attempts the row \
stands for, screen_off 1 when the screen was off at each of them and 0 otherwise \
(and for events stored before the screen was recorded).";

/// One host the app contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEvidence {
    pub host: String,
    pub protocols: BTreeSet<String>,
    pub first_ms: i64,
    pub last_ms: i64,
    pub allowed: u64,
    pub blocked: u64,
    pub failed: u64,
    /// Attempts by reason code (`list:NAME`, `app:block-all`, `unlisted`...).
    pub reasons: BTreeMap<String, u64>,
    /// Of these attempts, those made with the screen off.
    pub screen_off: ScreenOffCounts,
}

impl HostEvidence {
    pub fn attempts(&self) -> u64 {
        self.allowed + self.blocked + self.failed
    }
}

/// Attempts made with the screen off, by what Hush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScreenOffCounts {
    pub allowed: u64,
    pub blocked: u64,
    pub failed: u64,
}

impl ScreenOffCounts {
    pub fn attempts(&self) -> u64 {
        self.allowed + self.blocked + self.failed
    }
}

/// One UTC day of the timeline; days without attempts are not listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayEvidence {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub allowed: u64,
    pub blocked: u64,
    pub failed: u64,
}

/// The app as the platform described it (`apps` and `app_packages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDescription {
    pub label: String,
    pub is_system: bool,
    pub packages: Vec<String>,
}

/// Everything the report shows about one UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub uid: u32,
    /// `None` when the platform never described this UID.
    pub app: Option<AppDescription>,
    /// Stored rows summarised.
    pub rows: u64,
    /// Attempts: rows counted with their repeats.
    pub attempts: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// By host, bytewise.
    pub hosts: Vec<HostEvidence>,
    /// Attempts made with the screen off, all hosts together (each host's
    /// are in [`HostEvidence::screen_off`]).
    pub screen_off: ScreenOffCounts,
    /// Since when the screen's state is recorded (Unix milliseconds): an
    /// event stored before counts as made with the screen on, which is
    /// not known. `None` if the database does not say.
    pub screen_known_since_ms: Option<i64>,
    /// Oldest first.
    pub days: Vec<DayEvidence>,
    /// SHA-256 of [`CANONICAL_FORM`], lowercase hex.
    pub sha256: String,
    pub lists: Vec<ListSource>,
    /// Periods Hush was not filtering that overlap the period, oldest first.
    pub gaps: Vec<Gap>,
    /// Events the writers could not store, over the database's life.
    pub dropped_events: u64,
    /// The schema version of the database read.
    pub schema_version: i64,
}

/// The evidence about `uid`, or `None` when it has no stored events.
pub fn evidence(connection: &Connection, uid: u32) -> Result<Option<Evidence>, StoreError> {
    // One snapshot: the writer may be adding events while this reads.
    let transaction = connection.unchecked_transaction()?;
    let mut statement = transaction.prepare(
        "SELECT time_ms, coalesce(last_ms, time_ms), host, ip, port, protocol, detail,
                action, reason, repeats, screen_off
         FROM events WHERE uid = ?1
         ORDER BY time_ms, host, ip, port, protocol, detail, action, reason, repeats,
                  coalesce(last_ms, time_ms), screen_off",
    )?;
    let mut rows = statement.query(params![uid])?;
    let mut hasher = Sha256::new();
    let mut line = String::new();
    let mut hosts: HashMap<String, HostEvidence> = HashMap::new();
    let mut days: BTreeMap<i64, DayEvidence> = BTreeMap::new();
    let mut time = String::new();
    let (mut count, mut attempts) = (0u64, 0u64);
    let (mut first_ms, mut last_ms) = (i64::MAX, i64::MIN);
    let mut screen_off_total = ScreenOffCounts::default();
    while let Some(row) = rows.next()? {
        let time_ms: i64 = row.get(0)?;
        let row_last_ms: i64 = row.get(1)?;
        let text = |index| -> rusqlite::Result<&str> { Ok(row.get_ref(index)?.as_str()?) };
        let (host, ip) = (text(2)?, text(3)?);
        let port: i64 = row.get(4)?;
        let (protocol, detail, action, reason) = (text(5)?, text(6)?, text(7)?, text(8)?);
        let repeats = row.get::<_, i64>(9)?.max(1) as u64;
        let screen_off: bool = row.get(10)?;

        line.clear();
        let _ = write!(line, "{time_ms}\t{row_last_ms}\t{uid}\t");
        for field in [host, ip] {
            push_escaped(&mut line, field);
            line.push('\t');
        }
        let _ = write!(line, "{port}\t");
        for field in [protocol, detail, action, reason] {
            push_escaped(&mut line, field);
            line.push('\t');
        }
        let _ = writeln!(line, "{repeats}\t{}", u8::from(screen_off));
        hasher.update(line.as_bytes());

        count += 1;
        attempts += repeats;
        first_ms = first_ms.min(time_ms);
        last_ms = last_ms.max(row_last_ms);
        // Looked up by &str first: a host's name is copied once, not per row.
        if !hosts.contains_key(host) {
            hosts.insert(
                host.to_string(),
                HostEvidence {
                    host: host.to_string(),
                    protocols: BTreeSet::new(),
                    first_ms: time_ms,
                    last_ms: row_last_ms,
                    allowed: 0,
                    blocked: 0,
                    failed: 0,
                    reasons: BTreeMap::new(),
                    screen_off: ScreenOffCounts::default(),
                },
            );
        }
        let entry = hosts.get_mut(host).expect("inserted above");
        if !entry.protocols.contains(protocol) {
            entry.protocols.insert(protocol.to_string());
        }
        entry.first_ms = entry.first_ms.min(time_ms);
        entry.last_ms = entry.last_ms.max(row_last_ms);
        match entry.reasons.get_mut(reason) {
            Some(n) => *n += repeats,
            None => {
                entry.reasons.insert(reason.to_string(), repeats);
            }
        }
        // A repeated row stays within one hour (the writer folds no further),
        // so it belongs to the day of its first attempt.
        let day_number = time_ms.div_euclid(86_400_000);
        let day = days.entry(day_number).or_insert_with(|| {
            crate::query::format_rfc3339_ms(time_ms, &mut time);
            DayEvidence {
                day: time[..10].to_string(),
                allowed: 0,
                blocked: 0,
                failed: 0,
            }
        });
        // The store writes three actions; anything else is counted as
        // failed rather than dropped, so the totals stay whole.
        match action {
            "allowed" => {
                entry.allowed += repeats;
                day.allowed += repeats;
            }
            "blocked" => {
                entry.blocked += repeats;
                day.blocked += repeats;
            }
            _ => {
                entry.failed += repeats;
                day.failed += repeats;
            }
        }
        if screen_off {
            for counts in [&mut entry.screen_off, &mut screen_off_total] {
                match action {
                    "allowed" => counts.allowed += repeats,
                    "blocked" => counts.blocked += repeats,
                    _ => counts.failed += repeats,
                }
            }
        }
    }
    drop(rows);
    drop(statement);
    if count == 0 {
        return Ok(None);
    }
    let digest = hasher.finalize();
    let mut sha256 = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(sha256, "{byte:02x}");
    }
    let mut hosts: Vec<HostEvidence> = hosts.into_values().collect();
    hosts.sort_unstable_by(|a, b| a.host.as_bytes().cmp(b.host.as_bytes()));
    let mut gaps: Vec<Gap> = gaps::list(&transaction, Some(first_ms), u32::MAX)?
        .into_iter()
        .filter(|gap| gap.start_ms <= last_ms)
        .collect();
    gaps.reverse();
    let evidence = Evidence {
        uid,
        app: app_description(&transaction, uid)?,
        rows: count,
        attempts,
        first_ms,
        last_ms,
        hosts,
        screen_off: screen_off_total,
        screen_known_since_ms: crate::screen_known_since_ms(&transaction)?,
        days: days.into_values().collect(),
        sha256,
        lists: rules::list_sources(&transaction)?,
        gaps,
        dropped_events: crate::dropped_events(&transaction)?,
        schema_version: transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?,
    };
    transaction.finish()?;
    Ok(Some(evidence))
}

/// The app `uid` as the platform described it, if it did.
pub fn app_description(
    connection: &Connection,
    uid: u32,
) -> Result<Option<AppDescription>, StoreError> {
    let app = connection
        .query_row(
            "SELECT label, is_system FROM apps WHERE uid = ?1",
            params![uid],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?)),
        )
        .optional()?;
    let packages = rules::app_packages_of(connection, uid)?;
    Ok(match app {
        Some((label, is_system)) => Some(AppDescription {
            label,
            is_system,
            packages,
        }),
        None if !packages.is_empty() => Some(AppDescription {
            label: String::new(),
            is_system: false,
            packages,
        }),
        None => None,
    })
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_fields_cannot_run_into_each_other() {
        let mut a = String::new();
        push_escaped(&mut a, "x\ty");
        let mut b = String::new();
        push_escaped(&mut b, "x\\ty");
        assert_ne!(a, b);
        assert_eq!(a, "x\\ty");
        assert_eq!(b, "x\\\\ty");
        let mut c = String::new();
        push_escaped(&mut c, "a\nb\rc");
        assert_eq!(c, "a\\nb\\rc");
    }
}
