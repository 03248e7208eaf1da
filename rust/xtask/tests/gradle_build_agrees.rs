//! The agreement test: the Android Studio build (settings.gradle.kts,
//! build.gradle.kts, android-app/build.gradle.kts) must build the same app as
//! `cargo xtask apk`. Both read gradle.properties and gradle/libs.versions.toml
//! (`xtask::config::AndroidBuild`); this test reads the Gradle scripts as text and
//! fails, naming the file and the setting, wherever a script could say something of
//! its own: package, version, SDK levels, ABIs (abiFilters and cargo-ndk targets),
//! the cargo profile, dependencies and plugins (catalog entries only, no written-out
//! coordinates or versions), the keep rules and the manifest.
//!
//! `check` takes the texts as strings, so the negative tests below feed it altered
//! copies and assert that it notices. The Gradle build itself is not run here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use xtask::config::{AndroidBuild, KNOWN_ABIS};

const SETTINGS: &str = "settings.gradle.kts";
const ROOT_BUILD: &str = "build.gradle.kts";
const APP_BUILD: &str = "android-app/build.gradle.kts";
const NATIVE_SCRIPT: &str = "tools/android/build-native.sh";
const RULES_FILE: &str = "proguard-rules.pro";
const MANIFEST: &str = "src/main/AndroidManifest.xml";
/// The crate whose cdylib is the app's native library.
const JNI_CRATE: &str = "hush-jni";

/// What the Gradle build is checked against, besides `AndroidBuild`.
struct Expected {
    build: AndroidBuild,
    /// The cargo profile the shipped library is built with.
    cargo_profile: String,
    /// The `[profile.*]` names of the workspace Cargo.toml.
    cargo_profiles: BTreeSet<String>,
}

/// The three Gradle scripts, as text.
struct GradleTexts {
    settings: String,
    root: String,
    app: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Disagreement {
    file: &'static str,
    setting: String,
    problem: String,
}

impl fmt::Display for Disagreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.setting, self.problem)
    }
}

/// One script with its comments blanked out (so a comment never satisfies a check)
/// and its `val NAME = EXPR` lines, to follow a value to where it comes from.
struct Script {
    file: &'static str,
    code: String,
    literals: Vec<String>,
    vals: BTreeMap<String, String>,
}

impl Script {
    fn new(file: &'static str, text: &str) -> Self {
        let (code, literals) = scan(text);
        let vals = code
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("val ")?;
                let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                let (_, value) = split_assignment(&rest[name.len()..])?;
                Some((name, value.trim().to_string()))
            })
            .collect();
        Self {
            file,
            code,
            literals,
            vals,
        }
    }

    /// `expr` with the values of every `val` it names, transitively.
    fn resolve(&self, expr: &str) -> String {
        let mut out = expr.to_string();
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = idents(expr);
        while let Some(name) = todo.pop() {
            if let Some(value) = self.vals.get(&name) {
                if seen.insert(name) {
                    out.push_str(" <- ");
                    out.push_str(value);
                    todo.extend(idents(value));
                }
            }
        }
        out
    }

    /// Right-hand sides of `key = ...`, `key += ...` and the arguments of
    /// `key.add(...)` / `key.addAll(...)` / `key(...)`.
    fn assignments(&self, key: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in self.code.lines() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix(key) else {
                continue;
            };
            if rest.starts_with(is_ident) {
                continue;
            }
            if let Some((_, value)) = split_assignment(rest) {
                found.push(value.trim().to_string());
            } else if let Some(args) = rest
                .strip_prefix(".addAll(")
                .or_else(|| rest.strip_prefix(".add("))
                .or_else(|| rest.strip_prefix('('))
            {
                found.push(args.trim_end_matches(')').to_string());
            } else if rest.trim_start().starts_with('{') {
                found.push(rest.to_string());
            }
        }
        found
    }

    /// The argument text of every call `name(...)` (balanced parentheses).
    fn calls(&self, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        let code = self.code.as_str();
        let mut from = 0;
        while let Some(at) = code[from..].find(name) {
            let start = from + at;
            from = start + name.len();
            let before_ok = code[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !is_ident(c) && c != '.');
            if !before_ok || !code[from..].starts_with('(') {
                continue;
            }
            let mut depth = 0;
            for (i, c) in code[from..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            found.push(code[from + 1..from + i].to_string());
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        found
    }

    fn has(&self, needle: &str) -> bool {
        self.code.contains(needle)
    }

    /// The line of code holding the string literal `"literal"`, for each one.
    fn lines_with_literal(&self, literal: &str) -> Vec<&str> {
        let quoted = format!("\"{literal}\"");
        self.code
            .lines()
            .filter(|line| line.contains(&quoted))
            .collect()
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn idents(text: &str) -> Vec<String> {
    text.split(|c: char| !is_ident(c))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// `= value` or `+= value` (not `==`), after optional `: Type`.
fn split_assignment(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix(':') {
        Some(typed) => &typed[typed.find('=')?..],
        None => rest,
    };
    if let Some(value) = rest.strip_prefix("+=") {
        return Some(("+=", value));
    }
    let value = rest.strip_prefix('=')?;
    (!value.starts_with('=')).then_some(("=", value))
}

/// Blanks `//` and `/* */` comments (keeping the lines) and collects the string
/// literals of what is left.
fn scan(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::with_capacity(text.len());
    let mut literals = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                code.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                code.push(if chars[i] == '\n' { '\n' } else { ' ' });
                i += 1;
            }
            code.push_str("  ");
            i += 2;
        } else if c == '"' {
            let mut literal = String::new();
            code.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    literal.push(chars[i + 1]);
                    code.push(chars[i]);
                    code.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                literal.push(chars[i]);
                code.push(chars[i]);
                i += 1;
            }
            code.push('"');
            i += 1;
            literals.push(literal);
        } else {
            code.push(c);
            i += 1;
        }
    }
    (code, literals)
}

