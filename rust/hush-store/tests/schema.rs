//! The schema's upgrades and the rules tables, on real SQLite files.

use hush_store::rules::{self, AppMode, DomainAction, DomainRule, Network};
use hush_store::StoreError;
use rusqlite::{params, Connection};

/// A database as Hush's first schema (version 1) left it, with events.
fn version_1_fixture(path: &std::path::Path) {
    let connection = Connection::open(path).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE events (
                id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, uid INTEGER,
                host TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,
                protocol TEXT NOT NULL, detail TEXT NOT NULL, action TEXT NOT NULL,
                reason TEXT NOT NULL);
             CREATE INDEX events_time ON events(time_ms);
             CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    let hour = 3_600_000i64;
    for (time_ms, uid, host, action) in [
        (10 * hour + 5, Some(10_123), "tracking.miui.com", "blocked"),
        (10 * hour + 9, Some(10_123), "tracking.miui.com", "blocked"),
        (10 * hour + 7, None, "tracking.miui.com", "blocked"),
        (11 * hour, Some(10_123), "f-droid.org", "allowed"),
    ] {
        connection
            .execute(
                "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason)
                 VALUES (?1, ?2, ?3, '198.18.0.53', 53, 'dns', 'A', ?4, 'list:hush-default')",
                params![time_ms, uid, host, action],
            )
            .unwrap();
    }
    connection
        .execute("INSERT INTO counters VALUES ('dropped_events', 7)", [])
        .unwrap();
}

#[test]
fn a_version_1_database_is_upgraded_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    version_1_fixture(&path);
    let connection = hush_store::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, hush_store::SCHEMA_VERSION);
    assert_eq!(hush_store::events(&connection).unwrap().len(), 4);
    assert_eq!(hush_store::dropped_events(&connection).unwrap(), 7);
    // The aggregates are filled from the events already there.
    let hourly: Vec<_> = hush_store::hourly_counts(&connection)
        .unwrap()
        .into_iter()
        .map(|h| (h.hour, h.uid, h.host, h.count))
        .collect();
    assert_eq!(
        hourly,
        [
            (10, None, "tracking.miui.com".to_string(), 1),
            (10, Some(10_123), "tracking.miui.com".to_string(), 2),
            (11, Some(10_123), "f-droid.org".to_string(), 1),
        ]
    );
    // So are the rollups the queries read (version 3).
    let summaries: Vec<_> = hush_store::query::app_summaries(&connection, 0, 12 * 3_600_000)
        .unwrap()
        .into_iter()
        .map(|s| (s.uid, s.blocked, s.allowed, s.top_blocked))
        .collect();
    assert_eq!(
        summaries,
        [
            (
                Some(10_123),
                2,
                1,
                vec![("tracking.miui.com".to_string(), 2)]
            ),
            (None, 1, 0, vec![("tracking.miui.com".to_string(), 1)]),
        ]
    );
    assert_eq!(
        hush_store::query::top_blocked_hosts(&connection, 0, 48 * 3_600_000, None, 10).unwrap(),
        [("tracking.miui.com".to_string(), 3, 2)]
    );
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // Opening again changes nothing.
    drop(connection);
    let again = hush_store::open(&path).unwrap();
    assert_eq!(hush_store::hourly_counts(&again).unwrap().len(), 3);
}

#[test]
fn a_failed_upgrade_leaves_the_old_schema_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    version_1_fixture(&path);
    // A table in the way makes version 2's script fail half-way.
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE settings (x INTEGER);")
        .unwrap();
    assert!(matches!(hush_store::open(&path), Err(StoreError::Sql(_))));
    let connection = Connection::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 1, "the upgrade is one transaction");
    let hourly: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'hourly'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(hourly, 0);
}

#[test]
fn app_modes_fall_back_from_network_to_any_to_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    assert_eq!(
        rules::app_mode(&connection, 10_001, Network::Wifi).unwrap(),
        AppMode::BlockTrackers
    );
    rules::set_app_mode(&connection, 10_001, Network::Any, AppMode::BlockAll).unwrap();
    rules::set_app_mode(&connection, 10_001, Network::Wifi, AppMode::AllowAll).unwrap();
    assert_eq!(
        rules::app_mode(&connection, 10_001, Network::Wifi).unwrap(),
        AppMode::AllowAll
    );
    assert_eq!(
        rules::app_mode(&connection, 10_001, Network::Mobile).unwrap(),
        AppMode::BlockAll
    );
    // Setting again replaces; clearing falls back.
    rules::set_app_mode(&connection, 10_001, Network::Wifi, AppMode::BlockTrackers).unwrap();
    assert!(rules::clear_app_mode(&connection, 10_001, Network::Any).unwrap());
    assert!(!rules::clear_app_mode(&connection, 10_001, Network::Any).unwrap());
    assert_eq!(
        rules::app_modes(&connection).unwrap(),
        [(10_001, Network::Wifi, AppMode::BlockTrackers)]
    );
    // The schema refuses what the API would: no unknown modes.
    let raw = connection.execute(
        "INSERT INTO app_rules VALUES (1, 'any', 'block-some', 0)",
        [],
    );
    assert!(raw.is_err());
    assert!(matches!(
        rules::parse_word::<AppMode>("block-some"),
        Err(StoreError::InvalidRule(message)) if message.contains("block-trackers")
    ));
}

