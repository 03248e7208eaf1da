//! A writer killed (`SIGKILL`) in the middle of its batches loses nothing it
//! committed and leaves a whole database: events and their hourly sums agree.
//! The next writer counts the events that were queued at the kill as lost
//! (added to the dropped count) and records the time without Hush as a
//! `killed` gap.
//!
//! The child is this test binary again, running [`crash_writer_child`] with
//! the database path in [`CHILD_DB`]; it reports each count of events it has
//! seen committed, read on a second connection.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::recover::open_or_recover;
use hush_store::{gaps, EventWriter, WriterStatus};

const CHILD_DB: &str = "HUSH_CRASH_CHILD_DB";
const ROUNDS: usize = 5;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn event(i: u64) -> Event {
    Event {
        time: SystemTime::now(),
        uid: Some(10_000 + (i % 7) as u32),
        host: format!("host-{}.tracker.example", i % 50),
        address: "198.18.0.53".parse().unwrap(),
        port: 53,
        protocol: "dns",
        detail: "A".into(),
        verdict: Verdict::Blocked,
        reason: Reason::Blocklist("hush-default".into()),
        screen_off: false,
    }
}

/// The child: writes events without end, and prints `committed N` each time
/// a second connection sees a new count. Does nothing in a normal test run.
#[test]
fn crash_writer_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let writer = EventWriter::start(hush_store::open(Path::new(&path)).unwrap(), 8192).unwrap();
    let reader = hush_store::open(Path::new(&path)).unwrap();
    let mut stdout = std::io::stdout().lock();
    let mut last = -1i64;
    for i in 0.. {
        writer.record(event(i));
        if i % 1000 == 999 {
            let count: i64 = reader
                .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
                .unwrap();
            if count != last {
                writeln!(stdout, "committed {count}").unwrap();
                stdout.flush().unwrap();
                last = count;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A small generator seeded from the clock; the seed is printed, for a
/// failure to be replayed by hand.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

#[test]
fn a_writer_killed_mid_batch_loses_nothing_it_committed() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut random = Random(seed);
    let mut last_reported = 0;
    let mut total_lost = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_writer_child", "--nocapture"])
            .env(CHILD_DB, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (counts, received) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(count) = line.strip_prefix("committed ") {
                    counts.send(count.parse::<i64>().unwrap()).unwrap();
                }
            }
        });
        // Once it is writing, let it run a random while, then kill it.
        let first = received
            .recv_timeout(Duration::from_secs(30))
            .expect("the child reports its first commit");
        let delay = Duration::from_millis(100 + random.below(1400));
        let killed_at = Instant::now();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let reported = received.try_iter().last().unwrap_or(first);
        assert!(reported >= last_reported);
        last_reported = reported;

        let (connection, recovery) = open_or_recover(&path).unwrap();
        assert_eq!(recovery, None, "round {round}: the file is whole");
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        let (events, hourly): (i64, i64) = connection
            .query_row(
                "SELECT (SELECT coalesce(sum(repeats), 0) FROM events), (SELECT sum(count) FROM hourly)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        println!(
            "round {round}: killed after {:?}, {reported} reported committed, {events} stored",
            killed_at.elapsed()
        );
        assert!(
            events >= reported,
            "round {round}: {events} stored, {reported} reported committed"
        );
        assert_eq!(hourly, events, "round {round}: the hourly sums agree");
        assert!(events > 0);
        let dropped_before = hush_store::dropped_events(&connection).unwrap();
        let (heartbeat, running) = gaps::last_heartbeat(&connection).unwrap().unwrap();
        assert!(
            running,
            "round {round}: the killed run is still marked running"
        );
        drop(connection);

        // The next start: what was queued at the kill is counted lost, and
        // the time since the child's last heartbeat is a `killed` gap.
        let started = now_ms();
        let writer = EventWriter::open(&path, 16).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while writer.status() != WriterStatus::Ready {
            assert!(Instant::now() < deadline, "{:?}", writer.status());
            std::thread::sleep(Duration::from_millis(10));
        }
        let lost = writer.lost_at_last_kill().unwrap();
        writer.finish_with("test").unwrap();
        let connection = hush_store::open(&path).unwrap();
        assert_eq!(
            hush_store::dropped_events(&connection).unwrap(),
            dropped_before + lost,
            "round {round}: the lost events are counted once"
        );
        let gaps = gaps::list(&connection, Some(started - 60_000), 10).unwrap();
        let killed = gaps
            .iter()
            .find(|gap| gap.reason == "killed")
            .unwrap_or_else(|| panic!("round {round}: {gaps:?}"));
        assert_eq!(killed.start_ms, heartbeat, "round {round}");
        assert!(killed.end_ms.unwrap() >= heartbeat, "round {round}");
        println!("round {round}: {lost} events lost at the kill");
        total_lost += lost;
    } // Not asserted: a kill that lands just after a commit with nothing
      // queued loses nothing.
    println!("{total_lost} events lost over {ROUNDS} kills");
}
