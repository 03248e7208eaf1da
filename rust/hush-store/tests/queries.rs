//! The UI's and the CLI's queries, exports and retention, on real SQLite
//! files written through the log writer.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::query::{
    self, app_summaries, apply_retention_at, clear_activity, daily_timeline, export_csv,
    export_json, retention_settings, set_retention_settings, top_blocked_hosts, AppSummary,
    DayCount, RetentionReport, RetentionSettings,
};
use hush_store::rules::{self, AppMode, DomainAction, Network};
use hush_store::{Connection, EventFilter, EventWriter};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2025-01-29T00:00:00Z.
const T0: i64 = 1_738_108_800_000;

fn event(time_ms: i64, uid: Option<u32>, host: &str, verdict: Verdict) -> Event {
    let (protocol, port, detail, reason) = match verdict {
        Verdict::Blocked => ("dns", 53, "A", Reason::Blocklist("hush-default".into())),
        Verdict::Allowed => ("tcp", 443, "sni", Reason::Unlisted),
        Verdict::Failed => ("dns", 53, "AAAA", Reason::UpstreamTimeout),
    };
    Event {
        time: UNIX_EPOCH + Duration::from_millis(time_ms as u64),
        uid,
        host: host.into(),
        address: if port == 53 {
            "10.111.222.1".parse().unwrap()
        } else {
            "93.184.215.14".parse().unwrap()
        },
        port,
        protocol,
        detail: detail.into(),
        verdict,
        reason,
        screen_off: false,
    }
}

/// Writes `events` through the log writer, as the engine would, and
/// returns the database opened again.
fn write(path: &Path, events: impl IntoIterator<Item = Event>) -> Connection {
    let writer = EventWriter::start(hush_store::open(path).unwrap(), 1 << 20).unwrap();
    for event in events {
        writer.record(event);
    }
    assert_eq!(writer.dropped(), 0);
    writer.finish().unwrap();
    hush_store::open(path).unwrap()
}

const APP_A: u32 = 10_101;
const APP_B: u32 = 10_102;
const APP_C: u32 = 10_103;

/// Day 2 (T0 + 1 day) is the range the tests ask for; the same kinds of
/// events on day 1 and day 3 must not be counted.
fn activity() -> Vec<Event> {
    let mut events = Vec::new();
    let mut add = |uid, host: &str, verdict, count: i64, start: i64, step: i64| {
        for i in 0..count {
            events.push(event(start + i * step, uid, host, verdict));
        }
    };
    let day2 = T0 + DAY;
    for (uid, host, verdict, count) in [
        (Some(APP_A), "t1.tracker.com", Verdict::Blocked, 7),
        (Some(APP_A), "t3.tracker.com", Verdict::Blocked, 5),
        (Some(APP_A), "t2.tracker.com", Verdict::Blocked, 5),
        (Some(APP_A), "t4.tracker.com", Verdict::Blocked, 3),
        (Some(APP_A), "t5.tracker.com", Verdict::Blocked, 2),
        (Some(APP_A), "t6.tracker.com", Verdict::Blocked, 1),
        (Some(APP_A), "api.example.com", Verdict::Allowed, 10),
        (Some(APP_A), "slow.example.com", Verdict::Failed, 2),
        (Some(APP_B), "t1.tracker.com", Verdict::Blocked, 4),
        (Some(APP_B), "cdn.example.net", Verdict::Allowed, 30),
        (None, "t2.tracker.com", Verdict::Blocked, 4),
        (None, "ntp.example.org", Verdict::Allowed, 1),
        (Some(APP_C), "f-droid.org", Verdict::Allowed, 3),
    ] {
        // Spread over the day's hours, 37 minutes apart.
        add(uid, host, verdict, count, day2 + HOUR, 37 * 60_000);
    }
    // Outside the range: the day before and the day after, a minute apart.
    add(
        Some(APP_A),
        "t6.tracker.com",
        Verdict::Blocked,
        50,
        T0,
        60_000,
    );
    let day3 = T0 + 2 * DAY;
    add(
        Some(APP_C),
        "t6.tracker.com",
        Verdict::Blocked,
        50,
        day3,
        60_000,
    );
    events.sort_by_key(|e| e.time);
    events
}

#[test]
fn app_summaries_count_each_app_over_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), activity());
    let day2 = T0 + DAY;
    let summaries = app_summaries(&connection, day2, day2 + DAY).unwrap();
    let last = |count: i64| day2 + HOUR + (count - 1) * 37 * 60_000;
    let hosts = |list: &[(&str, u64)]| -> Vec<(String, u64)> {
        list.iter().map(|(h, c)| (h.to_string(), *c)).collect()
    };
    assert_eq!(
        summaries,
        [
            AppSummary {
                uid: Some(APP_A),
                blocked: 23,
                allowed: 10,
                failed: 2,
                first_ms: day2 + HOUR,
                last_ms: last(10),
                // Six hosts blocked, five named; t2 and t3 tie, by name.
                top_blocked: hosts(&[
                    ("t1.tracker.com", 7),
                    ("t2.tracker.com", 5),
                    ("t3.tracker.com", 5),
                    ("t4.tracker.com", 3),
                    ("t5.tracker.com", 2),
                ]),
            },
            // B and the unknown owner both have 4 blocked: B is busier.
            AppSummary {
                uid: Some(APP_B),
                blocked: 4,
                allowed: 30,
                failed: 0,
                first_ms: day2 + HOUR,
                last_ms: last(30),
                top_blocked: hosts(&[("t1.tracker.com", 4)]),
            },
            AppSummary {
                uid: None,
                blocked: 4,
                allowed: 1,
                failed: 0,
                first_ms: day2 + HOUR,
                last_ms: last(4),
                top_blocked: hosts(&[("t2.tracker.com", 4)]),
            },
            AppSummary {
                uid: Some(APP_C),
                blocked: 0,
                allowed: 3,
                failed: 0,
                first_ms: day2 + HOUR,
                last_ms: last(3),
                top_blocked: vec![],
            },
        ]
    );
    assert_eq!(summaries[0].total(), 35);
    // The whole log: the other days' 100 blocked events join in.
    let all = app_summaries(&connection, 0, i64::MAX).unwrap();
    let blocked: Vec<_> = all.iter().map(|s| (s.uid, s.blocked)).collect();
    assert_eq!(
        blocked,
        [
            (Some(APP_A), 73),
            (Some(APP_C), 50),
            (Some(APP_B), 4),
            (None, 4)
        ]
    );
    assert_eq!(all[0].first_ms, T0);
    // Nothing in an empty range.
    assert!(app_summaries(&connection, day2, day2).unwrap().is_empty());
}

