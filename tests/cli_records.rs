//! `hush rule` and `hush log` on real database files: what they store, what
//! they print, and the clear errors bad input gets. No root needed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::SystemTime;

use hush_engine::{Event, EventSink, Reason, Verdict};

const HUSH: &str = env!("CARGO_BIN_EXE_hush");

fn hush(args: &[&str]) -> Output {
    Command::new(HUSH)
        .args(args)
        .output()
        .expect("failed to run hush")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn fresh_db(dir: &Path) -> String {
    let path = dir.join("hush.db");
    hush_store::open(&path).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn rules_are_stored_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    for args in [
        vec!["rule", "app", "10123", "block-all", "--db", &db],
        vec![
            "rule",
            "app",
            "10123",
            "allow-all",
            "--network",
            "wifi",
            "--db",
            &db,
        ],
        vec![
            "rule",
            "domain",
            "add",
            "Tracking.MIUI.com",
            "block",
            "--db",
            &db,
        ],
        vec![
            "rule",
            "domain",
            "add",
            "f-droid.org",
            "allow",
            "--uid",
            "10123",
            "--db",
            &db,
        ],
    ] {
        let output = hush(&args);
        assert!(output.status.success(), "{args:?}: {:?}", text(&output));
    }
    let (listed, _) = text(&hush(&["rule", "list", "--db", &db]));
    assert_eq!(
        listed,
        "app 10123 on any: block-all\n\
         app 10123 on wifi: allow-all\n\
         block tracking.miui.com for every app\n\
         allow f-droid.org for app 10123\n"
    );
    assert!(hush(&["rule", "app", "10123", "--clear", "--db", &db])
        .status
        .success());
    let removed = hush(&["rule", "domain", "remove", "tracking.miui.com", "--db", &db]);
    assert!(removed.status.success());
    let (listed, _) = text(&hush(&["rule", "list", "--db", &db]));
    assert_eq!(
        listed,
        "app 10123 on wifi: allow-all\nallow f-droid.org for app 10123\n"
    );
}

#[test]
fn bad_rules_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    for (args, expected) in [
        (
            vec!["rule", "app", "10123", "block-some", "--db", &db],
            "unknown mode",
        ),
        (
            vec![
                "rule",
                "app",
                "10123",
                "block-all",
                "--network",
                "5g",
                "--db",
                &db,
            ],
            "unknown network",
        ),
        (
            vec![
                "rule",
                "domain",
                "add",
                "bad name.example",
                "block",
                "--db",
                &db,
            ],
            "not a valid domain",
        ),
        (
            vec!["rule", "domain", "add", "x.example", "deny", "--db", &db],
            "unknown action",
        ),
        (
            vec!["rule", "domain", "remove", "never.example", "--db", &db],
            "no rule for",
        ),
        (
            vec!["rule", "list", "--db", "/nonexistent/hush.db"],
            "no database at",
        ),
        (
            vec!["log", "--db", &db, "--action", "dropped"],
            "unknown action",
        ),
    ] {
        let output = hush(&args);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!Path::new("/nonexistent/hush.db").exists());
    let (listed, _) = text(&hush(&["rule", "list", "--db", &db]));
    assert_eq!(listed, "");
    // Not a number: clap's own error.
    assert_eq!(
        hush(&["rule", "app", "me", "block-all", "--db", &db])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn log_prints_filtered_events_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let writer =
        hush_store::EventWriter::start(hush_store::open(Path::new(&db)).unwrap(), 16).unwrap();
    for (uid, host, verdict) in [
        (Some(10_123), "tracking.miui.com", Verdict::Blocked),
        (Some(10_123), "f-droid.org", Verdict::Allowed),
        (None, "data.mistat.xiaomi.com", Verdict::Blocked),
    ] {
        writer.record(Event {
            time: SystemTime::now(),
            uid,
            host: host.into(),
            address: "198.19.0.10".parse().unwrap(),
            port: 443,
            protocol: "tls",
            detail: "sni".into(),
            verdict,
            reason: Reason::Unlisted,
        });
    }
    writer.finish().unwrap();
    let output = hush(&["log", "--db", &db, "--json", "--action", "blocked"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["host"], "data.mistat.xiaomi.com");
    assert_eq!(lines[0]["uid"], serde_json::Value::Null);
    assert_eq!(lines[1]["uid"], 10_123);
    for line in &lines {
        for key in [
            "time", "uid", "host", "ip", "port", "protocol", "action", "reason",
        ] {
            assert!(line.get(key).is_some(), "{key} missing: {line}");
        }
        assert_eq!(line["action"], "blocked");
        assert_eq!(line["port"], 443);
    }
    let (only_app, _) = text(&hush(&[
        "log", "--db", &db, "--uid", "10123", "--host", "droid",
    ]));
    assert_eq!(only_app.lines().count(), 1);
    assert!(only_app.contains("f-droid.org"));
}
