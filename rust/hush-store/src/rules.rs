//! The user's rules, as stored: each app's mode per network, and domain
//! rules for every app or one; the apps the platform knows, with their
//! packages; plus plain settings.
//!
//! Every write validates its input first (a mode, a network, a domain name,
//! a package name), so the tables hold only what the engine can apply; the
//! schema's CHECK constraints hold the same line against other writers.
//!
//! Rules follow the app, not the UID: Android hands a removed app's UID to
//! a later install, so a rule made for an app remembers its package
//! (`*_for_package`), and [`forget_app`] (at an uninstall) and
//! [`reconcile_apps`] (against the installed apps, for removals Hush did
//! not see) drop the rules of an app that is gone before the UID's next
//! owner can inherit them. A rule made without a package (every rule from
//! before schema 5, `hush rule app UID` on Linux) stays until it is removed
//! or its UID is forgotten. The package is bookkeeping only: the policy the
//! engine applies ([`app_policy`]) is by UID, as before.

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
    /// The package of the app it was made for; `None` for a rule made
    /// without one, and always for a rule for every app.
    pub package: Option<String>,
}

/// An app's mode on a network, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRule {
    pub uid: u32,
    /// The package of the app it was made for; `None` for a rule made
    /// without one.
    pub package: Option<String>,
    pub network: Network,
    pub mode: AppMode,
}

/// An app as the platform described it ([`set_app`]): one per UID, with
/// every package sharing that UID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub uid: u32,
    pub label: String,
    pub is_system: bool,
    /// In text order; empty when none was given.
    pub packages: Vec<String>,
}

/// The setting naming the mode for flows whose owner is unknown.
pub const UNKNOWN_OWNER_MODE: &str = "unknown_owner_mode";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sets an app's mode on a network, replacing what was there (and the
/// package it was made for: this rule is made without one, see
/// [`set_app_mode_for_package`]).
pub fn set_app_mode(
    connection: &Connection,
    uid: u32,
    network: Network,
    mode: AppMode,
) -> Result<(), StoreError> {
    upsert_app_mode(connection, uid, None, network, mode)
}

/// [`set_app_mode`] for the app `package` at `uid`: the rule goes when
/// that package leaves the UID ([`forget_app`], [`reconcile_apps`]). An
/// empty or malformed package name is an error.
pub fn set_app_mode_for_package(
    connection: &Connection,
    uid: u32,
    package: &str,
    network: Network,
    mode: AppMode,
) -> Result<(), StoreError> {
    upsert_app_mode(
        connection,
        uid,
        Some(checked_package(package)?),
        network,
        mode,
    )
}

fn upsert_app_mode(
    connection: &Connection,
    uid: u32,
    package: Option<&str>,
    network: Network,
    mode: AppMode,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO app_rules (uid, network, mode, updated_ms, package)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (uid, network) DO UPDATE SET mode = excluded.mode,
             updated_ms = excluded.updated_ms, package = excluded.package",
        params![uid, network.as_str(), mode.as_str(), now_ms(), package],
    )?;
    Ok(())
}

/// The longest package name taken (Android's limit is 255 characters).
pub const MAX_PACKAGE_LEN: usize = 255;

/// `package` if it can be a package name: not empty, at most
/// [`MAX_PACKAGE_LEN`] bytes, no spaces or control characters.
fn checked_package(package: &str) -> Result<&str, StoreError> {
    if package.is_empty() {
        return Err(StoreError::InvalidArgument(
            "a package name cannot be empty".into(),
        ));
    }
    if package.len() > MAX_PACKAGE_LEN {
        return Err(StoreError::InvalidArgument(format!(
            "a package name is at most {MAX_PACKAGE_LEN} bytes, not {}",
            package.len()
        )));
    }
    if package.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(StoreError::InvalidArgument(format!(
            "{package:?} is not a package name: it holds a space or a control character"
        )));
    }
    Ok(package)
}

/// The setting holding "only addresses Hush resolved" for apps without a
/// choice of their own (and flows whose owner is unknown): `on` or `off`.
pub const RESOLVED_ONLY_DEFAULT: &str = "resolved_only_default";

/// The setting holding "strict" for apps without a choice of their own
/// (and flows whose owner is unknown): `on` or `off`.
pub const STRICT_DEFAULT: &str = "strict_default";

