//! The writer starts whatever the state of the database, holds what it
//! cannot write and writes it once it can; sequence numbers, cumulative drop
//! counts, gaps; and opening a file at the same time from two connections.
//! Real SQLite files in temporary directories.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::gaps::{self, Gap};
use hush_store::{EventWriter, StoreError, WriterStatus, SCHEMA_VERSION};
use rusqlite::Connection;

fn event(host: String) -> Event {
    Event {
        time: SystemTime::now(),
        uid: Some(10_123),
        host,
        address: "198.18.0.53".parse().unwrap(),
        port: 443,
        protocol: "tcp",
        detail: "sni".into(),
        verdict: Verdict::Blocked,
        reason: Reason::Blocklist("hush-default".into()),
        screen_off: false,
    }
}

fn record(writer: &EventWriter, prefix: &str, count: usize) {
    for i in 0..count {
        writer.record(event(format!("{prefix}-{i}.example")));
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Waits (at most 30 s) until `done` says yes of the writer's status.
fn wait_for(writer: &EventWriter, what: &str, mut done: impl FnMut(&WriterStatus) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = writer.status();
        if done(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "waiting for {what}: {status:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the writer says it cannot write and holds `held` events;
/// returns its reason.
fn wait_unavailable(writer: &EventWriter, held: usize) -> String {
    let mut reason = String::new();
    wait_for(writer, "unavailable", |status| match status {
        WriterStatus::Unavailable {
            reason: why,
            held: n,
            since_ms,
        } if *n == held => {
            assert!(*since_ms > 0 && *since_ms <= now_ms());
            reason = why.clone();
            true
        }
        _ => false,
    });
    reason
}

fn wait_ready(writer: &EventWriter) {
    wait_for(writer, "ready", |status| *status == WriterStatus::Ready);
}

fn hosts(path: &Path) -> Vec<String> {
    let connection = hush_store::open(path).unwrap();
    hush_store::events(&connection)
        .unwrap()
        .into_iter()
        .map(|event| event.host)
        .collect()
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{prefix}-{i}.example"))
        .collect()
}

/// A Hush database whose schema version a newer Hush (999) has written.
fn newer_hush_db(path: &Path) {
    let connection = hush_store::open(path).unwrap();
    connection.pragma_update(None, "user_version", 999).unwrap();
    connection
        .pragma_update(None, "journal_mode", "DELETE")
        .unwrap();
}

#[test]
fn a_newer_schema_is_held_off_untouched_and_written_once_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    newer_hush_db(&path);
    let bytes = fs::read(&path).unwrap();

    let writer = EventWriter::open(&path, 100).unwrap();
    record(&writer, "held", 5);
    let reason = wait_unavailable(&writer, 5);
    assert!(reason.contains("newer"), "{reason}");
    assert_eq!(
        writer.recovery(),
        None,
        "a newer Hush's file is not recovered"
    );
    assert_eq!(writer.lost_at_last_kill(), None, "not open yet");
    assert!(fs::read(&path).unwrap() == bytes, "the file is untouched");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing beside it"
    );

    // The newer Hush's version is undone (say, by its own downgrade path):
    // the next attempt opens it, and writes what was held.
    let connection = Connection::open(&path).unwrap();
    connection
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .unwrap();
    drop(connection);
    wait_ready(&writer);
    assert_eq!(writer.lost_at_last_kill(), Some(0));
    record(&writer, "after", 2);
    writer.finish().unwrap();
    let mut expected = names("held", 5);
    expected.extend(names("after", 2));
    assert_eq!(hosts(&path), expected);
}

#[test]
fn a_database_that_never_opens_is_left_alone_and_finish_says_what_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    newer_hush_db(&path);
    let bytes = fs::read(&path).unwrap();
    let writer = EventWriter::open(&path, 100).unwrap();
    record(&writer, "held", 7);
    wait_unavailable(&writer, 7);
    let dropped = writer.dropped_counter();
    let started = Instant::now();
    let error = writer.finish().unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, StoreError::Lost { events: 7, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("7 events were lost"), "{message}");
    assert!(message.contains("newer"), "{message}");
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 7);
    assert!(fs::read(&path).unwrap() == bytes, "the file is untouched");
}

