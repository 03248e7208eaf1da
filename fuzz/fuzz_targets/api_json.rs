//! The JSON API the Kotlin side calls (`hush_session::api`), with fuzzed
//! JSON, words, domains, uids and numbers, against a real database (a
//! fresh copy of one holding events, on tmpfs, for every run).
//!
//! Every call returns a value or an error, never a panic. Beyond that:
//! every JSON it returns parses, with the shape its documentation gives;
//! a rule it accepts is then found as stored; apps it accepts are then
//! listed; a stop reason it accepts is one trimmed line.
//!
//! Input: operations, each a byte and its operands (strings as a length
//! byte and bytes, JSON as a 16-bit length and bytes, numbers as a byte
//! picking a kind of value and its bytes).

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use hush_engine::{AppMode, DomainAction, Event, EventSink, Network, Reason, Verdict};
use hush_fuzz::Input;
use hush_session::api;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A directory of this process's on tmpfs (or the temp directory), and in
/// it a database holding a few events, made once.
fn template() -> &'static (PathBuf, PathBuf) {
    static TEMPLATE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("hush-fuzz-api-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let template = dir.join("template.db");
        let connection = hush_store::open(&template).expect("a fresh database");
        let writer = hush_store::EventWriter::start(connection, 64).expect("the writer");
        let hosts = [
            "tracking.miui.com",
            "f-droid.org",
            "=cmd|' /C calc'!A0",
            "evil\u{202e}gnp.exe",
            "",
            "xn--bcher-kva.example",
        ];
        for (i, host) in hosts.iter().cycle().take(24).enumerate() {
            writer.record(Event {
                time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + i as u64 * 3_600_000),
                uid: (i % 3 != 0).then_some(10_000 + (i % 4) as u32),
                host: host.to_string(),
                address: "198.18.0.53".parse().unwrap(),
                port: 443,
                protocol: if i % 2 == 0 { "dns" } else { "tcp" },
                detail: "A".into(),
                verdict: [Verdict::Blocked, Verdict::Allowed, Verdict::Failed][i % 3],
                reason: if i % 3 == 0 {
                    Reason::Blocklist("hush-default".into())
                } else {
                    Reason::Unlisted
                },
                screen_off: false,
            });
        }
        writer.finish().expect("events written");
        (dir, template)
    })
}

/// A fresh copy of the template for this run.
fn database() -> PathBuf {
    let (dir, template) = template();
    let path = dir.join("work.db");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    // libFuzzer's timer (SIGALRM, for -timeout) can interrupt the copy:
    // that is the harness's weather, not a finding, so it is tried again.
    loop {
        match std::fs::copy(template, &path) {
            Ok(_) => return path,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => panic!("a copy of the template: {error}"),
        }
    }
}

