//! The encrypted upstream's client: DNS over TLS (RFC 7858) and DNS over
//! HTTPS (RFC 8484, HTTP/2 POST), run as a task beside the relay.
//!
//! Layer: inside the relay, in place of the plain [`UpstreamPool`]
//! (super::upstream::UpstreamPool). The relay hands each allowed query to
//! [`EncryptedClient::send`] (a bounded channel: it never waits) and reads
//! answers from [`EncryptedClient::poll_recv`]; the client task keeps one
//! connection, opened when the first query comes, on a protected socket, and
//! reuses it. DoT queries are pipelined on the stream and matched by their
//! ID; DoH queries are one HTTP/2 stream each.
//!
//! Queries come from the DNS firewall (UDP) and from apps' DNS-over-TCP
//! flows ([`super::dns_stream`]), whose IDs may clash: each query is sent
//! under an ID the client picks, unique among those in flight, and its
//! answer handed back under the query's own ID with the [`Route`] it came
//! by.
//!
//! A query that cannot be answered (the resolver unreachable, its
//! certificate not trusted, an HTTP error, an answer that is not DNS, a
//! stalled connection) comes back at once as SERVFAIL made from the query,
//! with the [`Failure`] the relay counts; the connection is dropped and
//! opened again for the next query (a DoH connection is only retired: the
//! other queries in flight on it still get their answers). A network change drops it too, without
//! failing anything: the relay sends its pending queries again.
//!
//! Invariants: at most [`MAX_IN_FLIGHT`] queries in flight and
//! [`QUEUE`] waiting; an answer is at most 65,535 bytes. Never: send a
//! query in clear text, follow a redirect, log names.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::wake::FlowRef;
use crate::driver::SocketProtector;
use crate::upstream::{EncryptedUpstream, Upstream};

/// Queries waiting for the client task; past this a query fails at once.
pub(crate) const QUEUE: usize = 256;
/// Queries sent and not yet answered.
pub(crate) const MAX_IN_FLIGHT: usize = 256;
/// The largest DNS message.
const MAX_MESSAGE: usize = 65_535;
/// After a failed connection, queries fail at once for this long rather
/// than each waiting out a connection of its own.
const BACKOFF: Duration = Duration::from_millis(500);

/// Why a query got SERVFAIL from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The resolver could not be reached (refused, unreachable, timed out).
    Connect,
    /// Its certificate was not trusted for its name.
    Certificate,
    /// The TLS or HTTP/2 handshake failed otherwise.
    Handshake,
    /// No answer in time: the connection is taken for stalled.
    Timeout,
    /// An HTTP status other than 200, or not `application/dns-message`.
    Http,
    /// An answer that is not a DNS message.
    BadAnswer,
    /// The resolver closed the connection with queries unanswered.
    Closed,
    /// Too many queries in flight.
    Overload,
    /// No trust store to check certificates with (none could be read):
    /// nothing is sent at all.
    TrustStore,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Certificate => "certificate",
            Failure::Handshake => "handshake",
            Failure::Timeout => "timeout",
            Failure::Http => "http",
            Failure::BadAnswer => "bad-answer",
            Failure::Closed => "closed",
            Failure::Overload => "overload",
            Failure::TrustStore => "trust-store",
        }
    }
}

/// Where a query came from, and its answer goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The DNS firewall's UDP path.
    Firewall,
    /// A DNS-over-TCP flow of the relay.
    Stream(FlowRef),
}

/// What the client hands back: an answer, or SERVFAIL and why.
pub(crate) struct Reply {
    pub message: Vec<u8>,
    pub failure: Option<Failure>,
    pub route: Route,
}

