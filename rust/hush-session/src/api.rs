//! The session and the store as plain values and JSON: what a platform
//! bridge (the Android JNI crate) calls, so that the bridge only converts
//! Java values and every rule about the data lives here, tested on Linux.
//!
//! JSON crosses in camelCase, the way the Kotlin side names things. Input
//! is strict: an unknown field or a wrong type is an [`ApiError::Invalid`]
//! naming it, never a guess.
//!
//! Store calls open the database for the call and close it after: the UI
//! reads while a session writes (WAL lets both), and nothing is held open
//! while the app sleeps.
//!
//! Never: log names, addresses or app identities above debug level.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hush_dns::BlockMode;
use hush_engine::{AppMode, DomainAction, Network, Stats};
use hush_rules::ListKind;
use hush_store::query::{self, RetentionSettings};
use hush_store::rules::{self, AppOption};
use hush_store::{EventFilter, StoreError};
use serde::{Deserialize, Serialize};

use crate::{Health, ListFile, ListLoad, ResolverExemptions, SessionConfig, Upstream};

/// Why a call was refused or failed, by what the caller did wrong.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is malformed or names something invalid.
    #[error("{0}")]
    Invalid(String),
    /// The store failed (unreadable, full, locked...).
    #[error("{0}")]
    Store(StoreError),
    /// Writing an export failed.
    #[error("failed to write the export: {0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for ApiError {
    /// A rule or an argument the store refuses (a bad domain or package, a
    /// page over the cap) is the caller's input, not the store's failure.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::InvalidRule(why) | StoreError::InvalidArgument(why) => {
                ApiError::Invalid(why)
            }
            other => ApiError::Store(other),
        }
    }
}

impl From<query::ExportError> for ApiError {
    fn from(error: query::ExportError) -> Self {
        match error {
            query::ExportError::Store(e) => e.into(),
            query::ExportError::Io(e) => ApiError::Io(e),
        }
    }
}

fn invalid(what: impl std::fmt::Display) -> ApiError {
    ApiError::Invalid(what.to_string())
}

