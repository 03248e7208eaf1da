//! Counters of what the engine did, including everything it dropped.

use std::fmt;

/// Counts since start. Every packet that is not answered or relayed lands in
/// exactly one `dropped_*` or `servfail_*` counter, so nothing is lost silently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets_in: u64,
    pub queries: u64,
    pub blocked: u64,
    /// Of `blocked`: repeats answered from the short negative cache (an app
    /// retrying a blocked name), each without judging it again.
    pub blocked_repeats: u64,
    /// Times the platform handed over a new tun and the relay moved to it.
    pub tun_replaced: u64,
    pub forwarded: u64,
    pub answered: u64,
    pub servfail_timeouts: u64,
    pub servfail_overload: u64,
    pub dropped_malformed_ip: u64,
    pub dropped_malformed_dns: u64,
    pub dropped_not_dns: u64,
    pub dropped_fragments: u64,
    pub dropped_stray_answers: u64,
    pub dropped_unanswerable: u64,
    pub upstream_send_errors: u64,
    /// Queries the encrypted upstream (DoT, DoH) answered SERVFAIL for, by
    /// reason: it could not be reached; its certificate was not trusted;
    /// the TLS or HTTP/2 handshake failed otherwise; no answer in time (the
    /// connection taken for stalled); an HTTP error; an answer that was no
    /// DNS; the connection closed under the query; too many in flight; no
    /// trust store could be read to check certificates with.
    pub upstream_connect_failed: u64,
    pub upstream_bad_certificate: u64,
    pub upstream_handshake_failed: u64,
    pub upstream_timeouts: u64,
    pub upstream_http_errors: u64,
    pub upstream_bad_answers: u64,
    pub upstream_closed: u64,
    pub upstream_overload: u64,
    pub upstream_no_trust_store: u64,
    /// Apps' DNS-over-TCP queries sent through the encrypted upstream (each
    /// also in `dns_tcp_forwarded`), never in clear text.
    pub dns_tcp_encrypted: u64,
    pub tun_write_errors: u64,
    /// Packets the relay wrote to the tun (answers, resets, relayed data).
    pub packets_out: u64,
    pub tcp_flows: u64,
    /// New connections reset at the SYN: the name DNS gave for the address is blocked.
    pub tcp_blocked: u64,
    /// Connections reset after their first bytes named a blocked host (SNI, Host).
    pub tcp_blocked_by_name: u64,
    pub tcp_refused_by_server: u64,
    pub tcp_unreachable: u64,
    pub tcp_connect_timeouts: u64,
    pub tcp_refused_overload: u64,
    /// New connections reset because not even small buffers fit in the
    /// flows' memory budget ([`crate::FlowLimits::buffer_budget`]).
    pub tcp_refused_memory: u64,
    /// New connections reset because their app held as many open flows,
    /// or connects under way, as one app may.
    pub tcp_refused_app_limit: u64,
    /// Connections given small buffers: the budget, or their app's share
    /// of it, was nearly used.
    pub tcp_small_buffers: u64,
    /// Bytes of TCP buffers the open flows hold (a gauge, like `tcp_open`).
    pub flow_buffer_bytes: u64,
    /// Segments for no known connection, answered with a reset.
    pub tcp_reset_unknown: u64,
    /// SYNs that reused the ports of a flow still closing; the old flow ended.
    pub tcp_port_reuses: u64,
    /// Flows still open when the stats were taken (a gauge, not a count).
    pub tcp_open: u64,
    pub udp_open: u64,
    pub tcp_bytes_up: u64,
    pub tcp_bytes_down: u64,
    pub udp_flows: u64,
    pub udp_blocked: u64,
    pub quic_blocked: u64,
    pub udp_refused_overload: u64,
    /// New UDP flows refused because their app held as many as one app may.
    pub udp_refused_app_limit: u64,
    /// Datagrams of a flow already blocked by its QUIC SNI, refused.
    pub udp_refused_blocked: u64,
    pub udp_send_errors: u64,
    pub udp_datagrams_down: u64,
    pub udp_idle_closed: u64,
    pub icmp_echo_relayed: u64,
    /// Echo requests answered with an ICMP error: blocked, or no ICMP
    /// socket allowed.
    pub icmp_refused: u64,
    /// Server sockets opened and protected off the packet task (the
    /// platform's protector may block): new flows' (TCP, UDP, echo), UDP
    /// flows' moved to a new network, and DNS-over-TCP flows' connections
    /// to the resolver.
    pub protected_off_task: u64,
    /// New flows and queries whose owner was asked of the platform.
    pub owner_lookups: u64,
    /// Of those, answered on the packet path
    /// ([`crate::owner::OwnerLookup::owner_at_once`]).
    pub owner_lookups_inline: u64,
    /// Lookups that found no owner: judged as of an unknown app.
    pub owner_unknown: u64,
    /// New flows' packets dropped because too many owner lookups were under
    /// way (the app sends them again).
    pub owner_lookups_overflow: u64,
    /// Packets of a flow awaiting its owner past the hold limit, dropped.
    pub owner_wait_dropped: u64,
    /// Open flows ended because a rule changed while they ran.
    pub flows_cut_by_rule: u64,
    /// Network changes the platform reported.
    pub network_changes: u64,
    /// TCP flows reset because their outside socket died with a network change.
    pub tcp_reset_network_change: u64,
    /// UDP flows moved to a new outside socket after a network change.
    pub udp_flows_moved: u64,
    /// Network changes that came with another resolver for allowed queries
    /// (the network's own resolvers, followed).
    pub upstream_changes: u64,
    /// Times the engine was started again after a fault (kept by the session).
    pub engine_restarts: u64,
    /// Packets dropped while traffic was held (the engine could not run).
    pub dropped_while_holding: u64,
    /// DNS queries answered SERVFAIL while traffic was held.
    pub servfail_while_holding: u64,
    /// Connections to port 53 answered as DNS over TCP (not in `tcp_flows`).
    pub dns_tcp_connections: u64,
    /// Queries read from them; each is also in `queries`, and in `blocked`
    /// or `forwarded`, as a UDP one would be.
    pub dns_tcp_queries: u64,
    pub dns_tcp_blocked: u64,
    pub dns_tcp_forwarded: u64,
    /// Frames that were no DNS query (a bad length, a cut message,
    /// undecodable): each reset its connection.
    pub dns_tcp_malformed: u64,
    /// Queries over TCP answered SERVFAIL: no answer in time, or no
    /// connection to the resolver.
    pub dns_tcp_servfail: u64,
    /// New connections to port 853 (the app's own DNS over TLS) reset;
    /// each is also in `tcp_blocked`.
    pub encrypted_dns_tcp: u64,
    /// New UDP flows to port 853 (the app's own DNS over QUIC) refused;
    /// each is also in `udp_blocked`.
    pub encrypted_dns_udp: u64,
    /// New connections reset because no DNS answer through Hush gave the
    /// address to the app ("resolved only"); each is also in `tcp_blocked`.
    pub not_resolved_tcp: u64,
    /// New UDP flows refused for the same reason; each is also in `udp_blocked`.
    pub not_resolved_udp: u64,
    /// Allowed queries (counted in `forwarded`) whose answer's CNAME chain
    /// passed a blocked name: the app got the blocked answer instead.
    pub cname_cloaked: u64,
    /// HTTPS/SVCB answers relayed without their `ech` key.
    pub ech_stripped: u64,
    /// Flows that looked like TLS, HTTP or QUIC but whose name could not be
    /// read, by reason (see the event detail `unread:REASON`): the first
    /// bytes stopped (timeout), grew past what Hush reads (too large), the
    /// app closed early, they did not parse (malformed), the name could not
    /// be a host name (invalid name), a QUIC Initial did not decrypt, or its
    /// version is one Hush cannot read.
    pub unread_timeout: u64,
    pub unread_too_large: u64,
    pub unread_app_closed: u64,
    pub unread_malformed: u64,
    pub unread_invalid_name: u64,
    pub unread_quic_undecryptable: u64,
    pub unread_quic_version: u64,
    /// Connections of a "strict" app reset, and QUIC flows of one refused,
    /// because their name could not be read (each is also in its
    /// `unread_*` counter when inspection gave up, rather than finding a
    /// ClientHello or request that names nothing).
    pub strict_tcp_reset: u64,
    pub strict_quic_refused: u64,
}

