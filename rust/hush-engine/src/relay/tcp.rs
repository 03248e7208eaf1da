//! One relayed TCP flow: the app's side is a `smoltcp` socket, the server's
//! side a protected kernel socket, and this module moves bytes between them.
//!
//! A flow goes through three phases:
//! 1. **Connecting.** The app's SYN sits in the stack with its SYN-ACK paused
//!    while the server connect runs. The app learns the server's answer as
//!    it would without Hush: a SYN-ACK, a reset, or an ICMP error.
//! 2. **Inspecting.** The app's first bytes are held, not sent, until they
//!    show a TLS SNI, an HTTP Host, or neither. A blocked name gets a reset
//!    and the server gets no byte.
//! 3. **Relaying.** Bytes move both ways through the two bounded buffers of
//!    the `smoltcp` socket; a full buffer closes the TCP window on the side
//!    that fills it, which is all the back-pressure there is. Half-closes
//!    and resets are passed on, each way.
//!
//! A flow to port 53 skips all three: it is DNS over TCP, answered message
//! by message by the DNS firewall (see [`super::dns_stream`]).
//!
//! Invariants: no buffer grows past its bound; every wake-up ends with each
//! side either making progress or registered for readiness.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsFd;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use smoltcp::socket::tcp::{self, State};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;

use crate::driver::SocketProtector;

/// Where a flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Connecting {
        deadline: Instant,
    },
    Inspecting {
        deadline: Option<Instant>,
    },
    Relaying,
    /// DNS over TCP: accepted at once; the server side is Hush's resolver
    /// and the flow's [`TcpFlow::dns`] state carries it.
    Dns,
}

/// How a flow ends, as the relay must carry it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Both sides closed in order.
    Graceful,
    /// The app reset or the stack gave up: reset the server.
    AppReset,
    /// The server reset or failed: the app socket was aborted (a reset goes out).
    ServerReset,
}

pub(crate) struct TcpFlow {
    pub app: SocketAddr,
    pub server: SocketAddr,
    pub handle: super::stacks::StackId,
    /// The server side; `None` for DNS over TCP under an encrypted
    /// upstream, whose queries go through the encrypted client instead.
    pub upstream: Option<TcpStream>,
    /// The server socket is being opened off the packet task (the
    /// protector may block); `upstream` is filled in when it is.
    pub protecting: bool,
    pub waker: Waker,
    pub phase: Phase,
    /// The sequence number of the app's SYN: a SYN with another is a new
    /// connection on a reused port.
    pub app_isn: u32,
    /// The app's SYN, kept to answer it with an ICMP error if the server
    /// cannot be reached; dropped once connected.
    pub syn: Vec<u8>,
    /// The app that opened the flow, if known.
    pub uid: Option<u32>,
    /// The name DNS gave for the server address, if any.
    pub dns_name: Option<String>,
    /// The name the first bytes carried (TLS SNI, HTTP Host), once read.
    pub seen_name: Option<String>,
    /// Set when the flow looked like TLS or HTTP but named nothing: why, as
    /// a strict app's event says it. Switching strict on for its app cuts it.
    pub unnamed: Option<&'static str>,
    /// The app's first bytes: held while inspecting, then written to the
    /// server before anything else.
    pub held: Vec<u8>,
    pub held_sent: usize,
    /// The app's FIN has been passed on (`shutdown(Write)` on the server socket).
    pub app_fin_forwarded: bool,
    /// The server's FIN has been seen and a FIN queued to the app.
    pub server_fin: bool,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// The buffers the flow was given from the relay's budget.
    pub grant: super::budget::TcpGrant,
    /// Bytes of `held` taken from the budget while inspecting.
    pub held_charged: usize,
    /// The messages of a DNS-over-TCP flow (phase [`Phase::Dns`]).
    pub dns: Option<Box<super::dns_stream::DnsStream>>,
}

/// The result of a server connect that was under way.
pub(crate) enum Connect {
    Pending,
    Connected,
    Failed(io::Error),
}

/// Opens a non-blocking, protected connection to `server`.
pub(crate) fn connect(
    server: SocketAddr,
    protector: &dyn SocketProtector,
) -> io::Result<TcpStream> {
    TcpStream::from_std(open(server, protector)?)
}

/// [`connect`]'s part that needs no runtime, so that it can run on the
/// blocking pool when the protector may block.
pub(crate) fn open(
    server: SocketAddr,
    protector: &dyn SocketProtector,
) -> io::Result<std::net::TcpStream> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    protector.protect(socket.as_fd())?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    match socket.connect(&server.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(std::net::TcpStream::from(socket))
}

impl TcpFlow {
    /// Whether the server socket can still carry the flow after a network
    /// change: it has no pending error, and its source address is still
    /// one of the device's (`addresses`). A socket whose address went away
    /// would only find out by timing out.
    pub fn outside_alive(&self, addresses: &[std::net::IpAddr]) -> bool {
        let Some(upstream) = &self.upstream else {
            return true;
        };
        if !matches!(upstream.take_error(), Ok(None)) {
            return false;
        }
        match upstream.local_addr() {
            Ok(local) if local.ip().is_unspecified() => true,
            Ok(local) => addresses.contains(&local.ip()),
            Err(_) => false,
        }
    }

