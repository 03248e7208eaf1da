//! The JSON API the Android bridge calls, against real SQLite files:
//! strict input, the store's answers as the Kotlin side reads them, and a
//! clear error for each kind of bad input.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use hush_engine::{AppMode, Event, EventSink, Network, Reason, Stats, Verdict};
use hush_session::api::{self, ApiError};
use hush_store::EventWriter;
use serde_json::{json, Value};

/// 2025-01-29T00:00:00Z.
const T0: i64 = 1_738_108_800_000;
const HOUR: i64 = 3_600_000;
const GAME: u32 = 10_123;
const BROWSER: u32 = 10_200;

fn event(time_ms: i64, uid: Option<u32>, host: &str, verdict: Verdict) -> Event {
    let reason = match verdict {
        Verdict::Blocked => Reason::Blocklist("hush-default".into()),
        _ => Reason::Unlisted,
    };
    Event {
        time: UNIX_EPOCH + Duration::from_millis(time_ms as u64),
        uid,
        host: host.into(),
        address: "198.18.0.53".parse().unwrap(),
        port: 53,
        protocol: "dns",
        detail: "A".into(),
        verdict,
        reason,
        screen_off: false,
    }
}

/// A store holding a morning's activity of two apps and an unknown owner.
fn store_with_activity(dir: &Path) -> PathBuf {
    let path = dir.join("hush.db");
    let writer = EventWriter::start(hush_store::open(&path).unwrap(), 1024).unwrap();
    for i in 0..6 {
        writer.record(event(
            T0 + i * 60_000,
            Some(GAME),
            "app.adjust.com",
            Verdict::Blocked,
        ));
    }
    writer.record(event(
        T0 + HOUR,
        Some(GAME),
        "graph.facebook.com",
        Verdict::Blocked,
    ));
    writer.record(event(
        T0 + HOUR + 1,
        Some(BROWSER),
        "en.wikipedia.org",
        Verdict::Allowed,
    ));
    writer.record(event(
        T0 + 2 * HOUR,
        None,
        "tracking.miui.com",
        Verdict::Blocked,
    ));
    writer.finish().unwrap();
    path
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"))
}

fn invalid_message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
    match result {
        Err(ApiError::Invalid(message)) => message,
        other => panic!("expected an invalid-input error, got {other:?}"),
    }
}

#[test]
fn a_session_configuration_is_read_strictly() {
    let config = api::session_config(
        r#"{"databasePath": "/data/hush.db", "upstreamDns": "[2620:fe::fe]:53", "mtu": 1400,
            "network": "wifi", "blockLists": ["/data/lists/extra.txt"], "blockAnswer": "zero",
            "ownAddresses": ["10.111.222.2", "fd00:111:222::2"], "encryptedDnsList": false,
            "allowEncryptedDns": true, "stripEch": false, "adawayList": true,
            "selfExcluded": true, "bigSegments": false}"#,
    )
    .unwrap();
    assert_eq!(
        config.upstream,
        hush_session::Upstream::Plain("[2620:fe::fe]:53".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(config.database.as_deref(), Some(Path::new("/data/hush.db")));
    assert_eq!(config.mtu, 1400);
    assert_eq!(config.network, Network::Wifi);
    assert!(config.with_default_list);
    assert_eq!(config.lists.len(), 1);
    assert_eq!(config.block_mode, hush_dns::BlockMode::Unspecified);
    assert!(!config.follow_stored_rules);
    let own: Vec<String> = config.own_addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(own, ["10.111.222.2", "fd00:111:222::2"]);
    assert!(!config.with_encrypted_dns_list && config.allow_encrypted_dns && !config.strip_ech);
    assert!(config.with_adaway_list);
    assert!(config.self_excluded);
    assert!(!config.big_segments);

    let minimal =
        api::session_config(r#"{"databasePath": "/d/h.db", "upstreamDns": "9.9.9.9:53"}"#).unwrap();
    assert_eq!(minimal.network, Network::Any);
    assert_eq!(minimal.block_mode, hush_dns::BlockMode::NxDomain);
    assert!(minimal.with_encrypted_dns_list && !minimal.allow_encrypted_dns && minimal.strip_ech);
    // AdAway only when sent: the platform decides (the app's setting).
    assert!(!minimal.with_adaway_list && minimal.with_default_list);
    // Protected sockets unless the platform says its own are outside the tun.
    assert!(!minimal.self_excluded);
    // Segments beyond the MTU unless the platform turns them off.
    assert!(minimal.big_segments);

    for (json, says) in [
        ("{", "malformed session configuration"),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "dns": 1}"#,
            "unknown field `dns`",
        ),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9"}"#,
            "\"9.9.9.9\" is not an address:port",
        ),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "network": "5g"}"#,
            "5g",
        ),
        (
            r#"{"databasePath": "", "upstreamDns": "9.9.9.9:53"}"#,
            "database path is empty",
        ),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "ownAddresses": ["dns"]}"#,
            "own address \"dns\" is not an IP address",
        ),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "blockAnswer": "drop"}"#,
            "\"drop\" is neither",
        ),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "mtu": -1}"#,
            "malformed",
        ),
        (
            r#"{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "adawayList": "yes"}"#,
            "malformed",
        ),
    ] {
        let message = invalid_message(api::session_config(json));
        assert!(message.contains(says), "{json}: {message}");
    }
}

