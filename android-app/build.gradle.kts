// Hush: the Android app's Gradle build (Android Studio). It builds the same app from the
// same sources, versions and keep rules as `cargo xtask apk` (the SDK-less build):
//   identity (application id, version, ABIs)  gradle.properties   hush.*
//   SDK levels, libraries, plugins             gradle/libs.versions.toml (`libs`)
//   the Rust core                              cargo ndk, profile `android`, crate hush-jni
//   keep rules                                 android-app/proguard-rules.pro
// rust/xtask/tests/gradle_build_agrees.rs fails if this file names a value of its own
// (a literal SDK level, ABI, package, dependency or rules file) instead.
// Not run on the machine it was written on: Google's Maven repository is unreachable
// there; checked by the agreement test only.
// SPDX-License-Identifier: GPL-3.0-or-later

plugins {
    // AGP 9 compiles the Kotlin sources itself (built-in Kotlin): no kotlin-android here.
    alias(libs.plugins.android.application)
}

fun hushProperty(name: String): String =
    providers.gradleProperty(name).orNull?.trim()?.takeIf { it.isNotEmpty() }
        ?: throw GradleException("gradle.properties has no $name")

val hushApplicationId = hushProperty("hush.applicationId")
val hushVersionName = hushProperty("hush.versionName")
val hushVersionCode = hushProperty("hush.versionCode").toInt()
val hushAbis = hushProperty("hush.abis").split(',').map { it.trim() }.filter { it.isNotEmpty() }
val hushMinSdk = libs.versions.android.minSdk.get().toInt()

// Where cargoNdkBuild writes lib<crate>.so per ABI (rustJniLibs/<abi>/), packaged as jniLibs.
val rustJniLibs = layout.buildDirectory.dir("rustJniLibs")

// Release signing, only when HUSH_KEYSTORE is set (otherwise the release APK is unsigned).
val releaseKeystore = providers.environmentVariable("HUSH_KEYSTORE").orNull

android {
    // The R class's package: org.hush.android.R, which the Kotlin sources import (as
    // tests/android/jvm.sh and cargo xtask apk generate it, from the same property).
    namespace = hushApplicationId
    compileSdk = libs.versions.android.compileSdk.get().toInt()

    defaultConfig {
        applicationId = hushApplicationId
        minSdk = hushMinSdk
        targetSdk = libs.versions.android.targetSdk.get().toInt()
        versionCode = hushVersionCode
        versionName = hushVersionName
        ndk {
            abiFilters += hushAbis
        }
    }

    sourceSets {
        getByName("main") {
            manifest.srcFile("src/main/AndroidManifest.xml")
            kotlin.srcDir("src/main/kotlin")
            res.srcDir("src/main/res")
            jniLibs.srcDir(rustJniLibs)
        }
        getByName("test") {
            kotlin.srcDir("src/test/kotlin")
        }
    }

    // AGP desugars to the device; Kotlin's jvmTarget follows targetCompatibility.
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    signingConfigs {
        if (releaseKeystore != null) {
            create("release") {
                storeFile = file(releaseKeystore)
                storePassword = providers.environmentVariable("HUSH_KEYSTORE_PASSWORD").orNull
                keyAlias = providers.environmentVariable("HUSH_KEY_ALIAS").orNull
                // As cargo xtask apk: the keystore's password unless the key has its own.
                keyPassword = providers.environmentVariable("HUSH_KEY_PASSWORD")
                    .orElse(providers.environmentVariable("HUSH_KEYSTORE_PASSWORD")).orNull
            }
        }
    }

    buildTypes {
        getByName("debug") {
            // en-XA and ar-XB from res/values (as tests/android/jvm.sh's aapt2 compile
            // --pseudo-localize), for PseudoLocaleTest and for trying layouts on a phone.
            isPseudoLocalesEnabled = true
        }
        getByName("release") {
            // R8 with the keep rules cargo xtask apk gives ProGuard, and nothing else.
            isMinifyEnabled = true
            proguardFiles("proguard-rules.pro")
            if (releaseKeystore != null) {
                signingConfig = signingConfigs.getByName("release")
            }
        }
    }

    packaging {
        jniLibs {
            // Stored uncompressed (and 16 KiB aligned by AGP), mapped in place by Android.
            useLegacyPackaging = false
        }
    }

    testOptions {
        unitTests {
            isIncludeAndroidResources = true
        }
    }

    lint {
        abortOnError = true
    }
}

dependencies {
    implementation(libs.bundles.app)
    testImplementation(libs.bundles.unit.test)
}

// The Rust core (rust/hush-jni) for every ABI in hush.abis, with cargo's `android`
// profile (the one tools/android/build-native.sh --release ships). Needs the Android NDK
// (Android Studio: SDK Manager > SDK Tools > NDK; then ANDROID_NDK_HOME=<sdk>/ndk/<version>),
// cargo-ndk (`cargo install cargo-ndk`) and the Rust targets
// (`rustup target add aarch64-linux-android x86_64-linux-android`).
val cargoNdkBuild = tasks.register<Exec>("cargoNdkBuild") {
    group = "build"
    description = "Builds libhush_jni.so for hush.abis with cargo ndk into build/rustJniLibs"
    val repositoryRoot = rootProject.layout.projectDirectory
    val outputDir = rustJniLibs.get().asFile
    inputs.dir(repositoryRoot.dir("rust"))
    inputs.file(repositoryRoot.file("Cargo.toml"))
    inputs.file(repositoryRoot.file("Cargo.lock"))
    inputs.property("abis", hushAbis)
    inputs.property("minSdk", hushMinSdk)
    outputs.dir(rustJniLibs)
    workingDir = repositoryRoot.asFile
    // 16 KiB LOAD alignment, as tools/android/build-native.sh links (NDKs before r28
    // default to 4 KiB); -z defs as there: a symbol Bionic lacks fails the link.
    // cargo ndk always passes --target, so RUSTFLAGS reach only the Android code,
    // not build scripts.
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,-z,defs")
    commandLine(
        listOf("cargo", "ndk") +
            hushAbis.flatMap { listOf("-t", it) } +
            listOf("-P", hushMinSdk.toString(), "-o", outputDir.path) +
            listOf("build", "--profile", "android", "-p", "hush-jni"),
    )
    doFirst {
        if (System.getenv("ANDROID_NDK_HOME").isNullOrEmpty()) {
            throw GradleException(
                "cargoNdkBuild needs ANDROID_NDK_HOME (the NDK from Android Studio's SDK Manager) and cargo-ndk",
            )
        }
        // No library of an ABI dropped from hush.abis stays behind.
        outputDir.deleteRecursively()
    }
}

tasks.named("preBuild") { dependsOn(cargoNdkBuild) }
tasks.matching { it.name.startsWith("merge") && it.name.endsWith("JniLibFolders") }
    .configureEach { dependsOn(cargoNdkBuild) }
