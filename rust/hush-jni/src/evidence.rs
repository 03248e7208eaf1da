//! Evidence for the app's screens (issue 16): who is behind a host, and one
//! app's evidence report written to a file the app then shares. Each entry
//! is one call into [`hush_report`], which `hush report` uses as well.

use std::path::PathBuf;

use hush_report::{bridge, ReportError};
use jni::objects::{JClass, JString};
use jni::sys::jint;
use jni::{jni_mangle, EnvUnowned};

use crate::{arg_string, entry, BridgeError};

impl From<ReportError> for BridgeError {
    fn from(error: ReportError) -> Self {
        // The file could not be written, or the database read: nothing the
        // caller passed was refused, so the state of things is at fault.
        BridgeError::IllegalState(error.to_string())
    }
}

fn uid(value: jint) -> Result<u32, BridgeError> {
    u32::try_from(value)
        .map_err(|_| BridgeError::InvalidArgument(format!("{value} is not an app's uid")))
}

fn non_empty(what: &str, text: String) -> Result<PathBuf, BridgeError> {
    if text.is_empty() {
        return Err(BridgeError::InvalidArgument(format!("the {what} is empty")));
    }
    Ok(PathBuf::from(text))
}

/// `writeReport(database, uid, out, appVersion): String`: the evidence
/// report of `uid` written whole to the file `out` (or not at all); JSON
/// [`bridge::report_json`]. An empty `appVersion` is not known.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn write_report<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    database: JString<'local>,
    app_uid: jint,
    out: JString<'local>,
    app_version: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        Ok(bridge::report_json(
            &non_empty("database path", arg_string(env, &database)?)?,
            uid(app_uid)?,
            &non_empty("report path", arg_string(env, &out)?)?,
            &arg_string(env, &app_version)?,
        )?)
    })
}

/// `hostOwners(hostsJson): String`: who is behind each host, in order;
/// JSON [`bridge::owners_json`].
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn host_owners<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    hosts: JString<'local>,
) -> JString<'local> {
    entry(env, |env| {
        bridge::owners_json(&arg_string(env, &hosts)?).map_err(BridgeError::InvalidArgument)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_failure_is_a_state_and_a_negative_uid_an_argument() {
        let error = BridgeError::from(ReportError::Write {
            out: "/proc/x.html".into(),
            error: "permission denied".into(),
        });
        assert!(matches!(error, BridgeError::IllegalState(_)));
        assert!(error.to_string().contains("/proc/x.html"), "{error}");
        assert!(matches!(uid(-1), Err(BridgeError::InvalidArgument(_))));
        assert_eq!(uid(10_123).unwrap(), 10_123);
        assert!(matches!(
            non_empty("report path", String::new()),
            Err(BridgeError::InvalidArgument(_))
        ));
    }
}
