//! What the UI and the CLI read from the activity log, and how it is kept
//! small: per-app summaries, the apps active with the screen off, the most
//! blocked hosts, one app's hosts and a day-by-day timeline (all from the
//! aggregates: per app and action each
//! hour, per app, host, action and reason each day, and per app and host
//! each hour only for the hours at the ends of a range, so their cost
//! follows the apps and hosts seen, not the events stored; one app's rows
//! are found through indexes by app); exports of the raw
//! events as CSV or JSON Lines, streamed row by row; retention and clearing.
//!
//! Paged queries take at most [`MAX_PAGE`] rows a page; a longer page is an
//! error ([`StoreError::InvalidArgument`]), never a panic.
//!
//! Time ranges are `[since_ms, until_ms)` in milliseconds since the Unix
//! epoch. The aggregate queries count in whole hours: an hour that overlaps
//! the range counts whole, so a range is in effect widened to the hours
//! around it. Exports read the raw events and are exact to the millisecond.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use crate::rules::{set_setting, setting};
use crate::visible::{csv_cell, json_text};
use crate::{EventFilter, StoreError, HOUR_MS};

const DAY_MS: i64 = 24 * HOUR_MS;

/// How many blocked hosts each [`AppSummary`] names.
pub const SUMMARY_TOP_HOSTS: usize = 5;

/// The settings keys retention is stored under.
pub const RETENTION_MAX_AGE_DAYS: &str = "retention.max_age_days";
pub const RETENTION_MAX_EVENTS: &str = "retention.max_events";
/// What [`RETENTION_MAX_AGE_DAYS`] holds when the owner chose to keep
/// events without an age limit (an absent key is the default instead).
pub const RETENTION_NO_LIMIT: &str = "none";
/// Days events are kept when the owner never chose: a log of who a phone
/// talked to is sensitive, so it does not grow without end by default.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Most raw events deleted in one transaction by [`apply_retention`].
const RETENTION_CHUNK: i64 = 5_000;
/// Longest pause between two retention chunks (each pause is as long as the
/// chunk before it took, up to this).
const RETENTION_MAX_PAUSE: Duration = Duration::from_millis(100);

/// Errors of an export: the database's, or the writer's.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to write the export: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(error: rusqlite::Error) -> Self {
        ExportError::Store(StoreError::Sql(error))
    }
}

/// One app's activity over a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// `None` for attempts whose owner was not known.
    pub uid: Option<u32>,
    pub blocked: u64,
    pub allowed: u64,
    pub failed: u64,
    /// The first and the last attempt seen in the hours counted.
    pub first_ms: i64,
    pub last_ms: i64,
    /// Its most blocked hosts with their counts, at most
    /// [`SUMMARY_TOP_HOSTS`], most blocked first (ties by host).
    pub top_blocked: Vec<(String, u64)>,
}

impl AppSummary {
    pub fn total(&self) -> u64 {
        self.blocked + self.allowed + self.failed
    }
}

/// One day of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    /// The local date, `YYYY-MM-DD`.
    pub day: String,
    pub blocked: u64,
    pub allowed: u64,
    pub failed: u64,
}

/// A text column, borrowed from the row.
fn text<'r>(row: &'r rusqlite::Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    Ok(row.get_ref(index)?.as_str()?)
}

/// The hours `[first, end)` that overlap `[since_ms, until_ms)`.
fn hour_range(since_ms: i64, until_ms: i64) -> (i64, i64) {
    let first = since_ms.div_euclid(HOUR_MS);
    let end = until_ms.div_euclid(HOUR_MS) + i64::from(until_ms.rem_euclid(HOUR_MS) != 0);
    (first, end)
}

/// `hourly` keeps an unknown owner as -1.
fn uid_from_hourly(uid: i64) -> Option<u32> {
    u32::try_from(uid).ok()
}

fn uid_to_hourly(uid: Option<u32>) -> i64 {
    uid.map_or(-1, i64::from)
}

/// The hours `[first, end)` split for the rollups: whole UTC days come from
/// `host_daily`, the hours before the first and after the last from `hourly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split {
    head: (i64, i64),
    days: (i64, i64),
    tail: (i64, i64),
}

fn split_hours(first_hour: i64, end_hour: i64) -> Split {
    let first_day = first_hour.div_euclid(24) + i64::from(first_hour.rem_euclid(24) != 0);
    let end_day = end_hour.div_euclid(24);
    if first_day >= end_day {
        return Split {
            head: (first_hour, end_hour),
            days: (0, 0),
            tail: (0, 0),
        };
    }
    Split {
        head: (first_hour, first_day * 24),
        days: (first_day, end_day),
        tail: (end_day * 24, end_hour),
    }
}

/// The (uid, host, count) rows of blocked attempts in the hours split by
/// `split`, for one app (`?7`) or all (`?7` NULL): a range of whole days
/// costs a row per app and host a day, not an hour.
const BLOCKED_HOSTS_IN_RANGE: &str = "
    SELECT uid, host, count FROM hourly
        WHERE hour >= ?1 AND hour < ?2 AND action = 'blocked' AND (?7 IS NULL OR uid = ?7)
    UNION ALL
    SELECT uid, host, count FROM host_daily
        WHERE day >= ?3 AND day < ?4 AND action = 'blocked' AND (?7 IS NULL OR uid = ?7)
    UNION ALL
    SELECT uid, host, count FROM hourly
        WHERE hour >= ?5 AND hour < ?6 AND action = 'blocked' AND (?7 IS NULL OR uid = ?7)";

