//! The activity log and the rules, read and changed by path: the UI calls
//! these whether or not a session runs. Each entry is one call into
//! [`hush_session::api`]; a running session sees rule changes after
//! `reloadRules`.
//!
//! A uid argument below zero means "none": every app for a query or a
//! domain rule (Android's `Process.INVALID_UID` is -1).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::PathBuf;

use hush_session::api::{self, ApiError};
use jni::objects::{JClass, JString};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, Env, EnvUnowned};

use crate::{arg_string, entry, BridgeError};

impl From<ApiError> for BridgeError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Invalid(why) => BridgeError::InvalidArgument(why),
            other => BridgeError::IllegalState(other.to_string()),
        }
    }
}

fn path(env: &Env<'_>, database: &JString<'_>) -> Result<PathBuf, BridgeError> {
    let path = arg_string(env, database)?;
    if path.is_empty() {
        return Err(BridgeError::InvalidArgument("the path is empty".into()));
    }
    Ok(PathBuf::from(path))
}

fn limit(value: jint) -> Result<u32, BridgeError> {
    u32::try_from(value)
        .map_err(|_| BridgeError::InvalidArgument(format!("a limit of {value} is negative")))
}

fn skip(value: jint) -> Result<u32, BridgeError> {
    u32::try_from(value)
        .map_err(|_| BridgeError::InvalidArgument(format!("an offset of {value} is negative")))
}

/// A time bound from Kotlin: `Long.MIN_VALUE` leaves that end open.
fn bound(ms: jlong) -> Option<i64> {
    (ms != jlong::MIN).then_some(ms)
}

/// A duplicate of the caller's descriptor, which stays the caller's.
fn borrowed_file(fd: jint) -> Result<File, BridgeError> {
    let not_open = |e: std::io::Error| {
        BridgeError::InvalidArgument(format!("the descriptor {fd} is not open: {e}"))
    };
    // SAFETY: F_GETFD only reads the descriptor's flags; any int is allowed.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(not_open(std::io::Error::last_os_error()));
    }
    // SAFETY: the descriptor is open and the caller keeps it open for the
    // length of this call, which the borrow does not outlive.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned: OwnedFd = borrowed.try_clone_to_owned().map_err(not_open)?;
    Ok(File::from(owned))
}

fn export(
    env: &Env<'_>,
    database: &JString<'_>,
    fd: jint,
    format: &JString<'_>,
    since_ms: jlong,
    until_ms: jlong,
) -> Result<i64, BridgeError> {
    let (database, format) = (path(env, database)?, arg_string(env, format)?);
    let mut out = BufWriter::new(borrowed_file(fd)?);
    let count = api::export(
        &database,
        &format,
        bound(since_ms),
        bound(until_ms),
        &mut out,
    )?;
    out.flush().map_err(ApiError::Io)?;
    Ok(count as i64)
}

/// `recentEvents(database, queryJson): String`: a page of events, JSON.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn recent_events<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    query: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        Ok(api::recent_events(
            &path(env, &database)?,
            &arg_string(env, &query)?,
        )?)
    })
}

/// `appActivity(database, sinceMs, untilMs): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn app_activity<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    since_ms: jlong,
    until_ms: jlong,
) -> JString<'local> {
    entry(env, |env| {
        Ok(api::app_activity(
            &path(env, &database)?,
            since_ms,
            until_ms,
        )?)
    })
}

/// `screenOffApps(database, sinceMs, untilMs): String`: the apps that made
/// attempts with the screen off in the range, JSON
/// ([`api::screen_off_apps`]).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn screen_off_apps<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    since_ms: jlong,
    until_ms: jlong,
) -> JString<'local> {
    entry(env, |env| {
        Ok(api::screen_off_apps(
            &path(env, &database)?,
            since_ms,
            until_ms,
        )?)
    })
}

/// `topBlockedHosts(database, sinceMs, untilMs, uid, limit): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn top_blocked_hosts<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    since_ms: jlong,
    until_ms: jlong,
    uid: jint,
    count: jint,
) -> JString<'local> {
    entry(env, |env| {
        let database = path(env, &database)?;
        Ok(api::top_blocked_hosts(
            &database,
            since_ms,
            until_ms,
            uid.into(),
            limit(count)?,
        )?)
    })
}

/// `dailyTimeline(database, sinceMs, untilMs, uid, utcOffsetMinutes): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn daily_timeline<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    since_ms: jlong,
    until_ms: jlong,
    uid: jint,
    utc_offset_minutes: jint,
) -> JString<'local> {
    entry(env, |env| {
        let database = path(env, &database)?;
        Ok(api::daily_timeline(
            &database,
            since_ms,
            until_ms,
            uid.into(),
            utc_offset_minutes,
        )?)
    })
}

/// `appModes(database): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn app_modes<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> JString<'local> {
    entry(env, |env| Ok(api::app_modes(&path(env, &database)?)?))
}

