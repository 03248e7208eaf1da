//! `hush report` (issue 16) on lab databases written through the store's own
//! log writer: the report's hosts and counts are exactly the stored events',
//! it refers to nothing outside itself, hostile names are inert text, its
//! digest depends on the events and not on the order they were written in,
//! and a UID without events or an output that cannot be written is an error
//! that leaves no file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use hush_engine::{Event, Reason, Verdict};
use hush_store::{rules, EventWriter};

const APP: u32 = 10_123;
const OTHER_APP: u32 = 10_200;
/// 2025-03-01T00:00:00Z.
const T0: i64 = 1_740_787_200_000;
const HOUR: i64 = 3_600_000;
const HOSTILE: &str = "<script>alert(1)</script>.example";
const BIDI: &str = "evil\u{202E}gpj.example";

fn hush() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hush"))
}

fn event(time_ms: i64, uid: u32, host: &str, verdict: Verdict) -> Event {
    let (protocol, port, detail, reason) = match verdict {
        Verdict::Blocked => ("dns", 53, "A", Reason::Blocklist("hush-default".into())),
        Verdict::Allowed => ("tcp", 443, "sni", Reason::Unlisted),
        Verdict::Failed => ("dns", 53, "AAAA", Reason::UpstreamTimeout),
    };
    Event {
        time: UNIX_EPOCH + Duration::from_millis(time_ms as u64),
        uid: Some(uid),
        host: host.into(),
        address: if port == 53 {
            "198.18.0.53".parse().unwrap()
        } else {
            "198.18.7.9".parse().unwrap()
        },
        port,
        protocol,
        detail: detail.into(),
        verdict,
        reason,
        screen_off: false,
    }
}

/// Three days of one app's traffic (with a retry storm the writer keeps as
/// one row with a count), and another app's that must stay out of its
/// report.
fn lab_events() -> Vec<Event> {
    let mut events = Vec::new();
    for day in 0..3 {
        let base = T0 + day * 24 * HOUR;
        for i in 0..(5 + day) {
            events.push(event(
                base + i * 60_000,
                APP,
                "shop.example",
                Verdict::Allowed,
            ));
        }
        events.push(event(
            base + HOUR,
            APP,
            "o451.ingest.sentry.io",
            Verdict::Allowed,
        ));
        // At night, with the screen off.
        events.push(Event {
            screen_off: true,
            ..event(
                base + 2 * HOUR,
                APP,
                "metrics.data.hicloud.com",
                Verdict::Blocked,
            )
        });
        events.push(event(base + 3 * HOUR, APP, HOSTILE, Verdict::Blocked));
    }
    // A retry storm: the same blocked query every second.
    for i in 0..20 {
        events.push(event(
            T0 + 5 * HOUR + i * 1000,
            APP,
            "tracker.example",
            Verdict::Blocked,
        ));
    }
    events.push(event(
        T0 + 6 * HOUR,
        APP,
        "tracker.example",
        Verdict::Failed,
    ));
    events.push(event(T0 + 7 * HOUR, APP, BIDI, Verdict::Allowed));
    // Two attempts in the same millisecond.
    events.push(event(T0 + 8 * HOUR, APP, "a.example", Verdict::Allowed));
    events.push(event(T0 + 8 * HOUR, APP, "b.example", Verdict::Allowed));
    for i in 0..7 {
        events.push(event(
            T0 + i * HOUR,
            OTHER_APP,
            "other-app-only.example",
            Verdict::Allowed,
        ));
    }
    events
}

/// Writes `events` through the log writer, as the engine would, with the
/// app and a list as the platform and a run would record them.
fn write_db(path: &Path, events: &[Event]) {
    let connection = hush_store::open(path).unwrap();
    rules::set_app(
        &connection,
        APP,
        "Shop <b>&</b> Co",
        &["com.example.shop"],
        false,
    )
    .unwrap();
    rules::record_list_load(&connection, "hush-default", "built-in", 1234).unwrap();
    let writer = EventWriter::start(connection, 1 << 20).unwrap();
    for event in events {
        hush_engine::EventSink::record(&writer, event.clone());
    }
    assert_eq!(writer.dropped(), 0);
    writer.finish().unwrap();
}

