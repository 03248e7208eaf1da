//! `hush stats`, `hush apps`, `hush export`, `hush retention`, `hush clear`
//! and `hush gaps`: what the activity log shows about each app, how much of
//! it is kept, and when Hush was not filtering. Every command reads a
//! database `hush run --db` writes, and may run while it does.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use hush_store::query::{self, RetentionSettings};
use hush_store::rules::{self, Network};
use hush_store::visible::visible;

use crate::records::{open_existing, EventFilterArgs};

#[derive(Args)]
pub struct StatsArgs {
    #[arg(long)]
    db: PathBuf,
    /// Count the last this many days.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// How many of the most blocked hosts to show.
    #[arg(long, default_value_t = 10)]
    top: u32,
}

#[derive(Args)]
pub struct AppsArgs {
    #[arg(long)]
    db: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long)]
    db: PathBuf,
    /// csv, or json (one object per line).
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Write here instead of to standard output (created owner-only).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    which: EventFilterArgs,
    /// Only the last this many days.
    #[arg(long)]
    days: Option<u32>,
}

#[derive(Args)]
pub struct RetentionArgs {
    #[arg(long)]
    db: PathBuf,
    /// Delete events (and hourly counts) older than this many days (30
    /// until set).
    #[arg(long)]
    max_age_days: Option<u32>,
    /// Keep at most this many raw events, the newest.
    #[arg(long)]
    max_events: Option<u64>,
    /// Remove both limits, the 30 days' default too: keep everything.
    #[arg(long, conflicts_with_all = ["max_age_days", "max_events"])]
    off: bool,
}

#[derive(Args)]
pub struct ClearArgs {
    #[arg(long)]
    db: PathBuf,
}