/// The relay's handle on the client task.
pub(crate) struct EncryptedClient {
    address: SocketAddr,
    queries: mpsc::Sender<(Vec<u8>, Route)>,
    replies: Mutex<mpsc::UnboundedReceiver<Reply>>,
    /// Failures decided on the relay's side (the queue full), handed back
    /// through the same channel.
    own_replies: mpsc::UnboundedSender<Reply>,
    reconnect: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Drop for EncryptedClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EncryptedClient {
    /// Starts the client task on the current runtime. Fails only when the
    /// configuration is unusable (a name that is no server name, an extra
    /// trust anchor that is no certificate). A system trust store that
    /// cannot be read does not stop the start: every query then gets
    /// SERVFAIL ([`Failure::TrustStore`]), and nothing leaves in clear text.
    pub fn start(
        upstream: &Upstream,
        protector: Arc<dyn SocketProtector>,
        query_timeout: Duration,
    ) -> io::Result<Self> {
        let (https, config) = match upstream {
            Upstream::Plain(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a plain upstream",
                ))
            }
            Upstream::Tls(e) => (false, e.clone()),
            Upstream::Https(e) => (true, e.clone()),
        };
        let server_name = ServerName::try_from(config.name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let connector = match tls_config(&config, https) {
            Ok(tls) => Some(TlsConnector::from(Arc::new(tls))),
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => return Err(error),
            Err(error) => {
                // Paths and counts only: no name or address.
                log::warn!("encrypted upstream: {error}; every lookup fails until restart");
                None
            }
        };
        let (queries, queries_rx) = mpsc::channel(QUEUE);
        let (replies_tx, replies) = mpsc::unbounded_channel();
        let (reconnect, reconnect_rx) = watch::channel(0);
        let setup = Setup {
            https,
            config,
            server_name,
            connector,
            protector,
            // Below the firewall's own timeout, so the reason is known
            // before the app gets its SERVFAIL.
            query_timeout: query_timeout.mul_f32(0.8),
        };
        let task = tokio::spawn(run(setup, queries_rx, replies_tx.clone(), reconnect_rx));
        Ok(Self {
            address: upstream.address(),
            queries,
            replies: Mutex::new(replies),
            own_replies: replies_tx,
            reconnect,
            task,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Hands a query of the DNS firewall to the client; never waits.
    pub fn send(&self, query: &[u8]) {
        self.send_for(query, Route::Firewall);
    }

    /// Hands a query to the client, its answer to go back by `route`;
    /// never waits. A full queue answers SERVFAIL (overload) through
    /// [`Self::poll_recv`].
    pub fn send_for(&self, query: &[u8], route: Route) {
        if let Err(error) = self.queries.try_send((query.to_vec(), route)) {
            let (query, route) = match error {
                mpsc::error::TrySendError::Full(q) | mpsc::error::TrySendError::Closed(q) => q,
            };
            if let Some(message) = servfail_for(&query) {
                let _ = self.own_replies.send(Reply {
                    message,
                    failure: Some(Failure::Overload),
                    route,
                });
            }
        }
    }

    /// Drops the connection (the network changed); the next query opens a
    /// new one. Queries in flight are not failed: the relay sends them again.
    pub fn reopen(&self) {
        self.reconnect.send_modify(|generation| *generation += 1);
    }

    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Reply>> {
        let mut replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        replies.poll_recv(cx)
    }
}

/// The rustls configuration: the platform's trust store plus the extra
/// anchors; ALPN `h2` for DoH, `dot` for DoT.
fn tls_config(config: &EncryptedUpstream, https: bool) -> io::Result<rustls::ClientConfig> {
    // ring rather than aws-lc-rs: it builds for Android with the NDK alone.
    // Its provider has no post-quantum key exchange, hence the deprecation.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // A bad extra anchor is the configuration's fault, whatever the platform.
    super::trust_dirs::add_extra_roots(&mut rustls::RootCertStore::empty(), &config.extra_roots)?;
    let verifier = platform_verifier(config, Arc::clone(&provider))?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = if https {
        vec![b"h2".to_vec()]
    } else {
        vec![b"dot".to_vec()]
    };
    Ok(tls)
}

/// The system's trust store plus the lab's extra anchors (`--upstream-ca`).
#[cfg(not(target_os = "android"))]
fn platform_verifier(
    config: &EncryptedUpstream,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> io::Result<Arc<dyn rustls::client::danger::ServerCertVerifier>> {
    let extra: Vec<rustls::pki_types::CertificateDer<'static>> = config
        .extra_roots
        .iter()
        .map(|der| der.clone().into())
        .collect();
    rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
        .map(|v| Arc::new(v) as Arc<dyn rustls::client::danger::ServerCertVerifier>)
        .map_err(|e| io::Error::other(format!("failed to load the trust store: {e}")))
}

/// Android's system CAs, read from their directories (see
/// [`super::trust_dirs`]), plus the extra anchors.
#[cfg(target_os = "android")]
fn platform_verifier(
    config: &EncryptedUpstream,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> io::Result<Arc<dyn rustls::client::danger::ServerCertVerifier>> {
    super::trust_dirs::android_verifier(&config.extra_roots, provider)
        .map(|v| v as Arc<dyn rustls::client::danger::ServerCertVerifier>)
}

struct Setup {
    https: bool,
    config: EncryptedUpstream,
    server_name: ServerName<'static>,
    /// `None` when no trust store could be loaded.
    connector: Option<TlsConnector>,
    protector: Arc<dyn SocketProtector>,
    query_timeout: Duration,
}

/// A query sent on a connection and not yet answered, under an ID of the
/// client's (its key in [`Client::in_flight`]).
struct InFlight {
    /// As it came, with its own ID.
    query: Vec<u8>,
    route: Route,
    deadline: Instant,
    /// The connection it went out on.
    generation: u64,
}

/// What the connection's tasks report to the client task.
enum Done {
    /// An answer (DoT: read from the stream; DoH: a response's body).
    Answer { generation: u64, message: Vec<u8> },
    /// One DoH query failed.
    Query {
        generation: u64,
        id: u16,
        failure: Failure,
    },
    /// The connection failed: its queries in flight fail with it.
    Connection { generation: u64, failure: Failure },
}

enum Connection {
    /// DoT: frames to write; the reader task reports answers.
    Tls {
        frames: mpsc::UnboundedSender<Vec<u8>>,
        tasks: [JoinHandle<()>; 2],
    },
    /// DoH: the HTTP/2 handle; the connection's driver runs as a task.
    Https {
        send: h2::client::SendRequest<Bytes>,
        driver: JoinHandle<()>,
    },
}

impl Connection {
    fn abort(&self) {
        match self {
            Connection::Tls { tasks, .. } => tasks.iter().for_each(JoinHandle::abort),
            Connection::Https { driver, .. } => driver.abort(),
        }
    }
}

struct Client {
    setup: Arc<Setup>,
    replies: mpsc::UnboundedSender<Reply>,
    done_tx: mpsc::UnboundedSender<Done>,
    connection: Option<Connection>,
    generation: u64,
    in_flight: HashMap<u16, InFlight>,
    /// Until when new queries fail at once, and why.
    down: Option<(Instant, Failure)>,
}

async fn run(
    setup: Setup,
    mut queries: mpsc::Receiver<(Vec<u8>, Route)>,
    replies: mpsc::UnboundedSender<Reply>,
    mut reconnect: watch::Receiver<u64>,
) {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut client = Client {
        setup: Arc::new(setup),
        replies,
        done_tx,
        connection: None,
        generation: 0,
        in_flight: HashMap::new(),
        down: None,
    };
    loop {
        let next_deadline = client.in_flight.values().map(|f| f.deadline).min();
        tokio::select! {
            query = queries.recv() => match query {
                Some((query, route)) => client.submit(query, route).await,
                None => break,
            },
            Some(done) = done.recv() => client.on_done(done),
            () = sleep_until(next_deadline) => client.expire(Instant::now()),
            changed = reconnect.changed() => {
                if changed.is_err() {
                    break;
                }
                client.drop_connection();
                client.in_flight.clear();
                client.down = None;
            }
        }
    }
    client.drop_connection();
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Client {
    async fn submit(&mut self, query: Vec<u8>, route: Route) {
        if message_id(&query).is_none() {
            return;
        }
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return self.fail(&query, Failure::Overload, route);
        }
        if let Some((until, failure)) = self.down {
            if Instant::now() < until {
                return self.fail(&query, failure, route);
            }
            self.down = None;
        }
        if self.connection.is_none() {
            let connect = tokio::time::timeout(self.setup.query_timeout, self.connect());
            match connect.await.unwrap_or(Err(Failure::Connect)) {
                Ok(connection) => self.connection = Some(connection),
                Err(failure) => {
                    log::debug!(
                        "encrypted upstream: connection failed ({})",
                        failure.as_str()
                    );
                    self.down = Some((Instant::now() + BACKOFF, failure));
                    return self.fail(&query, failure, route);
                }
            }
        }
        // At most MAX_IN_FLIGHT IDs are taken: a free one comes at once.
        let id = loop {
            let id: u16 = rand::random();
            if !self.in_flight.contains_key(&id) {
                break id;
            }
        };
        let mut wire = query.clone();
        wire[..2].copy_from_slice(&id.to_be_bytes());
        let generation = self.generation;
        let sent = match self.connection.as_mut() {
            Some(Connection::Tls { frames, .. }) => {
                let mut frame = Vec::with_capacity(wire.len() + 2);
                frame.extend_from_slice(&(wire.len() as u16).to_be_bytes());
                frame.extend_from_slice(&wire);
                frames.send(frame).is_ok()
            }
            Some(Connection::Https { send, .. }) => {
                match send_doh(send, &self.setup, &wire, id, generation, &self.done_tx).await {
                    Ok(()) => true,
                    Err(()) => false,
                }
            }
            None => false,
        };
        if !sent {
            // The connection died under us: once more on a new one.
            self.drop_connection();
            return Box::pin(self.submit_once_more(query, route)).await;
        }
        self.in_flight.insert(
            id,
            InFlight {
                query,
                route,
                deadline: Instant::now() + self.setup.query_timeout,
                generation,
            },
        );
    }

    async fn submit_once_more(&mut self, query: Vec<u8>, route: Route) {
        let connect = tokio::time::timeout(self.setup.query_timeout, self.connect());
        match connect.await.unwrap_or(Err(Failure::Connect)) {
            Ok(connection) => self.connection = Some(connection),
            Err(failure) => {
                self.down = Some((Instant::now() + BACKOFF, failure));
                return self.fail(&query, failure, route);
            }
        }
        Box::pin(self.submit(query, route)).await
    }

    fn on_done(&mut self, done: Done) {
        match done {
            Done::Answer {
                generation,
                mut message,
            } => {
                let Some(id) = message_id(&message) else {
                    return self.connection_failed(generation, Failure::BadAnswer);
                };
                match self.in_flight.get(&id) {
                    Some(f) if f.generation == generation => {
                        let flight = self.in_flight.remove(&id).unwrap();
                        // The query's own ID back (a query's is whole: it has one).
                        message[..2].copy_from_slice(&flight.query[..2]);
                        let _ = self.replies.send(Reply {
                            message,
                            failure: None,
                            route: flight.route,
                        });
                    }
                    // Late, or for a query sent again since: not ours now.
                    _ => {}
                }
            }
            Done::Query {
                generation,
                id,
                failure,
            } => {
                if let Some(f) = self.in_flight.get(&id) {
                    if f.generation == generation {
                        let flight = self.in_flight.remove(&id).unwrap();
                        self.fail(&flight.query, failure, flight.route);
                        if generation == self.generation {
                            self.retire_connection();
                        }
                    }
                }
            }
            Done::Connection {
                generation,
                failure,
            } => self.connection_failed(generation, failure),
        }
    }

    /// Fails the queries sent on connection `generation`; a new one is
    /// opened for the next query.
    fn connection_failed(&mut self, generation: u64, failure: Failure) {
        let ids: Vec<u16> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.generation == generation)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let flight = self.in_flight.remove(&id).unwrap();
            self.fail(&flight.query, failure, flight.route);
        }
        if generation == self.generation {
            self.drop_connection();
        }
    }

    fn expire(&mut self, now: Instant) {
        let expired: Vec<u16> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut stalled = false;
        for id in expired {
            let flight = self.in_flight.remove(&id).unwrap();
            stalled |= flight.generation == self.generation;
            self.fail(&flight.query, Failure::Timeout, flight.route);
        }
        if stalled {
            self.retire_connection();
        }
    }

    fn fail(&self, query: &[u8], failure: Failure, route: Route) {
        if let Some(message) = servfail_for(query) {
            let _ = self.replies.send(Reply {
                message,
                failure: Some(failure),
                route,
            });
        }
    }

    /// Sends no more on the connection, but leaves a DoH connection's
    /// other streams to finish: an HTTP error, an answer that is no DNS or
    /// a stalled stream is one query's, and cutting the connection would
    /// fail every other query in flight on it (as closed). What is left is
    /// cut after the query timeout, by when those queries have expired. A
    /// DoT connection (one stream of frames) is dropped at once.
    fn retire_connection(&mut self) {
        match self.connection.take() {
            Some(Connection::Https { send, driver }) => {
                // With no handle left, h2 closes the connection once its
                // last stream ends.
                drop(send);
                let cut = driver.abort_handle();
                let after = self.setup.query_timeout;
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    cut.abort();
                });
                self.generation += 1;
            }
            connection => {
                self.connection = connection;
                self.drop_connection();
            }
        }
    }

    fn drop_connection(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.abort();
        }
        self.generation += 1;
    }