/// Per host of `uid`: (allowed, blocked, failed) attempts.
fn expected_counts(events: &[Event], uid: u32) -> BTreeMap<String, (u64, u64, u64)> {
    let mut counts: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for event in events.iter().filter(|e| e.uid == Some(uid)) {
        let entry = counts.entry(event.host.clone()).or_default();
        match event.verdict {
            Verdict::Allowed => entry.0 += 1,
            Verdict::Blocked => entry.1 += 1,
            Verdict::Failed => entry.2 += 1,
        }
    }
    counts
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn attribute(tag: &tl::HTMLTag<'_>, name: &str) -> Option<String> {
    tag.attributes()
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.map(|v| v.to_string()))
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "hush-evidence-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn run_report(db: &Path, uid: u32, out: &Path) -> std::process::Output {
    hush()
        .args(["report", "--uid", &uid.to_string(), "--db"])
        .arg(db)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn the_report_holds_exactly_the_stored_hosts_and_counts_and_nothing_from_outside() {
    let directory = scratch("exact");
    let db = directory.join("hush.db");
    let events = lab_events();
    write_db(&db, &events);
    let out = directory.join("report.html");
    let output = run_report(&db, APP, &out);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();

    // Every host and its counts, exactly: the other app's host is absent.
    let mut found: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut companies: HashMap<String, String> = HashMap::new();
    for handle in dom.query_selector("tr.host").unwrap() {
        let tag = handle.get(parser).unwrap().as_tag().unwrap();
        let host = decode(&attribute(tag, "data-host").unwrap());
        let count = |name| attribute(tag, name).unwrap().parse::<u64>().unwrap();
        let previous = found.insert(
            host.clone(),
            (
                count("data-allowed"),
                count("data-blocked"),
                count("data-failed"),
            ),
        );
        assert!(previous.is_none(), "{host} listed twice");
        companies.insert(host, tag.inner_text(parser).to_string());
    }
    let expected = expected_counts(&events, APP);
    // The report shows disguising characters as their code points.
    let shown: BTreeMap<String, (u64, u64, u64)> = expected
        .iter()
        .map(|(host, counts)| (host.replace('\u{202E}', "[U+202E]"), *counts))
        .collect();
    assert_eq!(found, shown);
    assert!(!html.contains("other-app-only.example"));

    // The retry storm was stored as one row standing for 20 attempts.
    let connection = hush_store::open(&db).unwrap();
    let stored_rows: i64 = connection
        .query_row(
            "SELECT count(*) FROM events WHERE uid = ?1 AND host = 'tracker.example' AND action = 'blocked'",
            [APP],
            |row| row.get(0),
        )
        .unwrap();
    assert!(stored_rows < 20, "{stored_rows} rows");
    assert_eq!(expected["tracker.example"], (0, 20, 1));

    // Attribution: company and category from Hush's table, or said unknown.
    assert!(companies["o451.ingest.sentry.io"].contains("Sentry"));
    assert!(companies["o451.ingest.sentry.io"].contains("crash reporting"));
    assert!(companies["metrics.data.hicloud.com"].contains("Huawei"));
    assert!(companies["metrics.data.hicloud.com"].contains("vendor telemetry"));
    assert!(companies["shop.example"].contains("not in Hush"));

    // The app, the period, the timeline, the lists, the versions.
    let text_of = |id: &str| {
        dom.get_element_by_id(id)
            .unwrap_or_else(|| panic!("no #{id}"))
            .get(parser)
            .unwrap()
            .inner_text(parser)
            .to_string()
    };
    assert_eq!(decode(&text_of("label")), "Shop <b>&</b> Co");
    assert!(text_of("packages").contains("com.example.shop"));
    assert_eq!(text_of("uid"), APP.to_string());
    assert_eq!(text_of("first"), "2025-03-01 00:00:00 UTC");
    assert_eq!(text_of("last"), "2025-03-03 03:00:00 UTC");
    assert_eq!(
        text_of("attempts"),
        events
            .iter()
            .filter(|e| e.uid == Some(APP))
            .count()
            .to_string()
    );
    assert_eq!(text_of("hush-version"), env!("CARGO_PKG_VERSION"));
    let days: Vec<String> = dom
        .query_selector("tr.day")
        .unwrap()
        .map(|h| attribute(h.get(parser).unwrap().as_tag().unwrap(), "data-day").unwrap())
        .collect();
    assert_eq!(days, ["2025-03-01", "2025-03-02", "2025-03-03"]);
    assert_eq!(dom.query_selector("tr.list").unwrap().count(), 1);
    assert!(html.contains("hush-default"));
    // What it tried with the screen off: exactly the stored screen-off
    // attempts, by host.
    let screen_off: BTreeMap<String, u64> = dom
        .query_selector("tr.screen-off")
        .unwrap()
        .map(|h| {
            let tag = h.get(parser).unwrap().as_tag().unwrap();
            let host = decode(&attribute(tag, "data-host").unwrap());
            let attempts = attribute(tag, "data-attempts").unwrap().parse().unwrap();
            (host, attempts)
        })
        .collect();
    let mut expected_off = BTreeMap::new();
    for e in events.iter().filter(|e| e.uid == Some(APP) && e.screen_off) {
        *expected_off.entry(e.host.clone()).or_insert(0u64) += 1;
    }
    assert_eq!(screen_off, expected_off);
    let total_off = dom
        .get_element_by_id("screen-off-total")
        .and_then(|h| h.get(parser))
        .and_then(|n| n.as_tag())
        .and_then(|tag| attribute(tag, "data-attempts"))
        .unwrap();
    assert_eq!(total_off, expected_off.values().sum::<u64>().to_string());
    let digest = text_of("sha256");
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));

    // Nothing outside the file: no script, no element that loads, no
    // attribute that refers out, no URL in the style.
    const LOADING: [&str; 13] = [
        "script", "link", "iframe", "frame", "img", "object", "embed", "base", "form", "audio",
        "video", "source", "track",
    ];
    const REFERRING: [&str; 9] = [
        "src",
        "href",
        "srcset",
        "action",
        "formaction",
        "poster",
        "background",
        "ping",
        "xlink:href",
    ];
    let mut tags = 0;
    for node in dom.nodes() {
        let Some(tag) = node.as_tag() else { continue };
        tags += 1;
        let name = tag.name().as_utf8_str().to_ascii_lowercase();
        assert!(!LOADING.contains(&name.as_str()), "<{name}>");
        for (key, value) in tag.attributes().iter() {
            let key = key.to_ascii_lowercase();
            assert!(!REFERRING.contains(&key.as_str()), "<{name} {key}>");
            assert!(!key.starts_with("on"), "<{name} {key}>");
            let value = value.map(|v| v.to_ascii_lowercase()).unwrap_or_default();
            assert!(
                !value.contains("http:") && !value.contains("https:") && !value.contains("url("),
                "<{name} {key}={value}>"
            );
            if name == "meta" && key == "http-equiv" {
                assert_eq!(value, "content-security-policy");
            }
        }
        if name == "style" {
            let css = tag.inner_text(parser).to_ascii_lowercase();
            assert!(!css.contains("url(") && !css.contains("@import"));
        }
    }
    assert!(tags > 100, "{tags} tags");

    // Hostile names are inert text, and disguising characters are shown.
    assert!(!html.contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;.example"));
    assert!(!html.contains('\u{202E}'));
    assert!(html.contains("evil[U+202E]gpj.example"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn the_digest_follows_the_events_not_the_order_they_were_written_in() {
    let directory = scratch("digest");
    let events = lab_events();
    let forward = directory.join("forward.db");
    write_db(&forward, &events);
    // The same events stored under other row ids: the other app's first,
    // and the two attempts of one millisecond the other way round. (The
    // engine reports in time order: a retry storm written backwards would be
    // stored as other rows, so that is not asked of the digest.)
    let (mut reordered, rest): (Vec<Event>, Vec<Event>) = events
        .iter()
        .cloned()
        .partition(|e| e.uid == Some(OTHER_APP));
    reordered.extend(rest);
    let same_ms: Vec<usize> = (0..reordered.len())
        .filter(|&i| {
            reordered[i].time == UNIX_EPOCH + Duration::from_millis((T0 + 8 * HOUR) as u64)
        })
        .collect();
    assert_eq!(same_ms.len(), 2);
    reordered.swap(same_ms[0], same_ms[1]);
    let reversed = directory.join("reordered.db");
    write_db(&reversed, &reordered);
    let mut changed_events = events.clone();
    changed_events[0].host = "shop2.example".into();
    let changed = directory.join("changed.db");
    write_db(&changed, &changed_events);

    let digest = |path: &Path| {
        let connection = hush_store::open(path).unwrap();
        hush_store::evidence::evidence(&connection, APP)
            .unwrap()
            .unwrap()
            .sha256
    };
    assert_eq!(digest(&forward), digest(&reversed));
    assert_ne!(digest(&forward), digest(&changed));
    // The other app's digest is its own.
    let connection = hush_store::open(&forward).unwrap();
    let other = hush_store::evidence::evidence(&connection, OTHER_APP)
        .unwrap()
        .unwrap();
    assert_ne!(other.sha256, digest(&forward));
    assert_eq!(other.hosts.len(), 1);
    assert_eq!(other.attempts, 7);
    std::fs::remove_dir_all(&directory).unwrap();
}

/// The directory holds exactly `names` (no partial report, no temporary).
fn assert_holds(directory: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("hush.db-"))
        .collect();
    found.sort();
    assert_eq!(found, names);
}

#[test]
fn a_uid_without_events_is_an_error_and_writes_no_file() {
    let directory = scratch("empty");
    let db = directory.join("hush.db");
    write_db(&db, &lab_events());
    let out = directory.join("report.html");
    let output = run_report(&db, 4242, &out);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no events for UID 4242"), "{stderr}");
    assert!(!out.exists());
    assert_holds(&directory, &["hush.db"]);

    // A database that does not exist is not created.
    let missing = directory.join("missing.db");
    let output = run_report(&missing, APP, &out);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no database"));
    assert!(!missing.exists());
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn an_output_that_cannot_be_written_is_an_error_and_leaves_no_file() {
    let directory = scratch("unwritable");
    let db = directory.join("hush.db");
    write_db(&db, &lab_events());
    // A directory that does not exist, a directory in the way, and a file
    // system no one may create files in (root included, as in CI).
    let taken = directory.join("taken");
    std::fs::create_dir(&taken).unwrap();
    for out in [
        directory.join("no-such-directory").join("report.html"),
        taken.clone(),
        PathBuf::from("/proc/hush-evidence-report.html"),
    ] {
        let output = run_report(&db, APP, &out);
        assert!(!output.status.success(), "{}", out.display());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("hush: "), "{stderr}");
        assert!(stderr.contains(&out.display().to_string()), "{stderr}");
        assert!(!out.is_file(), "{}", out.display());
    }
    assert_holds(&directory, &["hush.db", "taken"]);
    assert_eq!(std::fs::read_dir(&taken).unwrap().count(), 0);
    std::fs::remove_dir_all(&directory).unwrap();
}
