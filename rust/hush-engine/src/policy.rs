//! What the rules say about a name, in the engine's terms.

use hush_rules::{RuleSet, Verdict as ListVerdict};

use crate::event::{Reason, Verdict};

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
