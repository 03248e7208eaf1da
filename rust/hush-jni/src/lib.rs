//! The JNI bridge between the Android app and the Hush core.
//!
//! Builds `libhush_jni.so`, which the app's Kotlin object
//! `org.hush.android.core.NativeCore` loads; each `@JvmStatic external fun`
//! there has one `extern "system"` function here, named by
//! [`jni::jni_mangle`].
//!
//! Every entry point follows one pattern: a one-liner into [`entry`], which
//!
//! - runs the body in its own JNI local-reference frame, so however many
//!   local references a body makes, they are freed when it returns and the
//!   caller's table never overflows, even across many calls from one Java
//!   frame;
//! - runs it under [`std::panic::catch_unwind`]: a panic must never unwind
//!   into the JVM (that aborts the process), so it becomes a
//!   `java.lang.RuntimeException` carrying the panic message;
//! - turns a [`BridgeError`] into the Java exception for its kind
//!   (`IllegalArgumentException`, `IllegalStateException`), or leaves a Java
//!   exception already pending to propagate as it is;
//! - converts the body's Rust result into its JNI return type ([`ToJava`]) in
//!   the caller's frame, and returns that type's default (`null`, `0`,
//!   `false`) whenever an exception is thrown.
//!
//! Bodies return plain Rust values, never local references: the conversion to
//! a Java object happens after the body's frame is popped.
//!
//! This relies on unwinding: a profile with `panic = "abort"` would turn a
//! panic into a crash.
//!
//! Layer: the outermost, Android-facing one. Its only state is the
//! registry of running sessions ([`session`]); what the data means lives in
//! [`hush_session::api`].

mod capture;
mod evidence;
#[cfg(target_os = "linux")]
mod host;
mod platform;
mod session;
mod store;

// Android builds made without the NDK take the unwinder (`_Unwind_*`, which
// std's panics and every entry point's catch_unwind need) from this crate.
#[cfg(target_os = "android")]
use unwinding as _;

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::objects::{JClass, JString};
use jni::strings::{JNIStr, JNIString};
use jni::sys::{jboolean, jint, jlong, jlongArray};
use jni::{jni_mangle, jni_str, Env, EnvUnowned, Outcome};

/// Local references a body's frame is sized for; the JVM grows it as needed.
const LOCAL_FRAME_CAPACITY: usize = 16;

/// Why an entry point failed, by the Java exception it becomes.
#[derive(Debug)]
#[non_exhaustive]
pub enum BridgeError {
    /// The caller passed something the core refuses:
    /// `java.lang.IllegalArgumentException`.
    InvalidArgument(String),
    /// The core cannot do this now (not started, already stopped, ...):
    /// `java.lang.IllegalStateException`.
    IllegalState(String),
    /// A JNI call failed. If it left a Java exception pending
    /// ([`jni::errors::Error::JavaException`]), that exception propagates;
    /// otherwise `java.lang.IllegalStateException`.
    Jni(jni::errors::Error),
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::InvalidArgument(m) | BridgeError::IllegalState(m) => f.write_str(m),
            BridgeError::Jni(e) => write!(f, "JNI call failed: {e}"),
        }
    }
}

impl std::error::Error for BridgeError {}

impl From<jni::errors::Error> for BridgeError {
    fn from(e: jni::errors::Error) -> Self {
        BridgeError::Jni(e)
    }
}

impl BridgeError {
    /// The class to throw (JNI internal form).
    fn exception_class(&self) -> &'static JNIStr {
        match self {
            BridgeError::InvalidArgument(_) => jni_str!("java/lang/IllegalArgumentException"),
            BridgeError::IllegalState(_) | BridgeError::Jni(_) => {
                jni_str!("java/lang/IllegalStateException")
            }
        }
    }
}

/// A body's Rust result, as the JNI value an entry point returns.
pub trait ToJava<'local> {
    /// The JNI return type; its `Default` is what an entry returns when it
    /// throws.
    type Java: Default;

    /// Converts in the caller's frame (the returned local reference, if any,
    /// is the caller's).
    fn to_java(self, env: &mut Env<'local>) -> Result<Self::Java, BridgeError>;
}

