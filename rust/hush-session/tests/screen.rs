//! Whether the screen was off reaches each stored event (issue 16): a
//! session started with the screen off, told it went on and off again,
//! on a fake tun (a datagram socket pair) with a real store and a local
//! resolver, and the platform's JSON read of the same. No root needed.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hush_engine::owner::{FakeOwners, FlowKey, Transport};
use hush_engine::NoProtection;
use hush_packet::{build, parse, Checksums, Transport as Wire};
use hush_session::{api, Session};

const APP: &str = "198.18.0.1:40000";
const RESOLVER: &str = "198.18.0.53:53";
const UID: u32 = 10_123;
const TRACKER: &str = "tracking.miui.com.";
const ALLOWED: &str = "shop.example.";

fn query(name: &str, id: u16) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    build::udp(
        APP.parse().unwrap(),
        RESOLVER.parse().unwrap(),
        &message.to_vec().unwrap(),
    )
    .unwrap()
}

/// The response code the app got, waiting (bounded) for it.
fn answer(app_end: &UnixDatagram) -> ResponseCode {
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let Ok(len) = app_end.recv(&mut buffer) else {
            continue;
        };
        let view = parse(&buffer[..len], Checksums::Verify).unwrap();
        if let Wire::Udp(udp) = view.transport {
            return Message::from_vec(udp.payload)
                .unwrap()
                .metadata
                .response_code;
        }
    }
    panic!("no answer");
}

/// A resolver on loopback answering `queries` A queries with 198.19.0.7.
fn resolver(queries: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let address = socket.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        for _ in 0..queries {
            let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                return;
            };
            let request = Message::from_vec(&buffer[..len]).unwrap();
            let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
            reply.add_queries(request.queries.iter().cloned());
            reply.add_answer(Record::from_rdata(
                request.queries[0].name().clone(),
                60,
                RData::A(A("198.19.0.7".parse().unwrap())),
            ));
            socket.send_to(&reply.to_vec().unwrap(), from).unwrap();
        }
    });
    (address, thread)
}

#[test]
fn each_event_records_the_screen_state_the_platform_last_gave_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");
    let (upstream, resolver) = resolver(2);
    let (engine_end, app_end) = UnixDatagram::pair().unwrap();
    app_end
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let owners = Arc::new(FakeOwners::default());
    owners.insert(
        FlowKey {
            transport: Transport::Udp,
            local: APP.parse().unwrap(),
            remote: RESOLVER.parse().unwrap(),
        },
        UID,
    );
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