#[test]
fn the_built_in_catalogue_names_each_list_with_its_licence_and_the_parsers_count() {
    let catalogue = parse(&api::builtin_lists_json());
    let lists = catalogue.as_array().unwrap();
    let names: Vec<&str> = lists.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hush-default", "hush-adaway", "hush-doh"]);
    for list in lists {
        assert_eq!(list["rejected"], 0, "{list}");
        for key in ["title", "licence", "source"] {
            assert!(!list[key].as_str().unwrap().is_empty(), "{list}");
        }
        let name = list["name"].as_str().unwrap();
        let parsed = hush_rules::builtin_list(name).unwrap().report().entries;
        assert_eq!(list["entries"], parsed, "{list}");
    }
    assert_eq!(lists[1]["entries"], 6_540);
    assert_eq!(lists[1]["licence"], "CC-BY-3.0");
    assert_eq!(lists[2]["entries"], 1_216);
    // Asked again: the same answer, not parsed again.
    assert_eq!(api::builtin_lists_json(), api::builtin_lists_json());
}

#[test]
fn live_counts_add_up_every_kind_of_attempt() {
    let stats = Stats {
        packets_in: 100,
        queries: 10,
        blocked: 4,
        forwarded: 6,
        tcp_flows: 5,
        tcp_blocked: 2,
        tcp_blocked_by_name: 1,
        udp_flows: 3,
        udp_blocked: 1,
        quic_blocked: 1,
        owner_unknown: 7,
        ..Stats::default()
    };
    let live = parse(&api::stats_json(&stats, 9));
    assert_eq!(
        live,
        json!({"packetsIn": 100, "dnsQueries": 10, "blocked": 9, "allowed": 12,
               "eventsDropped": 9, "ownerUnknown": 7, "flowsCutByRule": 0})
    );
}

