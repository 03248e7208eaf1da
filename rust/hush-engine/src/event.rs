//! What the engine reports about each attempt, and where it sends it.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crate::apps::{AppMode, DomainAction, DomainRuleHit};

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
    /// The app's mode decided (block all, or allow all).
    AppMode(AppMode),
    /// A domain rule of the user's decided: the app's own or a global one.
    DomainRule(DomainRuleHit),
    /// The address is Hush's own inside the tun (the virtual resolver),
    /// which answers DNS and nothing else.
    HushAddress,
    /// The app's own encrypted DNS: a connection or datagram to port 853
    /// (DNS over TLS, DNS over QUIC), refused unless
    /// [`crate::RelayConfig::allow_encrypted_dns`] is set. DoH endpoints are
    /// blocked by name, as `list:hush-doh`.
    EncryptedDns,
    /// The app is set to reach only addresses Hush resolved for it
    /// ([`crate::AppPolicy::set_resolved_only`]), and no DNS answer through
    /// Hush gave this one to it within the answer's TTL and the grace period.
    NotResolved,
    /// The app is "strict" ([`crate::AppPolicy::set_strict`]) and the
    /// flow's name could not be read from its first bytes; the event's
    /// detail says why (`strict:REASON`).
    Strict,
    /// An allowed name's answer passed through `name`, an alias (CNAME) the
    /// rules block for `inner`: the app got the blocked answer instead.
    Cname { name: String, inner: Box<Reason> },
}

impl Reason {
    /// Bytes the reason holds on the heap (its list or alias names).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Reason::Blocklist(list)
            | Reason::Allowlist(list)
            | Reason::AddressBlocklist(list)
            | Reason::AddressAllowlist(list) => list.len(),
            Reason::Cname { name, inner } => {
                name.len() + std::mem::size_of::<Reason>() + inner.heap_bytes()
            }
            _ => 0,
        }
    }

    /// A short machine-readable form: `list:NAME`, `allow:NAME`,
    /// `addr-list:NAME`, `addr-allow:NAME`, `unlisted`, `timeout`, `unreachable`,
    /// `app:block-all`, `app:allow-all` (the app's mode), `rule:block`,
    /// `rule:allow` (a global domain rule), `app-rule:block`, `app-rule:allow`
    /// (a domain rule of the app's own), `hush-address` (sent to Hush's own
    /// virtual resolver, not on port 53), `encrypted-dns` (the app's own DNS
    /// over TLS or QUIC, port 853), `not-resolved` (an address Hush gave the
    /// app no DNS answer for), `strict` (a strict app's flow whose name
    /// could not be read), and `cname:NAME:CODE` (the answer's CNAME
    /// chain passed NAME, which is blocked for the reason CODE, e.g.
    /// `cname:metrics.tracker.example:list:hush-default`).
    pub fn code(&self) -> String {
        match self {
            Reason::Blocklist(name) => format!("list:{name}"),
            Reason::Allowlist(name) => format!("allow:{name}"),
            Reason::AddressBlocklist(name) => format!("addr-list:{name}"),
            Reason::AddressAllowlist(name) => format!("addr-allow:{name}"),
            Reason::Unlisted => "unlisted".into(),
            Reason::UpstreamTimeout => "timeout".into(),
            Reason::Unreachable => "unreachable".into(),
            Reason::HushAddress => "hush-address".into(),
            Reason::EncryptedDns => "encrypted-dns".into(),
            Reason::NotResolved => "not-resolved".into(),
            Reason::Strict => "strict".into(),
            Reason::Cname { name, inner } => format!("cname:{name}:{}", inner.code()),
            Reason::AppMode(mode) => format!("app:{mode}"),
            Reason::DomainRule(DomainRuleHit { action, per_app }) => {
                let scope = if *per_app { "app-rule" } else { "rule" };
                let action = match action {
                    DomainAction::Block => "block",
                    DomainAction::Allow => "allow",
                };
                format!("{scope}:{action}")
            }
        }
    }
}

/// One attempt to reach a host, as the activity log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub time: SystemTime,
    /// The app that made the attempt; `None` when its owner is unknown.
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
    /// Whether the device's screen was off when the attempt was made. The
    /// engine builds events with `false`; [`ScreenStamp`], the sink a
    /// session records through, sets it from the platform's [`Screen`]
    /// as the event is recorded, which is when the attempt is made.
    pub screen_off: bool,
}

