//! The schema's upgrades and the rules tables, on real SQLite files.

use hush_engine::AppPolicy;
use hush_store::query::{self, AppHost};
use hush_store::rules::{
    self, App, AppMode, AppOption, AppRule, DomainAction, DomainRule, Network,
};
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

/// A database as schema version 4 left it (the tables as versions 1 to 4
/// created them, frozen here), with rules made before rules had packages,
/// and a day of activity with its aggregates.
fn version_4_fixture(path: &std::path::Path) {
    let connection = Connection::open(path).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE events (
                id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, uid INTEGER,
                host TEXT NOT NULL, ip TEXT NOT NULL, port INTEGER NOT NULL,
                protocol TEXT NOT NULL, detail TEXT NOT NULL, action TEXT NOT NULL,
                reason TEXT NOT NULL, rare INTEGER NOT NULL DEFAULT 0);
             CREATE INDEX events_time ON events(time_ms);
             CREATE INDEX events_uid_time ON events(uid, time_ms);
             CREATE INDEX events_rare_host ON events(host, time_ms) WHERE rare = 1;
             CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE hourly (
                hour INTEGER NOT NULL, uid INTEGER NOT NULL, host TEXT NOT NULL,
                action TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER NOT NULL,
                first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
                PRIMARY KEY (hour, uid, host, action, reason)) WITHOUT ROWID;
             CREATE TABLE apps (
                uid INTEGER PRIMARY KEY, label TEXT NOT NULL DEFAULT '',
                is_system INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)));
             CREATE TABLE app_packages (
                uid INTEGER NOT NULL, package TEXT NOT NULL,
                PRIMARY KEY (uid, package)) WITHOUT ROWID;
             CREATE TABLE app_rules (
                uid INTEGER NOT NULL,
                network TEXT NOT NULL CHECK (network IN ('any', 'wifi', 'mobile')),
                mode TEXT NOT NULL
                    CHECK (mode IN ('block-trackers', 'block-all', 'allow-all')),
                updated_ms INTEGER NOT NULL,
                PRIMARY KEY (uid, network)) WITHOUT ROWID;
             CREATE TABLE domain_rules (
                id INTEGER PRIMARY KEY, uid INTEGER, domain TEXT NOT NULL,
                action TEXT NOT NULL CHECK (action IN ('allow', 'block')),
                created_ms INTEGER NOT NULL);
             CREATE UNIQUE INDEX domain_rules_scope ON domain_rules(ifnull(uid, -1), domain);
             CREATE TABLE list_sources (
                name TEXT PRIMARY KEY, origin TEXT NOT NULL,
                enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
                entries INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER);
             CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE app_hourly (
                hour INTEGER NOT NULL, uid INTEGER NOT NULL, action TEXT NOT NULL,
                count INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
                PRIMARY KEY (hour, uid, action)) WITHOUT ROWID;
             CREATE TABLE host_daily (
                day INTEGER NOT NULL, uid INTEGER NOT NULL, host TEXT NOT NULL,
                action TEXT NOT NULL, count INTEGER NOT NULL,
                PRIMARY KEY (day, uid, host, action)) WITHOUT ROWID;
             CREATE TABLE hosts (host TEXT PRIMARY KEY, events INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE gaps (
                id INTEGER PRIMARY KEY, start_ms INTEGER NOT NULL, end_ms INTEGER,
                reason TEXT NOT NULL);
             CREATE INDEX gaps_start ON gaps(start_ms);

             INSERT INTO app_rules VALUES (10123, 'wifi', 'block-all', 5), (10200, 'any', 'allow-all', 6);
             INSERT INTO domain_rules (id, uid, domain, action, created_ms) VALUES
                (1, NULL, 'tracker.example', 'block', 7), (2, 10123, 'f-droid.org', 'allow', 8);
             INSERT INTO settings VALUES ('unknown_owner_mode', 'block-all');
             INSERT INTO apps VALUES (10123, 'Mail', 0);
             INSERT INTO app_packages VALUES (10123, 'org.example.mail'),
                (10123, 'org.example.mail.sync');
             PRAGMA user_version = 4;",
        )
        .unwrap();
    // Day 20,000 (UTC): hour 480,000 on.
    let hour = 3_600_000i64;
    let day = 480_000 * hour;
    for (time_ms, uid, host, action, reason) in [
        (
            day + 5,
            Some(10_123),
            "tracking.miui.com",
            "blocked",
            "list:hush-default",
        ),
        (
            day + 3 * hour + 9,
            Some(10_123),
            "tracking.miui.com",
            "blocked",
            "rule:block",
        ),
        (
            day + 3 * hour + 10,
            Some(10_123),
            "f-droid.org",
            "allowed",
            "app-rule:allow",
        ),
        (
            day + 20 * hour,
            None,
            "tracking.miui.com",
            "blocked",
            "list:hush-default",
        ),
        (
            day + 25 * hour,
            Some(10_123),
            "f-droid.org",
            "failed",
            "timeout",
        ),
    ] {
        connection
            .execute(
                "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action,
                                     reason, rare)
                 VALUES (?1, ?2, ?3, '198.18.0.53', 53, 'dns', 'A', ?4, ?5, 1)",
                params![time_ms, uid, host, action, reason],
            )
            .unwrap();
    }
    // The aggregates as version 4's writer kept them.
    connection
        .execute_batch(
            "INSERT INTO hourly SELECT time_ms / 3600000, ifnull(uid, -1), host, action, reason,
                    count(*), min(time_ms), max(time_ms)
                FROM events GROUP BY 1, 2, 3, 4, 5;
             INSERT INTO app_hourly SELECT hour, uid, action, sum(count), min(first_ms),
                    max(last_ms)
                FROM hourly GROUP BY 1, 2, 3;
             INSERT INTO host_daily SELECT hour / 24, uid, host, action, sum(count)
                FROM hourly GROUP BY 1, 2, 3, 4;
             INSERT INTO hosts SELECT host, count(*) FROM events GROUP BY host;",
        )
        .unwrap();
}

