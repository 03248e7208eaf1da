//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766): a connection to port 53 is
//! answered by the DNS firewall message by message, as UDP queries are.
//!
//! Layer: inside the relay, beside [`super::tcp`]. The app's side is the
//! flow's `smoltcp` socket, listening on the address the app chose, so the
//! app sees that address answer; the server side is a connection to the
//! resolver Hush itself uses, never to the app's choice, or, under an
//! encrypted upstream, that upstream's client ([`super::encrypted`]), which
//! carries each query over its DoT or DoH connection and hands the answer
//! back to this flow: no connection of the flow's own, nothing in clear
//! text. Resolvers fall back
//! to TCP after a truncated answer; without this, such a query would reach
//! whatever address the app named, Hush's virtual resolver address included,
//! unjudged.
//!
//! The app's bytes are split into length-prefixed messages ([`FrameReader`]).
//! Each query is judged like a UDP one, by the app's rules and the lists,
//! and recorded the same way (detail `A/tcp`, `HTTPS/tcp`...). A blocked
//! one is answered on the app's stream by Hush; an allowed one goes to the
//! resolver, framed, under an ID of Hush's choosing (the app may reuse its
//! IDs). Each answer must carry its query's question, as on the UDP path,
//! and is read by the same code (a CNAME to a blocked name turns it into the
//! blocked answer, `ech` keys are stripped, addresses are learnt for the
//! app); it goes back to the app under the app's ID, in the order the
//! resolver answers (RFC 7766 §7). A query the
//! resolver leaves unanswered for the UDP path's timeout gets SERVFAIL, and
//! so does each query while the resolver cannot be reached. A resolver that
//! closes its side is connected to again when the next allowed query comes.
//!
//! Invariants: every buffer is bounded. A message is at most 65,535 bytes;
//! at most [`MAX_IN_FLIGHT`] queries await the resolver; the app's bytes are
//! not read while more than [`QUEUE_LIMIT`] bytes wait either way, nor the
//! resolver's while they wait for the app, so a slow side closes a TCP
//! window rather than growing memory. A frame that is not a DNS query
//! resets the connection and is counted.
//!
//! Never: connect anywhere but the configured resolver; send a query in
//! clear text when the upstream is encrypted; log names.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hush_dns::DnsQuery;
use smoltcp::socket::tcp::{Socket, State};
use tokio::net::TcpStream;

use super::encrypted::{EncryptedClient, Route};
use super::tcp::{self, Connect, Ending, TcpFlow};
use super::wake::FlowRef;
use super::Relay;
use crate::dns_firewall::{DnsFirewall, Judged, Taken, Via};
use crate::event::{Reason, Verdict};

/// The largest DNS message: what a two-byte length can say.
pub(crate) const MAX_MESSAGE: usize = 65_535;
/// A DNS header: no message is shorter.
const HEADER: usize = 12;
/// Queries of one connection awaiting the resolver at once; past this, the
/// app's next bytes wait in its socket (RFC 7766 §6.2.1.1 lets a server
/// bound this).
pub(crate) const MAX_IN_FLIGHT: usize = 32;
/// Bytes waiting to go either way past which the other side is not read.
pub(crate) const QUEUE_LIMIT: usize = 16 * 1024;
/// The most read from the resolver at once.
const READ_CHUNK: usize = 16 * 1024;

/// Why a stream of DNS messages cannot be read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The length announces fewer bytes than a DNS header.
    TooShort(u16),
    /// The length announces more than this reader takes.
    TooLong(u16),
    /// The stream ended inside a message.
    Truncated,
}

/// Splits a byte stream into DNS messages, each after its two-byte length.
/// Holds at most one message, and only the bytes of it received so far.
#[derive(Debug)]
pub(crate) struct FrameReader {
    /// The length, then the message so far.
    partial: Vec<u8>,
    max: usize,
    /// Set by the first error, which every later call repeats.
    failed: Option<FrameError>,
}

