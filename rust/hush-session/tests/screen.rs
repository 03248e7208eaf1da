//! Whether the screen was off reaches each stored event (issue 16): a
//! session started with the screen off, told it went on and off again,
//! on a fake tun (a datagram socket pair) with a real store and a local
//! resolver, and the platform's JSON read of the same. No root needed.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hush_engine::NoProtection;
use hush_session::{api, Session};
use support::{app_owns_its_queries, fake_tun, query, resolver, UID};

mod support;

/// The response code the app got.
fn answer(app_end: &UnixDatagram) -> ResponseCode {
    support::answer(app_end).metadata.response_code
}

const TRACKER: &str = "tracking.miui.com.";
const ALLOWED: &str = "shop.example.";

#[test]
fn each_event_records_the_screen_state_the_platform_last_gave_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");
    let (upstream, resolver) = resolver(2);
    let (engine_end, app_end) = fake_tun();
    let owners = app_owns_its_queries();
    // As the Android app starts it: the platform's JSON, screen off.
    let mut config = api::session_config(&format!(
        r#"{{"databasePath": {:?}, "upstreamDns": "{upstream}", "screenOff": true}}"#,
        db.to_str().unwrap()
    ))
    .unwrap();
    assert!(config.screen_off);
    // No other list than the built-in one, as in the Linux default.
    config.with_adaway_list = false;
    let session = Session::start(
        OwnedFd::from(engine_end),
        config,
        Arc::new(NoProtection),
        owners,
    )
    .unwrap();
    assert!(session.screen_off());

    // Screen off: a blocked lookup, then on: the same again (within the
    // repeat window, yet a row of its own) and an allowed one; off again.
    app_end.send(&query(TRACKER, 1)).unwrap();
    assert_eq!(answer(&app_end), ResponseCode::NXDomain);
    session.set_screen_off(false);
    assert!(!session.screen_off());
    app_end.send(&query(TRACKER, 2)).unwrap();
    assert_eq!(answer(&app_end), ResponseCode::NXDomain);
    app_end.send(&query(ALLOWED, 3)).unwrap();
    assert_eq!(answer(&app_end), ResponseCode::NoError);
    session.set_screen_off(true);
    app_end.send(&query(ALLOWED, 4)).unwrap();
    assert_eq!(answer(&app_end), ResponseCode::NoError);

    let finished = session.stop().unwrap();
    assert_eq!(finished.events_dropped, 0);
    resolver.join().unwrap();
    let connection = hush_store::open(&db).unwrap();
    let stored: Vec<(String, String, u64, bool)> = hush_store::events(&connection)
        .unwrap()
        .into_iter()
        .map(|e| (e.host, e.action, e.repeats, e.screen_off))
        .collect();
    let row = |host: &str, action: &str, off| {
        (
            host.trim_end_matches('.').to_string(),
            action.to_string(),
            1,
            off,
        )
    };
    assert_eq!(
        stored,
        [
            row(TRACKER, "blocked", true),
            row(TRACKER, "blocked", false),
            row(ALLOWED, "allowed", false),
            row(ALLOWED, "allowed", true),
        ]
    );

    // What the Apps screen reads: this app, one blocked and one allowed
    // attempt with the screen off.
    let now = std::time::UNIX_EPOCH.elapsed().unwrap().as_millis() as i64;
    let json: serde_json::Value =
        serde_json::from_str(&api::screen_off_apps(&db, now - 3_600_000, now + 3_600_000).unwrap())
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json[0]["uid"], UID);
    assert_eq!(
        (&json[0]["blocked"], &json[0]["allowed"]),
        (&1.into(), &1.into())
    );
    // And the events' JSON says which were made with the screen off.
    let page: serde_json::Value =
        serde_json::from_str(&api::recent_events(&db, r#"{"limit": 10}"#).unwrap()).unwrap();
    let off: Vec<bool> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["screenOff"].as_bool().unwrap())
        .collect();
    assert_eq!(off, [true, false, false, true]);
    // A reversed range is the caller's error.
    assert!(api::screen_off_apps(&db, now, now - 1).is_err());
}