#[test]
fn aggregates_count_whole_hours() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(
        &dir.path().join("hush.db"),
        [
            event(T0 + 10 * 60_000, Some(APP_A), "a.example", Verdict::Blocked),
            event(T0 + 50 * 60_000, Some(APP_A), "a.example", Verdict::Blocked),
            event(T0 + HOUR, Some(APP_A), "a.example", Verdict::Blocked),
        ],
    );
    // [00:30, 00:31) overlaps hour 0 only, which counts whole.
    let summaries = app_summaries(&connection, T0 + 30 * 60_000, T0 + 31 * 60_000).unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].blocked, 2);
    assert_eq!(
        (summaries[0].first_ms, summaries[0].last_ms),
        (T0 + 10 * 60_000, T0 + 50 * 60_000)
    );
    // The end is exclusive: [00:00, 01:00) leaves out 01:00.
    let hosts = top_blocked_hosts(&connection, T0, T0 + HOUR, None, 10).unwrap();
    assert_eq!(hosts, [("a.example".to_string(), 2, 1)]);
    let hosts = top_blocked_hosts(&connection, T0, T0 + HOUR + 1, None, 10).unwrap();
    assert_eq!(hosts, [("a.example".to_string(), 3, 1)]);
}

#[test]
fn top_blocked_hosts_rank_by_count_then_name() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), activity());
    let (since, until) = (T0 + DAY, T0 + 2 * DAY);
    let row = |host: &str, count, apps| (host.to_string(), count, apps);
    assert_eq!(
        top_blocked_hosts(&connection, since, until, None, 10).unwrap(),
        [
            row("t1.tracker.com", 11, 2),
            row("t2.tracker.com", 9, 2),
            row("t3.tracker.com", 5, 1),
            row("t4.tracker.com", 3, 1),
            row("t5.tracker.com", 2, 1),
            row("t6.tracker.com", 1, 1),
        ]
    );
    assert_eq!(
        top_blocked_hosts(&connection, since, until, None, 2).unwrap(),
        [row("t1.tracker.com", 11, 2), row("t2.tracker.com", 9, 2)]
    );
    assert_eq!(
        top_blocked_hosts(&connection, since, until, Some(None), 10).unwrap(),
        [row("t2.tracker.com", 4, 1)]
    );
    assert_eq!(
        top_blocked_hosts(&connection, since, until, Some(Some(APP_B)), 10).unwrap(),
        [row("t1.tracker.com", 4, 1)]
    );
    assert!(
        top_blocked_hosts(&connection, since, until, Some(Some(APP_C)), 10)
            .unwrap()
            .is_empty()
    );
    // Over three days, t6 leads: blocked for A on day 1 and C on day 3.
    assert_eq!(
        top_blocked_hosts(&connection, T0, T0 + 3 * DAY, None, 1).unwrap(),
        [row("t6.tracker.com", 101, 2)]
    );
}

#[test]
fn the_timeline_counts_local_days() {
    let dir = tempfile::tempdir().unwrap();
    let minute = 60_000;
    let connection = write(
        &dir.path().join("hush.db"),
        [
            // 2025-01-29 22:10 and 23:30 UTC, 2025-01-30 00:10 and 12:00 UTC.
            event(
                T0 + 22 * HOUR + 10 * minute,
                Some(APP_A),
                "a",
                Verdict::Blocked,
            ),
            event(
                T0 + 23 * HOUR + 30 * minute,
                Some(APP_A),
                "a",
                Verdict::Allowed,
            ),
            event(T0 + DAY + 10 * minute, None, "b", Verdict::Failed),
            event(T0 + DAY + 12 * HOUR, Some(APP_B), "c", Verdict::Blocked),
            // 2025-02-01, not in the range asked for.
            event(T0 + 3 * DAY, Some(APP_B), "c", Verdict::Blocked),
        ],
    );
    let day = |day: &str, blocked, allowed, failed| DayCount {
        day: day.into(),
        blocked,
        allowed,
        failed,
    };
    let (since, until) = (T0 - DAY, T0 + 2 * DAY);
    assert_eq!(
        daily_timeline(&connection, since, until, None, 0).unwrap(),
        [day("2025-01-29", 1, 1, 0), day("2025-01-30", 1, 0, 1)]
    );
    // UTC+1: 23:30 UTC is 00:30 on the 30th.
    assert_eq!(
        daily_timeline(&connection, since, until, None, 60).unwrap(),
        [day("2025-01-29", 1, 0, 0), day("2025-01-30", 1, 1, 1)]
    );
    // UTC-5 (New York): 00:10 UTC on the 30th is 19:10 on the 29th.
    assert_eq!(
        daily_timeline(&connection, since, until, None, -300).unwrap(),
        [day("2025-01-29", 1, 1, 1), day("2025-01-30", 1, 0, 0)]
    );
    // UTC+14 (Kiribati): 22:10 UTC on the 29th is 12:10 on the 30th.
    assert_eq!(
        daily_timeline(&connection, since, until, None, 14 * 60).unwrap(),
        [day("2025-01-30", 1, 1, 1), day("2025-01-31", 1, 0, 0)]
    );
    assert_eq!(
        daily_timeline(&connection, since, until, Some(Some(APP_B)), 0).unwrap(),
        [day("2025-01-30", 1, 0, 0)]
    );
    assert_eq!(
        daily_timeline(&connection, since, until, Some(None), 0).unwrap(),
        [day("2025-01-30", 0, 0, 1)]
    );
    assert_eq!(
        daily_timeline(&connection, 0, i64::MAX, None, 0)
            .unwrap()
            .last(),
        Some(&day("2025-02-01", 1, 0, 0))
    );
}

/// Hosts that need quoting, as a hostile network could make them appear
/// (an HTTP Host header is whatever the app sent).
const AWKWARD: [&str; 4] = [
    "plain.example",
    "comma,host.example",
    "quote\"d.example",
    "new\nline.example",
];

fn awkward_activity() -> Vec<Event> {
    let mut events: Vec<Event> = AWKWARD
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let uid = (i != 1).then_some(APP_A + i as u32);
            event(T0 + i as i64 * 1001, uid, host, Verdict::Blocked)
        })
        .collect();
    events.push(event(
        T0 + 5000,
        Some(APP_B),
        "Mixed.CASE.example",
        Verdict::Allowed,
    ));
    events.push(event(
        T0 + 6000,
        Some(APP_B),
        "later.example",
        Verdict::Failed,
    ));
    events
}