fn from_json<'a, T: Deserialize<'a>>(what: &str, json: &'a str) -> Result<T, ApiError> {
    serde_json::from_str(json).map_err(|e| invalid(format!("malformed {what}: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// A word of the core's vocabulary (`wifi`, `block-all`, `allow`...), as
/// the store reads the user's ([`rules::parse_word`]).
pub fn word<T: std::str::FromStr<Err = hush_engine::apps::UnknownWord>>(
    text: &str,
) -> Result<T, ApiError> {
    Ok(rules::parse_word(text)?)
}

/// A uid from a platform int: negative means "none" (every app, or no
/// owner), as Android's `Process.INVALID_UID` is -1.
pub fn optional_uid(uid: i64) -> Result<Option<u32>, ApiError> {
    if uid < 0 {
        return Ok(None);
    }
    u32::try_from(uid)
        .ok()
        .filter(|&uid| uid != u32::MAX)
        .map(Some)
        .ok_or_else(|| invalid(format!("{uid} is not an app's uid")))
}

fn some_uid(uid: i64) -> Result<u32, ApiError> {
    optional_uid(uid)?.ok_or_else(|| invalid(format!("{uid} is not an app's uid")))
}

// ---- starting a session ----

/// A session's configuration as the platform sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StartJson {
    database_path: PathBuf,
    /// `address:port`; IPv6 in brackets. Either this or `upstream`.
    #[serde(default)]
    upstream_dns: Option<String>,
    /// The upstream as a URL (`IP:PORT`, `tls://NAME[:PORT]`,
    /// `https://NAME[:PORT]/PATH`), the addresses its name is reached at,
    /// and an extra trust anchor (PEM text).
    #[serde(default)]
    upstream: Option<UpstreamJson>,
    #[serde(default)]
    mtu: Option<usize>,
    /// Segments larger than the MTU to the apps, once the kernel has shown
    /// it takes them (on unless `false`).
    #[serde(default = "yes")]
    big_segments: bool,
    #[serde(default)]
    network: Option<String>,
    #[serde(default = "yes")]
    default_list: bool,
    /// Extra block lists: files the platform downloaded.
    #[serde(default)]
    block_lists: Vec<PathBuf>,
    #[serde(default)]
    allow_lists: Vec<PathBuf>,
    /// `nxdomain` (the default) or `zero`: how a blocked name is answered.
    #[serde(default)]
    block_answer: Option<String>,
    /// Hush's own addresses inside the tun: the virtual DNS servers the
    /// platform hands the apps. Nothing sent to them leaves the device.
    #[serde(default)]
    own_addresses: Vec<String>,
    /// The built-in list of DNS-over-HTTPS endpoints.
    #[serde(default = "yes")]
    encrypted_dns_list: bool,
    /// Let apps reach DNS over TLS or QUIC (port 853).
    #[serde(default)]
    allow_encrypted_dns: bool,
    /// Remove `ech` from HTTPS/SVCB answers.
    #[serde(default = "yes")]
    strip_ech: bool,
    /// The built-in AdAway list (`hush-adaway`); off unless sent true, as
    /// in [`SessionConfig::new`].
    #[serde(default)]
    adaway_list: bool,
    /// Resolvers never refused as apps' own encrypted DNS: Android's
    /// strict Private DNS host and its addresses.
    #[serde(default)]
    exempt_resolvers: Option<ExemptJson>,
    /// Hush's own package is left out of the VPN, so its sockets bypass
    /// the tun without `protect()` ([`SessionConfig::self_excluded`]).
    #[serde(default)]
    self_excluded: bool,
    /// The screen is off as the session starts ([`SessionConfig::screen_off`]).
    #[serde(default)]
    screen_off: bool,
}

/// `{"names": [...], "addresses": [...]}`, both optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptJson {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    addresses: Vec<String>,
}

impl ExemptJson {
    fn read(&self) -> Result<ResolverExemptions, ApiError> {
        let mut exemptions = ResolverExemptions::new();
        for name in &self.names {
            exemptions
                .add_host_name(name)
                .map_err(|e| invalid(format!("exempt resolver {e}")))?;
        }
        for text in &self.addresses {
            let address = text.trim().parse().map_err(|_| {
                invalid(format!(
                    "exempt resolver address {text:?} is not an IP address"
                ))
            })?;
            exemptions.add_address(address);
        }
        Ok(exemptions)
    }
}

/// The exempt resolvers as the platform sends them while a session runs:
/// `{"names": ["dns.example"], "addresses": ["198.18.0.2"]}` (the same
/// object as the start configuration's `exemptResolvers`). An empty object
/// exempts nothing.
pub fn resolver_exemptions(json: &str) -> Result<ResolverExemptions, ApiError> {
    from_json::<ExemptJson>("exempt resolvers", json)?.read()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpstreamJson {
    url: String,
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    ca_pem: Option<String>,
}

fn upstream_of(start: &StartJson) -> Result<Upstream, ApiError> {
    match (&start.upstream_dns, &start.upstream) {
        (Some(_), Some(_)) => Err(invalid("give upstreamDns or upstream, not both")),
        (None, None) => Err(invalid("no upstream: give upstreamDns or upstream")),
        (Some(text), None) => text
            .parse::<std::net::SocketAddr>()
            .map(Upstream::Plain)
            .map_err(|_| {
                invalid(format!(
                    "upstream DNS {text:?} is not an address:port (IPv6 in brackets)"
                ))
            }),
        (None, Some(upstream)) => {
            let mut addresses = Vec::new();
            for text in &upstream.addresses {
                let address = text.parse().map_err(|_| {
                    invalid(format!("upstream address {text:?} is not an IP address"))
                })?;
                addresses.push(address);
            }
            Upstream::parse(
                &upstream.url,
                &addresses,
                upstream.ca_pem.as_deref().map(str::as_bytes),
            )
            .map_err(|e| invalid(e.to_string()))
        }
    }
}

fn yes() -> bool {
    true
}

/// Reads a session's configuration from the platform's JSON. The stored
/// rules are followed only through [`crate::Session::reload_rules`], which
/// the platform calls after it changes them.
pub fn session_config(json: &str) -> Result<SessionConfig, ApiError> {
    let start: StartJson = from_json("session configuration", json)?;
    let upstream = upstream_of(&start)?;
    if start.database_path.as_os_str().is_empty() {
        return Err(invalid("the database path is empty"));
    }
    let mut config = SessionConfig::new(upstream);
    config.database = Some(start.database_path);
    if let Some(mtu) = start.mtu {
        config.mtu = mtu;
    }
    config.big_segments = start.big_segments;
    if let Some(network) = start.network {
        config.network = word(&network)?;
    }
    config.with_default_list = start.default_list;
    let list = |kind| move |path| ListFile { path, kind };
    config.lists = (start.block_lists.into_iter().map(list(ListKind::Block)))
        .chain(start.allow_lists.into_iter().map(list(ListKind::Allow)))
        .collect();
    config.block_mode = match start.block_answer.as_deref() {
        None | Some("nxdomain") => BlockMode::NxDomain,
        Some("zero") => BlockMode::Unspecified,
        Some(other) => {
            return Err(invalid(format!(
                "block answer {other:?} is neither \"nxdomain\" nor \"zero\""
            )))
        }
    };
    config.own_addresses = start
        .own_addresses
        .iter()
        .map(|address| {
            address
                .parse()
                .map_err(|_| invalid(format!("own address {address:?} is not an IP address")))
        })
        .collect::<Result<_, _>>()?;
    config.with_encrypted_dns_list = start.encrypted_dns_list;
    config.allow_encrypted_dns = start.allow_encrypted_dns;
    config.strip_ech = start.strip_ech;
    config.with_adaway_list = start.adaway_list;
    if let Some(exempt) = &start.exempt_resolvers {
        config.resolver_exemptions = exempt.read()?;
    }
    config.self_excluded = start.self_excluded;
    config.screen_off = start.screen_off;
    config.follow_stored_rules = false;
    Ok(config)
}

/// A resolver's address as the platform names it: `IP`, `IP:PORT`, or
/// `[IPv6]:PORT`; without a port, DNS's own (53).
pub fn resolver_address(text: &str) -> Result<SocketAddr, ApiError> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    text.parse().map_err(|_| {
        invalid(format!(
            "resolver {text:?} is not an IP address or address:port (IPv6 in brackets)"
        ))
    })
}

// ---- lists ----

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListLoadJson<'a> {
    name: &'a str,
    origin: &'a str,
    entries: u64,
    duplicates: u64,
    rejected: u64,
    first_rejected: Vec<RejectedJson<'a>>,
}

#[derive(Debug, Serialize)]
struct RejectedJson<'a> {
    line: usize,
    reason: &'a str,
}

/// What loading each list found: `[{"name", "origin", "entries",
/// "duplicates", "rejected", "firstRejected": [{"line", "reason"}]}]`.
pub fn list_loads_json(loads: &[ListLoad]) -> String {
    to_json(&loads.iter().map(ListLoadJson::of).collect::<Vec<_>>())
}

impl<'a> ListLoadJson<'a> {
    fn of(load: &'a ListLoad) -> Self {
        ListLoadJson {
            name: &load.name,
            origin: &load.origin,
            entries: load.entries,
            duplicates: load.duplicates,
            rejected: load.rejected,
            first_rejected: load
                .first_rejected
                .iter()
                .map(|(line, reason)| RejectedJson {
                    line: *line,
                    reason,
                })
                .collect(),
        }
    }
}