#[test]
fn a_version_4_database_keeps_its_rules_without_a_package() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    version_4_fixture(&path);
    let mut connection = hush_store::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, hush_store::SCHEMA_VERSION);
    assert_eq!(
        rules::app_rules(&connection).unwrap(),
        [
            AppRule {
                uid: 10_123,
                package: None,
                network: Network::Wifi,
                mode: AppMode::BlockAll
            },
            AppRule {
                uid: 10_200,
                package: None,
                network: Network::Any,
                mode: AppMode::AllowAll
            },
        ]
    );
    assert_eq!(
        rules::domain_rules(&connection).unwrap(),
        [
            DomainRule {
                uid: None,
                domain: "tracker.example".into(),
                action: DomainAction::Block,
                package: None
            },
            DomainRule {
                uid: Some(10_123),
                domain: "f-droid.org".into(),
                action: DomainAction::Allow,
                package: None
            },
        ]
    );
    // The engine is given the same policy as before the upgrade.
    let mut before = AppPolicy::new();
    before.set_mode(10_123, Network::Wifi, AppMode::BlockAll);
    before.set_mode(10_200, Network::Any, AppMode::AllowAll);
    before.add_domain_rule(None, "tracker.example", DomainAction::Block);
    before.add_domain_rule(Some(10_123), "f-droid.org", DomainAction::Allow);
    before.set_unknown_owner_mode(AppMode::BlockAll);
    assert_eq!(rules::app_policy(&mut connection).unwrap(), before);
    // The shared UID is one app with both its packages.
    assert_eq!(
        rules::apps(&connection).unwrap(),
        [App {
            uid: 10_123,
            label: "Mail".into(),
            is_system: false,
            packages: vec!["org.example.mail".into(), "org.example.mail.sync".into()],
        }]
    );
    // The daily rollup was rebuilt with reasons and times: an app's hosts
    // over the whole day come from it.
    let day = 480_000 * 3_600_000i64;
    let hosts = query::app_hosts(
        &connection,
        Some(10_123),
        Some(day),
        Some(day + 24 * 3_600_000),
        10,
        0,
    )
    .unwrap();
    assert_eq!(
        hosts,
        [
            AppHost {
                host: "f-droid.org".into(),
                allowed: 1,
                blocked: 0,
                failed: 0,
                first_ms: day + 3 * 3_600_000 + 10,
                last_ms: day + 3 * 3_600_000 + 10,
                last_action: "allowed".into(),
                last_reason: "app-rule:allow".into(),
            },
            AppHost {
                host: "tracking.miui.com".into(),
                allowed: 0,
                blocked: 2,
                failed: 0,
                first_ms: day + 5,
                last_ms: day + 3 * 3_600_000 + 9,
                last_action: "blocked".into(),
                last_reason: "rule:block".into(),
            },
        ]
    );
    let daily: i64 = connection
        .query_row(
            "SELECT count(*) FROM host_daily WHERE day = 20000",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(daily, 4, "a row per app, host, action and reason");
    // Rules made now remember their package; the old ones keep none.
    rules::set_app_mode_for_package(
        &connection,
        10_200,
        "org.example.b",
        Network::Mobile,
        AppMode::BlockAll,
    )
    .unwrap();
    assert_eq!(
        rules::reconcile_apps(&connection, &[(10_200, "org.example.c".into())]).unwrap(),
        1
    );
    assert_eq!(rules::app_rules(&connection).unwrap().len(), 2);
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

/// Rules for two apps made for their packages, one made without, one for
/// every app; the packaged ones on a shared UID too.
fn packaged_rules(connection: &Connection) {
    rules::set_app_mode_for_package(connection, 10_001, "org.a", Network::Any, AppMode::AllowAll)
        .unwrap();
    rules::add_domain_rule_for_package(
        connection,
        10_001,
        "org.a",
        "X.example",
        DomainAction::Allow,
    )
    .unwrap();
    rules::set_app_mode(connection, 10_001, Network::Wifi, AppMode::BlockAll).unwrap();
    rules::add_domain_rule(connection, Some(10_001), "y.example", DomainAction::Block).unwrap();
    rules::add_domain_rule(connection, None, "z.example", DomainAction::Block).unwrap();
    rules::set_app_mode_for_package(
        connection,
        10_002,
        "org.s1",
        Network::Wifi,
        AppMode::BlockAll,
    )
    .unwrap();
    rules::set_app_mode_for_package(
        connection,
        10_002,
        "org.s2",
        Network::Mobile,
        AppMode::AllowAll,
    )
    .unwrap();
    rules::add_domain_rule_for_package(
        connection,
        10_002,
        "org.s2",
        "s.example",
        DomainAction::Block,
    )
    .unwrap();
}

/// (uid, network or domain, package) of every rule, modes first.
fn rule_keys(connection: &Connection) -> Vec<(Option<u32>, String, Option<String>)> {
    let modes = rules::app_rules(connection).unwrap().into_iter();
    let domains = rules::domain_rules(connection).unwrap().into_iter();
    modes
        .map(|r| (Some(r.uid), r.network.as_str().to_string(), r.package))
        .chain(domains.map(|r| (r.uid, r.domain, r.package)))
        .collect()
}

fn key(
    uid: Option<u32>,
    what: &str,
    package: Option<&str>,
) -> (Option<u32>, String, Option<String>) {
    (uid, what.to_string(), package.map(str::to_string))
}

#[test]
fn rules_remember_the_package_they_were_made_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    packaged_rules(&connection);
    assert_eq!(
        rule_keys(&connection),
        [
            key(Some(10_001), "any", Some("org.a")),
            key(Some(10_001), "wifi", None),
            key(Some(10_002), "mobile", Some("org.s2")),
            key(Some(10_002), "wifi", Some("org.s1")),
            key(None, "z.example", None),
            key(Some(10_001), "x.example", Some("org.a")),
            key(Some(10_001), "y.example", None),
            key(Some(10_002), "s.example", Some("org.s2")),
        ]
    );
    // The engine sees rules by UID, as it did: the package changes nothing.
    let mut expected = AppPolicy::new();
    expected.set_mode(10_001, Network::Any, AppMode::AllowAll);
    expected.set_mode(10_001, Network::Wifi, AppMode::BlockAll);
    expected.set_mode(10_002, Network::Wifi, AppMode::BlockAll);
    expected.set_mode(10_002, Network::Mobile, AppMode::AllowAll);
    expected.add_domain_rule(Some(10_001), "x.example", DomainAction::Allow);
    expected.add_domain_rule(Some(10_001), "y.example", DomainAction::Block);
    expected.add_domain_rule(None, "z.example", DomainAction::Block);
    expected.add_domain_rule(Some(10_002), "s.example", DomainAction::Block);
    assert_eq!(rules::app_policy(&mut connection).unwrap(), expected);
    // Setting a rule again replaces its package too: made without one, it
    // has none; made for another package, it has that one.
    rules::set_app_mode(&connection, 10_001, Network::Any, AppMode::AllowAll).unwrap();
    rules::add_domain_rule_for_package(
        &connection,
        10_001,
        "org.b",
        "y.example",
        DomainAction::Block,
    )
    .unwrap();
    let keys = rule_keys(&connection);
    assert!(keys.contains(&key(Some(10_001), "any", None)), "{keys:?}");
    assert!(
        keys.contains(&key(Some(10_001), "y.example", Some("org.b"))),
        "{keys:?}"
    );
    assert_eq!(rules::app_policy(&mut connection).unwrap(), expected);
}

