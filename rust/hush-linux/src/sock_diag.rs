//! Owner lookup on Linux through netlink `sock_diag`: one request names the
//! flow's socket, and the kernel answers with its uid after a hash lookup,
//! however many sockets are open, where `/proc/net` must be read and parsed
//! whole. [`LinuxOwners`] asks `sock_diag` first and falls back to
//! [`ProcNetOwners`] when netlink is refused (seccomp, SELinux, a kernel
//! built without `inet_diag`/`udp_diag`) or finds nothing.
//!
//! Like `/proc/net`, the answer comes from the network namespace of the
//! calling process.

use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hush_engine::owner::{FlowKey, OwnerLookup, Transport};
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{
    AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TCP_TIME_WAIT,
};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr};

use crate::owner::ProcNetOwners;

/// How long one lookup waits for the kernel. It answers in microseconds
/// (the reply is queued before `send` returns); this only bounds a lookup
/// when something is badly wrong, and short, since lookups run on the
/// relay's packet path ([`OwnerLookup::owner_at_once`]).
const RECEIVE_TIMEOUT: Duration = Duration::from_millis(5);

/// `idiag_cookie` all ones (`INET_DIAG_NOCOOKIE`): "any socket with this
/// tuple". A zero cookie would have to equal the socket's own cookie, and
/// the kernel would answer `ESTALE`.
const NO_COOKIE: [u8; 8] = [0xff; 8];

/// `TCP_NEW_SYN_RECV`, the state of a half-open connection on a listener;
/// the constants of `netlink-packet-sock-diag` stop at `TCP_CLOSING`.
const TCP_NEW_SYN_RECV: u8 = 12;

/// Replies from earlier lookups that timed out may still be queued; a
/// lookup skips at most this many before giving up.
const MAX_STALE_REPLIES: usize = 8;

/// What the kernel said about a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// The socket exists and belongs to this uid.
    Owner(u32),
    /// The socket exists but has no owner any more: a TCP connection in
    /// `TIME_WAIT`, or a half-open one. The kernel reports uid 0 for those,
    /// which must not be read as root.
    Ownerless,
    /// No such socket, or no answer (error, timeout, unparsable reply).
    Missing,
}

/// Asks the kernel for the socket of a flow over one `NETLINK_SOCK_DIAG`
/// socket, kept open and shared behind a mutex (a lookup is one round trip,
/// so lookups are serialised, not queued for long).
pub struct SockDiagOwners {
    link: Mutex<Link>,
}

struct Link {
    socket: Socket,
    sequence: u32,
    buffer: Vec<u8>,
}

impl SockDiagOwners {
    /// Opens the netlink socket. Fails where netlink is not allowed (an
    /// Android app, a seccomp filter) or the kernel has no `sock_diag`.
    pub fn new() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
        socket.bind_auto()?;
        // Connected to the kernel (port 0), the socket takes datagrams from
        // the kernel only, so no other process can slip in an answer.
        socket.connect(&NetlinkAddr::new(0, 0))?;
        socket2::SockRef::from(&socket).set_read_timeout(Some(RECEIVE_TIMEOUT))?;
        Ok(Self {
            link: Mutex::new(Link {
                socket,
                sequence: 0,
                // One socket's reply is a few hundred bytes.
                buffer: vec![0; 8192],
            }),
        })
    }

    fn link(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ask(&self, flow: &FlowKey) -> Reply {
        let Some(request) = request_for(flow) else {
            return Reply::Missing;
        };
        let mut link = self.link();
        let Ok(sequence) = link.send(request) else {
            return Reply::Missing;
        };
        link.receive(sequence, flow.local.port())
    }
}

impl OwnerLookup for SockDiagOwners {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        match self.ask(flow) {
            Reply::Owner(uid) => Some(uid),
            Reply::Ownerless | Reply::Missing => None,
        }
    }

    /// One netlink round trip, bounded by [`RECEIVE_TIMEOUT`]: the same
    /// answer [`Self::owner`] gives.
    fn owner_at_once(&self, flow: &FlowKey) -> Option<Option<u32>> {
        Some(self.owner(flow))
    }
}

