//! The activity log and the user's rules: one SQLite database that owns its
//! schema, and a writer that takes events off the packet path.
//!
//! Contents: raw events and their per-hour aggregates per (app, host,
//! action, reason), written in the same transaction; apps; per-app modes and
//! domain rules ([`rules`]); list sources; settings.
//!
//! Layer: beside the engine, which sees it only as an [`EventSink`]. The schema
//! is versioned with `PRAGMA user_version` and upgraded in one transaction.
//! The file is created owner-only (0600) and run in WAL mode.
//!
//! Invariants: [`EventWriter::record`] never blocks; an event it cannot queue
//! is counted, and the count is stored, so nothing is lost silently.
//!
//! Never: log the names or addresses it stores.

#![forbid(unsafe_code)]

pub mod query;
pub mod recover;
pub mod rules;

use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use hush_engine::{Event, EventSink};
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
    #[error("failed to start the log writer: {0}")]
    Thread(std::io::Error),
    #[error("{0}")]
    InvalidRule(String),
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
];

/// The schema version this Hush writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed, owner-only) and upgrades the database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
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
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.busy_timeout(Duration::from_secs(5))?;
    migrate(&mut connection)?;
    Ok(connection)
}

/// Brings the schema to the newest version in one transaction.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let known = SCHEMA_VERSION;
    let transaction = connection.transaction()?;
    let found: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    if found == known {
        return Ok(());
    }
    for migration in &MIGRATIONS[found as usize..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", known)?;
    transaction.commit()?;
    Ok(())
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
}

/// The events in the order they were written, oldest first.
pub fn events(connection: &Connection) -> Result<Vec<StoredEvent>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT time_ms, uid, host, ip, port, protocol, detail, action, reason
         FROM events ORDER BY id",
    )?;
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
    let mut statement = connection.prepare_cached(
        "SELECT time_ms, uid, host, ip, port, protocol, detail, action, reason FROM events
         WHERE (?1 IS NULL OR uid = ?1)
           AND (?2 IS NULL OR action = ?2)
           AND (?3 IS NULL OR instr(lower(host), lower(?3)) > 0)
           AND (?4 IS NULL OR time_ms >= ?4)
           AND (?5 IS NULL OR time_ms < ?5)
         ORDER BY time_ms DESC, id DESC LIMIT ?6 OFFSET ?7",
    )?;
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
            |row| Ok((stored_event(row)?, row.get::<_, i64>(9)?)),
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
    let columns = "time_ms, uid, host, ip, port, protocol, detail, action, reason, id";
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

/// Events the writer could not take, as stored.
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

const HOUR_MS: i64 = 3_600_000;

/// (hour, uid or -1, host, action, reason): one row of `hourly`.
type HourlyKey<'a> = (i64, i64, &'a str, &'static str, &'a str);

/// Most events written in one transaction. Large, for a writer that falls
/// behind: each commit writes every page it touched (an index leaf per busy
/// host, say) once, however many events it carries, so a bigger batch costs
/// less per event. At a phone's usual pace a batch holds what came in
/// [`BATCH_WAIT`], a handful of events.
const BATCH: usize = 65_536;
/// A batch's buffer is kept at most this large between batches.
const BATCH_KEPT: usize = 1024;
/// How long the writer waits to fill a batch.
const BATCH_WAIT: Duration = Duration::from_millis(50);

/// Takes events from the engine without blocking it, and writes them in
/// batches on its own thread.
pub struct EventWriter {
    sender: Option<SyncSender<Event>>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
}

