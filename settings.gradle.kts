// Hush: the Gradle settings of the Android Studio build (the conventional build of the
// app; `cargo xtask apk` builds the same app without the Android SDK or Gradle).
// Versions come from gradle/libs.versions.toml, which Gradle reads as the catalog `libs`;
// the app's identity from gradle.properties. rust/xtask/tests/gradle_build_agrees.rs
// checks that this build takes every value from those files.
// Not run on the machine it was written on: Google's Maven repository is unreachable
// there; checked by the agreement test only.
// SPDX-License-Identifier: GPL-3.0-or-later

pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "hush"
include(":android-app")