fn split_params(split: Split, uid: Option<i64>) -> [Value; 7] {
    let int = Value::Integer;
    [
        int(split.head.0),
        int(split.head.1),
        int(split.days.0),
        int(split.days.1),
        int(split.tail.0),
        int(split.tail.1),
        uid.map_or(Value::Null, int),
    ]
}

/// Every app with activity in the range: most blocked first, then most
/// active, then by uid (an unknown owner before every uid).
///
/// Counts and first and last times come from `app_hourly` (a row per app,
/// action and hour); the most blocked hosts from `host_daily` for whole
/// days and `hourly` for the hours at either end.
pub fn app_summaries(
    connection: &Connection,
    since_ms: i64,
    until_ms: i64,
) -> Result<Vec<AppSummary>, StoreError> {
    let (first_hour, end_hour) = hour_range(since_ms, until_ms);
    let mut statement = connection.prepare_cached(
        "SELECT uid, action, count, first_ms, last_ms FROM app_hourly
         WHERE hour >= ?1 AND hour < ?2",
    )?;
    let apps = counts_by_app(statement.query(params![first_hour, end_hour])?)?;
    let split = split_hours(first_hour, end_hour);
    let mut hosts = connection.prepare_cached(BLOCKED_HOSTS_IN_RANGE)?;
    let mut rows = hosts.query(params_from_iter(split_params(split, None)))?;
    let mut blocked: HashMap<i64, HashMap<String, u64>> = HashMap::new();
    while let Some(row) = rows.next()? {
        let uid: i64 = row.get(0)?;
        let host = text(row, 1)?;
        let count = row.get::<_, i64>(2)? as u64;
        let per_host = blocked.entry(uid).or_default();
        match per_host.get_mut(host) {
            Some(total) => *total += count,
            None => {
                per_host.insert(host.to_owned(), count);
            }
        }
    }
    let mut summaries: Vec<AppSummary> = apps
        .into_iter()
        .map(|(uid, counts)| {
            let mut top: Vec<(String, u64)> = blocked
                .remove(&uid)
                .unwrap_or_default()
                .into_iter()
                .collect();
            top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(SUMMARY_TOP_HOSTS);
            AppSummary {
                uid: uid_from_hourly(uid),
                blocked: counts.blocked,
                allowed: counts.allowed,
                failed: counts.failed,
                first_ms: counts.first_ms,
                last_ms: counts.last_ms,
                top_blocked: top,
            }
        })
        .collect();
    summaries.sort_by(|a, b| {
        b.blocked
            .cmp(&a.blocked)
            .then(b.total().cmp(&a.total()))
            .then(uid_to_hourly(a.uid).cmp(&uid_to_hourly(b.uid)))
    });
    Ok(summaries)
}

/// One app's attempts made while the screen was off, over a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenOffSummary {
    /// `None` for attempts whose owner was not known.
    pub uid: Option<u32>,
    pub blocked: u64,
    pub allowed: u64,
    pub failed: u64,
    /// The first and the last screen-off attempt in the hours counted.
    pub first_ms: i64,
    pub last_ms: i64,
}

impl ScreenOffSummary {
    pub fn total(&self) -> u64 {
        self.blocked + self.allowed + self.failed
    }
}

/// Every app that made attempts with the screen off in the range (counted
/// in whole hours, as [`app_summaries`]): most such attempts first, then
/// by uid (an unknown owner before every uid). Read from
/// `screen_off_hourly`, a row per app and action an hour with any.
pub fn screen_off_apps(
    connection: &Connection,
    since_ms: i64,
    until_ms: i64,
) -> Result<Vec<ScreenOffSummary>, StoreError> {
    let (first_hour, end_hour) = hour_range(since_ms, until_ms);
    let mut statement = connection.prepare_cached(
        "SELECT uid, action, sum(count), min(first_ms), max(last_ms) FROM screen_off_hourly
         WHERE hour >= ?1 AND hour < ?2 GROUP BY uid, action",
    )?;
    let apps = counts_by_app(statement.query(params![first_hour, end_hour])?)?;
    let mut apps: Vec<ScreenOffSummary> = apps
        .into_iter()
        .map(|(uid, counts)| ScreenOffSummary {
            uid: uid_from_hourly(uid),
            blocked: counts.blocked,
            allowed: counts.allowed,
            failed: counts.failed,
            first_ms: counts.first_ms,
            last_ms: counts.last_ms,
        })
        .collect();
    apps.sort_unstable_by(|a, b| {
        b.total()
            .cmp(&a.total())
            .then(uid_to_hourly(a.uid).cmp(&uid_to_hourly(b.uid)))
    });
    Ok(apps)
}

/// One app's attempts by action, with the first and last times.
struct ActionCounts {
    blocked: u64,
    allowed: u64,
    failed: u64,
    first_ms: i64,
    last_ms: i64,
}