    async fn connect(&self) -> Result<Connection, Failure> {
        let tls = self.connect_tls().await?;
        let generation = self.generation;
        let done = self.done_tx.clone();
        if self.setup.https {
            let (send, connection) = h2::client::Builder::new()
                .initial_window_size(MAX_MESSAGE as u32 + 1)
                .max_frame_size(16_384)
                .enable_push(false)
                .handshake::<_, Bytes>(tls)
                .await
                .map_err(|_| Failure::Handshake)?;
            let driver = tokio::spawn(async move {
                if connection.await.is_err() {
                    let _ = done.send(Done::Connection {
                        generation,
                        failure: Failure::Closed,
                    });
                }
            });
            return Ok(Connection::Https { send, driver });
        }
        let (mut reader, mut writer) = tokio::io::split(tls);
        let (frames, mut frames_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer_done = done.clone();
        let write = tokio::spawn(async move {
            while let Some(frame) = frames_rx.recv().await {
                if writer.write_all(&frame).await.is_err() || writer.flush().await.is_err() {
                    let _ = writer_done.send(Done::Connection {
                        generation,
                        failure: Failure::Closed,
                    });
                    return;
                }
            }
            let _ = writer.shutdown().await;
        });
        let read = tokio::spawn(async move {
            let failure = loop {
                let mut length = [0u8; 2];
                if reader.read_exact(&mut length).await.is_err() {
                    break Failure::Closed;
                }
                let length = u16::from_be_bytes(length) as usize;
                if length < 12 {
                    break Failure::BadAnswer;
                }
                let mut message = vec![0u8; length];
                if reader.read_exact(&mut message).await.is_err() {
                    break Failure::Closed;
                }
                if done
                    .send(Done::Answer {
                        generation,
                        message,
                    })
                    .is_err()
                {
                    return;
                }
            };
            let _ = done.send(Done::Connection {
                generation,
                failure,
            });
        });
        Ok(Connection::Tls {
            frames,
            tasks: [write, read],
        })
    }

    /// A TLS connection to the first bootstrap address that accepts one.
    async fn connect_tls(&self) -> Result<TlsStream<TcpStream>, Failure> {
        let Some(connector) = &self.setup.connector else {
            return Err(Failure::TrustStore);
        };
        let mut failure = Failure::Connect;
        for ip in &self.setup.config.addresses {
            let address = SocketAddr::new(*ip, self.setup.config.port);
            let Ok(stream) = super::tcp::connect(address, self.setup.protector.as_ref()) else {
                continue;
            };
            if stream.writable().await.is_err() || !matches!(stream.take_error(), Ok(None)) {
                continue;
            }
            if stream.peer_addr().is_err() {
                continue;
            }
            match connector
                .connect(self.setup.server_name.clone(), stream)
                .await
            {
                Ok(tls) => return Ok(tls),
                Err(error) => {
                    failure = handshake_failure(&error);
                    log::debug!("encrypted upstream: TLS handshake failed: {error}");
                }
            }
        }
        Err(failure)
    }
}

fn handshake_failure(error: &io::Error) -> Failure {
    let certificate = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate)
                    | rustls::Error::AlertReceived(rustls::AlertDescription::UnknownCA)
            )
        });
    if certificate {
        Failure::Certificate
    } else {
        Failure::Handshake
    }
}