#[test]
fn recent_events_page_and_filter_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_with_activity(dir.path());

    let all = parse(&api::recent_events(&db, "{}").unwrap());
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 9);
    assert_eq!(all[0]["host"], "tracking.miui.com");
    assert_eq!(all[0]["uid"], Value::Null);
    assert_eq!(all[0]["timeMs"], T0 + 2 * HOUR);
    assert_eq!(all[0]["action"], "blocked");
    assert_eq!(all[0]["reason"], "list:hush-default");
    assert_eq!(all[0]["detail"], "A");
    assert_eq!(all[0]["protocol"], "dns");
    assert_eq!(all[0]["ip"], "198.18.0.53");
    assert_eq!(all[0]["port"], 53);

    let page = parse(
        &api::recent_events(
            &db,
            &json!({"uid": GAME, "action": "blocked", "limit": 3, "offset": 2}).to_string(),
        )
        .unwrap(),
    );
    let times: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["timeMs"].as_i64().unwrap())
        .collect();
    assert_eq!(times, [T0 + 4 * 60_000, T0 + 3 * 60_000, T0 + 2 * 60_000]);

    let by_host = parse(&api::recent_events(&db, r#"{"hostContains": "WIKI"}"#).unwrap());
    assert_eq!(by_host.as_array().unwrap().len(), 1);
    assert_eq!(by_host[0]["uid"], BROWSER);

    let message = invalid_message(api::recent_events(&db, r#"{"action": "dropped"}"#));
    assert!(message.contains("\"dropped\""), "{message}");
    let message = invalid_message(api::recent_events(&db, r#"{"limit": 5000}"#));
    assert!(message.contains("at most 1000"), "{message}");
    let message = invalid_message(api::recent_events(&db, r#"{"uid": "ten"}"#));
    assert!(message.contains("malformed event query"), "{message}");
}

#[test]
fn summaries_top_hosts_and_timeline_read_the_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_with_activity(dir.path());
    let day = (T0, T0 + 24 * HOUR);

    let apps = parse(&api::app_activity(&db, day.0, day.1).unwrap());
    assert_eq!(apps[0]["uid"], GAME);
    assert_eq!(apps[0]["blocked"], 7);
    assert_eq!(apps[0]["allowed"], 0);
    assert_eq!(apps[0]["firstMs"], T0);
    assert_eq!(
        apps[0]["topBlocked"],
        json!([{"host": "app.adjust.com", "count": 6}, {"host": "graph.facebook.com", "count": 1}])
    );
    let uids: Vec<&Value> = apps.as_array().unwrap().iter().map(|a| &a["uid"]).collect();
    assert_eq!(uids.len(), 3);
    assert!(uids.contains(&&Value::Null));

    let hosts = parse(&api::top_blocked_hosts(&db, day.0, day.1, -1, 2).unwrap());
    assert_eq!(
        hosts,
        json!([{"host": "app.adjust.com", "blocked": 6, "apps": 1},
               {"host": "graph.facebook.com", "blocked": 1, "apps": 1}])
    );
    let browser = parse(&api::top_blocked_hosts(&db, day.0, day.1, BROWSER.into(), 5).unwrap());
    assert_eq!(browser, json!([]));

    let timeline = parse(&api::daily_timeline(&db, day.0, day.1, GAME.into(), 0).unwrap());
    assert_eq!(
        timeline,
        json!([{"day": "2025-01-29", "blocked": 7, "allowed": 0, "failed": 0}])
    );

    let message = invalid_message(api::app_activity(&db, day.1, day.0));
    assert!(message.contains("starts"), "{message}");
    let message = invalid_message(api::daily_timeline(&db, day.0, day.1, -1, 24 * 60));
    assert!(message.contains("18 hours"), "{message}");
}

#[test]
fn exports_write_every_event_in_range_and_clearing_empties_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_with_activity(dir.path());

    let mut csv = Vec::new();
    assert_eq!(api::export(&db, "csv", None, None, &mut csv).unwrap(), 9);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 10, "a header and nine rows:\n{csv}");
    assert!(csv.contains("tracking.miui.com"));

    let mut lines = Vec::new();
    let count = api::export(&db, "json", Some(T0 + HOUR), None, &mut lines).unwrap();
    assert_eq!(count, 3);
    for line in String::from_utf8(lines).unwrap().lines() {
        parse(line);
    }
    let message = invalid_message(api::export(&db, "xml", None, None, Vec::new()));
    assert!(message.contains("\"xml\""), "{message}");

    assert_eq!(api::clear_activity(&db).unwrap(), 9);
    assert_eq!(parse(&api::recent_events(&db, "{}").unwrap()), json!([]));
}

#[test]
fn retention_is_stored_and_refuses_keeping_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");
    assert_eq!(
        parse(&api::retention(&db).unwrap()),
        json!({"maxAgeDays": 30, "maxEvents": null}),
        "never set is the default, 30 days"
    );
    api::set_retention(&db, -1, 5).unwrap();
    assert_eq!(
        parse(&api::retention(&db).unwrap()),
        json!({"maxAgeDays": null, "maxEvents": 5}),
        "no limit stays no limit"
    );
    api::set_retention(&db, 30, -1).unwrap();
    assert_eq!(
        parse(&api::retention(&db).unwrap()),
        json!({"maxAgeDays": 30, "maxEvents": null})
    );
    let message = invalid_message(api::set_retention(&db, 0, -1));
    assert!(message.contains("keep nothing"), "{message}");
    let message = invalid_message(api::set_retention(&db, 1 << 40, -1));
    assert!(message.contains("too long"), "{message}");
    assert_eq!(
        parse(&api::retention(&db).unwrap()),
        json!({"maxAgeDays": 30, "maxEvents": null}),
        "a refused change leaves the stored settings alone"
    );
}

#[test]
fn rules_round_trip_and_bad_rules_are_the_callers_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");

    api::set_app_mode(&db, GAME.into(), "mobile", "block-all").unwrap();
    api::set_app_mode(&db, BROWSER.into(), "any", "allow-all").unwrap();
    let modes = parse(&api::app_modes(&db).unwrap());
    assert_eq!(
        modes,
        json!([{"uid": GAME, "network": "mobile", "mode": "block-all"},
               {"uid": BROWSER, "network": "any", "mode": "allow-all"}])
    );
    assert!(api::clear_app_mode(&db, GAME.into(), "mobile").unwrap());
    assert!(!api::clear_app_mode(&db, GAME.into(), "mobile").unwrap());

    assert_eq!(
        api::add_domain_rule(&db, -1, "Tracking.MIUI.com.", "block").unwrap(),
        "tracking.miui.com"
    );
    api::add_domain_rule(&db, GAME.into(), "app.adjust.com", "allow").unwrap();
    let rules = parse(&api::domain_rules(&db).unwrap());
    assert_eq!(rules.as_array().unwrap().len(), 2);
    assert!(rules.as_array().unwrap().contains(
        &json!({"uid": null, "domain": "tracking.miui.com", "action": "block", "package": null})
    ));
    assert!(api::remove_domain_rule(&db, -1, "tracking.miui.com").unwrap());
    assert!(!api::remove_domain_rule(&db, -1, "tracking.miui.com").unwrap());

    for (result, says) in [
        (
            api::set_app_mode(&db, GAME.into(), "mobile", "block-some"),
            "block-some",
        ),
        (
            api::set_app_mode(&db, GAME.into(), "satellite", "block-all"),
            "satellite",
        ),
        (
            api::set_app_mode(&db, -1, "any", "block-all"),
            "-1 is not an app's uid",
        ),
        (
            api::set_app_mode(&db, u32::MAX.into(), "any", "block-all"),
            "is not an app's uid",
        ),
        (
            api::add_domain_rule(&db, -1, "bad..name", "block").map(drop),
            "bad..name",
        ),
        (
            api::add_domain_rule(&db, -1, "ok.example", "deny").map(drop),
            "deny",
        ),
    ] {
        let message = invalid_message(result);
        assert!(message.contains(says), "{says}: {message}");
    }
    let policy = hush_store::rules::app_policy(&mut hush_store::open(&db).unwrap()).unwrap();
    assert_eq!(
        policy.mode(Some(BROWSER)),
        AppMode::AllowAll,
        "the refused rules changed nothing"
    );
}

#[test]
fn each_app_option_round_trips_as_json_and_reaches_the_policy_on_its_own() {
    let on = |policy: &hush_engine::AppPolicy, option: &str, uid: Option<u32>| match option {
        "resolvedOnly" => policy.resolved_only(uid),
        _ => policy.strict(uid),
    };
    for (option, other) in [("resolvedOnly", "strict"), ("strict", "resolvedOnly")] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hush.db");
        let none = json!({"default": false, "apps": []});
        assert_eq!(parse(&api::app_option(&db, option).unwrap()), none);
        api::set_app_option(&db, option, GAME.into(), "org.example.game", true).unwrap();
        api::set_app_option(&db, option, BROWSER.into(), "", false).unwrap();
        api::set_app_option_default(&db, option, true).unwrap();
        assert_eq!(
            parse(&api::app_option(&db, option).unwrap()),
            json!({"default": true, "apps": [{"uid": GAME, "on": true}, {"uid": BROWSER, "on": false}]})
        );
        assert_eq!(
            parse(&api::app_option(&db, other).unwrap()),
            none,
            "{option} is an option of its own"
        );
        let policy = hush_store::rules::app_policy(&mut hush_store::open(&db).unwrap()).unwrap();
        assert!(on(&policy, option, Some(GAME)) && !on(&policy, option, Some(BROWSER)));
        assert!(on(&policy, option, None), "{option}: the default");
        assert!(!on(&policy, other, Some(GAME)) && !on(&policy, other, None));
        assert!(api::clear_app_option(&db, option, BROWSER.into()).unwrap());
        assert!(!api::clear_app_option(&db, option, BROWSER.into()).unwrap());
        for (result, says) in [
            (
                api::set_app_option(&db, option, -1, "", true),
                "-1 is not an app's uid",
            ),
            (
                api::set_app_option(&db, option, GAME.into(), "bad package", true),
                "not a package name",
            ),
        ] {
            let message = invalid_message(result);
            assert!(message.contains(says), "{option}: {says}: {message}");
        }
    }
}

#[test]
fn an_unknown_app_option_is_an_invalid_argument_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");
    for result in [
        api::app_option(&db, "resolved_only").map(drop),
        api::set_app_option(&db, "Strict", GAME.into(), "", true),
        api::clear_app_option(&db, "", GAME.into()).map(drop),
        api::set_app_option_default(&db, "everything", true),
    ] {
        let message = invalid_message(result);
        assert!(message.contains("unknown app option"), "{message}");
    }
    for option in ["resolvedOnly", "strict"] {
        assert_eq!(
            parse(&api::app_option(&db, option).unwrap()),
            json!({"default": false, "apps": []})
        );
    }
}

