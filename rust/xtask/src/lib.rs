//! Hush's build tasks, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//! `apk` builds a signed APK on a Debian machine with no Android SDK, NDK or
//! Gradle, from Debian packages and Maven Central only, and checks it.

pub mod apk;
pub mod check;
pub mod config;
pub mod dex;
pub mod package;
pub mod tools;