impl FrameReader {
    /// A reader of messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            max,
            failed: None,
        }
    }

    /// Takes bytes from `data` up to the end of the next message; returns
    /// how many it took, and the message once it is whole. It takes all of
    /// `data` unless a message ends before its end. After an error the
    /// stream cannot be read on: every later call fails the same way.
    pub fn feed(&mut self, data: &[u8]) -> Result<(usize, Option<Vec<u8>>), FrameError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let result = self.take(data);
        if let Err(error) = result {
            self.failed = Some(error);
        }
        result
    }

    fn take(&mut self, data: &[u8]) -> Result<(usize, Option<Vec<u8>>), FrameError> {
        let mut taken = 0;
        if self.partial.len() < 2 {
            taken = (2 - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..taken]);
            let Some(len) = self.expected() else {
                return Ok((taken, None));
            };
            if usize::from(len) < HEADER {
                return Err(FrameError::TooShort(len));
            }
            if usize::from(len) > self.max {
                return Err(FrameError::TooLong(len));
            }
        }
        let whole = 2 + usize::from(self.expected().unwrap_or(0));
        let more = (whole - self.partial.len()).min(data.len() - taken);
        self.partial.extend_from_slice(&data[taken..taken + more]);
        taken += more;
        if self.partial.len() < whole {
            return Ok((taken, None));
        }
        let message = self.partial[2..].to_vec();
        self.partial.clear();
        Ok((taken, Some(message)))
    }

    /// Whether the stream may end here: not inside a message.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(error) = self.failed {
            Err(error)
        } else if self.partial.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }

    fn expected(&self) -> Option<u16> {
        match self.partial[..] {
            [high, low, ..] => Some(u16::from_be_bytes([high, low])),
            _ => None,
        }
    }
}

/// Framed messages waiting to be written.
#[derive(Debug, Default)]
struct Outbox {
    bytes: Vec<u8>,
    sent: usize,
}

impl Outbox {
    /// Queues `message` after its length. A message too long to frame
    /// (none Hush builds or reads is) is not queued.
    fn push(&mut self, message: &[u8]) -> bool {
        let Ok(len) = u16::try_from(message.len()) else {
            return false;
        };
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(message);
        true
    }

    fn unsent(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    fn pending(&self) -> usize {
        self.bytes.len() - self.sent
    }

    fn consumed(&mut self, n: usize) {
        self.sent += n;
        if self.sent == self.bytes.len() {
            self.clear();
        } else if self.sent >= QUEUE_LIMIT {
            self.bytes.drain(..self.sent);
            self.sent = 0;
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.sent = 0;
    }
}

/// The connection to the resolver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    Connecting {
        deadline: Instant,
    },
    Up,
    /// Failed or closed by the resolver; connected again for the next
    /// allowed query.
    Down,
    /// No connection: queries go through the encrypted upstream's client.
    Encrypted,
}

/// A query sent to the resolver and not yet answered.
struct InFlight {
    /// Its ID on the resolver connection.
    id: u16,
    /// The ID the app gave it, which its answer must carry.
    app_id: u16,
    query: DnsQuery,
    deadline: Instant,
    /// The message as sent (encrypted upstream only: sent again after a
    /// network change).
    sent: Vec<u8>,
}

/// What a flow's DNS messages need from outside it, for one turn.
struct Turn<'a> {
    firewall: &'a mut DnsFirewall,
    /// Where the app sent its queries: what the events name.
    resolver: SocketAddr,
    uid: Option<u32>,
    now: Instant,
    query_timeout: Duration,
    connect_timeout: Duration,
    /// The encrypted upstream's client, and this flow as its answers' route.
    client: Option<(&'a EncryptedClient, FlowRef)>,
}

/// Why an app's connection is reset.
enum Reset {
    /// A frame that is no DNS query; counted here.
    Malformed,
    /// A blocked query whose answer could not be built; counted by the firewall.
    Unanswerable,
}

/// The DNS state of one TCP flow to port 53.
pub(crate) struct DnsStream {
    from_app: FrameReader,
    from_server: FrameReader,
    to_server: Outbox,
    to_app: Outbox,
    in_flight: Vec<InFlight>,
    upstream: Upstream,
    /// Answers the encrypted client handed back, not yet read.
    delivered: Vec<Vec<u8>>,
    /// Hush has closed the app's side, every answer given.
    closing: bool,
}

impl DnsStream {
    /// A stream whose resolver connect is under way until
    /// `connect_deadline`, or, when `encrypted`, whose queries go through
    /// the encrypted upstream's client.
    pub fn new(connect_deadline: Instant, encrypted: bool) -> Box<Self> {
        Box::new(Self {
            from_app: FrameReader::new(MAX_MESSAGE),
            from_server: FrameReader::new(MAX_MESSAGE),
            to_server: Outbox::default(),
            to_app: Outbox::default(),
            in_flight: Vec::new(),
            upstream: if encrypted {
                Upstream::Encrypted
            } else {
                Upstream::Connecting {
                    deadline: connect_deadline,
                }
            },
            delivered: Vec::new(),
            closing: false,
        })
    }

