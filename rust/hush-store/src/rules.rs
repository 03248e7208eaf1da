//! The user's rules, as stored: each app's mode per network, and domain
//! rules for every app or one; plus plain settings.
//!
//! Every write validates its input first (a mode, a network, a domain name),
//! so the tables hold only what the engine can apply; the schema's CHECK
//! constraints hold the same line against other writers.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_engine::AppPolicy;

use rusqlite::{params, Connection, OptionalExtension};

use crate::StoreError;

pub use hush_engine::{AppMode, DomainAction, Network};

/// A domain rule: for one app (`uid`) or, with `None`, for every app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    pub uid: Option<u32>,
    pub domain: String,
    pub action: DomainAction,
}

/// The setting naming the mode for flows whose owner is unknown.
pub const UNKNOWN_OWNER_MODE: &str = "unknown_owner_mode";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sets an app's mode on a network, replacing what was there.
pub fn set_app_mode(
    connection: &Connection,
    uid: u32,
    network: Network,
    mode: AppMode,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO app_rules (uid, network, mode, updated_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (uid, network) DO UPDATE SET mode = excluded.mode,
             updated_ms = excluded.updated_ms",
        params![uid, network.as_str(), mode.as_str(), now_ms()],
    )?;
    Ok(())
}

/// Removes an app's mode on a network; returns whether there was one.
pub fn clear_app_mode(
    connection: &Connection,
    uid: u32,
    network: Network,
) -> Result<bool, StoreError> {
    let removed = connection.execute(
        "DELETE FROM app_rules WHERE uid = ?1 AND network = ?2",
        params![uid, network.as_str()],
    )?;
    Ok(removed > 0)
}

