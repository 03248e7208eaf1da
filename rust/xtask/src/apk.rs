//! `cargo xtask apk`: the whole APK build, step by step. Each step runs a
//! tool the project installs itself (Debian packages, Maven Central jars
//! through tests/android/jvm.sh, the native build script); the APK reaches
//! `dist/` only after it was signed and passed every check in
//! [`crate::check`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::{self, Expectations};
use crate::config::AndroidBuild;
use crate::package::{self, Entry};
use crate::tools::{self, capture, fail, run, BuildError, Context, Result};

pub struct Options {
    /// Sign with the key named by the environment (see [`Signer::release`]).
    pub release: bool,
    /// Build from a tree with uncommitted changes.
    pub allow_dirty: bool,
}

/// Where everything goes, under the repository root.
pub struct Paths {
    pub root: PathBuf,
    pub work: PathBuf,
    pub dist: PathBuf,
}

impl Paths {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            work: root.join("build/android/apk"),
            dist: root.join("dist"),
        }
    }

    pub fn unsigned_apk(&self, build: &AndroidBuild) -> PathBuf {
        self.work
            .join(format!("hush-{}-unsigned.apk", build.version_name))
    }
}

pub fn build(root: &Path, options: &Options) -> Result<PathBuf> {
    let build = AndroidBuild::load(root)?;
    let paths = Paths::new(root);
    let variant = if options.release { "release" } else { "debug" };
    let out = paths
        .dist
        .join(format!("hush-{}-{variant}.apk", build.version_name));
    // A failed build must not leave an earlier APK looking like its result.
    remove_if_present(&out)?;
    remove_if_present(&staging_path(&out))?;

    if !options.allow_dirty {
        require_clean_tree(root)?;
    }
    tools::ensure_tools(&tools::TOOLS)?;
    let signer = if options.release {
        Signer::release(|name| std::env::var(name).ok())?
    } else {
        Signer::debug()?
    };
    signer.check()?;

    step("native libraries (tools/android/build-native.sh --release)");
    run(
        "tools/android/build-native.sh",
        Command::new("bash")
            .arg(root.join("tools/android/build-native.sh"))
            .arg("--release")
            .current_dir(root),
    )?;

    step("Kotlin classes (tests/android/jvm.sh --app-classes)");
    let jvm = jvm_outputs(root)?;
    std::fs::create_dir_all(&paths.work)
        .context(|| format!("cannot create {}", paths.work.display()))?;

    step("shrink and backport to Java 7 (ProGuard)");
    let shrunk = paths.work.join("app-shrunk.jar");
    proguard(root, &paths, &jvm, &shrunk)?;

    step("verify the shrunk classes (ASM's verifier)");
    verify_bytecode(root, &paths, &jvm, &shrunk)?;

    step("dex (dx)");
    let dex = dx(&paths, &jvm, &shrunk)?;
    let app_classes = check::class_names_under(Path::new(jvm.get("main-classes")))?;

    step("resources (aapt2)");
    let linked = link_resources(root, &paths, &build, &jvm)?;

    step("package");
    let mut entries =
        package::read_zip(&linked).map_err(|e| BuildError(format!("aapt2's output: {e}")))?;
    entries.push(Entry {
        name: "classes.dex".into(),
        data: dex,
    });
    for abi in &build.abis {
        let library = root.join(format!("build/android/jniLibs/{abi}/libhush_jni.so"));
        let data = std::fs::read(&library)
            .context(|| format!("no native library for {abi}: {}", library.display()))?;
        entries.push(Entry {
            name: format!("lib/{abi}/libhush_jni.so"),
            data,
        });
    }
    let unsigned = package::write_apk(entries).map_err(BuildError)?;
    let unsigned_path = paths.unsigned_apk(&build);
    tools::write_atomically(&unsigned_path, &unsigned)?;

    step(&format!("sign ({})", signer.describe()));
    let signed = paths
        .work
        .join(format!("hush-{}-{variant}.apk", build.version_name));
    remove_if_present(&signed)?;
    signer.sign(&unsigned_path, &signed, build.min_sdk)?;

    step("check");
    let expectations = Expectations::from_sources(root, &build, Some(app_classes))?;
    let report = check::check_apk(root, &signed, &expectations)?;
    for line in &report {
        println!("ok   {line}");
    }

    std::fs::create_dir_all(&paths.dist)
        .context(|| format!("cannot create {}", paths.dist.display()))?;
    let staging = staging_path(&out);
    let published = std::fs::copy(&signed, &staging)
        .context(|| format!("cannot write {}", staging.display()))
        .and_then(|_| {
            std::fs::rename(&staging, &out).context(|| format!("cannot write {}", out.display()))
        });
    if published.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    published.map(|()| out)
}

