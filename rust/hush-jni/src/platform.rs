//! The platform's half of the firewall, in Kotlin: keeping a socket out of
//! the VPN and naming a connection's app, called back through JNI on an
//! `org.hush.android.core.CorePlatform` object.
//!
//! The core calls these from its own threads (the engine thread, the
//! owner-lookup pool), never from a Java thread: each call attaches its
//! thread to the JVM (once: the attachment lasts until the thread ends) and
//! runs in a fresh local frame, so no reference outlives the call.
//!
//! A callback that throws is not allowed to reach the core as a Java
//! exception: protecting fails with an error, a lookup answers "unknown".
//! Neither logs the flow: only that the callback failed.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use hush_engine::owner::{FlowKey, OwnerLookup, Transport};
use hush_engine::SocketProtector;
use jni::objects::{Global, JObject, JValue};
use jni::{jni_sig, jni_str, Env, JavaVM};

/// A Kotlin `CorePlatform`, held for as long as a session runs.
pub struct JavaPlatform {
    vm: JavaVM,
    platform: Global<JObject<'static>>,
}

impl JavaPlatform {
    /// Holds `platform` (a `CorePlatform`) with a global reference.
    pub fn new(env: &Env<'_>, platform: &JObject<'_>) -> jni::errors::Result<Self> {
        if platform.is_null() {
            return Err(jni::errors::Error::NullPtr("platform"));
        }
        Ok(Self {
            vm: env.get_java_vm()?,
            platform: env.new_global_ref(platform)?,
        })
    }

    fn call<T>(
        &self,
        call: impl FnOnce(&mut Env<'_>, &JObject<'_>) -> jni::errors::Result<T>,
    ) -> jni::errors::Result<T> {
        self.vm
            .attach_current_thread(|env| call(env, self.platform.as_obj()))
    }
}

impl SocketProtector for JavaPlatform {
    fn protect(&self, socket: BorrowedFd<'_>) -> io::Result<()> {
        let fd = socket.as_raw_fd();
        let protected = self.call(|env, platform| {
            env.call_method(
                platform,
                jni_str!("protect"),
                jni_sig!("(I)Z"),
                &[JValue::Int(fd)],
            )?
            .z()
        });
        match protected {
            Ok(true) => Ok(()),
            Ok(false) => Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the platform refused to protect a socket from the VPN",
            )),
            Err(error) => Err(io::Error::other(format!(
                "the platform's protect callback failed: {error}"
            ))),
        }
    }
}

/// Protocol numbers, as `ConnectivityManager.getConnectionOwnerUid` takes them.
const IPPROTO_TCP: i32 = 6;
const IPPROTO_UDP: i32 = 17;

fn address_bytes(address: &SocketAddr) -> Vec<u8> {
    match address {
        SocketAddr::V4(v4) => v4.ip().octets().to_vec(),
        SocketAddr::V6(v6) => v6.ip().octets().to_vec(),
    }
}

impl OwnerLookup for JavaPlatform {
    fn owner(&self, flow: &FlowKey) -> Option<u32> {
        let protocol = match flow.transport {
            Transport::Tcp => IPPROTO_TCP,
            Transport::Udp => IPPROTO_UDP,
        };
        let uid = self.call(|env, platform| {
            let local = env.byte_array_from_slice(&address_bytes(&flow.local))?;
            let remote = env.byte_array_from_slice(&address_bytes(&flow.remote))?;
            env.call_method(
                platform,
                jni_str!("ownerUid"),
                jni_sig!("(I[BI[BI)I"),
                &[
                    JValue::Int(protocol),
                    JValue::Object(&local),
                    JValue::Int(i32::from(flow.local.port())),
                    JValue::Object(&remote),
                    JValue::Int(i32::from(flow.remote.port())),
                ],
            )?
            .i()
        });
        match uid {
            Ok(uid) => u32::try_from(uid).ok(),
            Err(error) => {
                // What the callback threw may describe the flow: debug level only.
                log::warn!("the platform's owner lookup failed");
                log::debug!("the owner lookup failed: {error}");
                None
            }
        }
    }
}
