//! What the engine reports about each attempt, and where it sends it.

use std::net::IpAddr;
use std::time::SystemTime;

/// What Hush did with an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Blocked,
    Allowed,
    /// Allowed, but the resolver gave no answer in time; the app got SERVFAIL.
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Blocked => "blocked",
            Verdict::Allowed => "allowed",
            Verdict::Failed => "failed",
        }
    }
}

/// Why Hush decided as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The name, or a parent of it, is on this blocklist.
    Blocklist(String),
    /// The name, or a parent of it, is on this allowlist, which overrides blocklists.
    Allowlist(String),
    /// The address is in a range on this address blocklist.
    AddressBlocklist(String),
    /// The address is in a range on this address allowlist.
    AddressAllowlist(String),
    /// No list mentions the name.
    Unlisted,
    /// The upstream resolver did not answer within the query timeout.
    UpstreamTimeout,
    /// The server refused the connection or could not be reached.
    Unreachable,
}

impl Reason {
    /// A short machine-readable form: `list:NAME`, `allow:NAME`,
    /// `addr-list:NAME`, `addr-allow:NAME`, `unlisted`, `timeout`, `unreachable`.
    pub fn code(&self) -> String {
        match self {
            Reason::Blocklist(name) => format!("list:{name}"),
            Reason::Allowlist(name) => format!("allow:{name}"),
            Reason::AddressBlocklist(name) => format!("addr-list:{name}"),
            Reason::AddressAllowlist(name) => format!("addr-allow:{name}"),
            Reason::Unlisted => "unlisted".into(),
            Reason::UpstreamTimeout => "timeout".into(),
            Reason::Unreachable => "unreachable".into(),
        }
    }
}

/// One attempt to reach a host, as the activity log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub time: SystemTime,
    /// The app that made the attempt, once owner lookup exists (Core III).
    pub uid: Option<u32>,
    /// The name asked for or seen (DNS question, TLS SNI, HTTP Host, or the
    /// name DNS gave for the address): ASCII, no trailing dot. Empty when
    /// the flow carried no name and DNS gave none.
    pub host: String,
    /// The address the attempt went to: for DNS, the resolver the app asked.
    pub address: IpAddr,
    pub port: u16,
    pub protocol: &'static str,
    /// For DNS, the record type asked for ("A", "HTTPS"...); for flows,
    /// where the name came from ("sni", "host", "dns-name", "address").
    pub detail: String,
    pub verdict: Verdict,
    pub reason: Reason,
}

/// Receives events from the packet path. `record` must never block: an
/// implementation queues and counts what it cannot take.
pub trait EventSink: Send + Sync {
    fn record(&self, event: Event);
}

/// A sink that keeps nothing, for runs without an activity log.
pub struct DiscardEvents;

impl EventSink for DiscardEvents {
    fn record(&self, _event: Event) {}
}
