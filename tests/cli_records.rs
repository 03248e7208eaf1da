//! `hush rule`, `hush log`, `hush stats`, `hush apps`, `hush export`,
//! `hush retention` and `hush clear` on real database files: what they
//! store, what they print, and the clear errors bad input gets. No root
//! needed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::SystemTime;

use hush_engine::{AppPolicy, Event, EventSink, Reason, Verdict};

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
fn each_app_option_is_stored_per_app_and_as_the_default_beside_the_other() {
    type On = fn(&AppPolicy, Option<u32>) -> bool;
    let resolved_only: (&str, &str, On) =
        ("resolved-only", "resolved only", AppPolicy::resolved_only);
    let strict: (&str, &str, On) = ("strict", "strict", AppPolicy::strict);
    for (option, other) in [(resolved_only, strict), (strict, resolved_only)] {
        let ((command, name, on), (other_command, other_name, other_on)) = (option, other);
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_db(dir.path());
        for args in [
            ["rule", command, "all", "on", "--db", &db],
            ["rule", command, "10123", "off", "--db", &db],
            ["rule", command, "10124", "on", "--db", &db],
            ["rule", command, "10124", "default", "--db", &db],
            ["rule", other_command, "10125", "on", "--db", &db],
        ] {
            let output = hush(&args);
            assert!(output.status.success(), "{args:?}: {:?}", text(&output));
        }
        let (listed, _) = text(&hush(&["rule", "list", "--db", &db]));
        let own = format!(
            "{name}, for apps without their own choice: on\n\
             app 10123: {name} off\n"
        );
        let beside = format!("app 10125: {other_name} on\n");
        // `hush rule list` shows resolved only before strict.
        let expected = if command == "resolved-only" {
            own + &beside
        } else {
            beside + &own
        };
        assert_eq!(listed, expected);
        let mut connection = hush_store::open(Path::new(&db)).unwrap();
        let policy = hush_store::rules::app_policy(&mut connection).unwrap();
        assert!(!on(&policy, Some(10_123)), "{command}");
        assert!(on(&policy, Some(10_124)) && on(&policy, Some(10_125)));
        assert!(other_on(&policy, Some(10_125)) && !other_on(&policy, Some(10_124)));
        for (args, expected) in [
            (
                ["rule", command, "all", "default", "--db", &db],
                "give on or off",
            ),
            (
                ["rule", command, "10123", "maybe", "--db", &db],
                "unknown setting",
            ),
            (
                ["rule", command, "everyone", "on", "--db", &db],
                "neither a uid nor `all`",
            ),
        ] {
            let output = hush(&args);
            assert_eq!(output.status.code(), Some(1), "{args:?}");
            assert!(
                text(&output).1.contains(expected),
                "{args:?}: {:?}",
                text(&output)
            );
        }
    }
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
        (
            vec!["rule", "app", "4294967295", "block-all", "--db", &db],
            "not a uid any app can have",
        ),
        (
            vec!["rule", "unknown-owner", "block-most", "--db", &db],
            "unknown mode",
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
    // A uid nobody has yet: kept, with a note.
    let output = hush(&["rule", "app", "3999999", "block-all", "--db", &db]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("app 3999999 on any: block-all"), "{stdout}");
    assert!(
        stderr.contains("no app or user with uid 3999999"),
        "{stderr}"
    );
    // A known one (root): no note.
    let (_, stderr) = text(&hush(&["rule", "app", "0", "allow-all", "--db", &db]));
    assert!(stderr.is_empty(), "{stderr}");
    assert!(hush(&["rule", "unknown-owner", "block-all", "--db", &db])
        .status
        .success());
    let (listed, _) = text(&hush(&["rule", "list", "--db", &db]));
    assert_eq!(
        listed,
        "apps that cannot be told: block-all\n\
         app 0 on any: allow-all\n\
         app 3999999 on any: block-all\n"
    );
    // Not a number: clap's own error.
    assert_eq!(
        hush(&["rule", "app", "me", "block-all", "--db", &db])
            .status
            .code(),
        Some(2)
    );
}

/// Writes events through the real log writer.
fn record(db: &str, events: &[(Option<u32>, &str, Verdict, SystemTime)]) {
    let writer =
        hush_store::EventWriter::start(hush_store::open(Path::new(db)).unwrap(), 64).unwrap();
    for &(uid, host, verdict, time) in events {
        writer.record(Event {
            time,
            uid,
            host: host.into(),
            address: "198.19.0.10".parse().unwrap(),
            port: 443,
            protocol: "tls",
            detail: "sni".into(),
            verdict,
            reason: Reason::Unlisted,
            screen_off: false,
        });
    }
    writer.finish().unwrap();
}

#[test]
fn log_prints_filtered_events_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let now = SystemTime::now();
    record(
        &db,
        &[
            (Some(10_123), "tracking.miui.com", Verdict::Blocked, now),
            (Some(10_123), "f-droid.org", Verdict::Allowed, now),
            (None, "data.mistat.xiaomi.com", Verdict::Blocked, now),
        ],
    );
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

#[test]
fn stats_apps_and_export_show_each_app() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let now = SystemTime::now();
    let mut events = vec![(Some(10_123), "tracking.miui.com", Verdict::Blocked, now); 3];
    events.push((Some(10_123), "f-droid.org", Verdict::Allowed, now));
    events.push((Some(10_200), "tracking.miui.com", Verdict::Blocked, now));
    events.push((None, "a,\"quoted\".example", Verdict::Blocked, now));
    record(&db, &events);
    assert!(hush(&[
        "rule",
        "app",
        "10300",
        "block-all",
        "--network",
        "mobile",
        "--db",
        &db
    ])
    .status
    .success());

    let (stats, stderr) = text(&hush(&["stats", "--db", &db]));
    assert!(stderr.is_empty(), "{stderr}");
    let row = |text: &str, start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no row for {start:?} in:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // uid (user, if any), blocked, allowed, failed.
    let app = row(&stats, "10123");
    assert_eq!(
        &app[app.len() - 9..app.len() - 6],
        ["3", "1", "0"],
        "{stats}"
    );
    assert!(stats.contains("tracking.miui.com (3)"), "{stats}");
    let host = row(&stats, "tracking.miui.com");
    assert_eq!(
        host[1..],
        ["4", "2"],
        "blocked 4 times, for 2 apps: {stats}"
    );
    let today = stats
        .lines()
        .find(|l| l.contains("blocked") && l.starts_with("20"))
        .expect("a day in the timeline");
    assert!(
        today.contains("blocked        5") && today.contains("allowed        1"),
        "{today}"
    );

    let (apps, _) = text(&hush(&["apps", "--db", &db]));
    // The app with a rule but no activity is listed too, with its modes.
    let ruled = row(&apps, "10300");
    assert!(
        ruled.contains(&"block-trackers".to_string()) && ruled.contains(&"block-all".to_string()),
        "{apps}"
    );
    assert!(apps.lines().any(|l| l.starts_with("unknown app")), "{apps}");

    let csv_path = dir.path().join("out.csv");
    let output = hush(&[
        "export",
        "--db",
        &db,
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{:?}", text(&output));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    // The three blocked attempts in a row are one row that counts them
    // (a retry storm is one row); every attempt is still in the counts.
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let repeats = header.iter().position(|&c| c == "repeats").expect("{csv}");
    let counts: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.rsplit(',')
                .nth(header.len() - 1 - repeats)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(counts, [3, 1, 1, 1], "{csv}");
    assert!(csv.contains("\"a,\"\"quoted\"\".example\""), "{csv}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&csv_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "an export is the owner's alone");
    let (json, _) = text(&hush(&[
        "export", "--db", &db, "--format", "json", "--uid", "10123",
    ]));
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{json}");
    assert!(lines.iter().all(|l| l["uid"] == 10_123));
    let attempts: u64 = lines.iter().map(|l| l["repeats"].as_u64().unwrap()).sum();
    assert_eq!(attempts, 4, "{json}");
}

/// What an app or a list chose to be called (a host it sent, its own
/// label, a list's name and URL) is printed with bidirectional controls and
/// newlines as code points, in `hush log`, `hush stats`, `hush apps` and
/// `hush rule list`: it cannot reorder a line or forge one.
#[test]
fn hostile_names_and_labels_are_escaped_on_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let host = "evil\u{202E}moc.example\nFORGED 0 allowed";
    record(
        &db,
        &[(Some(10_200), host, Verdict::Blocked, SystemTime::now())],
    );
    let connection = hush_store::open(Path::new(&db)).unwrap();
    hush_store::rules::set_app(
        &connection,
        10_200,
        "Bank\u{202E}ppa\nFORGED app",
        &["org.evil.app"],
        false,
    )
    .unwrap();
    hush_store::rules::record_list_load(
        &connection,
        "ads\u{202E}\nFORGED list",
        "https://lists.example/\u{202E}\nFORGED",
        1,
    )
    .unwrap();
    drop(connection);
    let escaped_host = "evil[U+202E]moc.example[U+000A]FORGED 0 allowed";
    let escaped_label = "10200 (Bank[U+202E]ppa[U+000A]FORGED app)";
    // `lines`: how many the output has when nothing forged one.
    let check = |args: &[&str], wanted: &[&str], lines: Option<usize>| {
        let output = hush(args);
        let (out, err) = text(&output);
        assert!(output.status.success(), "{args:?}: {err}");
        assert!(!out.contains('\u{202E}'), "{args:?}: {out}");
        for wanted in wanted {
            assert!(out.contains(wanted), "{args:?} lacks {wanted:?}: {out}");
        }
        assert!(
            !out.lines().any(|line| line.starts_with("FORGED")),
            "{args:?}: a name forged a line: {out}"
        );
        if let Some(lines) = lines {
            assert_eq!(out.lines().count(), lines, "{args:?}: {out}");
        }
    };
    check(&["log", "--db", &db], &[escaped_host], Some(1));
    check(
        &["stats", "--db", &db, "--days", "1"],
        &[
            &format!("{escaped_label} "),
            &format!("  {escaped_host} (1)"),
            &format!("\n{escaped_host} "),
        ],
        None,
    );
    // The header and the app.
    check(&["apps", "--db", &db], &[escaped_label], Some(2));
    check(
        &["rule", "list", "--db", &db],
        &["list ads[U+202E][U+000A]FORGED list (https://lists.example/[U+202E][U+000A]FORGED): 1 entries, on\n"],
        Some(1),
    );
}

#[test]
fn retention_and_clear_delete_activity_and_keep_rules() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let now = SystemTime::now();
    let old = now - std::time::Duration::from_secs(40 * 86_400);
    record(
        &db,
        &[
            (Some(1), "old.example", Verdict::Blocked, old),
            (Some(1), "new.example", Verdict::Blocked, now),
            (Some(1), "newer.example", Verdict::Allowed, now),
        ],
    );
    assert!(hush(&["rule", "app", "1", "block-all", "--db", &db])
        .status
        .success());
    let (default, _) = text(&hush(&["retention", "--db", &db]));
    assert_eq!(
        default, "keep events for: 30 days\nkeep at most:    no limit\n",
        "never set is 30 days"
    );
    let (set, _) = text(&hush(&["retention", "--max-age-days", "30", "--db", &db]));
    assert!(set.contains("deleted 1 events"), "{set}");
    assert!(set.contains("keep events for: 30 days"), "{set}");
    let (left, _) = text(&hush(&["log", "--db", &db]));
    assert_eq!(left.lines().count(), 2, "{left}");
    assert!(!left.contains("old.example"));
    let (cleared, _) = text(&hush(&["clear", "--db", &db]));
    assert!(cleared.contains("cleared 2 events"), "{cleared}");
    let (left, _) = text(&hush(&["log", "--db", &db]));
    assert_eq!(left, "");
    let (rules, _) = text(&hush(&["rule", "list", "--db", &db]));
    assert_eq!(rules, "app 1 on any: block-all\n", "rules survive a clear");
    let (kept, _) = text(&hush(&["retention", "--db", &db]));
    assert!(kept.contains("30 days"), "settings survive a clear: {kept}");
    let (off, _) = text(&hush(&["retention", "--off", "--db", &db]));
    assert!(off.contains("keep events for: no limit"), "{off}");
    let (kept, _) = text(&hush(&["retention", "--db", &db]));
    assert!(
        kept.contains("keep events for: no limit"),
        "no limit is kept, not read as the default: {kept}"
    );
    let bad = hush(&["export", "--db", &db, "--action", "dropped"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).1.contains("unknown action"), "{:?}", text(&bad));
}

#[test]
fn lists_builtin_shows_each_built_in_list_with_its_count_and_switch() {
    let output = hush(&["lists", "builtin"]);
    let (out, err) = text(&output);
    assert!(output.status.success(), "{err}");
    let rows: Vec<&str> = out.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[0].starts_with("hush-default\t"), "{out}");
    assert!(
        rows[1].starts_with("hush-adaway\t6540 entries\tCC-BY-3.0\t"),
        "{out}"
    );
    assert!(rows[1].ends_with("(off; on with --adaway-list)"), "{out}");
    assert!(
        rows[2].starts_with("hush-doh\t1216 entries\tGPL-3.0\t"),
        "{out}"
    );
    // The flag it names is one `hush run` takes.
    let (help, _) = text(&hush(&["run", "--help"]));
    assert!(help.contains("--adaway-list"), "{help}");
}
