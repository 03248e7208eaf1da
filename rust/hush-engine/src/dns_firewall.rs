//! The DNS path as a sans-IO state machine: packets in, decisions out.
//!
//! It owns no socket and reads no clock: the driver hands it packets and the
//! time, and carries out the [`Step`] it returns. That keeps every decision
//! testable byte for byte, and lets the benchmark measure it without a tun.
//!
//! Every DNS query to port 53 is taken, whatever address the app sent it to,
//! and answered from the address it was sent to, so the app sees the resolver
//! it asked for answer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hush_dns::{BlockMode, DnsQuery, NameMap};
use hush_packet::{build, Checksums, PacketView, Transport};
use hush_rules::{RuleSet, Verdict as ListVerdict};

use crate::event::{Event, EventSink, Reason, Verdict};
use crate::stats::Stats;

/// Settings of the DNS path.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    pub block_mode: BlockMode,
    /// How long a forwarded query waits for the resolver before the app gets SERVFAIL.
    pub query_timeout: Duration,
    /// Queries awaiting the resolver at once; past this, new ones get SERVFAIL.
    pub max_pending: usize,
    /// Addresses remembered for attribution.
    pub name_map_capacity: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            block_mode: BlockMode::NxDomain,
            query_timeout: Duration::from_millis(1500),
            max_pending: 4096,
            name_map_capacity: 65_536,
        }
    }
}

/// What the driver must do with a packet from the tun.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Write this packet back into the tun.
    Reply(Vec<u8>),
    /// Send this DNS payload to the upstream resolver.
    Forward(Vec<u8>),
    /// Nothing to send; the reason is counted in [`Stats`].
    Drop,
}

struct Pending {
    /// The app's address and port: where the answer goes.
    app: SocketAddr,
    /// Where the app sent the query: the answer comes from there.
    resolver: SocketAddr,
    app_query_id: u16,
    query: DnsQuery,
    deadline: Instant,
}

/// The DNS firewall: decides on queries and relays answers.
pub struct DnsFirewall {
    config: DnsConfig,
    rules: Arc<RuleSet>,
    names: NameMap,
    pending: HashMap<u16, Pending>,
    events: Arc<dyn EventSink>,
    stats: Stats,
}