#[test]
fn a_database_that_is_not_one_is_a_store_error_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");
    std::fs::write(
        &db,
        b"this is not an SQLite database, it is a text file\n".repeat(100),
    )
    .unwrap();
    match api::recent_events(&db, "{}") {
        Err(ApiError::Store(error)) => {
            let message = error.to_string();
            assert!(message.contains("not a database"), "{message}");
        }
        other => panic!("expected a store error, got {other:?}"),
    }
    let missing_dir = dir.path().join("no/such/dir/hush.db");
    match api::app_modes(&missing_dir) {
        Err(ApiError::Store(error)) => assert!(error.to_string().contains("no/such/dir")),
        other => panic!("expected a store error, got {other:?}"),
    }
}

#[test]
fn a_list_is_checked_before_use_and_what_is_not_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("trackers.txt");
    std::fs::write(
        &list,
        "# hosts\n0.0.0.0 app.adjust.com\n0.0.0.0 app.adjust.com\n0.0.0.0 bad..name\n",
    )
    .unwrap();
    let report = parse(&api::check_list(&list, "block").unwrap());
    assert_eq!(report["name"], "trackers.txt");
    assert_eq!(report["entries"], 1);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["firstRejected"][0]["line"], 4);

    let page = dir.path().join("index.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html>\n<html><head><title>Not found</title></head>\n<body>gone</body></html>\n",
    )
    .unwrap();
    let message = invalid_message(api::check_list(&page, "block"));
    assert!(message.contains("index.html is not a list"), "{message}");

    let huge = dir.path().join("huge.txt");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(api::MAX_LIST_BYTES + 1).unwrap();
    let message = invalid_message(api::check_list(&huge, "block"));
    assert!(message.contains("larger than 64 MB"), "{message}");

    let message = invalid_message(api::check_list(&dir.path().join("none.txt"), "block"));
    assert!(message.contains("none.txt"), "{message}");
    let message = invalid_message(api::check_list(&list, "deny"));
    assert!(message.contains("\"deny\""), "{message}");

    // An empty list is a list: nothing in it is wrong.
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing yet\n").unwrap();
    assert_eq!(
        parse(&api::check_list(&empty, "allow").unwrap())["entries"],
        0
    );
}