#[test]
fn forgetting_an_app_removes_only_its_rules() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    packaged_rules(&connection);
    // One package of the shared UID leaves: its rules go, its sibling's stay.
    assert_eq!(
        rules::forget_app(&connection, 10_002, Some("org.s2")).unwrap(),
        2
    );
    assert_eq!(
        rules::forget_app(&connection, 10_002, Some("org.s2")).unwrap(),
        0
    );
    // A package that is not the UID's, or a UID without rules: nothing goes.
    assert_eq!(
        rules::forget_app(&connection, 10_001, Some("org.s1")).unwrap(),
        0
    );
    assert_eq!(rules::forget_app(&connection, 10_999, None).unwrap(), 0);
    // org.a leaves 10001: the rules made without a package stay.
    assert_eq!(
        rules::forget_app(&connection, 10_001, Some("org.a")).unwrap(),
        2
    );
    assert_eq!(
        rule_keys(&connection),
        [
            key(Some(10_001), "wifi", None),
            key(Some(10_002), "wifi", Some("org.s1")),
            key(None, "z.example", None),
            key(Some(10_001), "y.example", None),
        ]
    );
    // The UID itself goes: every rule of it, the global one stays.
    assert_eq!(rules::forget_app(&connection, 10_001, None).unwrap(), 2);
    assert_eq!(rules::forget_app(&connection, 10_002, None).unwrap(), 1);
    assert_eq!(rule_keys(&connection), [key(None, "z.example", None)]);
}

