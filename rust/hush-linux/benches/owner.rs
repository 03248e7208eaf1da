//! Owner lookup cost: a warm cache hit, and cold lookups (no cache) through
//! `/proc/net/tcp` and netlink `sock_diag` with 1,000 connections (2,000
//! sockets) open in the namespace: the table a `/proc` lookup reads grows
//! with every socket on the system, while `sock_diag` asks for one.
//!
//! Run: `cargo bench -p hush-linux --bench owner`

use std::hint::black_box;
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use hush_engine::owner::{FlowKey, OwnerCache, OwnerLookup, Transport};
use hush_linux::owner::ProcNetOwners;
use hush_linux::sock_diag::SockDiagOwners;

fn benches(c: &mut Criterion) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    // Accepted one by one, so the listen backlog never fills.
    let (clients, accepted): (Vec<TcpStream>, Vec<TcpStream>) = (0..1000)
        .map(|_| {
            let client = TcpStream::connect(server).unwrap();
            (client, listener.accept().unwrap().0)
        })
        .unzip();
    let flow = FlowKey {
        transport: Transport::Tcp,
        local: clients[500].local_addr().unwrap(),
        remote: server,
    };
    let proc_net = ProcNetOwners::default();
    assert!(proc_net.owner(&flow).is_some());
    let mut group = c.benchmark_group("owner");
    group.bench_function("proc_net_tcp_cold_2000_sockets", |b| {
        b.iter(|| black_box(proc_net.owner(black_box(&flow))))
    });
    let sock_diag = SockDiagOwners::new().unwrap();
    assert_eq!(sock_diag.owner(&flow), proc_net.owner(&flow));
    group.bench_function("sock_diag_tcp_cold_2000_sockets", |b| {
        b.iter(|| black_box(sock_diag.owner(black_box(&flow))))
    });
    let cache = OwnerCache::new(ProcNetOwners::default(), 4096);
    let now = Instant::now();
    assert!(cache.owner_at(&flow, now).is_some());
    group.bench_function("cache_warm_hit", |b| {
        b.iter(|| black_box(cache.owner_at(black_box(&flow), now)))
    });
    group.finish();
    drop((clients, accepted));
}

criterion_group!(owner, benches);
criterion_main!(owner);
