//! What each app may do: its mode on the active network, and the user's
//! domain rules, global or for one app.
//!
//! An [`AppPolicy`] is an immutable snapshot. The platform builds a new one
//! when the user changes a rule or the active network changes, and hands it
//! to the running engine through a [`PolicySender`]; the engine swaps it in
//! between packets and ends the flows the new one blocks.
//!
//! Precedence, most specific first: a domain rule for the app, then the
//! app's mode (block all, allow all), then a global domain rule, then the
//! lists. A per-app allow rule can therefore open one host for an app that
//! is otherwise cut off, and a per-app block rule closes one host for an app
//! the lists do not apply to.
//!
//! Each app may also be set to reach only the addresses DNS through Hush
//! gave it ("resolved only", with a default for every app); it is checked
//! after the rules and lists above, for new flows the lists leave unlisted.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::watch;

/// What Hush does with an app's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppMode {
    /// The lists apply (the default for every app).
    #[default]
    BlockTrackers,
    /// Nothing gets through.
    BlockAll,
    /// The lists do not apply; traffic is still logged.
    AllowAll,
}

/// Which network a mode applies on; `Any` unless set apart per network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Network {
    #[default]
    Any,
    Wifi,
    Mobile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainAction {
    Allow,
    Block,
}

/// A word that names none of a type's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord(pub String);

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnknownWord {}

