//! ICMP echo ("ping") relayed through unprivileged ICMP sockets.
//!
//! Linux and Android let a process send echo requests through a datagram
//! ICMP socket when its group is in `net.ipv4.ping_group_range` (Android
//! allows apps). The kernel picks the echo identifier; replies are given
//! back to the app with its own. Where the socket cannot be made, the relay
//! answers the app with an ICMP error instead, so ping fails at once. A
//! socket opened off the packet task (a protector that may block) takes the
//! requests that came meanwhile, a few at most.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::driver::SocketProtector;

const ICMP_HEADER: usize = 8;

/// Echo requests a flow keeps for a socket still being opened (ping sends
/// one a second).
const WAITING_LIMIT: usize = 4;

pub(crate) struct PingFlow {
    pub app: IpAddr,
    pub server: IpAddr,
    pub app_ident: u16,
    /// `None` while it is opened off the packet task.
    socket: Option<AsyncFd<Socket>>,
    /// Requests (sequence number, data) to be sent once the socket is there.
    waiting: Vec<(u16, Vec<u8>)>,
    waker: Waker,
    pub last_active: Instant,
}

/// Opens a protected ICMP datagram socket connected to `server`.
pub(crate) fn open(server: IpAddr, protector: &dyn SocketProtector) -> io::Result<AsyncFd<Socket>> {
    register(open_socket(server, protector)?)
}

/// [`open`]'s part that may block (the protector), for a thread other than
/// the packet task's; the socket is non-blocking.
pub(crate) fn open_socket(server: IpAddr, protector: &dyn SocketProtector) -> io::Result<Socket> {
    let (domain, protocol) = match server {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(protocol))?;
    protector.protect(socket.as_fd())?;
    socket.set_nonblocking(true)?;
    socket.connect(&SocketAddr::new(server, 0).into())?;
    Ok(socket)
}

/// Registers a socket from [`open_socket`] with the runtime.
pub(crate) fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: a `Socket` owns its descriptor, keeps it open until dropped
    // and always reports the same one, which is what `register` requires.
    unsafe { AsyncFd::register(socket) }.map_err(|e| e.into())
}

impl PingFlow {
    pub fn new(
        app: IpAddr,
        server: IpAddr,
        app_ident: u16,
        socket: Option<AsyncFd<Socket>>,
        waker: Waker,
        now: Instant,
    ) -> Self {
        Self {
            app,
            server,
            app_ident,
            socket,
            waiting: Vec::new(),
            waker,
            last_active: now,
        }
    }

    /// Sends one echo request with sequence number `seq` and `data`; the
    /// kernel fills in the identifier and the checksum. Kept for later
    /// while the socket is being opened.
    pub fn send_echo(&mut self, seq: u16, data: &[u8]) -> io::Result<()> {
        let Some(socket) = &self.socket else {
            if self.waiting.len() >= WAITING_LIMIT {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the echo socket is still being opened",
                ));
            }
            self.waiting.push((seq, data.to_vec()));
            return Ok(());
        };
        let mut message = Vec::with_capacity(ICMP_HEADER + data.len());
        message.push(if self.server.is_ipv6() { 128 } else { 8 });
        message.extend_from_slice(&[0, 0, 0, 0, 0]);
        message.extend_from_slice(&seq.to_be_bytes());
        message.extend_from_slice(data);
        socket.get_ref().send(&message).map(|_| ())
    }

    /// The requests (sequence number, data) still waiting for the socket.
    pub fn into_waiting(self) -> Vec<(u16, Vec<u8>)> {
        self.waiting
    }

    /// Gives the flow its socket, opened off the packet task, and sends the
    /// requests that waited for it. Returns how many could not be sent.
    pub fn attach(&mut self, socket: AsyncFd<Socket>) -> usize {
        self.socket = Some(socket);
        let waiting = std::mem::take(&mut self.waiting);
        waiting
            .iter()
            .filter(|(seq, data)| self.send_echo(*seq, data).is_err())
            .count()
    }

    /// The next echo reply waiting, as (sequence number, data length in
    /// `buffer` after the header); `None` once none is waiting and the
    /// socket is registered for the next.
    pub fn poll_reply(&mut self, buffer: &mut [u8]) -> Option<io::Result<(u16, usize)>> {
        let socket = self.socket.as_ref()?;
        let mut cx = Context::from_waker(&self.waker);
        loop {
            let mut guard = match socket.poll_read_ready(&mut cx) {
                Poll::Pending => return None,
                Poll::Ready(Err(e)) => return Some(Err(e)),
                Poll::Ready(Ok(guard)) => guard,
            };
            let received = guard.try_io(|socket| io::Read::read(&mut socket.get_ref(), buffer));
            match received {
                Err(_would_block) => continue,
                Ok(Err(e)) => return Some(Err(e)),
                Ok(Ok(len)) if len >= ICMP_HEADER => {
                    let reply_type = if self.server.is_ipv6() { 129 } else { 0 };
                    if buffer[0] != reply_type {
                        continue;
                    }
                    let seq = u16::from_be_bytes([buffer[6], buffer[7]]);
                    return Some(Ok((seq, len)));
                }
                Ok(Ok(_)) => continue,
            }
        }
    }

    pub fn is_idle(&self, now: Instant, timeout: Duration) -> bool {
        now.saturating_duration_since(self.last_active) >= timeout
    }
}
