//! The DNS path as a sans-IO state machine: packets in, decisions out.
//!
//! It owns no socket and reads no clock: the driver hands it packets and the
//! time, and carries out the [`Step`] it returns. That keeps every decision
//! testable byte for byte, and lets the benchmark measure it without a tun.
//!
//! Every DNS query to port 53 is taken, whatever address the app sent it to,
//! and answered from the address it was sent to, so the app sees the resolver
//! it asked for answer.
//!
//! The judging of a query and the reading of an answer are shared with DNS
//! over TCP (`relay::dns_stream`): [`DnsFirewall::judge_query`] and
//! [`DnsFirewall::take_answer`] see DNS payloads only, whatever carried them.
//!
//! An answer is read before the app gets it: a CNAME chain from an allowed
//! name through a blocked one (a tracker cloaked behind a first-party name)
//! turns it into the blocked answer, with the reason `cname:NAME:CODE`; the
//! `ech` key of HTTPS/SVCB records is taken out (when
//! [`DnsConfig::strip_ech`]), so the client's TLS names its host in the
//! clear; and the addresses are learnt, for attributing later flows and for
//! the apps set to reach only what Hush resolved for them.
//!
//! A blocked query asked again by the same app (an app retrying in a loop)
//! is answered from a short negative cache: the answer built for the same
//! bytes (all but the ID) within [`NEGATIVE_TTL`], with the new query's ID.
//! Each attempt is still recorded (the log writer folds repeats into one
//! row with a count); the rules changing empties the cache.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hush_dns::{BlockMode, DnsQuery, NameMap};
use hush_packet::{build, Checksums, PacketView, Transport};
use hush_rules::{AddressRules, RuleSet, ENCRYPTED_DNS_LIST_NAME};

use crate::apps::AppPolicy;
use crate::bypass::{ResolvedAddresses, ResolverExemptions};
use crate::event::{Event, EventSink, Reason, Verdict};
use crate::policy;
use crate::stats::Stats;

/// How long a blocked answer is reused for the same query from the same app.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);
/// Blocked answers kept at most (a few hundred KiB with the queries).
const NEGATIVE_ENTRIES: usize = 1024;

/// A blocked answer kept for a repeat of its query.
struct Negative {
    uid: Option<u32>,
    /// The query's bytes after its ID: a repeat must match them all.
    query: Box<[u8]>,
    /// The answer, its ID to be replaced.
    answer: Box<[u8]>,
    name: String,
    record_type: String,
    reason: Reason,
    expires: Instant,
}

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
    /// Take the `ech` SvcParam out of HTTPS and SVCB answers, so that
    /// clients fall back to a ClientHello whose SNI names the host (on by
    /// default). Answers without it go to the app byte for byte.
    pub strip_ech: bool,
    /// Names and addresses never blocked for being an encrypted-DNS
    /// endpoint (the `hush-doh` list, port 853) nor refused as not resolved:
    /// the resolvers Hush itself or the platform needs (see
    /// [`ResolverExemptions`]). Empty by default.
    pub resolver_exemptions: ResolverExemptions,
    /// (App, address) pairs remembered for "resolved only"
    /// ([`AppPolicy::set_resolved_only`]); the oldest goes first past this.
    /// 32,768 by default: 3.3 MB when full (see [`ResolvedAddresses`]).
    pub resolved_capacity: usize,
    /// How long past an answer's TTL its addresses stay reachable for an
    /// app set to "resolved only" (apps keep using an address past a short
    /// TTL).
    pub resolved_grace: Duration,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            block_mode: BlockMode::NxDomain,
            query_timeout: Duration::from_millis(1500),
            max_pending: 4096,
            name_map_capacity: 65_536,
            strip_ech: true,
            resolver_exemptions: ResolverExemptions::default(),
            resolved_capacity: 32_768,
            resolved_grace: Duration::from_secs(300),
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

/// What carried a query, as the activity log tells it: the record type
/// alone for UDP ("A"), with "/tcp" after it for TCP ("A/tcp").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Udp,
    Tcp,
}

/// The firewall's decision on one query, whatever carried it.
#[derive(Debug)]
pub(crate) enum Judged {
    /// Blocked, recorded and counted: Hush answers with this payload.
    Blocked(Vec<u8>),
    /// Allowed by the rules, counted as a query: the caller forwards it (or
    /// fails it) and records which, with this reason.
    Allowed { query: DnsQuery, reason: Reason },
    /// Not a query Hush can act on; counted in `dropped_malformed_dns`.
    Malformed,
    /// Blocked, but no answer could be built; counted in `dropped_unanswerable`.
    Unanswerable,
}

/// What became of a resolver's answer to a forwarded query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// It answers the query: send the payload (possibly rewritten) to the app.
    Relay,
    /// It answers another question: the query goes on waiting.
    NotForQuery,
    /// It answers the query, but nothing can be sent for it (counted).
    Drop,
}

struct Pending {
    /// The app's address and port: where the answer goes.
    app: SocketAddr,
    /// Where the app sent the query: the answer comes from there.
    resolver: SocketAddr,
    /// The app that asked, if known.
    uid: Option<u32>,
    app_query_id: u16,
    query: DnsQuery,
    deadline: Instant,
    /// The query as sent upstream, to send again through a new socket when
    /// the network changes under it.
    forwarded: Vec<u8>,
}

/// The DNS firewall: decides on queries and relays answers.
pub struct DnsFirewall {
    config: DnsConfig,
    rules: Arc<RuleSet>,
    /// Address and range rules, for the relay's new flows.
    addresses: Arc<AddressRules>,
    /// The user's per-app modes and domain rules.
    apps: Arc<AppPolicy>,
    names: NameMap,
    /// Which app was given which address, for "resolved only".
    resolved: ResolvedAddresses,
    pending: HashMap<u16, Pending>,
    events: Arc<dyn EventSink>,
    stats: Stats,
    /// Blocked answers by a hash of (app, query bytes after the ID).
    negative: HashMap<u64, Negative>,
    hasher: std::collections::hash_map::RandomState,
    /// The app whose decisions are kept for a packet capture's comments
    /// ([`crate::capture`]), and the last one made. A lock, not a cell:
    /// decisions are recorded through `&self`, and the firewall crosses
    /// threads; it is taken only while that app is captured.
    decisions_of: Option<u32>,
    decision: std::sync::Mutex<Option<String>>,
}

