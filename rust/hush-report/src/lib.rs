//! One app's evidence report (issue 16) as one self-contained HTML file an
//! owner, a journalist or a researcher can keep, share and print: what
//! `hush report` writes on Linux and "Share report" in the Android app's App
//! detail hands to the share sheet (through hush-jni). Both build it here, so
//! the two reports are the same document.
//!
//! The file holds no script and refers to nothing outside itself (no
//! `src`, no `href`, no stylesheet or font to fetch; a Content Security
//! Policy of `default-src 'none'` says so to a browser as well). Every value
//! from the database, and the app version the caller passes, is escaped, and
//! control, bidirectional and invisible characters are shown as `[U+XXXX]`,
//! so a hostile host name or app label can neither add markup nor disguise
//! itself.
//!
//! The report is written to a temporary file beside the output and renamed
//! into place: a failure leaves no partial report. A UID without events is
//! an error ([`ReportError::NoEvents`]), not an empty report.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_attribution::Attribution;
use hush_store::evidence::{self, Evidence, CANONICAL_FORM};
use hush_store::query::format_rfc3339_ms;
use hush_store::visible;

pub mod bridge;

/// The bundled attribution, parsed once per process: the Android app asks
/// for every screen of hosts and for each report. A table that fails to load
/// is an empty attribution that says why, and the rest goes on.
pub fn attribution() -> &'static Attribution {
    static ATTRIBUTION: OnceLock<Attribution> = OnceLock::new();
    ATTRIBUTION.get_or_init(Attribution::bundled_or_empty)
}

/// What a written report covered, for the caller's closing line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub hosts: usize,
    pub attempts: u64,
    pub sha256: String,
}

/// What the report says that the database does not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// When the report was made, Unix milliseconds.
    pub generated_ms: i64,
    /// The app's version as the platform gives it (Android's `versionName`
    /// and `versionCode`); `None` where no platform describes apps (Linux).
    pub app_version: Option<String>,
}

/// Why no report was written. Each message names the path or UID at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// No database at this path (a report never creates one).
    NoDatabase(PathBuf),
    /// The database could not be opened or read.
    Store { db: PathBuf, error: String },
    /// The UID has no stored events: an empty report would prove nothing.
    NoEvents { uid: u32, db: PathBuf },
    /// The report could not be written where asked; nothing was left there.
    Write { out: PathBuf, error: String },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NoDatabase(db) => write!(
                f,
                "no database at {} (hush run --db FILE creates one)",
                db.display()
            ),
            ReportError::Store { db, error } => write!(f, "{}: {error}", db.display()),
            ReportError::NoEvents { uid, db } => write!(
                f,
                "no events for UID {uid} in {}: no report written",
                db.display()
            ),
            ReportError::Write { out, error } => {
                write!(f, "cannot write the report to {}: {error}", out.display())
            }
        }
    }
}

impl std::error::Error for ReportError {}

/// Builds the report of `uid` from the database at `db` and writes it to
/// `out`, whole or not at all. `app_version` is the app's version where the
/// platform knows it.
pub fn write_report(
    db: &Path,
    uid: u32,
    out: &Path,
    app_version: Option<&str>,
) -> Result<Written, ReportError> {
    if !db.is_file() {
        return Err(ReportError::NoDatabase(db.to_path_buf()));
    }
    let store = |e: hush_store::StoreError| ReportError::Store {
        db: db.to_path_buf(),
        error: e.to_string(),
    };
    let connection = hush_store::open(db).map_err(store)?;
    let evidence = evidence::evidence(&connection, uid)
        .map_err(store)?
        .ok_or_else(|| ReportError::NoEvents {
            uid,
            db: db.to_path_buf(),
        })?;
    let context = Context {
        generated_ms: now_ms(),
        app_version: app_version.map(str::to_string),
    };
    let html = render(&evidence, attribution(), &context);
    write_whole(out, html.as_bytes())?;
    Ok(Written {
        hosts: evidence.hosts.len(),
        attempts: evidence.attempts,
        sha256: evidence.sha256,
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Writes `bytes` to a new file beside `path` and renames it over `path`:
/// readers see the old file or the whole new one, and a failure removes
/// what it wrote.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    // One process may write reports from several threads (the Android app):
    // the temporary name is unique within it as well as across processes.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let cannot = |error: String| ReportError::Write {
        out: path.to_path_buf(),
        error,
    };
    let name = path
        .file_name()
        .ok_or_else(|| cannot("not a file name".into()))?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(cannot("it is a directory".into()));
    }
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = directory.join(temporary_name);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        cannot(e.to_string())
    })
}

