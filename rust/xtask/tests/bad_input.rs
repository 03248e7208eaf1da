//! What `cargo xtask apk` says when it cannot build: a dirty tree, a missing
//! tool, a keystore that will not open. Each fails before anything is built,
//! names what is wrong, and leaves no APK in `dist/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::apk::{self, Options, Signer};
use xtask::package::{self, Entry};
use xtask::tools::{ensure_tools_with, Tool};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hush-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// A PKCS12 keystore holding one RSA key, the key's password the store's.
fn make_keystore(path: &Path, password: &str, alias: &str) {
    let made = Command::new("keytool")
        .args(["-genkeypair", "-keystore"])
        .arg(path)
        .args([
            "-storepass",
            password,
            "-keypass",
            password,
            "-alias",
            alias,
        ])
        .args(["-keyalg", "RSA", "-keysize", "2048", "-validity", "2"])
        .args(["-storetype", "PKCS12", "-dname", "CN=Hush test"])
        .output()
        .expect(
            "keytool (a JDK) is needed: tests/run.sh and .ci/run install openjdk-17-jdk-headless",
        );
    assert!(made.status.success(), "{made:?}");
}

#[test]
fn a_dirty_tree_is_refused_by_name_and_no_apk_is_left_in_dist() {
    let tree = Scratch::new("dirty");
    let root = &tree.0;
    std::fs::create_dir_all(root.join("gradle")).unwrap();
    for file in [
        "Cargo.toml",
        "gradle.properties",
        "gradle/libs.versions.toml",
    ] {
        std::fs::copy(repository().join(file), root.join(file)).unwrap();
    }
    std::fs::write(root.join(".gitignore"), "/dist\n").unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "x"]);
    // An APK an earlier build left, and a change not committed.
    std::fs::create_dir_all(root.join("dist")).unwrap();
    let stale = root.join("dist/hush-0.1.0-debug.apk");
    std::fs::write(&stale, b"an older build").unwrap();
    std::fs::write(root.join("notes.txt"), "untracked").unwrap();

    let options = Options {
        release: false,
        allow_dirty: false,
    };
    let error = apk::build(root, &options).unwrap_err().to_string();
    assert!(
        error.contains("uncommitted changes") && error.contains("notes.txt"),
        "{error}"
    );
    assert!(error.contains("--allow-dirty"), "{error}");
    assert!(!stale.exists(), "the stale APK was left in dist/");
    assert_eq!(std::fs::read_dir(root.join("dist")).unwrap().count(), 0);

    // A build identity that does not hold is named before anything else.
    std::fs::write(
        root.join("gradle.properties"),
        "hush.applicationId=org.hush.android\n",
    )
    .unwrap();
    let error = apk::build(root, &options).unwrap_err().to_string();
    assert!(
        error.starts_with("gradle.properties: no hush.versionName"),
        "{error}"
    );
}

#[test]
fn a_missing_tool_is_named_with_its_package() {
    let tool = [Tool {
        program: "hush-no-such-tool",
        package: "hush-no-such-package",
    }];
    let not_root = ensure_tools_with(&tool, None).unwrap_err().to_string();
    assert!(
        not_root.contains("missing hush-no-such-tool (Debian package hush-no-such-package)")
            && not_root.contains("apt-get install hush-no-such-package"),
        "{not_root}"
    );
    let refused = ensure_tools_with(&tool, Some(|_| false))
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("apt-get install hush-no-such-package` failed"),
        "{refused}"
    );
    let hollow = ensure_tools_with(&tool, Some(|_| true))
        .unwrap_err()
        .to_string();
    assert!(hollow.contains("still missing"), "{hollow}");
    let present = [Tool {
        program: "sh",
        package: "dash",
    }];
    ensure_tools_with(&present, Some(|_| panic!("nothing to install"))).unwrap();
}

#[test]
fn a_release_key_that_will_not_open_says_why_before_anything_is_built() {
    let dir = Scratch::new("keystore");
    let keystore = dir.0.join("release.p12");
    make_keystore(&keystore, "right-password", "hush");
    let env = |store: &'static str, alias: &'static str, key: Option<&'static str>| {
        let keystore = keystore.to_string_lossy().into_owned();
        move |name: &str| match name {
            "HUSH_KEYSTORE" => Some(keystore.clone()),
            "HUSH_KEYSTORE_PASSWORD" => Some(store.to_string()),
            "HUSH_KEY_ALIAS" => Some(alias.to_string()),
            "HUSH_KEY_PASSWORD" => key.map(str::to_string),
            _ => None,
        }
    };

    Signer::release(env("right-password", "hush", None))
        .unwrap()
        .check()
        .unwrap();
    let wrong = Signer::release(env("wrong-password", "hush", None))
        .unwrap()
        .check()
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains("wrong keystore password") && wrong.contains("HUSH_KEYSTORE_PASSWORD"),
        "{wrong}"
    );
    assert!(
        !wrong.contains("right-password") && !wrong.contains("wrong-password"),
        "a password was printed: {wrong}"
    );
    let alias = Signer::release(env("right-password", "nobody", None))
        .unwrap()
        .check()
        .unwrap_err()
        .to_string();
    assert!(alias.contains("no key named \"nobody\""), "{alias}");

    let missing = Signer::release(|name| (name == "HUSH_KEYSTORE").then(|| "x".to_string()))
        .err()
        .unwrap()
        .to_string();
    assert!(
        missing.contains("HUSH_KEYSTORE_PASSWORD") && missing.contains("HUSH_KEY_ALIAS"),
        "{missing}"
    );
    let nowhere = Signer::release(|name| Some(format!("/nonexistent/{name}")))
        .err()
        .unwrap()
        .to_string();
    assert!(nowhere.contains("no keystore file"), "{nowhere}");

    // A wrong key password shows only when signing: nothing is written.
    let unsigned = dir.0.join("unsigned.apk");
    let apk = package::write_apk(vec![Entry {
        name: "classes.dex".into(),
        data: vec![0; 64],
    }])
    .unwrap();
    std::fs::write(&unsigned, apk).unwrap();
    let signed = dir.0.join("signed.apk");
    let signer = Signer::release(env("right-password", "hush", Some("bad-key-password"))).unwrap();
    let error = signer.sign(&unsigned, &signed, 26).unwrap_err().to_string();
    assert!(
        error.contains("wrong key password") && error.contains("HUSH_KEY_PASSWORD"),
        "{error}"
    );
    assert!(!signed.exists());
    // With the right passwords the same file signs.
    Signer::release(env("right-password", "hush", None))
        .unwrap()
        .sign(&unsigned, &signed, 26)
        .unwrap();
    assert!(signed.exists());
}

#[test]
fn the_debug_key_is_made_on_first_use_and_kept() {
    let home = Scratch::new("home");
    let keystore = home.0.join(".android/debug.keystore");
    Signer::debug_in(&home.0).unwrap().check().unwrap();
    let made = std::fs::read(&keystore).expect("the debug keystore was made");
    Signer::debug_in(&home.0).unwrap().check().unwrap();
    assert_eq!(
        std::fs::read(&keystore).unwrap(),
        made,
        "a second build keeps the same key"
    );
    // A keystore there whose password is not the debug one's says so.
    std::fs::remove_file(&keystore).unwrap();
    make_keystore(&keystore, "not-android", "androiddebugkey");
    let error = Signer::debug_in(&home.0)
        .unwrap()
        .check()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("wrong keystore password") && error.contains("\"android\""),
        "{error}"
    );
}