#[test]
fn reconciling_drops_the_rules_of_apps_no_longer_where_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    packaged_rules(&connection);
    let installed = |list: &[(u32, &str)]| -> Vec<(u32, String)> {
        list.iter().map(|(u, p)| (*u, p.to_string())).collect()
    };
    // Everything where it was: nothing goes.
    let all = installed(&[(10_001, "org.a"), (10_002, "org.s1"), (10_002, "org.s2")]);
    assert_eq!(rules::reconcile_apps(&connection, &all).unwrap(), 0);
    assert_eq!(rule_keys(&connection).len(), 8);
    // org.a was removed and its UID given to org.new; org.s2 was removed
    // from the shared UID; org.s1 moved to another UID.
    let now = installed(&[(10_001, "org.new"), (10_003, "org.s1"), (1_000, "android")]);
    assert_eq!(rules::reconcile_apps(&connection, &now).unwrap(), 5);
    assert_eq!(
        rule_keys(&connection),
        [
            key(Some(10_001), "wifi", None),
            key(None, "z.example", None),
            key(Some(10_001), "y.example", None),
        ]
    );
    assert_eq!(rules::reconcile_apps(&connection, &now).unwrap(), 0);
}

#[test]
fn bad_packages_and_lists_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    packaged_rules(&connection);
    let before = rule_keys(&connection);
    let long = "a".repeat(256);
    for (bad, says) in [
        ("", "cannot be empty"),
        ("org.a b", "not a package name"),
        ("org.a\n", "not a package name"),
        (long.as_str(), "at most 255 bytes, not 256"),
    ] {
        let refused = |result: Result<(), StoreError>, what: &str| match result {
            Err(StoreError::InvalidArgument(why)) => assert!(why.contains(says), "{what}: {why}"),
            other => panic!("{what} took {bad:?}: {other:?}"),
        };
        refused(
            rules::set_app_mode_for_package(
                &connection,
                10_001,
                bad,
                Network::Any,
                AppMode::BlockAll,
            ),
            "set_app_mode_for_package",
        );
        refused(
            rules::add_domain_rule_for_package(
                &connection,
                10_001,
                bad,
                "q.example",
                DomainAction::Allow,
            )
            .map(drop),
            "add_domain_rule_for_package",
        );
        refused(
            rules::forget_app(&connection, 10_001, Some(bad)).map(drop),
            "forget_app",
        );
        refused(
            rules::reconcile_apps(
                &connection,
                &[(10_001, "org.a".into()), (10_002, bad.into())],
            )
            .map(drop),
            "reconcile_apps",
        );
        refused(
            rules::set_app(&connection, 10_001, "A", &["org.a", bad], false),
            "set_app",
        );
    }
    assert!(matches!(
        rules::reconcile_apps(&connection, &[]),
        Err(StoreError::InvalidArgument(why)) if why.contains("empty")
    ));
    assert_eq!(rule_keys(&connection), before);
    assert_eq!(rules::apps(&connection).unwrap(), []);
    // The schema holds the same line against other writers.
    for sql in [
        "INSERT INTO app_rules (uid, network, mode, updated_ms, package) VALUES (5, 'any', 'block-all', 0, '')",
        "INSERT INTO domain_rules (uid, domain, action, created_ms, package) VALUES (5, 'a.example', 'block', 0, '')",
        "INSERT INTO domain_rules (uid, domain, action, created_ms, package) VALUES (NULL, 'a.example', 'block', 0, 'org.a')",
    ] {
        assert!(connection.execute(sql, []).is_err(), "{sql}");
    }
}