/// `setAppMode(database, uid, network, mode)`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_app_mode<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    network: JString<'local>,
    mode: JString<'local>,
) {
    entry(env, |env| {
        let (database, network, mode) = (
            path(env, &database)?,
            arg_string(env, &network)?,
            arg_string(env, &mode)?,
        );
        Ok(api::set_app_mode(&database, uid.into(), &network, &mode)?)
    })
}

/// `clearAppMode(database, uid, network): Boolean`: whether there was one.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn clear_app_mode<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    network: JString<'local>,
) -> jboolean {
    entry(env, |env| {
        let (database, network) = (path(env, &database)?, arg_string(env, &network)?);
        Ok(api::clear_app_mode(&database, uid.into(), &network)?)
    })
}

/// `appOption(database, option): String`: the default and the apps' own
/// choices of `option` (`resolvedOnly` or `strict`).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn app_option<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    option: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        let (database, option) = (path(env, &database)?, arg_string(env, &option)?);
        Ok(api::app_option(&database, &option)?)
    })
}

/// `setAppOption(database, option, uid, packageName, on)`; an empty
/// `packageName` makes the choice for the UID, not for one package.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_app_option<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    option: JString<'local>,
    uid: jint,
    package: JString<'local>,
    on: jboolean,
) {
    entry(env, |env| {
        let (database, option) = (path(env, &database)?, arg_string(env, &option)?);
        let package = arg_string(env, &package)?;
        Ok(api::set_app_option(
            &database,
            &option,
            uid.into(),
            &package,
            on,
        )?)
    })
}

/// `clearAppOption(database, option, uid): Boolean`: whether the app had a
/// choice.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn clear_app_option<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    option: JString<'local>,
    uid: jint,
) -> jboolean {
    entry(env, |env| {
        let (database, option) = (path(env, &database)?, arg_string(env, &option)?);
        Ok(api::clear_app_option(&database, &option, uid.into())?)
    })
}

/// `setAppOptionDefault(database, option, on)`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_app_option_default<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    option: JString<'local>,
    on: jboolean,
) {
    entry(env, |env| {
        let (database, option) = (path(env, &database)?, arg_string(env, &option)?);
        Ok(api::set_app_option_default(&database, &option, on)?)
    })
}

/// `trustedApps(database): String`: the apps trusted with "allow all, not
/// inspected", JSON `[{"uid", "package"}]`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn trusted_apps<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> JString<'local> {
    entry(env, |env| Ok(api::trusted_apps(&path(env, &database)?)?))
}

/// `setTrusted(database, uid, packageName, trusted): Boolean`: whether
/// anything changed; an empty `packageName` trusts the UID, not one package.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_trusted<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    package: JString<'local>,
    trusted: jboolean,
) -> jboolean {
    entry(env, |env| {
        let (database, package) = (path(env, &database)?, arg_string(env, &package)?);
        Ok(api::set_trusted(&database, uid.into(), &package, trusted)?)
    })
}

/// `domainRules(database): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn domain_rules<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> JString<'local> {
    entry(env, |env| Ok(api::domain_rules(&path(env, &database)?)?))
}

/// `addDomainRule(database, uid, domain, action): String`: the domain as stored.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn add_domain_rule<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    domain: JString<'local>,
    action: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        let (database, domain, action) = (
            path(env, &database)?,
            arg_string(env, &domain)?,
            arg_string(env, &action)?,
        );
        Ok(api::add_domain_rule(
            &database,
            uid.into(),
            &domain,
            &action,
        )?)
    })
}

/// `removeDomainRule(database, uid, domain): Boolean`: whether there was one.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn remove_domain_rule<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    domain: JString<'local>,
) -> jboolean {
    entry(env, |env| {
        let (database, domain) = (path(env, &database)?, arg_string(env, &domain)?);
        Ok(api::remove_domain_rule(&database, uid.into(), &domain)?)
    })
}

/// `domainRulesMatching(database, text, limit, offset): String`: a page of
/// the rules whose domain contains `text`, with the total, JSON.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn domain_rules_matching<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    text: JString<'local>,
    count: jint,
    offset: jint,
) -> JString<'local> {
    entry(env, |env| {
        let (database, text) = (path(env, &database)?, arg_string(env, &text)?);
        Ok(api::domain_rules_matching(
            &database,
            &text,
            limit(count)?,
            skip(offset)?,
        )?)
    })
}

/// `domainRulesFor(database, domain): String`: the rules for exactly that
/// domain, JSON; `IllegalArgumentException` when it cannot be a rule's.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn domain_rules_for<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    domain: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        let (database, domain) = (path(env, &database)?, arg_string(env, &domain)?);
        Ok(api::domain_rules_for(&database, &domain)?)
    })
}

/// `addDomainRuleForPackage(database, uid, packageName, domain, action): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn add_domain_rule_for_package<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    package: JString<'local>,
    domain: JString<'local>,
    action: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        let (database, package, domain, action) = (
            path(env, &database)?,
            arg_string(env, &package)?,
            arg_string(env, &domain)?,
            arg_string(env, &action)?,
        );
        Ok(api::add_domain_rule_for_package(
            &database,
            uid.into(),
            &package,
            &domain,
            &action,
        )?)
    })
}