impl EventWriter {
    /// Starts the writer on `connection`, queueing at most `capacity` events.
    pub fn start(connection: Connection, capacity: usize) -> Result<Self, StoreError> {
        // The pages a batch touches (the tail of each index, one leaf per
        // app in the per-app index, the current hour's aggregates) stay in
        // memory: with SQLite's default 2 MB they are read back again and
        // again. Memory is taken only as pages are used.
        connection.pragma_update(None, "cache_size", -16_384)?;
        // Checkpoint (and fsync) every 64 MB of log rather than every 4 MB:
        // the same pages are written either way, with a sixteenth of the syncs.
        connection.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        // ...and keep no more than that after one (a reader can hold a
        // checkpoint off and let the log grow): storage is the phone's.
        connection.pragma_update(None, "journal_size_limit", 64 << 20)?;
        // Statement journals (each multi-row INSERT and upsert keeps one, to
        // undo itself alone) in memory, not in temporary files.
        connection.pragma_update(None, "temp_store", "MEMORY")?;
        let (sender, receiver) = sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let thread_dropped = dropped.clone();
        let thread = std::thread::Builder::new()
            .name("hush-log-writer".into())
            .spawn(move || write_loop(connection, receiver, &thread_dropped))
            .map_err(StoreError::Thread)?;
        Ok(Self {
            sender: Some(sender),
            dropped,
            thread: Some(thread),
        })
    }

    /// Events dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The live drop count, which stays readable after [`Self::finish`]
    /// (events of a last batch that failed are added to it there).
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.dropped)
    }

    /// Writes what is queued, stores the drop count and stops the thread.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.sender.take();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StoreError::Thread(std::io::Error::other(
                "the log writer panicked",
            ))),
            None => Ok(()),
        }
    }
}