#[test]
fn a_shared_uid_is_one_app_with_all_its_packages() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    rules::set_app(
        &connection,
        1_000,
        "Android System",
        &["com.android.settings", "android"],
        true,
    )
    .unwrap();
    rules::set_app(&connection, 10_050, "Mail", &["org.example.mail"], false).unwrap();
    rules::set_app(&connection, 10_060, "No packages", &[], false).unwrap();
    assert_eq!(
        rules::apps(&connection).unwrap(),
        [
            App {
                uid: 1_000,
                label: "Android System".into(),
                is_system: true,
                packages: vec!["android".into(), "com.android.settings".into()],
            },
            App {
                uid: 10_050,
                label: "Mail".into(),
                is_system: false,
                packages: vec!["org.example.mail".into()],
            },
            App {
                uid: 10_060,
                label: "No packages".into(),
                is_system: false,
                packages: vec![],
            },
        ]
    );
    assert_eq!(
        rules::app_packages_of(&connection, 1_000).unwrap(),
        ["android", "com.android.settings"]
    );
    assert_eq!(
        rules::app_packages_of(&connection, 10_060).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        rules::app_packages_of(&connection, 12_345).unwrap(),
        Vec::<String>::new()
    );
    // Described again, the UID's packages are replaced.
    rules::set_app(&connection, 10_050, "Mail", &["org.example.mail2"], false).unwrap();
    assert_eq!(
        rules::app_packages_of(&connection, 10_050).unwrap(),
        ["org.example.mail2"]
    );
}

