//! The sockets allowed DNS queries leave through: a small pool, reopened
//! whenever the network changes.
//!
//! A single socket opened once per session dies with the network it was
//! opened on (Wi-Fi to mobile, a new address on the same network) and every
//! lookup after that fails. Here each query goes out through one of a few
//! protected sockets, picked at random, each with its own ephemeral source
//! port; with the random query IDs of the [`DnsFirewall`](crate::DnsFirewall)
//! that makes a forged answer a guess of about 2^16 × the pool's ports. The
//! sockets are connected, so only the resolver's datagrams are read from
//! them. A network change reopens them all at once, and a send that fails
//! because the route or the source address went away reopens its socket, so
//! the pool heals even when no one reported the change.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

use super::udp::send_now;
use crate::driver::{open_upstream, SocketProtector};

/// Sockets in the pool.
const POOL: usize = 4;

pub(crate) struct UpstreamPool {
    /// Changes when the platform names another resolver (the network's own
    /// resolvers, followed across networks).
    address: Mutex<SocketAddr>,
    protector: Arc<dyn SocketProtector>,
    /// `None` where a socket could not be opened (no network yet); tried
    /// again at the next send.
    sockets: Mutex<Vec<Option<Arc<UdpSocket>>>>,
}

impl UpstreamPool {
    /// Opens the pool's sockets to `address`. Fails only when not one of
    /// them can be opened and protected, which is a fault of the platform
    /// rather than of the network.
    pub fn open(
        address: SocketAddr,
        protector: Arc<dyn SocketProtector>,
    ) -> Result<Self, crate::EngineError> {
        let pool = Self {
            address: Mutex::new(address),
            protector,
            sockets: Mutex::new(vec![None; POOL]),
        };
        pool.reopen();
        if pool.sockets().iter().all(Option::is_none) {
            // The same call again, for its error.
            open_upstream(address, pool.protector.as_ref())?;
        }
        Ok(pool)
    }

    /// The resolver allowed queries go to.
    pub fn address(&self) -> SocketAddr {
        *self.address.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends later queries to `address`, through new sockets.
    pub fn set_address(&self, address: SocketAddr) {
        *self.address.lock().unwrap_or_else(|e| e.into_inner()) = address;
        self.reopen();
    }

    /// Replaces every socket with a new one on the network in use now.
    pub fn reopen(&self) {
        let mut sockets = self.sockets();
        for slot in sockets.iter_mut() {
            *slot = self.open_one();
        }
    }

    fn open_one(&self) -> Option<Arc<UdpSocket>> {
        open_upstream(self.address(), self.protector.as_ref())
            .ok()
            .map(Arc::new)
    }

    /// Sends a query through a socket picked at random. A socket whose
    /// network went away is replaced and the query sent again once.
    pub fn send(&self, query: &[u8]) -> io::Result<()> {
        let index = rand::random_range(0..POOL);
        let mut sockets = self.sockets();
        let slot = &mut sockets[index];
        if slot.is_none() {
            *slot = self.open_one();
        }
        let Some(socket) = slot.as_ref() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no upstream socket could be opened",
            ));
        };
        match send_now(socket, query) {
            Ok(_) => Ok(()),
            Err(error) if network_gone(&error) => {
                *slot = self.open_one();
                match slot.as_ref() {
                    Some(socket) => send_now(socket, query).map(drop),
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// Reads an answer from whichever socket has one. An error (an ICMP
    /// error from the resolver's side, reported on a connected socket) is
    /// returned as such; its queries end in SERVFAIL on their timeout.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buffer: &mut [u8]) -> Poll<io::Result<usize>> {
        let sockets = self.sockets();
        for socket in sockets.iter().flatten() {
            let mut read = ReadBuf::new(buffer);
            match socket.poll_recv(cx, &mut read) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(read.filled().len())),
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }

    /// Completes with the next answer from any socket of the pool.
    pub async fn recv(&self, buffer: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_recv(cx, buffer)).await
    }

    fn sockets(&self) -> MutexGuard<'_, Vec<Option<Arc<UdpSocket>>>> {
        // Only this task uses the pool; each change is one assignment.
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a send failed because the socket's network or source address is
/// gone, so a new socket would fare better.
fn network_gone(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(
            libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::EADDRNOTAVAIL
                | libc::ENETDOWN
                | libc::EINVAL
                | libc::EPERM
                | libc::ENODEV
                | libc::ENXIO
        )
    )
}

/// Where the relay's allowed queries go: the plain pool, or the encrypted
/// client's task.
pub(crate) enum DnsUpstream {
    Plain(UpstreamPool),
    Encrypted(super::encrypted::EncryptedClient),
}

/// What came back from the upstream: an answer of this length, in the
/// buffer, and where it goes.
pub(crate) struct Received {
    pub len: usize,
    /// SERVFAIL made by the encrypted client, and why.
    pub failure: Option<super::encrypted::Failure>,
    pub route: super::encrypted::Route,
}