    /// An answer from the encrypted client, read at the next service. At
    /// most one per query in flight comes, so this stays bounded.
    pub fn deliver(&mut self, answer: Vec<u8>) {
        self.delivered.push(answer);
    }

    /// A connection to the resolver, opened off the packet task, came after
    /// its connect's deadline: it is tried, with a deadline of its own.
    pub fn connection_came(&mut self, deadline: Instant) {
        if self.upstream == Upstream::Down {
            self.upstream = Upstream::Connecting { deadline };
        }
    }

    /// Hands each query in flight to `send` again (the encrypted client
    /// lost them with its connection at a network change).
    pub fn resend(&self, mut send: impl FnMut(&[u8])) {
        if self.upstream == Upstream::Encrypted {
            self.in_flight.iter().for_each(|q| send(&q.sent));
        }
    }

    /// Moves messages both ways as far as sockets and bounds allow.
    /// Returns how the flow ended, if it did.
    fn service(
        &mut self,
        flow: &mut TcpFlow,
        socket: &mut Socket<'_>,
        turn: &mut Turn<'_>,
        scratch: &mut [u8],
        reconnect: &mut dyn FnMut() -> io::Result<Option<TcpStream>>,
    ) -> Option<Ending> {
        if socket.state() == State::Closed {
            return Some(if self.closing {
                Ending::Graceful
            } else {
                Ending::AppReset
            });
        }
        self.poll_connect(flow, turn);
        self.read_server(flow, turn, scratch);
        for answer in std::mem::take(&mut self.delivered) {
            self.on_answer(answer, turn);
        }
        self.expire(turn);
        self.write_app(socket);
        if let Err(reset) = self.read_app(socket, turn) {
            if matches!(reset, Reset::Malformed) {
                turn.firewall.stats_mut().dns_tcp_malformed += 1;
            }
            socket.abort();
            return Some(Ending::AppReset);
        }
        // One connection opened off the packet task at a time: queries
        // wait for it, as they do for a connect.
        if self.upstream == Upstream::Down && !self.in_flight.is_empty() && !flow.protecting {
            match reconnect() {
                Ok(upstream) => {
                    // `None`: opened off the packet task, and given to the
                    // flow when it comes.
                    flow.protecting = upstream.is_none();
                    flow.upstream = upstream;
                    self.upstream = Upstream::Connecting {
                        deadline: turn.now + turn.connect_timeout,
                    };
                    self.poll_connect(flow, turn);
                }
                Err(_) => self.fail_all(turn, Reason::Unreachable),
            }
        }
        self.write_server(flow, turn);
        self.write_app(socket);
        if !self.closing && TcpFlow::app_finished(socket) && !socket.can_recv() {
            if self.from_app.finish().is_err() {
                turn.firewall.stats_mut().dns_tcp_malformed += 1;
                socket.abort();
                return Some(Ending::AppReset);
            }
            if self.in_flight.is_empty() && self.to_app.pending() == 0 {
                // Every query answered: close as a server does.
                socket.close();
                self.closing = true;
            }
        }
        None
    }

    /// The earliest deadline this stream waits on.
    fn next_deadline(&self) -> Option<Instant> {
        let connect = match self.upstream {
            Upstream::Connecting { deadline } => Some(deadline),
            _ => None,
        };
        self.in_flight
            .iter()
            .map(|q| q.deadline)
            .chain(connect)
            .min()
    }

    fn poll_connect(&mut self, flow: &mut TcpFlow, turn: &mut Turn<'_>) {
        let Upstream::Connecting { deadline } = self.upstream else {
            return;
        };
        match flow.poll_connect() {
            Connect::Connected => self.upstream = Upstream::Up,
            Connect::Pending if turn.now < deadline => {}
            Connect::Pending | Connect::Failed(_) => self.down(turn),
        }
    }

    /// The resolver connection failed or closed: every query on it gets SERVFAIL.
    fn down(&mut self, turn: &mut Turn<'_>) {
        self.upstream = Upstream::Down;
        self.to_server.clear();
        self.from_server = FrameReader::new(MAX_MESSAGE);
        self.fail_all(turn, Reason::Unreachable);
    }

    fn fail_all(&mut self, turn: &mut Turn<'_>, reason: Reason) {
        for query in std::mem::take(&mut self.in_flight) {
            self.servfail(turn, query, reason.clone());
        }
    }

