//! The rule follower sleeps while the database is left alone, and a change
//! written by another connection (as `hush rule` writes it) is in force
//! within a second. Alone in its own binary, so the only follower thread in
//! the process is this test's.

use std::time::{Duration, Instant};

use hush_engine::{policy_channel, AppMode, Network};
use hush_session::follow::{follow, load, Rules};

/// The context switches of every thread named `name` in this process.
fn switches_of(name: &str) -> u64 {
    let mut total = 0;
    let mut seen = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        seen += 1;
        let status = std::fs::read_to_string(task.join("status")).unwrap();
        for line in status.lines() {
            if let Some(count) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                total += count.trim().parse::<u64>().unwrap();
            }
        }
    }
    assert_eq!(seen, 1, "one follower thread expected");
    total
}

#[test]
fn an_idle_follower_sleeps_and_a_change_is_in_force_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let other = hush_store::open(&path).unwrap();
    let (sender, mut receiver) = policy_channel(load(&path, Network::Wifi).unwrap());
    let (stop, thread) = follow(path.clone(), sender, Rules::Follow).unwrap();

    // Its start (retention, a first read) is not idle.
    std::thread::sleep(Duration::from_millis(500));
    let before = switches_of("hush-store-sync");
    std::thread::sleep(Duration::from_secs(3));
    let idle = switches_of("hush-store-sync") - before;
    // A 250 ms poll would have switched a dozen times.
    assert!(idle <= 2, "the idle follower switched {idle} times in 3 s");
    assert!(
        !receiver.has_changed().unwrap(),
        "nothing changed, nothing sent"
    );

    for (uid, mode) in [
        (10_001, AppMode::BlockAll),
        (10_002, AppMode::AllowAll),
        (10_001, AppMode::AllowAll),
    ] {
        let written = Instant::now();
        hush_store::rules::set_app_mode(&other, uid, Network::Wifi, mode).unwrap();
        loop {
            if receiver.has_changed().unwrap()
                && receiver.borrow_and_update().mode(Some(uid)) == mode
            {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(1),
                "the change to {uid} {mode:?} was not in force within 1 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    let asked = Instant::now();
    drop(stop);
    thread.join().unwrap();
    assert!(
        asked.elapsed() < Duration::from_millis(500),
        "stopped at once"
    );
}
