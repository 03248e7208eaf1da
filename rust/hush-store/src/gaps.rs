//! The periods when Hush was not filtering, so the log never reads as if it
//! had seen everything when it had not.
//!
//! Layer: tables and counters in the store; the [`crate::EventWriter`]
//! drives them (it runs [`on_start`] when its database opens, a
//! [`heartbeat`] with each commit and at least once a minute, and
//! [`on_stop`] when it finishes), and the engine adds what it alone knows
//! through [`crate::EventWriter::record_gap`].
//!
//! A gap is `start_ms`, `end_ms` (`None` while it is still open: Hush was
//! stopped and has not started since) and a reason:
//! - [`STOPPED`]: stopped by the owner;
//! - [`REVOKED`]: another VPN took over;
//! - [`KILLED`]: the process died without stopping. Nothing is written at a
//!   `kill -9` or a crash, so this is found at the next start: the previous
//!   run is still marked running, and the gap runs from its last heartbeat
//!   (which is at most a minute old while Hush runs) to the new start;
//! - `engine-restart: <why>` ([`ENGINE_RESTART`]) and `holding: <why>`
//!   ([`HOLDING`], a fail-closed period: traffic held, not filtered);
//! - any other words the platform gives.
//!
//! State: `counters` rows `running` (1 from a start until a clean stop) and
//! `heartbeat_ms` (the last time the running Hush wrote).
//!
//! Never: store names or addresses here; reasons are Hush's own words.

use rusqlite::{params, Connection, OptionalExtension};

use crate::StoreError;

/// Stopped by the owner.
pub const STOPPED: &str = "stopped";
/// Another VPN took over.
pub const REVOKED: &str = "revoked";
/// The process died without stopping (found at the next start).
pub const KILLED: &str = "killed";
/// The engine restarted: `engine-restart: <why>`.
pub const ENGINE_RESTART: &str = "engine-restart";
/// A fail-closed period, traffic held: `holding: <why>`.
pub const HOLDING: &str = "holding";

/// A period when Hush was not filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub start_ms: i64,
    /// `None` while the gap is open: Hush has not started since.
    pub end_ms: Option<i64>,
    pub reason: String,
}

/// Hush starts filtering at `now_ms`: closes the open gap (end = now), adds
/// a [`KILLED`] gap from the last heartbeat to now if the previous run
/// never stopped, and marks Hush running. Returns the gaps it closed or
/// added, oldest first.
pub fn on_start(connection: &Connection, now_ms: i64) -> Result<Vec<Gap>, StoreError> {
    atomically(connection, || {
        let mut changed: Vec<Gap> = connection
            .prepare(
                "UPDATE gaps SET end_ms = max(start_ms, ?1) WHERE end_ms IS NULL
                 RETURNING start_ms, end_ms, reason",
            )?
            .query_map(params![now_ms], gap)?
            .collect::<Result<_, _>>()?;
        changed.sort_by_key(|gap| gap.start_ms);
        if counter(connection, "running")? == Some(1) {
            if let Some(last) = counter(connection, "heartbeat_ms")? {
                if last < now_ms {
                    insert(connection, last, Some(now_ms), KILLED)?;
                    changed.push(Gap {
                        start_ms: last,
                        end_ms: Some(now_ms),
                        reason: KILLED.into(),
                    });
                }
            }
        }
        set_counter(connection, "running", 1)?;
        set_counter(connection, "heartbeat_ms", now_ms)?;
        Ok(changed)
    })
}

/// The running Hush is alive at `now_ms`.
pub fn heartbeat(connection: &Connection, now_ms: i64) -> Result<(), StoreError> {
    set_counter(connection, "heartbeat_ms", now_ms)
}

/// Hush stops filtering at `now_ms` for `reason`: opens a gap that the next
/// [`on_start`] closes, and clears the running mark. A gap already open
/// (stopped twice) is kept, with its first reason.
pub fn on_stop(connection: &Connection, now_ms: i64, reason: &str) -> Result<(), StoreError> {
    atomically(connection, || {
        let open: Option<i64> = connection
            .query_row(
                "SELECT id FROM gaps WHERE end_ms IS NULL LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if open.is_none() {
            insert(connection, now_ms, None, reason)?;
        }
        set_counter(connection, "running", 0)?;
        set_counter(connection, "heartbeat_ms", now_ms)?;
        Ok(())
    })
}

/// Records a closed gap (an end before its start is taken as the start).
pub fn record(
    connection: &Connection,
    start_ms: i64,
    end_ms: i64,
    reason: &str,
) -> Result<(), StoreError> {
    insert(connection, start_ms, Some(end_ms.max(start_ms)), reason)
}

/// The gaps that end at or after `since_ms` (all of them without it, and
/// always an open one), newest first, at most `limit`.
pub fn list(
    connection: &Connection,
    since_ms: Option<i64>,
    limit: u32,
) -> Result<Vec<Gap>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT start_ms, end_ms, reason FROM gaps
         WHERE ?1 IS NULL OR end_ms IS NULL OR end_ms >= ?1
         ORDER BY start_ms DESC, id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![since_ms, limit], gap)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last heartbeat stored, and whether the run that wrote it is still
