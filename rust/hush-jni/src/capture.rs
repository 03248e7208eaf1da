//! The packet capture of one app (issue 16), started, watched and stopped
//! from the app's capture switch. Each entry is one call into the running
//! session's [`hush_engine::Capture`]; the JSON is [`hush_session::api`]'s.

use hush_engine::CaptureError;
use hush_session::api;
use jni::objects::{JClass, JString};
use jni::sys::jlong;
use jni::{jni_mangle, EnvUnowned};

use crate::session::with_session;
use crate::{arg_string, entry, BridgeError};

impl From<CaptureError> for BridgeError {
    fn from(error: CaptureError) -> Self {
        match error {
            CaptureError::Invalid(_) => BridgeError::InvalidArgument(error.to_string()),
            // The file, the disk: the state of things, not the caller's input.
            other => BridgeError::IllegalState(other.to_string()),
        }
    }
}

/// `startCapture(handle: Long, specJson: String)`: captures one app's
/// packets into the file the spec names ([`api::capture_spec`]), ending
/// any capture under way. A file that cannot be made, or a disk without
/// room for one, is an `IllegalStateException` that leaves no file.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn start_capture<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    spec: JString<'local>,
) {
    entry(env, |env| {
        let spec = api::capture_spec(&arg_string(env, &spec)?)?;
        // The app stops another app's capture itself first, to show how it went.
        with_session(handle, |s| Ok(s.capture().start(spec).map(drop)?))
    })
}

/// `stopCapture(handle: Long): String`: ends the capture under way and says
/// how it went, its files newest first ([`api::capture_stopped_json`]).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn stop_capture<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JString<'local> {
    entry(env, |_| {
        with_session(handle, |s| {
            Ok(api::capture_stopped_json(s.capture().stop()))
        })
    })
}

/// `captureStatus(handle: Long): String`: the capture under way, if any
/// ([`api::capture_status_json`]).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn capture_status<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> JString<'local> {
    entry(env, |_| {
        with_session(handle, |s| {
            Ok(api::capture_status_json(s.capture().status()))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_spec_is_an_argument_and_a_bad_disk_a_state() {
        let invalid = BridgeError::from(CaptureError::Invalid("no files".into()));
        assert!(matches!(invalid, BridgeError::InvalidArgument(_)));
        let full = BridgeError::from(CaptureError::NoSpace {
            path: "/data".into(),
            free: 10,
            needed: 100,
        });
        assert!(matches!(full, BridgeError::IllegalState(_)));
        assert!(full.to_string().contains("/data"), "{full}");
    }
}
