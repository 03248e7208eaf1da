//! The driver on a fake tun (a datagram socket pair: one packet per read and
//! write, as a tun) and a real UDP resolver on loopback.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use hush_engine::{
    open_upstream, run_dns_path, DiscardEvents, DnsConfig, DnsFirewall, NoProtection,
};
use hush_packet::{parse, Checksums, Transport};
use hush_rules::RuleSetBuilder;
use support::{query, tun_pair};

const APP: &str = "198.18.0.1:40000";
const RESOLVER: &str = "198.18.0.53:53";

fn query_packet(name: &str, id: u16) -> Vec<u8> {
    let payload = query(name, RecordType::A, id);
    hush_packet::build::udp(APP.parse().unwrap(), RESOLVER.parse().unwrap(), &payload).unwrap()
}

/// Answers every A query with 198.18.100.7, until told to stop.
fn fake_resolver() -> (SocketAddr, std::thread::JoinHandle<usize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let address = socket.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let mut answered = 0;
        while let Ok((len, from)) = socket.recv_from(&mut buf) {
            let request = Message::from_vec(&buf[..len]).unwrap();
            if request.queries[0].name().to_ascii() == "stop.example." {
                break;
            }
            let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
            answer.add_queries(request.queries.iter().cloned());
            answer.add_answer(Record::from_rdata(
                request.queries[0].name().clone(),
                60,
                RData::A(A("198.18.100.7".parse().unwrap())),
            ));
            socket.send_to(&answer.to_vec().unwrap(), from).unwrap();
            answered += 1;
        }
        answered
    });
    (address, thread)
}

fn answer_of(packet: &[u8]) -> Message {
    let view = parse(packet, Checksums::Verify).unwrap();
    let Transport::Udp(udp) = view.transport else {
        panic!("not UDP")
    };
    assert_eq!(
        SocketAddr::new(view.ip.dst, udp.dst_port),
        APP.parse().unwrap()
    );
    Message::from_vec(udp.payload).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn blocks_forwards_and_relays_through_a_tun_shaped_socket() {
    let (resolver, resolver_thread) = fake_resolver();
    let (engine_end, app_end) = tun_pair(Duration::from_secs(5));
    let mut builder = RuleSetBuilder::new();
    builder.add_default_list();
    let firewall = DnsFirewall::new(
        DnsConfig::default(),
        Arc::new(builder.build()),
        Arc::new(DiscardEvents),
    );
    let upstream = open_upstream(resolver, &NoProtection).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let engine = tokio::spawn(run_dns_path(
        OwnedFd::from(engine_end),
        upstream,
        firewall,
        async {
            let _ = stopped.await;
        },
    ));

    let app = tokio::task::spawn_blocking(move || {
        let mut buf = [0u8; 1500];
        app_end.send(&query_packet("tracking.miui.com", 1)).unwrap();
        let len = app_end.recv(&mut buf).unwrap();
        let blocked = answer_of(&buf[..len]);
        app_end.send(&query_packet("f-droid.org", 2)).unwrap();
        app_end.send(b"\x60not a packet").unwrap();
        let len = app_end.recv(&mut buf).unwrap();
        (blocked, answer_of(&buf[..len]))
    });
    let (blocked, allowed) = app.await.unwrap();
    assert_eq!(blocked.metadata.id, 1);
    assert_eq!(u16::from(blocked.metadata.response_code), 3);
    assert_eq!(allowed.metadata.id, 2);
    assert_eq!(
        allowed.answers[0].data,
        RData::A(A("198.18.100.7".parse().unwrap()))
    );

    stop.send(()).unwrap();
    let stats = engine.await.unwrap().unwrap();
    assert_eq!((stats.blocked, stats.forwarded, stats.answered), (1, 1, 1));
    assert_eq!(stats.dropped_malformed_ip, 1);
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(&query("stop.example", RecordType::A, 0), resolver)
        .unwrap();
    assert_eq!(resolver_thread.join().unwrap(), 1);
}