#[test]
fn health_is_json_the_platform_reads_with_a_reason_only_when_not_filtering() {
    use hush_session::{Filtering, Health, Problem, ProblemKind};
    let on = Health {
        filtering: Filtering::On,
        restarts: 0,
        problems: Vec::new(),
    };
    assert_eq!(
        parse(&api::health_json(&on)),
        json!({"filtering": {"state": "on"}, "restarts": 0, "problems": []})
    );
    let holding = Health {
        filtering: Filtering::Holding {
            reason: "the engine failed 5 times in a minute".into(),
        },
        restarts: 5,
        problems: vec![
            Problem {
                kind: ProblemKind::Database,
                message: "the database cannot be written: disk full".into(),
            },
            Problem {
                kind: ProblemKind::List,
                message: "list easylist.txt could not be read".into(),
            },
        ],
    };
    assert_eq!(
        parse(&api::health_json(&holding)),
        json!({
            "filtering": {"state": "holding", "reason": "the engine failed 5 times in a minute"},
            "restarts": 5,
            "problems": [
                {"kind": "database", "message": "the database cannot be written: disk full"},
                {"kind": "list", "message": "list easylist.txt could not be read"},
            ],
        })
    );
    for (filtering, state) in [
        (Filtering::Restarting { reason: "x".into() }, "restarting"),
        (Filtering::Stopped { reason: "x".into() }, "stopped"),
    ] {
        let health = Health {
            filtering,
            restarts: 1,
            problems: Vec::new(),
        };
        let json = parse(&api::health_json(&health));
        assert_eq!(json["filtering"], json!({"state": state, "reason": "x"}));
    }
    let kinds = [ProblemKind::Rules, ProblemKind::Config].map(|kind| {
        let health = Health {
            filtering: Filtering::On,
            restarts: 0,
            problems: vec![Problem {
                kind,
                message: "m".into(),
            }],
        };
        parse(&api::health_json(&health))["problems"][0]["kind"].clone()
    });
    assert_eq!(kinds, [json!("rules"), json!("config")]);
}

#[test]
fn a_stop_reason_is_a_short_line_of_text() {
    assert_eq!(
        api::stop_reason(hush_session::STOPPED_BY_OWNER).unwrap(),
        "stopped"
    );
    assert_eq!(api::stop_reason(hush_session::REVOKED).unwrap(), "revoked");
    assert_eq!(
        api::stop_reason("  service-destroyed \n").unwrap(),
        "service-destroyed"
    );
    assert!(invalid_message(api::stop_reason("")).contains("empty"));
    assert!(invalid_message(api::stop_reason(" \t ")).contains("empty"));
    assert!(invalid_message(api::stop_reason("two\nlines")).contains("one line"));
    let long = "x".repeat(api::MAX_STOP_REASON + 1);
    assert!(invalid_message(api::stop_reason(&long)).contains("at most 200"));
    assert!(api::stop_reason(&"é".repeat(api::MAX_STOP_REASON)).is_ok());
}

#[test]
fn gaps_are_listed_newest_first_with_an_open_one_as_null() {
    use hush_store::gaps;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let connection = hush_store::open(&path).unwrap();
    gaps::on_start(&connection, T0).unwrap();
    gaps::on_stop(&connection, T0 + HOUR, gaps::REVOKED).unwrap();
    gaps::on_start(&connection, T0 + 2 * HOUR).unwrap();
    gaps::on_stop(&connection, T0 + 3 * HOUR, gaps::STOPPED).unwrap();
    drop(connection);

    let all = parse(&api::gaps(&path, None, 10).unwrap());
    assert_eq!(
        all,
        json!([
            {"startMs": T0 + 3 * HOUR, "endMs": null, "reason": "stopped"},
            {"startMs": T0 + HOUR, "endMs": T0 + 2 * HOUR, "reason": "revoked"},
        ])
    );
    // Since after the revoked gap ended: the open one only.
    let recent = parse(&api::gaps(&path, Some(T0 + 2 * HOUR + 1), 10).unwrap());
    assert_eq!(recent.as_array().unwrap().len(), 1);
    assert_eq!(recent[0]["reason"], "stopped");
    assert_eq!(
        parse(&api::gaps(&path, None, 1).unwrap())
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let not_a_database = dir.path().join("notes.txt");
    std::fs::write(&not_a_database, "not sqlite at all, just some text").unwrap();
    assert!(matches!(
        api::gaps(&not_a_database, None, 10),
        Err(ApiError::Store(_))
    ));
}

#[test]
fn an_apps_hosts_are_paged_exactly_with_the_last_action_and_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_with_activity(dir.path());

    let page = parse(&api::app_hosts(&db, GAME.into(), None, None, 1, 0).unwrap());
    assert_eq!(page["total"], 2);
    assert_eq!(
        page["hosts"],
        json!([{"host": "graph.facebook.com", "allowed": 0, "blocked": 1, "failed": 0,
                "firstMs": T0 + HOUR, "lastMs": T0 + HOUR,
                "lastAction": "blocked", "lastReason": "list:hush-default"}])
    );
    let next = parse(&api::app_hosts(&db, GAME.into(), None, None, 1, 1).unwrap());
    assert_eq!(next["total"], 2);
    assert_eq!(next["hosts"][0]["host"], "app.adjust.com");
    assert_eq!(next["hosts"][0]["blocked"], 6);
    assert_eq!(next["hosts"][0]["firstMs"], T0);
    assert_eq!(next["hosts"][0]["lastMs"], T0 + 5 * 60_000);
    let past = parse(&api::app_hosts(&db, GAME.into(), None, None, 1, 2).unwrap());
    assert_eq!(past, json!({"total": 2, "hosts": []}));

    // The owner not known is asked for with a negative uid; an app with no
    // activity has none; a range leaves out the hours outside it.
    let unknown = parse(&api::app_hosts(&db, -1, None, None, 100, 0).unwrap());
    assert_eq!(unknown["hosts"][0]["host"], "tracking.miui.com");
    assert_eq!(unknown["total"], 1);
    let quiet = parse(&api::app_hosts(&db, 10_999, None, None, 100, 0).unwrap());
    assert_eq!(quiet, json!({"total": 0, "hosts": []}));
    let later = parse(
        &api::app_hosts(
            &db,
            GAME.into(),
            Some(T0 + HOUR),
            Some(T0 + 2 * HOUR),
            100,
            0,
        )
        .unwrap(),
    );
    assert_eq!(later["total"], 1);
    assert_eq!(later["hosts"][0]["host"], "graph.facebook.com");

    // The same cap as the event log: a page over 1,000 is the caller's error.
    let message = invalid_message(api::app_hosts(&db, GAME.into(), None, None, 1_001, 0));
    assert!(message.contains("at most 1000 hosts"), "{message}");
    let message = invalid_message(api::app_hosts(
        &db,
        GAME.into(),
        Some(T0 + HOUR),
        Some(T0),
        10,
        0,
    ));
    assert!(message.contains("starts"), "{message}");
    let message = invalid_message(api::app_hosts(&db, u32::MAX.into(), None, None, 10, 0));
    assert!(message.contains("not an app's uid"), "{message}");
}

