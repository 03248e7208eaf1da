//! `hush rule` and `hush log`: the user's rules and the activity log, read
//! and changed in the database a running `hush run --db` uses.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use hush_store::rules::{self, AppMode, AppOption, DomainAction, Network};
use hush_store::visible::visible;
use hush_store::{EventFilter, StoredEvent};

#[derive(Subcommand)]
pub enum RuleCommand {
    /// Set an app's mode: block-trackers (the default), block-all or allow-all.
    App {
        uid: u32,
        /// block-trackers, block-all or allow-all; omit with --clear.
        #[arg(required_unless_present = "clear")]
        mode: Option<String>,
        /// any (the default), wifi or mobile.
        #[arg(long, default_value = "any")]
        network: String,
        /// Remove the app's mode on that network instead.
        #[arg(long, conflicts_with = "mode")]
        clear: bool,
        #[arg(long)]
        db: PathBuf,
    },
    /// Add or remove a domain rule, for every app or for one.
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
    },
    /// Set the mode for flows whose app cannot be told (default: block-trackers).
    UnknownOwner {
        /// block-trackers, block-all or allow-all.
        mode: String,
        #[arg(long)]
        db: PathBuf,
    },
    /// Let an app (or, with `all`, every app without a choice of its own)
    /// reach only addresses that a DNS answer through Hush gave it.
    ResolvedOnly {
        /// A uid, or `all` for the default.
        who: String,
        /// on or off; `default` removes an app's own choice.
        setting: String,
        #[arg(long)]
        db: PathBuf,
    },
    /// Make an app (or, with `all`, every app without a choice of its own)
    /// "strict": its TLS, HTTP and QUIC flows whose name cannot be read are
    /// reset, instead of being judged by their address.
    Strict {
        /// A uid, or `all` for the default.
        who: String,
        /// on or off; `default` removes an app's own choice.
        setting: String,
        #[arg(long)]
        db: PathBuf,
    },
    /// Show every stored rule.
    List {
        #[arg(long)]
        db: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Allow or block a domain and its subdomains.
    Add {
        domain: String,
        /// allow or block.
        action: String,
        /// Only for this app; without it, for every app.
        #[arg(long)]
        uid: Option<u32>,
        #[arg(long)]
        db: PathBuf,
    },
    Remove {
        domain: String,
        #[arg(long)]
        uid: Option<u32>,
        #[arg(long)]
        db: PathBuf,
    },
}

/// Which events `hush log` and `hush export` take.
#[derive(Args)]
pub struct EventFilterArgs {
    /// Only this app's events.
    #[arg(long)]
    uid: Option<u32>,
    /// blocked, allowed or failed.
    #[arg(long)]
    action: Option<String>,
    /// Only hosts containing this text.
    #[arg(long)]
    host: Option<String>,
}

impl EventFilterArgs {
    /// The filter, from `since_ms` on; an unknown action is an error.
    pub(crate) fn filter(self, since_ms: Option<i64>) -> Result<EventFilter, String> {
        Ok(EventFilter {
            uid: self.uid,
            action: self.action.map(|a| parse_action(&a)).transpose()?,
            host_contains: self.host,
            since_ms,
            until_ms: None,
        })
    }
}

