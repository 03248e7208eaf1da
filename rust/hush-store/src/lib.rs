//! The activity log and the user's rules: one SQLite database that owns its
//! schema, and a writer that takes events off the packet path.
//!
//! Contents: raw events and their per-hour aggregates per (app, host,
//! action, reason), written in the same transaction, with per-day and
//! per-app rollups of them ([`query`]) and a per-app count of the attempts
//! made with the screen off ([`query::screen_off_apps`]); apps with their
//! packages; per-app modes and domain rules, each remembering the package of
//! the app it was made for, so that a UID's next owner does not inherit them
//! ([`rules`]); list sources; settings; the periods when Hush was not
//! filtering ([`gaps`]); counters (events dropped, the running
//! writer's counts and heartbeat). [`evidence`] summarises one app's events
//! for the evidence report, with a digest of them.
//!
//! Layer: beside the engine, which sees it only as an
//! [`EventSink`](hush_engine::EventSink). The schema is versioned with
//! `PRAGMA user_version` and upgraded in one IMMEDIATE transaction, so
//! processes opening one file at once do not race; a file whose version
//! this Hush did not write (newer, or negative) is refused before anything
//! is written to it. The file is created owner-only (0600)
//! and run in WAL mode. A file that is not a usable Hush database is kept
//! aside and replaced ([`recover`]).
//!
//! Invariants: [`EventWriter`]'s `record` never blocks. The writer starts
//! whatever the state of the database and never gives up on it: what it
//! cannot write yet it holds (bounded) and writes once it can. Every event
//! is written or counted as dropped, and the count is stored, cumulative over
//! runs, with the events a killed run left queued (as far as its last commit
//! tells: a lower bound), so nothing is lost silently. Every period without
//! filtering is a gap, a killed run's too (found at the next start).
//!
//! Never: log the names or addresses it stores above debug level.

#![forbid(unsafe_code)]

pub mod evidence;
pub mod gaps;
pub mod query;
pub mod recover;
pub mod rules;
pub mod visible;
mod writer;

