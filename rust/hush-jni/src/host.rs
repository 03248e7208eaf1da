//! Entry points for the Linux host build only, which the JVM tests load:
//! attaching to a real tun device (what `VpnService.establish` gives on a
//! phone), timing the owner-lookup callback as the core makes it, and
//! (with the test-only `fault-injection` feature) writing events to a store
//! as a session would.
//!
//! The Kotlin side declares them in the test sources
//! (`org.hush.android.core.HostTun`, `HostBench`, `HostStore`); the Android
//! build has none of them.

use std::net::SocketAddr;
use std::os::fd::IntoRawFd;
use std::time::Instant;

use hush_engine::owner::{FlowKey, OwnerLookup, Transport};
use jni::objects::{JClass, JObject, JString};
use jni::sys::{jint, jlongArray};
use jni::{jni_mangle, Env, EnvUnowned};

use crate::platform::JavaPlatform;
use crate::{arg_string, entry, BridgeError};

/// `HostTun.attach(name: String): Int`: a descriptor of the existing tun
/// device `name`, which the caller then owns.
#[jni_mangle("org.hush.android.core.HostTun")]
pub extern "system" fn attach<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    name: JString<'local>,
) -> jint {
    entry(env, |env| {
        let name = arg_string(env, &name)?;
        let tun =
            hush_linux::tun::attach(&name).map_err(|e| BridgeError::IllegalState(e.to_string()))?;
        Ok(tun.into_raw_fd())
    })
}

/// `HostTun.packetPair(): LongArray`: the two descriptors of a `SOCK_SEQPACKET`
/// socket pair, a fake tun (one packet per read and write, as a tun; a read
/// gives end of file once the other end is closed, which a datagram pair
/// never does): the first for the core, the second for the test's side; the
/// caller owns both.
#[jni_mangle("org.hush.android.core.HostTun")]
pub extern "system" fn packet_pair<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> jlongArray {
    entry(env, |_| {
        let mut fds = [-1; 2];
        // SAFETY: `fds` has room for the two descriptors socketpair writes.
        let made = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if made != 0 {
            let error = std::io::Error::last_os_error();
            return Err(BridgeError::IllegalState(format!(
                "no socket pair: {error}"
            )));
        }
        Ok(vec![i64::from(fds[0]), i64::from(fds[1])])
    })
}

/// `HostBench.ownerCallbackNanos(platform: CorePlatform, count: Int): LongArray`:
/// makes `count` owner lookups through `platform` from a native thread, as
/// the core's lookup pool does, and returns each one's time in ns. Every
/// lookup must name an owner (a fake platform's), or this throws.
#[jni_mangle("org.hush.android.core.HostBench")]
pub extern "system" fn owner_callback_nanos<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    platform: JObject<'local>,
    count: jint,
) -> jlongArray {
    entry(env, |env| time_lookups(env, &platform, count))
}

fn time_lookups(
    env: &Env<'_>,
    platform: &JObject<'_>,
    count: jint,
) -> Result<Vec<i64>, BridgeError> {
    let count = usize::try_from(count)
        .map_err(|_| BridgeError::InvalidArgument(format!("count {count} is negative")))?;
    let platform = JavaPlatform::new(env, platform)?;
    let flow = FlowKey {
        transport: Transport::Tcp,
        local: SocketAddr::from(([198, 18, 0, 1], 40_000)),
        remote: SocketAddr::from(([198, 18, 0, 80], 443)),
    };
    let lookups = std::thread::spawn(move || {
        let mut nanos = Vec::with_capacity(count);
        for _ in 0..count {
            let start = Instant::now();
            let owner = platform.owner(&flow);
            nanos.push(start.elapsed().as_nanos() as i64);
            owner?;
        }
        Some(nanos)
    });
    lookups
        .join()
        .map_err(|_| BridgeError::IllegalState("the lookup thread panicked".into()))?
        .ok_or_else(|| BridgeError::IllegalState("the platform answered no owner".into()))
}

/// `HostStore.recordEvents(database, eventsJson): Long`: writes events to the
/// store as a session would ([`hush_session::api::record_events_for_test`]).
#[cfg(feature = "fault-injection")]
#[jni_mangle("org.hush.android.core.HostStore")]
pub extern "system" fn record_events<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    events: JString<'local>,
) -> jni::sys::jlong {
    entry(env, |env| {
        let (database, events) = (arg_string(env, &database)?, arg_string(env, &events)?);
        let written =
            hush_session::api::record_events_for_test(std::path::Path::new(&database), &events)
                .map_err(|e| match e {
                    hush_session::api::ApiError::Invalid(why) => BridgeError::InvalidArgument(why),
                    other => BridgeError::IllegalState(other.to_string()),
                })?;
        Ok(written as i64)
    })
}