#[test]
fn domain_rules_are_normalised_and_unique_per_scope() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    let stored =
        rules::add_domain_rule(&connection, None, "Tracking.MIUI.com.", DomainAction::Block)
            .unwrap();
    assert_eq!(stored, "tracking.miui.com");
    rules::add_domain_rule(&connection, None, "tracking.miui.com", DomainAction::Allow).unwrap();
    rules::add_domain_rule(
        &connection,
        Some(10_050),
        "tracking.miui.com",
        DomainAction::Block,
    )
    .unwrap();
    rules::add_domain_rule(
        &connection,
        Some(10_050),
        "bücher.example",
        DomainAction::Allow,
    )
    .unwrap();
    assert_eq!(
        rules::domain_rules(&connection).unwrap(),
        [
            DomainRule {
                uid: None,
                domain: "tracking.miui.com".into(),
                action: DomainAction::Allow,
                package: None
            },
            DomainRule {
                uid: Some(10_050),
                domain: "tracking.miui.com".into(),
                action: DomainAction::Block,
                package: None
            },
            DomainRule {
                uid: Some(10_050),
                domain: "xn--bcher-kva.example".into(),
                action: DomainAction::Allow,
                package: None
            },
        ]
    );
    assert!(rules::remove_domain_rule(&connection, None, "TRACKING.miui.com").unwrap());
    assert!(!rules::remove_domain_rule(&connection, None, "tracking.miui.com").unwrap());
    for bad in [
        "",
        "a..b",
        "198.51.100.1",
        "bad name.example",
        &"x".repeat(300),
    ] {
        let error = rules::add_domain_rule(&connection, None, bad, DomainAction::Block);
        assert!(
            matches!(error, Err(StoreError::InvalidRule(_))),
            "{bad:?} was taken"
        );
    }
    assert_eq!(rules::domain_rules(&connection).unwrap().len(), 2);
}

#[test]
fn settings_are_stored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    assert_eq!(rules::setting(&connection, "upstream").unwrap(), None);
    rules::set_setting(&connection, "upstream", "9.9.9.9:53").unwrap();
    rules::set_setting(&connection, "upstream", "[2620:fe::fe]:53").unwrap();
    assert_eq!(
        rules::setting(&connection, "upstream").unwrap().as_deref(),
        Some("[2620:fe::fe]:53")
    );
}

#[test]
fn recent_events_filter_order_and_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    version_1_fixture(&path);
    let connection = hush_store::open(&path).unwrap();
    let hosts = |filter: &hush_store::EventFilter, limit, offset| -> Vec<(i64, String)> {
        hush_store::recent_events(&connection, filter, limit, offset)
            .unwrap()
            .into_iter()
            .map(|e| (e.time_ms / 3_600_000, e.host))
            .collect()
    };
    let all = hush_store::EventFilter::default();
    assert_eq!(hosts(&all, 10, 0).len(), 4);
    assert_eq!(hosts(&all, 1, 0), [(11, "f-droid.org".to_string())]);
    assert_eq!(hosts(&all, 2, 3), [(10, "tracking.miui.com".to_string())]);
    let app = hush_store::EventFilter {
        uid: Some(10_123),
        action: Some("blocked".into()),
        host_contains: Some("MIUI".into()),
        ..Default::default()
    };
    assert_eq!(hosts(&app, 10, 0).len(), 2);
    let later = hush_store::EventFilter {
        since_ms: Some(11 * 3_600_000),
        ..Default::default()
    };
    assert_eq!(hosts(&later, 10, 0), [(11, "f-droid.org".to_string())]);
}

#[test]
fn list_loads_are_recorded_and_keep_the_users_switch() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    rules::record_list_load(&connection, "hush-default", "built-in", 1328).unwrap();
    rules::record_list_load(&connection, "extra.txt", "/etc/hush/extra.txt", 10).unwrap();
    connection
        .execute(
            "UPDATE list_sources SET enabled = 0 WHERE name = 'extra.txt'",
            [],
        )
        .unwrap();
    rules::record_list_load(&connection, "extra.txt", "/etc/hush/extra.txt", 12).unwrap();
    let lists = rules::list_sources(&connection).unwrap();
    let seen: Vec<_> = lists
        .iter()
        .map(|l| (l.name.as_str(), l.origin.as_str(), l.entries, l.enabled))
        .collect();
    assert_eq!(
        seen,
        [
            ("extra.txt", "/etc/hush/extra.txt", 12, false),
            ("hush-default", "built-in", 1328, true),
        ]
    );
    assert!(lists.iter().all(|l| l.updated_ms.is_some_and(|t| t > 0)));
}