#[derive(Args)]
pub struct LogArgs {
    #[arg(long)]
    db: PathBuf,
    #[command(flatten)]
    which: EventFilterArgs,
    /// Only the last this many minutes.
    #[arg(long)]
    minutes: Option<u32>,
    /// At most this many events, newest first.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Skip this many (the next page).
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

/// Opens an existing database; `hush rule` and `hush log` never create one
/// where a typo put it.
pub(crate) fn open_existing(path: &Path) -> Result<hush_store::Connection, String> {
    if !path.is_file() {
        return Err(format!(
            "no database at {} (hush run --db FILE creates one)",
            path.display()
        ));
    }
    hush_store::open(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn rule(command: RuleCommand) -> Result<(), String> {
    let text = |e: hush_store::StoreError| e.to_string();
    match command {
        RuleCommand::App {
            uid,
            mode,
            network,
            clear,
            db,
        } => {
            let network: Network = rules::parse_word(&network).map_err(text)?;
            check_uid(uid)?;
            let connection = open_existing(&db)?;
            if !clear {
                warn_if_unknown(&connection, uid);
            }
            if clear {
                let removed = rules::clear_app_mode(&connection, uid, network).map_err(text)?;
                println!(
                    "app {uid} on {network}: {}",
                    if removed {
                        "mode removed"
                    } else {
                        "had no mode"
                    }
                );
            } else {
                let mode: AppMode = rules::parse_word(&mode.unwrap_or_default()).map_err(text)?;
                rules::set_app_mode(&connection, uid, network, mode).map_err(text)?;
                println!("app {uid} on {network}: {mode}");
            }
        }
        RuleCommand::Domain { command } => match command {
            DomainCommand::Add {
                domain,
                action,
                uid,
                db,
            } => {
                let action: DomainAction = rules::parse_word(&action).map_err(text)?;
                if let Some(uid) = uid {
                    check_uid(uid)?;
                }
                let connection = open_existing(&db)?;
                if let Some(uid) = uid {
                    warn_if_unknown(&connection, uid);
                }
                let stored =
                    rules::add_domain_rule(&connection, uid, &domain, action).map_err(text)?;
                println!("{action} {stored} for {}", scope(uid));
            }
            DomainCommand::Remove { domain, uid, db } => {
                let connection = open_existing(&db)?;
                let removed = rules::remove_domain_rule(&connection, uid, &domain).map_err(text)?;
                if !removed {
                    return Err(format!("no rule for {domain} for {}", scope(uid)));
                }
                println!("removed the rule for {domain} for {}", scope(uid));
            }
        },
        RuleCommand::UnknownOwner { mode, db } => {
            let mode: AppMode = rules::parse_word(&mode).map_err(text)?;
            let connection = open_existing(&db)?;
            rules::set_setting(&connection, rules::UNKNOWN_OWNER_MODE, mode.as_str())
                .map_err(text)?;
            println!("apps that cannot be told: {mode}");
        }
        RuleCommand::ResolvedOnly { who, setting, db } => {
            set_app_option(AppOption::ResolvedOnly, &who, &setting, &db)?;
        }
        RuleCommand::Strict { who, setting, db } => {
            set_app_option(AppOption::Strict, &who, &setting, &db)?;
        }
        RuleCommand::List { db } => {
            let connection = open_existing(&db)?;
            if let Some(mode) =
                rules::setting(&connection, rules::UNKNOWN_OWNER_MODE).map_err(text)?
            {
                println!("apps that cannot be told: {}", visible(&mode));
            }
            for option in AppOption::ALL {
                let name = option_name(option);
                let choices = rules::app_option(&connection, option).map_err(text)?;
                if choices.default {
                    println!("{name}, for apps without their own choice: on");
                }
                for (uid, on) in choices.apps {
                    println!("app {uid}: {name} {}", on_off(on));
                }
            }
            for (uid, network, mode) in rules::app_modes(&connection).map_err(text)? {
                println!("app {uid} on {network}: {mode}");
            }
            for rule in rules::domain_rules(&connection).map_err(text)? {
                println!(
                    "{} {} for {}",
                    rule.action,
                    visible(&rule.domain),
                    scope(rule.uid)
                );
            }
            for list in rules::list_sources(&connection).map_err(text)? {
                println!(
                    "list {} ({}): {} entries, {}",
                    visible(&list.name),
                    visible(&list.origin),
                    list.entries,
                    if list.enabled { "on" } else { "off" }
                );
            }
        }
    }
    Ok(())
}

/// `u32::MAX` is `(uid_t) -1`, which Linux and Android give no process:
/// a rule for it could never apply.
fn check_uid(uid: u32) -> Result<(), String> {
    if uid == u32::MAX {
        return Err(format!(
            "{uid} is not a uid any app can have (it means \"no uid\")"
        ));
    }
    Ok(())
}

/// A rule for a uid no app or user is known by is kept (the app may be
/// installed later), with a note saying so.
fn warn_if_unknown(connection: &hush_store::Connection, uid: u32) {
    let labelled = rules::app_labels(connection).is_ok_and(|labels| labels.contains_key(&uid));
    let seen = hush_store::query::app_summaries(connection, 0, i64::MAX)
        .is_ok_and(|apps| apps.iter().any(|a| a.uid == Some(uid)));
    if !labelled && !seen && crate::report::user_name(uid).is_none() {
        eprintln!(
            "hush: note: no app or user with uid {uid} is known yet; the rule is kept and \
             applies once one appears"
        );
    }
}

/// How `hush rule` names a per-app option in what it prints.
fn option_name(option: AppOption) -> &'static str {
    match option {
        AppOption::ResolvedOnly => "resolved only",
        AppOption::Strict => "strict",
    }
}

/// `hush rule resolved-only|strict UID|all on|off|default`: an app's own
/// choice of `option`, or the default for every app without one.
fn set_app_option(option: AppOption, who: &str, setting: &str, db: &Path) -> Result<(), String> {
    let name = option_name(option);
    let on = match setting {
        "on" => Some(true),
        "off" => Some(false),
        "default" => None,
        other => {
            return Err(format!(
                "unknown setting {other:?} (expected on, off, or default for an app)"
            ))
        }
    };
    if who == "all" {
        let on = on.ok_or("`all` is the default itself: give on or off")?;
        let connection = open_existing(db)?;
        rules::set_app_option_default(&connection, option, on).map_err(|e| e.to_string())?;
        println!("{name}, for apps without their own choice: {}", on_off(on));
        return Ok(());
    }
    let uid: u32 = who
        .parse()
        .map_err(|_| format!("{who:?} is neither a uid nor `all`"))?;
    check_uid(uid)?;
    let connection = open_existing(db)?;
    match on {
        Some(on) => {
            warn_if_unknown(&connection, uid);
            rules::set_app_option(&connection, option, uid, None, on).map_err(|e| e.to_string())?;
            println!("app {uid}: {name} {}", on_off(on));
        }
        None => {
            let removed =
                rules::clear_app_option(&connection, option, uid).map_err(|e| e.to_string())?;
            println!(
                "app {uid}: {name} {}",
                if removed {
                    "follows the default"
                } else {
                    "had no choice of its own"
                }
            );
        }
    }
    Ok(())
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn scope(uid: Option<u32>) -> String {
    uid.map_or_else(|| "every app".to_string(), |uid| format!("app {uid}"))
}

/// Checks an action filter: `blocked`, `allowed` or `failed`.
pub(crate) fn parse_action(action: &str) -> Result<String, String> {
    if ["blocked", "allowed", "failed"].contains(&action) {
        Ok(action.to_string())
    } else {
        Err(format!(
            "unknown action {action:?} (expected blocked, allowed or failed)"
        ))
    }
}

pub fn log(args: LogArgs) -> Result<(), String> {
    let since_ms = args.minutes.map(|minutes| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        now - i64::from(minutes) * 60_000
    });
    let filter = args.which.filter(since_ms)?;
    let connection = open_existing(&args.db)?;
    let events = hush_store::recent_events(&connection, &filter, args.limit, args.offset)
        .map_err(|e| e.to_string())?;
    for event in &events {
        if args.json {
            println!("{}", to_json(event)?);
        } else {
            // A row of repeats (an app retrying a blocked attempt) says
            // how many attempts it stands for. The host (any name an app
            // sent) and the reason (a list's name) are shown escaped, so a
            // bidirectional control or a newline cannot disguise the row.
            let repeats = match event.repeats {
                1 => String::new(),
                n => format!(" x{n}"),
            };
            println!(
                "{} {:>6} {:<8} {:<5} {:<40} {} {}{repeats}",
                event.time_ms,
                event.uid.map_or_else(|| "-".to_string(), |u| u.to_string()),
                visible(&event.action),
                visible(&event.protocol),
                visible(&event.host),
                visible(&event.ip),
                visible(&event.reason)
            );
        }
    }
    Ok(())
}

/// One event as a JSON line, the same shape `hush export --format json` writes.
fn to_json(event: &StoredEvent) -> Result<String, String> {
    let mut time = String::new();
    serde_json::to_string(&hush_store::query::JsonEvent::of(event, &mut time))
        .map_err(|e| e.to_string())
}