/// `appHosts(database, uid, sinceMs, untilMs, limit, offset): String`: a
/// page of one app's hosts (uid < 0: the owner not known) with the total,
/// JSON; `Long.MIN_VALUE` leaves an end open.
#[jni_mangle("org.hush.android.core.NativeCore")]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn app_hosts<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    since_ms: jlong,
    until_ms: jlong,
    count: jint,
    offset: jint,
) -> JString<'local> {
    entry(env, |env| {
        let database = path(env, &database)?;
        Ok(api::app_hosts(
            &database,
            uid.into(),
            bound(since_ms),
            bound(until_ms),
            limit(count)?,
            skip(offset)?,
        )?)
    })
}

/// `listSources(database): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn list_sources<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> JString<'local> {
    entry(env, |env| Ok(api::list_sources(&path(env, &database)?)?))
}

/// `retention(database): String`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn retention<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> JString<'local> {
    entry(env, |env| Ok(api::retention(&path(env, &database)?)?))
}

/// `setRetention(database, maxAgeDays: Int, maxEvents: Long)`: negative is no limit.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_retention<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    max_age_days: jint,
    max_events: jlong,
) {
    entry(env, |env| {
        Ok(api::set_retention(
            &path(env, &database)?,
            max_age_days.into(),
            max_events,
        )?)
    })
}

/// `clearActivity(database): Long`: the events deleted.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn clear_activity<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> jlong {
    entry(env, |env| {
        Ok(api::clear_activity(&path(env, &database)?)? as i64)
    })
}

/// `exportEvents(database, fd, format, sinceMs, untilMs): Long`: writes CSV
/// or JSON Lines to `fd` (left open); `Long.MIN_VALUE` leaves an end open.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn export_events<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    fd: jint,
    format: JString<'local>,
    since_ms: jlong,
    until_ms: jlong,
) -> jlong {
    entry(env, |env| {
        export(env, &database, fd, &format, since_ms, until_ms)
    })
}

/// `checkList(path, kind): String`: what the list file holds (JSON), or
/// `IllegalArgumentException` when it is unreadable, too large or not a list.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn check_list<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    list: JString<'local>,
    kind: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        let (list, kind) = (path(env, &list)?, arg_string(env, &kind)?);
        Ok(api::check_list(&list, &kind)?)
    })
}

/// `builtinLists(): String`: the lists built into Hush, in load order, JSON
/// `[{"name", "title", "licence", "source", "entries", "rejected"}]`, the
/// counts the parser's.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn builtin_lists<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    entry(env, |_env| Ok(api::builtin_lists_json()))
}

/// `gaps(database, sinceMs, limit): String`: the periods Hush was not
/// filtering, newest first, JSON `[{"startMs", "endMs": N|null, "reason"}]`;
/// `Long.MIN_VALUE` for every one.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn gaps<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    since_ms: jlong,
    count: jint,
) -> JString<'local> {
    entry(env, |env| {
        let database = path(env, &database)?;
        Ok(api::gaps(&database, bound(since_ms), limit(count)?)?)
    })
}

/// `setAppModeForPackage(database, uid, packageName, network, mode)`: the
/// mode goes with the app when the package leaves the UID.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_app_mode_for_package<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    package: JString<'local>,
    network: JString<'local>,
    mode: JString<'local>,
) {
    entry(env, |env| {
        let (database, package, network, mode) = (
            path(env, &database)?,
            arg_string(env, &package)?,
            arg_string(env, &network)?,
            arg_string(env, &mode)?,
        );
        Ok(api::set_app_mode_for_package(
            &database,
            uid.into(),
            &package,
            &network,
            &mode,
        )?)
    })
}

/// `forgetApp(database, uid, packageName): Long`: the rules that went. An
/// empty `packageName` means no package is left on the UID: all its rules go.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn forget_app<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    uid: jint,
    package: JString<'local>,
) -> jlong {
    entry(env, |env| {
        let (database, package) = (path(env, &database)?, arg_string(env, &package)?);
        let package = Some(package.as_str()).filter(|p| !p.is_empty());
        Ok(api::forget_app(&database, uid.into(), package)? as jlong)
    })
}

/// `reconcileApps(database, installedJson): Long`: the rules that went;
/// an empty list is refused with `IllegalArgumentException`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn reconcile_apps<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    installed: JString<'local>,
) -> jlong {
    entry(env, |env| {
        let (database, installed) = (path(env, &database)?, arg_string(env, &installed)?);
        Ok(api::reconcile_apps(&database, &installed)? as jlong)
    })
}

/// `setApps(database, appsJson): Long`: the apps recorded.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_apps<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    apps: JString<'local>,
) -> jlong {
    entry(env, |env| {
        let (database, apps) = (path(env, &database)?, arg_string(env, &apps)?);
        Ok(api::set_apps(&database, &apps)? as jlong)
    })
}

/// `apps(database): String`: the apps recorded, JSON.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn apps<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
) -> JString<'local> {
    entry(env, |env| Ok(api::apps(&path(env, &database)?)?))
}
