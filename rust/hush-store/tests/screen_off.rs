//! Whether the screen was off at each attempt (issue 16): schema 9 adds it
//! to old files as "on", the writer stores it with each row and counts the
//! screen-off attempts per app and hour in the same transaction, a blocked
//! retry never folds across a change of the screen, and the evidence and
//! the per-app query read it back. Real SQLite files in temporary
//! directories, written through the log writer.

use std::time::{Duration, Instant, UNIX_EPOCH};

use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::query::{self, ScreenOffSummary};
use hush_store::{EventWriter, StoredEvent};
use rusqlite::Connection;

/// 2025-01-29T00:00:00Z, the start of an hour.
const T0: i64 = 1_738_108_800_000;
const HOUR: i64 = 3_600_000;
const APP: u32 = 10_101;
const OTHER: u32 = 10_202;

fn attempt(time_ms: i64, uid: Option<u32>, host: &str, verdict: Verdict, off: bool) -> Event {
    Event {
        time: UNIX_EPOCH + Duration::from_millis(time_ms as u64),
        uid,
        host: host.into(),
        address: "198.18.0.53".parse().unwrap(),
        port: 53,
        protocol: "dns",
        detail: "A".into(),
        verdict,
        reason: match verdict {
            Verdict::Blocked => Reason::Blocklist("hush-default".into()),
            _ => Reason::Unlisted,
        },
        screen_off: off,
    }
}

/// Records `groups`, each written in a batch of its own; returns the
/// database opened again.
fn write_in_batches(path: &std::path::Path, groups: Vec<Vec<Event>>) -> Connection {
    let writer = EventWriter::start(hush_store::open(path).unwrap(), 1 << 16).unwrap();
    let mut given = 0;
    for group in groups {
        given += group.len() as u64;
        for event in group {
            writer.record(event);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while writer.written() < given {
            assert!(Instant::now() < deadline, "the writer never caught up");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    writer.finish().unwrap();
    hush_store::open(path).unwrap()
}

fn now_ms() -> i64 {
    UNIX_EPOCH.elapsed().unwrap().as_millis() as i64
}

fn rows(connection: &Connection) -> Vec<StoredEvent> {
    hush_store::events(connection).unwrap()
}

/// (uid, action, count) of `screen_off_hourly`, summed over hours.
fn rollup(connection: &Connection) -> Vec<(i64, String, i64)> {
    let mut statement = connection
        .prepare(
            "SELECT uid, action, sum(count) FROM screen_off_hourly
             GROUP BY uid, action ORDER BY uid, action",
        )
        .unwrap();
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn a_version_8_database_gains_the_column_with_its_events_counted_as_screen_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let connection = write_in_batches(
        &path,
        vec![vec![
            attempt(T0, Some(APP), "a.example", Verdict::Blocked, false),
            attempt(T0 + 1, Some(APP), "b.example", Verdict::Allowed, false),
        ]],
    );
    // Version 8 is version 9 without what 9 added.
    connection
        .execute_batch(
            "DROP TABLE screen_off_hourly; ALTER TABLE events DROP COLUMN screen_off;
             DELETE FROM counters WHERE name = 'screen_known_since_ms';
             PRAGMA user_version = 8;",
        )
        .unwrap();
    drop(connection);
    let before = now_ms();
    let connection = hush_store::open(&path).unwrap();
    let after = now_ms();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 9);
    assert_eq!(hush_store::SCHEMA_VERSION, 9);
    let stored = rows(&connection);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|e| !e.screen_off));
    assert!(rollup(&connection).is_empty());
    let since = hush_store::screen_known_since_ms(&connection)
        .unwrap()
        .expect("the upgrade says since when the screen is recorded");
    // julianday has millisecond resolution at best: a little slack.
    assert!(
        since >= before - 5 && since <= after + 5,
        "{before} <= {since} <= {after}"
    );
    // Only 0 or 1.
    assert!(connection
        .execute("UPDATE events SET screen_off = 2", [])
        .is_err());
}

#[test]
fn the_writer_stores_the_screen_state_and_counts_screen_off_attempts_per_app_and_hour() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let connection = write_in_batches(
        &path,
        vec![
            vec![
                attempt(T0, Some(APP), "a.example", Verdict::Allowed, true),
                attempt(T0 + 10, Some(APP), "b.example", Verdict::Blocked, true),
                attempt(T0 + 20, Some(APP), "c.example", Verdict::Allowed, false),
                attempt(T0 + 30, Some(OTHER), "a.example", Verdict::Allowed, false),
                attempt(T0 + 40, None, "d.example", Verdict::Failed, true),
            ],
            // The next hour, in another batch: added to the app's counts.
            vec![attempt(
                T0 + HOUR + 5,
                Some(APP),
                "a.example",
                Verdict::Allowed,
                true,
            )],
        ],
    );
    let stored: Vec<(String, bool)> = rows(&connection)
        .into_iter()
        .map(|e| (e.host, e.screen_off))
        .collect();
    assert_eq!(
        stored,
        [
            ("a.example".to_string(), true),
            ("b.example".to_string(), true),
            ("c.example".to_string(), false),
            ("a.example".to_string(), false),
            ("d.example".to_string(), true),
            ("a.example".to_string(), true),
        ]
    );
    assert_eq!(
        rollup(&connection),
        [
            (-1, "failed".to_string(), 1),
            (i64::from(APP), "allowed".to_string(), 2),
            (i64::from(APP), "blocked".to_string(), 1),
        ]
    );
    let apps = query::screen_off_apps(&connection, T0, T0 + 2 * HOUR).unwrap();
    assert_eq!(
        apps,
        [
            ScreenOffSummary {
                uid: Some(APP),
                blocked: 1,
                allowed: 2,
                failed: 0,
                first_ms: T0,
                last_ms: T0 + HOUR + 5,
            },
            ScreenOffSummary {
                uid: None,
                blocked: 0,
                allowed: 0,
                failed: 1,
                first_ms: T0 + 40,
                last_ms: T0 + 40,
            },
        ]
    );
    // The other app was only active with the screen on; a range of the
    // second hour alone holds the one attempt made in it.
    assert!(!apps.iter().any(|a| a.uid == Some(OTHER)));
    let second = query::screen_off_apps(&connection, T0 + HOUR, T0 + 2 * HOUR).unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].uid, second[0].allowed), (Some(APP), 1));
    assert!(
        query::screen_off_apps(&connection, T0 + 2 * HOUR, T0 + 3 * HOUR)
            .unwrap()
            .is_empty()
    );

    // Clearing the activity clears the rollup too.
    query::clear_activity(&connection).unwrap();
    assert!(rollup(&connection).is_empty());
}