impl Stats {
    /// Flows whose name could not be read, all reasons together.
    pub fn unread(&self) -> u64 {
        self.unread_timeout
            + self.unread_too_large
            + self.unread_app_closed
            + self.unread_malformed
            + self.unread_invalid_name
            + self.unread_quic_undecryptable
            + self.unread_quic_version
    }

    /// Queries the encrypted upstream failed, all reasons together.
    pub fn upstream_failures(&self) -> u64 {
        self.upstream_connect_failed
            + self.upstream_bad_certificate
            + self.upstream_handshake_failed
            + self.upstream_timeouts
            + self.upstream_http_errors
            + self.upstream_bad_answers
            + self.upstream_closed
            + self.upstream_overload
            + self.upstream_no_trust_store
    }

    /// Attempts stopped: DNS queries answered as blocked (in-engine, or on
    /// the CNAME chain of their answer), connections reset at the SYN or on
    /// their first bytes, UDP flows refused, QUIC flows refused by their SNI,
    /// and a strict app's flows refused for want of a name.
    pub fn blocked_attempts(&self) -> u64 {
        self.blocked
            + self.cname_cloaked
            + self.tcp_blocked
            + self.tcp_blocked_by_name
            + self.udp_blocked
            + self.quic_blocked
            + self.strict_tcp_reset
            + self.strict_quic_refused
    }