#[test]
fn rules_for_an_app_remember_its_package_and_are_found_by_part_of_their_domain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");

    assert_eq!(
        api::add_domain_rule_for_package(
            &db,
            GAME.into(),
            "com.example.game",
            "App.Adjust.com.",
            "block"
        )
        .unwrap(),
        "app.adjust.com"
    );
    api::add_domain_rule(&db, -1, "app.adjust.com", "allow").unwrap();
    api::add_domain_rule(&db, BROWSER.into(), "adjust.com", "block").unwrap();
    api::add_domain_rule(&db, -1, "tracking.miui.com", "block").unwrap();

    // Exactly this domain, for every app and each app; not its parent.
    let exact = parse(&api::domain_rules_for(&db, "APP.adjust.com.").unwrap());
    assert_eq!(
        exact,
        json!({"domain": "app.adjust.com", "rules": [
            {"uid": null, "domain": "app.adjust.com", "action": "allow", "package": null},
            {"uid": GAME, "domain": "app.adjust.com", "action": "block", "package": "com.example.game"}]})
    );
    assert_eq!(
        parse(&api::domain_rules_for(&db, "other.example").unwrap()),
        json!({"domain": "other.example", "rules": []})
    );
    for (host, says) in [
        ("", "has no name"),
        ("  ", "has no name"),
        ("198.18.0.53", "an address, not a domain"),
        ("2001:db8::1", "an address, not a domain"),
        ("bad..name", "not a valid domain name"),
    ] {
        let message = invalid_message(api::domain_rules_for(&db, host));
        assert!(message.contains(says), "{host:?}: {message}");
    }

    // Searching by part of the domain, paged, with the total.
    let page = parse(&api::domain_rules_matching(&db, "ADJUST", 2, 0).unwrap());
    assert_eq!(page["total"], 3);
    assert_eq!(page["rules"].as_array().unwrap().len(), 2);
    assert_eq!(page["rules"][0]["uid"], json!(null));
    let rest = parse(&api::domain_rules_matching(&db, "adjust", 2, 2).unwrap());
    assert_eq!(rest["rules"].as_array().unwrap().len(), 1);
    let all = parse(&api::domain_rules_matching(&db, " ", 100, 0).unwrap());
    assert_eq!(all["total"], 4);
    let message = invalid_message(api::domain_rules_matching(&db, "", 1_001, 0));
    assert!(message.contains("at most 1000 rules"), "{message}");

    // A package must be one, and a rule for an app needs an app.
    for (result, says) in [
        (
            api::add_domain_rule_for_package(&db, GAME.into(), "", "a.example", "block"),
            "package",
        ),
        (
            api::add_domain_rule_for_package(&db, -1, "com.example.game", "a.example", "block"),
            "not an app's uid",
        ),
        (
            api::add_domain_rule_for_package(
                &db,
                GAME.into(),
                "com.example.game",
                "10.0.0.1",
                "block",
            ),
            "10.0.0.1",
        ),
    ] {
        let message = invalid_message(result);
        assert!(message.contains(says), "{says}: {message}");
    }
    assert_eq!(
        parse(&api::domain_rules(&db).unwrap())
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn installs_and_removals_keep_rules_with_their_app() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");

    api::set_app_mode_for_package(&db, GAME.into(), "com.example.game", "any", "block-all")
        .unwrap();
    api::set_app_mode_for_package(&db, 1000, "com.android.phone", "wifi", "allow-all").unwrap();
    api::set_app_mode_for_package(&db, 1000, "com.android.settings", "mobile", "block-all")
        .unwrap();
    api::add_domain_rule(&db, -1, "tracker.example.com", "block").unwrap();
    assert_eq!(
        parse(&api::app_modes(&db).unwrap())
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A package leaves a shared UID: only its rules go.
    assert_eq!(
        api::forget_app(&db, 1000, Some("com.android.phone")).unwrap(),
        1
    );
    // The UID itself is gone: all its rules.
    assert_eq!(api::forget_app(&db, GAME.into(), None).unwrap(), 1);
    assert_eq!(
        parse(&api::app_modes(&db).unwrap()),
        json!([{"uid": 1000, "network": "mobile", "mode": "block-all"}])
    );
    assert_eq!(
        parse(&api::domain_rules(&db).unwrap())
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // At start: the installed apps decide; an empty list is refused and drops nothing.
    assert!(invalid_message(api::reconcile_apps(&db, "[]")).contains("empty"));
    assert!(invalid_message(api::reconcile_apps(&db, r#"[{"uid": 1000}]"#)).contains("package"));
    assert_eq!(
        api::reconcile_apps(&db, r#"[{"uid": 1000, "package": "com.android.phone"}]"#).unwrap(),
        1
    );
    assert_eq!(parse(&api::app_modes(&db).unwrap()), json!([]));

    // Bad input is the caller's, with the store's words.
    assert!(invalid_message(api::set_app_mode_for_package(
        &db,
        GAME.into(),
        "not a package",
        "any",
        "allow-all"
    ))
    .contains("package"));
    assert!(invalid_message(api::set_app_mode_for_package(
        &db,
        -1,
        "com.example.game",
        "any",
        "allow-all"
    ))
    .contains("not an app's uid"));
    assert!(invalid_message(api::forget_app(&db, -1, None)).contains("not an app's uid"));

    // The apps as the platform describes them, one per UID with every package.
    let apps = json!([
        {"uid": 1000, "label": "Android System", "packages": ["com.android.settings", "com.android.phone"], "system": true},
        {"uid": GAME, "label": "Game", "packages": ["com.example.game"], "system": false}
    ]);
    assert_eq!(api::set_apps(&db, &apps.to_string()).unwrap(), 2);
    assert_eq!(
        parse(&api::apps(&db).unwrap()),
        json!([
            {"uid": 1000, "label": "Android System", "packages": ["com.android.phone", "com.android.settings"], "system": true},
            {"uid": GAME, "label": "Game", "packages": ["com.example.game"], "system": false}
        ])
    );
    assert!(invalid_message(api::set_apps(
        &db,
        r#"[{"uid": -3, "label": "x", "packages": [], "system": false}]"#
    ))
    .contains("not an app's uid"));
}

#[test]
fn an_encrypted_upstream_is_read_from_the_config() {
    let config = api::session_config(
        r#"{"databasePath": "/data/hush.db",
            "upstream": {"url": "https://dns.example/dns-query", "addresses": ["198.18.0.2", "fd00::2"]}}"#,
    )
    .unwrap();
    assert_eq!(
        config.upstream.to_string(),
        "https://dns.example:443/dns-query"
    );
    assert_eq!(
        config.upstream.address(),
        "198.18.0.2:443".parse::<SocketAddr>().unwrap()
    );
    let config = api::session_config(
        r#"{"databasePath": "/data/hush.db", "upstream": {"url": "198.18.0.1:53"}}"#,
    )
    .unwrap();
    assert_eq!(config.upstream.to_string(), "198.18.0.1:53");
}

#[test]
fn a_bad_upstream_is_refused_saying_why() {
    for (json, says) in [
        (
            r#""upstream": {"url": "tls://dns.example"}"#,
            "needs an address",
        ),
        (
            r#""upstream": {"url": "ftp://dns.example", "addresses": ["198.18.0.2"]}"#,
            "scheme",
        ),
        (
            r#""upstream": {"url": "tls://dns.example", "addresses": ["nope"]}"#,
            "not an IP",
        ),
        (
            r#""upstream": {"url": "tls://dns.example", "addresses": ["198.18.0.2"], "caPem": "x"}"#,
            "PEM",
        ),
        (
            r#""upstreamDns": "198.18.0.1:53", "upstream": {"url": "198.18.0.1:53"}"#,
            "not both",
        ),
        (r#""mtu": 1400"#, "no upstream"),
    ] {
        let json = format!(r#"{{"databasePath": "/data/hush.db", {json}}}"#);
        let error = api::session_config(&json).unwrap_err().to_string();
        assert!(error.contains(says), "{json}: {error}");
    }
}

#[test]
fn exempt_resolvers_are_read_from_the_start_and_on_their_own() {
    let config = api::session_config(
        r#"{"databasePath": "/data/hush.db", "upstreamDns": "9.9.9.9:53",
            "exemptResolvers": {"names": ["Dns.Example."], "addresses": ["198.18.0.2", " fd00::2 "]}}"#,
    )
    .unwrap();
    let exempt = &config.resolver_exemptions;
    assert_eq!(exempt.names(), ["dns.example"]);
    assert!(exempt.exempts_name("dns.example") && exempt.exempts_name("a.dns.example"));
    assert!(!exempt.exempts_name("example"));
    let addresses: Vec<String> = exempt.addresses().iter().map(|a| a.to_string()).collect();
    assert_eq!(addresses, ["198.18.0.2", "fd00::2"]);
    let minimal =
        api::session_config(r#"{"databasePath": "/d/h.db", "upstreamDns": "9.9.9.9:53"}"#).unwrap();
    assert!(minimal.resolver_exemptions.is_empty());

    let running = api::resolver_exemptions(r#"{"names": ["one.one.one.one"]}"#).unwrap();
    assert_eq!(running.names(), ["one.one.one.one"]);
    assert!(running.addresses().is_empty());
    assert!(api::resolver_exemptions("{}").unwrap().is_empty());

    for (json, says) in [
        (
            r#"{"addresses": ["dns.example"]}"#,
            "address \"dns.example\" is not an IP address",
        ),
        (
            r#"{"addresses": ["198.18.0.2:853"]}"#,
            "is not an IP address",
        ),
        (
            r#"{"names": ["dns example"]}"#,
            "\"dns example\" is not a host name",
        ),
        (r#"{"names": [""]}"#, "is not a host name"),
        (r#"{"names": ["a..b"]}"#, "is not a host name"),
        (r#"{"hosts": []}"#, "unknown field `hosts`"),
        (r#"{"names": "dns.example"}"#, "malformed exempt resolvers"),
        ("[", "malformed exempt resolvers"),
    ] {
        let message = invalid_message(api::resolver_exemptions(json));
        assert!(message.contains(says), "{json}: {message}");
        let start = format!(
            r#"{{"databasePath": "/d", "upstreamDns": "9.9.9.9:53", "exemptResolvers": {json}}}"#
        );
        if json != "[" {
            assert!(api::session_config(&start).is_err(), "{start}");
        }
    }
}

#[test]
fn a_capture_spec_is_read_strictly_and_a_stopped_capture_says_how_it_went() {
    let spec = api::capture_spec(
        r#"{"uid": 10123, "app": "Shop", "path": "/data/cap.pcapng", "fileBytes": 1048576, "files": 2, "seconds": 600}"#,
    )
    .unwrap();
    assert_eq!((spec.uid, spec.app.as_str()), (10123, "Shop"));
    assert_eq!((spec.file_bytes, spec.files), (1 << 20, 2));
    assert_eq!(spec.duration, Some(std::time::Duration::from_secs(600)));
    assert_eq!(
        spec.whole_bytes,
        Some(hush_engine::capture::DEFAULT_WHOLE_BYTES)
    );
    let whole = api::capture_spec(r#"{"uid": 1, "path": "/c", "whole": true}"#).unwrap();
    assert_eq!(whole.whole_bytes, None);
    let defaults = api::capture_spec(r#"{"uid": 1, "path": "/c"}"#).unwrap();
    assert_eq!(defaults.files, hush_engine::capture::DEFAULT_FILES);
    assert_eq!(defaults.duration, None);
    for bad in [
        r#"{"uid": -5, "path": "/c"}"#,
        r#"{"uid": 1, "path": ""}"#,
        r#"{"uid": 1, "path": "/c", "seconds": 0}"#,
        r#"{"uid": 1, "path": "/c", "colour": "red"}"#,
        r#"{"path": "/c"}"#,
    ] {
        assert!(
            matches!(api::capture_spec(bad), Err(api::ApiError::Invalid(_))),
            "{bad}"
        );
    }

    // A real capture, stopped: its file is listed, and the JSON says so.
    let dir = std::env::temp_dir().join(format!("hush-api-capture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cap.pcapng");
    let capture = hush_engine::Capture::default();
    assert!(api::capture_status_json(capture.status()).contains(r#""uid":null"#));
    capture
        .start(hush_engine::CaptureSpec::new(7, path.clone()))
        .unwrap();
    let status = api::capture_status_json(capture.status());
    assert!(
        status.contains(r#""uid":7"#) && status.contains(r#""running":true"#),
        "{status}"
    );
    let stopped: serde_json::Value =
        serde_json::from_str(&api::capture_stopped_json(capture.stop())).unwrap();
    assert_eq!(stopped["uid"], 7);
    assert_eq!(stopped["running"], false);
    assert_eq!(stopped["files"][0], path.to_string_lossy().as_ref());
    assert!(stopped["error"].is_null());
    assert!(path.exists());
    assert_eq!(
        api::capture_stopped_json(capture.stop()),
        api::capture_status_json(None),
        "stopping twice"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