/// Sends one DoH query as an HTTP/2 POST; its response is awaited by a task
/// of its own, which reports to the client task.
async fn send_doh(
    send: &mut h2::client::SendRequest<Bytes>,
    setup: &Setup,
    query: &[u8],
    id: u16,
    generation: u64,
    done: &mpsc::UnboundedSender<Done>,
) -> Result<(), ()> {
    let ready = tokio::time::timeout(setup.query_timeout, send.clone().ready()).await;
    let Ok(Ok(mut ready)) = ready else {
        return Err(());
    };
    let authority = if setup.config.port == crate::upstream::DOH_PORT {
        setup.config.name.clone()
    } else {
        format!("{}:{}", setup.config.name, setup.config.port)
    };
    let request = http::Request::post(format!("https://{authority}{}", setup.config.path))
        .header(http::header::CONTENT_TYPE, "application/dns-message")
        .header(http::header::ACCEPT, "application/dns-message")
        .body(())
        .map_err(drop)?;
    let (response, mut body) = ready.send_request(request, false).map_err(drop)?;
    // RFC 8484 §4.1: the ID should be 0 on the wire, for caching; the
    // answer's is put back.
    let mut wire = query.to_vec();
    wire[0] = 0;
    wire[1] = 0;
    body.send_data(Bytes::from(wire), true).map_err(drop)?;
    let done = done.clone();
    tokio::spawn(async move {
        let report = match read_doh(response).await {
            Ok(mut message) => {
                message[..2].copy_from_slice(&id.to_be_bytes());
                Done::Answer {
                    generation,
                    message,
                }
            }
            Err(failure) => Done::Query {
                generation,
                id,
                failure,
            },
        };
        let _ = done.send(report);
    });
    Ok(())
}