#[test]
fn csv_export_quotes_what_needs_it_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), awkward_activity());
    let mut out = Vec::new();
    let count = export_csv(&connection, &EventFilter::default(), &mut out).unwrap();
    assert_eq!(count, 6);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with(
        "time,time_ms,uid,host,ip,port,protocol,detail,action,reason,repeats,last_ms,screen_off\n"
    ));
    assert!(text.contains(",\"comma,host.example\","));
    assert!(text.contains(",\"quote\"\"d.example\","));
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let hosts: Vec<&str> = rows.iter().map(|r| &r[3]).collect();
    assert_eq!(
        hosts,
        [
            AWKWARD[0],
            AWKWARD[1],
            AWKWARD[2],
            // A newline cannot break a line of whatever shows the cell.
            "new[U+000A]line.example",
            "Mixed.CASE.example",
            "later.example"
        ]
    );
    let first: Vec<&str> = rows[0].iter().collect();
    assert_eq!(
        first,
        [
            "2025-01-29T00:00:00.000Z",
            "1738108800000",
            "10101",
            "plain.example",
            "10.111.222.1",
            "53",
            "dns",
            "A",
            "blocked",
            "list:hush-default",
            "1",
            "1738108800000",
            "0"
        ]
    );
    assert_eq!(&rows[1][0], "2025-01-29T00:00:01.001Z");
    assert_eq!(&rows[1][2], "", "an unknown owner is an empty uid");
    assert_eq!(&rows[5][9], "timeout");

    // Filters: case-insensitive host text, uid, action, [since, until).
    let export = |filter: EventFilter| {
        let mut out = Vec::new();
        let count = export_csv(&connection, &filter, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let hosts: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[3].to_string())
            .collect();
        assert_eq!(hosts.len() as u64, count);
        hosts
    };
    assert_eq!(
        export(EventFilter {
            host_contains: Some("mixed.case".into()),
            ..Default::default()
        }),
        ["Mixed.CASE.example"]
    );
    assert_eq!(
        export(EventFilter {
            uid: Some(APP_B),
            action: Some("failed".into()),
            ..Default::default()
        }),
        ["later.example"]
    );
    assert_eq!(
        export(EventFilter {
            since_ms: Some(T0 + 1001),
            until_ms: Some(T0 + 3003),
            ..Default::default()
        }),
        [AWKWARD[1], AWKWARD[2]]
    );
    assert!(export(EventFilter {
        uid: Some(1),
        ..Default::default()
    })
    .is_empty());
}

/// Host names, details and list names a hostile app or list could make
/// Hush store, written through the log writer, and the exact cells and
/// JSON strings each export gives for them.
const HOSTILE: [(&str, &str); 10] = [
    (
        "=HYPERLINK(\"http://x.example\")",
        "'=HYPERLINK(\"http://x.example\")",
    ),
    ("+1+cmd", "'+1+cmd"),
    ("-2.example", "'-2.example"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1+1", "[U+0009]=1+1"),
    ("\r=1+1", "[U+000D]=1+1"),
    ("a\u{202E}elpmaxe.b", "a[U+202E]elpmaxe.b"),
    (
        "\u{200B}\u{2066}x\u{2069}\u{FEFF}\u{061C}",
        "[U+200B][U+2066]x[U+2069][U+FEFF][U+061C]",
    ),
    (
        "nul\0bell\u{7}del\u{7F}csi\u{9B}",
        "nul[U+0000]bell[U+0007]del[U+007F]csi[U+009B]",
    ),
    ("mid=dle-and@plain.example", "mid=dle-and@plain.example"),
];

fn hostile_activity() -> Vec<Event> {
    HOSTILE
        .iter()
        .enumerate()
        .map(|(i, (text, _))| {
            let mut event = event(T0 + i as i64, Some(APP_A), text, Verdict::Blocked);
            event.detail = (*text).into();
            event.reason = Reason::Blocklist((*text).into());
            event
        })
        .collect()
}

#[test]
fn csv_cells_cannot_start_a_formula_or_hide_characters() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), hostile_activity());
    let mut out = Vec::new();
    let count = export_csv(&connection, &EventFilter::default(), &mut out).unwrap();
    assert_eq!(count, HOSTILE.len() as u64);
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), HOSTILE.len());
    for (row, (stored, cell)) in rows.iter().zip(HOSTILE) {
        assert_eq!(&row[3], cell, "host {stored:?}");
        assert_eq!(&row[7], cell, "detail {stored:?}");
        // `list:` comes first, so the reason needs no `'`; the list name
        // in it is escaped all the same.
        let name = cell.strip_prefix('\'').unwrap_or(cell);
        assert_eq!(&row[9], format!("list:{name}"), "reason {stored:?}");
    }
    // The numeric columns stay numbers: no `'` before a negative time.
    let mut before_1970 = event(0, Some(APP_A), "-neg.example", Verdict::Blocked);
    before_1970.time = UNIX_EPOCH - Duration::from_millis(5);
    let connection = write(&dir.path().join("negative.db"), [before_1970]);
    let mut out = Vec::new();
    export_csv(&connection, &EventFilter::default(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert_eq!(
        line,
        "1969-12-31T23:59:59.995Z,-5,10101,'-neg.example,10.111.222.1,53,dns,A,blocked,\
         list:hush-default,1,-5,0"
    );
    // No line of the file starts with a formula character or holds a raw
    // control or bidirectional character.
    let mut out = Vec::new();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    export_csv(&connection, &EventFilter::default(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text
        .chars()
        .any(|c| c != '\n' && hush_store::visible::is_disguising(c)));
}

#[test]
fn json_export_shows_invisible_characters() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), hostile_activity());
    let mut out = Vec::new();
    export_json(&connection, &EventFilter::default(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text
        .chars()
        .any(|c| c != '\n' && hush_store::visible::is_disguising(c)));
    let values: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(values.len(), HOSTILE.len());
    for (value, (stored, cell)) in values.iter().zip(HOSTILE) {
        // JSON escapes C0 controls itself, so those come back as stored;
        // what JSON would leave raw is shown as its code point.
        let expected: String = stored
            .chars()
            .map(|c| {
                if c >= ' ' && hush_store::visible::is_disguising(c) {
                    format!("[U+{:04X}]", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect();
        assert_eq!(value["host"], expected.as_str(), "{stored:?} ({cell:?})");
        assert_eq!(value["detail"], expected.as_str());
        assert_eq!(value["reason"], format!("list:{expected}"));
    }
    assert_eq!(values[6]["host"], "a[U+202E]elpmaxe.b");
    assert_eq!(values[8]["host"], "nul\0bell\u{7}del[U+007F]csi[U+009B]");
}

#[test]
fn json_lines_export_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), awkward_activity());
    let mut out = Vec::new();
    let count = export_json(&connection, &EventFilter::default(), &mut out).unwrap();
    assert_eq!(count, 6);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "one line per event, newlines escaped");
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        values[0],
        serde_json::json!({
            "time": "2025-01-29T00:00:00.000Z",
            "time_ms": 1_738_108_800_000i64,
            "uid": 10_101,
            "host": "plain.example",
            "ip": "10.111.222.1",
            "port": 53,
            "protocol": "dns",
            "detail": "A",
            "action": "blocked",
            "reason": "list:hush-default",
            "repeats": 1,
            "last_ms": 1_738_108_800_000i64,
            "screen_off": false,
        })
    );
    let keys: Vec<&str> = lines[0]
        .trim_matches(['{', '}'])
        .split(',')
        .map(|field| field.split(':').next().unwrap().trim_matches('"'))
        .collect();
    assert_eq!(
        keys,
        [
            "time",
            "time_ms",
            "uid",
            "host",
            "ip",
            "port",
            "protocol",
            "detail",
            "action",
            "reason",
            "repeats",
            "last_ms",
            "screen_off"
        ]
    );
    assert_eq!(values[1]["uid"], serde_json::Value::Null);
    for (value, host) in values.iter().zip(AWKWARD) {
        assert_eq!(value["host"], host);
    }
    assert_eq!(values[4]["port"], 443);
    assert_eq!(values[4]["detail"], "sni");
    // An empty export writes nothing.
    let mut out = Vec::new();
    let filter = EventFilter {
        action: Some("none".into()),
        ..Default::default()
    };
    assert_eq!(export_json(&connection, &filter, &mut out).unwrap(), 0);
    assert!(out.is_empty());
}

