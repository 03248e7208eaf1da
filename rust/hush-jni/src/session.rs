//! Running sessions, by the handle Kotlin holds (a `Long`), and the entry
//! points that start, steer and stop them.
//!
//! A handle is a number from a registry, never a pointer: a stale or
//! made-up handle is an `IllegalStateException`, not a crash, and stopping
//! twice is harmless to the process.

use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use hush_session::{api, Session, SessionError};
use jni::objects::{JClass, JObject, JString};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, Env, EnvUnowned};

use crate::platform::JavaPlatform;
use crate::{arg_string, entry, BridgeError};

#[derive(Default)]
struct Sessions {
    last: i64,
    running: HashMap<i64, Arc<Session>>,
}

static SESSIONS: Mutex<Option<Sessions>> = Mutex::new(None);

/// The registry, held only to find, add or remove a session: a slow call
/// (a list reload reads files) runs on its own `Arc`, so the other calls
/// (live counts for the notification) do not wait behind it. A panic while
/// it was held (caught at the entry) leaves it consistent (each change is
/// one insert or remove), so poisoning is ignored.
fn sessions() -> MutexGuard<'static, Option<Sessions>> {
    SESSIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn with_session<T>(
    handle: jlong,
    call: impl FnOnce(&Session) -> Result<T, BridgeError>,
) -> Result<T, BridgeError> {
    let session = sessions()
        .as_ref()
        .and_then(|s| s.running.get(&handle).cloned())
        .ok_or_else(|| no_session(handle))?;
    call(&session)
}

fn no_session(handle: jlong) -> BridgeError {
    BridgeError::IllegalState(format!("no running session {handle} (stopped already?)"))
}

impl From<SessionError> for BridgeError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Mtu(_) => BridgeError::InvalidArgument(error.to_string()),
            other => BridgeError::IllegalState(other.to_string()),
        }
    }
}

/// Takes ownership of the tun descriptor the platform hands over (detached
/// from its `ParcelFileDescriptor`), after checking that it is open.
pub(crate) fn take_fd(fd: jint) -> Result<OwnedFd, BridgeError> {
    // SAFETY: F_GETFD only reads the descriptor's flags; any int is allowed.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(BridgeError::InvalidArgument(format!(
            "the tun descriptor {fd} is not open"
        )));
    }
    // SAFETY: the descriptor is open, and the caller gave up its ownership:
    // from here the session alone closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn start(
    env: &Env<'_>,
    tun_fd: jint,
    config: &JString<'_>,
    platform: &JObject<'_>,
) -> Result<i64, BridgeError> {
    let tun = take_fd(tun_fd)?;
    let config = api::session_config(&arg_string(env, config)?)?;
    let platform = Arc::new(JavaPlatform::new(env, platform)?);
    let session = Session::start(tun, config, platform.clone(), platform)?;
    let mut guard = sessions();
    let sessions = guard.get_or_insert_with(Sessions::default);
    sessions.last += 1;
    sessions.running.insert(sessions.last, Arc::new(session));
    Ok(sessions.last)
}

/// Removes a session from the registry, so no new call reaches it, and
/// waits for the calls already in it (each a short store or list read).
fn take_session(handle: jlong) -> Result<Session, BridgeError> {
    let mut shared = sessions()
        .as_mut()
        .and_then(|s| s.running.remove(&handle))
        .ok_or_else(|| no_session(handle))?;
    loop {
        match Arc::try_unwrap(shared) {
            Ok(session) => return Ok(session),
            Err(still_shared) => {
                shared = still_shared;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
}

/// The live counts; a session whose relay ended on its own (its tun failed)
/// is stopped here and reported as an `IllegalStateException` saying why.
fn stats(handle: jlong) -> Result<String, BridgeError> {
    let running = with_session(handle, |s| {
        Ok(s.is_running()
            .then(|| api::stats_json(&s.stats(), s.events_dropped())))
    })?;
    if let Some(stats) = running {
        return Ok(stats);
    }
    let why = match take_session(handle)?.stop_because(ENDED_ON_ITS_OWN) {
        Ok(_) => "it ended on its own".to_string(),
        Err(error) => error.to_string(),
    };
    Err(BridgeError::IllegalState(format!(
        "the firewall stopped: {why}"
    )))
}

/// The gap reason of a session whose relay ended on its own (its tun
/// failed), found by the next call for its counts.
const ENDED_ON_ITS_OWN: &str = "ended";

fn stop(handle: jlong, reason: &str) -> Result<String, BridgeError> {
    let reason = api::stop_reason(reason)?;
    let session = take_session(handle)?;
    let (last, dropped) = (session.stats(), session.events_dropped());
    // The registry is not held while the engine winds down.
    let (stats, dropped, error) = match session.stop_because(reason) {
        Ok(finished) => (finished.stats, finished.events_dropped, None),
        Err(error) => (last, dropped, Some(error.to_string())),
    };
    Ok(api::end_json(&stats, dropped, error.as_deref()))
}

/// `startSession(tunFd: Int, configJson: String, platform: CorePlatform): Long`:
/// starts the firewall on the tun, which it then owns (closed on failure
/// too); returns the session's handle.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn start_session<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    tun_fd: jint,
    config: JString<'local>,
    platform: JObject<'local>,
) -> jlong {
    entry(env, |env| start(env, tun_fd, &config, &platform))
}

/// `stopSession(handle: Long, reason: String): String`: stops it, recording
/// why filtering ends (`stopped` by the owner, `revoked` by another VPN, or
/// the platform's own short words); JSON `{"stats", "error"}`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn stop_session<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    reason: JString<'local>,
) -> JString<'local> {
    entry(env, |env| stop(handle, &arg_string(env, &reason)?))
}