fn number(input: &mut Input<'_>) -> i64 {
    match input.u8() % 5 {
        0 => -1,
        1 => i64::from(input.u8()),
        2 => 10_000 + i64::from(input.u16()),
        3 => 1_700_000_000_000 + i64::from(input.u32()) * 1000,
        _ => input.u64() as i64,
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn array(text: &str) -> Vec<Value> {
    match json(text) {
        Value::Array(items) => items,
        other => panic!("not an array: {other}"),
    }
}

fn object(text: &str) -> serde_json::Map<String, Value> {
    match json(text) {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn uid_value(uid: i64) -> Value {
    if uid < 0 {
        Value::Null
    } else {
        Value::from(uid)
    }
}

fuzz_target!(|data: &[u8]| {
    let db = database();
    let db = db.as_path();
    let mut input = Input::new(data);
    let mut operations = 0;
    while !input.is_empty() && operations < 12 {
        operations += 1;
        match input.u8() % 20 {
            0 => {
                let text = String::from_utf8_lossy(input.chunk()).into_owned();
                let _ = api::session_config(&text);
            }
            1 => {
                let text = input.string();
                if let Ok(address) = api::resolver_address(&text) {
                    let again = api::resolver_address(&address.to_string()).unwrap();
                    assert_eq!(again, address);
                }
            }
            2 => {
                let text = input.string();
                if let Ok(reason) = api::stop_reason(&text) {
                    assert!(!reason.is_empty() && reason == reason.trim());
                    assert!(reason.chars().count() <= api::MAX_STOP_REASON);
                    assert!(!reason.chars().any(char::is_control));
                }
            }
            3 => {
                let text = input.string();
                let _ = api::word::<AppMode>(&text);
                let _ = api::word::<Network>(&text);
                let _ = api::word::<DomainAction>(&text);
                let _ = api::optional_uid(number(&mut input));
            }
            4 => {
                let text = String::from_utf8_lossy(input.chunk()).into_owned();
                if let Ok(events) = api::recent_events(db, &text) {
                    assert!(array(&events).len() <= api::MAX_PAGE as usize);
                }
            }
            5 => {
                let text = String::from_utf8_lossy(input.chunk()).into_owned();
                if let Ok(count) = api::set_apps(db, &text) {
                    let given = array(&text);
                    assert_eq!(count as usize, given.len());
                    let listed = array(&api::apps(db).unwrap());
                    // The last entry for a UID is the one stored.
                    if let Some(last) = given.last() {
                        assert!(
                            listed
                                .iter()
                                .any(|app| app["uid"] == last["uid"]
                                    && app["label"] == last["label"]),
                            "{last} not in {listed:?}"
                        );
                    }
                }
            }
            6 => {
                let text = String::from_utf8_lossy(input.chunk()).into_owned();
                let _ = api::reconcile_apps(db, &text);
            }
            7 => {
                let uid = number(&mut input);
                let (domain, action) = (input.string(), input.string());
                if let Ok(stored) = api::add_domain_rule(db, uid, &domain, &action) {
                    let found = object(&api::domain_rules_for(db, &stored).unwrap());
                    assert_eq!(found["domain"], Value::from(stored.clone()));
                    let rules = found["rules"].as_array().unwrap();
                    assert!(
                        rules.iter().any(|r| r["uid"] == uid_value(uid)
                            && r["action"].as_str() == Some(action.as_str())),
                        "{stored} {uid} {action:?} not in {rules:?}"
                    );
                    assert!(api::remove_domain_rule(db, uid, &stored).unwrap());
                }
            }
            8 => {
                let uid = number(&mut input);
                let (network, mode) = (input.string(), input.string());
                if api::set_app_mode(db, uid, &network, &mode).is_ok() {
                    let modes = array(&api::app_modes(db).unwrap());
                    assert!(modes.iter().any(|m| m["uid"] == uid));
                }
            }
            9 => {
                let (uid, since, until) =
                    (number(&mut input), number(&mut input), number(&mut input));
                let (limit, offset) = (u32::from(input.u16()), u32::from(input.u16()));
                let since = (since % 2 == 0).then_some(since);
                if let Ok(page) = api::app_hosts(db, uid, since, Some(until), limit, offset) {
                    let page = object(&page);
                    assert!(page["total"].is_u64() && page["hosts"].is_array());
                }
            }
            10 => {
                let text = input.string();
                let (limit, offset) = (u32::from(input.u16()), u32::from(input.u16()));
                if let Ok(page) = api::domain_rules_matching(db, &text, limit, offset) {
                    let page = object(&page);
                    assert!(page["total"].is_u64() && page["rules"].is_array());
                }
            }
            11 => {
                let (days, events) = (number(&mut input), number(&mut input));
                if api::set_retention(db, days, events).is_ok() {
                    let stored = object(&api::retention(db).unwrap());
                    let expect = |v: i64| if v < 0 { Value::Null } else { Value::from(v) };
                    assert_eq!(stored["maxEvents"], expect(events));
                }
            }
            12 => {
                let since = number(&mut input);
                let limit = u32::from(input.u16());
                if let Ok(gaps) = api::gaps(db, (since >= 0).then_some(since), limit) {
                    assert!(array(&gaps).len() <= limit as usize);
                }
            }
            13 => {
                let (since, until, uid) =
                    (number(&mut input), number(&mut input), number(&mut input));
                let (limit, offset) = (u32::from(input.u16()), input.u16() as i16);
                if let Ok(apps) = api::app_activity(db, since, until) {
                    array(&apps);
                }
                if let Ok(hosts) = api::top_blocked_hosts(db, since, until, uid, limit) {
                    array(&hosts);
                }
                if let Ok(days) = api::daily_timeline(db, since, until, uid, i32::from(offset)) {
                    array(&days);
                }
            }
            14 => {
                let format = input.string();
                let (since, until) = (number(&mut input), number(&mut input));
                let mut out = Vec::new();
                if let Ok(count) = api::export(
                    db,
                    &format,
                    (since >= 0).then_some(since),
                    (until >= 0).then_some(until),
                    &mut out,
                ) {
                    // JSON Lines: one object per event.
                    if format == "json" {
                        let text = String::from_utf8(out).unwrap();
                        for line in text.lines() {
                            object(line);
                        }
                        assert_eq!(text.lines().count() as u64, count);
                    }
                }
            }
            15 => {
                let uid = number(&mut input);
                let (package, domain, action) = (input.string(), input.string(), input.string());
                let _ = api::add_domain_rule_for_package(db, uid, &package, &domain, &action);
                let _ = api::set_app_mode_for_package(db, uid, &package, &domain, &action);
                let _ = api::forget_app(db, uid, Some(package.as_str()).filter(|p| !p.is_empty()));
            }
            16 => {
                let uid = number(&mut input);
                let package = input.string();
                let on = input.u8() & 1 == 1;
                let option = ["resolvedOnly", "strict"][usize::from(input.u8() & 1)];
                let _ = api::set_app_option(db, option, uid, &package, on);
                let _ = api::set_app_option_default(db, option, !on);
                let _ = api::clear_app_option(db, option, number(&mut input));
                object(&api::app_option(db, option).unwrap());
                // Any other word is an error, never a panic.
                let _ = api::set_app_option(db, &input.string(), uid, &package, on);
            }
            17 => {
                let uid = number(&mut input);
                let network = input.string();
                let _ = api::clear_app_mode(db, uid, &network);
                array(&api::domain_rules(db).unwrap());
                array(&api::list_sources(db).unwrap());
            }
            18 => {
                let domain = input.string();
                if let Ok(found) = api::domain_rules_for(db, &domain) {
                    assert!(object(&found)["rules"].is_array());
                }
            }
            _ => {
                let _ = api::clear_activity(db);
                let events = array(&api::recent_events(db, "{}").unwrap());
                assert!(events.is_empty(), "events after clearing: {events:?}");
            }
        }
    }
});