macro_rules! text_enum {
    ($type:ident, $what:literal, $($variant:ident => $text:literal),+) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self { $($type::$variant => $text),+ }
            }
        }
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $type {
            type Err = UnknownWord;
            fn from_str(text: &str) -> Result<Self, UnknownWord> {
                match text {
                    $($text => Ok($type::$variant),)+
                    other => Err(UnknownWord(format!(
                        concat!("unknown ", $what, " {:?} (expected one of: {})"),
                        other,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

text_enum!(AppMode, "mode", BlockTrackers => "block-trackers", BlockAll => "block-all", AllowAll => "allow-all");
text_enum!(Network, "network", Any => "any", Wifi => "wifi", Mobile => "mobile");
text_enum!(DomainAction, "action", Allow => "allow", Block => "block");

/// A user's domain rule that decided, and whose it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainRuleHit {
    pub action: DomainAction,
    /// The rule is the app's own, not a global one.
    pub per_app: bool,
}

/// The per-app rules in force, and the network they are read for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPolicy {
    modes: HashMap<(u32, Network), AppMode>,
    /// By scope (a uid, or `None` for every app), then normalised domain.
    domains: HashMap<Option<u32>, DomainTree>,
    /// The mode for flows whose owner is unknown.
    unknown_owner: AppMode,
    active_network: Network,
    /// Apps' own "resolved only" choices, over the default.
    resolved_only: HashMap<u32, bool>,
    /// "Resolved only" for apps without a choice of their own, and for
    /// flows whose owner is unknown.
    resolved_only_default: bool,
    /// Apps' own "strict" choices, over the default.
    strict: HashMap<u32, bool>,
    /// "Strict" for apps without a choice of their own, and for flows
    /// whose owner is unknown.
    strict_default: bool,
}

impl AppPolicy {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_mode(&mut self, uid: u32, network: Network, mode: AppMode) {
        self.modes.insert((uid, network), mode);
    }

    /// Adds a rule for `domain` and every name under it. `domain` must be
    /// normalised already (lower case, no trailing dot, punycode), as the
    /// store keeps it.
    pub fn add_domain_rule(&mut self, uid: Option<u32>, domain: &str, action: DomainAction) {
        self.domains.entry(uid).or_default().insert(domain, action);
    }

    /// Sets whether the app `uid` may reach only addresses that a DNS answer
    /// through Hush gave it (within the answer's TTL and a grace period,
    /// [`crate::DnsConfig::resolved_grace`]); the local network and the
    /// upstream resolver stay reachable. Refused flows are logged as
    /// `not-resolved`. Applies to new TCP and UDP flows of an app whose
    /// mode lets the lists decide (block trackers), and to none already open.
    pub fn set_resolved_only(&mut self, uid: u32, on: bool) {
        self.resolved_only.insert(uid, on);
    }

    /// Forgets the app's own "resolved only" choice: the default applies.
    pub fn clear_resolved_only(&mut self, uid: u32) {
        self.resolved_only.remove(&uid);
    }

    /// "Resolved only" for every app without a choice of its own, and for
    /// flows whose owner is unknown (off unless set).
    pub fn set_resolved_only_default(&mut self, on: bool) {
        self.resolved_only_default = on;
    }

    pub fn resolved_only_default(&self) -> bool {
        self.resolved_only_default
    }

    /// Whether `uid` may reach only the addresses Hush resolved for it: its
    /// own choice, else the default.
    pub fn resolved_only(&self, uid: Option<u32>) -> bool {
        uid.and_then(|uid| self.resolved_only.get(&uid).copied())
            .unwrap_or(self.resolved_only_default)
    }

    /// Sets whether the app `uid` is "strict": a new TCP or QUIC flow of
    /// its that looked like TLS, HTTP or QUIC but whose name could not be
    /// read (a give-up, `unread:REASON`, or a ClientHello or request that
    /// names nothing) is reset or refused, instead of being judged by its
    /// address. Logged as blocked `strict`, with the detail
    /// `strict:REASON`. Applies to an app whose mode lets the lists decide
    /// (block trackers), and to no flow already past its first bytes.
    pub fn set_strict(&mut self, uid: u32, on: bool) {
        self.strict.insert(uid, on);
    }

    /// Forgets the app's own "strict" choice: the default applies.
    pub fn clear_strict(&mut self, uid: u32) {
        self.strict.remove(&uid);
    }

    /// "Strict" for every app without a choice of its own, and for flows
    /// whose owner is unknown (off unless set).
    pub fn set_strict_default(&mut self, on: bool) {
        self.strict_default = on;
    }

    pub fn strict_default(&self) -> bool {
        self.strict_default
    }

    /// Whether flows of `uid` whose name could not be read are refused:
    /// its own choice, else the default.
    pub fn strict(&self, uid: Option<u32>) -> bool {
        uid.and_then(|uid| self.strict.get(&uid).copied())
            .unwrap_or(self.strict_default)
    }

    pub fn set_unknown_owner_mode(&mut self, mode: AppMode) {
        self.unknown_owner = mode;
    }

    pub fn set_active_network(&mut self, network: Network) {
        self.active_network = network;
    }

    pub fn active_network(&self) -> Network {
        self.active_network
    }

    /// The mode for `uid` on the active network: its own for that network,
    /// else its own for any network, else the default.
    pub fn mode(&self, uid: Option<u32>) -> AppMode {
        let Some(uid) = uid else {
            return self.unknown_owner;
        };
        let network = self.active_network;
        (network != Network::Any)
            .then(|| self.modes.get(&(uid, network)))
            .flatten()
            .or_else(|| self.modes.get(&(uid, Network::Any)))
            .copied()
            .unwrap_or_default()
    }

    /// The domain rule for `name` (or a parent of it) that applies to `uid`:
    /// the app's own first, the nearest parent winning within each scope.
    pub fn domain_rule(&self, uid: Option<u32>, name: &str) -> Option<DomainRuleHit> {
        if self.domains.is_empty() {
            return None;
        }
        let lowered;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            lowered.as_str()
        } else {
            name
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let scopes = [(uid, true), (None, false)];
        for (scope, per_app) in scopes
            .into_iter()
            .filter(|(s, per_app)| s.is_some() || !per_app)
        {
            let Some(rules) = self.domains.get(&scope) else {
                continue;
            };
            if let Some(action) = rules.nearest(name) {
                return Some(DomainRuleHit { action, per_app });
            }
        }
        None
    }
}

/// The domain rules of one scope as a tree of labels read from the right
/// ("com", then "example", then "ads"), so that matching a name hashes each
/// of its labels once: linear in its length, however many labels a hostile
/// name has, where probing every parent name would hash it again and again.
#[derive(Debug, Clone, Default)]
struct DomainTree {
    /// `nodes[0]` is the root (no label); each node's children by label.
    nodes: Vec<DomainNode>,
    /// The rules as given, for equality: the tree's shape depends on the
    /// order they came in.
    rules: HashMap<String, DomainAction>,
}

#[derive(Debug, Clone, Default)]
struct DomainNode {
    children: HashMap<Box<str>, usize>,
    action: Option<DomainAction>,
}

impl PartialEq for DomainTree {
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules
    }
}

impl Eq for DomainTree {}

impl DomainTree {
    fn insert(&mut self, domain: &str, action: DomainAction) {
        if self.nodes.is_empty() {
            self.nodes.push(DomainNode::default());
        }
        let mut node = 0;
        for label in domain.rsplit('.') {
            node = match self.nodes[node].children.get(label) {
                Some(&child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(DomainNode::default());
                    self.nodes[node].children.insert(label.into(), child);
                    child
                }
            };
        }
        self.nodes[node].action = Some(action);
        self.rules.insert(domain.to_string(), action);
    }

    /// The action of the longest rule that is `name` or a parent of it.
    fn nearest(&self, name: &str) -> Option<DomainAction> {
        let mut node = 0;
        let mut found = None;
        if self.nodes.is_empty() {
            return None;
        }
        for label in name.rsplit('.') {
            match self.nodes[node].children.get(label) {
                Some(&child) => {
                    node = child;
                    found = self.nodes[child].action.or(found);
                }
                None => break,
            }
        }
        found
    }
}

/// Where the platform sends new policies; the engine holds the receiver.
pub type PolicySender = watch::Sender<Arc<AppPolicy>>;
/// The engine's end of [`PolicySender`].
pub type PolicyReceiver = watch::Receiver<Arc<AppPolicy>>;

/// A sender and receiver starting from `initial`.
pub fn policy_channel(initial: AppPolicy) -> (PolicySender, PolicyReceiver) {
    watch::channel(Arc::new(initial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_fall_back_from_the_network_to_any_to_the_default() {
        let mut policy = AppPolicy::new();
        policy.set_mode(10_001, Network::Any, AppMode::BlockAll);
        policy.set_mode(10_001, Network::Wifi, AppMode::AllowAll);
        policy.set_mode(10_002, Network::Mobile, AppMode::BlockAll);
        assert_eq!(policy.mode(Some(10_001)), AppMode::BlockAll);
        assert_eq!(policy.mode(Some(10_002)), AppMode::BlockTrackers);
        policy.set_active_network(Network::Wifi);
        assert_eq!(policy.mode(Some(10_001)), AppMode::AllowAll);
        assert_eq!(policy.mode(Some(10_002)), AppMode::BlockTrackers);
        policy.set_active_network(Network::Mobile);
        assert_eq!(policy.mode(Some(10_001)), AppMode::BlockAll);
        assert_eq!(policy.mode(Some(10_002)), AppMode::BlockAll);
        assert_eq!(policy.mode(Some(99)), AppMode::BlockTrackers);
        assert_eq!(policy.mode(None), AppMode::BlockTrackers);
        policy.set_unknown_owner_mode(AppMode::BlockAll);
        assert_eq!(policy.mode(None), AppMode::BlockAll);
    }

    #[test]
    fn domain_rules_match_parents_and_the_apps_own_come_first() {
        let mut policy = AppPolicy::new();
        policy.add_domain_rule(None, "tracker.example", DomainAction::Block);
        policy.add_domain_rule(Some(7), "tracker.example", DomainAction::Allow);
        policy.add_domain_rule(None, "cdn.tracker.example", DomainAction::Allow);
        let hit = |uid, name| policy.domain_rule(uid, name).map(|h| (h.action, h.per_app));
        assert_eq!(
            hit(None, "a.Tracker.example."),
            Some((DomainAction::Block, false))
        );
        assert_eq!(
            hit(Some(7), "a.tracker.example"),
            Some((DomainAction::Allow, true))
        );
        assert_eq!(
            hit(Some(8), "a.tracker.example"),
            Some((DomainAction::Block, false))
        );
        // The nearest parent wins within a scope.
        assert_eq!(
            hit(Some(8), "x.cdn.tracker.example"),
            Some((DomainAction::Allow, false))
        );
        assert_eq!(hit(Some(8), "tracker.example.org"), None);
        assert_eq!(hit(Some(8), "example"), None);
        assert_eq!(hit(Some(8), ""), None);
    }

    #[test]
    fn domain_rules_match_through_many_labels_and_compare_by_content() {
        let mut policy = AppPolicy::new();
        policy.add_domain_rule(None, "b.tracker.example", DomainAction::Block);
        policy.add_domain_rule(None, "tracker.example", DomainAction::Allow);
        // 120 one-letter labels in front of the rule.
        let deep = format!("{}b.tracker.example", "x.".repeat(120));
        let hit = policy.domain_rule(Some(1), &deep).map(|h| h.action);
        assert_eq!(hit, Some(DomainAction::Block), "the nearest parent wins");
        let beside = format!("{}c.tracker.example", "x.".repeat(120));
        let hit = policy.domain_rule(Some(1), &beside).map(|h| h.action);
        assert_eq!(hit, Some(DomainAction::Allow));
        // The same rules given in another order are the same policy.
        let mut same = AppPolicy::new();
        same.add_domain_rule(None, "tracker.example", DomainAction::Allow);
        same.add_domain_rule(None, "b.tracker.example", DomainAction::Block);
        assert_eq!(policy, same);
        same.add_domain_rule(None, "b.tracker.example", DomainAction::Allow);
        assert_ne!(policy, same, "a changed action is a changed policy");
    }

    #[test]
    fn resolved_only_is_the_apps_own_choice_else_the_default() {
        let mut policy = AppPolicy::new();
        assert!(!policy.resolved_only(Some(10_001)));
        assert!(!policy.resolved_only(None));
        policy.set_resolved_only(10_001, true);
        policy.set_resolved_only(10_002, false);
        assert!(policy.resolved_only(Some(10_001)));
        assert!(!policy.resolved_only(Some(10_003)));
        let before = policy.clone();
        policy.set_resolved_only_default(true);
        assert_ne!(policy, before, "a changed default is a changed policy");
        assert!(policy.resolved_only_default());
        assert!(policy.resolved_only(Some(10_003)));
        assert!(policy.resolved_only(None));
        // The app's own "off" wins over the default's "on".
        assert!(!policy.resolved_only(Some(10_002)));
        policy.clear_resolved_only(10_002);
        assert!(policy.resolved_only(Some(10_002)));
        let mut same = AppPolicy::new();
        same.set_resolved_only(10_001, true);
        same.set_resolved_only_default(true);
        assert_eq!(policy, same);
        same.set_resolved_only(10_001, false);
        assert_ne!(policy, same);
    }

    #[test]
    fn strict_is_the_apps_own_choice_else_the_default_and_apart_from_resolved_only() {
        let mut policy = AppPolicy::new();
        assert!(!policy.strict(Some(10_001)));
        assert!(!policy.strict(None));
        policy.set_strict(10_001, true);
        policy.set_strict(10_002, false);
        assert!(policy.strict(Some(10_001)));
        assert!(!policy.strict(Some(10_003)));
        assert!(!policy.resolved_only(Some(10_001)), "another option");
        let before = policy.clone();
        policy.set_strict_default(true);
        assert_ne!(policy, before, "a changed default is a changed policy");
        assert!(policy.strict_default());
        assert!(policy.strict(Some(10_003)));
        assert!(policy.strict(None));
        assert!(!policy.strict(Some(10_002)), "the app's own off wins");
        policy.clear_strict(10_002);
        assert!(policy.strict(Some(10_002)));
        assert!(!policy.resolved_only_default());
    }

    #[test]
    fn words_parse_and_unknown_ones_are_named() {
        assert_eq!("allow-all".parse::<AppMode>(), Ok(AppMode::AllowAll));
        assert_eq!("wifi".parse::<Network>(), Ok(Network::Wifi));
        let error = "block-everything".parse::<AppMode>().unwrap_err();
        assert!(
            error.0.contains("block-trackers, block-all, allow-all"),
            "{error}"
        );
    }
}