#[test]
fn a_blocked_retry_never_folds_across_a_change_of_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let host = "t.tracker.example";
    let blocked = |t: i64, off: bool| attempt(t, Some(APP), host, Verdict::Blocked, off);
    let connection = write_in_batches(
        &path,
        vec![
            // Screen on: two retries fold; off: a row of its own, and its
            // retry folds there; on again: a new row.
            vec![
                blocked(T0, false),
                blocked(T0 + 100, false),
                blocked(T0 + 200, true),
                blocked(T0 + 300, true),
                blocked(T0 + 400, false),
            ],
            // The next batch, within the window: a screen-on retry joins the
            // screen-on row stored last; a screen-off one cannot join it.
            vec![blocked(T0 + 500, false)],
            vec![blocked(T0 + 600, true), blocked(T0 + 700, true)],
        ],
    );
    let stored: Vec<(i64, u64, bool)> = rows(&connection)
        .into_iter()
        .map(|e| (e.time_ms, e.repeats, e.screen_off))
        .collect();
    assert_eq!(
        stored,
        [
            (T0, 2, false),
            (T0 + 200, 2, true),
            (T0 + 400, 2, false),
            (T0 + 600, 2, true),
        ]
    );
    // Every screen-off attempt is counted, folded or not.
    assert_eq!(rollup(&connection), [(i64::from(APP), "blocked".into(), 4)]);
}

#[test]
fn the_evidence_counts_screen_off_attempts_per_host_and_hashes_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let events = || {
        vec![vec![
            attempt(T0, Some(APP), "a.example", Verdict::Allowed, true),
            attempt(T0 + 10, Some(APP), "a.example", Verdict::Blocked, true),
            attempt(T0 + 20, Some(APP), "a.example", Verdict::Blocked, true),
            attempt(T0 + 30, Some(APP), "a.example", Verdict::Allowed, false),
            attempt(T0 + 40, Some(APP), "b.example", Verdict::Allowed, false),
            attempt(T0 + 50, Some(APP), "c.example", Verdict::Failed, true),
        ]]
    };
    let connection = write_in_batches(&dir.path().join("one.db"), events());
    let evidence = hush_store::evidence::evidence(&connection, APP)
        .unwrap()
        .unwrap();
    let by_host: Vec<(&str, u64, u64, u64)> = evidence
        .hosts
        .iter()
        .map(|h| {
            (
                h.host.as_str(),
                h.screen_off.allowed,
                h.screen_off.blocked,
                h.screen_off.failed,
            )
        })
        .collect();
    assert_eq!(
        by_host,
        [
            ("a.example", 1, 2, 0),
            ("b.example", 0, 0, 0),
            ("c.example", 0, 0, 1)
        ]
    );
    assert_eq!(evidence.screen_off.attempts(), 4);
    assert_eq!(
        (evidence.screen_off.allowed, evidence.screen_off.blocked),
        (1, 2)
    );
    assert!(evidence.screen_known_since_ms.is_some());

    // The same events with one screen state changed hash differently; the
    // same events again hash the same.
    let same = write_in_batches(&dir.path().join("two.db"), events());
    let mut changed = events();
    changed[0][4].screen_off = true;
    let changed = write_in_batches(&dir.path().join("three.db"), changed);
    let digest = |c: &Connection| {
        hush_store::evidence::evidence(c, APP)
            .unwrap()
            .unwrap()
            .sha256
    };
    assert_eq!(digest(&same), evidence.sha256);
    assert_ne!(digest(&changed), evidence.sha256);
}

#[test]
fn retention_drops_old_screen_off_hours_with_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write_in_batches(
        &dir.path().join("hush.db"),
        vec![vec![
            attempt(T0, Some(APP), "a.example", Verdict::Allowed, true),
            attempt(
                T0 + 3 * HOUR,
                Some(APP),
                "a.example",
                Verdict::Allowed,
                true,
            ),
        ]],
    );
    // A day and two hours after the first: its hour goes, the later stays.
    let day = Some(Duration::from_secs(86_400));
    query::apply_retention_at(&connection, T0 + 26 * HOUR, day, None).unwrap();
    let hours: Vec<i64> = connection
        .prepare("SELECT hour FROM screen_off_hourly")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(hours, [(T0 + 3 * HOUR) / HOUR]);
}
