//! An app retrying a blocked name or address in a loop is one stored row
//! with a count (issue 15): repeats within the window fold into the row of
//! the first attempt, across batches, while the aggregates count every
//! attempt; another app, name, reason or verdict is a row of its own.
//! Real SQLite files in temporary directories.

use std::time::{Duration, Instant, UNIX_EPOCH};

use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::{EventWriter, StoredEvent, REPEAT_WINDOW};
use rusqlite::Connection;

/// 2025-01-29T00:00:00Z, the start of an hour.
const T0: i64 = 1_738_108_800_000;
const HOUR: i64 = 3_600_000;
const APP: u32 = 10_101;

fn attempt(time_ms: i64, uid: Option<u32>, host: &str, verdict: Verdict) -> Event {
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
        screen_off: false,
    }
}

/// Records `events`, each group written in a batch of its own.
fn write_in_batches(connection: Connection, groups: Vec<Vec<Event>>) -> Connection {
    let path = connection.path().unwrap().to_string();
    let writer = EventWriter::start(connection, 1 << 16).unwrap();
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
    hush_store::open(std::path::Path::new(&path)).unwrap()
}

fn rows(connection: &Connection) -> Vec<StoredEvent> {
    hush_store::events(connection).unwrap()
}

fn hourly_total(connection: &Connection, host: &str) -> i64 {
    connection
        .query_row(
            "SELECT coalesce(sum(count), 0) FROM hourly WHERE host = ?1",
            [host],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_retry_storm_is_one_row_with_its_count_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    // 3 batches of 400 attempts, 5 ms apart: a loop that never stops.
    let groups: Vec<Vec<Event>> = (0..3)
        .map(|batch| {
            (0..400)
                .map(|i| {
                    let t = T0 + (batch * 400 + i) * 5;
                    attempt(t, Some(APP), "t.tracker.example", Verdict::Blocked)
                })
                .collect()
        })
        .collect();
    let connection = write_in_batches(connection, groups);
    let stored = rows(&connection);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].repeats, 1200);
    assert_eq!(stored[0].time_ms, T0);
    assert_eq!(stored[0].last_ms, T0 + 1199 * 5);
    assert_eq!(stored[0].uid, Some(APP));
    assert_eq!(stored[0].action, "blocked");
    assert_eq!(hourly_total(&connection, "t.tracker.example"), 1200);
    let hosts: i64 = connection
        .query_row("SELECT events FROM hosts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hosts, 1, "the host index counts rows");
}

#[test]
fn another_app_name_or_verdict_is_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    let mut group = Vec::new();
    for i in 0..10 {
        let t = T0 + i * 100;
        group.push(attempt(t, Some(APP), "a.tracker.example", Verdict::Blocked));
        group.push(attempt(
            t,
            Some(APP + 1),
            "a.tracker.example",
            Verdict::Blocked,
        ));
        group.push(attempt(t, None, "a.tracker.example", Verdict::Blocked));
        group.push(attempt(t, Some(APP), "b.tracker.example", Verdict::Blocked));
        // Allowed attempts are each a real connection: a row each.
        group.push(attempt(t, Some(APP), "ok.example", Verdict::Allowed));
    }
    let mut other_reason = attempt(T0 + 5, Some(APP), "a.tracker.example", Verdict::Blocked);
    other_reason.reason = Reason::AppMode(hush_engine::AppMode::BlockAll);
    group.push(other_reason);
    let connection = write_in_batches(connection, vec![group]);
    let stored = rows(&connection);
    let count = |uid: Option<u32>, host: &str, reason: &str| -> Vec<u64> {
        stored
            .iter()
            .filter(|e| e.uid == uid && e.host == host && e.reason == reason)
            .map(|e| e.repeats)
            .collect()
    };
    let list = "list:hush-default";
    assert_eq!(count(Some(APP), "a.tracker.example", list), [10]);
    assert_eq!(count(Some(APP + 1), "a.tracker.example", list), [10]);
    assert_eq!(count(None, "a.tracker.example", list), [10]);
    assert_eq!(count(Some(APP), "b.tracker.example", list), [10]);
    assert_eq!(count(Some(APP), "a.tracker.example", "app:block-all"), [1]);
    assert_eq!(count(Some(APP), "ok.example", "unlisted"), [1; 10]);
    assert_eq!(stored.len(), 4 + 1 + 10);
}

