//! Counters of what the engine did, including everything it dropped.

use std::fmt;

/// Counts since start. Every packet that is not answered or relayed lands in
/// exactly one `dropped_*` or `servfail_*` counter, so nothing is lost silently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets_in: u64,
    pub queries: u64,
    pub blocked: u64,
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
    pub tun_write_errors: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "packets read from tun    {}", self.packets_in)?;
        writeln!(f, "DNS queries              {}", self.queries)?;
        writeln!(f, "  blocked in-engine      {}", self.blocked)?;
        writeln!(f, "  forwarded upstream     {}", self.forwarded)?;
        writeln!(f, "  answers relayed        {}", self.answered)?;
        writeln!(f, "  SERVFAIL (timeout)     {}", self.servfail_timeouts)?;
        writeln!(f, "  SERVFAIL (overload)    {}", self.servfail_overload)?;
        writeln!(f, "dropped: malformed IP    {}", self.dropped_malformed_ip)?;
        writeln!(f, "dropped: malformed DNS   {}", self.dropped_malformed_dns)?;
        writeln!(f, "dropped: not DNS         {}", self.dropped_not_dns)?;
        writeln!(f, "dropped: IP fragments    {}", self.dropped_fragments)?;
        writeln!(f, "dropped: stray answers   {}", self.dropped_stray_answers)?;
        writeln!(f, "dropped: unanswerable    {}", self.dropped_unanswerable)?;
        writeln!(f, "upstream send errors     {}", self.upstream_send_errors)?;
        write!(f, "tun write errors         {}", self.tun_write_errors)
    }
}