impl Link {
    /// Sends one request for exactly one socket (no `NLM_F_DUMP`), and
    /// returns its sequence number.
    fn send(&mut self, request: InetRequest) -> io::Result<u32> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST;
        header.sequence_number = self.sequence;
        let mut message = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        self.socket.send(&bytes, 0)?;
        Ok(self.sequence)
    }

    /// Reads the reply to request `sequence`: one socket, or an error
    /// (`ENOENT` when there is no such socket).
    fn receive(&mut self, sequence: u32, local_port: u16) -> Reply {
        for _ in 0..MAX_STALE_REPLIES {
            let Ok(length) = self.socket.recv(&mut &mut self.buffer[..], 0) else {
                return Reply::Missing; // timeout, ENOBUFS, ...
            };
            let Some(bytes) = self.buffer.get(..length) else {
                return Reply::Missing;
            };
            // The socket is reused: a reply that arrived after its lookup
            // timed out is still queued, and must not answer this one.
            match NetlinkBuffer::new_checked(bytes) {
                Ok(reply) if reply.sequence_number() == sequence => {}
                Ok(_) => continue,
                Err(_) => return Reply::Missing,
            }
            return match NetlinkMessage::<SockDiagMessage>::deserialize(bytes) {
                Ok(NetlinkMessage {
                    payload: NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)),
                    ..
                }) => reply_for(&response.header, local_port),
                _ => Reply::Missing,
            };
        }
        Reply::Missing
    }
}

/// The request naming the flow's socket: its family and protocol, and the
/// 4-tuple the kernel looks up the way it does for an arriving packet.
fn request_for(flow: &FlowKey) -> Option<InetRequest> {
    // An IPv4-mapped address names an IPv4 flow; the UDP lookup would not
    // map it back itself.
    let local = SocketAddr::new(flow.local.ip().to_canonical(), flow.local.port());
    let remote = SocketAddr::new(flow.remote.ip().to_canonical(), flow.remote.port());
    let family = match (local, remote) {
        (SocketAddr::V4(_), SocketAddr::V4(_)) => AF_INET,
        (SocketAddr::V6(_), SocketAddr::V6(_)) => AF_INET6,
        _ => return None,
    };
    // A link-local flow names its interface; 0 ("any") otherwise. Sockets
    // bound to a device are only found when it is named, which a flow from
    // the tun cannot do: those fall back to /proc.
    let interface_id = match flow.local {
        SocketAddr::V6(v6) => v6.scope_id(),
        SocketAddr::V4(_) => 0,
    };
    // For TCP the kernel reads `source` as the socket's own end. For UDP it
    // reads it as the far end ("src and dst are swapped for historical
    // reasons", net/ipv4/udp_diag.c, `udp_dump_one`), since it looks the
    // socket up as the receiver of a datagram from `source` to
    // `destination`. That receive-path lookup also matches an unconnected
    // socket (a resolver's, `dig`'s) for any far end, and a socket bound to
    // the unspecified address for any local one, so one exact request
    // finds it: no second request with a wildcard remote is needed.
    let (protocol, source, destination) = match flow.transport {
        Transport::Tcp => (IPPROTO_TCP, local, remote),
        Transport::Udp => (IPPROTO_UDP, remote, local),
    };
    Some(InetRequest {
        family,
        protocol,
        extensions: ExtensionFlags::empty(),
        // Ignored for a single-socket request; all, to say so.
        states: StateFlags::all(),
        socket_id: SocketId {
            source_port: source.port(),
            destination_port: destination.port(),
            source_address: source.ip(),
            destination_address: destination.ip(),
            interface_id,
            cookie: NO_COOKIE,
        },
    })
}