#[derive(Args)]
pub struct GapsArgs {
    #[arg(long)]
    db: PathBuf,
    /// Show at most this many, the newest.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// "2026-11-24 10:31" (UTC) for a time in milliseconds.
fn minute_of(time_ms: i64) -> String {
    let mut text = String::new();
    query::format_rfc3339_ms(time_ms, &mut text);
    text.get(..16).unwrap_or(&text).replace('T', " ")
}

/// What to call an app: its label from the platform, else (on Linux) the
/// user it runs as, else its uid alone.
fn app_name(labels: &std::collections::HashMap<u32, String>, uid: Option<u32>) -> String {
    let Some(uid) = uid else {
        return "unknown app".into();
    };
    // An app chooses its own label: shown escaped, so that it cannot
    // reorder or break the line it is printed on.
    match labels.get(&uid).cloned().or_else(|| user_name(uid)) {
        Some(name) => format!("{uid} ({})", visible(&name)),
        None => uid.to_string(),
    }
}

/// The name of the Linux user `uid`, if it has one.
pub(crate) fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: all-zero is a valid passwd (null pointers, zero ids); it is
    // only read after getpwuid_r filled it.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, and the buffer length is
    // the buffer's own; the strings it fills point into `buffer`.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut result,
        )
    };
    if status != 0 || result.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name is a NUL-terminated string in `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

pub fn stats(args: StatsArgs) -> Result<(), String> {
    let text = |e: hush_store::StoreError| e.to_string();
    let connection = open_existing(&args.db)?;
    let until = now_ms();
    let since = until - i64::from(args.days) * DAY_MS;
    let labels = rules::app_labels(&connection).map_err(text)?;
    let summaries = query::app_summaries(&connection, since, until).map_err(text)?;
    println!(
        "Activity in the last {} days, by app (times in UTC)",
        args.days
    );
    println!(
        "{:<24} {:>9} {:>9} {:>7}  {:<16}  {:<16}  most blocked",
        "app", "blocked", "allowed", "failed", "first seen", "last seen"
    );
    for app in &summaries {
        let top: Vec<String> = app
            .top_blocked
            .iter()
            .map(|(host, count)| format!("{} ({count})", visible(host)))
            .collect();
        println!(
            "{:<24} {:>9} {:>9} {:>7}  {:<16}  {:<16}  {}",
            app_name(&labels, app.uid),
            app.blocked,
            app.allowed,
            app.failed,
            minute_of(app.first_ms),
            minute_of(app.last_ms),
            top.join(", ")
        );
    }
    if summaries.is_empty() {
        println!("(nothing recorded)");
    }
    println!("\nMost blocked hosts");
    println!("{:<48} {:>9} {:>5}", "host", "blocked", "apps");
    for (host, count, apps) in
        query::top_blocked_hosts(&connection, since, until, None, args.top).map_err(text)?
    {
        println!("{:<48} {count:>9} {apps:>5}", visible(&host));
    }
    println!("\nBy day (UTC)");
    for day in query::daily_timeline(&connection, since, until, None, 0).map_err(text)? {
        println!(
            "{}  blocked {:>8}  allowed {:>8}  failed {:>6}",
            day.day, day.blocked, day.allowed, day.failed
        );
    }
    let dropped = hush_store::dropped_events(&connection).map_err(text)?;
    if dropped > 0 {
        println!("\n{dropped} events could not be recorded (the log writer fell behind)");
    }
    Ok(())
}

pub fn apps(args: AppsArgs) -> Result<(), String> {
    print_apps(&open_existing(&args.db)?)
}

/// Prints every app the log or the rules know: its modes, its counts, and
/// when it was last seen.
pub fn print_apps(connection: &hush_store::Connection) -> Result<(), String> {
    let text = |e: hush_store::StoreError| e.to_string();
    let labels = rules::app_labels(connection).map_err(text)?;
    let summaries = query::app_summaries(connection, 0, now_ms() + DAY_MS).map_err(text)?;
    let mut uids: BTreeSet<u32> = labels.keys().copied().collect();
    uids.extend(summaries.iter().filter_map(|s| s.uid));
    uids.extend(
        rules::app_modes(connection)
            .map_err(text)?
            .into_iter()
            .map(|(uid, _, _)| uid),
    );
    println!(
        "{:<24} {:<15} {:<15} {:>9} {:>9}  last seen (UTC)",
        "app", "on wifi", "on mobile", "blocked", "allowed"
    );
    for uid in uids {
        let wifi = rules::app_mode(connection, uid, Network::Wifi).map_err(text)?;
        let mobile = rules::app_mode(connection, uid, Network::Mobile).map_err(text)?;
        let summary = summaries.iter().find(|s| s.uid == Some(uid));
        println!(
            "{:<24} {:<15} {:<15} {:>9} {:>9}  {}",
            app_name(&labels, Some(uid)),
            wifi.as_str(),
            mobile.as_str(),
            summary.map_or(0, |s| s.blocked),
            summary.map_or(0, |s| s.allowed),
            summary.map_or_else(|| "never".into(), |s| minute_of(s.last_ms)),
        );
    }
    if let Some(unknown) = summaries.iter().find(|s| s.uid.is_none()) {
        println!(
            "{:<24} {:<15} {:<15} {:>9} {:>9}  {}",
            "unknown app",
            "-",
            "-",
            unknown.blocked,
            unknown.allowed,
            minute_of(unknown.last_ms)
        );
    }
    Ok(())
}

pub fn export(args: ExportArgs) -> Result<(), String> {
    let since_ms = args.days.map(|days| now_ms() - i64::from(days) * DAY_MS);
    let filter = args.which.filter(since_ms)?;
    let connection = open_existing(&args.db)?;
    let writer: Box<dyn Write> = match &args.out {
        Some(path) => {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("failed to create {}: {e}", path.display()))?;
            Box::new(file)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let count = match args.format {
        Format::Csv => query::export_csv(&connection, &filter, writer),
        Format::Json => query::export_json(&connection, &filter, writer),
    }
    .map_err(|e| e.to_string())?;
    eprintln!("hush: exported {count} events");
    Ok(())
}

pub fn retention(args: RetentionArgs) -> Result<(), String> {
    let text = |e: hush_store::StoreError| e.to_string();
    let connection = open_existing(&args.db)?;
    let changing = args.off || args.max_age_days.is_some() || args.max_events.is_some();
    if changing {
        let mut settings = query::retention_settings(&connection).map_err(text)?;
        if args.off {
            settings = RetentionSettings::NO_LIMIT;
        }
        if let Some(days) = args.max_age_days {
            settings.max_age_days = Some(days);
        }
        if let Some(events) = args.max_events {
            settings.max_events = Some(events);
        }
        query::set_retention_settings(&connection, &settings).map_err(text)?;
        let report = query::apply_retention_settings(&connection).map_err(text)?;
        println!(
            "deleted {} events and {} hourly counts",
            report.events_deleted, report.hourly_deleted
        );
    }
    let settings = query::retention_settings(&connection).map_err(text)?;
    println!(
        "keep events for: {}\nkeep at most:    {}",
        settings
            .max_age_days
            .map_or_else(|| "no limit".into(), |d| format!("{d} days")),
        settings
            .max_events
            .map_or_else(|| "no limit".into(), |n| format!("{n} events")),
    );
    Ok(())
}

pub fn clear(args: ClearArgs) -> Result<(), String> {
    let connection = open_existing(&args.db)?;
    let report = query::clear_activity(&connection).map_err(|e| e.to_string())?;
    println!(
        "cleared {} events and {} hourly counts; rules and settings kept",
        report.events_deleted, report.hourly_deleted
    );
    Ok(())
}

/// `hush gaps`: the periods Hush was not filtering, newest first.
pub fn gaps(args: GapsArgs) -> Result<(), String> {
    let connection = open_existing(&args.db)?;
    let gaps = hush_store::gaps::list(&connection, None, args.limit).map_err(|e| e.to_string())?;
    let now = now_ms();
    let mut out = std::io::stdout().lock();
    let write_failed = |e: std::io::Error| format!("failed to write: {e}");
    if gaps.is_empty() {
        if !args.json {
            writeln!(out, "no gaps recorded").map_err(write_failed)?;
        }
        return Ok(());
    }
    if args.json {
        for gap in &gaps {
            writeln!(out, "{}", gap_json(gap, now)).map_err(write_failed)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<19}  {:<19}  {:>14}  reason",
        "start (UTC)", "end", "duration"
    )
    .map_err(write_failed)?;
    for gap in &gaps {
        let (end, duration) = match gap.end_ms {
            Some(end) => (second_of(end), duration_text(end - gap.start_ms)),
            None => (
                "open".to_string(),
                format!("{} so far", duration_text(now - gap.start_ms)),
            ),
        };
        writeln!(
            out,
            "{:<19}  {:<19}  {:>14}  {}",
            second_of(gap.start_ms),
            end,
            duration,
            gap.reason
        )
        .map_err(write_failed)?;
    }
    Ok(())
}

/// One gap as a JSON object; an open gap has a null end and its duration
/// so far.
fn gap_json(gap: &hush_store::gaps::Gap, now_ms: i64) -> serde_json::Value {
    let time = |ms: i64| {
        let mut text = String::new();
        query::format_rfc3339_ms(ms, &mut text);
        text
    };
    serde_json::json!({
        "start": time(gap.start_ms),
        "start_ms": gap.start_ms,
        "end": gap.end_ms.map(time),
        "end_ms": gap.end_ms,
        "open": gap.end_ms.is_none(),
        "duration_ms": gap.end_ms.unwrap_or(now_ms).saturating_sub(gap.start_ms).max(0),
        "reason": gap.reason,
    })
}

/// "2026-11-24 10:31:05" (UTC) for a time in milliseconds.
fn second_of(time_ms: i64) -> String {
    let mut text = String::new();
    query::format_rfc3339_ms(time_ms, &mut text);
    text.get(..19).unwrap_or(&text).replace('T', " ")
}

/// A duration for people: "850 ms", "12.3 s", "4 min 05 s", "3 h 07 min",
/// "2 d 04 h".
fn duration_text(ms: i64) -> String {
    let ms = ms.max(0);
    let seconds = ms / 1000;
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{}.{} s", seconds, ms % 1000 / 100),
        60_000..=3_599_999 => format!("{} min {:02} s", seconds / 60, seconds % 60),
        3_600_000..=86_399_999 => format!("{} h {:02} min", seconds / 3600, seconds / 60 % 60),
        _ => format!("{} d {:02} h", seconds / 86_400, seconds / 3600 % 24),
    }
}

#[cfg(test)]
mod gap_tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration_text(-5), "0 ms");
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(12_345), "12.3 s");
        assert_eq!(duration_text(245_000), "4 min 05 s");
        assert_eq!(duration_text(3 * 3_600_000 + 7 * 60_000 + 1), "3 h 07 min");
        assert_eq!(duration_text(2 * DAY_MS + 4 * 3_600_000), "2 d 04 h");
    }

    #[test]
    fn an_open_gap_has_no_end_and_its_duration_so_far() {
        let gap = hush_store::gaps::Gap {
            start_ms: 1_000,
            end_ms: None,
            reason: "stopped".into(),
        };
        let json = gap_json(&gap, 4_500);
        assert_eq!(json["end"], serde_json::Value::Null);
        assert_eq!(json["open"], true);
        assert_eq!(json["duration_ms"], 3_500);
        assert_eq!(json["start"], "1970-01-01T00:00:01.000Z");
        assert_eq!(second_of(1_000), "1970-01-01 00:00:01");
    }
}
