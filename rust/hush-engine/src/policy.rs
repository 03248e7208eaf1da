//! What the rules say about a name or a destination, in the engine's terms.
//!
//! The user's own choices come before the lists, most specific first (see
//! [`crate::apps`]): the app's domain rules, its mode, global domain rules;
//! then the name lists, then the address lists.

use std::net::IpAddr;

use hush_rules::{AddressRules, AddressVerdict, RuleSet, Verdict as ListVerdict};

use crate::apps::{AppMode, AppPolicy, DomainAction};
use crate::event::{Reason, Verdict};

/// What the user's rules alone say about an app's attempt, if anything.
pub(crate) fn user_choice(
    apps: &AppPolicy,
    uid: Option<u32>,
    name: Option<&str>,
) -> Option<(Verdict, Reason)> {
    let rule = name.and_then(|name| apps.domain_rule(uid, name));
    let by_rule = |hit: crate::apps::DomainRuleHit| {
        let verdict = match hit.action {
            DomainAction::Block => Verdict::Blocked,
            DomainAction::Allow => Verdict::Allowed,
        };
        (verdict, Reason::DomainRule(hit))
    };
    if let Some(hit) = rule.filter(|hit| hit.per_app) {
        return Some(by_rule(hit));
    }
    match apps.mode(uid) {
        AppMode::BlockAll => return Some((Verdict::Blocked, Reason::AppMode(AppMode::BlockAll))),
        AppMode::AllowAll => return Some((Verdict::Allowed, Reason::AppMode(AppMode::AllowAll))),
        AppMode::BlockTrackers => {}
    }
    rule.map(by_rule)
}

/// Judges `name`, asked for or sent by the app `uid`: the user's rules,
/// then the lists.
pub(crate) fn judge_for(
    apps: &AppPolicy,
    rules: &RuleSet,
    uid: Option<u32>,
    name: &str,
) -> (Verdict, Reason) {
    user_choice(apps, uid, Some(name)).unwrap_or_else(|| judge(rules, name))
}

/// Judges `name` against the lists: blocked when a blocklist holds it or a
/// parent, unless an allowlist does.
pub(crate) fn judge(rules: &RuleSet, name: &str) -> (Verdict, Reason) {
    match rules.check(name) {
        ListVerdict::Blocked(list) => (
            Verdict::Blocked,
            Reason::Blocklist(rules.list_name(list).to_string()),
        ),
        ListVerdict::Allowed(list) => (
            Verdict::Allowed,
            Reason::Allowlist(rules.list_name(list).to_string()),
        ),
        ListVerdict::Unlisted => (Verdict::Allowed, Reason::Unlisted),
    }
}

/// `"dns-name"` when the flow's address has a DNS name, else `"address"`.
pub(crate) fn name_or_address(dns_name: Option<&str>) -> &'static str {
    if dns_name.is_some() {
        "dns-name"
    } else {
        "address"
    }
}

/// What the lists say about a new flow to `address`, known before a byte of
/// it is read: its DNS name (when DNS mapped the address to one) and the
/// address itself. A blocked name counts as blocking the address; an
/// allowlisted name overrides address blocklists, as it overrides name
/// ones. Returns the verdict, its reason, and what it was decided on:
/// `"dns-name"` or `"address"`. The user's own rules ([`user_choice`]) and
/// the relay's own refusals come first; see `relay::Relay::judge_destination`.
pub(crate) fn judge_destination_by_lists(
    rules: &RuleSet,
    addresses: &AddressRules,
    address: IpAddr,
    dns_name: Option<&str>,
) -> (Verdict, Reason, &'static str) {
    let by_name = dns_name.map(|name| judge(rules, name));
    if let Some((verdict @ (Verdict::Blocked | Verdict::Allowed), reason)) = by_name.clone() {
        if verdict == Verdict::Blocked || matches!(reason, Reason::Allowlist(_)) {
            return (verdict, reason, "dns-name");
        }
    }
    match addresses.check(address) {
        AddressVerdict::Blocked(list) => (
            Verdict::Blocked,
            Reason::AddressBlocklist(addresses.list_name(list).to_string()),
            "address",
        ),
        AddressVerdict::Allowed(list) => (
            Verdict::Allowed,
            Reason::AddressAllowlist(addresses.list_name(list).to_string()),
            "address",
        ),
        AddressVerdict::Unlisted => match by_name {
            Some((verdict, reason)) => (verdict, reason, "dns-name"),
            None => (Verdict::Allowed, Reason::Unlisted, "address"),
        },
    }
}

#[cfg(test)]
mod tests {
    use hush_rules::{AddressRulesBuilder, ListKind, RuleSetBuilder};

    use super::*;

    #[test]
    fn a_destination_is_judged_on_its_name_then_its_address() {
        let mut names = RuleSetBuilder::new();
        names.add_list("trackers", ListKind::Block, b"ads.example\n");
        names.add_list("mine", ListKind::Allow, b"cdn.example\n");
        let names = names.build();
        let mut addresses = AddressRulesBuilder::new();
        addresses.add_list("ranges", ListKind::Block, b"192.0.2.0/24\n");
        let addresses = addresses.build();
        let judge = |address: &str, name: Option<&str>| {
            let (verdict, reason, detail) =
                judge_destination_by_lists(&names, &addresses, address.parse().unwrap(), name);
            (verdict, reason.code(), detail)
        };
        let listed = "192.0.2.9";
        let clean = "198.51.100.1";
        // A blocked name blocks whatever its address.
        assert_eq!(
            judge(clean, Some("x.ads.example")),
            (Verdict::Blocked, "list:trackers".into(), "dns-name")
        );
        // An allowlisted name overrides the address lists.
        assert_eq!(
            judge(listed, Some("cdn.example")),
            (Verdict::Allowed, "allow:mine".into(), "dns-name")
        );
        // An unlisted name does not save a listed address.
        assert_eq!(
            judge(listed, Some("shop.example")),
            (Verdict::Blocked, "addr-list:ranges".into(), "address")
        );
        assert_eq!(
            judge(listed, None),
            (Verdict::Blocked, "addr-list:ranges".into(), "address")
        );
        assert_eq!(
            judge(clean, Some("shop.example")),
            (Verdict::Allowed, "unlisted".into(), "dns-name")
        );
        assert_eq!(
            judge(clean, None),
            (Verdict::Allowed, "unlisted".into(), "address")
        );
    }
}