/// The mode that applies to `uid` on `network`: its own for that network,
/// else its own for any network, else the default, [`AppMode::BlockTrackers`].
pub fn app_mode(
    connection: &Connection,
    uid: u32,
    network: Network,
) -> Result<AppMode, StoreError> {
    let mode: Option<String> = connection
        .query_row(
            "SELECT mode FROM app_rules WHERE uid = ?1 AND network IN (?2, 'any')
             ORDER BY network = 'any' LIMIT 1",
            params![uid, network.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    mode.map_or(Ok(AppMode::BlockTrackers), |mode| parse(&mode))
}

/// Every app rule, by uid and network.
pub fn app_modes(connection: &Connection) -> Result<Vec<(u32, Network, AppMode)>, StoreError> {
    let mut statement =
        connection.prepare("SELECT uid, network, mode FROM app_rules ORDER BY uid, network")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, u32>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut modes = Vec::new();
    for row in rows {
        let (uid, network, mode) = row?;
        modes.push((uid, parse(&network)?, parse(&mode)?));
    }
    Ok(modes)
}

/// Adds or replaces a domain rule. The domain is normalised (lower case,
/// no trailing dot, IDN as punycode); one that is not a valid name is an
/// error naming why.
pub fn add_domain_rule(
    connection: &Connection,
    uid: Option<u32>,
    domain: &str,
    action: DomainAction,
) -> Result<String, StoreError> {
    let domain = normalize(domain)?;
    connection.execute(
        "INSERT INTO domain_rules (uid, domain, action, created_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (ifnull(uid, -1), domain) DO UPDATE SET action = excluded.action",
        params![uid, domain, action.as_str(), now_ms()],
    )?;
    Ok(domain)
}

/// Removes a domain rule; returns whether there was one.
pub fn remove_domain_rule(
    connection: &Connection,
    uid: Option<u32>,
    domain: &str,
) -> Result<bool, StoreError> {
    let domain = normalize(domain)?;
    let removed = connection.execute(
        "DELETE FROM domain_rules WHERE ifnull(uid, -1) = ifnull(?1, -1) AND domain = ?2",
        params![uid, domain],
    )?;
    Ok(removed > 0)
}

/// Every domain rule: global ones first, then by app, then by domain.
pub fn domain_rules(connection: &Connection) -> Result<Vec<DomainRule>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT uid, domain, action FROM domain_rules ORDER BY uid IS NOT NULL, uid, domain",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, Option<u32>>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut rules = Vec::new();
    for row in rows {
        let (uid, domain, action) = row?;
        rules.push(DomainRule {
            uid,
            domain,
            action: parse(&action)?,
        });
    }
    Ok(rules)
}

fn normalize(domain: &str) -> Result<String, StoreError> {
    hush_rules::normalize_domain(domain.trim())
        .map_err(|reason| StoreError::InvalidRule(format!("{domain:?}: {reason}")))
}

/// The label the platform gave each app it knows (Android's app names).
pub fn app_labels(connection: &Connection) -> Result<HashMap<u32, String>, StoreError> {
    let mut statement = connection.prepare("SELECT uid, label FROM apps WHERE label != ''")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records what the platform says about an app: its label, its packages
/// (replacing those stored), and whether it is part of the system.
pub fn set_app(
    connection: &Connection,
    uid: u32,
    label: &str,
    packages: &[&str],
    is_system: bool,
) -> Result<(), StoreError> {
    let transaction = connection.unchecked_transaction()?;
    transaction.execute(
        "INSERT INTO apps (uid, label, is_system) VALUES (?1, ?2, ?3)
         ON CONFLICT (uid) DO UPDATE SET label = excluded.label, is_system = excluded.is_system",
        params![uid, label, is_system],
    )?;
    transaction.execute("DELETE FROM app_packages WHERE uid = ?1", params![uid])?;
    for package in packages {
        transaction.execute(
            "INSERT OR IGNORE INTO app_packages (uid, package) VALUES (?1, ?2)",
            params![uid, package],
        )?;
    }
    transaction.commit()?;
    Ok(())
}

/// A blocklist as the user sees it: where it comes from, whether it is on,
/// how many entries it had when last loaded, and when that was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSource {
    pub name: String,
    /// `built-in`, a file path or a URL.
    pub origin: String,
    pub enabled: bool,
    pub entries: u64,
    pub updated_ms: Option<i64>,
}

/// Records a list and what loading it found, keeping whether the user
/// turned it off.
pub fn record_list_load(
    connection: &Connection,
    name: &str,
    origin: &str,
    entries: u64,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO list_sources (name, origin, entries, updated_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET origin = excluded.origin,
             entries = excluded.entries, updated_ms = excluded.updated_ms",
        params![name, origin, entries as i64, now_ms()],
    )?;
    Ok(())
}

/// Every list known, by name.
pub fn list_sources(connection: &Connection) -> Result<Vec<ListSource>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT name, origin, enabled, entries, updated_ms FROM list_sources ORDER BY name",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(ListSource {
            name: row.get(0)?,
            origin: row.get(1)?,
            enabled: row.get(2)?,
            entries: row.get::<_, i64>(3)? as u64,
            updated_ms: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_setting(connection: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub fn setting(connection: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(connection
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            params![key],
            |row| row.get(0),
        )
        .optional()?)
}

fn parse<T: std::str::FromStr<Err = hush_engine::apps::UnknownWord>>(
    text: &str,
) -> Result<T, StoreError> {
    text.parse()
        .map_err(|e: hush_engine::apps::UnknownWord| StoreError::InvalidRule(e.0))
}

/// Parses a word of the user's (a mode, a network, an action), naming the
/// accepted ones when it is none of them.
pub fn parse_word<T: std::str::FromStr<Err = hush_engine::apps::UnknownWord>>(
    text: &str,
) -> Result<T, StoreError> {
    parse(text)
}

/// Everything the engine needs of the stored rules: every app's modes, the
/// domain rules, and the mode for unknown owners; read in one transaction
/// so a change half-written by another process is never seen.
pub fn app_policy(connection: &mut Connection) -> Result<AppPolicy, StoreError> {
    let transaction = connection.transaction()?;
    let mut policy = AppPolicy::new();
    for (uid, network, mode) in app_modes(&transaction)? {
        policy.set_mode(uid, network, mode);
    }
    for rule in domain_rules(&transaction)? {
        policy.add_domain_rule(rule.uid, &rule.domain, rule.action);
    }
    if let Some(mode) = setting(&transaction, UNKNOWN_OWNER_MODE)? {
        policy.set_unknown_owner_mode(parse(&mode)?);
    }
    transaction.commit()?;
    Ok(policy)
}