async fn read_doh(response: h2::client::ResponseFuture) -> Result<Vec<u8>, Failure> {
    let response = response.await.map_err(|_| Failure::Closed)?;
    let (parts, mut body) = response.into_parts();
    let dns_message = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("application/dns-message"));
    if parts.status != http::StatusCode::OK || !dns_message {
        return Err(Failure::Http);
    }
    let mut message = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|_| Failure::Closed)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if message.len() + chunk.len() > MAX_MESSAGE {
            return Err(Failure::BadAnswer);
        }
        message.extend_from_slice(&chunk);
    }
    if message.len() < 12 || message[2] & 0x80 == 0 {
        return Err(Failure::BadAnswer);
    }
    Ok(message)
}

fn message_id(message: &[u8]) -> Option<u16> {
    (message.len() >= 12).then(|| u16::from_be_bytes([message[0], message[1]]))
}

/// SERVFAIL for `query`: its header and question, QR set, RCODE 2 and no
/// other records, so the firewall matches it to the query as any answer.
pub(crate) fn servfail_for(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let questions = u16::from_be_bytes([query[4], query[5]]);
    let mut end = 12;
    for _ in 0..questions {
        loop {
            let length = *query.get(end)? as usize;
            if length == 0 {
                end += 1;
                break;
            }
            if length & 0xC0 == 0xC0 {
                end += 2;
                break;
            }
            end += 1 + length;
        }
        end += 4;
    }
    if end > query.len() {
        return None;
    }
    let mut answer = query[..end].to_vec();
    answer[2] = (query[2] & 0x79) | 0x80; // QR, the opcode and RD kept
    answer[3] = 0x80 | 2; // RA, SERVFAIL
    answer[6..12].fill(0);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servfail_keeps_the_id_and_the_question() {
        let query = [
            0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, // header, one OPT
            1, b'a', 2, b'b', b'c', 0, 0, 1, 0, 1, // a.bc A IN
            0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0, // OPT
        ];
        let answer = servfail_for(&query).unwrap();
        assert_eq!(&answer[..2], &[0xAB, 0xCD]);
        assert_eq!(answer[2] & 0x80, 0x80);
        assert_eq!(answer[3] & 0x0F, 2);
        assert_eq!(&answer[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&answer[12..], &query[12..22]);
        assert!(servfail_for(&query[..15]).is_none());
        assert!(servfail_for(&query[..5]).is_none());
    }
}