    /// Attempts let through: DNS queries forwarded (less those whose answer
    /// was blocked on its CNAME chain), and connections and UDP flows
    /// relayed (less those later blocked by the name they sent, or for
    /// want of one).
    pub fn allowed_attempts(&self) -> u64 {
        self.forwarded.saturating_sub(self.cname_cloaked)
            + (self.tcp_flows).saturating_sub(self.tcp_blocked_by_name + self.strict_tcp_reset)
            + (self.udp_flows).saturating_sub(self.quic_blocked + self.strict_quic_refused)
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "packets read from tun    {}", self.packets_in)?;
        writeln!(f, "DNS queries              {}", self.queries)?;
        writeln!(f, "  blocked in-engine      {}", self.blocked)?;
        writeln!(f, "    repeats from cache   {}", self.blocked_repeats)?;
        writeln!(f, "  forwarded upstream     {}", self.forwarded)?;
        writeln!(f, "  answers relayed        {}", self.answered)?;
        writeln!(f, "  SERVFAIL (timeout)     {}", self.servfail_timeouts)?;
        writeln!(f, "  SERVFAIL (overload)    {}", self.servfail_overload)?;
        writeln!(f, "dropped: malformed IP    {}", self.dropped_malformed_ip)?;
        writeln!(f, "dropped: malformed DNS   {}", self.dropped_malformed_dns)?;
        writeln!(f, "dropped: other protocol  {}", self.dropped_not_dns)?;
        writeln!(f, "dropped: IP fragments    {}", self.dropped_fragments)?;
        writeln!(f, "dropped: stray answers   {}", self.dropped_stray_answers)?;
        writeln!(f, "dropped: unanswerable    {}", self.dropped_unanswerable)?;
        writeln!(f, "upstream send errors     {}", self.upstream_send_errors)?;
        writeln!(f, "upstream (encrypted) SERVFAIL: connect {}, certificate {}, handshake {}, timeout {}, http {}, bad answer {}, closed {}, overload {}, no trust store {}",
            self.upstream_connect_failed, self.upstream_bad_certificate, self.upstream_handshake_failed,
            self.upstream_timeouts, self.upstream_http_errors, self.upstream_bad_answers,
            self.upstream_closed, self.upstream_overload, self.upstream_no_trust_store)?;
        writeln!(
            f,
            "DNS over TCP via the encrypted upstream {}",
            self.dns_tcp_encrypted
        )?;
        writeln!(f, "tun write errors         {}", self.tun_write_errors)?;
        writeln!(f, "tun replaced             {}", self.tun_replaced)?;
        writeln!(f, "packets written to tun   {}", self.packets_out)?;
        writeln!(f, "TCP connections          {}", self.tcp_flows)?;
        writeln!(f, "  blocked at SYN         {}", self.tcp_blocked)?;
        writeln!(f, "  blocked by SNI/Host    {}", self.tcp_blocked_by_name)?;
        writeln!(f, "  refused by server      {}", self.tcp_refused_by_server)?;
        writeln!(f, "  server unreachable     {}", self.tcp_unreachable)?;
        writeln!(f, "  connect timeouts       {}", self.tcp_connect_timeouts)?;
        writeln!(f, "  refused (overload)     {}", self.tcp_refused_overload)?;
        writeln!(f, "  refused (memory)       {}", self.tcp_refused_memory)?;
        writeln!(f, "  refused (app's limit)  {}", self.tcp_refused_app_limit)?;
        writeln!(f, "  small buffers          {}", self.tcp_small_buffers)?;
        writeln!(f, "  buffer bytes at exit   {}", self.flow_buffer_bytes)?;
        writeln!(f, "  resets to stray        {}", self.tcp_reset_unknown)?;
        writeln!(f, "  ports reused early     {}", self.tcp_port_reuses)?;
        writeln!(f, "  open at exit           {}", self.tcp_open)?;
        writeln!(f, "  bytes up               {}", self.tcp_bytes_up)?;
        writeln!(f, "  bytes down             {}", self.tcp_bytes_down)?;
        writeln!(f, "UDP flows                {}", self.udp_flows)?;
        writeln!(f, "  blocked                {}", self.udp_blocked)?;
        writeln!(f, "  QUIC blocked by SNI    {}", self.quic_blocked)?;
        writeln!(f, "  refused (overload)     {}", self.udp_refused_overload)?;
        writeln!(f, "  refused (app's limit)  {}", self.udp_refused_app_limit)?;
        writeln!(f, "  refused (blocked flow) {}", self.udp_refused_blocked)?;
        writeln!(f, "  send errors            {}", self.udp_send_errors)?;
        writeln!(f, "  datagrams down         {}", self.udp_datagrams_down)?;
        writeln!(f, "  closed idle            {}", self.udp_idle_closed)?;
        writeln!(f, "  open at exit           {}", self.udp_open)?;
        writeln!(f, "ICMP echo replies        {}", self.icmp_echo_relayed)?;
        writeln!(f, "ICMP echo refused        {}", self.icmp_refused)?;
        writeln!(f, "protected off task       {}", self.protected_off_task)?;
        writeln!(f, "owner lookups            {}", self.owner_lookups)?;
        writeln!(f, "  inline                 {}", self.owner_lookups_inline)?;
        writeln!(f, "  no owner found         {}", self.owner_unknown)?;
        writeln!(
            f,
            "  dropped (overload)     {}",
            self.owner_lookups_overflow
        )?;
        writeln!(f, "  dropped while waiting  {}", self.owner_wait_dropped)?;
        writeln!(f, "flows cut by rule change {}", self.flows_cut_by_rule)?;
        writeln!(f, "network changes          {}", self.network_changes)?;
        writeln!(
            f,
            "  TCP flows reset        {}",
            self.tcp_reset_network_change
        )?;
        writeln!(f, "  UDP flows moved        {}", self.udp_flows_moved)?;
        writeln!(f, "  resolver changed       {}", self.upstream_changes)?;
        writeln!(f, "engine restarts          {}", self.engine_restarts)?;
        writeln!(f, "dropped while held       {}", self.dropped_while_holding)?;
        writeln!(
            f,
            "SERVFAIL while held      {}",
            self.servfail_while_holding
        )?;
        writeln!(f, "DNS over TCP connections {}", self.dns_tcp_connections)?;
        writeln!(f, "  queries                {}", self.dns_tcp_queries)?;
        writeln!(f, "  blocked in-engine      {}", self.dns_tcp_blocked)?;
        writeln!(f, "  forwarded upstream     {}", self.dns_tcp_forwarded)?;
        writeln!(f, "  SERVFAIL               {}", self.dns_tcp_servfail)?;
        writeln!(f, "  malformed frames       {}", self.dns_tcp_malformed)?;
        writeln!(f, "port 853 (DoT) reset     {}", self.encrypted_dns_tcp)?;
        writeln!(f, "  UDP (DoQ) refused      {}", self.encrypted_dns_udp)?;
        writeln!(f, "not resolved: TCP reset  {}", self.not_resolved_tcp)?;
        writeln!(f, "  UDP refused            {}", self.not_resolved_udp)?;
        writeln!(f, "CNAME to blocked name    {}", self.cname_cloaked)?;
        writeln!(f, "ECH keys stripped        {}", self.ech_stripped)?;
        writeln!(
            f,
            "strict: TCP reset {}, QUIC refused {}",
            self.strict_tcp_reset, self.strict_quic_refused
        )?;
        write!(
            f,
            "names unread: timeout {}, too large {}, app closed {}, malformed {}, invalid name {}, QUIC undecryptable {}, QUIC version {}",
            self.unread_timeout,
            self.unread_too_large,
            self.unread_app_closed,
            self.unread_malformed,
            self.unread_invalid_name,
            self.unread_quic_undecryptable,
            self.unread_quic_version
        )
    }
}
