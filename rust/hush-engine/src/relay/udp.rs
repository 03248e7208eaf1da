//! One relayed UDP flow: the app's datagrams go out through a protected,
//! connected socket, and the server's come back as packets on the tun.
//!
//! A new flow whose first datagram looks like a QUIC Initial is held, a few
//! datagrams at most, until the ClientHello inside names the server; only
//! then is anything sent. Everything else is sent at once, or, while the
//! flow's socket is still being opened off the packet task (a protector
//! that may block), as soon as it is there.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use hush_inspect::quic::{QuicProgress, QuicSniffer};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::driver::SocketProtector;

pub(crate) struct UdpFlow {
    pub app: SocketAddr,
    pub server: SocketAddr,
    /// The app that opened the flow, if known.
    pub uid: Option<u32>,
    /// `None` while it is opened off the packet task.
    socket: Option<UdpSocket>,
    /// What is to be sent once the socket is there.
    waiting: Vec<Vec<u8>>,
    /// A socket is being opened off the packet task for it.
    pub opening: bool,
    /// Another is wanted once that one comes (the network changed again).
    pub reopen: bool,
    waker: Waker,
    pub dns_name: Option<String>,
    /// The name a QUIC Initial carried, once read.
    pub seen_name: Option<String>,
    /// Set when the flow looked like QUIC but named nothing: why, as a
    /// strict app's event says it. Switching strict on for its app cuts it.
    pub unnamed: Option<&'static str>,
    pub last_active: Instant,
    /// Present while the flow's first datagrams are read for a QUIC SNI.
    sniffer: Option<QuicSniffer>,
    held: Vec<Vec<u8>>,
    /// Its name was blocked: later datagrams are refused, not sent, until
    /// the flow goes idle. Removing it at once would let the next datagram
    /// open a fresh, unnamed flow (QUIC's later packets name nothing).
    blocked: bool,
}

/// What became of a datagram from the app.
pub(crate) enum Outcome {
    Sent,
    /// Held until the flow is named.
    Held,
    SendFailed,
    /// The flow was blocked; the datagram is dropped.
    Refused,
    /// The flow's first datagrams are read: the name they carry (`None`
    /// for none). The relay judges it and then releases or drops what is held.
    Named(Option<String>),
    /// The flow's first datagrams looked like QUIC but gave no name: why.
    /// Judged as [`Self::Named`]`(None)` is, and counted.
    Unread(super::unread::Unread),
}

/// Datagrams a flow keeps for a socket still being opened: more than an
/// app sends in the time of one call to the platform, and bounded.
const WAITING_LIMIT: usize = 32;

/// Opens a protected UDP socket connected to `server`.
pub(crate) fn connect(
    server: SocketAddr,
    protector: &dyn SocketProtector,
) -> io::Result<UdpSocket> {
    UdpSocket::from_std(open(server, protector)?)
}

/// [`connect`]'s part that may block (the protector), for a thread other
/// than the packet task's; the socket is non-blocking.
pub(crate) fn open(
    server: SocketAddr,
    protector: &dyn SocketProtector,
) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    protector.protect(socket.as_fd())?;
    socket.set_nonblocking(true)?;
    socket.connect(&server.into())?;
    Ok(socket.into())
}

impl UdpFlow {
    pub fn new(
        app: SocketAddr,
        server: SocketAddr,
        uid: Option<u32>,
        socket: Option<UdpSocket>,
        waker: Waker,
        dns_name: Option<String>,
        now: Instant,
    ) -> Self {
        Self {
            app,
            server,
            uid,
            socket,
            waiting: Vec::new(),
            opening: false,
            reopen: false,
            waker,
            dns_name,
            seen_name: None,
            unnamed: None,
            last_active: now,
            sniffer: Some(QuicSniffer::new()),
            held: Vec::new(),
            blocked: false,
        }
    }

    pub fn is_sniffing(&self) -> bool {
        self.sniffer.is_some()
    }

    pub fn is_idle(&self, now: Instant, timeout: Duration) -> bool {
        now.saturating_duration_since(self.last_active) >= timeout
    }