impl DnsFirewall {
    pub fn new(config: DnsConfig, rules: Arc<RuleSet>, events: Arc<dyn EventSink>) -> Self {
        let names = NameMap::new(config.name_map_capacity);
        let resolved = ResolvedAddresses::new(config.resolved_capacity, config.resolved_grace);
        Self {
            config,
            rules,
            addresses: Arc::new(AddressRules::empty()),
            apps: Arc::new(AppPolicy::default()),
            names,
            resolved,
            pending: HashMap::new(),
            events,
            stats: Stats::default(),
            negative: HashMap::new(),
            hasher: Default::default(),
            decisions_of: None,
            decision: std::sync::Mutex::new(None),
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// Counts on from `stats` (a previous run's, when the engine is
    /// started again after a fault), so the owner sees one session.
    pub fn restore_stats(&mut self, stats: Stats) {
        self.stats = stats;
    }

    /// The name an address was resolved from, for attributing later flows.
    pub fn name_of(&self, address: IpAddr, now: Instant) -> Option<&str> {
        self.names.name_of(address, now)
    }

    /// Whether a DNS answer through Hush gave `address` to the app `uid`
    /// and its TTL and grace period have not passed: the check "resolved
    /// only" makes for each new flow, one hash probe. For a flow whose
    /// owner is unknown, an answer to any app counts (the name map).
    pub fn was_resolved_for(&self, uid: Option<u32>, address: IpAddr, now: Instant) -> bool {
        self.resolved.contains(uid, address, now)
            || (uid.is_none() && self.names.name_of(address, now).is_some())
    }

    /// The resolvers never blocked as encrypted DNS nor refused as not resolved.
    pub fn resolver_exemptions(&self) -> &ResolverExemptions {
        &self.config.resolver_exemptions
    }

    /// Replaces the exempt resolvers (the platform's Private DNS changed):
    /// new queries and flows are judged by these.
    pub fn set_resolver_exemptions(&mut self, exemptions: ResolverExemptions) {
        self.config.resolver_exemptions = exemptions;
        self.negative.clear();
    }

    /// Judges `name`, asked for or sent by the app `uid` (DNS question, TLS
    /// SNI, HTTP Host, QUIC SNI, or a CNAME on the way): the user's rules,
    /// then the lists; an exempt resolver's name is not blocked by the
    /// encrypted-DNS list.
    pub(crate) fn judge_name(&self, uid: Option<u32>, name: &str) -> (Verdict, Reason) {
        let (verdict, reason) = policy::judge_for(&self.apps, &self.rules, uid, name);
        match &reason {
            Reason::Blocklist(list)
                if list == ENCRYPTED_DNS_LIST_NAME
                    && self.config.resolver_exemptions.exempts_name(name) =>
            {
                (Verdict::Allowed, Reason::Unlisted)
            }
            _ => (verdict, reason),
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn address_rules(&self) -> &AddressRules {
        &self.addresses
    }

    /// Replaces the address rules; flows already open are not judged again.
    pub fn set_address_rules(&mut self, addresses: Arc<AddressRules>) {
        self.addresses = addresses;
        self.negative.clear();
    }

    pub fn app_policy(&self) -> &AppPolicy {
        &self.apps
    }

    /// Replaces the per-app rules; queries already forwarded are not judged again.
    pub fn set_app_policy(&mut self, apps: Arc<AppPolicy>) {
        self.apps = apps;
        self.negative.clear();
    }

    pub(crate) fn events(&self) -> &dyn EventSink {
        self.events.as_ref()
    }

    /// Keeps the decisions on `uid`'s queries for [`Self::take_decision`]
    /// (a packet capture of that app is under way); `None`: none.
    pub(crate) fn keep_decisions_of(&mut self, uid: Option<u32>) {
        self.decisions_of = uid;
        *self.decision.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The last decision kept since the last call, as a capture comment.
    pub(crate) fn take_decision(&mut self) -> Option<String> {
        self.decisions_of?;
        self.decision
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Replaces the rules; queries already forwarded are not judged again.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.rules = rules;
        self.negative.clear();
    }

    /// Decides what to do with one packet read from the tun, its sender unknown.
    pub fn on_tun_packet(&mut self, packet: &[u8], now: Instant) -> Step {
        self.on_tun_packet_from(packet, None, now)
    }

    /// Decides what to do with one packet read from the tun, sent by the app
    /// `uid` (when known), whose own rules then apply.
    pub fn on_tun_packet_from(&mut self, packet: &[u8], uid: Option<u32>, now: Instant) -> Step {
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
                self.on_query(app, resolver, uid, udp.payload, now)
            }
            // Hush does not reassemble: apps' TCP keeps to the tun's MTU,
            // QUIC never fragments, and DNS queries are far below any MTU.
            // Fragments are counted and dropped.
            Transport::Fragment(_) => {
                self.stats.dropped_fragments += 1;
                Step::Drop
            }
            _ => self.on_other(&view),
        }
    }

    fn on_other(&mut self, _view: &PacketView<'_>) -> Step {
        // The relay takes TCP, UDP and ICMP; other protocols (and, without
        // the relay, everything but DNS) are counted and dropped.
        self.stats.dropped_not_dns += 1;
        Step::Drop
    }

    fn on_query(
        &mut self,
        app: SocketAddr,
        resolver: SocketAddr,
        uid: Option<u32>,
        payload: &[u8],
        now: Instant,
    ) -> Step {
        let (query, reason) = match self.judge_query(payload, resolver, uid, Via::Udp, now) {
            Judged::Allowed { query, reason } => (query, reason),
            Judged::Blocked(answer) => return self.reply(resolver, app, &answer),
            Judged::Malformed | Judged::Unanswerable => return Step::Drop,
        };
        if self.pending.len() >= self.config.max_pending {
            self.stats.servfail_overload += 1;
            self.record(&query, resolver, uid, Verdict::Failed, reason, Via::Udp);
            return self.servfail(&query, resolver, app);
        }
        let upstream_id = self.free_query_id();
        let mut forwarded = payload.to_vec();
        hush_dns::set_message_id(&mut forwarded, upstream_id);
        self.record(&query, resolver, uid, Verdict::Allowed, reason, Via::Udp);
        self.pending.insert(
            upstream_id,
            Pending {
                app,
                resolver,
                uid,
                app_query_id: query.id(),
                query,
                deadline: now + self.config.query_timeout,
                forwarded: forwarded.clone(),
            },
        );
        self.stats.forwarded += 1;
        Step::Forward(forwarded)
    }

    /// Judges one query the app `uid` sent to `resolver` (the address it
    /// chose), by the app's rules and the lists. A blocked query is counted
    /// and recorded here, and its answer built; an allowed one is counted as
    /// a query and handed back, for the caller to forward and record.
    pub(crate) fn judge_query(
        &mut self,
        payload: &[u8],
        resolver: SocketAddr,
        uid: Option<u32>,
        via: Via,
        now: Instant,
    ) -> Judged {
        if let Some(answer) = self.repeat_answer(payload, resolver, uid, via, now) {
            return Judged::Blocked(answer);
        }
        let query = match hush_dns::parse_query(payload) {
            Ok(query) => query,
            Err(_) => {
                self.stats.dropped_malformed_dns += 1;
                return Judged::Malformed;
            }
        };
        self.stats.queries += 1;
        let (verdict, reason) = self.judge_name(uid, query.name());
        if verdict != Verdict::Blocked {
            return Judged::Allowed { query, reason };
        }
        self.stats.blocked += 1;
        self.record(&query, resolver, uid, verdict, reason.clone(), via);
        match hush_dns::blocked_answer(&query, self.config.block_mode) {
            Ok(answer) => {
                self.keep_negative(payload, uid, &query, &answer, reason, now);
                Judged::Blocked(answer)
            }
            Err(_) => {
                self.stats.dropped_unanswerable += 1;
                Judged::Unanswerable
            }
        }
    }

    /// The blocked answer to `payload` if the app `uid` sent the same query
    /// (every byte but the ID) within [`NEGATIVE_TTL`]: counted and
    /// recorded as the first was, with this query's ID.
    fn repeat_answer(
        &mut self,
        payload: &[u8],
        resolver: SocketAddr,
        uid: Option<u32>,
        via: Via,
        now: Instant,
    ) -> Option<Vec<u8>> {
        let (id, rest) = (payload.get(..2)?, payload.get(2..)?);
        let key = self.negative_key(uid, rest);
        let kept = self.negative.get(&key)?;
        if kept.uid != uid || *kept.query != *rest || kept.expires <= now {
            return None;
        }
        let mut answer = kept.answer.to_vec();
        answer[..2].copy_from_slice(id);
        let (name, record_type, reason) = (
            kept.name.clone(),
            kept.record_type.clone(),
            kept.reason.clone(),
        );
        self.stats.queries += 1;
        self.stats.blocked += 1;
        self.stats.blocked_repeats += 1;
        self.record_parts(
            name,
            &record_type,
            resolver,
            uid,
            Verdict::Blocked,
            reason,
            via,
        );
        Some(answer)
    }

    /// Keeps `answer`, the blocked answer to `payload` from the app `uid`,
    /// for its repeats.
    fn keep_negative(
        &mut self,
        payload: &[u8],
        uid: Option<u32>,
        query: &DnsQuery,
        answer: &[u8],
        reason: Reason,
        now: Instant,
    ) {
        let (Some(rest), true) = (payload.get(2..), answer.len() >= 2) else {
            return;
        };
        if self.negative.len() >= NEGATIVE_ENTRIES {
            self.negative.retain(|_, kept| kept.expires > now);
            if self.negative.len() >= NEGATIVE_ENTRIES {
                self.negative.clear();
            }
        }
        let key = self.negative_key(uid, rest);
        self.negative.insert(
            key,
            Negative {
                uid,
                query: rest.into(),
                answer: answer.into(),
                name: query.name().to_string(),
                record_type: query.record_type().to_string(),
                reason,
                expires: now + NEGATIVE_TTL,
            },
        );
    }

    fn negative_key(&self, uid: Option<u32>, rest: &[u8]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        uid.hash(&mut hasher);
        rest.hash(&mut hasher);
        hasher.finish()
    }

    /// Reads `payload`, the resolver's answer to `query` that the app `uid`
    /// sent to `resolver`, before the app gets it. An answer to another
    /// question is not for this query (a late answer to a reused ID, or a
    /// spoof). One that is may be rewritten in place:
    ///
    /// - its CNAME chain passes a name the rules block (and the question
    ///   itself was not explicitly allowed: an allowlist, an allow rule or
    ///   an allow-all app): the app gets the blocked answer instead (NXDOMAIN
    ///   or the unspecified address, per the block mode), recorded with the
    ///   reason [`Reason::Cname`] and counted in `cname_cloaked`, and its
    ///   addresses are not learnt;
    /// - else its HTTPS/SVCB records lose their `ech` key
    ///   ([`DnsConfig::strip_ech`]), and its addresses are learnt: into the
    ///   name map, and as given to `uid`.
    ///
    /// An undecodable answer on the query's ID is taken as it is: the app's
    /// parser will judge the resolver's words.
    pub(crate) fn take_answer(
        &mut self,
        payload: &mut Vec<u8>,
        query: &DnsQuery,
        uid: Option<u32>,
        resolver: SocketAddr,
        via: Via,
        now: Instant,
    ) -> Taken {
        let answer = match hush_dns::parse_answer(payload) {
            Ok(answer)
                if answer.name != query.name()
                    || answer.record_type != query.record_type()
                    || answer.record_class != query.record_class() =>
            {
                return Taken::NotForQuery
            }
            Ok(answer) => answer,
            Err(_) => return Taken::Relay,
        };
        if let Some(reason) = self.cloaked(&answer.cnames, query, uid) {
            self.stats.cname_cloaked += 1;
            self.record(query, resolver, uid, Verdict::Blocked, reason, via);
            let replacement = match hush_dns::blocked_answer(query, self.config.block_mode) {
                Ok(blocked) => Some(blocked),
                Err(_) => self.servfail_answer(query),
            };
            return match replacement {
                Some(replacement) => {
                    *payload = replacement;
                    Taken::Relay
                }
                None => Taken::Drop,
            };
        }
        if self.config.strip_ech && answer.has_ech {
            // An answer that cannot be rewritten goes as it came.
            if let Ok(Some(stripped)) = hush_dns::strip_ech(payload) {
                *payload = stripped;
                self.stats.ech_stripped += 1;
            }
        }
        for (address, ttl) in &answer.addresses {
            self.names.insert(&answer.name, *address, *ttl, now);
            self.resolved.insert(uid, *address, *ttl, now);
        }
        Taken::Relay
    }

    /// Why an answer whose CNAME chain is `cnames` must not reach the app
    /// `uid`, if it must not: the first name on the chain the rules block.
    /// A question the user or an allowlist allowed outright is let be.
    fn cloaked(&self, cnames: &[String], query: &DnsQuery, uid: Option<u32>) -> Option<Reason> {
        if cnames.is_empty() {
            return None;
        }
        let (_, asked) = self.judge_name(uid, query.name());
        if asked != Reason::Unlisted {
            return None;
        }
        cnames
            .iter()
            .find_map(|name| match self.judge_name(uid, name) {
                (Verdict::Blocked, inner) => Some(Reason::Cname {
                    name: name.clone(),
                    inner: Box::new(inner),
                }),
                _ => None,
            })
    }

    /// The SERVFAIL answer to `query`; `None` (counted) if none can be built.
    pub(crate) fn servfail_answer(&mut self, query: &DnsQuery) -> Option<Vec<u8>> {
        match hush_dns::servfail(query) {
            Ok(answer) => Some(answer),
            Err(_) => {
                self.stats.dropped_unanswerable += 1;
                None
            }
        }
    }

    /// How long a forwarded query waits for the resolver.
    pub(crate) fn query_timeout(&self) -> Duration {
        self.config.query_timeout
    }

    /// Records a decision on a query the app `uid` sent to `resolver`.
    pub(crate) fn record_query(
        &self,
        query: &DnsQuery,
        resolver: SocketAddr,
        uid: Option<u32>,
        verdict: Verdict,
        reason: Reason,
        via: Via,
    ) {
        self.record(query, resolver, uid, verdict, reason, via);
    }

    /// Relays an answer from the upstream resolver. Returns the packet for the
    /// tun, or `None` for an answer no pending query is waiting for.
    pub fn on_upstream_answer(&mut self, mut payload: Vec<u8>, now: Instant) -> Option<Vec<u8>> {
        let Some(id) = hush_dns::message_id(&payload) else {
            self.stats.dropped_stray_answers += 1;
            return None;
        };
        let Some(pending) = self.pending.remove(&id) else {
            self.stats.dropped_stray_answers += 1;
            return None;
        };
        // The app's ID before the answer is read: a compression pointer may
        // point into the header, and what is judged must be what the app
        // reads.
        hush_dns::set_message_id(&mut payload, pending.app_query_id);
        let taken = self.take_answer(
            &mut payload,
            &pending.query,
            pending.uid,
            pending.resolver,
            Via::Udp,
            now,
        );
        match taken {
            Taken::Relay => {}
            Taken::NotForQuery => {
                // Not for this query: it goes on waiting.
                self.pending.insert(id, pending);
                self.stats.dropped_stray_answers += 1;
                return None;
            }
            Taken::Drop => return None,
        }
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
                pending.uid,
                Verdict::Failed,
                Reason::UpstreamTimeout,
                Via::Udp,
            );
            if let Step::Reply(packet) =
                self.servfail(&pending.query, pending.resolver, pending.app)
            {
                packets.push(packet);
            }
        }
        packets
    }

    /// The queries still waiting for the resolver, as they were sent: after a
    /// network change they are sent again through the new sockets, so the
    /// apps need not wait for their own retries.
    pub fn pending_queries(&self) -> impl Iterator<Item = &[u8]> {
        self.pending.values().map(|p| p.forwarded.as_slice())
    }

    /// When the next pending query times out, if any is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn servfail(&mut self, query: &DnsQuery, resolver: SocketAddr, app: SocketAddr) -> Step {
        match self.servfail_answer(query) {
            Some(answer) => self.reply(resolver, app, &answer),
            None => Step::Drop,
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

    fn record(
        &self,
        query: &DnsQuery,
        resolver: SocketAddr,
        uid: Option<u32>,
        verdict: Verdict,
        reason: Reason,
        via: Via,
    ) {
        let record_type = query.record_type().to_string();
        let name = query.name().to_string();
        self.record_parts(name, &record_type, resolver, uid, verdict, reason, via);
    }

    #[allow(clippy::too_many_arguments)]
    fn record_parts(
        &self,
        name: String,
        record_type: &str,
        resolver: SocketAddr,
        uid: Option<u32>,
        verdict: Verdict,
        reason: Reason,
        via: Via,
    ) {
        let detail = match via {
            Via::Udp => record_type.to_string(),
            Via::Tcp => format!("{record_type}/tcp"),
        };
        if uid.is_some() && uid == self.decisions_of {
            let note = format!(
                "hush: {} {name} {detail} ({})",
                verdict.as_str(),
                reason.code()
            );
            *self.decision.lock().unwrap_or_else(|p| p.into_inner()) = Some(note);
        }
        self.events.record(Event {
            time: SystemTime::now(),
            uid,
            host: name,
            address: resolver.ip(),
            port: resolver.port(),
            protocol: "dns",
            detail,
            verdict,
            reason,
            // Set by the sink as it records ([`crate::ScreenStamp`]).
            screen_off: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use hickory_proto::op::{Message, Query, ResponseCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
    use hush_rules::{ListKind, RuleSetBuilder};
    use std::str::FromStr;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<Event>>);
    impl EventSink for Recorded {
        fn record(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
    }

    const APP: &str = "198.18.0.1:40000";
    const RESOLVER: &str = "198.18.0.53:53";

    fn firewall(config: DnsConfig) -> (DnsFirewall, Arc<Recorded>) {
        let mut builder = RuleSetBuilder::new();
        builder.add_list("trackers", ListKind::Block, b"tracking.miui.com\n");
        let events = Arc::new(Recorded::default());
        let fw = DnsFirewall::new(config, Arc::new(builder.build()), events.clone());
        (fw, events)
    }

    fn query(name: &str, id: u16) -> Vec<u8> {
        let mut message = Message::query();
        message.metadata.id = id;
        message.add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
        let payload = message.to_vec().unwrap();
        build::udp(APP.parse().unwrap(), RESOLVER.parse().unwrap(), &payload).unwrap()
    }

    fn answer_to(forwarded: &[u8], address: &str) -> Vec<u8> {
        let request = Message::from_vec(forwarded).unwrap();
        let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
        answer.add_queries(request.queries.iter().cloned());
        answer.add_answer(Record::from_rdata(
            request.queries[0].name().clone(),
            300,
            RData::A(A(address.parse().unwrap())),
        ));
        answer.to_vec().unwrap()
    }

    fn dns_of(packet: &[u8]) -> (SocketAddr, SocketAddr, Message) {
        let view = hush_packet::parse(packet, Checksums::Verify).unwrap();
        let Transport::Udp(udp) = view.transport else {
            panic!("not UDP")
        };
        (
            SocketAddr::new(view.ip.src, udp.src_port),
            SocketAddr::new(view.ip.dst, udp.dst_port),
            Message::from_vec(udp.payload).unwrap(),
        )
    }

    #[test]
    fn a_blocked_name_is_answered_in_engine_from_the_resolver_it_was_sent_to() {
        let (mut fw, events) = firewall(DnsConfig::default());
        let Step::Reply(reply) = fw.on_tun_packet(&query("a.tracking.miui.com", 7), Instant::now())
        else {
            panic!("expected an in-engine answer")
        };
        let (from, to, message) = dns_of(&reply);
        assert_eq!(
            (from, to),
            (RESOLVER.parse().unwrap(), APP.parse().unwrap())
        );
        assert_eq!(message.metadata.id, 7);
        assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
        let events = events.0.lock().unwrap();
        assert_eq!(events[0].verdict, Verdict::Blocked);
        assert_eq!(events[0].reason, Reason::Blocklist("trackers".into()));
        assert_eq!(fw.stats().blocked, 1);
    }

    #[test]
    fn a_retried_blocked_query_is_answered_from_the_negative_cache_with_its_own_id() {
        use crate::apps::{AppMode, AppPolicy, DomainAction, Network};
        let (mut fw, events) = firewall(DnsConfig::default());
        let mut policy = AppPolicy::new();
        policy.set_mode(10_002, Network::Any, AppMode::AllowAll);
        fw.set_app_policy(Arc::new(policy));
        let now = Instant::now();
        let mut answers = Vec::new();
        for (n, id) in [7u16, 8, 0xbeef, 7].into_iter().enumerate() {
            let at = now + Duration::from_millis(100 * n as u64);
            let step = fw.on_tun_packet_from(&query("a.tracking.miui.com", id), Some(10_001), at);
            let Step::Reply(reply) = step else {
                panic!("attempt {n}: expected an in-engine answer")
            };
            let (from, to, message) = dns_of(&reply);
            assert_eq!(
                (from, to),
                (RESOLVER.parse().unwrap(), APP.parse().unwrap())
            );
            assert_eq!(message.metadata.id, id, "attempt {n}: the query's own ID");
            assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
            assert_eq!(message.queries[0].name().to_ascii(), "a.tracking.miui.com.");
            answers.push(message.to_vec().unwrap());
        }
        assert_eq!(fw.negative.len(), 1, "one answer kept for the retries");
        assert!(answers.windows(2).all(|w| w[0][2..] == w[1][2..]));
        // Another app is judged by its own rules, not answered from the cache.
        let other = fw.on_tun_packet_from(&query("a.tracking.miui.com", 9), Some(10_002), now);
        assert!(matches!(other, Step::Forward(_)), "allow-all is forwarded");
        // Another name is judged on its own.
        let Step::Reply(reply) =
            fw.on_tun_packet_from(&query("b.tracking.miui.com", 10), Some(10_001), now)
        else {
            panic!("expected an in-engine answer")
        };
        assert_eq!(
            dns_of(&reply).2.queries[0].name().to_ascii(),
            "b.tracking.miui.com."
        );
        // Every attempt is recorded and counted, as the first was.
        {
            let events = events.0.lock().unwrap();
            let blocked: Vec<_> = events
                .iter()
                .filter(|e| e.host == "a.tracking.miui.com" && e.uid == Some(10_001))
                .map(|e| (e.verdict, e.reason.code(), e.detail.as_str()))
                .collect();
            assert_eq!(
                blocked,
                vec![(Verdict::Blocked, "list:trackers".to_string(), "A"); 4]
            );
        }
        assert_eq!(fw.stats().blocked, 5);
        // The three retries of the first name came from the cache.
        assert_eq!(fw.stats().blocked_repeats, 3);
        // Past its time the answer is built again; a rule change empties
        // the cache, and the retry is judged by the new rules.
        let late = now + NEGATIVE_TTL + Duration::from_secs(1);
        let again = fw.on_tun_packet_from(&query("a.tracking.miui.com", 11), Some(10_001), late);
        assert!(matches!(again, Step::Reply(_)));
        let mut policy = AppPolicy::new();
        policy.add_domain_rule(Some(10_001), "tracking.miui.com", DomainAction::Allow);
        fw.set_app_policy(Arc::new(policy));
        assert!(fw.negative.is_empty());
        let allowed = fw.on_tun_packet_from(&query("a.tracking.miui.com", 12), Some(10_001), late);
        assert!(
            matches!(allowed, Step::Forward(_)),
            "the new rule holds at once"
        );
    }

    #[test]
    fn each_app_is_judged_by_its_own_rules_and_its_uid_is_recorded() {
        use crate::apps::{AppMode, AppPolicy, DomainAction, DomainRuleHit, Network};
        let (mut fw, events) = firewall(DnsConfig::default());
        let mut policy = AppPolicy::new();
        policy.set_mode(10_001, Network::Any, AppMode::AllowAll);
        policy.set_mode(10_002, Network::Any, AppMode::BlockAll);
        policy.add_domain_rule(Some(10_002), "f-droid.org", DomainAction::Allow);
        policy.add_domain_rule(None, "f-droid.org", DomainAction::Block);
        fw.set_app_policy(Arc::new(policy));
        let now = Instant::now();
        let tracker = query("tracking.miui.com", 1);
        let store = query("f-droid.org", 2);
        let other = query("example.org", 3);
        let forwarded = |step: Step| matches!(step, Step::Forward(_));
        // Allow-all: the lists do not apply to 10001.
        assert!(forwarded(fw.on_tun_packet_from(
            &tracker,
            Some(10_001),
            now
        )));
        // Block-all cuts 10002 off, but its own allow rule opens one host.
        assert!(!forwarded(fw.on_tun_packet_from(&other, Some(10_002), now)));
        assert!(forwarded(fw.on_tun_packet_from(&store, Some(10_002), now)));
        // Everyone else: the global rule, then the lists.
        assert!(!forwarded(fw.on_tun_packet_from(&store, Some(10_003), now)));
        assert!(!forwarded(fw.on_tun_packet_from(&tracker, None, now)));
        let events = events.0.lock().unwrap();
        let seen: Vec<_> = events
            .iter()
            .map(|e| (e.uid, e.verdict, e.reason.code()))
            .collect();
        assert_eq!(
            seen,
            [
                (Some(10_001), Verdict::Allowed, "app:allow-all".to_string()),
                (Some(10_002), Verdict::Blocked, "app:block-all".to_string()),
                (Some(10_002), Verdict::Allowed, "app-rule:allow".to_string()),
                (Some(10_003), Verdict::Blocked, "rule:block".to_string()),
                (None, Verdict::Blocked, "list:trackers".to_string()),
            ]
        );
        assert_eq!(
            events[2].reason,
            Reason::DomainRule(DomainRuleHit {
                action: DomainAction::Allow,
                per_app: true
            })
        );
    }

    #[test]
    fn an_allowed_query_is_forwarded_and_its_answer_relayed_with_the_app_id() {
        let (mut fw, _) = firewall(DnsConfig::default());
        let now = Instant::now();
        let Step::Forward(forwarded) = fw.on_tun_packet(&query("f-droid.org", 0x1234), now) else {
            panic!("expected a forward")
        };
        let answer = answer_to(&forwarded, "198.18.100.3");
        let packet = fw.on_upstream_answer(answer, now).expect("relayed");
        let (from, to, message) = dns_of(&packet);
        assert_eq!(
            (from, to),
            (RESOLVER.parse().unwrap(), APP.parse().unwrap())
        );
        assert_eq!(message.metadata.id, 0x1234);
        assert_eq!(
            fw.name_of("198.18.100.3".parse().unwrap(), now),
            Some("f-droid.org")
        );
        assert_eq!(fw.pending_len(), 0);
        // The same answer again is stray: nothing waits for it.
        let again = answer_to(&forwarded, "198.18.100.3");
        assert!(fw.on_upstream_answer(again, now).is_none());
        assert_eq!(fw.stats().dropped_stray_answers, 1);
    }

    #[test]
    fn an_answer_for_another_question_does_not_satisfy_the_query() {
        let (mut fw, _) = firewall(DnsConfig::default());
        let now = Instant::now();
        let Step::Forward(forwarded) = fw.on_tun_packet(&query("f-droid.org", 1), now) else {
            panic!()
        };
        let mut spoof = Message::from_vec(&answer_to(&forwarded, "198.18.9.9")).unwrap();
        spoof.queries[0].set_name(Name::from_str("evil.example.").unwrap());
        assert!(fw
            .on_upstream_answer(spoof.to_vec().unwrap(), now)
            .is_none());
        assert_eq!(fw.pending_len(), 1);
        // The same name for another type is another question too.
        let mut other_type = Message::from_vec(&answer_to(&forwarded, "198.18.9.9")).unwrap();
        other_type.queries[0].set_query_type(RecordType::TXT);
        assert!(fw
            .on_upstream_answer(other_type.to_vec().unwrap(), now)
            .is_none());
        assert_eq!(fw.pending_len(), 1);
        // And so is the same name and type in another class (CHAOS).
        let mut other_class = Message::from_vec(&answer_to(&forwarded, "198.18.9.9")).unwrap();
        other_class.queries[0].set_query_class(DNSClass::CH);
        assert!(fw
            .on_upstream_answer(other_class.to_vec().unwrap(), now)
            .is_none());
        assert_eq!(fw.pending_len(), 1);
        // The right answer is still taken.
        assert!(fw
            .on_upstream_answer(answer_to(&forwarded, "198.18.9.9"), now)
            .is_some());
        assert_eq!(fw.pending_len(), 0);
    }

    #[test]
    fn a_silent_resolver_gives_servfail_at_the_deadline_and_not_before() {
        let config = DnsConfig::default();
        let timeout = config.query_timeout;
        let (mut fw, events) = firewall(config);
        let now = Instant::now();
        assert!(matches!(
            fw.on_tun_packet(&query("f-droid.org", 9), now),
            Step::Forward(_)
        ));
        assert!(fw.expire(now + timeout / 2).is_empty());
        let replies = fw.expire(now + timeout);
        assert_eq!(replies.len(), 1);
        let (_, _, message) = dns_of(&replies[0]);
        assert_eq!(message.metadata.response_code, ResponseCode::ServFail);
        assert_eq!(message.metadata.id, 9);
        assert_eq!(fw.stats().servfail_timeouts, 1);
        assert_eq!(
            events.0.lock().unwrap().last().unwrap().reason,
            Reason::UpstreamTimeout
        );
    }

    #[test]
    fn a_full_pending_table_answers_servfail_instead_of_growing() {
        let (mut fw, _) = firewall(DnsConfig {
            max_pending: 2,
            ..DnsConfig::default()
        });
        let now = Instant::now();
        for id in 0..2 {
            assert!(matches!(
                fw.on_tun_packet(&query("f-droid.org", id), now),
                Step::Forward(_)
            ));
        }
        let Step::Reply(reply) = fw.on_tun_packet(&query("f-droid.org", 3), now) else {
            panic!("expected SERVFAIL")
        };
        assert_eq!(
            dns_of(&reply).2.metadata.response_code,
            ResponseCode::ServFail
        );
        assert_eq!(fw.pending_len(), 2);
        assert_eq!(fw.stats().servfail_overload, 1);
    }

    /// A query from the app `uid`, forwarded; returns the forwarded payload.
    fn forward(fw: &mut DnsFirewall, name: &str, record_type: RecordType, uid: u32) -> Vec<u8> {
        let mut message = Message::query();
        message.metadata.id = 0x0101;
        message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
        let packet = build::udp(
            APP.parse().unwrap(),
            RESOLVER.parse().unwrap(),
            &message.to_vec().unwrap(),
        )
        .unwrap();
        match fw.on_tun_packet_from(&packet, Some(uid), Instant::now()) {
            Step::Forward(forwarded) => forwarded,
            other => panic!("expected a forward of {name}, got {other:?}"),
        }
    }

    /// The resolver's answer to `forwarded`: the question name aliased
    /// through `chain`, then an A record for the last name.
    fn cname_answer(forwarded: &[u8], chain: &[&str], address: &str) -> Vec<u8> {
        use hickory_proto::rr::rdata::CNAME;
        let request = Message::from_vec(forwarded).unwrap();
        let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
        answer.add_queries(request.queries.iter().cloned());
        let mut owner = request.queries[0].name().clone();
        for target in chain {
            let target = Name::from_str(target).unwrap();
            answer.add_answer(Record::from_rdata(
                owner,
                300,
                RData::CNAME(CNAME(target.clone())),
            ));
            owner = target;
        }
        answer.add_answer(Record::from_rdata(
            owner,
            300,
            RData::A(A(address.parse().unwrap())),
        ));
        answer.to_vec().unwrap()
    }

    #[test]
    fn a_cname_to_a_blocked_name_is_answered_as_blocked_and_not_learnt() {
        let (mut fw, events) = firewall(DnsConfig::default());
        let now = Instant::now();
        let forwarded = forward(&mut fw, "shop.example", RecordType::A, 10_001);
        let answer = cname_answer(
            &forwarded,
            &["shop.example.cdn.net.", "x.tracking.miui.com."],
            "198.18.5.5",
        );
        let packet = fw.on_upstream_answer(answer, now).expect("an answer");
        let (_, _, message) = dns_of(&packet);
        assert_eq!(message.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(message.metadata.id, 0x0101);
        assert!(message.answers.is_empty());
        let address = "198.18.5.5".parse().unwrap();
        assert_eq!(fw.name_of(address, now), None);
        assert!(!fw.was_resolved_for(Some(10_001), address, now));
        let events = events.0.lock().unwrap();
        let last = events.last().unwrap();
        assert_eq!((last.verdict, last.uid), (Verdict::Blocked, Some(10_001)));
        assert_eq!(last.host, "shop.example");
        assert_eq!(
            last.reason.code(),
            "cname:x.tracking.miui.com:list:trackers"
        );
        let stats = fw.stats();
        assert_eq!((stats.cname_cloaked, stats.forwarded), (1, 1));
        assert_eq!((stats.blocked_attempts(), stats.allowed_attempts()), (1, 0));
    }

    #[test]
    fn a_cloaked_answer_follows_the_block_mode_and_an_allowed_chain_passes() {
        let (mut fw, _) = firewall(DnsConfig {
            block_mode: BlockMode::Unspecified,
            ..DnsConfig::default()
        });
        let now = Instant::now();
        let forwarded = forward(&mut fw, "shop.example", RecordType::A, 7);
        let answer = cname_answer(&forwarded, &["tracking.miui.com."], "198.18.5.5");
        let (_, _, message) = dns_of(&fw.on_upstream_answer(answer, now).unwrap());
        assert_eq!(message.metadata.response_code, ResponseCode::NoError);
        let addresses: Vec<_> = message
            .answers
            .iter()
            .map(|r| match &r.data {
                RData::A(a) => a.0.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(addresses, ["0.0.0.0"]);
        // A chain of unlisted names is the resolver's answer, learnt for the app.
        let forwarded = forward(&mut fw, "news.example", RecordType::A, 7);
        let answer = cname_answer(&forwarded, &["edge.cdn.example."], "198.18.6.6");
        let relayed = fw.on_upstream_answer(answer.clone(), now).unwrap();
        let (_, _, message) = dns_of(&relayed);
        assert_eq!(message.answers.len(), 2);
        let address = "198.18.6.6".parse().unwrap();
        assert!(fw.was_resolved_for(Some(7), address, now));
        assert!(!fw.was_resolved_for(Some(8), address, now));
        // Unknown owners count what any app was given.
        assert!(fw.was_resolved_for(None, address, now));
        assert_eq!(fw.stats().cname_cloaked, 1);
    }

    #[test]
    fn a_question_the_user_allowed_is_not_blocked_by_its_chain() {
        use crate::apps::DomainAction;
        let (mut fw, _) = firewall(DnsConfig::default());
        let mut policy = AppPolicy::new();
        policy.add_domain_rule(None, "shop.example", DomainAction::Allow);
        fw.set_app_policy(Arc::new(policy));
        let forwarded = forward(&mut fw, "shop.example", RecordType::A, 7);
        let answer = cname_answer(&forwarded, &["tracking.miui.com."], "198.18.5.5");
        let (_, _, message) = dns_of(&fw.on_upstream_answer(answer, Instant::now()).unwrap());
        assert_eq!(message.metadata.response_code, ResponseCode::NoError);
        assert_eq!(message.answers.len(), 2);
        assert_eq!(fw.stats().cname_cloaked, 0);
    }

    /// An HTTPS answer to `forwarded` whose record carries these params.
    fn https_answer(
        forwarded: &[u8],
        params: Vec<(
            hickory_proto::rr::rdata::svcb::SvcParamKey,
            hickory_proto::rr::rdata::svcb::SvcParamValue,
        )>,
    ) -> Vec<u8> {
        use hickory_proto::rr::rdata::{HTTPS, SVCB};
        let request = Message::from_vec(forwarded).unwrap();
        let mut answer = Message::response(request.metadata.id, request.metadata.op_code);
        answer.add_queries(request.queries.iter().cloned());
        answer.add_answer(Record::from_rdata(
            request.queries[0].name().clone(),
            300,
            RData::HTTPS(HTTPS(SVCB::new(1, Name::root(), params))),
        ));
        answer.to_vec().unwrap()
    }

    #[test]
    fn ech_is_stripped_by_default_and_kept_when_told() {
        use hickory_proto::rr::rdata::svcb::{Alpn, EchConfigList, SvcParamKey, SvcParamValue};
        let params = || {
            vec![
                (
                    SvcParamKey::Alpn,
                    SvcParamValue::Alpn(Alpn(vec!["h2".into()])),
                ),
                (
                    SvcParamKey::EchConfigList,
                    SvcParamValue::EchConfigList(EchConfigList(vec![1, 2, 3, 4])),
                ),
            ]
        };
        let now = Instant::now();
        let (mut fw, _) = firewall(DnsConfig::default());
        let forwarded = forward(&mut fw, "shop.example", RecordType::HTTPS, 7);
        let answer = https_answer(&forwarded, params());
        let (_, _, message) = dns_of(&fw.on_upstream_answer(answer, now).unwrap());
        let RData::HTTPS(record) = &message.answers[0].data else {
            panic!()
        };
        assert_eq!(record.0.svc_params, params()[..1]);
        assert_eq!(fw.stats().ech_stripped, 1);
        // Told to keep it, the answer goes byte for byte (bar the app's ID).
        let (mut fw, _) = firewall(DnsConfig {
            strip_ech: false,
            ..DnsConfig::default()
        });
        let forwarded = forward(&mut fw, "shop.example", RecordType::HTTPS, 7);
        let answer = https_answer(&forwarded, params());
        let packet = fw.on_upstream_answer(answer.clone(), now).unwrap();
        let view = hush_packet::parse(&packet, Checksums::Verify).unwrap();
        let Transport::Udp(udp) = view.transport else {
            panic!()
        };
        assert_eq!(udp.payload[2..], answer[2..]);
        assert_eq!(fw.stats().ech_stripped, 0);
    }

    #[test]
    fn an_exempt_resolver_is_not_blocked_by_the_encrypted_dns_list() {
        let mut builder = RuleSetBuilder::new();
        // The encrypted-DNS list last, as its docs ask: a name on another
        // list too is then named by that one, which exemptions do not touch.
        builder.add_list("mine", ListKind::Block, b"dns.google.com\n");
        builder.add_encrypted_dns_list();
        let mut exemptions = ResolverExemptions::new();
        exemptions.add_name("dns.google");
        exemptions.add_name("dns.google.com");
        let fw = DnsFirewall::new(
            DnsConfig {
                resolver_exemptions: exemptions,
                ..DnsConfig::default()
            },
            Arc::new(builder.build()),
            Arc::new(Recorded::default()),
        );
        assert_eq!(
            fw.judge_name(None, "dns.google"),
            (Verdict::Allowed, Reason::Unlisted)
        );
        assert_eq!(
            fw.judge_name(Some(3), "dns64.dns.google"),
            (Verdict::Allowed, Reason::Unlisted)
        );
        // Not exempt: blocked by the list, which names itself.
        assert_eq!(
            fw.judge_name(None, "cloudflare-dns.com"),
            (Verdict::Blocked, Reason::Blocklist("hush-doh".into()))
        );
        // Exempt from the encrypted-DNS list only: another list still blocks.
        assert_eq!(
            fw.judge_name(None, "dns.google.com"),
            (Verdict::Blocked, Reason::Blocklist("mine".into()))
        );
    }

    #[test]
    fn garbage_is_counted_by_kind_and_never_answered() {
        let (mut fw, _) = firewall(DnsConfig::default());
        let now = Instant::now();
        assert_eq!(fw.on_tun_packet(b"\x45garbage", now), Step::Drop);
        let bad_dns =
            build::udp(APP.parse().unwrap(), RESOLVER.parse().unwrap(), b"\xc0\x0c").unwrap();
        assert_eq!(fw.on_tun_packet(&bad_dns, now), Step::Drop);
        let not_dns = build::udp(
            APP.parse().unwrap(),
            "198.18.0.9:443".parse().unwrap(),
            b"x",
        )
        .unwrap();
        assert_eq!(fw.on_tun_packet(&not_dns, now), Step::Drop);
        let stats = fw.stats();
        assert_eq!(
            (
                stats.dropped_malformed_ip,
                stats.dropped_malformed_dns,
                stats.dropped_not_dns
            ),
            (1, 1, 1)
        );
        assert_eq!(stats.packets_in, 3);
    }
}