#[test]
fn an_attempt_that_went_otherwise_in_between_keeps_rows_apart_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    let host = "t.tracker.example";
    let aaaa = |t: i64| {
        let mut event = attempt(t, Some(APP), host, Verdict::Blocked);
        event.detail = "AAAA".into();
        event
    };
    let group = vec![
        // A lookup's two queries, retried: one row each.
        attempt(T0, Some(APP), host, Verdict::Blocked),
        aaaa(T0 + 1),
        attempt(T0 + 100, Some(APP), host, Verdict::Blocked),
        aaaa(T0 + 101),
        // Allowed after a rule change, then blocked again: three rows.
        attempt(T0 + 200, Some(APP), host, Verdict::Allowed),
        attempt(T0 + 300, Some(APP), host, Verdict::Blocked),
    ];
    let connection = write_in_batches(connection, vec![group]);
    let found: Vec<(i64, String, String, u64)> = rows(&connection)
        .into_iter()
        .map(|e| (e.time_ms, e.detail, e.action, e.repeats))
        .collect();
    let row = |t: i64, detail: &str, action: &str, n: u64| (t, detail.into(), action.into(), n);
    assert_eq!(
        found,
        [
            row(T0, "A", "blocked", 2),
            row(T0 + 1, "AAAA", "blocked", 2),
            row(T0 + 200, "A", "allowed", 1),
            row(T0 + 300, "A", "blocked", 1),
        ]
    );
}

#[test]
fn a_pause_longer_than_the_window_or_a_new_hour_starts_a_new_row() {
    let dir = tempfile::tempdir().unwrap();
    let window = REPEAT_WINDOW.as_millis() as i64;
    let host = "t.tracker.example";
    let start = T0 + HOUR - 3 * window;
    let times = [
        start,
        start + window,         // within the window of the last: counted
        start + 2 * window + 1, // a pause longer than the window: a new row
        T0 + HOUR - 1,
        T0 + HOUR, // the next hour: a new row
        T0 + HOUR + 1,
    ];
    // One batch, then the same across batches: the same rows either way.
    for split in [false, true] {
        let dir = dir.path().join(format!("split-{split}"));
        std::fs::create_dir(&dir).unwrap();
        let connection = hush_store::open(&dir.join("hush.db")).unwrap();
        let all: Vec<Event> = times
            .iter()
            .map(|&t| attempt(t, Some(APP), host, Verdict::Blocked))
            .collect();
        let groups = if split {
            all.into_iter().map(|e| vec![e]).collect()
        } else {
            vec![all]
        };
        let connection = write_in_batches(connection, groups);
        let found: Vec<(i64, u64, i64)> = rows(&connection)
            .iter()
            .map(|e| (e.time_ms, e.repeats, e.last_ms))
            .collect();
        assert_eq!(
            found,
            [
                (start, 2, start + window),
                (start + 2 * window + 1, 2, T0 + HOUR - 1),
                (T0 + HOUR, 2, T0 + HOUR + 1),
            ],
            "split into batches: {split}"
        );
        assert_eq!(hourly_total(&connection, host), 6);
    }
}

#[test]
fn a_repeat_of_a_row_retention_deleted_is_a_new_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let writer = EventWriter::start(hush_store::open(&path).unwrap(), 1024).unwrap();
    let host = "t.tracker.example";
    writer.record(attempt(T0, Some(APP), host, Verdict::Blocked));
    let deadline = Instant::now() + Duration::from_secs(30);
    while writer.written() < 1 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let other = hush_store::open(&path).unwrap();
    other.execute("DELETE FROM events", []).unwrap();
    writer.record(attempt(T0 + 10, Some(APP), host, Verdict::Blocked));
    writer.finish().unwrap();
    let stored = rows(&other);
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].time_ms, stored[0].repeats), (T0 + 10, 1));
}

#[test]
fn a_version_7_database_gains_repeats_and_keeps_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let connection = hush_store::open(&path).unwrap();
        connection
            .execute_batch(&format!(
                "ALTER TABLE events DROP COLUMN last_ms;
                 ALTER TABLE events DROP COLUMN repeats;
                 DROP TABLE screen_off_hourly; ALTER TABLE events DROP COLUMN screen_off;
                 INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason)
                 VALUES ({T0}, {APP}, 't.tracker.example', '198.18.0.53', 53, 'dns', 'A',
                         'blocked', 'list:hush-default');
                 PRAGMA user_version = 7;"
            ))
            .unwrap();
    }
    let connection = hush_store::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, hush_store::SCHEMA_VERSION);
    let stored = rows(&connection);
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].repeats, stored[0].last_ms), (1, T0));
    // The writer knows only the rows it wrote itself: a repeat after the
    // upgrade starts a row of its own.
    let connection = write_in_batches(
        connection,
        vec![vec![attempt(
            T0 + 1,
            Some(APP),
            "t.tracker.example",
            Verdict::Blocked,
        )]],
    );
    let repeats: Vec<u64> = rows(&connection).iter().map(|e| e.repeats).collect();
    assert_eq!(repeats, [1, 1]);
}