    pub fn on_app_datagram(&mut self, payload: &[u8], hold_limit: usize) -> Outcome {
        if self.blocked {
            return Outcome::Refused;
        }
        let Some(sniffer) = self.sniffer.as_mut() else {
            return self.send(payload);
        };
        let progress = sniffer.feed(payload);
        match progress {
            QuicProgress::NeedMore if self.held.len() + 1 < hold_limit => {
                self.held.push(payload.to_vec());
                Outcome::Held
            }
            QuicProgress::Sni(name) => {
                self.sniffer = None;
                self.held.push(payload.to_vec());
                Outcome::Named(name)
            }
            QuicProgress::NotQuic if self.held.is_empty() => {
                // Not QUIC from the first datagram on: nothing to hold.
                self.sniffer = None;
                self.send(payload)
            }
            // Not QUIC after all, gQUIC, bad crypto, or too many datagrams:
            // the flow goes unnamed.
            other => {
                self.sniffer = None;
                self.held.push(payload.to_vec());
                match super::unread::Unread::of_quic(&other) {
                    Some(why) => Outcome::Unread(why),
                    None => Outcome::Named(None),
                }
            }
        }
    }

    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Whether the flow has its outside socket yet.
    pub fn has_socket(&self) -> bool {
        self.socket.is_some()
    }

    /// Gives the flow its outside socket, opened off the packet task, and
    /// sends what waited for it; or moves it to a new one (the network
    /// changed): the app keeps its socket and the flow its state, and the
    /// server sees the flow come from the new network. Returns how many
    /// datagrams could not be sent.
    pub fn attach(&mut self, socket: UdpSocket) -> usize {
        self.socket = Some(socket);
        let waiting = std::mem::take(&mut self.waiting);
        waiting
            .iter()
            .filter(|d| matches!(self.send(d), Outcome::SendFailed))
            .count()
    }

    /// A datagram the app sent that is still kept (waiting for the socket,
    /// or held to be named), to quote in an error.
    pub fn kept_datagram(&self) -> Option<&[u8]> {
        self.waiting
            .first()
            .or(self.held.first())
            .map(Vec::as_slice)
    }

    /// Drops what was held and refuses what follows.
    pub fn block(&mut self) {
        self.blocked = true;
        self.sniffer = None;
        self.held = Vec::new();
        self.waiting = Vec::new();
    }

    /// Sends what was held. Returns how many datagrams could not be sent.
    pub fn release_held(&mut self) -> usize {
        let held = std::mem::take(&mut self.held);
        held.iter()
            .filter(|d| matches!(self.send(d), Outcome::SendFailed))
            .count()
    }

    fn send(&mut self, payload: &[u8]) -> Outcome {
        match &self.socket {
            Some(socket) => match send_now(socket, payload) {
                Ok(_) => Outcome::Sent,
                Err(_) => Outcome::SendFailed,
            },
            None if self.waiting.len() < WAITING_LIMIT => {
                self.waiting.push(payload.to_vec());
                Outcome::Sent
            }
            None => Outcome::SendFailed,
        }
    }

    /// The next datagram from the server, if one is waiting; `None` once
    /// the socket has none and is registered for the next one.
    pub fn poll_receive(&mut self, buffer: &mut [u8]) -> Option<io::Result<usize>> {
        let socket = self.socket.as_ref()?;
        let mut cx = Context::from_waker(&self.waker);
        loop {
            match socket.poll_recv_ready(&mut cx) {
                Poll::Pending => return None,
                Poll::Ready(Err(e)) => return Some(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            match socket.try_recv(buffer) {
                Ok(len) => return Some(Ok(len)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Sends at once, without tokio's readiness check: a socket just opened has
/// not been reported writable yet, and `try_send` would refuse its first
/// datagram. A full send buffer still fails, as UDP may.
pub(crate) fn send_now(socket: &UdpSocket, payload: &[u8]) -> std::io::Result<usize> {
    socket2::SockRef::from(socket).send(payload)
}