#[test]
fn an_export_reports_a_failing_writer() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), awkward_activity());
    let filter = EventFilter::default();
    for result in [
        export_csv(&connection, &filter, Broken),
        export_json(&connection, &filter, Broken),
    ] {
        assert!(
            matches!(result, Err(query::ExportError::Io(_))),
            "{result:?}"
        );
    }
}

/// (time_ms, host) of every stored event, oldest first.
fn stored(connection: &Connection) -> Vec<(i64, String)> {
    hush_store::events(connection)
        .unwrap()
        .into_iter()
        .map(|e| (e.time_ms, e.host))
        .collect()
}

#[test]
fn retention_by_age_removes_exactly_the_older_events_and_hours() {
    let dir = tempfile::tempdir().unwrap();
    // One event every 10 minutes for 3 days: 432 events, 72 hours.
    let events: Vec<Event> = (0..432)
        .map(|i| {
            event(
                T0 + i * 600_000,
                Some(APP_A),
                &format!("h{i}"),
                Verdict::Allowed,
            )
        })
        .collect();
    let connection = write(&dir.path().join("hush.db"), events);
    assert_eq!(hush_store::hourly_counts(&connection).unwrap().len(), 432);
    let now = T0 + 3 * DAY;
    // Keep 1 day and 25 minutes: the cutoff falls inside hour 47.
    let report = apply_retention_at(
        &connection,
        now,
        Some(Duration::from_millis((DAY + 25 * 60_000) as u64)),
        None,
    )
    .unwrap();
    let cutoff = now - DAY - 25 * 60_000;
    let kept = stored(&connection);
    assert_eq!(report.events_deleted, 432 - kept.len() as u64);
    assert_eq!(kept.first().unwrap().0, cutoff + 5 * 60_000);
    assert!(kept.iter().all(|(time, _)| *time >= cutoff));
    assert_eq!(kept.len(), 146);
    // Hours 0..47 ended before the cutoff; hour 47 itself is kept whole.
    let hours: Vec<i64> = hush_store::hourly_counts(&connection)
        .unwrap()
        .iter()
        .map(|h| h.hour - T0 / HOUR)
        .collect();
    assert_eq!(report.hourly_deleted, 47 * 6);
    assert_eq!(*hours.first().unwrap(), 47);
    assert_eq!(hours.len(), 432 - 47 * 6);
    // Again: nothing more to do.
    let again = apply_retention_at(
        &connection,
        now,
        Some(Duration::from_millis((DAY + 25 * 60_000) as u64)),
        None,
    )
    .unwrap();
    assert_eq!(again, RetentionReport::default());
}

#[test]
fn retention_by_count_keeps_exactly_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    // 12,345 events (more than two deletion chunks), in pairs sharing a
    // millisecond: which of a pair is older is the order of writing.
    let events: Vec<Event> = (0..12_345)
        .map(|i| {
            event(
                T0 + i / 2 * 1000,
                None,
                &format!("n{i}.example"),
                Verdict::Blocked,
            )
        })
        .collect();
    let connection = write(&dir.path().join("hush.db"), events);
    let hourly_before = hush_store::hourly_counts(&connection).unwrap();
    let report = apply_retention_at(&connection, T0 + DAY, None, Some(1_001)).unwrap();
    assert_eq!(
        report,
        RetentionReport {
            events_deleted: 11_344,
            hourly_deleted: 0,
            copies_deleted: 0,
        }
    );
    let kept = stored(&connection);
    let expected: Vec<(i64, String)> = (11_344..12_345)
        .map(|i| (T0 + i / 2 * 1000, format!("n{i}.example")))
        .collect();
    assert_eq!(kept, expected);
    // The hourly counts are kept by age only.
    assert_eq!(
        hush_store::hourly_counts(&connection).unwrap(),
        hourly_before
    );
    // Both limits: age first, then count.
    let report = apply_retention_at(
        &connection,
        T0 + 6_000 * 1000,
        Some(Duration::from_secs(200)),
        Some(100),
    )
    .unwrap();
    // Age keeps times >= T0 + 5,800 s: pairs 5,800..=6,172, 745 events.
    assert_eq!(report.events_deleted, 1_001 - 100);
    let kept = stored(&connection);
    assert_eq!(kept.len(), 100);
    assert_eq!(kept[0].1, "n12245.example");
    assert_eq!(
        apply_retention_at(&connection, T0, None, Some(u64::MAX)).unwrap(),
        RetentionReport::default()
    );
}