/// A per-app on/off option over a default for every app. Each is kept the
/// same way, in a table of its own (one row an app's own choice, with the
/// package it was made for) and an `on`/`off` setting for the default; only
/// what the engine does with it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppOption {
    /// "Only addresses Hush resolved": the app may reach only addresses
    /// that a DNS answer through Hush gave it.
    ResolvedOnly,
    /// "Strict": the app's flows whose name could not be read are refused.
    Strict,
}

impl AppOption {
    pub const ALL: [AppOption; 2] = [AppOption::ResolvedOnly, AppOption::Strict];

    /// The word the API and the app name it by: `resolvedOnly` or `strict`.
    pub fn word(self) -> &'static str {
        match self {
            AppOption::ResolvedOnly => "resolvedOnly",
            AppOption::Strict => "strict",
        }
    }

    /// The option named by [`AppOption::word`]; anything else is an error.
    pub fn from_word(word: &str) -> Result<AppOption, StoreError> {
        AppOption::ALL
            .into_iter()
            .find(|option| option.word() == word)
            .ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "unknown app option {word:?} (expected resolvedOnly or strict)"
                ))
            })
    }

    /// The table of the apps' own choices, and its on/off column.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            AppOption::ResolvedOnly => ("app_options", "resolved_only"),
            AppOption::Strict => ("app_strict", "strict"),
        }
    }

    /// The setting holding the default.
    pub fn default_key(self) -> &'static str {
        match self {
            AppOption::ResolvedOnly => RESOLVED_ONLY_DEFAULT,
            AppOption::Strict => STRICT_DEFAULT,
        }
    }
}

/// Sets `uid`'s own choice of `option`, over the default; with `package`,
/// the choice goes when that package leaves the UID ([`forget_app`],
/// [`reconcile_apps`]).
pub fn set_app_option(
    connection: &Connection,
    option: AppOption,
    uid: u32,
    package: Option<&str>,
    on: bool,
) -> Result<(), StoreError> {
    let package = package.map(checked_package).transpose()?;
    let (table, column) = option.table();
    connection.execute(
        &format!(
            "INSERT INTO {table} (uid, {column}, package, updated_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (uid) DO UPDATE SET {column} = excluded.{column},
                 package = excluded.package, updated_ms = excluded.updated_ms"
        ),
        params![uid, on, package, now_ms()],
    )?;
    Ok(())
}

/// Removes `uid`'s own choice of `option`, so the default applies;
/// returns whether it had one.
pub fn clear_app_option(
    connection: &Connection,
    option: AppOption,
    uid: u32,
) -> Result<bool, StoreError> {
    let (table, _) = option.table();
    let sql = format!("DELETE FROM {table} WHERE uid = ?1");
    Ok(connection.execute(&sql, params![uid])? > 0)
}

/// Sets `option` for apps without a choice of their own.
pub fn set_app_option_default(
    connection: &Connection,
    option: AppOption,
    on: bool,
) -> Result<(), StoreError> {
    set_setting(
        connection,
        option.default_key(),
        if on { "on" } else { "off" },
    )
}

/// The apps' own choices of an option, by UID, and the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppOptionChoices {
    pub default: bool,
    pub apps: Vec<(u32, bool)>,
}

/// What [`set_app_option`] and [`set_app_option_default`] stored for
/// `option`.
pub fn app_option(
    connection: &Connection,
    option: AppOption,
) -> Result<AppOptionChoices, StoreError> {
    let default = on_off_setting(connection, option.default_key())?;
    let (table, column) = option.table();
    let mut statement =
        connection.prepare(&format!("SELECT uid, {column} FROM {table} ORDER BY uid"))?;
    let apps = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(AppOptionChoices { default, apps })
}

/// The `settings` key of an app trusted with "allow all, not inspected",
/// followed by its UID; the value is the package it was trusted for (empty:
/// none).
///
/// Such an app is left out of the tun by the platform (Android's
/// `VpnService.Builder.addDisallowedApplication`), so its traffic costs
/// nothing and is neither filtered nor logged; should its packets reach
/// the engine anyway (while the VPN is established again), they are
/// allowed ([`app_policy`]). Not an [`AppOption`]: there is no default
/// for every app (trusting every app is no firewall), and a row per app
/// in `settings` needs no new table.
pub const TRUSTED_PREFIX: &str = "trusted_app:";