fn reply_for(header: &InetResponseHeader, local_port: u16) -> Reply {
    // The reply names the socket as the socket sees itself (source = its
    // own end, whatever the protocol). A TCP flow whose connection is gone
    // may be answered by a listener on the same port: still this app.
    if header.socket_id.source_port != local_port {
        return Reply::Missing;
    }
    match header.state {
        TCP_TIME_WAIT | TCP_NEW_SYN_RECV => Reply::Ownerless,
        _ => Reply::Owner(header.uid),
    }
}

/// The owner lookup for Linux: `sock_diag`, then `/proc/net`.
///
/// `/proc/net` is still asked when `sock_diag` finds nothing, since a miss
/// there does not always mean no socket: a kernel without the `udp_diag`
/// module answers `ENOENT` to every UDP request, and a socket bound to a
/// device is not found without naming the device. A real miss then costs a
/// table read too; the [`OwnerCache`](hush_engine::owner::OwnerCache) in
/// front keeps that to once per flow every few seconds. A socket that
/// `sock_diag` reports ownerless is not asked again: `/proc/net` lists it
/// with uid 0.
///
/// The table reads are rationed ([`PROC_READS_PER_SECOND`]): packets that no
/// socket sent (a raw SYN flood, spoofed sources) all miss, and reading the
/// tables for each took a core from the packet path (tests/bench/hostile.sh).
/// Past the ration a miss is taken as no owner, at once.
pub struct LinuxOwners {
    sock_diag: Option<SockDiagOwners>,
    proc_net: ProcNetOwners,
    proc_reads: Mutex<(Instant, u32)>,
}

/// `/proc/net` reads after a `sock_diag` miss, at most, per second.
pub const PROC_READS_PER_SECOND: u32 = 64;

impl Default for LinuxOwners {
    fn default() -> Self {
        Self::new()
    }
}

impl LinuxOwners {
    /// `sock_diag` when its socket opens, `/proc/net` behind it.
    pub fn new() -> Self {
        let sock_diag = SockDiagOwners::new()
            .inspect_err(|e| log::info!("owner lookup: no netlink sock_diag ({e}), /proc/net only"))
            .ok();
        Self::with(sock_diag, ProcNetOwners::default())
    }