/// The lists built into Hush, in load order: `[{"name", "title",
/// "licence", "source", "entries", "rejected"}]`, the counts the parser's
/// (each list is parsed once, the first time this is asked).
pub fn builtin_lists_json() -> String {
    #[derive(Serialize)]
    struct BuiltinJson {
        name: &'static str,
        title: &'static str,
        licence: &'static str,
        source: &'static str,
        entries: usize,
        rejected: usize,
    }
    static CATALOGUE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CATALOGUE
        .get_or_init(|| {
            to_json(
                &hush_rules::BUILTIN_LISTS
                    .iter()
                    .map(|list| {
                        let report = list.report();
                        BuiltinJson {
                            name: list.name,
                            title: list.title,
                            licence: list.licence,
                            source: list.source,
                            entries: report.entries,
                            rejected: report.rejected_count,
                        }
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .clone()
}

/// Most bytes of a list file [`check_list`] reads: beyond it, the file is
/// not a list a phone should hold in memory.
pub const MAX_LIST_BYTES: u64 = 64 << 20;

/// Reads the list file at `path` as a block or allow list (`kind`), as a
/// session would, and says what it holds (one entry of
/// [`list_loads_json`]'s form), without putting it in force: for checking a
/// download before it replaces the copy in use. A file with no entry at
/// all and lines that are not entries is refused as "not a list".
pub fn check_list(path: &Path, kind: &str) -> Result<String, ApiError> {
    let kind = match kind {
        "block" => ListKind::Block,
        "allow" => ListKind::Allow,
        other => {
            return Err(invalid(format!(
                "list kind {other:?} is neither block nor allow"
            )))
        }
    };
    let file = std::fs::File::open(path)
        .map_err(|e| invalid(format!("failed to read the list {}: {e}", path.display())))?;
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_LIST_BYTES + 1),
        &mut text,
    )
    .map_err(|e| invalid(format!("failed to read the list {}: {e}", path.display())))?;
    if text.len() as u64 > MAX_LIST_BYTES {
        return Err(invalid(format!(
            "the list {} is larger than {} MB",
            path.display(),
            MAX_LIST_BYTES >> 20
        )));
    }
    let name = crate::list_name(path);
    let mut builder = hush_rules::RuleSetBuilder::new();
    let report = builder.add_list(&name, kind, &text);
    if report.entries == 0 && report.allow_entries == 0 && report.rejected_count > 0 {
        let first = report
            .rejected
            .first()
            .map(|r| format!(" (line {}: {})", r.line, r.reason))
            .unwrap_or_default();
        return Err(invalid(format!(
            "{name} is not a list: none of its {} lines names a host{first}",
            report.lines
        )));
    }
    let load = ListLoad::of_names(&report, path.display().to_string());
    Ok(to_json(&ListLoadJson::of(&load)))
}

// ---- live counts ----

/// What the phone shows of a running session.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LiveJson {
    packets_in: u64,
    dns_queries: u64,
    blocked: u64,
    allowed: u64,
    events_dropped: u64,
    owner_unknown: u64,
    flows_cut_by_rule: u64,
}

/// A session's counts as JSON: blocked and allowed attempts of every kind,
/// and what could not be recorded.
pub fn stats_json(stats: &Stats, events_dropped: u64) -> String {
    to_json(&LiveJson {
        packets_in: stats.packets_in,
        dns_queries: stats.queries,
        blocked: stats.blocked_attempts(),
        allowed: stats.allowed_attempts(),
        events_dropped,
        owner_unknown: stats.owner_unknown,
        flows_cut_by_rule: stats.flows_cut_by_rule,
    })
}

/// How a session ended: `{"stats": (as [`stats_json`]), "error": null or why}`.
pub fn end_json(stats: &Stats, events_dropped: u64, error: Option<&str>) -> String {
    format!(
        "{{\"stats\":{},\"error\":{}}}",
        stats_json(stats, events_dropped),
        to_json(&error)
    )
}

// ---- health and stopping ----

/// A session's health as JSON: `{"filtering": {"state": "on"|"restarting"|
/// "holding"|"stopped", "reason": "..." (not for on)}, "restarts": N,
/// "problems": [{"kind": "database"|"list"|"rules"|"config", "message"}]}`.
pub fn health_json(health: &Health) -> String {
    to_json(health)
}

/// Most characters of a stop reason: a word or a short sentence, recorded
/// with the gap it starts.
pub const MAX_STOP_REASON: usize = 200;

/// Why the platform stops a session ([`crate::STOPPED_BY_OWNER`],
/// [`crate::REVOKED`], or its own short words), checked: not empty, not
/// blank, at most [`MAX_STOP_REASON`] characters, one line.
pub fn stop_reason(text: &str) -> Result<&str, ApiError> {
    let reason = text.trim();
    if reason.is_empty() {
        return Err(invalid("a stop reason is empty"));
    }
    if reason.chars().count() > MAX_STOP_REASON {
        return Err(invalid(format!(
            "a stop reason is at most {MAX_STOP_REASON} characters"
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(invalid("a stop reason is one line of text"));
    }
    Ok(reason)
}

/// The periods Hush was not filtering that end at or after `since_ms` (all
/// without it; an open one always), newest first, at most `limit`:
/// `[{"startMs", "endMs": N|null, "reason"}]`.
pub fn gaps(database: &Path, since_ms: Option<i64>, limit: u32) -> Result<String, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct GapJson<'a> {
        start_ms: i64,
        end_ms: Option<i64>,
        reason: &'a str,
    }
    let gaps = hush_store::gaps::list(&open(database)?, since_ms, limit)?;
    Ok(to_json(
        &gaps
            .iter()
            .map(|g| GapJson {
                start_ms: g.start_ms,
                end_ms: g.end_ms,
                reason: &g.reason,
            })
            .collect::<Vec<_>>(),
    ))
}

// ---- the activity log ----

fn open(database: &Path) -> Result<hush_store::Connection, ApiError> {
    Ok(hush_store::open(database)?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EventQueryJson {
    #[serde(default)]
    uid: Option<i64>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    host_contains: Option<String>,
    #[serde(default)]
    since_ms: Option<i64>,
    #[serde(default)]
    until_ms: Option<i64>,
    #[serde(default = "page")]
    limit: u32,
    #[serde(default)]
    offset: u32,
}

fn page() -> u32 {
    100
}

/// Most events one page may hold.
pub const MAX_PAGE: u32 = 1_000;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    time_ms: i64,
    uid: Option<u32>,
    host: &'a str,
    ip: &'a str,
    port: u16,
    protocol: &'a str,
    action: &'a str,
    reason: &'a str,
    /// What else the core noted: the record type of a lookup (`A`,
    /// `HTTPS/tcp`), or why a flow's name could not be read
    /// (`unread:timeout`, `strict:malformed`...).
    detail: &'a str,
    /// The attempts the row stands for: more than 1 for an app that
    /// retried a blocked attempt ([`hush_store::REPEAT_WINDOW`]), the last
    /// at `lastMs`.
    repeats: u64,
    last_ms: i64,
    /// Whether the screen was off at the attempt (each of them, for a row
    /// of repeats).
    screen_off: bool,
}

/// A page of the newest events matching the query (JSON: `uid`, `action`,
/// `hostContains`, `sinceMs`, `untilMs`, `limit`, `offset`), newest first.
pub fn recent_events(database: &Path, query_json: &str) -> Result<String, ApiError> {
    let query: EventQueryJson = from_json("event query", query_json)?;
    if query.limit > MAX_PAGE {
        return Err(invalid(format!(
            "a page holds at most {MAX_PAGE} events, not {}",
            query.limit
        )));
    }
    let action = match query.action {
        Some(action) if ["blocked", "allowed", "failed"].contains(&action.as_str()) => Some(action),
        Some(other) => {
            return Err(invalid(format!(
                "action {other:?} is not blocked, allowed or failed"
            )))
        }
        None => None,
    };
    let filter = EventFilter {
        uid: query.uid.map(some_uid).transpose()?,
        action,
        host_contains: query.host_contains.filter(|text| !text.is_empty()),
        since_ms: query.since_ms,
        until_ms: query.until_ms,
    };
    let connection = open(database)?;
    let events = hush_store::recent_events(&connection, &filter, query.limit, query.offset)?;
    Ok(to_json(
        &events
            .iter()
            .map(|e| EventJson {
                time_ms: e.time_ms,
                uid: e.uid,
                host: &e.host,
                ip: &e.ip,
                port: e.port,
                protocol: &e.protocol,
                action: &e.action,
                reason: &e.reason,
                detail: &e.detail,
                repeats: e.repeats,
                last_ms: e.last_ms,
                screen_off: e.screen_off,
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AppActivityJson<'a> {
    uid: Option<u32>,
    blocked: u64,
    allowed: u64,
    failed: u64,
    first_ms: i64,
    last_ms: i64,
    top_blocked: Vec<HostCountJson<'a>>,
}

#[derive(Debug, Serialize)]
struct HostCountJson<'a> {
    host: &'a str,
    count: u64,
}

fn time_range(since_ms: i64, until_ms: i64) -> Result<(), ApiError> {
    if since_ms > until_ms {
        return Err(invalid(format!(
            "the range starts ({since_ms}) after it ends ({until_ms})"
        )));
    }
    Ok(())
}

/// Every app's activity in `[since_ms, until_ms)`, most blocked first.
pub fn app_activity(database: &Path, since_ms: i64, until_ms: i64) -> Result<String, ApiError> {
    time_range(since_ms, until_ms)?;
    let connection = open(database)?;
    let summaries = query::app_summaries(&connection, since_ms, until_ms)?;
    Ok(to_json(
        &summaries
            .iter()
            .map(|s| AppActivityJson {
                uid: s.uid,
                blocked: s.blocked,
                allowed: s.allowed,
                failed: s.failed,
                first_ms: s.first_ms,
                last_ms: s.last_ms,
                top_blocked: s
                    .top_blocked
                    .iter()
                    .map(|(host, count)| HostCountJson {
                        host,
                        count: *count,
                    })
                    .collect(),
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScreenOffJson {
    uid: Option<u32>,
    blocked: u64,
    allowed: u64,
    failed: u64,
    first_ms: i64,
    last_ms: i64,
}

/// Every app that made attempts with the screen off in `[since_ms,
/// until_ms)` (whole hours, as [`app_activity`]), most such attempts first:
/// JSON `[{"uid", "blocked", "allowed", "failed", "firstMs", "lastMs"}]`,
/// `uid` null for an unknown owner.
pub fn screen_off_apps(database: &Path, since_ms: i64, until_ms: i64) -> Result<String, ApiError> {
    time_range(since_ms, until_ms)?;
    let connection = open(database)?;
    let apps = query::screen_off_apps(&connection, since_ms, until_ms)?;
    Ok(to_json(
        &apps
            .iter()
            .map(|a| ScreenOffJson {
                uid: a.uid,
                blocked: a.blocked,
                allowed: a.allowed,
                failed: a.failed,
                first_ms: a.first_ms,
                last_ms: a.last_ms,
            })
            .collect::<Vec<_>>(),
    ))
}

/// The most blocked hosts for one app (`uid` ≥ 0) or all (`uid` < 0).
pub fn top_blocked_hosts(
    database: &Path,
    since_ms: i64,
    until_ms: i64,
    uid: i64,
    limit: u32,
) -> Result<String, ApiError> {
    time_range(since_ms, until_ms)?;
    let uid = optional_uid(uid)?.map(Some);
    let connection = open(database)?;
    let hosts = query::top_blocked_hosts(&connection, since_ms, until_ms, uid, limit)?;
    #[derive(Serialize)]
    struct BlockedHostJson<'a> {
        host: &'a str,
        blocked: u64,
        apps: u32,
    }
    Ok(to_json(
        &hosts
            .iter()
            .map(|(host, blocked, apps)| BlockedHostJson {
                host,
                blocked: *blocked,
                apps: *apps,
            })
            .collect::<Vec<_>>(),
    ))
}

/// Counts per local day for one app (`uid` ≥ 0) or all (`uid` < 0).
pub fn daily_timeline(
    database: &Path,
    since_ms: i64,
    until_ms: i64,
    uid: i64,
    utc_offset_minutes: i32,
) -> Result<String, ApiError> {
    time_range(since_ms, until_ms)?;
    if utc_offset_minutes.abs() > 18 * 60 {
        return Err(invalid(format!(
            "a UTC offset of {utc_offset_minutes} minutes is more than 18 hours"
        )));
    }
    let uid = optional_uid(uid)?.map(Some);
    let connection = open(database)?;
    let days = query::daily_timeline(&connection, since_ms, until_ms, uid, utc_offset_minutes)?;
    #[derive(Serialize)]
    struct DayJson<'a> {
        day: &'a str,
        blocked: u64,
        allowed: u64,
        failed: u64,
    }
    Ok(to_json(
        &days
            .iter()
            .map(|d| DayJson {
                day: &d.day,
                blocked: d.blocked,
                allowed: d.allowed,
                failed: d.failed,
            })
            .collect::<Vec<_>>(),
    ))
}

/// Writes the events in `[since_ms, until_ms)` (each end optional) to `out`
/// as `csv` or `json` (JSON Lines, as `hush export`); returns how many.
pub fn export(
    database: &Path,
    format: &str,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    out: impl Write,
) -> Result<u64, ApiError> {
    let filter = EventFilter {
        since_ms,
        until_ms,
        ..EventFilter::default()
    };
    let connection = open(database)?;
    let count = match format {
        "csv" => query::export_csv(&connection, &filter, out)?,
        "json" => query::export_json(&connection, &filter, out)?,
        other => {
            return Err(invalid(format!(
                "export format {other:?} is neither csv nor json"
            )))
        }
    };
    Ok(count)
}

/// Deletes every event and aggregate (rules stay); returns the events deleted.
pub fn clear_activity(database: &Path) -> Result<u64, ApiError> {
    let connection = open(database)?;
    Ok(query::clear_activity(&connection)?.events_deleted)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RetentionJson {
    max_age_days: Option<u32>,
    max_events: Option<u64>,
}

/// The retention settings: `{"maxAgeDays": N|null, "maxEvents": N|null}`,
/// null for no limit; never set, they are the default (30 days, any
/// number of events).
pub fn retention(database: &Path) -> Result<String, ApiError> {
    let settings = query::retention_settings(&open(database)?)?;
    Ok(to_json(&RetentionJson {
        max_age_days: settings.max_age_days,
        max_events: settings.max_events,
    }))
}

/// Stores the retention settings; a negative value is no limit (stored as
/// the owner's choice, not the 30 days' default). Applied by
/// a running session within its retention period, or at its next start.
pub fn set_retention(database: &Path, max_age_days: i64, max_events: i64) -> Result<(), ApiError> {
    let limit = |value: i64, what: &str| -> Result<Option<u64>, ApiError> {
        match value {
            v if v < 0 => Ok(None),
            0 => Err(invalid(format!(
                "keeping 0 {what} would keep nothing: use clear activity"
            ))),
            v => Ok(Some(v as u64)),
        }
    };
    let max_age_days = limit(max_age_days, "days")?
        .map(|days| u32::try_from(days).map_err(|_| invalid(format!("{days} days is too long"))))
        .transpose()?;
    let settings = RetentionSettings {
        max_age_days,
        max_events: limit(max_events, "events")?,
    };
    query::set_retention_settings(&open(database)?, &settings)?;
    Ok(())
}

// ---- rules ----

#[derive(Debug, Serialize)]
struct AppOptionJson {
    default: bool,
    apps: Vec<AppOptionAppJson>,
}

#[derive(Debug, Serialize)]
struct AppOptionAppJson {
    uid: u32,
    on: bool,
}

/// A per-app option (`option`: `resolvedOnly`, "only addresses Hush
/// resolved", or `strict`, a flow whose name could not be read is refused):
/// `{"default": bool, "apps": [{"uid", "on"}]}`, the apps' own choices over
/// the default. Any other word is an error.
pub fn app_option(database: &Path, option: &str) -> Result<String, ApiError> {
    let option = AppOption::from_word(option)?;
    let stored = rules::app_option(&open(database)?, option)?;
    Ok(to_json(&AppOptionJson {
        default: stored.default,
        apps: (stored.apps.into_iter())
            .map(|(uid, on)| AppOptionAppJson { uid, on })
            .collect(),
    }))
}

/// Sets an app's own choice of `option` ([`app_option`]); `package`
/// (empty: none) is the app it was made for, so the choice goes when that
/// package leaves the UID. A running session applies it within its
/// rule-reading period.
pub fn set_app_option(
    database: &Path,
    option: &str,
    uid: i64,
    package: &str,
    on: bool,
) -> Result<(), ApiError> {
    let option = AppOption::from_word(option)?;
    let uid = some_uid(uid)?;
    let package = Some(package).filter(|p| !p.is_empty());
    rules::set_app_option(&open(database)?, option, uid, package, on)?;
    Ok(())
}

/// Removes an app's own choice of `option` (the default applies); returns
/// whether it had one.
pub fn clear_app_option(database: &Path, option: &str, uid: i64) -> Result<bool, ApiError> {
    let option = AppOption::from_word(option)?;
    let uid = some_uid(uid)?;
    Ok(rules::clear_app_option(&open(database)?, option, uid)?)
}

/// Sets `option` for apps without a choice of their own.
pub fn set_app_option_default(database: &Path, option: &str, on: bool) -> Result<(), ApiError> {
    let option = AppOption::from_word(option)?;
    rules::set_app_option_default(&open(database)?, option, on)?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct TrustedAppJson {
    uid: u32,
    /// The package it was trusted for; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<String>,
}

/// The apps trusted with "allow all, not inspected", which the platform
/// leaves out of the tun: `[{"uid", "package"}]`.
pub fn trusted_apps(database: &Path) -> Result<String, ApiError> {
    let apps = rules::trusted_apps(&open(database)?)?;
    Ok(to_json(
        &(apps.into_iter())
            .map(|(uid, package)| TrustedAppJson { uid, package })
            .collect::<Vec<_>>(),
    ))
}

/// Trusts an app with "allow all, not inspected" (`trusted`), or stops;
/// `package` (empty: none) is the app it was trusted for, so the trust goes
/// when that package leaves the UID. Returns whether anything changed: the
/// platform then sets its tun up again without (or with) the app.
pub fn set_trusted(
    database: &Path,
    uid: i64,
    package: &str,
    trusted: bool,
) -> Result<bool, ApiError> {
    let uid = some_uid(uid)?;
    let package = Some(package).filter(|p| !p.is_empty());
    Ok(rules::set_trusted(&open(database)?, uid, package, trusted)?)
}

#[derive(Debug, Serialize)]
struct AppModeJson {
    uid: u32,
    network: &'static str,
    mode: &'static str,
}

/// Every app mode set: `[{"uid", "network", "mode"}]`.
pub fn app_modes(database: &Path) -> Result<String, ApiError> {
    let modes = rules::app_modes(&open(database)?)?;
    Ok(to_json(
        &modes
            .iter()
            .map(|&(uid, network, mode)| AppModeJson {
                uid,
                network: network.as_str(),
                mode: mode.as_str(),
            })
            .collect::<Vec<_>>(),
    ))
}

pub fn set_app_mode(database: &Path, uid: i64, network: &str, mode: &str) -> Result<(), ApiError> {
    let (uid, network, mode) = (
        some_uid(uid)?,
        word::<Network>(network)?,
        word::<AppMode>(mode)?,
    );
    rules::set_app_mode(&open(database)?, uid, network, mode)?;
    Ok(())
}

pub fn clear_app_mode(database: &Path, uid: i64, network: &str) -> Result<bool, ApiError> {
    let (uid, network) = (some_uid(uid)?, word::<Network>(network)?);
    Ok(rules::clear_app_mode(&open(database)?, uid, network)?)
}

#[derive(Serialize)]
struct DomainRuleJson<'a> {
    uid: Option<u32>,
    domain: &'a str,
    action: &'static str,
    /// The package of the app it was made for (null: made without one).
    package: Option<&'a str>,
}

impl<'a> DomainRuleJson<'a> {
    fn of(rule: &'a rules::DomainRule) -> Self {
        DomainRuleJson {
            uid: rule.uid,
            domain: &rule.domain,
            action: rule.action.as_str(),
            package: rule.package.as_deref(),
        }
    }
}

/// Every domain rule: `[{"uid": N|null, "domain", "action", "package": S|null}]`.
pub fn domain_rules(database: &Path) -> Result<String, ApiError> {
    let all = rules::domain_rules(&open(database)?)?;
    Ok(to_json(
        &all.iter().map(DomainRuleJson::of).collect::<Vec<_>>(),
    ))
}

/// A page of the domain rules whose domain contains `text` (empty: every
/// rule), global ones first, then by app and domain, with how many match
/// over all pages: `{"total": N, "rules": [...]}` (each as in
/// [`domain_rules`]). At most [`query::MAX_PAGE`] a page.
pub fn domain_rules_matching(
    database: &Path,
    text: &str,
    limit: u32,
    offset: u32,
) -> Result<String, ApiError> {
    #[derive(Serialize)]
    struct PageJson<'a> {
        total: u64,
        rules: Vec<DomainRuleJson<'a>>,
    }
    let text = Some(text.trim()).filter(|t| !t.is_empty());
    let connection = open(database)?;
    let page = rules::domain_rules_matching(&connection, text, limit, offset)?;
    let total = rules::domain_rule_count(&connection, text)?;
    Ok(to_json(&PageJson {
        total,
        rules: page.iter().map(DomainRuleJson::of).collect(),
    }))
}

/// Every rule for exactly `domain` (normalised first; not its parents or
/// subdomains), for every app and for each app: what a host's actions
/// start from. `{"domain": AS_STORED, "rules": [...]}` (each as in
/// [`domain_rules`]). A `domain` that cannot be a rule's (empty, an
/// address, malformed) is [`ApiError::Invalid`] saying why.
pub fn domain_rules_for(database: &Path, domain: &str) -> Result<String, ApiError> {
    #[derive(Serialize)]
    struct ForJson<'a> {
        domain: &'a str,
        rules: Vec<DomainRuleJson<'a>>,
    }
    let domain = rule_domain(domain)?;
    let connection = open(database)?;
    // The store searches by part of a domain: page through the (few) rules
    // containing this one and keep those for exactly it.
    let mut exact = Vec::new();
    let mut offset = 0;
    loop {
        let page =
            rules::domain_rules_matching(&connection, Some(&domain), query::MAX_PAGE, offset)?;
        let n = page.len() as u32;
        exact.extend(page.into_iter().filter(|r| r.domain == domain));
        if n < query::MAX_PAGE {
            break;
        }
        offset += n;
    }
    Ok(to_json(&ForJson {
        domain: &domain,
        rules: exact.iter().map(DomainRuleJson::of).collect(),
    }))
}

/// `domain` as a rule stores it, or why it cannot be one.
fn rule_domain(domain: &str) -> Result<String, ApiError> {
    let trimmed = domain.trim();
    if trimmed.is_empty() {
        return Err(invalid("the host has no name: a domain rule needs one"));
    }
    hush_rules::normalize_domain(trimmed)
        .map_err(|reason| invalid(format!("{trimmed:?}: {reason}")))
}

/// Adds a rule for one app (`uid` ≥ 0) or every app (`uid` < 0); returns
/// the domain as stored.
pub fn add_domain_rule(
    database: &Path,
    uid: i64,
    domain: &str,
    action: &str,
) -> Result<String, ApiError> {
    let (uid, action) = (optional_uid(uid)?, word::<DomainAction>(action)?);
    Ok(rules::add_domain_rule(
        &open(database)?,
        uid,
        domain,
        action,
    )?)
}

pub fn remove_domain_rule(database: &Path, uid: i64, domain: &str) -> Result<bool, ApiError> {
    Ok(rules::remove_domain_rule(
        &open(database)?,
        optional_uid(uid)?,
        domain,
    )?)
}

/// Adds a rule for the app `package` at `uid` (≥ 0): it goes with the app
/// when the package leaves that UID. Returns the domain as stored.
pub fn add_domain_rule_for_package(
    database: &Path,
    uid: i64,
    package: &str,
    domain: &str,
    action: &str,
) -> Result<String, ApiError> {
    let (uid, action) = (some_uid(uid)?, word::<DomainAction>(action)?);
    Ok(rules::add_domain_rule_for_package(
        &open(database)?,
        uid,
        package,
        domain,
        action,
    )?)
}

/// A host one app contacted, as App detail lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppHostJson<'a> {
    host: &'a str,
    allowed: u64,
    blocked: u64,
    failed: u64,
    first_ms: i64,
    last_ms: i64,
    last_action: &'a str,
    last_reason: &'a str,
}

/// A page of the hosts one app (`uid` ≥ 0; below 0: attempts whose owner
/// was not known) contacted in `[since_ms, until_ms)` (either end open when
/// `None`), counted exactly from the aggregates, most recent first, with
/// how many there are over all pages: `{"total": N, "hosts": [{"host",
/// "allowed", "blocked", "failed", "firstMs", "lastMs", "lastAction",
/// "lastReason"}]}`. At most [`query::MAX_PAGE`] a page.
pub fn app_hosts(
    database: &Path,
    uid: i64,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    limit: u32,
    offset: u32,
) -> Result<String, ApiError> {
    #[derive(Serialize)]
    struct PageJson<'a> {
        total: u64,
        hosts: Vec<AppHostJson<'a>>,
    }
    if let (Some(since), Some(until)) = (since_ms, until_ms) {
        time_range(since, until)?;
    }
    let uid = optional_uid(uid)?;
    let connection = open(database)?;
    let hosts = query::app_hosts(&connection, uid, since_ms, until_ms, limit, offset)?;
    let total = query::app_host_count(&connection, uid, since_ms, until_ms)?;
    Ok(to_json(&PageJson {
        total,
        hosts: hosts
            .iter()
            .map(|h| AppHostJson {
                host: &h.host,
                allowed: h.allowed,
                blocked: h.blocked,
                failed: h.failed,
                first_ms: h.first_ms,
                last_ms: h.last_ms,
                last_action: &h.last_action,
                last_reason: &h.last_reason,
            })
            .collect(),
    }))
}

/// The lists loaded: `[{"name", "origin", "enabled", "entries", "updatedMs"}]`.
pub fn list_sources(database: &Path) -> Result<String, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ListSourceJson<'a> {
        name: &'a str,
        origin: &'a str,
        enabled: bool,
        entries: u64,
        updated_ms: Option<i64>,
    }
    let sources = rules::list_sources(&open(database)?)?;
    Ok(to_json(
        &sources
            .iter()
            .map(|s| ListSourceJson {
                name: &s.name,
                origin: &s.origin,
                enabled: s.enabled,
                entries: s.entries,
                updated_ms: s.updated_ms,
            })
            .collect::<Vec<_>>(),
    ))
}

/// Test builds only (feature `fault-injection`, the JVM tests' host library):
/// writes `events_json` (`[{"timeMs", "uid": N|null, "host", "action":
/// "blocked"|"allowed"|"failed", "list": NAME|null, "screenOff": bool}]`,
/// `list` naming the block list a blocked event is on (otherwise it is
/// unlisted), `screenOff` false when absent) to the
/// store as a session would, so the app's screens can be tested on a real
/// database without traffic. Returns how many were written.
#[cfg(feature = "fault-injection")]
pub fn record_events_for_test(database: &Path, events_json: &str) -> Result<u64, ApiError> {
    use hush_engine::{Event, EventSink, Reason, Verdict};
    use std::time::{Duration, UNIX_EPOCH};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct EventJson {
        time_ms: u64,
        uid: Option<u32>,
        host: String,
        action: String,
        #[serde(default)]
        list: Option<String>,
        #[serde(default)]
        screen_off: bool,
    }
    let events: Vec<EventJson> = from_json("events", events_json)?;
    let writer = hush_store::EventWriter::start(open(database)?, events.len().max(1))?;
    for e in &events {
        let verdict = match e.action.as_str() {
            "blocked" => Verdict::Blocked,
            "allowed" => Verdict::Allowed,
            "failed" => Verdict::Failed,
            other => return Err(invalid(format!("action {other:?}"))),
        };
        let reason = match (&verdict, &e.list) {
            (Verdict::Blocked, Some(list)) => Reason::Blocklist(list.clone()),
            (Verdict::Failed, _) => Reason::Unreachable,
            _ => Reason::Unlisted,
        };
        writer.record(Event {
            time: UNIX_EPOCH + Duration::from_millis(e.time_ms),
            uid: e.uid,
            host: e.host.clone(),
            address: "198.18.0.53".parse().expect("an address"),
            port: 53,
            protocol: "dns",
            detail: "A".into(),
            verdict,
            reason,
            screen_off: e.screen_off,
        });
    }
    writer.finish()?;
    Ok(events.len() as u64)
}

// ---- apps as the platform reports them (installs, removals) ----

/// Sets the mode of the app `package` at `uid` (≥ 0) on `network`: the
/// rule goes when that package leaves the UID ([`forget_app`],
/// [`reconcile_apps`]), so a later owner of the UID never inherits it.
pub fn set_app_mode_for_package(
    database: &Path,
    uid: i64,
    package: &str,
    network: &str,
    mode: &str,
) -> Result<(), ApiError> {
    let (uid, network, mode) = (
        some_uid(uid)?,
        word::<Network>(network)?,
        word::<AppMode>(mode)?,
    );
    rules::set_app_mode_for_package(&open(database)?, uid, package, network, mode)?;
    Ok(())
}

/// An app left `uid` (≥ 0): with `package`, the rules made for that
/// package go (others sharing the UID keep theirs); with `None`, no package
/// is left on the UID and every rule of the UID goes. Returns how many
/// rules went.
pub fn forget_app(database: &Path, uid: i64, package: Option<&str>) -> Result<u64, ApiError> {
    let uid = some_uid(uid)?;
    Ok(rules::forget_app(&open(database)?, uid, package)? as u64)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InstalledJson {
    uid: i64,
    package: String,
}

/// Drops the rules made for apps no longer where they were, against
/// `installed_json`, every installed app: `[{"uid", "package"}]`, a UID
/// once per package. An empty list is refused (nothing is dropped): a
/// platform that reports no apps is not to be believed. Returns how many
/// rules went.
pub fn reconcile_apps(database: &Path, installed_json: &str) -> Result<u64, ApiError> {
    let installed: Vec<InstalledJson> = from_json("installed apps", installed_json)?;
    let installed = installed
        .into_iter()
        .map(|app| Ok((some_uid(app.uid)?, app.package)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(rules::reconcile_apps(&open(database)?, &installed)? as u64)
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppJson {
    uid: i64,
    label: String,
    packages: Vec<String>,
    system: bool,
}

/// Records what the platform says about apps, `[{"uid", "label",
/// "packages": [...], "system"}]`, one entry per UID (its packages replace
/// those stored). The input is checked whole first (JSON, UIDs); each app
/// is then its own transaction, so a package the store refuses stops there
/// with the error, the apps before it recorded (this table only names
/// apps; no rule depends on it). Returns how many were recorded.
pub fn set_apps(database: &Path, apps_json: &str) -> Result<u64, ApiError> {
    let apps: Vec<AppJson> = from_json("apps", apps_json)?;
    let mut uids = Vec::with_capacity(apps.len());
    for app in &apps {
        uids.push(some_uid(app.uid)?);
    }
    let connection = open(database)?;
    for (app, uid) in apps.iter().zip(uids) {
        let packages: Vec<&str> = app.packages.iter().map(String::as_str).collect();
        rules::set_app(&connection, uid, &app.label, &packages, app.system)?;
    }
    Ok(apps.len() as u64)
}

/// Every app recorded ([`set_apps`]), by UID: `[{"uid", "label",
/// "packages": [...], "system"}]`.
pub fn apps(database: &Path) -> Result<String, ApiError> {
    let apps = rules::apps(&open(database)?)?;
    Ok(to_json(
        &apps
            .into_iter()
            .map(|app| AppJson {
                uid: app.uid.into(),
                label: app.label,
                packages: app.packages,
                system: app.is_system,
            })
            .collect::<Vec<_>>(),
    ))
}

/// What the platform asks a packet capture for ([`capture_spec`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CaptureJson {
    uid: i64,
    /// The app's label or package, for the file's interface description.
    #[serde(default)]
    app: String,
    path: PathBuf,
    file_bytes: Option<u64>,
    files: Option<u32>,
    /// The capture ends by itself after this long; none: when stopped.
    seconds: Option<u64>,
    /// Every packet whole, bulk payloads included (default: each flow's
    /// first bytes whole, then packets cut; [`hush_engine::CaptureSpec`]).
    #[serde(default)]
    whole: bool,
}

/// A capture's spec from the platform's JSON: `{"uid", "app", "path",
/// "fileBytes", "files", "seconds"}` (the last three optional).
pub fn capture_spec(json: &str) -> Result<hush_engine::CaptureSpec, ApiError> {
    let asked: CaptureJson = from_json("capture", json)?;
    if asked.path.as_os_str().is_empty() {
        return Err(invalid("the capture path is empty"));
    }
    let mut spec = hush_engine::CaptureSpec::new(some_uid(asked.uid)?, asked.path);
    spec.app = asked.app;
    if let Some(bytes) = asked.file_bytes {
        spec.file_bytes = bytes;
    }
    if let Some(files) = asked.files {
        spec.files = files;
    }
    if asked.whole {
        spec.whole_bytes = None;
    }
    if let Some(seconds) = asked.seconds {
        if seconds == 0 {
            return Err(invalid("a capture of 0 seconds captures nothing"));
        }
        spec.duration = Some(std::time::Duration::from_secs(seconds));
    }
    Ok(spec)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CaptureStateJson {
    uid: Option<u32>,
    running: bool,
    packets: u64,
    dropped: u64,
    flows_missed: u64,
    /// Newest first; only once the capture has ended.
    files: Vec<String>,
    error: Option<String>,
}

/// The capture under way: `{"uid", "running", "packets", "dropped",
/// "flowsMissed", "files": [], "error": null}`; `uid` null: none.
pub fn capture_status_json(status: Option<hush_engine::CaptureStatus>) -> String {
    let state = match status {
        Some(status) => CaptureStateJson {
            uid: Some(status.uid),
            running: status.running,
            packets: status.packets,
            dropped: status.dropped,
            flows_missed: status.flows_missed,
            files: Vec::new(),
            error: None,
        },
        None => CaptureStateJson {
            uid: None,
            running: false,
            packets: 0,
            dropped: 0,
            flows_missed: 0,
            files: Vec::new(),
            error: None,
        },
    };
    to_json(&state)
}

/// How a stopped capture went: as [`capture_status_json`] with `running`
/// false, its files newest first, and `error` when it ended early (a full
/// disk); `uid` null when there was none to stop.
pub fn capture_stopped_json(stopped: Option<hush_engine::CaptureSummary>) -> String {
    let Some(summary) = stopped else {
        return capture_status_json(None);
    };
    to_json(&CaptureStateJson {
        uid: Some(summary.uid),
        running: false,
        packets: summary.packets,
        dropped: summary.dropped,
        flows_missed: summary.flows_missed,
        files: summary
            .files
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect(),
        error: summary.error.map(|e| e.to_string()),
    })
}