fn trusted_key(uid: u32) -> String {
    format!("{TRUSTED_PREFIX}{uid}")
}

/// Trusts `uid` ("allow all, not inspected"), or with `trusted` false stops
/// trusting it; returns whether anything changed. With `package`, the trust
/// goes when that package leaves the UID ([`forget_app`],
/// [`reconcile_apps`]).
pub fn set_trusted(
    connection: &Connection,
    uid: u32,
    package: Option<&str>,
    trusted: bool,
) -> Result<bool, StoreError> {
    let package = package.map(checked_package).transpose()?;
    let key = trusted_key(uid);
    let before = setting(connection, &key)?;
    if !trusted {
        return Ok(connection.execute("DELETE FROM settings WHERE key = ?1", params![key])? > 0);
    }
    let value = package.unwrap_or("");
    set_setting(connection, &key, value)?;
    Ok(before.as_deref() != Some(value))
}

/// The apps trusted with "allow all, not inspected", by UID, each with the
/// package it was trusted for (if any).
pub fn trusted_apps(connection: &Connection) -> Result<Vec<(u32, Option<String>)>, StoreError> {
    let mut statement = connection
        .prepare("SELECT key, value FROM settings WHERE substr(key, 1, ?1) = ?2 ORDER BY key")?;
    let rows = statement.query_map(
        params![TRUSTED_PREFIX.len() as i64, TRUSTED_PREFIX],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )?;
    let mut apps = Vec::new();
    for row in rows {
        let (key, package) = row?;
        // A key another writer mangled names no app: skipped, not an error.
        let Ok(uid) = key[TRUSTED_PREFIX.len()..].parse::<u32>() else {
            continue;
        };
        apps.push((uid, Some(package).filter(|p| !p.is_empty())));
    }
    apps.sort_unstable();
    Ok(apps)
}