#[test]
fn a_locked_database_is_waited_for_and_the_held_events_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    drop(hush_store::open(&path).unwrap());
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let writer = EventWriter::open(&path, 100).unwrap();
    record(&writer, "held", 4);
    // The writer waits out its busy timeout (5 s), then says so.
    let reason = wait_unavailable(&writer, 4);
    assert!(reason.contains("locked"), "{reason}");
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    wait_ready(&writer);
    assert_eq!(writer.written(), 4);
    writer.finish().unwrap();
    assert_eq!(hosts(&path), names("held", 4));
}

#[test]
fn a_corrupt_file_is_kept_aside_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    fs::write(&path, &junk).unwrap();
    let writer = EventWriter::open(&path, 100).unwrap();
    record(&writer, "fresh", 3);
    wait_for(&writer, "the recovery", |_| writer.recovery().is_some());
    let recovery = writer.recovery().unwrap();
    assert!(
        recovery.reason.contains("not a SQLite database"),
        "{recovery}"
    );
    assert!(
        fs::read(&recovery.kept_aside).unwrap() == junk,
        "kept whole"
    );
    writer.finish().unwrap();
    assert_eq!(hosts(&path), names("fresh", 3));
}

#[test]
fn a_negative_schema_version_is_kept_aside_and_a_new_database_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let connection = hush_store::open(&path).unwrap();
    hush_store::rules::set_setting(&connection, "theme", "dark").unwrap();
    connection.pragma_update(None, "user_version", -1).unwrap();
    connection
        .pragma_update(None, "journal_mode", "DELETE")
        .unwrap();
    drop(connection);
    let bytes = fs::read(&path).unwrap();
    assert!(matches!(
        hush_store::open(&path),
        Err(StoreError::UnknownVersion { found: -1 })
    ));

    let writer = EventWriter::open(&path, 100).unwrap();
    record(&writer, "new", 2);
    wait_for(&writer, "the recovery", |_| writer.recovery().is_some());
    let recovery = writer.recovery().unwrap();
    assert!(recovery.reason.contains("-1"), "{recovery}");
    assert!(fs::read(&recovery.kept_aside).unwrap() == bytes);
    writer.finish().unwrap();
    assert_eq!(hosts(&path), names("new", 2));
    let connection = hush_store::open(&path).unwrap();
    assert_eq!(
        hush_store::rules::setting(&connection, "theme")
            .unwrap()
            .as_deref(),
        Some("dark"),
        "the rules read from it"
    );
}

#[test]
fn drops_beyond_the_bound_are_counted_and_the_count_is_cumulative_over_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let mut total_dropped = 0;
    for run in 0..2 {
        newer_hush_db_or_bump(&path);
        let writer = EventWriter::open(&path, 10).unwrap();
        wait_unavailable(&writer, 0);
        // At most 10 queued and 10 held: of 50, 30 or more are dropped.
        record(&writer, &format!("run{run}"), 50);
        wait_for(&writer, "all taken", |status| {
            matches!(status, WriterStatus::Unavailable { held: 10, .. })
        });
        assert!(writer.dropped() >= 30, "run {run}: {}", writer.dropped());
        assert_eq!(writer.assigned(), 50);
        let connection = Connection::open(&path).unwrap();
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION)
            .unwrap();
        drop(connection);
        wait_ready(&writer);
        let dropped = writer.dropped_counter();
        writer.finish().unwrap();
        let dropped = dropped.load(Ordering::SeqCst);
        let prefix = format!("run{run}-");
        let written = hosts(&path)
            .iter()
            .filter(|host| host.starts_with(&prefix))
            .count() as u64;
        assert!((30..=40).contains(&dropped), "run {run}: {dropped}");
        assert_eq!(written + dropped, 50, "run {run}");
        total_dropped += dropped;
        let connection = hush_store::open(&path).unwrap();
        assert_eq!(
            hush_store::dropped_events(&connection).unwrap(),
            total_dropped,
            "run {run}"
        );
    }
}

/// Makes the file at `path` (created if missing) look newer than this Hush.
fn newer_hush_db_or_bump(path: &Path) {
    if !path.exists() {
        newer_hush_db(path);
        return;
    }
    let connection = Connection::open(path).unwrap();
    connection.pragma_update(None, "user_version", 999).unwrap();
}