impl DnsUpstream {
    pub fn open(
        upstream: &crate::Upstream,
        protector: Arc<dyn SocketProtector>,
        query_timeout: std::time::Duration,
    ) -> Result<Self, crate::EngineError> {
        match upstream {
            crate::Upstream::Plain(address) => {
                Ok(DnsUpstream::Plain(UpstreamPool::open(*address, protector)?))
            }
            _ => super::encrypted::EncryptedClient::start(upstream, protector, query_timeout)
                .map(DnsUpstream::Encrypted)
                .map_err(|e| crate::EngineError::Io {
                    context: "start the encrypted upstream",
                    source: e,
                }),
        }
    }

    pub fn address(&self) -> SocketAddr {
        match self {
            DnsUpstream::Plain(pool) => pool.address(),
            DnsUpstream::Encrypted(client) => client.address(),
        }
    }

    pub fn is_encrypted(&self) -> bool {
        matches!(self, DnsUpstream::Encrypted(_))
    }

    /// The encrypted client, which DNS-over-TCP flows send through too.
    pub fn encrypted(&self) -> Option<&super::encrypted::EncryptedClient> {
        match self {
            DnsUpstream::Encrypted(client) => Some(client),
            DnsUpstream::Plain(_) => None,
        }
    }

    /// Sends later queries to the plain resolver `address` (the network's
    /// own, followed). An encrypted upstream is kept: it is never swapped
    /// for clear text. Returns whether the resolver changed.
    pub fn set_address(&self, address: SocketAddr) -> bool {
        match self {
            DnsUpstream::Plain(pool) if pool.address() != address => {
                pool.set_address(address);
                true
            }
            DnsUpstream::Plain(_) | DnsUpstream::Encrypted(_) => false,
        }
    }

    pub fn reopen(&self) {
        match self {
            DnsUpstream::Plain(pool) => pool.reopen(),
            DnsUpstream::Encrypted(client) => client.reopen(),
        }
    }

    /// Sends a query; the encrypted client never fails here (its failures
    /// come back as SERVFAIL through [`Self::recv`]).
    pub fn send(&self, query: &[u8]) -> io::Result<()> {
        match self {
            DnsUpstream::Plain(pool) => pool.send(query),
            DnsUpstream::Encrypted(client) => {
                client.send(query);
                Ok(())
            }
        }
    }

    pub async fn recv(&self, buffer: &mut [u8]) -> io::Result<Received> {
        match self {
            DnsUpstream::Plain(pool) => pool.recv(buffer).await.map(|len| Received {
                len,
                failure: None,
                route: super::encrypted::Route::Firewall,
            }),
            DnsUpstream::Encrypted(client) => {
                let reply = std::future::poll_fn(|cx| client.poll_recv(cx)).await;
                let Some(reply) = reply else {
                    // The task ended (it never does while the client lives).
                    return std::future::pending().await;
                };
                let len = reply.message.len().min(buffer.len());
                buffer[..len].copy_from_slice(&reply.message[..len]);
                Ok(Received {
                    len,
                    failure: reply.failure,
                    route: reply.route,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProtection;

    #[tokio::test(flavor = "current_thread")]
    async fn queries_leave_from_several_ports_and_answers_come_back() {
        let resolver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        resolver
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let pool =
            UpstreamPool::open(resolver.local_addr().unwrap(), Arc::new(NoProtection)).unwrap();
        let mut ports = std::collections::HashSet::new();
        for i in 0..64u8 {
            pool.send(&[i]).unwrap();
            let mut buffer = [0u8; 8];
            let (len, from) = resolver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], &[i]);
            ports.insert(from.port());
            resolver.send_to(&[i, i], from).unwrap();
            let mut answer = [0u8; 8];
            let len = pool.recv(&mut answer).await.unwrap();
            assert_eq!(&answer[..len], &[i, i]);
        }
        assert!(ports.len() > 1, "one source port for 64 queries: {ports:?}");
        assert!(ports.len() <= POOL);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reopening_moves_every_query_to_new_ports() {
        let resolver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        resolver
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let pool =
            UpstreamPool::open(resolver.local_addr().unwrap(), Arc::new(NoProtection)).unwrap();
        // Kept open, so the kernel cannot hand their ports to the new ones.
        let old: Vec<Arc<UdpSocket>> = pool.sockets().iter().flatten().cloned().collect();
        let before: std::collections::HashSet<u16> =
            old.iter().map(|s| s.local_addr().unwrap().port()).collect();
        pool.reopen();
        for _ in 0..32 {
            pool.send(b"q").unwrap();
            let (_, from) = resolver.recv_from(&mut [0u8; 4]).unwrap();
            assert!(!before.contains(&from.port()), "an old socket was used");
        }
    }
}