/// Where the APK is written before it is renamed into place, in `dist/`
/// (the same file system, so the rename is atomic).
fn staging_path(out: &Path) -> PathBuf {
    let name = out.file_name().unwrap_or_default().to_string_lossy();
    out.with_file_name(format!(".{name}.tmp"))
}

fn step(what: &str) {
    eprintln!("xtask: == {what}");
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            fail(format!("cannot remove {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

fn require_clean_tree(root: &Path) -> Result<()> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=normal"])
        .current_dir(root)
        .output()
        .context(|| "cannot start git".into())?;
    if !output.status.success() {
        return fail(format!(
            "cannot tell whether the tree is clean: `git status` failed: {}\npass --allow-dirty to build anyway",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let dirty: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = dirty.iter().take(10).map(String::as_str).collect();
    fail(format!(
        "the tree has uncommitted changes, so the APK would not match any commit:\n{}{}\ncommit or stash them, or pass --allow-dirty",
        shown.join("\n"),
        if dirty.len() > shown.len() { format!("\n... and {} more", dirty.len() - shown.len()) } else { String::new() }
    ))
}

/// What tests/android/jvm.sh --app-classes printed, by name.
pub struct JvmOutputs(BTreeMap<String, String>);

impl JvmOutputs {
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or_default()
    }

    fn classpath(&self, key: &str) -> Vec<&str> {
        self.get(key).split(':').filter(|p| !p.is_empty()).collect()
    }

    fn java(&self) -> PathBuf {
        Path::new(self.get("java-home")).join("bin/java")
    }
}

fn jvm_outputs(root: &Path) -> Result<JvmOutputs> {
    let output = capture(
        "tests/android/jvm.sh --app-classes (compiling android-app/src/main/kotlin)",
        Command::new("bash")
            .arg(root.join("tests/android/jvm.sh"))
            .arg("--app-classes")
            .current_dir(root),
    )?;
    let map: BTreeMap<String, String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for key in [
        "main-classes",
        "app-classpath",
        "android-classpath",
        "android-resources",
        "proguard-classpath",
        "dx-classpath",
        "verifier-classpath",
        "java-home",
        "resource-ids",
        "r-java",
    ] {
        if map.get(key).is_none_or(|v| v.is_empty()) {
            return fail(format!(
                "tests/android/jvm.sh --app-classes printed no {key}"
            ));
        }
    }
    Ok(JvmOutputs(map))
}

/// ProGuard options that are this build's own (the keep rules are shared
/// with the Gradle build in android-app/proguard-rules.pro).
fn proguard(root: &Path, paths: &Paths, jvm: &JvmOutputs, out: &Path) -> Result<()> {
    let mut config = String::new();
    let quote = |p: &str| format!("'{p}'");
    config += &format!("-injars {}\n", quote(jvm.get("main-classes")));
    // Multi-release jars' Java 9+ copies and module descriptors are not for Android.
    for jar in jvm.classpath("app-classpath") {
        config += &format!(
            "-injars {}(!META-INF/versions/**,!module-info.class,!META-INF/*.kotlin_module)\n",
            quote(jar)
        );
    }
    config += &format!("-outjars {}\n", quote(&out.to_string_lossy()));
    for jar in jvm.classpath("android-classpath") {
        config += &format!("-libraryjars {}\n", quote(jar));
    }
    // The Java API the classes may call (java.*), from the JDK's own module.
    let java_base = Path::new(jvm.get("java-home")).join("jmods/java.base.jmod");
    if !java_base.is_file() {
        return fail(format!(
            "no {}: ProGuard needs a full JDK's java.base module (Debian: openjdk-17-jdk-headless)",
            java_base.display()
        ));
    }
    config += &format!(
        "-libraryjars {}(!**.jar;!module-info.class)\n",
        quote(&java_base.to_string_lossy())
    );
    // Java 7 class files: ProGuard rewrites every lambda (LambdaMetafactory),
    // default and static interface method into classes dx can take.
    config += "-target 1.7\n";
    // Its default optimizations made code the JVM's verifier rejects
    // (kotlinx.coroutines.JobKt); these three are what it took to verify.
    config += "-optimizations !method/specialization/*,!field/specialization/*,!code/allocation/variable\n";
    config += "-dontnote\n";
    config += &format!(
        "-include {}\n",
        quote(
            &root
                .join("android-app/proguard-rules.pro")
                .to_string_lossy()
        )
    );
    // The libraries' own rules (R8 reads them from the jars by itself).
    for (i, jar) in jvm.classpath("app-classpath").into_iter().enumerate() {
        for (j, rules) in library_rules(Path::new(jar))?.into_iter().enumerate() {
            let file = paths.work.join(format!("library-rules-{i}-{j}.pro"));
            std::fs::write(&file, rules).context(|| format!("cannot write {}", file.display()))?;
            config += &format!("-include {}\n", quote(&file.to_string_lossy()));
        }
    }
    let config_file = paths.work.join("proguard.pro");
    std::fs::write(&config_file, &config)
        .context(|| format!("cannot write {}", config_file.display()))?;
    let _ = std::fs::remove_file(out);
    capture(
        "ProGuard",
        Command::new(jvm.java())
            .args([
                "-Xmx2g",
                "-cp",
                jvm.get("proguard-classpath"),
                "proguard.ProGuard",
            ])
            .arg(format!("@{}", config_file.display())),
    )?;
    Ok(())
}

/// tools/android/VerifyJar.java over ProGuard's output, with the framework
/// for the type hierarchy: a class that a verifier rejects would throw
/// VerifyError on the phone, when it loads. (ProGuard's default
/// optimisations did produce one, in kotlinx.coroutines.JobKt.)
fn verify_bytecode(root: &Path, paths: &Paths, jvm: &JvmOutputs, jar: &Path) -> Result<()> {
    let classes = paths.work.join("verifier");
    let _ = std::fs::remove_dir_all(&classes);
    std::fs::create_dir_all(&classes).context(|| format!("cannot create {}", classes.display()))?;
    let javac = Path::new(jvm.get("java-home")).join("bin/javac");
    capture(
        "javac tools/android/VerifyJar.java",
        Command::new(&javac)
            .args(["-nowarn", "-d"])
            .arg(&classes)
            .args(["-cp", jvm.get("verifier-classpath")])
            .arg(root.join("tools/android/VerifyJar.java")),
    )?;
    let classpath = [
        classes.to_string_lossy().as_ref(),
        jvm.get("verifier-classpath"),
        jvm.get("android-classpath"),
    ]
    .join(":");
    let output = Command::new(jvm.java())
        .args(["-cp", &classpath, "VerifyJar"])
        .arg(jar)
        .output()
        .context(|| "cannot start java for VerifyJar".into())?;
    let text = String::from_utf8_lossy(&output.stdout);
    if output.status.success() {
        eprintln!("xtask: {}", text.lines().last().unwrap_or_default());
        return Ok(());
    }
    let head: Vec<&str> = text.lines().take(40).collect();
    fail(format!(
        "ProGuard's output fails bytecode verification (it would throw VerifyError on a phone):\n{}\n{}",
        head.join("\n"),
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// `META-INF/proguard/*.pro` inside a jar.
fn library_rules(jar: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(jar).context(|| format!("cannot read {}", jar.display()))?;
    let entries =
        package::read_zip(&bytes).map_err(|e| BuildError(format!("{}: {e}", jar.display())))?;
    Ok(entries
        .into_iter()
        .filter(|e| e.name.starts_with("META-INF/proguard/") && e.name.ends_with(".pro"))
        .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        .collect())
}

/// dx with `--min-sdk-version=25`: at 26 it would write `invoke-custom` for
/// any lambda left (Android has no LambdaMetafactory: a crash at run time),
/// at 25 it refuses them, so a missed backport fails here.
fn dx(paths: &Paths, jvm: &JvmOutputs, jar: &Path) -> Result<Vec<u8>> {
    let out = paths.work.join("classes.dex");
    let _ = std::fs::remove_file(&out);
    capture(
        "dx",
        Command::new(jvm.java())
            .args([
                "-Xmx2g",
                "-cp",
                jvm.get("dx-classpath"),
                "com.android.dx.command.Main",
                "--dex",
                "--min-sdk-version=25",
            ])
            .arg(format!("--output={}", out.display()))
            .arg(jar),
    )?;
    std::fs::read(&out).context(|| format!("dx wrote no {}", out.display()))
}

/// aapt2 compile + link against the framework's resource table; returns the
/// linked zip (manifest, resources.arsc, res/).
fn link_resources(
    root: &Path,
    paths: &Paths,
    build: &AndroidBuild,
    jvm: &JvmOutputs,
) -> Result<Vec<u8>> {
    let framework = paths.work.join("framework.apk");
    let android_all = std::fs::read(jvm.get("android-resources"))
        .context(|| format!("cannot read {}", jvm.get("android-resources")))?;
    let table: Vec<Entry> = package::read_zip(&android_all)
        .map_err(BuildError)?
        .into_iter()
        .filter(|e| e.name == "resources.arsc" || e.name == "AndroidManifest.xml")
        .collect();
    if table.len() != 2 {
        return fail(format!(
            "{} has no framework resource table",
            jvm.get("android-resources")
        ));
    }
    tools::write_atomically(&framework, &package::write_apk(table).map_err(BuildError)?)?;

    let manifest = paths.work.join("AndroidManifest.xml");
    let source = root.join("android-app/src/main/AndroidManifest.xml");
    let text =
        std::fs::read_to_string(&source).context(|| format!("cannot read {}", source.display()))?;
    std::fs::write(&manifest, build_manifest(&text, build)?)
        .context(|| format!("cannot write {}", manifest.display()))?;

    // The classes were compiled against the R class that tests/android/jvm.sh linked
    // (its IDs are constants, inlined where they are used): this table is linked with
    // the same IDs (--stable-ids), and its R.java must come out the same, or a string
    // or drawable would resolve to another one on the phone.
    let ids = Path::new(jvm.get("resource-ids"));
    let jvm_r_java = Path::new(jvm.get("r-java"));
    let gen = paths.work.join("gen");
    let _ = std::fs::remove_dir_all(&gen);
    std::fs::create_dir_all(&gen).context(|| format!("cannot create {}", gen.display()))?;

    let compiled = paths.work.join("res.zip");
    let _ = std::fs::remove_file(&compiled);
    capture(
        "aapt2 compile",
        Command::new("aapt2")
            .arg("compile")
            .arg("--dir")
            .arg(root.join("android-app/src/main/res"))
            .arg("-o")
            .arg(&compiled),
    )?;
    let linked = paths.work.join("resources.apk");
    let _ = std::fs::remove_file(&linked);
    let output = capture(
        "aapt2 link",
        Command::new("aapt2")
            .arg("link")
            // <queries> (API 30) and <property> (API 31) are newer than this aapt2:
            // kept, with a warning. Any other manifest warning fails the build below.
            .arg("--warn-manifest-validation")
            .arg("-I")
            .arg(&framework)
            .arg("--manifest")
            .arg(&manifest)
            .args(["--min-sdk-version", &build.min_sdk.to_string()])
            .args(["--target-sdk-version", &build.target_sdk.to_string()])
            .args(["--version-code", &build.version_code.to_string()])
            .args(["--version-name", &build.version_name])
            .arg("--stable-ids")
            .arg(ids)
            .arg("--java")
            .arg(&gen)
            .arg("-o")
            .arg(&linked)
            .arg(&compiled),
    )?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains(" warn: ")
                && !l.contains("unexpected element <property>")
                && !l.contains("unexpected element <queries>")
        })
        .collect();
    if !unexpected.is_empty() {
        return fail(format!(
            "aapt2 link warned about the manifest:\n{}",
            unexpected.join("\n")
        ));
    }
    let r_java = gen
        .join(build.application_id.replace('.', "/"))
        .join("R.java");
    same_r_class(&r_java, jvm_r_java)?;
    std::fs::read(&linked).context(|| format!("aapt2 wrote no {}", linked.display()))
}

/// Fails unless the R class of the APK's resource table ([`link_resources`]) is
/// the one the classes were compiled with.
pub fn same_r_class(apk_r_java: &Path, compiled_r_java: &Path) -> Result<()> {
    let ours = std::fs::read(apk_r_java)
        .context(|| format!("aapt2 link wrote no {}", apk_r_java.display()))?;
    let theirs = std::fs::read(compiled_r_java).context(|| {
        format!(
            "cannot read the R class the app was compiled with ({})",
            compiled_r_java.display()
        )
    })?;
    if ours != theirs {
        return fail(format!(
            "the APK's resource IDs ({}) differ from those the classes were compiled with ({}): \
             run `bash tests/android/jvm.sh --app-classes` again",
            apk_r_java.display(),
            compiled_r_java.display()
        ));
    }
    Ok(())
}

/// The source manifest with what a build adds: the package, and
/// `extractNativeLibs="false"` (the libraries are stored aligned, to be
/// mapped from the APK), as the Android Gradle plugin adds them.
pub fn build_manifest(source: &str, build: &AndroidBuild) -> Result<String> {
    let start = source.find("<manifest").filter(|&i| {
        source[i..].starts_with("<manifest ") || source[i..].starts_with("<manifest\n")
    });
    let Some(start) = start else {
        return fail("android-app/src/main/AndroidManifest.xml: no <manifest> element");
    };
    let head_end = start
        + source[start..]
            .find('>')
            .ok_or_else(|| BuildError("unterminated <manifest>".into()))?;
    if source[start..head_end].contains("package=") {
        return fail("android-app/src/main/AndroidManifest.xml: the package comes from gradle.properties (hush.applicationId), not a package attribute");
    }
    let mut text = format!(
        "{} package=\"{}\"{}",
        &source[..head_end],
        build.application_id,
        &source[head_end..]
    );
    let Some(app) = text.find("<application") else {
        return fail("android-app/src/main/AndroidManifest.xml: no <application> element");
    };
    if text[app..].contains("extractNativeLibs") {
        return fail(
            "android-app/src/main/AndroidManifest.xml: extractNativeLibs is the build's to set",
        );
    }
    text.insert_str(
        app + "<application".len(),
        " android:extractNativeLibs=\"false\"",
    );
    Ok(text)
}

/// The key that signs the APK.
pub struct Signer {
    keystore: PathBuf,
    alias: String,
    /// apksigner/keytool password arguments: `pass:...` or `env:NAME`.
    store_password: String,
    key_password: String,
    /// The variables `env:` names, handed to the tools' environments only.
    secrets: Vec<(String, String)>,
    release: bool,
}

impl Signer {
    /// The machine's Android debug key, `~/.android/debug.keystore` (what
    /// Android Studio uses too), made on first use.
    pub fn debug() -> Result<Self> {
        let home = std::env::var_os("HOME")
            .ok_or_else(|| BuildError("HOME is not set: no place for the debug keystore".into()))?;
        Self::debug_in(Path::new(&home))
    }

    /// [`Signer::debug`] with `home` for `~`.
    pub fn debug_in(home: &Path) -> Result<Self> {
        let keystore = home.join(".android/debug.keystore");
        if !keystore.exists() {
            std::fs::create_dir_all(keystore.parent().unwrap())
                .context(|| format!("cannot create {}", home.join(".android").display()))?;
            capture(
                "keytool -genkeypair (the debug key)",
                Command::new("keytool")
                    .args(["-genkeypair", "-keystore"])
                    .arg(&keystore)
                    .args([
                        "-storepass",
                        "android",
                        "-keypass",
                        "android",
                        "-alias",
                        "androiddebugkey",
                    ])
                    .args(["-keyalg", "RSA", "-keysize", "2048", "-validity", "10000"])
                    .args([
                        "-dname",
                        "CN=Android Debug,O=Android,C=US",
                        "-storetype",
                        "PKCS12",
                    ]),
            )?;
        }
        Ok(Self {
            keystore,
            alias: "androiddebugkey".into(),
            store_password: "pass:android".into(),
            key_password: "pass:android".into(),
            secrets: Vec::new(),
            release: false,
        })
    }

    /// The release key: HUSH_KEYSTORE (a keystore file), HUSH_KEYSTORE_PASSWORD,
    /// HUSH_KEY_ALIAS, and HUSH_KEY_PASSWORD when the key's differs. The
    /// passwords reach the tools by name (`env:`), never on a command line.
    pub fn release(env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let missing: Vec<&str> = ["HUSH_KEYSTORE", "HUSH_KEYSTORE_PASSWORD", "HUSH_KEY_ALIAS"]
            .into_iter()
            .filter(|n| var(n).is_none())
            .collect();
        if !missing.is_empty() {
            return fail(format!(
                "a release APK is signed with the key the environment names; missing: {}",
                missing.join(", ")
            ));
        }
        let keystore = PathBuf::from(var("HUSH_KEYSTORE").unwrap());
        if !keystore.is_file() {
            return fail(format!(
                "HUSH_KEYSTORE: no keystore file at {}",
                keystore.display()
            ));
        }
        let key_password = if var("HUSH_KEY_PASSWORD").is_some() {
            "env:HUSH_KEY_PASSWORD"
        } else {
            "env:HUSH_KEYSTORE_PASSWORD"
        };
        let secrets = ["HUSH_KEYSTORE_PASSWORD", "HUSH_KEY_PASSWORD"]
            .into_iter()
            .filter_map(|name| Some((name.to_string(), var(name)?)))
            .collect();
        Ok(Self {
            keystore,
            alias: var("HUSH_KEY_ALIAS").unwrap(),
            store_password: "env:HUSH_KEYSTORE_PASSWORD".into(),
            key_password: key_password.into(),
            secrets,
            release: true,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} key {:?} in {}",
            if self.release { "release" } else { "debug" },
            self.alias,
            self.keystore.display()
        )
    }

    /// Opens the keystore and finds the key before anything is built, so a
    /// wrong password or alias fails in a second, saying which.
    pub fn check(&self) -> Result<()> {
        let mut keytool = Command::new("keytool");
        keytool
            .args(["-list", "-keystore"])
            .arg(&self.keystore)
            .args(["-alias", &self.alias]);
        keytool.envs(self.secrets.iter().map(|(k, v)| (k, v)));
        match self.store_password.split_once(':') {
            Some(("env", name)) => keytool.args(["-storepass:env", name]),
            Some((_, literal)) => keytool.args(["-storepass", literal]),
            None => unreachable!("passwords are pass: or env:"),
        };
        let output = keytool.output().context(|| "cannot start keytool".into())?;
        if output.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        let lower = text.to_lowercase();
        let why = if lower.contains("password was incorrect")
            || lower.contains("password verification failed")
        {
            format!(
                "wrong keystore password for {} ({})",
                self.keystore.display(),
                if self.release {
                    "HUSH_KEYSTORE_PASSWORD"
                } else {
                    "the debug keystore's is \"android\""
                }
            )
        } else if lower.contains("does not exist") {
            format!(
                "no key named {:?} in {}",
                self.alias,
                self.keystore.display()
            )
        } else {
            format!(
                "cannot open the keystore {}: {}",
                self.keystore.display(),
                text.trim()
            )
        };
        fail(why)
    }

    pub fn sign(&self, unsigned: &Path, signed: &Path, min_sdk: u32) -> Result<()> {
        capture(
            "apksigner sign",
            Command::new("apksigner")
                .envs(self.secrets.iter().map(|(k, v)| (k, v)))
                .arg("sign")
                .arg("--ks")
                .arg(&self.keystore)
                .args([
                    "--ks-key-alias",
                    &self.alias,
                    "--ks-pass",
                    &self.store_password,
                    "--key-pass",
                    &self.key_password,
                ])
                .args(["--min-sdk-version", &min_sdk.to_string()])
                .args([
                    "--v1-signing-enabled",
                    "false",
                    "--v2-signing-enabled",
                    "true",
                    "--v3-signing-enabled",
                    "true",
                ])
                .args(["--v4-signing-enabled", "false"])
                .arg("--out")
                .arg(signed)
                .arg(unsigned),
        )
        .map_err(|e| {
            if e.0.contains("Failed to obtain key") || e.0.contains("Cannot recover key") {
                BuildError(format!(
                    "wrong key password for {:?} in {} ({})",
                    self.alias,
                    self.keystore.display(),
                    if self.release {
                        "set HUSH_KEY_PASSWORD to the key's own password"
                    } else {
                        "the debug key's is \"android\""
                    }
                ))
            } else {
                e
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Catalog;

    fn build() -> AndroidBuild {
        AndroidBuild {
            application_id: "org.hush.android".into(),
            version_name: "0.1.0".into(),
            version_code: 1,
            min_sdk: 26,
            target_sdk: 35,
            compile_sdk: 35,
            abis: vec!["arm64-v8a".into()],
            catalog: Catalog::parse("").unwrap(),
        }
    }

    #[test]
    fn the_manifest_gets_the_package_and_stored_native_libraries() {
        let source = "<?xml version=\"1.0\"?>\n<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\">\n  <application android:label=\"Hush\" />\n</manifest>\n";
        let out = build_manifest(source, &build()).unwrap();
        assert!(out.contains("<manifest xmlns:android=\"http://schemas.android.com/apk/res/android\" package=\"org.hush.android\">"), "{out}");
        assert!(
            out.contains(
                "<application android:extractNativeLibs=\"false\" android:label=\"Hush\" />"
            ),
            "{out}"
        );
    }

    #[test]
    fn an_r_class_other_than_the_compiled_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-r-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, c) = (dir.join("a.java"), dir.join("b.java"), dir.join("c.java"));
        std::fs::write(&a, "public static final int app_name=0x7f010000;").unwrap();
        std::fs::write(&b, "public static final int app_name=0x7f010000;").unwrap();
        std::fs::write(&c, "public static final int app_name=0x7f010001;").unwrap();
        assert!(same_r_class(&a, &b).is_ok());
        let e = same_r_class(&a, &c).unwrap_err().0;
        assert!(
            e.contains("differ from those the classes were compiled with"),
            "{e}"
        );
        let e = same_r_class(&a, &dir.join("missing.java")).unwrap_err().0;
        assert!(e.contains("cannot read the R class"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_manifest_that_sets_what_the_build_sets_is_refused() {
        let with_package = "<manifest package=\"x.y\"><application/></manifest>";
        assert!(build_manifest(with_package, &build())
            .unwrap_err()
            .0
            .contains("gradle.properties"));
        let extracting = "<manifest ><application android:extractNativeLibs=\"true\"/></manifest>";
        assert!(build_manifest(extracting, &build())
            .unwrap_err()
            .0
            .contains("extractNativeLibs"));
        assert!(build_manifest("<resources/>", &build()).is_err());
        assert!(build_manifest("<manifest >", &build())
            .unwrap_err()
            .0
            .contains("<application>"));
    }
}