impl<'local> ToJava<'local> for () {
    type Java = ();
    fn to_java(self, _: &mut Env<'local>) -> Result<(), BridgeError> {
        Ok(())
    }
}

impl<'local> ToJava<'local> for bool {
    type Java = jboolean;
    fn to_java(self, _: &mut Env<'local>) -> Result<jboolean, BridgeError> {
        Ok(self)
    }
}

impl<'local> ToJava<'local> for i32 {
    type Java = jint;
    fn to_java(self, _: &mut Env<'local>) -> Result<jint, BridgeError> {
        Ok(self)
    }
}

impl<'local> ToJava<'local> for i64 {
    type Java = jlong;
    fn to_java(self, _: &mut Env<'local>) -> Result<jlong, BridgeError> {
        Ok(self)
    }
}

impl<'local> ToJava<'local> for String {
    type Java = JString<'local>;
    fn to_java(self, env: &mut Env<'local>) -> Result<JString<'local>, BridgeError> {
        Ok(JString::from_str(env, self)?)
    }
}

impl<'local> ToJava<'local> for Vec<i64> {
    type Java = jlongArray;
    fn to_java(self, env: &mut Env<'local>) -> Result<jlongArray, BridgeError> {
        let array = env.new_long_array(self.len())?;
        array.set_region(env, 0, &self)?;
        Ok(array.into_raw())
    }
}

/// Runs one entry point's `body`: in its own local-reference frame, under
/// `catch_unwind`, with errors and panics thrown as Java exceptions (see the
/// crate docs). Returns the body's value as JNI, or the JNI type's default
/// when an exception is pending on return.
fn entry<'local, R>(
    mut unowned: EnvUnowned<'local>,
    body: impl FnOnce(&mut Env<'_>) -> Result<R, BridgeError>,
) -> R::Java
where
    R: ToJava<'local>,
{
    // `with_env` attaches jni-rs to the caller's thread and frame; it also
    // catches a panic of its own closure, which here can only come from
    // throwing (the body's panics are caught below).
    let outcome = unowned.with_env(|env| -> Result<R::Java, jni::errors::Error> {
        let run = catch_unwind(AssertUnwindSafe(|| {
            let value = env.with_local_frame(LOCAL_FRAME_CAPACITY, body)?;
            value.to_java(env)
        }));
        Ok(match run {
            Ok(Ok(java)) => java,
            Ok(Err(err)) => {
                throw_error(env, err);
                R::Java::default()
            }
            Err(payload) => {
                let message = format!("panic in native code: {}", panic_message(&*payload));
                throw(env, jni_str!("java/lang/RuntimeException"), &message);
                R::Java::default()
            }
        })
    });
    match outcome.into_outcome() {
        Outcome::Ok(java) => java,
        Outcome::Err(err) => {
            log::error!("hush-jni: {err}");
            R::Java::default()
        }
        Outcome::Panic(payload) => {
            log::error!(
                "hush-jni: panic while throwing: {}",
                panic_message(&*payload)
            );
            R::Java::default()
        }
    }
}

/// Throws `err` as its Java exception, unless one is pending already.
fn throw_error(env: &mut Env<'_>, err: BridgeError) {
    if let BridgeError::Jni(jni::errors::Error::JavaException) = err {
        if env.exception_check() {
            return;
        }
    }
    throw(env, err.exception_class(), &err.to_string());
}

/// Throws a new `class(message)`. A Java exception already pending wins: it
/// says more about what went wrong than anything thrown over it.
fn throw(env: &mut Env<'_>, class: &JNIStr, message: &str) {
    if env.exception_check() {
        return;
    }
    match env.throw_new(class, JNIString::new(message)) {
        // throw_new reports a successful throw as the now-pending exception.
        Ok(()) | Err(jni::errors::Error::JavaException) => {}
        // The message may name a domain the user typed: debug level only.
        Err(e) => {
            log::error!("hush-jni: cannot throw {class}: {e}");
            log::debug!("hush-jni: the message was: {message}");
        }
    }
}

/// The message of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// The string argument `s` as Rust; `null` is an invalid argument (Kotlin's
/// non-null `String` never passes one, Java callers might).
fn arg_string(env: &Env<'_>, s: &JString<'_>) -> Result<String, BridgeError> {
    if s.is_null() {
        return Err(BridgeError::InvalidArgument("null string".into()));
    }
    Ok(s.try_to_string(env)?)
}

// ---- entry points: org.hush.android.core.NativeCore ----

/// `version(): String`: this crate's version (the workspace's).
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn version<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JString<'local> {
    entry(env, |_| Ok(env!("CARGO_PKG_VERSION").to_owned()))
}