#[test]
fn retention_runs_while_the_writer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    // Allowed: blocked, the same attempt again would be one row of repeats.
    let old: Vec<Event> = (0..60_000)
        .map(|i| event(T0 + i, Some(APP_A), "old.example", Verdict::Allowed))
        .collect();
    drop(write(&path, old));
    let writer = EventWriter::start(hush_store::open(&path).unwrap(), 1 << 20).unwrap();
    let retention = {
        let path = path.clone();
        std::thread::spawn(move || {
            let connection = hush_store::open(&path).unwrap();
            apply_retention_at(&connection, T0 + DAY, None, Some(0)).unwrap()
        })
    };
    let mut written = 0;
    while !retention.is_finished() || written < 1_000 {
        writer.record(event(
            T0 + DAY,
            Some(APP_B),
            "new.example",
            Verdict::Allowed,
        ));
        written += 1;
        std::thread::sleep(Duration::from_micros(200));
    }
    let report = retention.join().unwrap();
    assert_eq!(writer.dropped(), 0);
    writer.finish().expect("the writer never timed out");
    let connection = hush_store::open(&path).unwrap();
    let events = hush_store::events(&connection).unwrap();
    // The retention thread counted what it found, then deleted that many
    // oldest: the old events, and perhaps new ones written before its count.
    assert!(report.events_deleted >= 60_000);
    assert!(events.iter().all(|e| e.host == "new.example"));
    assert_eq!(
        events.len() as u64 + report.events_deleted,
        60_000 + written
    );
}

#[test]
fn retention_settings_are_stored_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    // Ten events of the last ten minutes, newest last.
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let events: Vec<Event> = (0..10)
        .map(|i| {
            let time = now - (10 - i) * 60_000;
            event(time, None, &format!("x{i}.example"), Verdict::Blocked)
        })
        .collect();
    let connection = write(&dir.path().join("hush.db"), events);
    assert_eq!(
        retention_settings(&connection).unwrap(),
        RetentionSettings {
            max_age_days: Some(30),
            max_events: None
        },
        "never set is the default: 30 days, any number"
    );
    let settings = RetentionSettings {
        max_age_days: Some(30),
        max_events: Some(4),
    };
    set_retention_settings(&connection, &settings).unwrap();
    assert_eq!(retention_settings(&connection).unwrap(), settings);
    assert_eq!(
        rules::setting(&connection, "retention.max_age_days")
            .unwrap()
            .as_deref(),
        Some("30")
    );
    assert_eq!(
        rules::setting(&connection, "retention.max_events")
            .unwrap()
            .as_deref(),
        Some("4")
    );
    assert_eq!(settings.max_age(), Some(Duration::from_secs(30 * 86_400)));
    // None is 30 days old: the count decides, and the newest 4 stay.
    let report = query::apply_retention_settings(&connection).unwrap();
    assert_eq!(report.events_deleted, 6);
    let hosts: Vec<String> = stored(&connection).into_iter().map(|(_, h)| h).collect();
    assert_eq!(
        hosts,
        ["x6.example", "x7.example", "x8.example", "x9.example"]
    );
    // No limit is stored as such, not read back as the default.
    let settings = RetentionSettings {
        max_age_days: None,
        max_events: Some(4),
    };
    set_retention_settings(&connection, &settings).unwrap();
    assert_eq!(retention_settings(&connection).unwrap(), settings);
    assert_eq!(
        rules::setting(&connection, "retention.max_age_days")
            .unwrap()
            .as_deref(),
        Some("none")
    );
    // Something else stored under the key is an error, not a silent default.
    rules::set_setting(&connection, "retention.max_events", "lots").unwrap();
    let error = retention_settings(&connection).unwrap_err().to_string();
    assert!(error.contains("retention.max_events"), "{error}");
}

/// A database where retention was never set keeps 30 days: the follower
/// applies the stored settings, so an event of 31 days ago goes and one of
/// 29 days ago stays. "No limit", stored as the owner's choice, keeps both.
#[test]
fn a_fresh_database_keeps_30_days_unless_told_to_keep_everything() {
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let events = || {
        vec![
            event(now - 31 * DAY, None, "old.example", Verdict::Blocked),
            event(now - 29 * DAY, None, "recent.example", Verdict::Blocked),
        ]
    };
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("fresh.db"), events());
    let report = query::apply_retention_settings(&connection).unwrap();
    assert_eq!(report.events_deleted, 1);
    let hosts: Vec<String> = stored(&connection).into_iter().map(|(_, h)| h).collect();
    assert_eq!(hosts, ["recent.example"]);

    let connection = write(&dir.path().join("kept.db"), events());
    set_retention_settings(&connection, &RetentionSettings::NO_LIMIT).unwrap();
    assert_eq!(
        retention_settings(&connection).unwrap(),
        RetentionSettings::NO_LIMIT
    );
    let report = query::apply_retention_settings(&connection).unwrap();
    assert_eq!(report.events_deleted, 0);
    let hosts: Vec<String> = stored(&connection).into_iter().map(|(_, h)| h).collect();
    assert_eq!(hosts, ["old.example", "recent.example"]);
}

#[test]
fn clearing_activity_keeps_rules_and_settings_and_leaves_no_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let events: Vec<Event> = (0..5_000)
        .map(|i| event(T0 + i, Some(APP_A), "secret-site.example", Verdict::Allowed))
        .collect();
    let connection = write(&path, events);
    rules::set_app_mode(&connection, APP_A, Network::Wifi, AppMode::BlockAll).unwrap();
    rules::add_domain_rule(&connection, None, "ads.example", DomainAction::Block).unwrap();
    rules::set_setting(&connection, "theme", "dark").unwrap();
    connection
        .execute(
            "INSERT INTO apps (uid, label) VALUES (?1, 'Browser')",
            [APP_A],
        )
        .unwrap();
    connection
        .execute(
            "INSERT INTO counters (name, value) VALUES ('dropped_events', 3)
             ON CONFLICT (name) DO UPDATE SET value = 3",
            [],
        )
        .unwrap();
    let report = clear_activity(&connection).unwrap();
    assert_eq!(
        report,
        RetentionReport {
            events_deleted: 5_000,
            hourly_deleted: 1,
            copies_deleted: 0,
        }
    );
    assert!(hush_store::events(&connection).unwrap().is_empty());
    assert!(hush_store::hourly_counts(&connection).unwrap().is_empty());
    assert_eq!(
        rules::app_modes(&connection).unwrap(),
        [(APP_A, Network::Wifi, AppMode::BlockAll)]
    );
    assert_eq!(rules::domain_rules(&connection).unwrap().len(), 1);
    assert_eq!(
        rules::setting(&connection, "theme").unwrap().as_deref(),
        Some("dark")
    );
    let label: String = connection
        .query_row("SELECT label FROM apps WHERE uid = ?1", [APP_A], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(label, "Browser");
    assert_eq!(hush_store::dropped_events(&connection).unwrap(), 3);
    // The name is gone from the file and its log, not just unlinked.
    drop(connection);
    for file in ["hush.db", "hush.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(
                !bytes.windows(11).any(|w| w == b"secret-site"),
                "{file} still holds the name"
            );
        }
    }
    // The writer works on as before.
    let connection = write(&path, [event(T0, None, "after.example", Verdict::Blocked)]);
    assert_eq!(hush_store::events(&connection).unwrap().len(), 1);
}