/// Sums rows of `(uid, action, count, first_ms, last_ms)` (an hourly
/// rollup's) by app; the uid as the rollups store it.
fn counts_by_app(mut rows: rusqlite::Rows<'_>) -> Result<HashMap<i64, ActionCounts>, StoreError> {
    let mut apps: HashMap<i64, ActionCounts> = HashMap::new();
    while let Some(row) = rows.next()? {
        let uid: i64 = row.get(0)?;
        let count = row.get::<_, i64>(2)? as u64;
        let (first_ms, last_ms): (i64, i64) = (row.get(3)?, row.get(4)?);
        let app = apps.entry(uid).or_insert(ActionCounts {
            blocked: 0,
            allowed: 0,
            failed: 0,
            first_ms,
            last_ms,
        });
        app.first_ms = app.first_ms.min(first_ms);
        app.last_ms = app.last_ms.max(last_ms);
        match text(row, 1)? {
            "blocked" => app.blocked += count,
            "allowed" => app.allowed += count,
            "failed" => app.failed += count,
            _ => {}
        }
    }
    Ok(apps)
}

/// Most rows one page of a paged query may hold ([`app_hosts`],
/// [`crate::rules::domain_rules_matching`]).
pub const MAX_PAGE: u32 = 1_000;

/// `limit` if a page may hold that many `what`, else an error saying so.
pub(crate) fn page_limit(limit: u32, what: &str) -> Result<u32, StoreError> {
    if limit > MAX_PAGE {
        return Err(StoreError::InvalidArgument(format!(
            "a page holds at most {MAX_PAGE} {what}, not {limit}"
        )));
    }
    Ok(limit)
}

/// A host one app contacted over a range, as App detail lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHost {
    pub host: String,
    pub allowed: u64,
    pub blocked: u64,
    pub failed: u64,
    /// The first and the last attempt in the hours counted.
    pub first_ms: i64,
    pub last_ms: i64,
    /// What Hush did at the last attempt (`blocked`, `allowed`, `failed`)
    /// and why (a reason code: `list:NAME`, `unlisted`, `app-rule:allow`...).
    /// Of attempts in the same last millisecond, the greatest (action,
    /// reason) in text order stands for them.
    pub last_action: String,
    pub last_reason: String,
}

/// Far enough that no time in milliseconds falls outside: an open end.
const FAR_HOURS: i64 = 1 << 50;

/// The hours `[first, end)` overlapping `[since_ms, until_ms)`, either end
/// open when `None`.
fn open_hour_range(since_ms: Option<i64>, until_ms: Option<i64>) -> (i64, i64) {
    let first = since_ms.map_or(-FAR_HOURS, |since| since.div_euclid(HOUR_MS));
    let end = until_ms.map_or(FAR_HOURS, |until| {
        until.div_euclid(HOUR_MS) + i64::from(until.rem_euclid(HOUR_MS) != 0)
    });
    (first, end)
}

/// Rows of one app's activity (`?7`) in the hours split by `split`, each a
/// (host, action, reason) over an hour or a day: whole UTC days from the
/// daily rollup through its index by app, so their cost follows the app's
/// hosts and days, not the table; the hours at either end (fewer than 24
/// each) from `hourly` by hour, every app's rows of those hours (an index
/// by app on `hourly` would make this cheaper for a quiet app, but costs
/// the writer about a sixth of its rate). `{columns}` is filled in by each
/// query.
const APP_ROWS_IN_RANGE: &str = "
    SELECT {columns} FROM hourly
        WHERE hour >= ?1 AND hour < ?2 AND uid = ?7
    UNION ALL
    SELECT {columns} FROM host_daily INDEXED BY host_daily_uid
        WHERE uid = ?7 AND day >= ?3 AND day < ?4
    UNION ALL
    SELECT {columns} FROM hourly
        WHERE hour >= ?5 AND hour < ?6 AND uid = ?7";

fn app_rows_in_range(columns: &str) -> String {
    APP_ROWS_IN_RANGE.replace("{columns}", columns)
}

/// Every host one app contacted in the range, each counted exactly from
/// the aggregates: most recent first (ties by host), at most `limit` (up to
/// [`MAX_PAGE`]) after skipping `offset`. `uid` `None` is the traffic whose
/// owner was not known. Hours overlapping the range count whole, as in
/// every aggregate query here; `None` leaves that end open. An app with no
/// activity has no hosts (an empty list, not an error). See
/// [`app_host_count`] for the number of pages.
pub fn app_hosts(
    connection: &Connection,
    uid: Option<u32>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    limit: u32,
    offset: u32,
) -> Result<Vec<AppHost>, StoreError> {
    let limit = page_limit(limit, "hosts")?;
    let (first_hour, end_hour) = open_hour_range(since_ms, until_ms);
    let split = split_hours(first_hour, end_hour);
    let sql = app_rows_in_range("host, action, reason, count, first_ms, last_ms");
    let mut statement = connection.prepare_cached(&sql)?;
    let params = split_params(split, Some(uid_to_hourly(uid)));
    let mut rows = statement.query(params_from_iter(params))?;
    let mut hosts: HashMap<String, AppHost> = HashMap::new();
    while let Some(row) = rows.next()? {
        let host = text(row, 0)?;
        let (action, reason) = (text(row, 1)?, text(row, 2)?);
        let count = row.get::<_, i64>(3)? as u64;
        let (first_ms, last_ms): (i64, i64) = (row.get(4)?, row.get(5)?);
        let entry = match hosts.get_mut(host) {
            Some(entry) => entry,
            None => hosts.entry(host.to_owned()).or_insert(AppHost {
                host: host.to_owned(),
                allowed: 0,
                blocked: 0,
                failed: 0,
                first_ms,
                last_ms,
                last_action: action.to_owned(),
                last_reason: reason.to_owned(),
            }),
        };
        match action {
            "allowed" => entry.allowed += count,
            "blocked" => entry.blocked += count,
            "failed" => entry.failed += count,
            _ => {}
        }
        entry.first_ms = entry.first_ms.min(first_ms);
        let later = (last_ms, action, reason)
            > (
                entry.last_ms,
                entry.last_action.as_str(),
                entry.last_reason.as_str(),
            );
        if later {
            entry.last_ms = last_ms;
            entry.last_action.replace_range(.., action);
            entry.last_reason.replace_range(.., reason);
        }
    }
    let mut hosts: Vec<AppHost> = hosts.into_values().collect();
    hosts.sort_unstable_by(|a, b| b.last_ms.cmp(&a.last_ms).then_with(|| a.host.cmp(&b.host)));
    Ok(hosts
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect())
}

