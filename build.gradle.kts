// Hush: the root Gradle build file of the Android Studio build: the plugins, with their
// versions from gradle/libs.versions.toml, declared once for the modules (`apply false`).
// SPDX-License-Identifier: GPL-3.0-or-later

plugins {
    alias(libs.plugins.android.application) apply false
    // Never applied: AGP 9 compiles Kotlin itself (built-in Kotlin) and refuses this
    // plugin in a module. Declared here only so that the Kotlin Gradle plugin on the
    // build's classpath, and so the Kotlin compiler, is the catalog's `kotlin`, the one
    // `cargo xtask apk` compiles with, rather than the older one AGP depends on.
    alias(libs.plugins.kotlin.android) apply false
}