impl EventSink for EventWriter {
    fn record(&self, event: Event) {
        let Some(sender) = &self.sender else { return };
        match sender.try_send(event) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(
    mut connection: Connection,
    receiver: Receiver<Event>,
    dropped: &AtomicU64,
) -> Result<(), StoreError> {
    // A batch that fails (a full disk, an I/O error) is kept and tried again,
    // waiting longer each time; after the last attempt its events are counted
    // as dropped, and the thread goes on with the next batch.
    const ATTEMPTS: u32 = 5;
    const RETRY_WAIT: Duration = Duration::from_millis(100);
    let mut batch = Vec::new();
    let mut stored_dropped = 0;
    let mut failures = 0;
    loop {
        let open = match receiver.recv_timeout(BATCH_WAIT) {
            Ok(event) => {
                batch.push(event);
                while batch.len() < BATCH {
                    match receiver.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        let dropped_now = dropped.load(Ordering::Relaxed);
        if !batch.is_empty() || dropped_now != stored_dropped {
            match write_batch(&mut connection, &batch, dropped_now) {
                Ok(()) => {
                    batch.clear();
                    batch.shrink_to(BATCH_KEPT);
                    stored_dropped = dropped_now;
                    failures = 0;
                }
                Err(error) => {
                    failures += 1;
                    log::warn!(
                        "the activity log could not be written (attempt {failures} of \
                         {ATTEMPTS}, {} events): {error}",
                        batch.len()
                    );
                    if failures < ATTEMPTS {
                        std::thread::sleep(RETRY_WAIT * 2u32.pow(failures - 1));
                        continue;
                    }
                    dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    batch.clear();
                    failures = 0;
                    if !open {
                        return Err(error);
                    }
                }
            }
        }
        if !open {
            return Ok(());
        }
    }
}

/// Events per multi-row INSERT: one statement step for many rows costs far
/// less than a step per row (SQLite allows 32,766 parameters; 9 per row).
const ROWS_PER_INSERT: usize = 64;
const EVENT_COLUMNS: usize = 10;

/// An event's columns, as they are stored.
struct EventRow<'a> {
    time_ms: i64,
    uid: Option<u32>,
    event: &'a Event,
    ip: String,
    action: &'static str,
    reason: String,
    /// Among its host's first [`RARE_HOST_EVENTS`]: indexed by host.
    rare: bool,
}

impl EventRow<'_> {
    fn push_params<'r>(&'r self, out: &mut Vec<&'r dyn rusqlite::ToSql>) {
        out.extend_from_slice(&[
            &self.time_ms as &dyn rusqlite::ToSql,
            &self.uid,
            &self.event.host,
            &self.ip,
            &self.event.port,
            &self.event.protocol,
            &self.event.detail,
            &self.action,
            &self.reason,
            &self.rare,
        ]);
    }
}

fn insert_events_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason, rare) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..EVENT_COLUMNS {
            if column > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql
}

/// Counts folded from one batch, one entry per row of each aggregate table.
#[derive(Default)]
struct Folded<'a> {
    hourly: HashMap<HourlyKey<'a>, (i64, i64, i64)>,
    /// (hour, uid or -1, action) -> (count, first, last).
    app_hourly: HashMap<(i64, i64, &'static str), (i64, i64, i64)>,
    /// (day, uid or -1, host, action) -> count.
    host_daily: HashMap<(i64, i64, &'a str, &'static str), i64>,
}

impl<'a> Folded<'a> {
    fn add(&mut self, row: &'a EventRow<'a>) {
        let (time_ms, uid) = (row.time_ms, row.uid.map_or(-1, i64::from));
        let hour = time_ms.div_euclid(HOUR_MS);
        let span = |entry: &mut (i64, i64, i64)| {
            entry.0 += 1;
            entry.1 = entry.1.min(time_ms);
            entry.2 = entry.2.max(time_ms);
        };
        let key = (
            hour,
            uid,
            row.event.host.as_str(),
            row.action,
            row.reason.as_str(),
        );
        span(self.hourly.entry(key).or_insert((0, time_ms, time_ms)));
        span(
            self.app_hourly
                .entry((hour, uid, row.action))
                .or_insert((0, time_ms, time_ms)),
        );
        let day = hour.div_euclid(24);
        *self
            .host_daily
            .entry((day, uid, row.event.host.as_str(), row.action))
            .or_insert(0) += 1;
    }
}

/// Marks the events among their host's first [`RARE_HOST_EVENTS`] as rare,
/// from the counts stored in `hosts`; returns, per host, the count stored
/// before and the events this batch adds.
fn mark_rare<'a>(
    transaction: &rusqlite::Transaction<'_>,
    rows: &mut [EventRow<'a>],
) -> Result<HashMap<&'a str, (i64, i64)>, StoreError> {
    let mut counts: HashMap<&'a str, (i64, i64)> = HashMap::new();
    let mut stored = transaction.prepare_cached("SELECT events FROM hosts WHERE host = ?1")?;
    for row in rows.iter_mut() {
        let host = row.event.host.as_str();
        let (before, added) = match counts.get_mut(host) {
            Some(entry) => entry,
            None => {
                let before: i64 = stored
                    .query_row(params![host], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                counts.entry(host).or_insert((before, 0))
            }
        };
        row.rare = *before + *added < RARE_HOST_EVENTS;
        *added += 1;
    }
    Ok(counts)
}

fn write_batch(
    connection: &mut Connection,
    batch: &[Event],
    dropped: u64,
) -> Result<(), StoreError> {
    let rows: Vec<EventRow<'_>> = batch
        .iter()
        .map(|event| EventRow {
            time_ms: event
                .time
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            uid: event.uid,
            event,
            ip: event.address.to_string(),
            action: event.verdict.as_str(),
            reason: event.reason.code(),
            rare: false,
        })
        .collect();
    // The aggregates are kept in the same transaction as the events, so a
    // crash loses neither alone. They are folded in memory first: a batch
    // repeats the same few hosts, and one upsert per distinct row is much
    // cheaper than one per event.
    let transaction = connection.transaction()?;
    let mut rows = rows;
    let host_events = mark_rare(&transaction, &mut rows)?;
    let mut folded = Folded::default();
    for row in &rows {
        folded.add(row);
    }
    {
        let mut params: Vec<&dyn rusqlite::ToSql> =
            Vec::with_capacity(ROWS_PER_INSERT * EVENT_COLUMNS);
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        let mut insert_many = transaction.prepare_cached(&insert_events_sql(ROWS_PER_INSERT))?;
        for chunk in &mut chunks {
            params.clear();
            chunk.iter().for_each(|row| row.push_params(&mut params));
            insert_many.execute(params.as_slice())?;
        }
        let mut insert_one = transaction.prepare_cached(&insert_events_sql(1))?;
        for row in chunks.remainder() {
            params.clear();
            row.push_params(&mut params);
            insert_one.execute(params.as_slice())?;
        }
        let mut hourly = transaction.prepare_cached(
            "INSERT INTO hourly (hour, uid, host, action, reason, count, first_ms, last_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO UPDATE SET count = count + excluded.count,
                 first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )?;
        for ((hour, uid, host, action, reason), (count, first, last)) in &folded.hourly {
            hourly.execute(params![hour, uid, host, action, reason, count, first, last])?;
        }
        let mut app_hourly = transaction.prepare_cached(
            "INSERT INTO app_hourly (hour, uid, action, count, first_ms, last_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO UPDATE SET count = count + excluded.count,
                 first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )?;
        for ((hour, uid, action), (count, first, last)) in &folded.app_hourly {
            app_hourly.execute(params![hour, uid, action, count, first, last])?;
        }
        let mut host_daily = transaction.prepare_cached(
            "INSERT INTO host_daily (day, uid, host, action, count) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO UPDATE SET count = count + excluded.count",
        )?;
        for ((day, uid, host, action), count) in &folded.host_daily {
            host_daily.execute(params![day, uid, host, action, count])?;
        }
        let mut seen_host = transaction.prepare_cached(
            "INSERT INTO hosts (host, events) VALUES (?1, ?2)
             ON CONFLICT DO UPDATE SET events = events + excluded.events",
        )?;
        for (host, (_, added)) in &host_events {
            seen_host.execute(params![host, added])?;
        }
    }
    transaction.execute(
        "INSERT INTO counters (name, value) VALUES ('dropped_events', ?1)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        params![dropped as i64],
    )?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_engine::{Reason, Verdict};
    use std::os::unix::fs::PermissionsExt;
    use std::time::SystemTime;

    fn event(host: &str) -> Event {
        Event {
            time: SystemTime::now(),
            uid: None,
            host: host.into(),
            address: "198.18.0.53".parse().unwrap(),
            port: 53,
            protocol: "dns",
            detail: "A".into(),
            verdict: Verdict::Blocked,
            reason: Reason::Blocklist("hush-default".into()),
        }
    }

    #[test]
    fn creates_an_owner_only_wal_database_and_stores_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let writer = EventWriter::start(open(&path).unwrap(), 100).unwrap();
        writer.record(event("tracking.miui.com"));
        writer.record(event("api.ad.xiaomi.com"));
        writer.finish().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let connection = open(&path).unwrap();
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let stored = events(&connection).unwrap();
        let hosts: Vec<_> = stored.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(hosts, ["tracking.miui.com", "api.ad.xiaomi.com"]);
        assert_eq!(stored[0].reason, "list:hush-default");
        assert_eq!(stored[0].action, "blocked");
        // Each event is folded into its hour's aggregate in the same batch.
        let hourly = hourly_counts(&connection).unwrap();
        assert_eq!(hourly.iter().map(|h| h.count).sum::<u64>(), 2);
        assert!(hourly
            .iter()
            .all(|h| h.uid.is_none() && h.action == "blocked"));
    }