/// The pages on the free list of the SQLite file `bytes` (its header
/// names the first trunk page; each trunk lists leaf pages and the next),
/// trunks first.
fn free_pages(bytes: &[u8]) -> (Vec<usize>, Vec<usize>) {
    let be32 = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    let (mut trunks, mut leaves) = (Vec::new(), Vec::new());
    let mut trunk = be32(32);
    while trunk != 0 && trunks.len() <= bytes.len() / page_size {
        let at = (trunk - 1) * page_size;
        trunks.push(trunk);
        for leaf in 0..be32(at + 4) {
            leaves.push(be32(at + 8 + 4 * leaf));
        }
        trunk = be32(at);
    }
    assert_eq!(
        trunks.len() + leaves.len(),
        be32(36),
        "the header's count of free pages"
    );
    (trunks, leaves)
}

/// What retention deletes is overwritten (`secure_delete`), as clearing's
/// is: no page it frees keeps a name past the cutoff. (Slack space of
/// pages still in use can keep old bytes that a b-tree rebalance left
/// there; only clearing, which frees every page of the activity, or a
/// VACUUM removes those.)
#[test]
fn retention_leaves_no_deleted_names_in_free_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let mut events: Vec<Event> = (0..3_000)
        .map(|i| {
            let host = format!("secret-old-{i}.example");
            event(T0 + i, Some(APP_A), &host, Verdict::Blocked)
        })
        .collect();
    events.extend((0..3_000).map(|i| {
        let host = format!("kept-new-{i}.example");
        event(T0 + 40 * DAY + i, Some(APP_A), &host, Verdict::Blocked)
    }));
    let connection = write(&path, events);
    let report = apply_retention_at(
        &connection,
        T0 + 40 * DAY + HOUR,
        Some(Duration::from_secs(30 * 86_400)),
        None,
    )
    .unwrap();
    assert_eq!(report.events_deleted, 3_000);
    assert_eq!(stored(&connection).len(), 3_000);
    let secure: i64 = connection
        .query_row("PRAGMA secure_delete", [], |r| r.get(0))
        .unwrap();
    assert_eq!(secure, 0, "the connection's own setting is put back");
    // Closing the last connection checkpoints the log into the file.
    drop(connection);
    let bytes = std::fs::read(&path).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let (trunks, leaves) = free_pages(&bytes);
    assert!(leaves.len() > 50, "retention freed pages: {}", leaves.len());
    let page = |n: usize| &bytes[(n - 1) * page_size..n * page_size];
    for n in leaves {
        assert!(
            page(n).iter().all(|&b| b == 0),
            "free page {n} is not zeros"
        );
    }
    // A trunk holds its list of page numbers, and nothing else.
    for n in trunks {
        assert!(
            !page(n).windows(10).any(|w| w == b"secret-old"),
            "free trunk page {n} holds a name"
        );
    }
}

/// A copy of the database that a recovery kept aside holds the same
/// activity: retention deletes it once it was kept aside before the cutoff,
/// clearing deletes it whatever its age; files of other names stay.
#[test]
fn copies_kept_aside_by_a_recovery_follow_retention_and_clearing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    // A real recovery: a file that is not a database is kept aside.
    std::fs::write(&path, b"secret-site.example, not SQLite at all").unwrap();
    let (connection, recovery) = hush_store::recover::open_or_recover(&path).unwrap();
    let recovered = recovery.unwrap().kept_aside;
    drop(connection);
    let now_s = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = now_s as i64 * 1000;
    // An older recovery, 40 days ago, with its log, and one of 10 days ago.
    let file = |name: &str| dir.path().join(name);
    let (forty, ten) = (now_s - 40 * 86_400, now_s - 10 * 86_400);
    for name in [
        format!("hush.db.broken-{forty}"),
        format!("hush.db.broken-{forty}-wal"),
        format!("hush.db.broken-{ten}.1"),
    ] {
        std::fs::write(file(&name), b"old activity").unwrap();
    }
    // Not copies of this database.
    let others = [
        "hush.db.broken-abc",
        "hush.db.broken-",
        "other.db.broken-100",
        "hush.db.broken-100.x",
        "hush.db.broken-100-wal.txt",
    ];
    for name in others {
        std::fs::write(file(name), b"keep").unwrap();
    }
    let connection = write(
        &path,
        [event(now, Some(APP_A), "x.example", Verdict::Blocked)],
    );
    let report = apply_retention_at(
        &connection,
        now,
        Some(Duration::from_secs(30 * 86_400)),
        None,
    )
    .unwrap();
    assert_eq!(report.copies_deleted, 2, "{report:?}");
    assert!(!file(&format!("hush.db.broken-{forty}")).exists());
    assert!(!file(&format!("hush.db.broken-{forty}-wal")).exists());
    assert!(file(&format!("hush.db.broken-{ten}.1")).exists());
    assert!(recovered.exists());
    assert_eq!(report.events_deleted, 0, "today's event stays");

    let report = clear_activity(&connection).unwrap();
    assert_eq!(report.copies_deleted, 2, "{report:?}");
    assert!(!file(&format!("hush.db.broken-{ten}.1")).exists());
    assert!(!recovered.exists());
    for name in others {
        assert!(file(name).exists(), "{name}");
    }
    assert!(path.exists());
    // A database in memory has no copies and no directory to look in.
    let mut memory = Connection::open_in_memory().unwrap();
    hush_store::migrate(&mut memory).unwrap();
    assert_eq!(clear_activity(&memory).unwrap().copies_deleted, 0);
}