/// `replaceTun(handle: Long, tunFd: Int)`: hands the running session a new
/// tun (the VPN established again with another set of apps left out),
/// which it then owns (closed on failure too); the old one is closed once
/// the engine has read what was waiting in it.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn replace_tun<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    tun_fd: jint,
) {
    entry(env, |_| {
        let tun = take_fd(tun_fd)?;
        with_session(handle, |s| Ok(s.replace_tun(tun)?))
    })
}

/// `networkChanged(handle: Long)`: the platform's network changed (another
/// network, or new addresses on the same one).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn network_changed<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    entry(env, |_| {
        with_session(handle, |s| {
            s.network_changed();
            Ok(())
        })
    })
}

/// `networkChangedTo(handle: Long, resolver: String)`: the network changed
/// and allowed queries go to `resolver` (`IP` or `IP:PORT`) from now on:
/// the new network's own resolver, when the owner follows it.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn network_changed_to<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    resolver: JString<'local>,
) {
    entry(env, |env| {
        let resolver = hush_session::api::resolver_address(&arg_string(env, &resolver)?)?;
        with_session(handle, |s| {
            s.network_changed_to(resolver);
            Ok(())
        })
    })
}

/// `setResolverExemptions(handle: Long, json: String)`: the resolvers
/// never refused as apps' own encrypted DNS from now on (Android's strict
/// Private DNS host and its addresses), JSON `{"names": [...],
/// "addresses": [...]}`; a bad name or address changes nothing and is an
/// `IllegalArgumentException`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_resolver_exemptions<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    json: JString<'local>,
) {
    entry(env, |env| {
        let exemptions = api::resolver_exemptions(&arg_string(env, &json)?)?;
        with_session(handle, |s| {
            s.set_resolver_exemptions(exemptions);
            Ok(())
        })
    })
}

/// `setScreenOff(handle: Long, off: Boolean)`: the device's screen went off
/// (`true`) or on (Android's `ACTION_SCREEN_OFF`/`ON`); each attempt from
/// now on records it.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_screen_off<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    off: jboolean,
) {
    entry(env, |_| {
        with_session(handle, |s| {
            s.set_screen_off(off);
            Ok(())
        })
    })
}

/// `sessionHealth(handle: Long): String`: whether it filters, its engine
/// restarts and its problems, JSON ([`api::health_json`]).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn session_health<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JString<'local> {
    entry(env, |_| {
        with_session(handle, |s| Ok(api::health_json(&s.health())))
    })
}

/// `injectFaultForTest(handle: Long, what: String)`: makes the fault `what`
/// (`packet`, `dns`, `writer`, `follower`) happen in the running session.
/// Only with the `fault-injection` feature (test builds).
#[cfg(feature = "fault-injection")]
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn inject_fault_for_test<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    what: JString<'local>,
) {
    entry(env, |env| {
        let fault: hush_session::Fault = arg_string(env, &what)?
            .parse()
            .map_err(BridgeError::InvalidArgument)?;
        with_session(handle, |s| {
            s.inject_fault(fault);
            Ok(())
        })
    })
}

/// `sessionStats(handle: Long): String`: the live counts as JSON; throws
/// `IllegalStateException` (and releases the session) once it has ended on
/// its own.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn session_stats<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JString<'local> {
    entry(env, |_| stats(handle))
}

/// `setNetwork(handle: Long, network: String)`: `any`, `wifi` or `mobile`.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn set_network<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    network: JString<'local>,
) {
    entry(env, |env| {
        let network = api::word(&arg_string(env, &network)?)?;
        with_session(handle, |s| {
            s.set_network(network);
            Ok(())
        })
    })
}

/// `reloadRules(handle: Long)`: puts the stored rules in force.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn reload_rules<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    entry(env, |_| with_session(handle, |s| Ok(s.reload_rules()?)))
}

/// `reloadLists(handle: Long, configJson: String): String`: reads the lists
/// the configuration names again and puts them in force; returns what
/// loading each found (JSON). A list that cannot be read changes nothing.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn reload_lists<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    config: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        let config = api::session_config(&arg_string(env, &config)?)?;
        let loads = with_session(handle, |s| Ok(s.reload_lists(&config)?))?;
        Ok(api::list_loads_json(&loads))
    })
}