#[test]
fn a_killed_run_is_found_at_the_next_start_as_lost_events_and_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    // A run that committed 60 of 100 events given (3 dropped), then died:
    // what its last commit left in the counters.
    let connection = hush_store::open(&path).unwrap();
    let heartbeat = now_ms() - 3_600_000;
    connection
        .execute_batch(&format!(
            "INSERT INTO counters (name, value) VALUES
                 ('dropped_events', 3), ('run_assigned', 100), ('run_written', 60),
                 ('run_dropped', 3), ('running', 1), ('heartbeat_ms', {heartbeat});"
        ))
        .unwrap();
    drop(connection);

    let before = now_ms();
    let writer = EventWriter::open(&path, 100).unwrap();
    wait_ready(&writer);
    assert_eq!(writer.lost_at_last_kill(), Some(37));
    writer.finish().unwrap();
    let connection = hush_store::open(&path).unwrap();
    assert_eq!(hush_store::dropped_events(&connection).unwrap(), 40);
    let gaps = gaps::list(&connection, None, 10).unwrap();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    // Newest first: the stop just now, still open; then the kill.
    assert_eq!((gaps[0].reason.as_str(), gaps[0].end_ms), ("stopped", None));
    let killed = &gaps[1];
    assert_eq!(killed.reason, "killed");
    assert_eq!(killed.start_ms, heartbeat);
    let end = killed.end_ms.unwrap();
    assert!(end >= before - 1000 && end <= now_ms(), "{killed:?}");
}

#[test]
fn a_clean_stop_then_a_start_is_one_stopped_gap_and_engine_gaps_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let writer = EventWriter::open(&path, 100).unwrap();
    wait_ready(&writer);
    let restart = SystemTime::now() - Duration::from_secs(30);
    writer.record_gap(
        restart,
        restart + Duration::from_millis(1500),
        "engine-restart: test".into(),
    );
    let stopped_at = now_ms();
    writer.finish_with("revoked").unwrap();

    std::thread::sleep(Duration::from_millis(20));
    let writer = EventWriter::open(&path, 100).unwrap();
    wait_ready(&writer);
    let started_at = now_ms();
    record(&writer, "second", 1);
    writer.finish().unwrap();

    let connection = hush_store::open(&path).unwrap();
    let gaps = gaps::list(&connection, None, 10).unwrap();
    let restart_ms = restart.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    assert_eq!(gaps[0].reason, "stopped");
    assert_eq!(gaps[0].end_ms, None, "open until the next start");
    let revoked = &gaps[1];
    assert_eq!(revoked.reason, "revoked");
    assert!(revoked.start_ms >= stopped_at - 1000 && revoked.start_ms <= started_at);
    let end = revoked.end_ms.expect("closed by the start");
    assert!(end > revoked.start_ms && end <= started_at, "{revoked:?}");
    assert_eq!(
        gaps[2],
        Gap {
            start_ms: restart_ms,
            end_ms: Some(restart_ms + 1500),
            reason: "engine-restart: test".into()
        }
    );
    assert_eq!(
        gaps::list(&connection, Some(restart_ms + 2000), 10)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(hosts(&path), names("second", 1));
}

#[test]
fn a_gap_given_while_the_database_is_unusable_is_written_once_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    newer_hush_db(&path);
    let writer = EventWriter::open(&path, 100).unwrap();
    wait_unavailable(&writer, 0);
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    writer.record_gap(
        start,
        start + Duration::from_secs(2),
        "holding: test".into(),
    );
    let connection = Connection::open(&path).unwrap();
    connection
        .pragma_update(None, "user_version", SCHEMA_VERSION)
        .unwrap();
    drop(connection);
    wait_ready(&writer);
    writer.finish().unwrap();
    let connection = hush_store::open(&path).unwrap();
    let gaps = gaps::list(&connection, None, 10).unwrap();
    assert!(
        gaps.contains(&Gap {
            start_ms: 1_700_000_000_000,
            end_ms: Some(1_700_000_002_000),
            reason: "holding: test".into()
        }),
        "{gaps:?}"
    );
}

const READ_ONLY_CHILD: &str = "HUSH_TEST_WRITER_READ_ONLY_DIR";

/// In `dir`, which this process owns and cannot write to: the writer holds
/// its events, then writes them once the directory is writable again.
fn check_read_only_directory(dir: &Path) {
    let path = dir.join("hush.db");
    let writer = EventWriter::open(&path, 100).unwrap();
    record(&writer, "held", 6);
    let reason = wait_unavailable(&writer, 6);
    assert!(reason.contains(&path.display().to_string()), "{reason}");
    assert!(!path.exists());
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    wait_ready(&writer);
    writer.finish().unwrap();
    assert_eq!(hosts(&path), names("held", 6));
    println!("read-only writer checked");
}