/// The rollups answer exactly what the per-hour aggregates would, for
/// ranges that start and end mid-day, span whole days, or fit in one day.
#[test]
fn the_rollups_agree_with_the_hourly_counts_for_any_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    // Four days, every fifth hour, three apps and an unknown owner, a
    // handful of hosts, blocked and allowed.
    for step in 0..(4 * 24 / 5) {
        let time = T0 + step * 5 * HOUR + (step % 7) * 60_000;
        for (i, uid) in [Some(APP_A), Some(APP_B), Some(APP_C), None]
            .into_iter()
            .enumerate()
        {
            let host = format!("h{}.tracker.com", (step as usize + i) % 5);
            for _ in 0..=(i + step as usize % 3) {
                events.push(event(time, uid, &host, Verdict::Blocked));
            }
            events.push(event(time, uid, "ok.example", Verdict::Allowed));
        }
    }
    let connection = write(&dir.path().join("hush.db"), events);
    let hourly = hush_store::hourly_counts(&connection).unwrap();
    let ranges = [
        (T0, T0 + 4 * DAY),
        (T0 + 3 * HOUR, T0 + 3 * DAY + 5 * HOUR),
        (T0 + DAY + 2 * HOUR, T0 + DAY + 20 * HOUR),
        (T0 + 23 * HOUR, T0 + DAY + HOUR),
        (T0 + DAY, T0 + 2 * DAY),
    ];
    for (since, until) in ranges {
        let in_range = |h: &&hush_store::HourlyCount| {
            h.hour * HOUR < until && (h.hour + 1) * HOUR > since && h.action == "blocked"
        };
        let mut expected: std::collections::BTreeMap<
            String,
            (u64, std::collections::BTreeSet<Option<u32>>),
        > = Default::default();
        for h in hourly.iter().filter(in_range) {
            let entry = expected.entry(h.host.clone()).or_default();
            entry.0 += h.count;
            entry.1.insert(h.uid);
        }
        let mut expected: Vec<(String, u64, u32)> = expected
            .into_iter()
            .map(|(host, (count, apps))| (host, count, apps.len() as u32))
            .collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        assert_eq!(
            top_blocked_hosts(&connection, since, until, None, 100).unwrap(),
            expected,
            "range {since}..{until}"
        );
        for summary in app_summaries(&connection, since, until).unwrap() {
            let blocked: u64 = hourly
                .iter()
                .filter(in_range)
                .filter(|h| h.uid == summary.uid)
                .map(|h| h.count)
                .sum();
            assert_eq!(summary.blocked, blocked, "range {since}..{until}");
            let top_total: u64 = summary.top_blocked.iter().map(|(_, n)| n).sum();
            assert!(top_total <= blocked && !summary.top_blocked.is_empty());
        }
    }
}

/// Recent events filtered by part of a host name are the same whether few
/// hosts match (each read by index, then merged) or many (a scan in time
/// order), page by page.
#[test]
fn recent_events_by_host_text_page_alike_by_index_and_by_scan() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    for i in 0..1_200i64 {
        let host = match i % 4 {
            0 => format!("h{}.example", i % 300),
            1 => "rare.Tracker.test".to_string(),
            2 => "cdn.tracker.test".to_string(),
            _ => format!("h{}.example", (i * 7) % 300),
        };
        let uid = [Some(APP_A), Some(APP_B), None][(i % 3) as usize];
        let verdict = if i % 5 == 0 {
            Verdict::Allowed
        } else {
            Verdict::Blocked
        };
        // Some share a millisecond: ties go by order of writing.
        events.push(event(T0 + (i / 2) * 1000, uid, &host, verdict));
    }
    // A host past the rare-host bound: found by the scan, merged with the
    // rare ones found by index.
    for i in 0..(hush_store::RARE_HOST_EVENTS + 100) {
        let uid = [Some(APP_A), Some(APP_C)][(i % 2) as usize];
        events.push(event(
            T0 + i * 550,
            uid,
            "busy.tracker.test",
            Verdict::Blocked,
        ));
    }
    let connection = write(&dir.path().join("hush.db"), events);
    let all = hush_store::events(&connection).unwrap();
    let naive = |filter: &EventFilter| -> Vec<hush_store::StoredEvent> {
        let mut kept: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                filter.uid.is_none_or(|u| e.uid == Some(u))
                    && filter.action.as_ref().is_none_or(|a| &e.action == a)
                    && filter
                        .host_contains
                        .as_ref()
                        .is_none_or(|t| e.host.to_lowercase().contains(&t.to_lowercase()))
            })
            .collect();
        kept.sort_by(|a, b| b.1.time_ms.cmp(&a.1.time_ms).then(b.0.cmp(&a.0)));
        kept.into_iter().map(|(_, e)| e.clone()).collect()
    };
    for (text, uid, action) in [
        ("TRACKER", None, None),     // two hosts: by index
        ("rare", Some(APP_A), None), // one host, one app
        ("tracker", None, Some("blocked")),
        (".example", None, None), // 300 hosts: by scan
        ("h1", Some(APP_B), Some("allowed")),
        ("nothing-like-it", None, None), // no host at all
    ] {
        let filter = EventFilter {
            uid,
            action: action.map(str::to_string),
            host_contains: Some(text.to_string()),
            ..EventFilter::default()
        };
        let expected = naive(&filter);
        let mut paged = Vec::new();
        for page in 0..=(expected.len() as u32 / 37) {
            paged.extend(hush_store::recent_events(&connection, &filter, 37, page * 37).unwrap());
        }
        assert_eq!(paged, expected, "filter {text:?} {uid:?} {action:?}");
    }
}

/// SplitMix64, for generated activity that is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// What Hush may do to an attempt, and why.
fn outcomes() -> Vec<(Verdict, Reason)> {
    use hush_engine::apps::DomainRuleHit;
    use hush_engine::AppMode as Mode;
    vec![
        (Verdict::Blocked, Reason::Blocklist("hush-default".into())),
        (Verdict::Blocked, Reason::Blocklist("easyprivacy".into())),
        (Verdict::Blocked, Reason::AppMode(Mode::BlockAll)),
        (
            Verdict::Blocked,
            Reason::DomainRule(DomainRuleHit {
                action: DomainAction::Block,
                per_app: true,
            }),
        ),
        (Verdict::Allowed, Reason::Unlisted),
        (Verdict::Allowed, Reason::Allowlist("mine".into())),
        (Verdict::Failed, Reason::UpstreamTimeout),
        (Verdict::Failed, Reason::Unreachable),
    ]
}

