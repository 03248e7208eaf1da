//! Owner lookup on Linux from `/proc/net/{tcp,udp}{,6}`: the uid column of
//! the socket whose addresses match the flow. This is the fallback that
//! works everywhere (and what Android below 10 offers); netlink `sock_diag`,
//! which asks the kernel for one socket instead of reading the table, is
//! to come.
//!
//! The tables are read from the network namespace of the calling process,
//! so Hush must run in the namespace of the apps it firewalls, as it does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use hush_engine::owner::{FlowKey, OwnerLookup, Transport};

/// Reads the `/proc/net` tables under `root` (normally `/proc/net`).
pub struct ProcNetOwners {
    root: PathBuf,
}

impl Default for ProcNetOwners {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/proc/net"),
        }
    }
}

impl ProcNetOwners {
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl OwnerLookup for ProcNetOwners {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        let table = match (flow.transport, flow.local.is_ipv6()) {
            (Transport::Tcp, false) => "tcp",
            (Transport::Tcp, true) => "tcp6",
            (Transport::Udp, false) => "udp",
            (Transport::Udp, true) => "udp6",
        };
        // The kernel hands a table out a page at a time and resumes by row
        // number, so a socket opened or closed elsewhere between two pages
        // shifts the rows and one can be skipped. A second read when the
        // first found nothing makes that miss take two races in a row.
        let path = self.root.join(table);
        find_owner_read_twice(|| std::fs::read_to_string(&path).ok(), flow)
    }
}

fn find_owner_read_twice(mut read: impl FnMut() -> Option<String>, flow: &FlowKey) -> Option<u32> {
    (0..2).find_map(|_| find_owner(&read()?, flow))
}

/// The uid of the best matching row: both addresses equal, else (for
/// unconnected UDP sockets) the local address with an unset remote.
pub fn find_owner(table: &str, flow: &FlowKey) -> Option<u32> {
    let mut unconnected = None;
    for row in table.lines().skip(1).filter_map(parse_row) {
        if row.local != flow.local && !matches_wildcard(row.local, flow.local) {
            continue;
        }
        if row.remote == flow.remote {
            return Some(row.uid);
        }
        if flow.transport == Transport::Udp && row.remote.port() == 0 {
            unconnected = Some(row.uid);
        }
    }
    unconnected
}

/// A socket bound to the unspecified address serves every local address.
fn matches_wildcard(bound: SocketAddr, local: SocketAddr) -> bool {
    bound.port() == local.port() && bound.ip().is_unspecified()
}

struct Row {
    local: SocketAddr,
    remote: SocketAddr,
    uid: u32,
}

/// TCP's TIME_WAIT in the `st` column: the socket is gone, and the kernel
/// shows uid 0 for it, which is no app's.
const TIME_WAIT: &str = "06";

/// One table row: `sl local rem st queues tr:when retrnsmt uid ...`.
fn parse_row(line: &str) -> Option<Row> {
    let mut fields = line.split_whitespace();
    let local = parse_address(fields.nth(1)?)?;
    let remote = parse_address(fields.next()?)?;
    if fields.next()? == TIME_WAIT {
        return None;
    }
    let uid = fields.nth(3)?.parse().ok()?;
    Some(Row { local, remote, uid })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6), each 32-bit word in host
/// byte order, then the port in hex.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = address.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream, UdpSocket};

    use super::*;

    fn uid() -> u32 {
        // SAFETY: getuid has no preconditions.
        unsafe { libc::getuid() }
    }

    #[test]
    fn real_tcp_and_udp_sockets_are_found_v4_and_v6() {
        let owners = ProcNetOwners::default();
        for host in ["127.0.0.1:0", "[::1]:0"] {
            let listener = TcpListener::bind(host).unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let flow = FlowKey {
                transport: Transport::Tcp,
                local: client.local_addr().unwrap(),
                remote: listener.local_addr().unwrap(),
            };
            assert_eq!(owners.owner(&flow), Some(uid()), "{host}");
            let udp = UdpSocket::bind(host).unwrap();
            udp.connect(listener.local_addr().unwrap()).unwrap();
            let flow = FlowKey {
                transport: Transport::Udp,
                local: udp.local_addr().unwrap(),
                remote: listener.local_addr().unwrap(),
            };
            assert_eq!(owners.owner(&flow), Some(uid()), "{host} udp");
            drop(client);
        }
        let nobody = FlowKey {
            transport: Transport::Tcp,
            local: "127.0.0.1:1".parse().unwrap(),
            remote: "127.0.0.1:2".parse().unwrap(),
        };
        assert_eq!(owners.owner(&nobody), None);
    }

    #[test]
    fn a_row_skipped_by_a_racing_read_is_found_by_the_second() {
        let flow = FlowKey {
            transport: Transport::Tcp,
            local: "127.0.0.1:41652".parse().unwrap(),
            remote: "127.0.0.1:8080".parse().unwrap(),
        };
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        let row = "   1: 0100007F:A2B4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 10123        0 2 1 0\n";
        let mut reads = vec![format!("{header}{row}"), header.to_string()];
        assert_eq!(find_owner_read_twice(|| reads.pop(), &flow), Some(10_123));
        let mut reads = vec![header.to_string(); 3];
        assert_eq!(find_owner_read_twice(|| reads.pop(), &flow), None);
        assert_eq!(reads.len(), 1, "a miss reads the table twice, not more");
    }

    #[test]
    fn rows_parse_and_junk_is_skipped() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0\n\
           1: 0100007F:A2B4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 10123        0 2 1 0\n\
           junk line\n\
           2: 0100007F:ZZZZ 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 99 0 3\n";
        let flow = FlowKey {
            transport: Transport::Tcp,
            local: "127.0.0.1:41652".parse().unwrap(),
            remote: "127.0.0.1:8080".parse().unwrap(),
        };
        assert_eq!(find_owner(table, &flow), Some(10_123));
        assert_eq!(find_owner("", &flow), None);
        // The same connection closed, in TIME_WAIT: the kernel shows uid 0
        // for it, which must not make it root's.
        let closed = table.replace(
            " 01 00000000:00000000 00:00000000 00000000 10123",
            " 06 00000000:00000000 00:00000000 00000000     0",
        );
        assert_eq!(find_owner(&closed, &flow), None);
        assert_eq!(parse_address("0100007F"), None);
        assert_eq!(parse_address("0100007F0:0050"), None);
    }
}