    /// Answers SERVFAIL to each query the resolver has not answered in time.
    fn expire(&mut self, turn: &mut Turn<'_>) {
        let now = turn.now;
        let mut index = 0;
        while index < self.in_flight.len() {
            if self.in_flight[index].deadline <= now {
                let query = self.in_flight.swap_remove(index);
                turn.firewall.stats_mut().servfail_timeouts += 1;
                self.servfail(turn, query, Reason::UpstreamTimeout);
            } else {
                index += 1;
            }
        }
    }

    fn servfail(&mut self, turn: &mut Turn<'_>, query: InFlight, reason: Reason) {
        let firewall = &mut *turn.firewall;
        firewall.stats_mut().dns_tcp_servfail += 1;
        firewall.record_query(
            &query.query,
            turn.resolver,
            turn.uid,
            Verdict::Failed,
            reason,
            Via::Tcp,
        );
        if let Some(answer) = firewall.servfail_answer(&query.query) {
            self.to_app.push(&answer);
        }
    }

    /// Reads the app's queries, one message at a time, while there is room
    /// for what they lead to.
    fn read_app(&mut self, socket: &mut Socket<'_>, turn: &mut Turn<'_>) -> Result<(), Reset> {
        while !self.closing
            && socket.can_recv()
            && self.in_flight.len() < MAX_IN_FLIGHT
            && self.to_app.pending() < QUEUE_LIMIT
            && self.to_server.pending() < QUEUE_LIMIT
        {
            let reader = &mut self.from_app;
            let fed = socket.recv(|data| match reader.feed(data) {
                Ok((taken, message)) => (taken, Ok(message)),
                Err(error) => (0, Err(error)),
            });
            match fed {
                Ok(Ok(Some(message))) => self.on_query(message, turn)?,
                Ok(Ok(None)) => {}
                Ok(Err(_)) => return Err(Reset::Malformed),
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn on_query(&mut self, mut message: Vec<u8>, turn: &mut Turn<'_>) -> Result<(), Reset> {
        let firewall = &mut *turn.firewall;
        match firewall.judge_query(&message, turn.resolver, turn.uid, Via::Tcp, turn.now) {
            Judged::Malformed => Err(Reset::Malformed),
            Judged::Unanswerable => Err(Reset::Unanswerable),
            Judged::Blocked(answer) => {
                let stats = firewall.stats_mut();
                stats.dns_tcp_queries += 1;
                stats.dns_tcp_blocked += 1;
                self.to_app.push(&answer);
                Ok(())
            }
            Judged::Allowed { query, reason } => {
                firewall.record_query(
                    &query,
                    turn.resolver,
                    turn.uid,
                    Verdict::Allowed,
                    reason,
                    Via::Tcp,
                );
                let stats = firewall.stats_mut();
                stats.dns_tcp_queries += 1;
                stats.dns_tcp_forwarded += 1;
                stats.forwarded += 1;
                let id = self.free_id();
                hush_dns::set_message_id(&mut message, id);
                let sent = match turn.client {
                    Some((client, flow)) => {
                        client.send_for(&message, Route::Stream(flow));
                        stats.dns_tcp_encrypted += 1;
                        message
                    }
                    None => {
                        self.to_server.push(&message);
                        Vec::new()
                    }
                };
                self.in_flight.push(InFlight {
                    id,
                    app_id: query.id(),
                    query,
                    deadline: turn.now + turn.query_timeout,
                    sent,
                });
                Ok(())
            }
        }
    }

    fn free_id(&self) -> u16 {
        // At most `MAX_IN_FLIGHT` IDs are taken: a free one comes at once.
        loop {
            let id: u16 = rand::random();
            if self.in_flight.iter().all(|q| q.id != id) {
                return id;
            }
        }
    }

    fn on_answer(&mut self, mut message: Vec<u8>, turn: &mut Turn<'_>) {
        let firewall = &mut *turn.firewall;
        let id = hush_dns::message_id(&message);
        let Some(index) = self.in_flight.iter().position(|q| Some(q.id) == id) else {
            firewall.stats_mut().dropped_stray_answers += 1;
            return;
        };
        let query = self.in_flight.swap_remove(index);
        // The app's ID before the answer is read (see
        // `DnsFirewall::on_upstream_answer`): judged as the app reads it.
        hush_dns::set_message_id(&mut message, query.app_id);
        let taken = firewall.take_answer(
            &mut message,
            &query.query,
            turn.uid,
            turn.resolver,
            Via::Tcp,
            turn.now,
        );
        match taken {
            Taken::Relay => {}
            Taken::NotForQuery => {
                // Not for this query: it goes on waiting.
                self.in_flight.push(query);
                firewall.stats_mut().dropped_stray_answers += 1;
                return;
            }
            Taken::Drop => return,
        }
        self.to_app.push(&message);
        firewall.stats_mut().answered += 1;
    }

    fn write_app(&mut self, socket: &mut Socket<'_>) {
        while self.to_app.pending() > 0 && socket.can_send() {
            match socket.send_slice(self.to_app.unsent()) {
                Ok(n) if n > 0 => self.to_app.consumed(n),
                _ => break,
            }
        }
    }

    fn write_server(&mut self, flow: &mut TcpFlow, turn: &mut Turn<'_>) {
        if self.upstream != Upstream::Up {
            return;
        }
        let Some(upstream) = &flow.upstream else {
            return self.down(turn);
        };
        let mut cx = Context::from_waker(&flow.waker);
        while self.to_server.pending() > 0 {
            match upstream.poll_write_ready(&mut cx) {
                Poll::Pending => return,
                Poll::Ready(Err(_)) => return self.down(turn),
                Poll::Ready(Ok(())) => {}
            }
            match upstream.try_write(self.to_server.unsent()) {
                Ok(n) => self.to_server.consumed(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return self.down(turn),
            }
        }
    }

    /// Reads the resolver's answers while the app takes them.
    fn read_server(&mut self, flow: &mut TcpFlow, turn: &mut Turn<'_>, scratch: &mut [u8]) {
        if self.upstream != Upstream::Up {
            return;
        }
        let Some(upstream) = &flow.upstream else {
            return self.down(turn);
        };
        let mut cx = Context::from_waker(&flow.waker);
        let chunk = scratch.len().min(READ_CHUNK);
        while self.to_app.pending() < QUEUE_LIMIT {
            match upstream.poll_read_ready(&mut cx) {
                Poll::Pending => return,
                Poll::Ready(Err(_)) => return self.down(turn),
                Poll::Ready(Ok(())) => {}
            }
            let read = match upstream.try_read(&mut scratch[..chunk]) {
                // The resolver closed (idle, or it had enough of us).
                Ok(0) => return self.down(turn),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(_) => return self.down(turn),
            };
            let mut data = &scratch[..read];
            while !data.is_empty() {
                match self.from_server.feed(data) {
                    Ok((taken, message)) => {
                        data = &data[taken..];
                        if let Some(message) = message {
                            self.on_answer(message, turn);
                        }
                    }
                    // A resolver that breaks framing cannot be read on.
                    Err(_) => return self.down(turn),
                }
            }
        }
    }
}

impl Relay {
    /// Services a DNS-over-TCP flow (phase [`tcp::Phase::Dns`]).
    pub(super) fn service_dns_tcp(&mut self, flow_ref: FlowRef, now: Instant) {
        let resolver = self.dns_upstream.address();
        let query_timeout = self.firewall.query_timeout();
        let connect_timeout = self.config.connect_timeout;
        let Relay {
            tcp: flows,
            stacks,
            firewall,
            udp_scratch,
            protector,
            protected_sockets,
            ended,
            dns_upstream,
            ..
        } = self;
        let Some(flow) = flows.get_mut(flow_ref) else {
            return;
        };
        let Some(mut stream) = flow.dns.take() else {
            return;
        };
        let socket = stacks.socket_mut(flow.handle);
        let mut turn = Turn {
            firewall,
            resolver: flow.server,
            uid: flow.uid,
            now,
            query_timeout,
            connect_timeout,
            client: dns_upstream.encrypted().map(|client| (client, flow_ref)),
        };
        let mut off_task = 0;
        let mut reconnect = || match protected_sockets {
            Some(answers) => {
                super::spawn_open(answers, protector, flow_ref, move |protector| {
                    tcp::open(resolver, protector).map(super::Opened::Tcp)
                });
                off_task += 1;
                Ok(None)
            }
            None => tcp::connect(resolver, protector.as_ref()).map(Some),
        };
        let ending = stream.service(flow, socket, &mut turn, udp_scratch, &mut reconnect);
        let deadline = stream.next_deadline();
        flow.dns = Some(stream);
        match ending {
            Some(ending) => ended.push((flow_ref, ending)),
            None => {
                if let Some(deadline) = deadline {
                    self.note_deadline(deadline);
                }
            }
        }
        self.stats().protected_off_task += off_task;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed frame: the length, then `len` bytes of `fill`.
    fn frame(len: u16, fill: u8) -> Vec<u8> {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(fill, usize::from(len)));
        bytes
    }

    /// Feeds `stream` in pieces cut at `cuts`, gathering the messages.
    fn read_all(stream: &[u8], cuts: &[usize]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut reader = FrameReader::new(MAX_MESSAGE);
        let mut messages = Vec::new();
        let mut start = 0;
        for end in cuts.iter().copied().chain([stream.len()]) {
            let mut piece = &stream[start..end];
            while !piece.is_empty() {
                let (taken, message) = reader.feed(piece)?;
                assert!(taken > 0, "a piece with bytes must be taken from");
                piece = &piece[taken..];
                messages.extend(message);
            }
            start = end;
        }
        reader.finish()?;
        Ok(messages)
    }

    #[test]
    fn a_message_cut_at_any_byte_is_read_whole() {
        let stream = frame(40, 0xab);
        let expected = vec![vec![0xab; 40]];
        for cut in 0..=stream.len() {
            assert_eq!(read_all(&stream, &[cut]).unwrap(), expected, "cut at {cut}");
        }
        // And one byte at a time.
        let every: Vec<usize> = (1..stream.len()).collect();
        assert_eq!(read_all(&stream, &every).unwrap(), expected);
    }

    #[test]
    fn two_messages_in_one_read_come_out_one_at_a_time() {
        let mut stream = frame(12, 1);
        stream.extend(frame(13, 2));
        let mut reader = FrameReader::new(MAX_MESSAGE);
        let (taken, first) = reader.feed(&stream).unwrap();
        assert_eq!((taken, first), (14, Some(vec![1; 12])));
        let (taken, second) = reader.feed(&stream[taken..]).unwrap();
        assert_eq!((taken, second), (15, Some(vec![2; 13])));
        assert_eq!(reader.finish(), Ok(()));
        // Cut anywhere, the pair still comes out whole and in order.
        for cut in 0..=stream.len() {
            assert_eq!(
                read_all(&stream, &[cut]).unwrap(),
                [vec![1; 12], vec![2; 13]],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_largest_message_is_taken_and_a_longer_one_refused() {
        let largest = frame(u16::MAX, 7);
        assert_eq!(
            read_all(&largest, &[1, 3, 40_000]).unwrap()[0].len(),
            65_535
        );
        let mut reader = FrameReader::new(512);
        assert_eq!(reader.feed(&frame(513, 0)), Err(FrameError::TooLong(513)));
        // The refusal comes from the length alone, before any of the body.
        let mut reader = FrameReader::new(512);
        assert_eq!(reader.feed(&[0x02]), Ok((1, None)));
        assert_eq!(reader.feed(&[0x01]), Err(FrameError::TooLong(513)));
        // And the reader stays failed, whatever comes next.
        assert_eq!(reader.feed(&[0; 600]), Err(FrameError::TooLong(513)));
        assert_eq!(reader.finish(), Err(FrameError::TooLong(513)));
        let mut reader = FrameReader::new(512);
        assert!(reader.feed(&frame(512, 0)).unwrap().1.is_some());
    }

    #[test]
    fn a_length_below_a_dns_header_is_refused() {
        for len in [0u16, 1, 11] {
            let mut reader = FrameReader::new(MAX_MESSAGE);
            assert_eq!(
                reader.feed(&frame(len, 0)),
                Err(FrameError::TooShort(len)),
                "length {len}"
            );
        }
    }

    #[test]
    fn a_stream_that_ends_inside_a_message_is_truncated() {
        let stream = frame(30, 5);
        for end in 1..stream.len() {
            assert_eq!(
                read_all(&stream[..end], &[]),
                Err(FrameError::Truncated),
                "ended after {end} bytes"
            );
        }
        assert_eq!(read_all(&[], &[]), Ok(Vec::new()));
        assert_eq!(read_all(&stream, &[]).unwrap().len(), 1);
    }

    #[test]
    fn the_outbox_frames_messages_and_keeps_what_was_not_written() {
        let mut outbox = Outbox::default();
        assert!(outbox.push(&[1, 2, 3]));
        assert!(outbox.push(&[4]));
        assert_eq!(outbox.unsent(), [0, 3, 1, 2, 3, 0, 1, 4]);
        outbox.consumed(3);
        assert_eq!(outbox.unsent(), [2, 3, 0, 1, 4]);
        outbox.consumed(5);
        assert_eq!(outbox.pending(), 0);
        assert!(!outbox.push(&vec![0; 65_536]), "too long to frame");
        assert_eq!(outbox.pending(), 0);
    }
}