/// The accessor path Gradle generates for a catalog alias (`android-minSdk` ->
/// `android.minSdk`).
fn accessor(alias: &str) -> String {
    alias.replace(['-', '_'], ".")
}

/// Every `libs.a.b.c` path in the code, without trailing method calls (`.get()`).
fn catalog_references(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("libs.") {
        let start = from + at;
        from = start + 5;
        if code[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let mut segments = Vec::new();
        let mut rest = &code[from..];
        loop {
            let segment: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if segment.is_empty() {
                break;
            }
            rest = &rest[segment.len()..];
            if rest.starts_with('(') {
                break;
            }
            segments.push(segment);
            match rest.strip_prefix('.') {
                Some(more) => rest = more,
                None => break,
            }
        }
        found.push(segments.join("."));
    }
    found
}

const KNOWN_CONFIGURATIONS: [&str; 12] = [
    "implementation",
    "api",
    "compileOnly",
    "runtimeOnly",
    "testImplementation",
    "testCompileOnly",
    "testRuntimeOnly",
    "androidTestImplementation",
    "debugImplementation",
    "releaseImplementation",
    "coreLibraryDesugaring",
    "classpath",
];

/// Everything in the three scripts that could make the Gradle build differ from
/// `cargo xtask apk`. Empty when they agree.
fn check(expected: &Expected, texts: &GradleTexts) -> Vec<Disagreement> {
    let settings = Script::new(SETTINGS, &texts.settings);
    let root = Script::new(ROOT_BUILD, &texts.root);
    let app = Script::new(APP_BUILD, &texts.app);
    let build = &expected.build;
    let catalog = &build.catalog;
    let mut out = Vec::new();
    let mut say = |file: &'static str, setting: &str, problem: String| {
        out.push(Disagreement {
            file,
            setting: setting.to_string(),
            problem,
        })
    };

    // ---- settings.gradle.kts ----
    if !settings.has("include(\":android-app\")") {
        say(
            SETTINGS,
            "include",
            "does not include \":android-app\"".into(),
        );
    }
    if !settings.has("FAIL_ON_PROJECT_REPOS") {
        say(
            SETTINGS,
            "dependencyResolutionManagement",
            "repositoriesMode is not FAIL_ON_PROJECT_REPOS: a module could add a repository of its own".into(),
        );
    }
    if settings.has("versionCatalogs") {
        say(
            SETTINGS,
            "versionCatalogs",
            "declares a catalog of its own; `libs` must be gradle/libs.versions.toml (Gradle's default)".into(),
        );
    }

    // ---- everything in all three scripts ----
    let plugin_aliases: BTreeMap<String, &String> =
        catalog.plugins.keys().map(|k| (accessor(k), k)).collect();
    let triples: Vec<&str> = KNOWN_ABIS
        .iter()
        .filter_map(|abi| AndroidBuild::rust_target(abi))
        .collect();
    for script in [&settings, &root, &app] {
        let f = script.file;
        for literal in &script.literals {
            let parts: Vec<&str> = literal.split(':').collect();
            if parts.len() >= 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
                })
            {
                say(
                    f,
                    "dependencies",
                    format!("\"{literal}\" written out: every dependency comes from gradle/libs.versions.toml"),
                );
            }
            if KNOWN_ABIS.contains(&literal.as_str())
                || ["armeabi-v7a", "x86"].contains(&literal.as_str())
                || triples.contains(&literal.as_str())
            {
                say(
                    f,
                    "ABIs",
                    format!("\"{literal}\" written out: the ABIs are gradle.properties' hush.abis"),
                );
            }
            if *literal == build.application_id {
                say(
                    f,
                    "package",
                    format!("\"{literal}\" written out: the package is gradle.properties' hush.applicationId"),
                );
            }
        }
        for line in script.code.lines() {
            let words = idents(line);
            if words.iter().any(|w| w == "version")
                && (line.contains("version \"") || line.contains("version(\""))
            {
                say(
                    f,
                    "plugins",
                    format!(
                        "a version written out ({}): versions come from the catalog",
                        line.trim()
                    ),
                );
            }
            let sdk_line = words.iter().any(|w| w.to_ascii_lowercase().contains("sdk"));
            let number = line
                .split(|c: char| !is_ident(c) && c != '.')
                .find(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()));
            if sdk_line && !line.contains('"') {
                if let Some(number) = number {
                    say(
                        f,
                        "SDK level",
                        format!(
                            "{number} written out ({}): SDK levels come from the catalog",
                            line.trim()
                        ),
                    );
                }
            }
        }
        if !script.calls("id").is_empty() || !script.calls("kotlin").is_empty() {
            say(
                f,
                "plugins",
                "a plugin applied by id: plugins come from the catalog, `alias(libs.plugins.…)`"
                    .into(),
            );
        }
        for reference in catalog_references(&script.code) {
            let (kind, known): (&str, bool) = if let Some(key) = reference.strip_prefix("versions.")
            {
                (
                    "[versions]",
                    catalog.versions.keys().any(|k| accessor(k) == key),
                )
            } else if let Some(key) = reference.strip_prefix("bundles.") {
                (
                    "[bundles]",
                    catalog.bundles.keys().any(|k| accessor(k) == key),
                )
            } else if let Some(key) = reference.strip_prefix("plugins.") {
                ("[plugins]", plugin_aliases.contains_key(key))
            } else {
                (
                    "[libraries]",
                    catalog.libraries.keys().any(|k| accessor(k) == reference),
                )
            };
            if !known {
                say(
                    f,
                    "catalog",
                    format!("libs.{reference} names no entry of gradle/libs.versions.toml {kind}"),
                );
            }
        }
        for configuration in KNOWN_CONFIGURATIONS {
            for args in script.calls(configuration) {
                let args = args.trim();
                let from_catalog = args.starts_with("libs.")
                    && !args.contains(',')
                    && args.chars().all(|c| is_ident(c) || c == '.');
                if !from_catalog {
                    say(
                        f,
                        configuration,
                        format!("{configuration}({args}): every dependency is a `libs.` catalog entry or bundle"),
                    );
                }
            }
        }
        for args in script.calls("alias") {
            if !args.trim().starts_with("libs.plugins.") {
                say(
                    f,
                    "plugins",
                    format!("alias({args}): plugins come from the catalog's [plugins]"),
                );
            }
        }
    }

    // ---- build.gradle.kts (root) ----
    let kotlin = catalog.version("kotlin").map(str::to_string);
    for line in root.code.lines().filter(|l| l.contains("alias(")) {
        if !line.contains("apply false") {
            say(
                ROOT_BUILD,
                "plugins",
                format!(
                    "{}: the root declares plugins `apply false` only",
                    line.trim()
                ),
            );
        }
    }
    for (alias, id) in [
        ("android-application", "com.android.application"),
        ("kotlin-android", "org.jetbrains.kotlin.android"),
    ] {
        match catalog.plugins.get(alias) {
            Some(plugin) if plugin.id == id => {}
            _ => say(
                ROOT_BUILD,
                "plugins",
                format!("gradle/libs.versions.toml has no [plugins] {alias} = {{ id = \"{id}\" }}"),
            ),
        }
        if !root.has(&format!("alias(libs.plugins.{})", accessor(alias))) {
            say(
                ROOT_BUILD,
                "plugins",
                format!(
                    "does not declare alias(libs.plugins.{}) apply false",
                    accessor(alias)
                ),
            );
        }
    }
    // The Kotlin Gradle plugin (so the compiler) on the classpath is the catalog's
    // `kotlin`, the version cargo xtask apk compiles with.
    if let (Some(plugin), Ok(kotlin)) = (catalog.plugins.get("kotlin-android"), &kotlin) {
        match catalog.resolve(&plugin.version) {
            Ok(v) if v == *kotlin => {}
            other => say(
                ROOT_BUILD,
                "Kotlin",
                format!("[plugins] kotlin-android is {other:?}, not the catalog's kotlin {kotlin}"),
            ),
        }
    }
    if let (Ok(compiler), Ok(kotlin)) = (catalog.coordinates("kotlin-compiler-embeddable"), &kotlin)
    {
        if !compiler.ends_with(&format!(":{kotlin}")) {
            say(
                ROOT_BUILD,
                "Kotlin",
                format!("cargo xtask apk compiles with {compiler}, the Gradle build with {kotlin}"),
            );
        }
    }

    // ---- android-app/build.gradle.kts ----
    if !app.has("alias(libs.plugins.android.application)") {
        say(
            APP_BUILD,
            "plugins",
            "does not apply alias(libs.plugins.android.application)".into(),
        );
    }
    if app.has("libs.plugins.kotlin.android") || app.has("org.jetbrains.kotlin.android") {
        say(
            APP_BUILD,
            "plugins",
            "applies kotlin-android: AGP 9 compiles Kotlin itself and refuses it".into(),
        );
    }
    if !app.has("providers.gradleProperty(") {
        say(
            APP_BUILD,
            "gradle.properties",
            "reads no property with providers.gradleProperty".into(),
        );
    }
    let sdk = |key: &str| format!("libs.versions.{}", accessor(key));
    let sources: [(&str, String); 8] = [
        ("namespace", "\"hush.applicationId\"".into()),
        ("applicationId", "\"hush.applicationId\"".into()),
        ("versionName", "\"hush.versionName\"".into()),
        ("versionCode", "\"hush.versionCode\"".into()),
        ("minSdk", sdk("android-minSdk")),
        ("targetSdk", sdk("android-targetSdk")),
        ("compileSdk", sdk("android-compileSdk")),
        ("abiFilters", "\"hush.abis\"".into()),
    ];
    for (setting, source) in &sources {
        let setting: &str = setting;
        let values = app.assignments(setting);
        if values.is_empty() {
            say(
                APP_BUILD,
                setting,
                format!("not set: it must come from {source}"),
            );
        }
        for value in values {
            if !app.resolve(&value).contains(source.as_str()) {
                say(
                    APP_BUILD,
                    setting,
                    format!("set to `{value}`, which does not come from {source}"),
                );
            }
        }
    }

    // The native library: cargo ndk with the same ABIs, minSdk, profile and crate,
    // into the directory that is packaged as jniLibs.
    let ndk_lines = app.lines_with_literal("ndk");
    if ndk_lines.is_empty() {
        say(
            APP_BUILD,
            "cargoNdkBuild",
            "no `cargo ndk` command line".into(),
        );
    }
    let mut flag = |flag: &str, source: &str, what: &str| {
        let lines = app.lines_with_literal(flag);
        if lines.is_empty() {
            say(
                APP_BUILD,
                "cargoNdkBuild",
                format!("cargo ndk gets no {flag} ({what})"),
            );
        }
        for line in lines {
            if !app.resolve(line).contains(source) {
                say(
                    APP_BUILD,
                    "cargoNdkBuild",
                    format!(
                        "cargo ndk {flag} is `{}`, not from {source} ({what})",
                        line.trim()
                    ),
                );
            }
        }
    };
    flag("-t", "\"hush.abis\"", "the ABIs");
    flag("-P", &sdk("android-minSdk"), "the API level");
    let value_after = |flag: &str| {
        app.literals
            .iter()
            .position(|l| l == flag)
            .and_then(|i| app.literals.get(i + 1))
            .cloned()
    };
    match value_after("--profile") {
        Some(profile) if profile == expected.cargo_profile => {}
        other => say(
            APP_BUILD,
            "cargo profile",
            format!(
                "cargo ndk builds with profile {other:?}; the shipped library's is {:?} ({NATIVE_SCRIPT})",
                expected.cargo_profile
            ),
        ),
    }
    if !expected.cargo_profiles.contains(&expected.cargo_profile) {
        say(
            "Cargo.toml",
            "cargo profile",
            format!("no [profile.{}]", expected.cargo_profile),
        );
    }
    match value_after("-p") {
        Some(krate) if krate == JNI_CRATE => {}
        other => say(
            APP_BUILD,
            "cargoNdkBuild",
            format!("cargo ndk builds package {other:?}, not {JNI_CRATE:?}"),
        ),
    }
    let build_dir = |text: &str| {
        let at = text.find("buildDirectory.dir(\"")? + "buildDirectory.dir(\"".len();
        Some(text[at..].split('"').next()?.to_string())
    };
    let output_dirs: Vec<Option<String>> = app
        .lines_with_literal("-o")
        .into_iter()
        .map(|line| build_dir(&app.resolve(line)))
        .collect();
    let jni_dirs: Vec<Option<String>> = app
        .code
        .lines()
        .filter(|line| line.contains("jniLibs.srcDir"))
        .map(|line| build_dir(&app.resolve(line)))
        .collect();
    if output_dirs.len() != 1
        || jni_dirs.len() != 1
        || output_dirs[0].is_none()
        || output_dirs != jni_dirs
    {
        say(
            APP_BUILD,
            "jniLibs",
            format!("cargo ndk -o writes to {output_dirs:?} but jniLibs.srcDir packages {jni_dirs:?}: they must be the one build directory"),
        );
    }
    if !app.has("\"preBuild\"") && !app.has("JniLibFolders") {
        say(
            APP_BUILD,
            "cargoNdkBuild",
            "not wired before preBuild / merge<Variant>JniLibFolders".into(),
        );
    }

    // Dependencies: the bundles cargo xtask apk compiles and tests with.
    for (configuration, bundle) in [
        ("implementation", "app"),
        ("testImplementation", "unit-test"),
    ] {
        let wanted = format!("libs.bundles.{}", accessor(bundle));
        if !app.calls(configuration).iter().any(|a| a.trim() == wanted) {
            say(
                APP_BUILD,
                configuration,
                format!("{configuration}({wanted}) missing: the bundle {bundle:?} is what cargo xtask apk uses"),
            );
        }
    }

    // Keep rules: the one file both builds use, and nothing else.
    let rules: Vec<String> = ["proguardFiles", "proguardFile", "consumerProguardFiles"]
        .iter()
        .flat_map(|call| app.calls(call))
        .collect();
    if rules.iter().map(|a| a.trim()).collect::<Vec<_>>() != [format!("\"{RULES_FILE}\"")] {
        say(
            APP_BUILD,
            "proguardFiles",
            format!("keep rules are {rules:?}; both builds use exactly \"{RULES_FILE}\""),
        );
    }
    if app.has("getDefaultProguardFile") {
        say(
            APP_BUILD,
            "proguardFiles",
            "AGP's default rules are rules cargo xtask apk does not have".into(),
        );
    }
    if !app
        .assignments("isMinifyEnabled")
        .iter()
        .any(|v| v == "true")
    {
        say(
            APP_BUILD,
            "isMinifyEnabled",
            "the release build is not shrunk, as cargo xtask apk's is".into(),
        );
    }

    // The manifest.
    let manifests = app.calls("manifest.srcFile");
    if manifests.iter().map(|a| a.trim()).collect::<Vec<_>>() != [format!("\"{MANIFEST}\"")] {
        say(
            APP_BUILD,
            "manifest",
            format!("manifest.srcFile is {manifests:?}; both builds use \"{MANIFEST}\""),
        );
    }
    if !app
        .assignments("useLegacyPackaging")
        .iter()
        .any(|v| v == "false")
    {
        say(
            APP_BUILD,
            "useLegacyPackaging",
            "not false: cargo xtask apk stores the native libraries uncompressed".into(),
        );
    }
    out
}