/// An `on`/`off` setting; off when unset.
fn on_off_setting(connection: &Connection, key: &str) -> Result<bool, StoreError> {
    match setting(connection, key)?.as_deref() {
        None | Some("off") => Ok(false),
        Some("on") => Ok(true),
        Some(other) => Err(StoreError::InvalidRule(format!(
            "{key} is {other:?}, neither \"on\" nor \"off\""
        ))),
    }
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

/// Every app rule with the package it was made for, by uid and network.
pub fn app_rules(connection: &Connection) -> Result<Vec<AppRule>, StoreError> {
    let mut statement = connection
        .prepare("SELECT uid, network, mode, package FROM app_rules ORDER BY uid, network")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, u32>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut rules = Vec::new();
    for row in rows {
        let (uid, network, mode, package) = row?;
        rules.push(AppRule {
            uid,
            package,
            network: parse(&network)?,
            mode: parse(&mode)?,
        });
    }
    Ok(rules)
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

/// Adds or replaces a domain rule (made without a package: see
/// [`add_domain_rule_for_package`]); returns the domain as stored. The
/// domain is normalised (lower case, no trailing dot, IDN as punycode); one
/// that is not a valid name is an error naming why.
pub fn add_domain_rule(
    connection: &Connection,
    uid: Option<u32>,
    domain: &str,
    action: DomainAction,
) -> Result<String, StoreError> {
    upsert_domain_rule(connection, uid, None, domain, action)
}

/// [`add_domain_rule`] for the app `package` at `uid`: the rule goes when
/// that package leaves the UID ([`forget_app`], [`reconcile_apps`]). An
/// empty or malformed package name is an error.
pub fn add_domain_rule_for_package(
    connection: &Connection,
    uid: u32,
    package: &str,
    domain: &str,
    action: DomainAction,
) -> Result<String, StoreError> {
    let package = checked_package(package)?;
    upsert_domain_rule(connection, Some(uid), Some(package), domain, action)
}

fn upsert_domain_rule(
    connection: &Connection,
    uid: Option<u32>,
    package: Option<&str>,
    domain: &str,
    action: DomainAction,
) -> Result<String, StoreError> {
    let domain = normalize(domain)?;
    connection.execute(
        "INSERT INTO domain_rules (uid, domain, action, created_ms, package)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (ifnull(uid, -1), domain) DO UPDATE SET action = excluded.action,
             package = excluded.package",
        params![uid, domain, action.as_str(), now_ms(), package],
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
    domain_rules_where(connection, None, u32::MAX, 0)
}

/// A page of the domain rules whose domain contains `text` (ASCII case
/// ignored; `None` or empty: every rule), in the order of
/// [`domain_rules`]: at most `limit` (up to [`crate::query::MAX_PAGE`])
/// after skipping `offset`. Domains are stored as punycode, so an IDN is
/// found by its `xn--` form. See [`domain_rule_count`] for the pages.
pub fn domain_rules_matching(
    connection: &Connection,
    text: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<Vec<DomainRule>, StoreError> {
    let limit = crate::query::page_limit(limit, "rules")?;
    domain_rules_where(connection, text, limit, offset)
}

/// How many domain rules [`domain_rules_matching`] finds for `text` over
/// all its pages.
pub fn domain_rule_count(connection: &Connection, text: Option<&str>) -> Result<u64, StoreError> {
    let count: i64 = connection.query_row(
        "SELECT count(*) FROM domain_rules WHERE instr(domain, lower(?1)) > 0",
        params![text.unwrap_or("")],
        |row| row.get(0),
    )?;
    Ok(count as u64)
}

fn domain_rules_where(
    connection: &Connection,
    text: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<Vec<DomainRule>, StoreError> {
    // Domains are stored in lower case (normalised), so lowering the text
    // is enough; SQLite's lower() folds ASCII only, as the domains are.
    let mut statement = connection.prepare_cached(
        "SELECT uid, domain, action, package FROM domain_rules
         WHERE instr(domain, lower(?1)) > 0
         ORDER BY uid IS NOT NULL, uid, domain LIMIT ?2 OFFSET ?3",
    )?;
    let rows = statement.query_map(params![text.unwrap_or(""), limit, offset], |row| {
        Ok((
            row.get::<_, Option<u32>>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut rules = Vec::new();
    for row in rows {
        let (uid, domain, action, package) = row?;
        rules.push(DomainRule {
            uid,
            domain,
            action: parse(&action)?,
            package,
        });
    }
    Ok(rules)
}

/// Removes the rules of an app that is gone (its modes and its own domain
/// rules); returns how many rules went. With `package`, that package left
/// `uid` (Android's `PACKAGE_FULLY_REMOVED`): the rules made for it go,
/// and those made without a package or for another package sharing the
/// UID stay. With `None`, the UID itself is gone (no package is left on
/// it): every rule of the UID goes, whatever it was made for. Rules for
/// every app are never touched, nor the apps and packages [`set_app`]
/// records. A UID with no rules is not an error: nothing goes.
pub fn forget_app(
    connection: &Connection,
    uid: u32,
    package: Option<&str>,
) -> Result<usize, StoreError> {
    let package = package.map(checked_package).transpose()?;
    let transaction = connection.unchecked_transaction()?;
    let mut removed = 0;
    for table in ["app_rules", "domain_rules", "app_options", "app_strict"] {
        removed += transaction.execute(
            &format!("DELETE FROM {table} WHERE uid = ?1 AND (?2 IS NULL OR package = ?2)"),
            params![uid, package],
        )?;
    }
    removed += transaction.execute(
        "DELETE FROM settings WHERE key = ?1 AND (?2 IS NULL OR value = ?2)",
        params![trusted_key(uid), package],
    )?;
    transaction.commit()?;
    Ok(removed)
}

/// Drops the rules made for an app that is no longer where it was: a rule
/// whose (UID, package) is not among `installed` (the package is gone, or
/// its UID now belongs to another package). Rules made without a package,
/// and rules for every app, are kept. Returns how many rules went.
/// `installed` lists every installed (UID, package), a UID once per package
/// it holds; an empty list, or an empty or malformed package name in it, is
/// an error (and nothing is dropped): no platform has no apps, and taking
/// it at its word would drop every app's rules.
pub fn reconcile_apps(
    connection: &Connection,
    installed: &[(u32, String)],
) -> Result<usize, StoreError> {
    if installed.is_empty() {
        return Err(StoreError::InvalidArgument(
            "the list of installed apps is empty: refusing to drop every app's rules".into(),
        ));
    }
    let mut present = std::collections::HashSet::with_capacity(installed.len());
    for (uid, package) in installed {
        present.insert((*uid, checked_package(package)?));
    }
    let transaction = connection.unchecked_transaction()?;
    let mut removed = 0;
    for (table, key) in [
        ("app_rules", "network"),
        ("domain_rules", "id"),
        ("app_options", "uid"),
        ("app_strict", "uid"),
    ] {
        let stale: Vec<(u32, rusqlite::types::Value)> = {
            let mut statement = transaction.prepare(&format!(
                "SELECT uid, package, {key} FROM {table} WHERE package IS NOT NULL"
            ))?;
            let rows = statement.query_map([], |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, rusqlite::types::Value>(2)?,
                ))
            })?;
            let mut stale = Vec::new();
            for row in rows {
                let (uid, package, key) = row?;
                if !present.contains(&(uid, package.as_str())) {
                    stale.push((uid, key));
                }
            }
            stale
        };
        let mut delete = transaction.prepare(&format!(
            "DELETE FROM {table} WHERE uid = ?1 AND {key} = ?2"
        ))?;
        for (uid, key) in stale {
            removed += delete.execute(params![uid, key])?;
        }
    }
    for (uid, package) in trusted_apps(&transaction)? {
        if let Some(package) = package {
            if !present.contains(&(uid, package.as_str())) {
                removed += transaction.execute(
                    "DELETE FROM settings WHERE key = ?1",
                    params![trusted_key(uid)],
                )?;
            }
        }
    }
    transaction.commit()?;
    Ok(removed)
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

/// Every app the platform described ([`set_app`]), one per UID with all
/// the packages sharing it, by UID.
pub fn apps(connection: &Connection) -> Result<Vec<App>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT apps.uid, label, is_system, package FROM apps
         LEFT JOIN app_packages ON app_packages.uid = apps.uid
         ORDER BY apps.uid, package",
    )?;
    let mut rows = statement.query([])?;
    let mut apps: Vec<App> = Vec::new();
    while let Some(row) = rows.next()? {
        let uid: u32 = row.get(0)?;
        if apps.last().is_none_or(|app| app.uid != uid) {
            apps.push(App {
                uid,
                label: row.get(1)?,
                is_system: row.get(2)?,
                packages: Vec::new(),
            });
        }
        if let Some(package) = row.get::<_, Option<String>>(3)? {
            apps.last_mut()
                .expect("pushed above")
                .packages
                .push(package);
        }
    }
    Ok(apps)
}

/// The packages recorded for `uid` ([`set_app`]), in text order: several
/// for a shared UID, none for a UID the platform has not described.
pub fn app_packages_of(connection: &Connection, uid: u32) -> Result<Vec<String>, StoreError> {
    let mut statement = connection
        .prepare_cached("SELECT package FROM app_packages WHERE uid = ?1 ORDER BY package")?;
    let rows = statement.query_map(params![uid], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records what the platform says about an app: its label, its packages
/// (replacing those stored), and whether it is part of the system. An
/// empty or malformed package name is an error, and nothing is recorded.
pub fn set_app(
    connection: &Connection,
    uid: u32,
    label: &str,
    packages: &[&str],
    is_system: bool,
) -> Result<(), StoreError> {
    for package in packages {
        checked_package(package)?;
    }
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
/// domain rules, the mode for unknown owners, and the "resolved only" and
/// "strict" choices; read in one transaction
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
    for option in AppOption::ALL {
        let choices = app_option(&transaction, option)?;
        match option {
            AppOption::ResolvedOnly => policy.set_resolved_only_default(choices.default),
            AppOption::Strict => policy.set_strict_default(choices.default),
        }
        for (uid, on) in choices.apps {
            match option {
                AppOption::ResolvedOnly => policy.set_resolved_only(uid, on),
                AppOption::Strict => policy.set_strict(uid, on),
            }
        }
    }
    // A trusted app's packets reach the engine only while the platform
    // sets the VPN up again without it: allowed, as it asked.
    for (uid, _) in trusted_apps(&transaction)? {
        for network in [Network::Any, Network::Wifi, Network::Mobile] {
            policy.set_mode(uid, network, AppMode::AllowAll);
        }
        policy.set_resolved_only(uid, false);
        policy.set_strict(uid, false);
    }
    transaction.commit()?;
    Ok(policy)
}