/// How many hosts [`app_hosts`] lists for the same app and range over all
/// its pages. Reads the same rows as [`app_hosts`], but only their hosts.
pub fn app_host_count(
    connection: &Connection,
    uid: Option<u32>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
) -> Result<u64, StoreError> {
    let (first_hour, end_hour) = open_hour_range(since_ms, until_ms);
    let split = split_hours(first_hour, end_hour);
    let sql = format!(
        "SELECT count(DISTINCT host) FROM ({})",
        app_rows_in_range("host")
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let params = split_params(split, Some(uid_to_hourly(uid)));
    let count: i64 = statement.query_row(params_from_iter(params), |row| row.get(0))?;
    Ok(count as u64)
}

/// The most blocked hosts in the range as (host, times blocked, how many
/// apps it was blocked for, an unknown owner counting as one), most blocked
/// first, ties by host. `uid`: `None` for every app, `Some(None)` for the
/// unknown owner, `Some(Some(uid))` for one app.
pub fn top_blocked_hosts(
    connection: &Connection,
    since_ms: i64,
    until_ms: i64,
    uid: Option<Option<u32>>,
    limit: u32,
) -> Result<Vec<(String, u64, u32)>, StoreError> {
    let (first_hour, end_hour) = hour_range(since_ms, until_ms);
    let split = split_hours(first_hour, end_hour);
    let sql = format!(
        "SELECT host, sum(count) AS blocked, count(DISTINCT uid) FROM ({BLOCKED_HOSTS_IN_RANGE})
         GROUP BY host ORDER BY blocked DESC, host LIMIT ?8"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut values = split_params(split, uid.map(uid_to_hourly)).to_vec();
    values.push(Value::Integer(i64::from(limit)));
    let rows = statement.query_map(params_from_iter(values), |row| {
        Ok((
            row.get(0)?,
            row.get::<_, i64>(1)? as u64,
            row.get::<_, i64>(2)? as u32,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Counts per local day, oldest first; only days with activity are listed.
/// Days run midnight to midnight at `utc_offset_minutes` east of UTC. Each
/// hour counts on the day its start falls on: exact for offsets of whole
/// hours; for the others (+05:30, +05:45...) the hour around each midnight
/// counts whole on one side of it. Read from `app_hourly`.
pub fn daily_timeline(
    connection: &Connection,
    since_ms: i64,
    until_ms: i64,
    uid: Option<Option<u32>>,
    utc_offset_minutes: i32,
) -> Result<Vec<DayCount>, StoreError> {
    let (first_hour, end_hour) = hour_range(since_ms, until_ms);
    let offset_ms = i64::from(utc_offset_minutes) * 60_000;
    let mut statement = connection.prepare_cached(
        "SELECT hour,
                sum(CASE action WHEN 'blocked' THEN count ELSE 0 END),
                sum(CASE action WHEN 'allowed' THEN count ELSE 0 END),
                sum(CASE action WHEN 'failed' THEN count ELSE 0 END)
         FROM app_hourly WHERE hour >= ?1 AND hour < ?2 AND (?3 IS NULL OR uid = ?3)
         GROUP BY hour ORDER BY hour",
    )?;
    let mut rows = statement.query(params![first_hour, end_hour, uid.map(uid_to_hourly)])?;
    let mut days: Vec<(i64, DayCount)> = Vec::new();
    while let Some(row) = rows.next()? {
        let hour: i64 = row.get(0)?;
        let day = (hour * HOUR_MS + offset_ms).div_euclid(DAY_MS);
        if days.last().is_none_or(|(last, _)| *last != day) {
            days.push((
                day,
                DayCount {
                    day: format_date(day),
                    blocked: 0,
                    allowed: 0,
                    failed: 0,
                },
            ));
        }
        let (_, count) = days.last_mut().expect("pushed above");
        count.blocked += row.get::<_, i64>(1)? as u64;
        count.allowed += row.get::<_, i64>(2)? as u64;
        count.failed += row.get::<_, i64>(3)? as u64;
    }
    Ok(days.into_iter().map(|(_, count)| count).collect())
}

/// (year, month, day) of a count of days since 1970-01-01, in the proleptic
/// Gregorian calendar (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn format_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Writes `time_ms` as RFC 3339 in UTC with milliseconds
/// (`2025-01-31T23:59:59.999Z`) into `out`, replacing what it held.
pub fn format_rfc3339_ms(time_ms: i64, out: &mut String) {
    out.clear();
    let (year, month, day) = civil_from_days(time_ms.div_euclid(DAY_MS));
    let in_day = time_ms.rem_euclid(DAY_MS);
    let (hour, minute) = (in_day / HOUR_MS, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
    );
}

/// The events matching `filter`, oldest first, as a statement built with
/// only the conditions that are set (so the indexes on time and on
/// uid and time can serve it).
fn export_statement(filter: &EventFilter) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT time_ms, uid, host, ip, port, protocol, detail, action, reason, repeats,
             coalesce(last_ms, time_ms), screen_off FROM events",
    );
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(uid) = filter.uid {
        values.push(Value::Integer(uid.into()));
        conditions.push(format!("uid = ?{}", values.len()));
    }
    if let Some(action) = &filter.action {
        values.push(Value::Text(action.clone()));
        conditions.push(format!("action = ?{}", values.len()));
    }
    if let Some(host) = &filter.host_contains {
        values.push(Value::Text(host.clone()));
        conditions.push(format!("instr(lower(host), lower(?{})) > 0", values.len()));
    }
    if let Some(since) = filter.since_ms {
        values.push(Value::Integer(since));
        conditions.push(format!("time_ms >= ?{}", values.len()));
    }
    if let Some(until) = filter.until_ms {
        values.push(Value::Integer(until));
        conditions.push(format!("time_ms < ?{}", values.len()));
    }
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY time_ms, id");
    (sql, values)
}

/// Calls `each` with every event matching `filter`, oldest first, one row
/// at a time; returns how many there were.
fn for_each_event(
    connection: &Connection,
    filter: &EventFilter,
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<(), ExportError>,
) -> Result<u64, ExportError> {
    let (sql, values) = export_statement(filter);
    let mut statement = connection.prepare(&sql)?;
    let mut rows = statement.query(params_from_iter(values))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        each(row)?;
        count += 1;
    }
    Ok(count)
}

/// The columns of an export, in order: `repeats` is how many attempts the
/// row stands for (a blocked attempt repeated, [`crate::REPEAT_WINDOW`]),
/// `last_ms` when the last was made, `screen_off` 1 when the screen was
/// off (0 for events stored before it was recorded).
const EXPORT_COLUMNS: [&str; 13] = [
    "time",
    "time_ms",
    "uid",
    "host",
    "ip",
    "port",
    "protocol",
    "detail",
    "action",
    "reason",
    "repeats",
    "last_ms",
    "screen_off",
];

/// Writes the events matching `filter` as CSV with a header row, oldest
/// first, streaming; returns how many events were written. `uid` is empty
/// for an unknown owner; `time` is RFC 3339 in UTC with milliseconds. The
/// text cells are [`csv_cell`]s: control and invisible characters shown as
/// `[U+XXXX]` and a leading `=`, `+`, `-` or `@` behind a `'`, so that a
/// hostile name cannot run as a formula in a spreadsheet; the numeric
/// columns (`time_ms`, `uid`, `port`, `repeats`, `last_ms`, `screen_off`)
/// stay numbers.
pub fn export_csv(
    connection: &Connection,
    filter: &EventFilter,
    writer: impl Write,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(EXPORT_COLUMNS)
        .map_err(std::io::Error::from)?;
    let (mut time, mut time_ms, mut uid, mut port) =
        (String::new(), String::new(), String::new(), String::new());
    let (mut repeats, mut last_ms) = (String::new(), String::new());
    let count = for_each_event(connection, filter, |row| {
        let ms: i64 = row.get(0)?;
        format_rfc3339_ms(ms, &mut time);
        time_ms.clear();
        let _ = write!(time_ms, "{ms}");
        uid.clear();
        if let Some(value) = row.get::<_, Option<u32>>(1)? {
            let _ = write!(uid, "{value}");
        }
        port.clear();
        let _ = write!(port, "{}", row.get::<_, u16>(4)?);
        repeats.clear();
        let _ = write!(repeats, "{}", row.get::<_, i64>(9)?);
        last_ms.clear();
        let _ = write!(last_ms, "{}", row.get::<_, i64>(10)?);
        let screen_off = if row.get::<_, bool>(11)? { "1" } else { "0" };
        let cell = |index| text(row, index).map(csv_cell);
        csv.write_record([
            csv_cell(&time).as_ref(),
            time_ms.as_str(),
            uid.as_str(),
            &cell(2)?,
            &cell(3)?,
            port.as_str(),
            &cell(5)?,
            &cell(6)?,
            &cell(7)?,
            &cell(8)?,
            repeats.as_str(),
            last_ms.as_str(),
            screen_off,
        ])
        .map_err(std::io::Error::from)?;
        Ok(())
    })?;
    csv.flush()?;
    Ok(count)
}

/// One event as JSON exports and `hush log --json` write it: `time` in
/// RFC 3339 (UTC, milliseconds) and `time_ms`, `uid` null for an unknown
/// owner, `repeats` the attempts the row stands for and `last_ms` the time
/// of the last, `screen_off` whether the screen was off. Text is [`json_text`]: the bidirectional and invisible
/// characters (and C1 controls) that JSON would leave raw are shown as
/// `[U+XXXX]`.
#[derive(serde::Serialize)]
pub struct JsonEvent<'a> {
    time: &'a str,
    time_ms: i64,
    uid: Option<u32>,
    host: Cow<'a, str>,
    ip: Cow<'a, str>,
    port: u16,
    protocol: Cow<'a, str>,
    detail: Cow<'a, str>,
    action: Cow<'a, str>,
    reason: Cow<'a, str>,
    repeats: u64,
    last_ms: i64,
    screen_off: bool,
}

impl<'a> JsonEvent<'a> {
    /// `event` as JSON; `time` holds its formatted time.
    pub fn of(event: &'a crate::StoredEvent, time: &'a mut String) -> Self {
        format_rfc3339_ms(event.time_ms, time);
        JsonEvent {
            time,
            time_ms: event.time_ms,
            uid: event.uid,
            host: json_text(&event.host),
            ip: json_text(&event.ip),
            port: event.port,
            protocol: json_text(&event.protocol),
            detail: json_text(&event.detail),
            action: json_text(&event.action),
            reason: json_text(&event.reason),
            repeats: event.repeats,
            last_ms: event.last_ms,
            screen_off: event.screen_off,
        }
    }
}

/// Writes the events matching `filter` as JSON Lines (one object per line,
/// `uid` null for an unknown owner), oldest first, streaming; returns how
/// many events were written.
pub fn export_json(
    connection: &Connection,
    filter: &EventFilter,
    writer: impl Write,
) -> Result<u64, ExportError> {
    let mut out = std::io::BufWriter::new(writer);
    let mut time = String::new();
    let count = for_each_event(connection, filter, |row| {
        let time_ms: i64 = row.get(0)?;
        format_rfc3339_ms(time_ms, &mut time);
        let text = |index| text(row, index).map(json_text);
        let event = JsonEvent {
            time: &time,
            time_ms,
            uid: row.get(1)?,
            host: text(2)?,
            ip: text(3)?,
            port: row.get(4)?,
            protocol: text(5)?,
            detail: text(6)?,
            action: text(7)?,
            reason: text(8)?,
            repeats: row.get::<_, i64>(9)?.max(1) as u64,
            last_ms: row.get(10)?,
            screen_off: row.get(11)?,
        };
        serde_json::to_writer(&mut out, &event).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        Ok(())
    })?;
    out.flush()?;
    Ok(count)
}

/// How long raw events are kept; `None` keeps them without that limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Raw events and hourly counts older than this many days are deleted.
    pub max_age_days: Option<u32>,
    /// Only this many raw events, the newest, are kept (the hourly counts
    /// are kept by age only).
    pub max_events: Option<u64>,
}

impl Default for RetentionSettings {
    /// What a database where retention was never set keeps:
    /// [`DEFAULT_RETENTION_DAYS`] days, any number of events.
    fn default() -> Self {
        Self {
            max_age_days: Some(DEFAULT_RETENTION_DAYS),
            max_events: None,
        }
    }
}

impl RetentionSettings {
    /// Everything kept, by age and by count (the owner's explicit choice).
    pub const NO_LIMIT: Self = Self {
        max_age_days: None,
        max_events: None,
    };

    pub fn max_age(&self) -> Option<Duration> {
        self.max_age_days
            .map(|days| Duration::from_secs(u64::from(days) * 86_400))
    }
}

/// The retention settings as stored; a limit never set is the
/// [default](RetentionSettings::default): [`DEFAULT_RETENTION_DAYS`] days
/// and no count limit. An age limit stored as [`RETENTION_NO_LIMIT`] is
/// none.
pub fn retention_settings(connection: &Connection) -> Result<RetentionSettings, StoreError> {
    fn parsed<T: std::str::FromStr>(
        connection: &Connection,
        key: &str,
    ) -> Result<Option<Option<T>>, StoreError> {
        setting(connection, key)?
            .map(|value| match value.trim() {
                RETENTION_NO_LIMIT => Ok(None),
                number => number.parse().map(Some).map_err(|_| {
                    StoreError::InvalidRule(format!(
                        "setting {key}: {value:?} is not a whole number or {RETENTION_NO_LIMIT:?}"
                    ))
                }),
            })
            .transpose()
    }
    let default = RetentionSettings::default();
    Ok(RetentionSettings {
        max_age_days: parsed(connection, RETENTION_MAX_AGE_DAYS)?.unwrap_or(default.max_age_days),
        max_events: parsed(connection, RETENTION_MAX_EVENTS)?.unwrap_or(default.max_events),
    })
}

/// Stores the retention settings, both in one transaction. Each limit is
/// stored, no limit as [`RETENTION_NO_LIMIT`], so that the owner's choice
/// (even "keep everything") is never read back as the default.
pub fn set_retention_settings(
    connection: &Connection,
    settings: &RetentionSettings,
) -> Result<(), StoreError> {
    let stored =
        |value: Option<u64>| value.map_or_else(|| RETENTION_NO_LIMIT.into(), |v| v.to_string());
    let transaction = connection.unchecked_transaction()?;
    set_setting(
        &transaction,
        RETENTION_MAX_AGE_DAYS,
        &stored(settings.max_age_days.map(u64::from)),
    )?;
    set_setting(
        &transaction,
        RETENTION_MAX_EVENTS,
        &stored(settings.max_events),
    )?;
    transaction.commit()?;
    Ok(())
}

/// What retention or clearing deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub events_deleted: u64,
    pub hourly_deleted: u64,
    /// Files of copies of the database kept aside by a recovery
    /// ([`crate::recover::remove_kept_aside`]).
    pub copies_deleted: u64,
}

/// The file `connection` has open, if it is one (not in memory).
fn database_path(connection: &Connection) -> Option<&std::path::Path> {
    connection
        .path()
        .filter(|path| !path.is_empty())
        .map(std::path::Path::new)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Applies the stored retention settings now.
pub fn apply_retention_settings(connection: &Connection) -> Result<RetentionReport, StoreError> {
    let settings = retention_settings(connection)?;
    apply_retention(connection, settings.max_age(), settings.max_events)
}

/// Deletes raw events older than `max_age` and then the oldest beyond the
/// newest `max_events`, the hourly counts of hours wholly older than
/// `max_age`, and the copies of the database that a recovery kept aside
/// before then. See [`apply_retention_at`].
pub fn apply_retention(
    connection: &Connection,
    max_age: Option<Duration>,
    max_events: Option<u64>,
) -> Result<RetentionReport, StoreError> {
    apply_retention_at(connection, now_ms(), max_age, max_events)
}

/// [`apply_retention`] as if the time were `now_ms`.
///
/// Deletes in chunks of a few thousand rows (raw events) or one hour
/// (hourly counts), each its own transaction, and after each chunk pauses
/// as long as the chunk took (up to 100 ms), so that the log writer, whose
/// busy wait backs off to 100 ms, gets the database in between and is never
/// held off for long. "Oldest" is by time, then by order of writing.
pub fn apply_retention_at(
    connection: &Connection,
    now_ms: i64,
    max_age: Option<Duration>,
    max_events: Option<u64>,
) -> Result<RetentionReport, StoreError> {
    // What retention deletes is overwritten in the file, as clearing's is:
    // the names past the cutoff must not stay readable in free pages.
    with_secure_delete(connection, || {
        delete_old(connection, now_ms, max_age, max_events)
    })
}

/// Runs `delete` with `secure_delete` on for `connection` (deleted content
/// overwritten with zeros), and puts the connection's setting back.
fn with_secure_delete<T>(
    connection: &Connection,
    delete: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let secure: i64 = connection.query_row("PRAGMA secure_delete", [], |r| r.get(0))?;
    connection.pragma_update(None, "secure_delete", 1)?;
    let result = delete();
    connection.pragma_update(None, "secure_delete", secure)?;
    result
}

/// The deletions of [`apply_retention_at`].
fn delete_old(
    connection: &Connection,
    now_ms: i64,
    max_age: Option<Duration>,
    max_events: Option<u64>,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::default();
    if let Some(max_age) = max_age {
        let age_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms.saturating_sub(age_ms);
        report.events_deleted += delete_in_chunks(u64::MAX, |limit| {
            let removed = connection.execute(
                "DELETE FROM events WHERE id IN (
                     SELECT id FROM events WHERE time_ms < ?1 ORDER BY time_ms, id LIMIT ?2)",
                params![cutoff, limit],
            )?;
            Ok((removed, removed as i64 == limit))
        })?;
        // Only hours (and days, for the daily rollup) that ended by the
        // cutoff go.
        let cutoff_hour = cutoff.div_euclid(HOUR_MS);
        report.hourly_deleted += delete_in_chunks(u64::MAX, |_| {
            let removed = connection.execute(
                "DELETE FROM hourly WHERE hour = (SELECT min(hour) FROM hourly) AND hour < ?1",
                params![cutoff_hour],
            )?;
            Ok((removed, removed > 0))
        })?;
        delete_in_chunks(u64::MAX, |_| {
            let removed = connection.execute(
                "DELETE FROM host_daily WHERE day = (SELECT min(day) FROM host_daily) AND day < ?1",
                params![cutoff_hour.div_euclid(24)],
            )?;
            Ok((removed, removed > 0))
        })?;
        // A row per app and action an hour: few enough to go at once.
        connection.execute(
            "DELETE FROM app_hourly WHERE hour < ?1",
            params![cutoff_hour],
        )?;
        connection.execute(
            "DELETE FROM screen_off_hourly WHERE hour < ?1",
            params![cutoff_hour],
        )?;
        // Names no kept count mentions go too: retention is about names.
        connection.execute(
            "DELETE FROM hosts WHERE host NOT IN (SELECT host FROM host_daily)",
            [],
        )?;
        // A copy kept aside by a recovery holds nothing newer than when it
        // was kept aside: once that is older than the cutoff, all of it is.
        if let Some(path) = database_path(connection) {
            let before = u64::try_from(cutoff.div_euclid(1000)).unwrap_or(0);
            report.copies_deleted += crate::recover::remove_kept_aside(path, Some(before))?;
        }
    }
    if let Some(max_events) = max_events {
        let stored: i64 = connection.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        let excess = (stored as u64).saturating_sub(max_events);
        report.events_deleted += delete_in_chunks(excess, |limit| {
            let removed = connection.execute(
                "DELETE FROM events WHERE id IN (
                     SELECT id FROM events ORDER BY time_ms, id LIMIT ?1)",
                params![limit],
            )?;
            Ok((removed, removed as i64 == limit))
        })?;
    }
    Ok(report)
}