    /// Checks the server connect; registers for the wake-up when it is
    /// still under way.
    pub fn poll_connect(&mut self) -> Connect {
        if self.protecting {
            // The relay touches the flow when the socket comes.
            return Connect::Pending;
        }
        let Some(upstream) = &self.upstream else {
            return Connect::Failed(not_connected());
        };
        let mut cx = Context::from_waker(&self.waker);
        match upstream.poll_write_ready(&mut cx) {
            Poll::Pending => Connect::Pending,
            Poll::Ready(Err(e)) => Connect::Failed(e),
            Poll::Ready(Ok(())) => match upstream.take_error() {
                Ok(Some(e)) | Err(e) => Connect::Failed(e),
                Ok(None) => match upstream.peer_addr() {
                    Ok(_) => Connect::Connected,
                    // Writable but not connected: the failure is in SO_ERROR
                    // on the next readiness, or the connect was refused.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Connect::Failed(
                        io::Error::new(io::ErrorKind::ConnectionRefused, "connect failed"),
                    ),
                    Err(e) => Connect::Failed(e),
                },
            },
        }
    }

    /// Moves what the app has sent into `held`, up to `limit` bytes in all.
    pub fn take_first_bytes(&mut self, socket: &mut tcp::Socket<'_>, limit: usize) {
        while self.held.len() < limit && socket.can_recv() {
            let room = limit - self.held.len();
            let held = &mut self.held;
            let taken = socket.recv(|data| {
                let take = data.len().min(room);
                held.extend_from_slice(&data[..take]);
                (take, take)
            });
            if !matches!(taken, Ok(n) if n > 0) {
                break;
            }
        }
    }

    /// Whether the app has closed its sending side (FIN received).
    pub fn app_finished(socket: &tcp::Socket<'_>) -> bool {
        matches!(
            socket.state(),
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait
        )
    }

    /// Moves bytes both ways as far as buffers and sockets allow. Returns how
    /// the flow ended, if it did.
    pub fn pump(&mut self, socket: &mut tcp::Socket<'_>) -> Option<Ending> {
        if socket.state() == State::Closed {
            return Some(if self.app_fin_forwarded && self.server_fin {
                Ending::Graceful
            } else {
                Ending::AppReset
            });
        }
        if let Err(ending) = self.pump_to_server(socket) {
            return Some(ending);
        }
        if let Err(ending) = self.pump_to_app(socket) {
            return Some(ending);
        }
        if self.app_fin_forwarded
            && self.server_fin
            && matches!(socket.state(), State::TimeWait | State::Closed)
        {
            return Some(Ending::Graceful);
        }
        None
    }

    fn pump_to_server(&mut self, socket: &mut tcp::Socket<'_>) -> Result<(), Ending> {
        let Some(upstream) = &self.upstream else {
            return Err(Self::server_failed(socket));
        };
        let mut cx = Context::from_waker(&self.waker);
        while self.held_sent < self.held.len() {
            match upstream.poll_write_ready(&mut cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Err(_)) => return Err(Self::server_failed(socket)),
                Poll::Ready(Ok(())) => {}
            }
            match upstream.try_write(&self.held[self.held_sent..]) {
                Ok(n) => {
                    self.held_sent += n;
                    self.bytes_up += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Err(Self::server_failed(socket)),
            }
        }
        if !self.held.is_empty() {
            self.held = Vec::new();
            self.held_sent = 0;
        }
        while socket.can_recv() {
            match upstream.poll_write_ready(&mut cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Err(_)) => return Err(Self::server_failed(socket)),
                Poll::Ready(Ok(())) => {}
            }
            let written = socket.recv(|data| match upstream.try_write(data) {
                Ok(n) => (n, Ok(n)),
                Err(e) => (0, Err(e)),
            });
            match written {
                Ok(Ok(n)) => self.bytes_up += n as u64,
                Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(Err(_)) => return Err(Self::server_failed(socket)),
                Err(_) => break,
            }
        }
        if !self.app_fin_forwarded && Self::app_finished(socket) && socket.recv_queue() == 0 {
            self.app_fin_forwarded = true;
            // The server may already have gone; its answer arrives as a read error.
            let _ = self.upstream_socket_shutdown();
        }
        Ok(())
    }

    fn pump_to_app(&mut self, socket: &mut tcp::Socket<'_>) -> Result<(), Ending> {
        let Some(upstream) = &self.upstream else {
            return Err(Self::server_failed(socket));
        };
        let mut cx = Context::from_waker(&self.waker);
        while !self.server_fin && socket.may_send() && socket.send_queue() < socket.send_capacity()
        {
            match upstream.poll_read_ready(&mut cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(Err(_)) => return Err(Self::server_failed(socket)),
                Poll::Ready(Ok(())) => {}
            }
            let read = socket.send(|room| {
                if room.is_empty() {
                    return (0, Ok(None));
                }
                match upstream.try_read(room) {
                    Ok(n) => (n, Ok(Some(n))),
                    Err(e) => (0, Err(e)),
                }
            });
            match read {
                Ok(Ok(Some(0))) => {
                    self.server_fin = true;
                    socket.close();
                }
                Ok(Ok(Some(n))) => self.bytes_down += n as u64,
                Ok(Ok(None)) => break,
                Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(Err(_)) => return Err(Self::server_failed(socket)),
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn server_failed(socket: &mut tcp::Socket<'_>) -> Ending {
        socket.abort();
        Ending::ServerReset
    }

    fn upstream_socket_shutdown(&self) -> io::Result<()> {
        let upstream = self.upstream.as_ref().ok_or_else(not_connected)?;
        socket2::SockRef::from(upstream).shutdown(Shutdown::Write)
    }

    /// Makes dropping the server socket send a reset rather than a FIN, for
    /// flows the app reset or Hush refused.
    pub fn reset_server_on_drop(&self) {
        if let Some(upstream) = &self.upstream {
            let _ = socket2::SockRef::from(upstream).set_linger(Some(Duration::ZERO));
        }
    }
}

fn not_connected() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "no server socket")
}