pub use writer::{EventWriter, WriterStatus, REPEAT_WINDOW};

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use rusqlite::Connection;
use rusqlite::{params, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to create the database file {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database has schema version {found}, newer than this Hush knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("the database has schema version {found}, which no Hush writes")]
    UnknownVersion { found: i64 },
    #[error("failed to start the log writer: {0}")]
    Thread(std::io::Error),
    #[error("failed to write the activity log: {events} events were lost (counted as dropped): {source}")]
    Lost {
        events: u64,
        #[source]
        source: Box<StoreError>,
    },
    /// A rule the store refuses (a mode, a network or a domain that is not
    /// valid); the message says why.
    #[error("{0}")]
    InvalidRule(String),
    /// A query or a change asked with an argument out of bounds (a page
    /// too long, an empty package name); the message says which.
    #[error("{0}")]
    InvalidArgument(String),
    #[error(
        "cannot open the database {path}: {source} (the file and its directory must be \
         writable: SQLite keeps {path}-wal and {path}-shm beside it)"
    )]
    CannotOpen {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the database {path} cannot be written: {source} (the file and its directory must \
         be writable: SQLite keeps {path}-wal and {path}-shm beside it)"
    )]
    ReadOnly {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the disk holding the database {path} is full: {source}")]
    DiskFull {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the database {path} is not usable ({reason}) and could not be replaced: {source}")]
    NotRecovered {
        path: String,
        reason: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Each entry upgrades the schema by one version, in order.
const MIGRATIONS: &[&str] = &[
    // 1: the raw activity log and the counters kept beside it.
    "CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        uid INTEGER,
        host TEXT NOT NULL,
        ip TEXT NOT NULL,
        port INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        detail TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX events_time ON events(time_ms);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    // 2: per-hour aggregates (filled from the events already stored), apps,
    // per-app and domain rules, list sources and settings (Core III).
    "CREATE TABLE hourly (
        hour INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        host TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        PRIMARY KEY (hour, uid, host, action, reason)
    ) WITHOUT ROWID;
    INSERT INTO hourly (hour, uid, host, action, reason, count, first_ms, last_ms)
        SELECT time_ms / 3600000, ifnull(uid, -1), host, action, reason,
               count(*), min(time_ms), max(time_ms)
        FROM events GROUP BY 1, 2, 3, 4, 5;
    CREATE INDEX events_uid_time ON events(uid, time_ms);
    CREATE TABLE apps (
        uid INTEGER PRIMARY KEY,
        label TEXT NOT NULL DEFAULT '',
        is_system INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1))
    );
    CREATE TABLE app_packages (
        uid INTEGER NOT NULL,
        package TEXT NOT NULL,
        PRIMARY KEY (uid, package)
    ) WITHOUT ROWID;
    CREATE TABLE app_rules (
        uid INTEGER NOT NULL,
        network TEXT NOT NULL CHECK (network IN ('any', 'wifi', 'mobile')),
        mode TEXT NOT NULL CHECK (mode IN ('block-trackers', 'block-all', 'allow-all')),
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (uid, network)
    ) WITHOUT ROWID;
    CREATE TABLE domain_rules (
        id INTEGER PRIMARY KEY,
        uid INTEGER,
        domain TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('allow', 'block')),
        created_ms INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX domain_rules_scope ON domain_rules(ifnull(uid, -1), domain);
    CREATE TABLE list_sources (
        name TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
        entries INTEGER NOT NULL DEFAULT 0,
        updated_ms INTEGER
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 3: coarser rollups beside `hourly`, so the UI's range queries read
    // thousands of rows where `hourly` holds millions: per app and action
    // each hour, and per app, host and action each (UTC) day.
    "CREATE TABLE app_hourly (
        hour INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        action TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        PRIMARY KEY (hour, uid, action)
    ) WITHOUT ROWID;
    INSERT INTO app_hourly (hour, uid, action, count, first_ms, last_ms)
        SELECT hour, uid, action, sum(count), min(first_ms), max(last_ms)
        FROM hourly GROUP BY 1, 2, 3;
    CREATE TABLE host_daily (
        day INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        host TEXT NOT NULL,
        action TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, uid, host, action)
    ) WITHOUT ROWID;
    INSERT INTO host_daily (day, uid, host, action, count)
        SELECT hour / 24, uid, host, action, sum(count) FROM hourly GROUP BY 1, 2, 3, 4;
    -- Every host ever seen with how many events it has had, for searching
    -- by part of a name: the matches are found among thousands of hosts.
    -- The events of rare hosts (the first RARE_HOST_EVENTS of each) are
    -- indexed by host, since a scan in time order would pass millions of
    -- rows to find them; common hosts are found soon enough by that scan,
    -- and indexing them would cost every write a page per busy host.
    CREATE TABLE hosts (host TEXT PRIMARY KEY, events INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO hosts (host, events) SELECT host, sum(count) FROM hourly GROUP BY host;
    INSERT OR IGNORE INTO hosts (host, events) SELECT host, count(*) FROM events GROUP BY host;
    ALTER TABLE events ADD COLUMN rare INTEGER NOT NULL DEFAULT 0;
    UPDATE events SET rare = 1
        WHERE host IN (SELECT host FROM hosts WHERE events < 1000);
    CREATE INDEX events_rare_host ON events(host, time_ms) WHERE rare = 1;",
    // 4: the periods when Hush was not filtering ([`gaps`]); `end_ms` is
    // NULL while one is open (Hush stopped, not yet started again). The
    // heartbeat and the running mark live in `counters`.
    "CREATE TABLE gaps (
        id INTEGER PRIMARY KEY,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        reason TEXT NOT NULL
    );
    CREATE INDEX gaps_start ON gaps(start_ms);",
    // 5: what App detail and the rules screens read (issue 12).
    // Rules remember the package they were made for, so that a UID Android
    // hands to a later install does not inherit them ([`rules`]); NULL for
    // a rule made without one (every rule written before this version, and
    // `hush rule app UID` on Linux). A rule for every app has none.
    // The daily rollup gains the reason and the first and last times, and
    // an index by app, so one app's hosts over whole days read that app's
    // rows only ([`query::app_hosts`]); the hours at a range's ends are
    // read from `hourly` by hour (an index by app there cost the writer
    // about a sixth of its rate). The rollup is rebuilt from `hourly`: of
    // the day retention was cutting into, only the hours `hourly` still
    // holds are counted.
    "ALTER TABLE app_rules ADD COLUMN package TEXT CHECK (package != '');
    ALTER TABLE domain_rules ADD COLUMN package TEXT
        CHECK (package IS NULL OR (package != '' AND uid IS NOT NULL));
    DROP TABLE host_daily;
    CREATE TABLE host_daily (
        day INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        host TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        PRIMARY KEY (day, uid, host, action, reason)
    ) WITHOUT ROWID;
    INSERT INTO host_daily (day, uid, host, action, reason, count, first_ms, last_ms)
        SELECT (hour - (hour % 24 + 24) % 24) / 24, uid, host, action, reason,
               sum(count), min(first_ms), max(last_ms)
        FROM hourly GROUP BY 1, 2, 3, 4, 5;
    CREATE INDEX host_daily_uid ON host_daily(uid, day);",
    // 6: apps' own "only addresses Hush resolved" choices (issue 13), over
    // the default kept in `settings` ([`rules::RESOLVED_ONLY_DEFAULT`]).
    // Like `app_rules`, a choice remembers the package it was made for.
    "CREATE TABLE app_options (
        uid INTEGER PRIMARY KEY,
        resolved_only INTEGER NOT NULL CHECK (resolved_only IN (0, 1)),
        package TEXT CHECK (package != ''),
        updated_ms INTEGER NOT NULL
    );",
    // 7: apps' own "strict" choices (issue 14: a flow whose name could not
    // be read is refused), over the default kept in `settings`
    // ([`rules::STRICT_DEFAULT`]). A table of its own rather than a column
    // of `app_options`: each option is set and cleared on its own, and a
    // row of `app_options` means a "resolved only" choice.
    "CREATE TABLE app_strict (
        uid INTEGER PRIMARY KEY,
        strict INTEGER NOT NULL CHECK (strict IN (0, 1)),
        package TEXT CHECK (package != ''),
        updated_ms INTEGER NOT NULL
    );",
    // 8: repeats (issue 15). An app that retries a blocked name or address
    // in a loop is one row with a count: the same blocked attempt again
    // within `REPEAT_WINDOW` of the last
    // adds to `repeats` and moves `last_ms` (NULL: the row is one attempt,
    // at `time_ms`). Adding the columns rewrites no row.
    "ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1 CHECK (repeats >= 1);
    ALTER TABLE events ADD COLUMN last_ms INTEGER;",
    // 9: whether the screen was off at each attempt (issue 16), as the
    // platform told the core; 0 for every event stored before, when it was
    // not recorded (`screen_known_since_ms` in `counters` says since when it
    // is). Beside it, the screen-off attempts per app and action each hour,
    // so Apps tells which apps were active with the screen off over a range
    // from a few rows, as `app_hourly` does for all attempts.
    "ALTER TABLE events ADD COLUMN screen_off INTEGER NOT NULL DEFAULT 0
        CHECK (screen_off IN (0, 1));
    CREATE TABLE screen_off_hourly (
        hour INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        action TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        PRIMARY KEY (hour, uid, action)
    ) WITHOUT ROWID;
    INSERT OR REPLACE INTO counters (name, value) VALUES ('screen_known_since_ms',
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));",
];

