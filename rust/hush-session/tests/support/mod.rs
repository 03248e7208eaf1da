//! What the session tests on a fake tun share: the app's DNS queries as IP
//! packets, the answers it gets, a local resolver, and the app as the owner
//! of its queries.

#![allow(dead_code)] // each test binary uses its own part

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hush_engine::owner::{FakeOwners, FlowKey, Transport};
use hush_packet::{build, parse, Checksums, Transport as Wire};

pub const APP: &str = "198.18.0.1:40000";
pub const RESOLVER: &str = "198.18.0.53:53";
pub const UID: u32 = 10_123;

/// An A query for `name` from the app to Hush's resolver, as an IP packet.
pub fn query(name: &str, id: u16) -> Vec<u8> {
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

/// The answer the app got, waiting (bounded) for it.
pub fn answer(app_end: &UnixDatagram) -> Message {
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let Ok(len) = app_end.recv(&mut buffer) else {
            continue;
        };
        let view = parse(&buffer[..len], Checksums::Verify).unwrap();
        if let Wire::Udp(udp) = view.transport {
            return Message::from_vec(udp.payload).unwrap();
        }
    }
    panic!("no answer");
}

/// A resolver on loopback answering `queries` A queries with 198.19.0.7.
pub fn resolver(queries: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
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

/// A fake tun: the engine's end and the app's (reads time out at 200 ms).
pub fn fake_tun() -> (UnixDatagram, UnixDatagram) {
    let (engine_end, app_end) = UnixDatagram::pair().unwrap();
    app_end
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    (engine_end, app_end)
}

/// Owners naming the app ([`UID`]) behind its queries to Hush's resolver.
pub fn app_owns_its_queries() -> Arc<FakeOwners> {
    let owners = Arc::new(FakeOwners::default());
    owners.insert(
        FlowKey {
            transport: Transport::Udp,
            local: APP.parse().unwrap(),
            remote: RESOLVER.parse().unwrap(),
        },
        UID,
    );
    owners
}
