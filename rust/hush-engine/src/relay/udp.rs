//! One relayed UDP flow: the app's datagrams go out through a protected,
//! connected socket, and the server's come back as packets on the tun.
//!
//! A new flow whose first datagram looks like a QUIC Initial is held, a few
//! datagrams at most, until the ClientHello inside names the server; only
//! then is anything sent. Everything else is sent at once.

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
    socket: UdpSocket,
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

/// Opens a protected UDP socket connected to `server`.
pub(crate) fn connect(
    server: SocketAddr,
    protector: &dyn SocketProtector,
) -> io::Result<UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    protector.protect(socket.as_fd())?;
    socket.set_nonblocking(true)?;
    socket.connect(&server.into())?;
    UdpSocket::from_std(std::net::UdpSocket::from(socket))
}

impl UdpFlow {
    pub fn new(
        app: SocketAddr,
        server: SocketAddr,
        uid: Option<u32>,
        socket: UdpSocket,
        waker: Waker,
        dns_name: Option<String>,
        now: Instant,
    ) -> Self {
        Self {
            app,
            server,
            uid,
            socket,
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

    /// Moves the flow to a new outside socket (the network changed): the
    /// app keeps its socket and the flow its state; the server sees the
    /// flow come from the new network.
    pub fn replace_socket(&mut self, socket: UdpSocket) {
        self.socket = socket;
    }

    /// Drops what was held and refuses what follows.
    pub fn block(&mut self) {
        self.blocked = true;
        self.sniffer = None;
        self.held = Vec::new();
    }

    /// Sends what was held. Returns how many datagrams could not be sent.
    pub fn release_held(&mut self) -> usize {
        let held = std::mem::take(&mut self.held);
        held.iter()
            .filter(|d| matches!(self.send(d), Outcome::SendFailed))
            .count()
    }

    fn send(&self, payload: &[u8]) -> Outcome {
        match send_now(&self.socket, payload) {
            Ok(_) => Outcome::Sent,
            Err(_) => Outcome::SendFailed,
        }
    }

    /// The next datagram from the server, if one is waiting; `None` once
    /// the socket has none and is registered for the next one.
    pub fn poll_receive(&mut self, buffer: &mut [u8]) -> Option<io::Result<usize>> {
        let mut cx = Context::from_waker(&self.waker);
        loop {
            match self.socket.poll_recv_ready(&mut cx) {
                Poll::Pending => return None,
                Poll::Ready(Err(e)) => return Some(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            match self.socket.try_recv(buffer) {
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