impl DnsFirewall {
    pub fn new(config: DnsConfig, rules: Arc<RuleSet>, events: Arc<dyn EventSink>) -> Self {
        let names = NameMap::new(config.name_map_capacity);
        Self {
            config,
            rules,
            names,
            pending: HashMap::new(),
            events,
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// The name an address was resolved from, for attributing later flows.
    pub fn name_of(&self, address: IpAddr, now: Instant) -> Option<&str> {
        self.names.name_of(address, now)
    }

    /// Replaces the rules; queries already forwarded are not judged again.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.rules = rules;
    }

    /// Decides what to do with one packet read from the tun.
    pub fn on_tun_packet(&mut self, packet: &[u8], now: Instant) -> Step {
        self.stats.packets_in += 1;
        let view = match hush_packet::parse(packet, Checksums::Verify) {
            Ok(view) => view,
            Err(_) => {
                self.stats.dropped_malformed_ip += 1;
                return Step::Drop;
            }
        };
        match view.transport {
            Transport::Udp(udp) if udp.dst_port == 53 => {
                let app = SocketAddr::new(view.ip.src, udp.src_port);
                let resolver = SocketAddr::new(view.ip.dst, udp.dst_port);
                self.on_query(app, resolver, udp.payload, now)
            }
            _ => self.on_other(&view),
        }
    }

    fn on_other(&mut self, _view: &PacketView<'_>) -> Step {
        // Core II relays these; until then they are counted and dropped.
        self.stats.dropped_not_dns += 1;
        Step::Drop
    }

    fn on_query(
        &mut self,
        app: SocketAddr,
        resolver: SocketAddr,
        payload: &[u8],
        now: Instant,
    ) -> Step {
        let query = match hush_dns::parse_query(payload) {
            Ok(query) => query,
            Err(_) => {
                self.stats.dropped_malformed_dns += 1;
                return Step::Drop;
            }
        };
        self.stats.queries += 1;
        let (verdict, reason) = match self.rules.check(query.name()) {
            ListVerdict::Blocked(list) => (
                Verdict::Blocked,
                Reason::Blocklist(self.rules.list_name(list).to_string()),
            ),
            ListVerdict::Allowed(list) => (
                Verdict::Allowed,
                Reason::Allowlist(self.rules.list_name(list).to_string()),
            ),
            ListVerdict::Unlisted => (Verdict::Allowed, Reason::Unlisted),
        };
        if verdict == Verdict::Blocked {
            self.stats.blocked += 1;
            self.record(&query, resolver, verdict, reason);
            return match hush_dns::blocked_answer(&query, self.config.block_mode) {
                Ok(answer) => self.reply(resolver, app, &answer),
                Err(_) => {
                    self.stats.dropped_unanswerable += 1;
                    Step::Drop
                }
            };
        }
        if self.pending.len() >= self.config.max_pending {
            self.stats.servfail_overload += 1;
            self.record(&query, resolver, Verdict::Failed, reason);
            return self.servfail(&query, resolver, app);
        }
        let upstream_id = self.free_query_id();
        let mut forwarded = payload.to_vec();
        hush_dns::set_message_id(&mut forwarded, upstream_id);
        self.record(&query, resolver, verdict, reason);
        self.pending.insert(
            upstream_id,
            Pending {
                app,
                resolver,
                app_query_id: query.id(),
                query,
                deadline: now + self.config.query_timeout,
            },
        );
        self.stats.forwarded += 1;
        Step::Forward(forwarded)
    }

    /// Relays an answer from the upstream resolver. Returns the packet for the
    /// tun, or `None` for an answer no pending query is waiting for.
    pub fn on_upstream_answer(&mut self, mut payload: Vec<u8>, now: Instant) -> Option<Vec<u8>> {
        let Some(id) = hush_dns::message_id(&payload) else {
            self.stats.dropped_stray_answers += 1;
            return None;
        };
        let answer = hush_dns::parse_answer(&payload);
        // An answer whose question differs is not for this query (a late
        // answer to a reused ID, or a spoof): leave the query waiting.
        let matches = match (&answer, self.pending.get(&id)) {
            (_, None) => false,
            (Ok(answer), Some(pending)) => answer.name == pending.query.name(),
            // Undecodable but from our resolver with our ID: the resolver's
            // words are relayed as they are; the app's parser will judge them.
            (Err(_), Some(_)) => true,
        };
        if !matches {
            self.stats.dropped_stray_answers += 1;
            return None;
        }
        let pending = self.pending.remove(&id)?;
        if let Ok(answer) = &answer {
            for (address, ttl) in &answer.addresses {
                self.names.insert(&answer.name, *address, *ttl, now);
            }
        }
        hush_dns::set_message_id(&mut payload, pending.app_query_id);
        self.stats.answered += 1;
        match build::udp(pending.resolver, pending.app, &payload) {
            Ok(packet) => Some(packet),
            Err(_) => {
                self.stats.dropped_unanswerable += 1;
                None
            }
        }
    }

    /// Answers SERVFAIL to every query whose resolver has not answered in
    /// time. Returns the packets for the tun.
    pub fn expire(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let expired: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        let mut packets = Vec::with_capacity(expired.len());
        for id in expired {
            let Some(pending) = self.pending.remove(&id) else {
                continue;
            };
            self.stats.servfail_timeouts += 1;
            self.record(
                &pending.query,
                pending.resolver,
                Verdict::Failed,
                Reason::UpstreamTimeout,
            );
            if let Step::Reply(packet) =
                self.servfail(&pending.query, pending.resolver, pending.app)
            {
                packets.push(packet);
            }
        }
        packets
    }

    /// When the next pending query times out, if any is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn servfail(&mut self, query: &DnsQuery, resolver: SocketAddr, app: SocketAddr) -> Step {
        match hush_dns::servfail(query) {
            Ok(answer) => self.reply(resolver, app, &answer),
            Err(_) => {
                self.stats.dropped_unanswerable += 1;
                Step::Drop
            }
        }
    }

    fn reply(&mut self, from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Step {
        match build::udp(from, to, payload) {
            Ok(packet) => Step::Reply(packet),
            Err(_) => {
                self.stats.dropped_unanswerable += 1;
                Step::Drop
            }
        }
    }

    fn free_query_id(&self) -> u16 {
        // Random IDs make a forged upstream answer a guess; `max_pending` is far
        // below 65,536, so a free one is found within a few tries.
        loop {
            let id: u16 = rand::random();
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    fn record(&self, query: &DnsQuery, resolver: SocketAddr, verdict: Verdict, reason: Reason) {
        self.events.record(Event {
            time: SystemTime::now(),
            uid: None,
            host: query.name().to_string(),
            address: resolver.ip(),
            port: resolver.port(),
            protocol: "dns",
            detail: query.record_type().to_string(),
            verdict,
            reason,
        });
    }
}