/// The schema version this Hush writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a connection waits for another one's lock before it says busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed, owner-only) and upgrades the database at `path`.
///
/// Safe to call from several processes at once on a new file: the first to
/// take the write lock creates the schema, the others wait for it (up to
/// [`BUSY_TIMEOUT`]) and then find it current.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, BUSY_TIMEOUT)
}

/// [`open`], waiting at most `busy` for another connection's lock.
pub(crate) fn open_with(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| StoreError::Create {
            path: path.display().to_string(),
            source,
        })?;
    let mut connection = Connection::open(path)?;
    // Before any statement: switching to WAL and migrating both take locks
    // that another process opening the same file may hold.
    connection.busy_timeout(busy)?;
    // A newer Hush's file (after a downgrade), or one with a version no
    // Hush writes, is left byte for byte as it is: its version is read
    // before anything is written (switching to WAL rewrites the header).
    schema_version(&connection)?;
    // Changing the journal mode needs the file to itself and does not wait
    // for it as other statements do (when another connection is opening the
    // same new file, say): it is tried again until `busy` has passed.
    let started = Instant::now();
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => break,
            Err(error)
                if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && started.elapsed() < busy =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => return Err(error.into()),
        }
    }
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut connection)?;
    Ok(connection)
}

/// Brings the schema to the newest version in one transaction.
///
/// The transaction is IMMEDIATE (it takes the write lock at once) and reads
/// the version again inside it, so of two processes upgrading the same file
/// one does the work and the other waits and finds it done. A version this
/// Hush did not write (newer, or negative) is an error, never a panic.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let known = SCHEMA_VERSION;
    // Most opens find the schema current, and take no write lock for it.
    if schema_version(connection)? == known {
        return Ok(());
    }
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found = schema_version(&transaction)?;
    if found == known {
        return Ok(());
    }
    let from = usize::try_from(found).map_err(|_| StoreError::UnknownVersion { found })?;
    for migration in &MIGRATIONS[from..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", known)?;
    transaction.commit()?;
    Ok(())
}

/// The schema version of the file, if this Hush can use it: not newer than
/// its own, and not negative.
fn schema_version(connection: &Connection) -> Result<i64, StoreError> {
    let known = SCHEMA_VERSION;
    let found: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    if found < 0 {
        return Err(StoreError::UnknownVersion { found });
    }
    Ok(found)
}