#[test]
fn a_read_only_directory_is_waited_for_and_the_held_events_written() {
    if let Ok(dir) = std::env::var(READ_ONLY_CHILD) {
        check_read_only_directory(Path::new(&dir));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ro");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    let privileged = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    if !privileged {
        check_read_only_directory(&dir);
        return;
    }
    // Root ignores directory modes: run the check as `nobody`, who owns
    // the directory (and so can make it writable again).
    const NOBODY: u32 = 65_534;
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_read_only_directory_is_waited_for_and_the_held_events_written",
            "--nocapture",
        ])
        .env(READ_ONLY_CHILD, &dir)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            println!("SKIPPED: running as root and setpriv cannot run ({error})");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stdout.contains("running 1 test") {
        println!("SKIPPED: this test cannot run as nobody: {stderr}");
        return;
    }
    assert!(
        output.status.success() && stdout.contains("read-only writer checked"),
        "as nobody:\n{stdout}\n{stderr}"
    );
}

#[test]
fn two_connections_opening_a_new_file_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..60 {
        let path = Arc::new(dir.path().join(format!("race-{round}.db")));
        let barrier = Arc::new(Barrier::new(2));
        let openers: Vec<_> = (0..2)
            .map(|_| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    hush_store::open(&path).map(drop)
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap_or_else(|error| {
                panic!("round {round}: {error}");
            });
        }
        let connection = hush_store::open(&path).unwrap();
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION, "round {round}");
        let tables: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'gaps'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1, "round {round}: the schema once");
    }
}

const OPENER_CHILD: &str = "HUSH_TEST_OPENER_DB";

/// The child of [`two_processes_opening_a_new_file_at_once_both_succeed`]:
/// opens the file as soon as `<file>.go` exists.
#[test]
fn opener_child() {
    let Ok(path) = std::env::var(OPENER_CHILD) else {
        return;
    };
    let go = format!("{path}.go");
    while !Path::new(&go).exists() {
        std::thread::sleep(Duration::from_micros(200));
    }
    hush_store::open(Path::new(&path)).unwrap();
    println!("opened");
}

#[test]
fn two_processes_opening_a_new_file_at_once_both_succeed() {
    if std::env::var(OPENER_CHILD).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for round in 0..10 {
        let path = dir.path().join(format!("race-{round}.db"));
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "opener_child", "--nocapture"])
                    .env(OPENER_CHILD, &path)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        fs::write(format!("{}.go", path.display()), b"").unwrap();
        for child in children {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("opened"),
                "round {round}:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let connection = hush_store::open(&path).unwrap();
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
    }
}

#[cfg(feature = "fault-injection")]
mod fault_injection {
    use super::*;

    #[test]
    fn after_a_panic_in_a_batch_later_events_are_still_written_and_none_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let writer = EventWriter::open(&path, 1000).unwrap();
        record(&writer, "before", 5);
        wait_for(&writer, "the first events", |_| writer.written() == 5);
        writer.inject_panic();
        record(&writer, "during", 10);
        wait_for(&writer, "the batch tried again", |_| writer.written() == 15);
        record(&writer, "after", 5);
        writer.finish().unwrap();
        let mut expected = names("before", 5);
        expected.extend(names("during", 10));
        expected.extend(names("after", 5));
        assert_eq!(hosts(&path), expected);
        let connection = hush_store::open(&path).unwrap();
        assert_eq!(hush_store::dropped_events(&connection).unwrap(), 0);
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn a_batch_that_panics_three_times_running_is_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let writer = EventWriter::open(&path, 1000).unwrap();
        wait_ready(&writer);
        for _ in 0..3 {
            writer.inject_panic();
        }
        record(&writer, "poison", 4);
        wait_for(&writer, "the batch dropped", |_| writer.dropped() > 0);
        let dropped = writer.dropped();
        assert!((1..=4).contains(&dropped), "{dropped}");
        record(&writer, "after", 3);
        writer.finish().unwrap();
        let stored = hosts(&path);
        assert_eq!(stored.len() as u64 + dropped, 7, "{stored:?}");
        assert_eq!(stored[stored.len() - 3..], names("after", 3));
        let connection = hush_store::open(&path).unwrap();
        assert_eq!(hush_store::dropped_events(&connection).unwrap(), dropped);
    }
}