#[test]
fn domain_rules_are_found_by_part_of_their_domain() {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    for (uid, domain) in [
        (None, "ads.example.com"),
        (None, "tracker.net"),
        (Some(10_001), "cdn.example.com"),
        (Some(10_001), "bücher.example"),
        (Some(10_002), "ads.example.com"),
        (Some(10_002), "a_b.example"),
    ] {
        rules::add_domain_rule(&connection, uid, domain, DomainAction::Block).unwrap();
    }
    let found = |text: Option<&str>, limit, offset| -> Vec<(Option<u32>, String)> {
        rules::domain_rules_matching(&connection, text, limit, offset)
            .unwrap()
            .into_iter()
            .map(|r| (r.uid, r.domain))
            .collect()
    };
    let rule = |uid: Option<u32>, domain: &str| (uid, domain.to_string());
    assert_eq!(
        found(Some("EXAMPLE.com"), 100, 0),
        [
            rule(None, "ads.example.com"),
            rule(Some(10_001), "cdn.example.com"),
            rule(Some(10_002), "ads.example.com"),
        ]
    );
    assert_eq!(
        rules::domain_rule_count(&connection, Some("EXAMPLE.com")).unwrap(),
        3
    );
    // An IDN is stored, and found, as punycode; `_` and `%` are plain text.
    assert_eq!(
        found(Some("xn--bcher"), 100, 0),
        [rule(Some(10_001), "xn--bcher-kva.example")]
    );
    assert_eq!(
        found(Some("_"), 100, 0),
        [rule(Some(10_002), "a_b.example")]
    );
    assert_eq!(found(Some("%"), 100, 0), []);
    assert_eq!(rules::domain_rule_count(&connection, Some("%")).unwrap(), 0);
    // No text, or empty: every rule, in the order of domain_rules, paged.
    let every: Vec<_> = rules::domain_rules(&connection)
        .unwrap()
        .into_iter()
        .map(|r| (r.uid, r.domain))
        .collect();
    assert_eq!(every.len(), 6);
    assert_eq!(found(None, 100, 0), every);
    assert_eq!(found(Some(""), 100, 0), every);
    assert_eq!(rules::domain_rule_count(&connection, None).unwrap(), 6);
    let mut paged = found(None, 4, 0);
    paged.extend(found(None, 4, 4));
    assert_eq!(paged, every);
    assert_eq!(found(None, 4, 8), []);
    assert!(matches!(
        rules::domain_rules_matching(&connection, None, 1_001, 0),
        Err(StoreError::InvalidArgument(why)) if why.contains("at most 1000 rules, not 1001")
    ));
}

/// Whether `policy` holds `option` on for `uid` (`None`: the unknown owner).
fn option_on(policy: &AppPolicy, option: AppOption, uid: Option<u32>) -> bool {
    match option {
        AppOption::ResolvedOnly => policy.resolved_only(uid),
        AppOption::Strict => policy.strict(uid),
    }
}