/// A stored event, as queries return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub time_ms: i64,
    pub uid: Option<u32>,
    pub host: String,
    pub ip: String,
    pub port: u16,
    pub protocol: String,
    pub detail: String,
    pub action: String,
    pub reason: String,
    /// The attempts the row stands for: more than 1 when the same blocked
    /// attempt was repeated ([`REPEAT_WINDOW`]).
    pub repeats: u64,
    /// When the last of them was made (`time_ms` for one attempt).
    pub last_ms: i64,
    /// Whether the screen was off (false too for events stored before the
    /// screen was recorded, [`screen_known_since_ms`]).
    pub screen_off: bool,
}

/// The columns [`stored_event`] reads, in order.
const EVENT_SELECT: &str =
    "time_ms, uid, host, ip, port, protocol, detail, action, reason, repeats, coalesce(last_ms, time_ms), screen_off";

/// The events in the order they were written, oldest first.
pub fn events(connection: &Connection) -> Result<Vec<StoredEvent>, StoreError> {
    let mut statement =
        connection.prepare(&format!("SELECT {EVENT_SELECT} FROM events ORDER BY id"))?;
    let rows = statement.query_map([], stored_event)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which events a query returns; unset fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub uid: Option<u32>,
    /// `blocked`, `allowed` or `failed`.
    pub action: Option<String>,
    /// Matches hosts containing this text, ASCII case ignored.
    pub host_contains: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// Up to this many hosts matching a host filter are each read through the
/// host index; past it, the filter is common and a scan in time order finds
/// its matches soon enough.
const HOSTS_BY_INDEX: usize = 256;

/// A host's first this many events are indexed by host (`rare`); schema 3
/// sets the same bound.
pub const RARE_HOST_EVENTS: i64 = 1000;

/// The newest events matching `filter`, newest first, at most `limit`,
/// skipping the first `offset` (for paging).
///
/// A host filter is first matched against the hosts ever seen (thousands,
/// not millions); when few match, each one's newest events come from the
/// `(host, time)` index and are merged, so a rare host is found as fast as
/// a common one.
pub fn recent_events(
    connection: &Connection,
    filter: &EventFilter,
    limit: u32,
    offset: u32,
) -> Result<Vec<StoredEvent>, StoreError> {
    if let Some(text) = &filter.host_contains {
        let mut hosts = connection.prepare_cached(
            "SELECT host, events FROM hosts WHERE instr(lower(host), lower(?1)) > 0 LIMIT ?2",
        )?;
        let matching: Vec<(String, i64)> = hosts
            .query_map(params![text, HOSTS_BY_INDEX as i64 + 1], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        if matching.len() <= HOSTS_BY_INDEX {
            let (rare, common): (Vec<_>, Vec<_>) = matching
                .into_iter()
                .partition(|(_, events)| *events < RARE_HOST_EVENTS);
            let rare: Vec<String> = rare.into_iter().map(|(host, _)| host).collect();
            let common: Vec<String> = common.into_iter().map(|(host, _)| host).collect();
            return recent_events_of_hosts(connection, filter, &rare, &common, limit, offset);
        }
    }
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {EVENT_SELECT} FROM events
         WHERE (?1 IS NULL OR uid = ?1)
           AND (?2 IS NULL OR action = ?2)
           AND (?3 IS NULL OR instr(lower(host), lower(?3)) > 0)
           AND (?4 IS NULL OR time_ms >= ?4)
           AND (?5 IS NULL OR time_ms < ?5)
         ORDER BY time_ms DESC, id DESC LIMIT ?6 OFFSET ?7"
    ))?;
    let rows = statement.query_map(
        params![
            filter.uid,
            filter.action,
            filter.host_contains,
            filter.since_ms,
            filter.until_ms,
            limit,
            offset
        ],
        stored_event,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// [`recent_events`] among the events of `rare` and `common` hosts: the
/// newest `offset + limit` of each rare host (every one of its events is in
/// the rare-host index), and of the common ones together (by a scan in
/// time order, which meets them often), merged newest first.
fn recent_events_of_hosts(
    connection: &Connection,
    filter: &EventFilter,
    rare: &[String],
    common: &[String],
    limit: u32,
    offset: u32,
) -> Result<Vec<StoredEvent>, StoreError> {
    let wanted = u64::from(offset) + u64::from(limit);
    let mut found: Vec<(StoredEvent, i64)> = Vec::new();
    // ?1 names the hosts; the rest is the filter and how many rows.
    let mut take = |statement: &mut rusqlite::CachedStatement<'_>, hosts: &str| {
        let rows = statement.query_map(
            params![
                hosts,
                filter.uid,
                filter.action,
                filter.since_ms,
                filter.until_ms,
                wanted as i64
            ],
            |row| Ok((stored_event(row)?, row.get::<_, i64>(12)?)),
        )?;
        for row in rows {
            found.push(row?);
        }
        Ok::<_, StoreError>(())
    };
    let filters = "AND (?2 IS NULL OR uid = ?2)
           AND (?3 IS NULL OR action = ?3)
           AND (?4 IS NULL OR time_ms >= ?4)
           AND (?5 IS NULL OR time_ms < ?5)
         ORDER BY time_ms DESC, id DESC LIMIT ?6";
    let columns = format!("{EVENT_SELECT}, id");
    let mut by_index = connection.prepare_cached(&format!(
        "SELECT {columns} FROM events INDEXED BY events_rare_host
         WHERE host = ?1 AND rare = 1 {filters}"
    ))?;
    for host in rare {
        take(&mut by_index, host)?;
    }
    if !common.is_empty() {
        // The hosts as a JSON array: one statement, whatever their number.
        let hosts = serde_json::to_string(common).map_err(|e| {
            StoreError::InvalidRule(format!("cannot list the hosts to search: {e}"))
        })?;
        let mut by_scan = connection.prepare_cached(&format!(
            "SELECT {columns} FROM events
             WHERE host IN (SELECT value FROM json_each(?1)) {filters}"
        ))?;
        take(&mut by_scan, &hosts)?;
    }
    found.sort_unstable_by(|a, b| b.0.time_ms.cmp(&a.0.time_ms).then(b.1.cmp(&a.1)));
    Ok(found
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|(event, _)| event)
        .collect())
}

