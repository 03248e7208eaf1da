//! Opening a fuzzed database file, as Hush does at start
//! (`hush_store::recover::open_or_recover`): it is opened, or kept aside
//! and replaced, or refused with an error; never a panic.
//!
//! Beyond that: a database it opens can be read and written through the
//! store's own calls, and opening it again finds it usable (a file is
//! recovered at most once), with a rule written to it kept.
//!
//! Input: flags (bit 0: the rest is split into the file and its `-wal`
//! at a 16-bit offset), then the file's bytes.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use hush_fuzz::Input;
use hush_store::recover::open_or_recover;
use hush_store::rules::{self, DomainAction};
use hush_store::EventFilter;
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("hush-fuzz-store-{}", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.u8();
    let split = usize::from(input.u16());
    let bytes = input.rest();
    let (file, wal) = if flags & 1 == 1 {
        bytes.split_at(split.min(bytes.len()))
    } else {
        (bytes, &[][..])
    };

    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("a scratch directory");
    let path = dir.join("hush.db");
    std::fs::write(&path, file).expect("the file written");
    if !wal.is_empty() {
        std::fs::write(dir.join("hush.db-wal"), wal).expect("the WAL written");
    }

    let Ok((connection, recovery)) = open_or_recover(&path) else {
        return;
    };
    // Read and written through the store's own calls. A file that passed
    // the check may still hold rows the store refuses to read (an error,
    // which is fine); a write to a file it opened must work.
    // A file that passes the check may hold a rule whose text is not UTF-8
    // (found by this target): it opens, and its rules cannot be read.
    let readable = rules::domain_rules(&connection).is_ok();
    let _ = rules::app_modes(&connection);
    let _ = rules::apps(&connection);
    let _ = hush_store::recent_events(&connection, &EventFilter::default(), 10, 0);
    let _ = hush_store::query::retention_settings(&connection);
    let written = rules::add_domain_rule(
        &connection,
        Some(10_001),
        "fuzz.example",
        DomainAction::Block,
    );
    drop(connection);

    let (again, second) = open_or_recover(&path).expect("a file opened once opens again");
    assert_eq!(second, None, "recovered twice (first: {recovery:?})");
    if written.is_ok() && readable {
        let stored = rules::domain_rules(&again).expect("rules read back");
        assert!(
            stored.iter().any(|rule| rule.domain == "fuzz.example"),
            "a rule written is kept"
        );
    }
});