/// Three apps and the unknown owner, 14 hosts, every outcome, over three
/// and a half days that start and end mid-day; some attempts share their
/// millisecond with another of the same app and host that had another
/// outcome.
fn mixed_activity() -> Vec<Event> {
    let mut rng = Rng(12);
    let owners = [Some(APP_A), Some(APP_B), Some(APP_C), None];
    let outcomes = outcomes();
    let start = T0 - 5 * HOUR - 17_000;
    let span = 3 * DAY + 12 * HOUR;
    let mut events = Vec::new();
    for _ in 0..3_000 {
        // App A is the busiest, the unknown owner the quietest.
        let owner = owners[[0, 0, 0, 1, 1, 2, 3][rng.below(7) as usize]];
        let host = format!("h{}.example.com", rng.below(14));
        let time_ms = start + rng.below(span as u64) as i64;
        let (verdict, reason) = outcomes[rng.below(outcomes.len() as u64) as usize].clone();
        let mut attempt = event(time_ms, owner, &host, verdict);
        attempt.reason = reason;
        if rng.below(10) == 0 {
            let (verdict, reason) = outcomes[rng.below(outcomes.len() as u64) as usize].clone();
            let mut twin = event(time_ms, owner, &host, verdict);
            twin.reason = reason;
            events.push(twin);
        }
        events.push(attempt);
    }
    events.sort_by_key(|e| e.time);
    events
}

/// [`query::app_hosts`] worked out from the raw events: hours overlapping
/// the range count whole; most recent first, ties by host.
fn app_hosts_from_events(
    events: &[hush_store::StoredEvent],
    uid: Option<u32>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
) -> Vec<query::AppHost> {
    let first_hour = since_ms.map(|since| since.div_euclid(HOUR));
    let end_hour = until_ms.map(|until| (until + HOUR - 1).div_euclid(HOUR));
    let mut hosts: std::collections::BTreeMap<&str, query::AppHost> = Default::default();
    for event in events {
        let hour = event.time_ms.div_euclid(HOUR);
        if event.uid != uid
            || first_hour.is_some_and(|first| hour < first)
            || end_hour.is_some_and(|end| hour >= end)
        {
            continue;
        }
        let host = hosts.entry(&event.host).or_insert_with(|| query::AppHost {
            host: event.host.clone(),
            allowed: 0,
            blocked: 0,
            failed: 0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            last_action: String::new(),
            last_reason: String::new(),
        });
        // A row of repeats stands for its attempts, all in its hour.
        match event.action.as_str() {
            "allowed" => host.allowed += event.repeats,
            "blocked" => host.blocked += event.repeats,
            "failed" => host.failed += event.repeats,
            other => panic!("unexpected action {other}"),
        }
        host.first_ms = host.first_ms.min(event.time_ms);
        let newest = (event.last_ms, &event.action, &event.reason)
            > (host.last_ms, &host.last_action, &host.last_reason);
        if newest {
            host.last_ms = event.last_ms;
            host.last_action = event.action.clone();
            host.last_reason = event.reason.clone();
        }
    }
    let mut hosts: Vec<_> = hosts.into_values().collect();
    hosts.sort_by(|a, b| b.last_ms.cmp(&a.last_ms).then(a.host.cmp(&b.host)));
    hosts
}

#[test]
fn app_hosts_are_exactly_what_the_events_say() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), mixed_activity());
    let stored = hush_store::events(&connection).unwrap();
    assert!(stored.len() > 3_000);
    let ties = stored
        .windows(2)
        .filter(|w| w[0].time_ms == w[1].time_ms && w[0].host == w[1].host)
        .filter(|w| (&w[0].action, &w[0].reason) != (&w[1].action, &w[1].reason))
        .count();
    assert!(ties > 10, "the activity has attempts sharing a millisecond");
    let mid = T0 + 7 * HOUR + 1_234;
    let ranges = [
        (None, None),
        (Some(mid), None),
        (None, Some(mid)),
        // Whole UTC days and the hours around them, ends inside hours.
        (Some(mid), Some(mid + 2 * DAY + 3 * HOUR)),
        // Exactly whole days; exactly one hour; inside one hour.
        (Some(T0), Some(T0 + 2 * DAY)),
        (Some(T0 + HOUR), Some(T0 + 2 * HOUR)),
        (Some(mid), Some(mid + 60_000)),
        // Nothing: backwards, empty, before and after the activity.
        (Some(mid), Some(mid - HOUR)),
        (Some(T0), Some(T0)),
        (None, Some(T0 - DAY)),
        (Some(T0 + 5 * DAY), None),
    ];
    let mut nonempty = 0;
    for uid in [Some(APP_A), Some(APP_B), Some(APP_C), None, Some(55_555)] {
        for (since, until) in ranges {
            let expected = app_hosts_from_events(&stored, uid, since, until);
            let found = query::app_hosts(&connection, uid, since, until, 1_000, 0).unwrap();
            assert_eq!(found, expected, "uid {uid:?} from {since:?} to {until:?}");
            let count = query::app_host_count(&connection, uid, since, until).unwrap();
            assert_eq!(
                count,
                expected.len() as u64,
                "count of {uid:?} {since:?} {until:?}"
            );
            nonempty += usize::from(!expected.is_empty());
        }
    }
    // The comparisons above are not of empty lists, but for the ranges
    // without activity and the uid without any: seven ranges of four owners.
    assert_eq!(nonempty, 4 * 7);
    // Each app's hosts, for all time, are its own: the apps' lists differ.
    let all = |uid| query::app_hosts(&connection, uid, None, None, 1_000, 0).unwrap();
    assert_ne!(all(Some(APP_A)), all(Some(APP_B)));
    assert_ne!(all(Some(APP_C)), all(None));
    assert_eq!(all(Some(APP_A)).len(), 14);
}

#[test]
fn app_hosts_page_through_every_host_once() {
    let dir = tempfile::tempdir().unwrap();
    let connection = write(&dir.path().join("hush.db"), mixed_activity());
    let range = (Some(T0 - HOUR), Some(T0 + DAY + 30 * 60_000));
    let whole = query::app_hosts(&connection, Some(APP_A), range.0, range.1, 1_000, 0).unwrap();
    assert_eq!(whole.len(), 14);
    let mut paged = Vec::new();
    for offset in (0..20).step_by(3) {
        let page = query::app_hosts(&connection, Some(APP_A), range.0, range.1, 3, offset);
        paged.extend(page.unwrap());
    }
    assert_eq!(paged, whole);
    assert!(whole.windows(2).all(|w| w[0].last_ms >= w[1].last_ms));
    assert_eq!(
        query::app_hosts(&connection, Some(APP_A), None, None, 0, 0).unwrap(),
        []
    );
    assert_eq!(
        query::app_hosts(&connection, Some(APP_A), None, None, 5, 14).unwrap(),
        []
    );
    // A page longer than the longest is refused, saying why.
    assert_eq!(query::MAX_PAGE, 1_000);
    let refused = query::app_hosts(&connection, Some(APP_A), None, None, 1_001, 0);
    assert!(
        matches!(&refused, Err(hush_store::StoreError::InvalidArgument(why))
            if why.contains("at most 1000 hosts, not 1001")),
        "{refused:?}"
    );
}