fn stored_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        time_ms: row.get(0)?,
        uid: row.get(1)?,
        host: row.get(2)?,
        ip: row.get(3)?,
        port: row.get(4)?,
        protocol: row.get(5)?,
        detail: row.get(6)?,
        action: row.get(7)?,
        reason: row.get(8)?,
        repeats: row.get::<_, i64>(9)?.max(1) as u64,
        last_ms: row.get(10)?,
        screen_off: row.get(11)?,
    })
}

/// One row of the per-hour aggregates: `uid` is `None` for an unknown owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyCount {
    pub hour: i64,
    pub uid: Option<u32>,
    pub host: String,
    pub action: String,
    pub reason: String,
    pub count: u64,
}

/// The per-hour aggregates, oldest hour first.
pub fn hourly_counts(connection: &Connection) -> Result<Vec<HourlyCount>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT hour, uid, host, action, reason, count FROM hourly
         ORDER BY hour, uid, host, action, reason",
    )?;
    let rows = statement.query_map([], |row| {
        let uid: i64 = row.get(1)?;
        Ok(HourlyCount {
            hour: row.get(0)?,
            uid: u32::try_from(uid).ok(),
            host: row.get(2)?,
            action: row.get(3)?,
            reason: row.get(4)?,
            count: row.get::<_, i64>(5)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Events the writers could not write, as stored: cumulative over runs, and
/// including those a killed run left queued
/// ([`EventWriter::lost_at_last_kill`]).
pub fn dropped_events(connection: &Connection) -> Result<u64, StoreError> {
    let value: Option<i64> = connection
        .query_row(
            "SELECT value FROM counters WHERE name = 'dropped_events'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(value.unwrap_or(0) as u64)
}

/// Since when the screen's state is stored with each event (Unix
/// milliseconds): when the database reached schema 9. `None` for a file
/// that never did, which cannot be read here anyway.
pub fn screen_known_since_ms(connection: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(connection
        .query_row(
            "SELECT value FROM counters WHERE name = 'screen_known_since_ms'",
            [],
            |row| row.get(0),
        )
        .optional()?)
}

pub(crate) const HOUR_MS: i64 = 3_600_000;

/// `time` in Unix milliseconds (negative before 1970).
pub(crate) fn unix_ms(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut connection),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn a_negative_schema_version_is_an_error_not_a_panic() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.pragma_update(None, "user_version", -1).unwrap();
        assert!(matches!(
            migrate(&mut connection),
            Err(StoreError::UnknownVersion { found: -1 })
        ));
    }

    #[test]
    fn times_before_1970_are_negative() {
        assert_eq!(unix_ms(UNIX_EPOCH + Duration::from_millis(1500)), 1500);
        assert_eq!(unix_ms(UNIX_EPOCH - Duration::from_millis(1500)), -1500);
    }
}