/// marked running (it has not stopped cleanly).
pub fn last_heartbeat(connection: &Connection) -> Result<Option<(i64, bool)>, StoreError> {
    let running = counter(connection, "running")? == Some(1);
    Ok(counter(connection, "heartbeat_ms")?.map(|at| (at, running)))
}

fn gap(row: &rusqlite::Row<'_>) -> rusqlite::Result<Gap> {
    Ok(Gap {
        start_ms: row.get(0)?,
        end_ms: row.get(1)?,
        reason: row.get(2)?,
    })
}

fn insert(
    connection: &Connection,
    start_ms: i64,
    end_ms: Option<i64>,
    reason: &str,
) -> Result<(), StoreError> {
    connection
        .prepare_cached("INSERT INTO gaps (start_ms, end_ms, reason) VALUES (?1, ?2, ?3)")?
        .execute(params![start_ms, end_ms, reason])?;
    Ok(())
}

pub(crate) fn counter(connection: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(connection
        .prepare_cached("SELECT value FROM counters WHERE name = ?1")?
        .query_row(params![name], |row| row.get(0))
        .optional()?)
}

pub(crate) fn set_counter(
    connection: &Connection,
    name: &str,
    value: i64,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO counters (name, value) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![name, value])?;
    Ok(())
}

/// Runs `f` as one unit: a savepoint, which is a transaction of its own
/// outside one and nests inside the caller's.
fn atomically<T>(
    connection: &Connection,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection.execute_batch("SAVEPOINT hush_gaps")?;
    match f() {
        Ok(value) => {
            connection.execute_batch("RELEASE hush_gaps")?;
            Ok(value)
        }
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK TO hush_gaps; RELEASE hush_gaps");
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Connection {
        let mut connection = Connection::open_in_memory().unwrap();
        crate::migrate(&mut connection).unwrap();
        connection
    }

    #[test]
    fn a_clean_stop_then_a_start_is_one_closed_gap() {
        let connection = database();
        assert_eq!(on_start(&connection, 1_000).unwrap(), []);
        heartbeat(&connection, 2_000).unwrap();
        on_stop(&connection, 3_000, STOPPED).unwrap();
        assert_eq!(
            list(&connection, None, 10).unwrap(),
            [Gap {
                start_ms: 3_000,
                end_ms: None,
                reason: STOPPED.into()
            }]
        );
        on_stop(&connection, 3_500, REVOKED).unwrap();
        let closed = Gap {
            start_ms: 3_000,
            end_ms: Some(9_000),
            reason: STOPPED.into(),
        };
        assert_eq!(
            on_start(&connection, 9_000).unwrap(),
            std::slice::from_ref(&closed)
        );
        assert_eq!(list(&connection, None, 10).unwrap(), [closed]);
        assert_eq!(last_heartbeat(&connection).unwrap(), Some((9_000, true)));
    }

    #[test]
    fn a_run_that_never_stopped_leaves_a_killed_gap_from_its_heartbeat() {
        let connection = database();
        on_start(&connection, 1_000).unwrap();
        heartbeat(&connection, 61_000).unwrap();
        let killed = Gap {
            start_ms: 61_000,
            end_ms: Some(500_000),
            reason: KILLED.into(),
        };
        assert_eq!(
            on_start(&connection, 500_000).unwrap(),
            std::slice::from_ref(&killed)
        );
        assert_eq!(list(&connection, None, 10).unwrap(), [killed]);
    }

    #[test]
    fn gaps_are_listed_newest_first_from_a_time() {
        let connection = database();
        record(&connection, 100, 200, "engine-restart: test").unwrap();
        record(&connection, 300, 250, "holding: no network").unwrap();
        record(&connection, 50, 60, REVOKED).unwrap();
        let starts = |gaps: Vec<Gap>| gaps.iter().map(|g| g.start_ms).collect::<Vec<_>>();
        assert_eq!(starts(list(&connection, None, 10).unwrap()), [300, 100, 50]);
        assert_eq!(
            starts(list(&connection, Some(150), 10).unwrap()),
            [300, 100]
        );
        assert_eq!(starts(list(&connection, None, 1).unwrap()), [300]);
        assert_eq!(list(&connection, None, 1).unwrap()[0].end_ms, Some(300));
    }

    #[test]
    fn a_failed_start_changes_nothing() {
        let connection = database();
        on_start(&connection, 1_000).unwrap();
        on_stop(&connection, 2_000, STOPPED).unwrap();
        connection
            .execute_batch(
                "CREATE TRIGGER no_running BEFORE UPDATE ON counters
                 WHEN new.name = 'running' BEGIN SELECT raise(ABORT, 'refused'); END;",
            )
            .unwrap();
        assert!(on_start(&connection, 3_000).is_err());
        assert_eq!(list(&connection, None, 10).unwrap()[0].end_ms, None);
    }
}