    #[test]
    fn a_full_queue_counts_and_stores_the_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        // Hold the write lock so the writer cannot drain, then overfill the queue.
        let writer = EventWriter::start(open(&path).unwrap(), 4).unwrap();
        let blocker = open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        for i in 0..100 {
            writer.record(event(&format!("n{i}.example")));
        }
        let dropped = writer.dropped();
        assert!(
            dropped >= 50,
            "the queue of 4 cannot have taken most of 100: dropped {dropped}"
        );
        blocker.execute_batch("ROLLBACK").unwrap();
        writer.finish().unwrap();
        let connection = open(&path).unwrap();
        let stored = events(&connection).unwrap().len() as u64;
        assert_eq!(stored + dropped, 100, "every event is stored or counted");
        assert_eq!(dropped_events(&connection).unwrap(), dropped);
    }

    #[test]
    fn repeated_events_fold_into_one_hourly_row_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let mut connection = open(&path).unwrap();
        let batch = [event("a.example"), event("a.example"), event("b.example")];
        write_batch(&mut connection, &batch, 0).unwrap();
        write_batch(&mut connection, &batch[..1], 0).unwrap();
        let counts: Vec<(String, u64)> = hourly_counts(&connection)
            .unwrap()
            .into_iter()
            .map(|h| (h.host, h.count))
            .collect();
        assert_eq!(counts, [("a.example".into(), 3), ("b.example".into(), 1)]);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut connection),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