    pub fn with(sock_diag: Option<SockDiagOwners>, proc_net: ProcNetOwners) -> Self {
        Self {
            sock_diag,
            proc_net,
            proc_reads: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Takes a `/proc/net` read from this second's ration; false when none
    /// is left.
    fn take_proc_read(&self) -> bool {
        let mut reads = self.proc_reads.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(reads.0) >= Duration::from_secs(1) {
            *reads = (now, 0);
        }
        if reads.1 >= PROC_READS_PER_SECOND {
            return false;
        }
        reads.1 += 1;
        true
    }

    /// Whether lookups go to `sock_diag` first.
    pub fn has_sock_diag(&self) -> bool {
        self.sock_diag.is_some()
    }
}

impl OwnerLookup for LinuxOwners {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        let reply = match &self.sock_diag {
            Some(sock_diag) => sock_diag.ask(flow),
            None => Reply::Missing,
        };
        match reply {
            Reply::Owner(uid) => Some(uid),
            Reply::Ownerless => None,
            Reply::Missing if self.take_proc_read() => self.proc_net.owner(flow),
            Reply::Missing => None,
        }
    }

    /// `sock_diag`'s answer, on the relay's packet path: one netlink round
    /// trip with a short bound. A miss is left to [`Self::owner`], off the
    /// packet path, since reading `/proc/net` grows with the open sockets;
    /// past the ration of reads, it is no owner at once.
    fn owner_at_once(&self, flow: &FlowKey) -> Option<Option<u32>> {
        match self.sock_diag.as_ref()?.ask(flow) {
            Reply::Owner(uid) => Some(Some(uid)),
            Reply::Ownerless => Some(None),
            // The read is counted now, when the lookup is handed on: counted
            // only when made, a flood's misses all passed the check before
            // the first was made, and went on to the pool.
            Reply::Missing if self.take_proc_read() => None,
            Reply::Missing => Some(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::time::Instant;

    use super::*;

    fn uid() -> u32 {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }
    }

    fn sock_diag() -> SockDiagOwners {
        SockDiagOwners::new().expect("sock_diag is open to every user on Linux")
    }

    fn tcp(local: SocketAddr, remote: SocketAddr) -> FlowKey {
        FlowKey {
            transport: Transport::Tcp,
            local,
            remote,
        }
    }

    fn udp(local: SocketAddr, remote: SocketAddr) -> FlowKey {
        FlowKey {
            transport: Transport::Udp,
            local,
            remote,
        }
    }

    /// A port that was free a moment ago, on `host`.
    fn free_port(host: &str) -> SocketAddr {
        UdpSocket::bind(host).unwrap().local_addr().unwrap()
    }

    #[test]
    fn tcp_listener_and_both_ends_of_a_connection_v4_and_v6() {
        let owners = sock_diag();
        for host in ["127.0.0.1:0", "[::1]:0"] {
            let listener = TcpListener::bind(host).unwrap();
            let server = listener.local_addr().unwrap();
            let client = TcpStream::connect(server).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            let client_end = client.local_addr().unwrap();
            assert_eq!(
                owners.owner(&tcp(client_end, server)),
                Some(uid()),
                "{host} client"
            );
            assert_eq!(
                owners.owner(&tcp(server, client_end)),
                Some(uid()),
                "{host} accepted"
            );
            let unspecified = SocketAddr::new(server.ip(), 0);
            assert_eq!(
                owners.owner(&tcp(server, unspecified)),
                Some(uid()),
                "{host} listener"
            );
            drop((client, accepted));
        }
    }

    #[test]
    fn udp_connected_and_unconnected_v4_and_v6() {
        let owners = sock_diag();
        for (host, any, resolver) in [
            ("127.0.0.1:0", "0.0.0.0:0", "127.0.0.53:53"),
            ("[::1]:0", "[::]:0", "[::1]:53"),
        ] {
            let resolver: SocketAddr = resolver.parse().unwrap();
            let peer = UdpSocket::bind(host).unwrap();
            let connected = UdpSocket::bind(host).unwrap();
            connected.connect(peer.local_addr().unwrap()).unwrap();
            let flow = udp(connected.local_addr().unwrap(), peer.local_addr().unwrap());
            assert_eq!(owners.owner(&flow), Some(uid()), "{host} connected");
            // A connected socket is not the owner of a flow to elsewhere.
            let elsewhere = udp(connected.local_addr().unwrap(), resolver);
            assert_eq!(owners.owner(&elsewhere), None, "{host} connected elsewhere");

            // Unconnected, as a resolver or `dig` sends: bound to the
            // loopback address, then to the unspecified one.
            let unconnected = UdpSocket::bind(host).unwrap();
            let flow = udp(unconnected.local_addr().unwrap(), resolver);
            assert_eq!(owners.owner(&flow), Some(uid()), "{host} unconnected");
            let wildcard = UdpSocket::bind(any).unwrap();
            let local = SocketAddr::new(
                peer.local_addr().unwrap().ip(),
                wildcard.local_addr().unwrap().port(),
            );
            assert_eq!(
                owners.owner(&udp(local, resolver)),
                Some(uid()),
                "{host} unconnected on {any}"
            );
        }
    }

    #[test]
    fn at_once_is_sock_diags_answer_and_a_miss_is_left_to_the_full_lookup() {
        let owners = LinuxOwners::with(Some(sock_diag()), ProcNetOwners::default());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = TcpStream::connect(server).unwrap();
        let flow = tcp(client.local_addr().unwrap(), server);
        assert_eq!(owners.owner_at_once(&flow), Some(Some(uid())));
        // No such socket: not "no owner", but "ask the slow way" (`/proc/net`).
        let nobody = tcp(free_port("127.0.0.1:0"), server);
        assert_eq!(owners.owner_at_once(&nobody), None);
        assert_eq!(owners.owner(&nobody), None);
        // Without sock_diag nothing is answered at once.
        let proc_only = LinuxOwners::with(None, ProcNetOwners::default());
        assert_eq!(proc_only.owner_at_once(&flow), None);
        assert_eq!(proc_only.owner(&flow), Some(uid()));
    }

    #[test]
    fn past_the_ration_of_table_reads_a_miss_is_no_owner_at_once() {
        let owners = LinuxOwners::with(Some(sock_diag()), ProcNetOwners::default());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let nobody = tcp(free_port("127.0.0.1:0"), server);
        // A flood of packets no socket sent: each full lookup reads the
        // tables, up to the ration; then a miss costs one netlink request.
        // (The ration is per second: a machine so loaded that it reads the
        // tables fewer times a second than the ration never reaches it.)
        let mut full_lookups = 0;
        while owners.owner_at_once(&nobody).is_none() {
            assert_eq!(owners.owner(&nobody), None);
            full_lookups += 1;
            assert!(full_lookups <= 4 * PROC_READS_PER_SECOND, "never rationed");
        }
        // Each full lookup here counts twice: handed on, then made.
        assert!(full_lookups >= PROC_READS_PER_SECOND / 2, "{full_lookups}");
        assert_eq!(owners.owner(&nobody), None);
        // A real socket is still found by sock_diag meanwhile.
        let client = TcpStream::connect(server).unwrap();
        let flow = tcp(client.local_addr().unwrap(), server);
        assert_eq!(owners.owner_at_once(&flow), Some(Some(uid())));
    }

    #[test]
    fn a_port_nobody_owns_has_no_owner() {
        let owners = sock_diag();
        for host in ["127.0.0.1:0", "[::1]:0"] {
            let (nobody, remote) = (free_port(host), free_port(host));
            assert_eq!(owners.owner(&tcp(nobody, remote)), None, "{host} tcp");
            assert_eq!(owners.owner(&udp(nobody, remote)), None, "{host} udp");
        }
        let mixed = tcp("127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap());
        assert_eq!(owners.owner(&mixed), None, "families differ");
    }

    #[test]
    fn ipv4_flows_of_dual_stack_and_mapped_sockets() {
        // An IPv6 socket carrying IPv4 traffic: /proc/net lists it in the
        // IPv6 tables, where an IPv4 flow is not looked for.
        let owners = sock_diag();
        let socket =
            socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, None).unwrap();
        socket.set_only_v6(false).unwrap();
        socket
            .bind(&"[::]:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        let flow = udp(
            SocketAddr::from(([127, 0, 0, 1], port)),
            "127.0.0.53:53".parse().unwrap(),
        );
        assert_eq!(owners.owner(&flow), Some(uid()), "dual-stack udp");

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mapped = |a: SocketAddr| match a {
            SocketAddr::V4(v4) => SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port()),
            v6 => v6,
        };
        let flow = tcp(
            mapped(client.local_addr().unwrap()),
            mapped(listener.local_addr().unwrap()),
        );
        assert_eq!(owners.owner(&flow), Some(uid()), "v4-mapped flow");
    }

    #[test]
    fn a_connection_in_time_wait_has_no_owner_not_root() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let flow = tcp(client.local_addr().unwrap(), listener.local_addr().unwrap());
        // The side that closes first waits in TIME_WAIT (60 s).
        drop(client);
        drop(accepted);
        let owners = LinuxOwners::with(Some(sock_diag()), ProcNetOwners::default());
        let link = owners.sock_diag.as_ref().unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while link.ask(&flow) != Reply::Ownerless {
            assert!(
                Instant::now() < deadline,
                "no TIME_WAIT: {:?}",
                link.ask(&flow)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(owners.owner(&flow), None, "not Some(0) from /proc/net");
    }

    #[test]
    fn a_late_reply_does_not_answer_the_next_lookup() {
        let owners = sock_diag();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = TcpStream::connect(server).unwrap();
        let found = tcp(client.local_addr().unwrap(), server);
        // A request whose reply nobody reads, as after a timeout.
        let request = request_for(&found).unwrap();
        owners.link().send(request).unwrap();
        let nobody = tcp(free_port("127.0.0.1:0"), server);
        assert_eq!(owners.owner(&nobody), None);
        assert_eq!(owners.owner(&found), Some(uid()));
    }

    #[test]
    fn another_users_socket_is_reported_with_that_uid() {
        // Running as root (as CI may), uid 0 is also what the kernel reports
        // for an ownerless socket: a socket of another user tells the uid
        // really comes from the socket.
        if uid() != 0 {
            return;
        }
        const NOBODY: u32 = 65_534;
        let (mut port_pipe, mut hold_pipe) = ([0; 2], [0; 2]);
        // SAFETY: plain syscalls on arrays we own; the child only makes
        // async-signal-safe calls and leaves through _exit.
        unsafe {
            assert_eq!(libc::pipe(port_pipe.as_mut_ptr()), 0);
            assert_eq!(libc::pipe(hold_pipe.as_mut_ptr()), 0);
            let child = libc::fork();
            assert!(child >= 0);
            if child == 0 {
                libc::close(hold_pipe[1]);
                if libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                    libc::_exit(1);
                }
                let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
                let mut address: libc::sockaddr_in = std::mem::zeroed();
                address.sin_family = libc::AF_INET as libc::sa_family_t;
                address.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
                let mut length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                let address_ptr = &mut address as *mut libc::sockaddr_in as *mut libc::sockaddr;
                if fd < 0
                    || libc::bind(fd, address_ptr, length) != 0
                    || libc::getsockname(fd, address_ptr, &mut length) != 0
                {
                    libc::_exit(1);
                }
                let port = u16::from_be(address.sin_port).to_ne_bytes();
                libc::write(port_pipe[1], port.as_ptr().cast(), 2);
                let mut byte = 0u8;
                libc::read(hold_pipe[0], (&mut byte as *mut u8).cast(), 1);
                libc::_exit(0);
            }
            libc::close(port_pipe[1]);
            libc::close(hold_pipe[0]);
            let mut port = [0u8; 2];
            let got = libc::read(port_pipe[0], port.as_mut_ptr().cast(), 2);
            let local = SocketAddr::from(([127, 0, 0, 1], u16::from_ne_bytes(port)));
            let answer = (got == 2)
                .then(|| sock_diag().owner(&udp(local, "127.0.0.53:53".parse().unwrap())));
            libc::close(hold_pipe[1]);
            let mut status = 0;
            libc::waitpid(child, &mut status, 0);
            libc::close(port_pipe[0]);
            assert_eq!(answer, Some(Some(NOBODY)), "child status {status}");
        }
    }

    #[test]
    fn proc_net_answers_when_sock_diag_is_missing_or_finds_nothing() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = TcpStream::connect(server).unwrap();
        let flow = tcp(client.local_addr().unwrap(), server);
        let proc_only = LinuxOwners::with(None, ProcNetOwners::default());
        assert!(!proc_only.has_sock_diag());
        assert_eq!(proc_only.owner(&flow), Some(uid()));

        // A table naming a socket the kernel does not have: only /proc/net
        // can answer for it.
        let dir = tempfile::tempdir().unwrap();
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:0001 0100007F:0002 01 00000000:00000000 00:00000000 00000000 10123        0 2 1 0\n";
        std::fs::write(dir.path().join("tcp"), table).unwrap();
        let owners = LinuxOwners::with(Some(sock_diag()), ProcNetOwners::at(dir.path()));
        assert!(owners.has_sock_diag());
        let ghost = tcp(
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        );
        assert_eq!(owners.owner(&ghost), Some(10_123));
        // What sock_diag knows does not go to the (fake) table.
        assert_eq!(owners.owner(&flow), Some(uid()));
        assert!(LinuxOwners::new().has_sock_diag());
    }
}