#[test]
fn each_app_option_reaches_the_policy_on_its_own_and_leaves_with_its_app() {
    for option in AppOption::ALL {
        let other = AppOption::ALL.into_iter().find(|o| *o != option).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
        assert_eq!(
            rules::app_option(&connection, option).unwrap(),
            rules::AppOptionChoices::default(),
            "{option:?}"
        );
        let policy = rules::app_policy(&mut connection).unwrap();
        assert!(!option_on(&policy, option, Some(10_001)) && !option_on(&policy, option, None));

        rules::set_app_option(&connection, option, 10_001, Some("org.a"), true).unwrap();
        rules::set_app_option(&connection, option, 10_002, None, false).unwrap();
        rules::set_app_option_default(&connection, option, true).unwrap();
        let policy = rules::app_policy(&mut connection).unwrap();
        assert!(option_on(&policy, option, Some(10_001)), "{option:?}");
        assert!(
            !option_on(&policy, option, Some(10_002)),
            "{option:?}: its own choice beats the default"
        );
        assert!(option_on(&policy, option, Some(10_003)) && option_on(&policy, option, None));
        assert!(
            !option_on(&policy, other, Some(10_001)) && !option_on(&policy, other, None),
            "{option:?} is not {other:?}"
        );

        // Set again: replaced, not added; the other option beside it is its own.
        rules::set_app_option(&connection, option, 10_001, Some("org.a"), false).unwrap();
        rules::set_app_option(&connection, other, 10_001, Some("org.a"), true).unwrap();
        assert_eq!(
            rules::app_option(&connection, option).unwrap().apps,
            [(10_001, false), (10_002, false)]
        );
        assert!(rules::clear_app_option(&connection, option, 10_002).unwrap());
        assert!(!rules::clear_app_option(&connection, option, 10_002).unwrap());
        let policy = rules::app_policy(&mut connection).unwrap();
        assert!(option_on(&policy, option, Some(10_002)));
        assert!(rules::clear_app_option(&connection, option, 10_001).unwrap());
        assert_eq!(
            rules::app_option(&connection, other).unwrap().apps,
            [(10_001, true)],
            "clearing {option:?} leaves {other:?}"
        );

        // The package leaves its UID, or the UID is no longer that package's.
        rules::set_app_option(&connection, option, 10_001, Some("org.a"), true).unwrap();
        rules::set_app_option(&connection, option, 10_004, Some("org.d"), true).unwrap();
        rules::set_app_option(&connection, option, 10_005, None, true).unwrap();
        assert_eq!(
            rules::forget_app(&connection, 10_001, Some("org.a")).unwrap(),
            2,
            "both its choices"
        );
        let installed = vec![(10_004, "org.other".to_string())];
        assert_eq!(rules::reconcile_apps(&connection, &installed).unwrap(), 1);
        assert_eq!(
            rules::app_option(&connection, option).unwrap().apps,
            [(10_005, true)]
        );
        assert!(matches!(
            rules::set_app_option(&connection, option, 10_006, Some("bad package"), true),
            Err(StoreError::InvalidArgument(_))
        ));

        rules::set_setting(&connection, option.default_key(), "maybe").unwrap();
        assert!(
            rules::app_policy(&mut connection).is_err(),
            "{option:?}: an unknown word is an error"
        );
    }
}

#[test]
fn an_app_option_is_named_by_its_word_and_nothing_else() {
    for option in AppOption::ALL {
        assert_eq!(AppOption::from_word(option.word()).unwrap(), option);
    }
    assert_eq!(
        rules::RESOLVED_ONLY_DEFAULT,
        AppOption::ResolvedOnly.default_key()
    );
    assert_eq!(rules::STRICT_DEFAULT, AppOption::Strict.default_key());
    for word in ["", "Strict", "resolved_only", "resolved only"] {
        assert!(
            matches!(
                AppOption::from_word(word),
                Err(StoreError::InvalidArgument(_))
            ),
            "{word:?}"
        );
    }
}

#[test]
fn a_version_6_database_gains_strict_and_keeps_its_resolved_only_choices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // Version 6 is version 7 without the table 7 added.
        let connection = hush_store::open(&path).unwrap();
        let option = AppOption::ResolvedOnly;
        rules::set_app_option(&connection, option, 10_001, Some("org.a"), true).unwrap();
        rules::set_app_option(&connection, option, 10_002, None, false).unwrap();
        rules::set_app_option_default(&connection, option, true).unwrap();
        connection
            .execute_batch(
                "DROP TABLE app_strict; ALTER TABLE events DROP COLUMN last_ms;
                 ALTER TABLE events DROP COLUMN repeats;
                 DROP TABLE screen_off_hourly; ALTER TABLE events DROP COLUMN screen_off;
                 PRAGMA user_version = 6;",
            )
            .unwrap();
    }
    let mut connection = hush_store::open(&path).unwrap();
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, hush_store::SCHEMA_VERSION);
    assert_eq!(
        rules::app_option(&connection, AppOption::ResolvedOnly).unwrap(),
        rules::AppOptionChoices {
            default: true,
            apps: vec![(10_001, true), (10_002, false)]
        }
    );
    assert_eq!(
        rules::app_option(&connection, AppOption::Strict).unwrap(),
        rules::AppOptionChoices::default()
    );
    let policy = rules::app_policy(&mut connection).unwrap();
    assert!(policy.resolved_only(Some(10_001)) && !policy.strict(Some(10_001)));
    rules::set_app_option(&connection, AppOption::Strict, 10_001, Some("org.a"), true).unwrap();
    assert!(rules::app_policy(&mut connection)
        .unwrap()
        .strict(Some(10_001)));
}