/// Appends `text` escaped for HTML text and attribute values.
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // The one rule every display of stored text follows.
            c if visible::is_disguising(c) => visible::push_code_point(out, c),
            c => out.push(c),
        }
    }
}

fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_text(&mut out, text);
    out
}

/// `2025-01-29 08:15:02 UTC`.
fn time_text(time_ms: i64) -> String {
    let mut text = String::new();
    format_rfc3339_ms(time_ms, &mut text);
    format!("{} {} UTC", &text[..10], &text[11..19])
}

const STYLE: &str = "
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
       color: #1b1b1f; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #c4c6d0; padding-bottom: .2rem; }
p.sub { color: #44474f; margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid #e1e2ec; }
th { font-weight: 600; background: #f2f3fa; }
table.facts th { width: 12rem; background: none; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.host, code { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; overflow-wrap: anywhere; }
td.host { min-width: 14em; }
td.time { min-width: 7em; }
td.reason { min-width: 10em; }
.unknown { color: #74777f; font-style: italic; }
.blocked { color: #b3261e; }
.note { color: #44474f; font-size: .9em; }
code.digest { font-size: 1.05em; overflow-wrap: anywhere; }
svg { display: block; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9.5pt; }
  table.hosts { font-size: 8.5pt; }
  h2 { break-after: avoid; }
  tr, .keep { break-inside: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
";

/// The report as one HTML document.
pub fn render(evidence: &Evidence, attribution: &Attribution, context: &Context) -> String {
    let mut html = String::with_capacity(8192 + evidence.hosts.len() * 600);
    let app_name = match &evidence.app {
        Some(app) if !app.label.is_empty() => app.label.clone(),
        Some(app) if !app.packages.is_empty() => app.packages.join(", "),
        _ => format!("UID {}", evidence.uid),
    };
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"Hush {version}\">\n\
         <title>Hush evidence report: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        version = env!("CARGO_PKG_VERSION"),
        name = escaped(&app_name),
    );
    let _ = write!(
        html,
        "<header>\n<h1>What {name} tried to reach, and who is behind it</h1>\n\
         <p class=\"sub\">Hush evidence report, generated {generated}. Everything below \
         comes from the activity log Hush kept on the device.</p>\n</header>\n",
        name = escaped(&app_name),
        generated = time_text(context.generated_ms),
    );

    render_app(&mut html, evidence, context.app_version.as_deref());
    render_period(&mut html, evidence);
    render_hosts(&mut html, evidence, attribution);
    render_timeline(&mut html, evidence);
    render_screen_off(&mut html, evidence);
    render_versions(&mut html, evidence, attribution);
    let _ = write!(
        html,
        "<section id=\"digest\" class=\"keep\">\n<h2>Digest of the events</h2>\n\
         <p>SHA-256 of the {rows} stored events summarised here:</p>\n\
         <p><code class=\"digest\" id=\"sha256\">{sha}</code></p>\n\
         <p class=\"note\">Two copies of this report, or this report and the events \
         exported from the same database, can be compared by this digest. How it is \
         computed: {form}</p>\n</section>\n",
        rows = evidence.rows,
        sha = evidence.sha256,
        form = escaped(CANONICAL_FORM),
    );
    render_sources(&mut html, evidence, attribution);
    html.push_str(
        "<footer>\n<p class=\"note\">Made by Hush, an open-source on-device firewall \
         (GPL-3.0-or-later). Hush sees names and addresses, not the content of \
         encrypted traffic.</p>\n</footer>\n</body>\n</html>\n",
    );
    html
}

fn render_app(html: &mut String, evidence: &Evidence, app_version: Option<&str>) {
    html.push_str(
        "<section id=\"app\" class=\"keep\">\n<h2>The app</h2>\n<table class=\"facts\">\n",
    );
    let unknown = "<span class=\"unknown\">not known</span>";
    let (label, packages, system) = match &evidence.app {
        Some(app) => (
            if app.label.is_empty() {
                unknown.to_string()
            } else {
                escaped(&app.label)
            },
            if app.packages.is_empty() {
                unknown.to_string()
            } else {
                app.packages
                    .iter()
                    .map(|p| format!("<code>{}</code>", escaped(p)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            },
            if app.is_system { "yes" } else { "no" }.to_string(),
        ),
        None => (unknown.into(), unknown.into(), unknown.into()),
    };
    let _ = write!(
        html,
        "<tr><th>Label</th><td id=\"label\">{label}</td></tr>\n\
         <tr><th>Package</th><td id=\"packages\">{packages}</td></tr>\n\
         <tr><th>UID</th><td id=\"uid\">{uid}</td></tr>\n\
         <tr><th>Version</th>{version}</tr>\n\
         <tr><th>Part of the system</th><td>{system}</td></tr>\n</table>\n",
        uid = evidence.uid,
        version = match app_version {
            Some(version) if !version.is_empty() => {
                format!("<td id=\"version\">{}</td>", escaped(version))
            }
            _ => "<td id=\"version\" class=\"unknown\">not known (only the Android app can \
                  ask the platform for it)</td>"
                .to_string(),
        },
    );
    if evidence.app.is_none() {
        html.push_str(
            "<p class=\"note\">The platform never described this UID to Hush (on Linux, \
             UIDs are not apps).</p>\n",
        );
    }
    html.push_str("</section>\n");
}

fn render_period(html: &mut String, evidence: &Evidence) {
    let _ = write!(
        html,
        "<section id=\"period\" class=\"keep\">\n<h2>Period covered</h2>\n\
         <p>From <strong id=\"first\">{first}</strong> to <strong id=\"last\">{last}</strong>: \
         <span id=\"attempts\">{attempts}</span> attempts to reach \
         <span id=\"host-count\">{hosts}</span> hosts, kept as {rows} stored events (an app \
         retrying a blocked host within seconds is kept as one event with its count).</p>\n",
        first = time_text(evidence.first_ms),
        last = time_text(evidence.last_ms),
        attempts = evidence.attempts,
        hosts = evidence.hosts.len(),
        rows = evidence.rows,
    );
    if evidence.gaps.is_empty() {
        html.push_str(
            "<p>Hush recorded no period without filtering in this time: it saw every \
             attempt it could see.</p>\n",
        );
    } else {
        html.push_str(
            "<p>Hush was not filtering, and so saw nothing, during these periods:</p>\n\
             <table><thead><tr><th>From</th><th>To</th><th>Why</th></tr></thead><tbody>\n",
        );
        for gap in &evidence.gaps {
            let end = gap
                .end_ms
                .map_or_else(|| "still stopped".to_string(), time_text);
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                time_text(gap.start_ms),
                end,
                escaped(&gap.reason)
            );
        }
        html.push_str("</tbody></table>\n");
    }
    if evidence.dropped_events > 0 {
        let _ = writeln!(
            html,
            "<p class=\"note\">Over this database's life, {} events could not be stored \
             (the log was full or failing); they are missing from every count.</p>",
            evidence.dropped_events
        );
    }
    html.push_str("</section>\n");
}

fn render_hosts(html: &mut String, evidence: &Evidence, attribution: &Attribution) {
    html.push_str(
        "<section id=\"hosts\">\n<h2>Every host contacted</h2>\n\
         <p class=\"note\">Allowed: Hush let the attempt through. Blocked: Hush stopped it. \
         Failed: it could not be completed (no answer upstream, say). The reason is the rule \
         that decided: <code>list:NAME</code> a blocklist, <code>allow:NAME</code> an \
         allowlist, <code>app:MODE</code> the app's mode, <code>rule:…</code> and \
         <code>app-rule:…</code> the owner's domain rules, <code>unlisted</code> on no \
         list; each with its number of attempts.</p>\n\
         <table class=\"hosts\">\n<thead><tr><th>Host</th><th>Company</th><th>Category</th>\
         <th>Protocol</th><th>First seen</th><th>Last seen</th><th class=\"n\">Allowed</th>\
         <th class=\"n\">Blocked</th><th class=\"n\">Failed</th><th>Reason</th></tr></thead>\n<tbody>\n",
    );
    for host in &evidence.hosts {
        let (company, category) = match attribution.lookup(&host.host) {
            Some(entry) => {
                let mut company = escaped(&entry.company);
                if let Some(parent) = &entry.parent {
                    let _ = write!(company, " ({})", escaped(parent));
                }
                if let Some(country) = &entry.country {
                    let _ = write!(company, ", {}", escaped(country));
                }
                (company, escaped(entry.category.as_str()))
            }
            None => (
                "<span class=\"unknown\">not in Hush's table</span>".to_string(),
                "<span class=\"unknown\">—</span>".to_string(),
            ),
        };
        let shown_host = if host.host.is_empty() {
            "<span class=\"unknown\">no name (an address only)</span>".to_string()
        } else {
            escaped(&host.host)
        };
        let protocols = host
            .protocols
            .iter()
            .map(|p| escaped(p))
            .collect::<Vec<_>>()
            .join(", ");
        let reasons = host
            .reasons
            .iter()
            .map(|(reason, n)| format!("<code>{}</code> ×{n}", escaped(reason)))
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = writeln!(
            html,
            "<tr class=\"host\" data-host=\"{attr}\" data-allowed=\"{a}\" data-blocked=\"{b}\" \
             data-failed=\"{f}\"><td class=\"host\">{shown_host}</td><td>{company}</td>\
             <td>{category}</td><td>{protocols}</td><td class=\"time\">{first}</td>\
             <td class=\"time\">{last}</td><td class=\"n\">{a}</td>\
             <td class=\"n{blocked}\">{b}</td><td class=\"n\">{f}</td>\
             <td class=\"reason\">{reasons}</td></tr>",
            attr = escaped(&host.host),
            a = host.allowed,
            b = host.blocked,
            f = host.failed,
            blocked = if host.blocked > 0 { " blocked" } else { "" },
            first = time_text(host.first_ms),
            last = time_text(host.last_ms),
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

/// What the app tried while the screen was off: in all, and by host.
fn render_screen_off(html: &mut String, evidence: &Evidence) {
    html.push_str("<section id=\"screen\" class=\"keep\">\n<h2>While the screen was off</h2>\n");
    let since = match evidence.screen_known_since_ms {
        Some(since) if since > evidence.first_ms => format!(
            "<p class=\"note\">Hush has recorded the screen's state since {}; attempts before \
             that are counted as made with the screen on, which is not known.</p>\n",
            time_text(since)
        ),
        Some(_) => String::new(),
        None => "<p class=\"note unknown\">This database does not say since when the screen's \
                 state is recorded: attempts stored before it was are counted as made with the \
                 screen on.</p>\n"
            .to_string(),
    };
    let total = evidence.screen_off;
    if total.attempts() == 0 {
        let _ = write!(
            html,
            "<p id=\"screen-off-total\" data-attempts=\"0\">No attempt was made with the screen \
             off.</p>\n{since}</section>\n"
        );
        return;
    }
    let _ = write!(
        html,
        "<p id=\"screen-off-total\" data-attempts=\"{n}\"><strong>{n} of {all} attempts were \
         made with the screen off</strong> ({a} allowed, {b} blocked, {f} failed): the app \
         reached out while nobody was using the phone.</p>\n{since}\
         <table class=\"hosts\">\n<thead><tr><th>Host</th><th class=\"n\">Allowed</th>\
         <th class=\"n\">Blocked</th><th class=\"n\">Failed</th></tr></thead>\n<tbody>\n",
        n = total.attempts(),
        all = evidence.attempts,
        a = total.allowed,
        b = total.blocked,
        f = total.failed,
    );
    for host in evidence
        .hosts
        .iter()
        .filter(|h| h.screen_off.attempts() > 0)
    {
        let shown_host = if host.host.is_empty() {
            "<span class=\"unknown\">no name (an address only)</span>".to_string()
        } else {
            escaped(&host.host)
        };
        let off = host.screen_off;
        let _ = writeln!(
            html,
            "<tr class=\"screen-off\" data-host=\"{attr}\" data-attempts=\"{n}\">\
             <td class=\"host\">{shown_host}</td><td class=\"n\">{a}</td>\
             <td class=\"n\">{b}</td><td class=\"n\">{f}</td></tr>",
            attr = escaped(&host.host),
            n = off.attempts(),
            a = off.allowed,
            b = off.blocked,
            f = off.failed,
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

fn render_timeline(html: &mut String, evidence: &Evidence) {
    const WIDTH: u64 = 240;
    html.push_str(
        "<section id=\"timeline\">\n<h2>Per day</h2>\n\
         <p class=\"note\">Days in UTC; days without attempts are left out. Bars: \
         <span class=\"blocked\">blocked</span>, allowed (blue), failed (grey).</p>\n\
         <table class=\"days\">\n<thead><tr><th>Day</th><th class=\"n\">Allowed</th>\
         <th class=\"n\">Blocked</th><th class=\"n\">Failed</th><th>Attempts</th></tr></thead>\n<tbody>\n",
    );
    let busiest = evidence
        .days
        .iter()
        .map(|d| d.allowed + d.blocked + d.failed)
        .max()
        .unwrap_or(1)
        .max(1);
    for day in &evidence.days {
        let total = day.allowed + day.blocked + day.failed;
        let mut bars = String::new();
        let mut x = 0;
        for (count, colour) in [
            (day.blocked, "#b3261e"),
            (day.allowed, "#3a5ba9"),
            (day.failed, "#8e9099"),
        ] {
            // At least a pixel for any count, so a single attempt shows.
            let width = if count == 0 {
                0
            } else {
                (count * WIDTH / busiest).max(1)
            };
            if width > 0 {
                let _ = write!(
                    bars,
                    "<rect x=\"{x}\" y=\"0\" width=\"{width}\" height=\"12\" fill=\"{colour}\"/>"
                );
                x += width;
            }
        }
        let _ = writeln!(
            html,
            "<tr class=\"day\" data-day=\"{d}\"><td>{d}</td><td class=\"n\">{a}</td>\
             <td class=\"n\">{b}</td><td class=\"n\">{f}</td><td><svg width=\"{WIDTH}\" \
             height=\"12\" viewBox=\"0 0 {WIDTH} 12\" role=\"img\" aria-label=\"{total} \
             attempts\">{bars}</svg></td></tr>",
            d = escaped(&day.day),
            a = day.allowed,
            b = day.blocked,
            f = day.failed,
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

fn render_versions(html: &mut String, evidence: &Evidence, attribution: &Attribution) {
    let table = match attribution.unavailable() {
        None => format!(
            "Hush's own table, {} entries, each with its source (below)",
            attribution.table().len()
        ),
        Some(reason) => format!("unavailable ({}): no host is attributed", escaped(reason)),
    };
    let _ = write!(
        html,
        "<section id=\"versions\" class=\"keep\">\n<h2>Versions</h2>\n<table class=\"facts\">\n\
         <tr><th>Hush</th><td id=\"hush-version\">{version}</td></tr>\n\
         <tr><th>Database schema</th><td>{schema}</td></tr>\n\
         <tr><th>Companies and categories</th><td>{table}</td></tr>\n</table>\n",
        version = env!("CARGO_PKG_VERSION"),
        schema = evidence.schema_version,
    );
    if evidence.lists.is_empty() {
        html.push_str(
            "<p class=\"unknown\">The database records no blocklist (lists are recorded \
             when Hush loads them).</p>\n",
        );
    } else {
        html.push_str(
            "<p>The blocklists as last loaded. Hush records each list's name, origin, \
             entries and when it was loaded, not a version number; the entries are those of \
             the latest load, which may be later than some events.</p>\n\
             <table><thead><tr><th>List</th><th>Origin</th><th>On</th>\
             <th class=\"n\">Entries</th><th>Last loaded</th></tr></thead><tbody>\n",
        );
        for list in &evidence.lists {
            let loaded = list
                .updated_ms
                .map_or_else(|| "never".to_string(), time_text);
            let _ = writeln!(
                html,
                "<tr class=\"list\"><td>{}</td><td><code>{}</code></td><td>{}</td>\
                 <td class=\"n\">{}</td><td>{}</td></tr>",
                escaped(&list.name),
                escaped(&list.origin),
                if list.enabled { "yes" } else { "no" },
                list.entries,
                loaded
            );
        }
        html.push_str("</tbody></table>\n");
    }
    html.push_str("</section>\n");
}

/// The sources of the attributions the report used, as text: a link would
/// be a reference out of the file.
fn render_sources(html: &mut String, evidence: &Evidence, attribution: &Attribution) {
    let mut used: Vec<&hush_attribution::Entry> = evidence
        .hosts
        .iter()
        .filter_map(|host| attribution.lookup(&host.host))
        .collect();
    used.sort_by(|a, b| a.suffix.cmp(&b.suffix));
    used.dedup_by(|a, b| a.suffix == b.suffix);
    if used.is_empty() {
        return;
    }
    html.push_str(
        "<section id=\"sources\" class=\"keep\">\n<h2>Sources of the attributions</h2>\n\
         <p class=\"note\">A host is attributed when it is, or ends with, a name below; each \
         name is attributed on the public page given.</p>\n\
         <table><thead><tr><th>Name</th><th>Company</th><th>What for</th><th>Source</th>\
         </tr></thead><tbody>\n",
    );
    for entry in used {
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escaped(&entry.suffix),
            escaped(&entry.company),
            escaped(entry.note.as_deref().unwrap_or(entry.category.as_str())),
            escaped(&entry.source),
        );
    }
    html.push_str("</tbody></table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_disguising_characters_are_escaped() {
        assert_eq!(
            escaped("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(
            escaped("a\u{202E}b\u{200B}c\nd\0"),
            "a[U+202E]b[U+200B]c[U+000A]d[U+0000]"
        );
        assert_eq!(escaped("tracker.example"), "tracker.example");
        assert_eq!(escaped("bücher.example"), "bücher.example");
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let directory = std::env::temp_dir().join(format!("hush-evidence-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        // The output is a directory: the rename cannot replace it.
        let target = directory.join("taken");
        std::fs::create_dir_all(&target).unwrap();
        assert!(write_whole(&target, b"x").is_err());
        let left: Vec<_> = std::fs::read_dir(&directory)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("taken")]);
        let good = directory.join("report.html");
        write_whole(&good, b"whole").unwrap();
        assert_eq!(std::fs::read(&good).unwrap(), b"whole");
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn the_version_given_is_shown_escaped_and_a_missing_one_is_not_known() {
        let directory = std::env::temp_dir().join(format!("hush-report-v-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let db = directory.join("hush.db");
        let connection = hush_store::open(&db).unwrap();
        connection
            .execute(
                "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason)
                 VALUES (1740787200000, 10123, 'tracker.example', '198.18.0.9', 443, 'tcp',
                         'sni', 'blocked', 'unlisted')",
                [],
            )
            .unwrap();
        drop(connection);
        let out = directory.join("report.html");
        let written = write_report(&db, 10123, &out, Some("2.1 <b>\u{202E}")).unwrap();
        assert_eq!((written.hosts, written.attempts), (1, 1));
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(
            html.contains("<td id=\"version\">2.1 &lt;b&gt;[U+202E]</td>"),
            "{html}"
        );
        write_report(&db, 10123, &out, None).unwrap();
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(html.contains("<td id=\"version\" class=\"unknown\">not known"));
        assert_eq!(
            write_report(&db, 4242, &directory.join("none.html"), None),
            Err(ReportError::NoEvents {
                uid: 4242,
                db: db.clone()
            })
        );
        assert!(!directory.join("none.html").exists());
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
