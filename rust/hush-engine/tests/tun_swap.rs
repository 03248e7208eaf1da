//! A new tun handed over while the relay runs (on Android, the VPN
//! established again with another set of apps left out): the relay reads
//! what waits in the old one, moves to the new one, and the connections
//! open through it go on there.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{run, start_relay, tun_pair, AppConn, Resolver, Setup};

/// A server on loopback that echoes what each connection sends.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buffer) {
                    if stream.write_all(&buffer[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// Takes packets until `conn` has received `len` bytes, at most 5 s.
fn receive(conn: &mut AppConn<'_>, len: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while conn.received.len() < len && !conn.reset && Instant::now() < deadline {
        conn.take_one();
    }
    std::mem::take(&mut conn.received)
}

#[tokio::test(flavor = "current_thread")]
async fn an_open_connection_goes_on_over_the_new_tun() {
    let server = echo_server();
    let placeholder = Arc::new(std::fs::File::open("/dev/null").unwrap());
    let (handover, tuns) = tokio::sync::watch::channel(placeholder);
    let mut setup = Setup::new(Resolver::start().address);
    setup.tuns = Some(tuns);
    let app: SocketAddr = "127.0.0.1:46001".parse().unwrap();
    let (stats, _, ()) = run(start_relay(setup), move |old_tun| {
        let mut conn = AppConn::open(old_tun, app, server);
        conn.send(b"before the swap");
        assert_eq!(receive(&mut conn, 15), b"before the swap");

        // Bytes the app sent into the old tun just before the swap are
        // read from it before the relay moves on.
        conn.send(b"in the old tun");
        let (engine_end, new_tun) = tun_pair(Duration::from_millis(200));
        handover.send_replace(Arc::new(std::fs::File::from(OwnedFd::from(engine_end))));
        conn.tun = &new_tun;
        assert_eq!(receive(&mut conn, 14), b"in the old tun");
        conn.send(b"after the swap");
        assert_eq!(receive(&mut conn, 14), b"after the swap");
        assert!(!conn.reset, "the connection was reset by the swap");

        // New connections open on the new tun; the old one hears nothing
        // more (what it got before the swap, an acknowledgement of the
        // bytes sent there, is read off first).
        old_tun
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut stale = [0u8; 2048];
        while old_tun.recv(&mut stale).is_ok() {}
        let mut second = AppConn::open(&new_tun, "127.0.0.1:46002".parse().unwrap(), server);
        second.send(b"new");
        assert_eq!(receive(&mut second, 3), b"new");
        old_tun
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buffer = [0u8; 2048];
        assert!(
            old_tun.recv(&mut buffer).is_err(),
            "a packet on the old tun"
        );
    })
    .await;
    assert_eq!(stats.tun_replaced, 1);
    assert_eq!(stats.tcp_flows, 2);
}