/// Runs `chunk(limit)`, which deletes at most `limit` rows and says how
/// many it deleted and whether more may be left, until nothing is left or
/// `total` rows are gone, pausing between chunks. Returns the rows deleted.
fn delete_in_chunks(
    total: u64,
    mut chunk: impl FnMut(i64) -> rusqlite::Result<(usize, bool)>,
) -> Result<u64, StoreError> {
    let mut deleted = 0u64;
    while deleted < total {
        let limit = (total - deleted).min(RETENTION_CHUNK as u64) as i64;
        let started = Instant::now();
        let (removed, more) = chunk(limit)?;
        deleted += removed as u64;
        if !more {
            break;
        }
        std::thread::sleep(started.elapsed().min(RETENTION_MAX_PAUSE));
    }
    Ok(deleted)
}

/// Deletes every raw event and hourly count; rules, apps, list sources,
/// settings and counters stay. The deleted rows are overwritten with zeros
/// in the file (`secure_delete`) and the write-ahead log is truncated, so
/// the names do not linger on disk; copies of the database kept aside by a
/// recovery (`<name>.broken-*`) are deleted. One transaction: all or nothing, which
/// holds the log writer off until it commits (about 4 to 6 s for ten million
/// events on the bench machine, near the writer's 5 s busy timeout).
pub fn clear_activity(connection: &Connection) -> Result<RetentionReport, StoreError> {
    let mut report = with_secure_delete(connection, || {
        let transaction = connection.unchecked_transaction()?;
        let events_deleted = transaction.execute("DELETE FROM events", [])? as u64;
        let hourly_deleted = transaction.execute("DELETE FROM hourly", [])? as u64;
        transaction.execute("DELETE FROM app_hourly", [])?;
        transaction.execute("DELETE FROM screen_off_hourly", [])?;
        transaction.execute("DELETE FROM host_daily", [])?;
        transaction.execute("DELETE FROM hosts", [])?;
        transaction.commit()?;
        Ok::<_, StoreError>(RetentionReport {
            events_deleted,
            hourly_deleted,
            copies_deleted: 0,
        })
    })?;
    if let Some(path) = database_path(connection) {
        report.copies_deleted = crate::recover::remove_kept_aside(path, None)?;
    }
    // Best effort: a reader still open keeps the log until it is done.
    let _: rusqlite::Result<i64> =
        connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_format_as_the_calendar_says() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_date(11_016), "2000-02-29");
        assert_eq!(format_date(19_782), "2024-02-29");
        assert_eq!(format_date(20_119), "2025-01-31");
        let mut text = String::new();
        format_rfc3339_ms(1_738_367_999_999, &mut text);
        assert_eq!(text, "2025-01-31T23:59:59.999Z");
        format_rfc3339_ms(-1, &mut text);
        assert_eq!(text, "1969-12-31T23:59:59.999Z");
        format_rfc3339_ms(951_782_400_007, &mut text);
        assert_eq!(text, "2000-02-29T00:00:00.007Z");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // Against a plain day-by-day walk of the calendar.
        let (mut year, mut month, mut day) = (1900i64, 1u32, 1u32);
        let start = -25_567; // 1900-01-01
        for days in start..start + 146_097 {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            let length = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            day += 1;
            if day > length {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }

    #[test]
    fn one_apps_rows_are_read_by_app_for_days_and_by_hour_for_hours() {
        let mut connection = Connection::open_in_memory().unwrap();
        crate::migrate(&mut connection).unwrap();
        for sql in [
            app_rows_in_range("host, action, reason, count, first_ms, last_ms"),
            format!(
                "SELECT count(DISTINCT host) FROM ({})",
                app_rows_in_range("host")
            ),
        ] {
            let mut plan = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let steps: Vec<String> = plan
                .query_map(
                    params_from_iter(split_params(split_hours(0, 99), Some(7))),
                    |row| row.get(3),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            // Three reads of a table, each a search: the daily rollup's by its
            // index by app (the count reads that index alone), `hourly` by
            // its primary key's hour; the rest is the union's.
            let reads: Vec<&String> = steps
                .iter()
                .filter(|step| step.starts_with("SCAN") || step.starts_with("SEARCH"))
                .filter(|step| !step.starts_with("SCAN (subquery"))
                .collect();
            assert_eq!(reads.len(), 3, "{steps:?}");
            for read in reads {
                let read = read.replace("COVERING INDEX", "INDEX");
                assert!(
                    read == "SEARCH hourly USING PRIMARY KEY (hour>? AND hour<?)"
                        || read
                            == "SEARCH host_daily USING INDEX host_daily_uid \
                                (uid=? AND day>? AND day<?)",
                    "{read}"
                );
            }
        }
    }

    #[test]
    fn open_hour_ranges_reach_past_every_time() {
        assert_eq!(open_hour_range(Some(1), Some(HOUR_MS + 1)), (0, 2));
        let (first, end) = open_hour_range(None, None);
        assert!(first < i64::MIN.div_euclid(HOUR_MS));
        assert!(end > i64::MAX.div_euclid(HOUR_MS) + 1);
        let split = split_hours(first, end);
        assert_eq!(
            split.days.0 * 24 - split.head.0,
            split.head.1 - split.head.0
        );
        assert!(split.days.0 < split.days.1);
    }

    #[test]
    fn hour_ranges_cover_the_hours_that_overlap() {
        assert_eq!(hour_range(0, HOUR_MS), (0, 1));
        assert_eq!(hour_range(1, HOUR_MS + 1), (0, 2));
        assert_eq!(hour_range(HOUR_MS, HOUR_MS), (1, 1));
        assert_eq!(hour_range(-1, 0), (-1, 0));
    }
}