// ---------------------------------------------------------------------------

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(name: &str) -> String {
    let path = repository_root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The profile `tools/android/build-native.sh --release` builds the shipped library with.
fn shipped_profile(script: &str) -> Option<String> {
    let at = script.find("--profile ")? + "--profile ".len();
    let name: String = script[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn expected() -> Expected {
    let build = AndroidBuild::load(&repository_root()).unwrap_or_else(|e| panic!("{e}"));
    let cargo: toml::Table = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml");
    let cargo_profiles = cargo
        .get("profile")
        .and_then(|p| p.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    let cargo_profile = shipped_profile(&read(NATIVE_SCRIPT))
        .unwrap_or_else(|| panic!("{NATIVE_SCRIPT}: no --profile for the release build"));
    Expected {
        build,
        cargo_profile,
        cargo_profiles,
    }
}

fn real_texts() -> GradleTexts {
    GradleTexts {
        settings: read(SETTINGS),
        root: read(ROOT_BUILD),
        app: read(APP_BUILD),
    }
}

fn report(found: &[Disagreement]) -> String {
    found.iter().map(|d| format!("\n  {d}")).collect::<String>()
}

#[test]
fn the_gradle_build_agrees_with_cargo_xtask_apk() {
    let found = check(&expected(), &real_texts());
    assert!(
        found.is_empty(),
        "the Android Studio build could differ from cargo xtask apk:{}",
        report(&found)
    );
}

#[test]
fn the_files_the_gradle_build_names_exist() {
    let rules = read(&format!("android-app/{RULES_FILE}"));
    assert!(rules.contains("-keep class org.hush.android."), "{rules}");
    let manifest = read(&format!("android-app/{MANIFEST}"));
    let (code, _) = scan(&manifest.replace("<!--", "/*").replace("-->", "*/"));
    assert!(
        !code.contains(" package="),
        "android-app/{MANIFEST}: a package attribute (AGP refuses it; the package is hush.applicationId)"
    );
    let wrapper = read("gradle/wrapper/gradle-wrapper.properties");
    assert!(
        wrapper.contains("distributionUrl="),
        "gradle-wrapper.properties: {wrapper}"
    );
}

// ---- negative tests: altered copies of the real scripts must be reported ----

#[derive(Clone, Copy)]
enum Which {
    Settings,
    Root,
    App,
}

/// The real scripts with `from` replaced by `to` in one of them (which must
/// contain `from`, so a test cannot pass by altering nothing).
fn altered(which: Which, from: &str, to: &str) -> GradleTexts {
    let mut texts = real_texts();
    let text = match which {
        Which::Settings => &mut texts.settings,
        Which::Root => &mut texts.root,
        Which::App => &mut texts.app,
    };
    assert!(text.contains(from), "the script has no {from:?} to alter");
    *text = text.replacen(from, to, 1);
    texts
}

/// Asserts that `check` reports `file` and `setting` for the altered scripts.
fn reported(texts: &GradleTexts, file: &str, setting: &str) {
    let found = check(&expected(), texts);
    assert!(
        found.iter().any(|d| d.file == file && d.setting == setting),
        "expected a disagreement on {file}: {setting}; got:{}",
        report(&found)
    );
}

#[test]
fn a_literal_sdk_level_is_reported() {
    let texts = altered(Which::App, "minSdk = hushMinSdk", "minSdk = 24");
    reported(&texts, APP_BUILD, "SDK level");
    reported(&texts, APP_BUILD, "minSdk");
    let texts = altered(
        Which::App,
        "targetSdk = libs.versions.android.targetSdk.get().toInt()",
        "targetSdk = libs.versions.android.compileSdk.get().toInt()",
    );
    reported(&texts, APP_BUILD, "targetSdk");
}

#[test]
fn a_dependency_not_from_the_catalog_is_reported() {
    let texts = altered(
        Which::App,
        "implementation(libs.bundles.app)",
        "implementation(libs.bundles.app)\n    implementation(\"x:y:1\")",
    );
    reported(&texts, APP_BUILD, "implementation");
    reported(&texts, APP_BUILD, "dependencies");
    let texts = altered(
        Which::App,
        "testImplementation(libs.bundles.unit.test)",
        "testImplementation(libs.bundles.unit.tests)",
    );
    reported(&texts, APP_BUILD, "catalog");
    reported(&texts, APP_BUILD, "testImplementation");
}

#[test]
fn missing_or_literal_abis_are_reported() {
    let texts = altered(Which::App, "abiFilters += hushAbis", "");
    reported(&texts, APP_BUILD, "abiFilters");
    let texts = altered(
        Which::App,
        "hushAbis.flatMap { listOf(\"-t\", it) }",
        "listOf(\"-t\", \"arm64-v8a\")",
    );
    reported(&texts, APP_BUILD, "ABIs");
    reported(&texts, APP_BUILD, "cargoNdkBuild");
}

#[test]
fn a_written_out_package_or_version_is_reported() {
    let texts = altered(
        Which::App,
        "namespace = hushApplicationId",
        "namespace = \"org.hush.android\"",
    );
    reported(&texts, APP_BUILD, "package");
    reported(&texts, APP_BUILD, "namespace");
    let texts = altered(
        Which::App,
        "versionCode = hushVersionCode",
        "versionCode = hushProperty(\"hush.versionName\").length",
    );
    reported(&texts, APP_BUILD, "versionCode");
}

#[test]
fn a_setting_only_in_a_comment_does_not_count() {
    let texts = altered(
        Which::App,
        "applicationId = hushApplicationId",
        "// applicationId = hushApplicationId",
    );
    reported(&texts, APP_BUILD, "applicationId");
}

#[test]
fn another_profile_crate_rules_file_or_manifest_is_reported() {
    let texts = altered(
        Which::App,
        "\"--profile\", \"android\"",
        "\"--profile\", \"release\"",
    );
    reported(&texts, APP_BUILD, "cargo profile");
    let texts = altered(
        Which::App,
        "\"-p\", \"hush-jni\"",
        "\"-p\", \"hush-engine\"",
    );
    reported(&texts, APP_BUILD, "cargoNdkBuild");
    let texts = altered(
        Which::App,
        "proguardFiles(\"proguard-rules.pro\")",
        "proguardFiles(getDefaultProguardFile(\"proguard-android-optimize.txt\"), \"proguard-rules.pro\")",
    );
    reported(&texts, APP_BUILD, "proguardFiles");
    let texts = altered(
        Which::App,
        "manifest.srcFile(\"src/main/AndroidManifest.xml\")",
        "manifest.srcFile(\"src/gradle/AndroidManifest.xml\")",
    );
    reported(&texts, APP_BUILD, "manifest");
    let texts = altered(
        Which::App,
        "jniLibs.srcDir(rustJniLibs)",
        "jniLibs.srcDir(layout.buildDirectory.dir(\"otherJniLibs\"))",
    );
    reported(&texts, APP_BUILD, "jniLibs");
}

#[test]
fn plugins_not_from_the_catalog_or_kotlin_android_applied_are_reported() {
    let texts = altered(
        Which::App,
        "alias(libs.plugins.android.application)",
        "alias(libs.plugins.android.application)\n    alias(libs.plugins.kotlin.android)",
    );
    reported(&texts, APP_BUILD, "plugins");
    let texts = altered(
        Which::Root,
        "alias(libs.plugins.android.application) apply false",
        "id(\"com.android.application\") version \"9.4.0\" apply false",
    );
    reported(&texts, ROOT_BUILD, "plugins");
    let texts = altered(
        Which::Settings,
        "include(\":android-app\")",
        "include(\":app\")",
    );
    reported(&texts, SETTINGS, "include");
}

#[test]
fn the_scanner_keeps_strings_and_drops_comments() {
    let (code, literals) = scan("a = \"x//y\" // note \"z\"\n/* b = \"w\" */ c = \"v\\\"q\"\n");
    assert_eq!(literals, ["x//y", "v\"q"]);
    assert!(!code.contains("note") && !code.contains("b ="), "{code}");
    assert_eq!(code.lines().count(), 2);
    assert_eq!(
        catalog_references("libs.versions.android.minSdk.get().toInt() + libs.bundles.app)"),
        ["versions.android.minSdk", "bundles.app"]
    );
    assert_eq!(
        shipped_profile("x=(--profile android)").as_deref(),
        Some("android")
    );
}