impl Event {
    /// The memory the event takes while it waits to be written, strings
    /// included: what a queue of events is bounded by.
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Event>()
            + self.host.len()
            + self.detail.len()
            + self.reason.heap_bytes()
    }
}

/// Receives events from the packet path. `record` must never block: an
/// implementation queues and counts what it cannot take.
pub trait EventSink: Send + Sync {
    fn record(&self, event: Event);
}

/// Whether the device's screen is off, as the platform last said: one flag
/// shared by whoever is told (the session) and the sink that stamps events.
/// On by default: a Linux box has no screen, and a phone's platform says
/// when it goes off (Android's `ACTION_SCREEN_OFF`).
#[derive(Debug, Clone, Default)]
pub struct Screen(Arc<AtomicBool>);

impl Screen {
    pub fn new(off: bool) -> Self {
        Screen(Arc::new(AtomicBool::new(off)))
    }

    /// The platform says the screen went off (`true`) or on.
    pub fn set_off(&self, off: bool) {
        self.0.store(off, Ordering::Relaxed);
    }

    /// A relaxed load: nothing else is ordered by it, and an event recorded
    /// as the screen changes may carry either state.
    pub fn is_off(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A sink that sets each event's [`Event::screen_off`] from [`Screen`] and
/// hands it on: on the packet path it costs one relaxed atomic load.
pub struct ScreenStamp<S: ?Sized> {
    screen: Screen,
    inner: Arc<S>,
}

impl<S: EventSink + ?Sized> ScreenStamp<S> {
    pub fn new(inner: Arc<S>, screen: Screen) -> Self {
        ScreenStamp { screen, inner }
    }
}

impl<S: EventSink + ?Sized> EventSink for ScreenStamp<S> {
    fn record(&self, mut event: Event) {
        event.screen_off = self.screen.is_off();
        self.inner.record(event);
    }
}

/// A sink that keeps nothing, for runs without an activity log.
pub struct DiscardEvents;

impl EventSink for DiscardEvents {
    fn record(&self, _event: Event) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Kept(Mutex<Vec<Event>>);
    impl EventSink for Kept {
        fn record(&self, event: Event) {
            self.0.lock().unwrap().push(event);
        }
    }

    fn attempt(screen_off: bool) -> Event {
        Event {
            time: SystemTime::now(),
            uid: Some(10_123),
            host: "t.example".into(),
            address: "198.18.0.53".parse().unwrap(),
            port: 53,
            protocol: "dns",
            detail: "A".into(),
            verdict: Verdict::Blocked,
            reason: Reason::Unlisted,
            screen_off,
        }
    }

    #[test]
    fn the_stamp_sets_the_screen_state_at_each_record_whatever_the_event_said() {
        let kept = Arc::new(Kept::default());
        let screen = Screen::default();
        let sink = ScreenStamp::new(kept.clone(), screen.clone());
        sink.record(attempt(true));
        screen.set_off(true);
        sink.record(attempt(false));
        sink.record(attempt(false));
        screen.set_off(false);
        sink.record(attempt(true));
        let off: Vec<bool> = kept
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.screen_off)
            .collect();
        assert_eq!(off, [false, true, true, false]);
        assert!(!Screen::default().is_off(), "no screen is a screen on");
        assert!(Screen::new(true).is_off());
    }

    #[test]
    fn the_new_reasons_have_their_codes() {
        assert_eq!(Reason::EncryptedDns.code(), "encrypted-dns");
        assert_eq!(Reason::NotResolved.code(), "not-resolved");
        assert_eq!(Reason::Strict.code(), "strict");
        let cloaked = Reason::Cname {
            name: "metrics.tracker.example".into(),
            inner: Box::new(Reason::Blocklist("hush-default".into())),
        };
        assert_eq!(
            cloaked.code(),
            "cname:metrics.tracker.example:list:hush-default"
        );
        let by_rule = Reason::Cname {
            name: "t.example".into(),
            inner: Box::new(Reason::DomainRule(DomainRuleHit {
                action: DomainAction::Block,
                per_app: true,
            })),
        };
        assert_eq!(by_rule.code(), "cname:t.example:app-rule:block");
    }
}
