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
];

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
    let known = MIGRATIONS.len() as i64;
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

/// The newest events matching `filter`, newest first, at most `limit`,
/// skipping the first `offset` (for paging).
pub fn recent_events(
    connection: &Connection,
    filter: &EventFilter,
    limit: u32,
    offset: u32,
) -> Result<Vec<StoredEvent>, StoreError> {
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
type HourlyKey<'a> = (i64, i64, &'a str, &'static str, String);

/// Most events written in one transaction.
const BATCH: usize = 512;
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
    let mut batch = Vec::with_capacity(BATCH);
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

fn write_batch(
    connection: &mut Connection,
    batch: &[Event],
    dropped: u64,
) -> Result<(), StoreError> {
    let transaction = connection.transaction()?;
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        // The aggregates are kept in the same transaction as the events, so
        // a crash loses neither alone.
        // Folded in memory first: a batch repeats the same few hosts, and
        // one upsert per distinct row is much cheaper than one per event.
        let mut folded: HashMap<HourlyKey<'_>, (i64, i64, i64)> = HashMap::new();
        for event in batch {
            let time_ms = event
                .time
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let (action, reason) = (event.verdict.as_str(), event.reason.code());
            insert.execute(params![
                time_ms,
                event.uid,
                event.host,
                event.address.to_string(),
                event.port,
                event.protocol,
                event.detail,
                action,
                &reason,
            ])?;
            let key = (
                time_ms / HOUR_MS,
                event.uid.map_or(-1, i64::from),
                event.host.as_str(),
                action,
                reason,
            );
            let entry = folded.entry(key).or_insert((0, time_ms, time_ms));
            entry.0 += 1;
            entry.1 = entry.1.min(time_ms);
            entry.2 = entry.2.max(time_ms);
        }
        let mut aggregate = transaction.prepare_cached(
            "INSERT INTO hourly (hour, uid, host, action, reason, count, first_ms, last_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO UPDATE SET count = count + excluded.count,
                 first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )?;
        for ((hour, uid, host, action, reason), (count, first, last)) in folded {
            aggregate.execute(params![hour, uid, host, action, reason, count, first, last])?;
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