/// `normalizeDomain(name: String): String`: [`hush_rules::normalize_domain`];
/// an invalid name throws `IllegalArgumentException` with the reason.
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn normalize_domain<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    name: JString<'local>,
) -> JString<'local> {
    entry(env, |env| normalize(&arg_string(env, &name)?))
}

fn normalize(name: &str) -> Result<String, BridgeError> {
    hush_rules::normalize_domain(name)
        .map_err(|reason| BridgeError::InvalidArgument(format!("{name:?}: {reason}")))
}

/// `panicForTest()`: panics, to prove a panic becomes a
/// `RuntimeException` and leaves the JVM running. Only with the
/// `fault-injection` feature (test builds).
#[cfg(feature = "fault-injection")]
#[jni_mangle("org.hush.android.core.NativeCore")]
pub extern "system" fn panic_for_test<'local>(env: EnvUnowned<'local>, _class: JClass<'local>) {
    entry(env, |_| -> Result<(), BridgeError> {
        panic!("panicForTest: a deliberate panic")
    })
}

/// Called by the VM when it loads the library: sets up logging to logcat on
/// Android; returns the JNI version the library needs.
// SAFETY: `JNI_OnLoad` is the one symbol of this name in the library (the
// VM looks it up by name), with the signature the JNI specification gives
// it; it dereferences neither pointer.
#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(
    _vm: *mut jni::sys::JavaVM,
    _reserved: *mut std::ffi::c_void,
) -> jint {
    #[cfg(target_os = "android")]
    android_logger::init_once(
        android_logger::Config::default()
            .with_max_level(log::LevelFilter::Info)
            .with_tag("hush"),
    );
    jni::sys::JNI_VERSION_1_6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_kind_has_its_exception() {
        let class = |e: BridgeError| e.exception_class().to_str().into_owned();
        assert_eq!(
            class(BridgeError::InvalidArgument("x".into())),
            "java/lang/IllegalArgumentException"
        );
        assert_eq!(
            class(BridgeError::IllegalState("x".into())),
            "java/lang/IllegalStateException"
        );
        assert_eq!(
            class(BridgeError::Jni(jni::errors::Error::NullPtr("x"))),
            "java/lang/IllegalStateException"
        );
    }

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let caught = |f: fn()| catch_unwind(f).unwrap_err();
        assert_eq!(panic_message(&*caught(|| panic!("plain"))), "plain");
        assert_eq!(
            panic_message(&*caught(|| panic!("formatted {}", 1))),
            "formatted 1"
        );
        assert_eq!(
            panic_message(&*caught(|| std::panic::panic_any(7))),
            "(no message)"
        );
    }

    #[test]
    fn an_invalid_name_is_an_invalid_argument_naming_it() {
        assert_eq!(
            normalize("Tracking.MIUI.com.").unwrap(),
            "tracking.miui.com"
        );
        let err = normalize("bad..name").unwrap_err();
        assert!(matches!(err, BridgeError::InvalidArgument(_)));
        assert_eq!(err.to_string(), "\"bad..name\": not a valid domain name");
    }
}
