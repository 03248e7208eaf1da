//! The static checks on a built APK, since nothing here can run Android:
//! its signatures (apksigner), what Android reads from it (aapt2 badging:
//! package, versions, SDK levels, permissions, ABIs), its layout (stored and
//! aligned native libraries and resource table), its dex (the app's classes
//! there, and no call site or method handle: no `invokedynamic` reached it),
//! and each native library (tools/android/check-native.sh: NEEDED, exports,
//! undefined symbols against the Bionic lists, 16 KiB LOAD alignment).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::config::AndroidBuild;
use crate::dex;
use crate::package::{self, NATIVE_ALIGNMENT};
use crate::tools::{capture, fail, BuildError, Context, Result};

/// What the APK must say, from the sources it was built from.
pub struct Expectations {
    pub build: AndroidBuild,
    /// `<uses-permission>` names of the source manifest: exactly these.
    pub permissions: BTreeSet<String>,
    /// Classes the dex must define: the manifest's components, and when the
    /// build knows them, every class it compiled.
    pub classes: BTreeSet<String>,
}

impl Expectations {
    pub fn from_sources(
        root: &Path,
        build: &AndroidBuild,
        compiled: Option<BTreeSet<String>>,
    ) -> Result<Self> {
        let path = root.join("android-app/src/main/AndroidManifest.xml");
        let manifest =
            std::fs::read_to_string(&path).context(|| format!("cannot read {}", path.display()))?;
        let permissions = element_names(&manifest, &["uses-permission"]);
        let mut classes: BTreeSet<String> = element_names(
            &manifest,
            &["application", "activity", "service", "receiver", "provider"],
        )
        .into_iter()
        .map(|name| match name.strip_prefix('.') {
            Some(relative) => format!("{}.{relative}", build.application_id),
            None => name,
        })
        .collect();
        if permissions.is_empty() || classes.is_empty() {
            return fail(format!(
                "{}: no permissions or components found",
                path.display()
            ));
        }
        classes.extend(compiled.unwrap_or_default());
        Ok(Self {
            build: build.clone(),
            permissions,
            classes,
        })
    }
}

/// `android:name` of every element with one of `tags` (XML comments skipped).
fn element_names(xml: &str, tags: &[&str]) -> BTreeSet<String> {
    let mut text = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        text.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    text.push_str(rest);
    let mut names = BTreeSet::new();
    for element in text.split('<').skip(1) {
        let tag = element
            .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .next()
            .unwrap_or("");
        if !tags.contains(&tag) {
            continue;
        }
        let head = element.split('>').next().unwrap_or("");
        if let Some(at) = head.find("android:name=\"") {
            let value = &head[at + "android:name=\"".len()..];
            if let Some(end) = value.find('"') {
                names.insert(value[..end].to_string());
            }
        }
    }
    names
}

/// Binary names of the classes under a class directory.
pub fn class_names_under(dir: &Path) -> Result<BTreeSet<String>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, out)?;
            } else if path.extension().is_some_and(|e| e == "class") {
                let relative = path.strip_prefix(base).unwrap().with_extension("");
                out.insert(relative.to_string_lossy().replace('/', "."));
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out).context(|| format!("cannot list classes in {}", dir.display()))?;
    if out.is_empty() {
        return fail(format!("no classes in {}", dir.display()));
    }
    Ok(out)
}

/// Runs every check; returns one line per passed check, or the first failure.
pub fn check_apk(root: &Path, apk: &Path, expect: &Expectations) -> Result<Vec<String>> {
    let bytes = std::fs::read(apk).context(|| format!("cannot read {}", apk.display()))?;
    let build = &expect.build;
    let mut report = Vec::new();

    // Signatures.
    let verify = capture(
        "apksigner verify",
        Command::new("apksigner").args(["verify", "-v"]).arg(apk),
    )?;
    let verify = String::from_utf8_lossy(&verify.stdout);
    for scheme in [
        "v2 scheme (APK Signature Scheme v2)",
        "v3 scheme (APK Signature Scheme v3)",
    ] {
        if !verify.contains(&format!("Verified using {scheme}: true")) {
            return fail(format!(
                "apksigner verify: not signed with {scheme}:\n{verify}"
            ));
        }
    }
    report.push("apksigner verify: v2 and v3 signatures verify".to_string());

    // What Android reads.
    let badging = capture(
        "aapt2 dump badging",
        Command::new("aapt2").args(["dump", "badging"]).arg(apk),
    )?;
    let badging = Badging::parse(&String::from_utf8_lossy(&badging.stdout));
    let want_abis: Vec<String> = build.abis.clone();
    let checks = [
        (
            "package",
            badging.package.clone(),
            Some(build.application_id.clone()),
        ),
        (
            "versionCode",
            badging.version_code.clone(),
            Some(build.version_code.to_string()),
        ),
        (
            "versionName",
            badging.version_name.clone(),
            Some(build.version_name.clone()),
        ),
        (
            "minSdk",
            badging.min_sdk.clone(),
            Some(build.min_sdk.to_string()),
        ),
        (
            "targetSdk",
            badging.target_sdk.clone(),
            Some(build.target_sdk.to_string()),
        ),
    ];
    for (what, got, want) in checks {
        if got != want {
            return fail(format!(
                "aapt2 dump badging: {what} is {got:?}, want {want:?}"
            ));
        }
    }
    if badging.permissions != expect.permissions {
        let extra: Vec<_> = badging
            .permissions
            .difference(&expect.permissions)
            .collect();
        let lacking: Vec<_> = expect
            .permissions
            .difference(&badging.permissions)
            .collect();
        return fail(format!("aapt2 dump badging: permissions differ from the manifest's: extra {extra:?}, missing {lacking:?}"));
    }
    let sorted = |abis: &[String]| abis.iter().cloned().collect::<BTreeSet<String>>();
    if sorted(&badging.native_code) != sorted(&want_abis) {
        return fail(format!(
            "aapt2 dump badging: native-code {:?}, want {want_abis:?}",
            badging.native_code
        ));
    }
    report.push(format!(
        "aapt2 badging: {} {} ({}), minSdk {}, targetSdk {}, {} permissions as in the manifest, native-code {}",
        build.application_id,
        build.version_name,
        build.version_code,
        build.min_sdk,
        build.target_sdk,
        expect.permissions.len(),
        want_abis.join(" ")
    ));

    // Layout.
    let layout =
        package::layout(&bytes).map_err(|e| BuildError(format!("{}: {e}", apk.display())))?;
    let want_libs: BTreeSet<String> = build
        .abis
        .iter()
        .map(|abi| format!("lib/{abi}/libhush_jni.so"))
        .collect();
    let libs: BTreeSet<String> = layout
        .iter()
        .filter(|e| e.name.starts_with("lib/"))
        .map(|e| e.name.clone())
        .collect();
    if libs != want_libs {
        return fail(format!(
            "native libraries in the APK: {libs:?}, want {want_libs:?}"
        ));
    }
    for entry in &layout {
        let alignment = match entry.name.as_str() {
            n if n.starts_with("lib/") => u64::from(NATIVE_ALIGNMENT),
            "resources.arsc" => 4,
            _ => continue,
        };
        if !entry.stored || entry.data_offset % alignment != 0 {
            return fail(format!(
                "{}: must be stored uncompressed at a multiple of {alignment} bytes (stored: {}, offset {})",
                entry.name, entry.stored, entry.data_offset
            ));
        }
    }
    report.push(
        "layout: native libraries stored and 16 KiB-aligned, resources.arsc stored and 4-aligned"
            .to_string(),
    );

    // The dex.
    let entries = package::read_zip(&bytes).map_err(BuildError)?;
    let dexes: Vec<&package::Entry> = entries
        .iter()
        .filter(|e| e.name.ends_with(".dex"))
        .collect();
    let [classes_dex] = dexes.as_slice() else {
        return fail(format!(
            "want exactly one classes.dex, found {:?}",
            dexes.iter().map(|e| &e.name).collect::<Vec<_>>()
        ));
    };
    let summary =
        dex::read(&classes_dex.data).map_err(|e| BuildError(format!("classes.dex: {e}")))?;
    if summary.call_sites != 0 || summary.method_handles != 0 {
        return fail(format!(
            "classes.dex has {} call sites and {} method handles: invokedynamic reached the dex (LambdaMetafactory does not exist on Android)",
            summary.call_sites, summary.method_handles
        ));
    }
    let missing: Vec<&String> = expect.classes.difference(&summary.classes).collect();
    if !missing.is_empty() {
        return fail(format!(
            "classes.dex lacks {} expected classes, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        ));
    }
    report.push(format!(
        "classes.dex (format {}): {} classes, all {} expected ones there; no call sites or method handles",
        summary.version,
        summary.classes.len(),
        expect.classes.len()
    ));

    // The native libraries, as packaged.
    let scratch = root.join("build/android/apk/check-native");
    let _ = std::fs::remove_dir_all(&scratch);
    for entry in entries.iter().filter(|e| e.name.starts_with("lib/")) {
        let path = scratch.join(entry.name.trim_start_matches("lib/"));
        std::fs::create_dir_all(path.parent().unwrap())
            .context(|| format!("cannot create {}", scratch.display()))?;
        std::fs::write(&path, &entry.data)
            .context(|| format!("cannot write {}", path.display()))?;
    }
    let native = capture(
        "tools/android/check-native.sh on the APK's libraries",
        Command::new("bash")
            .arg(root.join("tools/android/check-native.sh"))
            .arg(&scratch)
            .current_dir(root),
    );
    let _ = std::fs::remove_dir_all(&scratch);
    let native = native?;
    for line in String::from_utf8_lossy(&native.stdout)
        .lines()
        .filter(|l| l.starts_with("ok "))
    {
        report.push(format!(
            "check-native: {}",
            line.trim_start_matches("ok").trim()
        ));
    }

    let size = |filter: &dyn Fn(&str) -> bool| -> u64 {
        entries
            .iter()
            .filter(|e| filter(&e.name))
            .map(|e| e.data.len() as u64)
            .sum()
    };
    report.push(format!(
        "size: {} bytes ({:.2} MB); native libraries {} bytes stored, classes.dex {} bytes before compression",
        bytes.len(),
        bytes.len() as f64 / 1e6,
        size(&|n| n.starts_with("lib/")),
        size(&|n| n.ends_with(".dex"))
    ));
    Ok(report)
}

/// The lines of `aapt2 dump badging` the checks read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Badging {
    pub package: Option<String>,
    pub version_code: Option<String>,
    pub version_name: Option<String>,
    pub min_sdk: Option<String>,
    pub target_sdk: Option<String>,
    pub permissions: BTreeSet<String>,
    pub native_code: Vec<String>,
}

impl Badging {
    pub fn parse(text: &str) -> Self {
        let quoted = |s: &str| -> Vec<String> {
            s.split('\'')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        let attribute = |line: &str, name: &str| -> Option<String> {
            let at = line.find(&format!(" {name}='"))? + name.len() + 3;
            Some(line[at..].split('\'').next()?.to_string())
        };
        let mut b = Badging::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("package:") {
                b.package = attribute(rest, "name");
                b.version_code = attribute(rest, "versionCode");
                b.version_name = attribute(rest, "versionName");
            } else if let Some(rest) = line.strip_prefix("sdkVersion:") {
                b.min_sdk = quoted(rest).into_iter().next();
            } else if let Some(rest) = line.strip_prefix("targetSdkVersion:") {
                b.target_sdk = quoted(rest).into_iter().next();
            } else if let Some(rest) = line.strip_prefix("uses-permission:") {
                b.permissions.extend(attribute(rest, "name"));
            } else if let Some(rest) = line.strip_prefix("native-code:") {
                b.native_code = quoted(rest);
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badging_lines_are_read() {
        let text = "package: name='org.hush.android' versionCode='1' versionName='0.1.0' platformBuildVersionName='' compileSdkVersion='34'\n\
            sdkVersion:'26'\ntargetSdkVersion:'35'\n\
            uses-permission: name='android.permission.INTERNET'\n\
            uses-permission: name='android.permission.QUERY_ALL_PACKAGES'\n\
            application-label:'Hush'\nnative-code: 'arm64-v8a' 'x86_64'\n";
        let b = Badging::parse(text);
        assert_eq!(b.package.as_deref(), Some("org.hush.android"));
        assert_eq!(
            (b.version_code.as_deref(), b.version_name.as_deref()),
            (Some("1"), Some("0.1.0"))
        );
        assert_eq!(
            (b.min_sdk.as_deref(), b.target_sdk.as_deref()),
            (Some("26"), Some("35"))
        );
        assert_eq!(b.permissions.len(), 2);
        assert_eq!(b.native_code, ["arm64-v8a", "x86_64"]);
        assert_eq!(Badging::parse("garbage\n"), Badging::default());
    }

    #[test]
    fn manifest_names_skip_comments() {
        let xml = r#"<manifest>
            <!-- <uses-permission android:name="android.permission.CAMERA" /> -->
            <uses-permission android:name="android.permission.INTERNET" />
            <application android:name=".app.HushApplication">
              <service android:name=".vpn.HushVpnService" android:exported="true">
                <intent-filter><action android:name="android.net.VpnService" /></intent-filter>
              </service>
              <receiver
                  android:name=".vpn.BootReceiver" />
            </application></manifest>"#;
        assert_eq!(
            element_names(xml, &["uses-permission"])
                .into_iter()
                .collect::<Vec<_>>(),
            ["android.permission.INTERNET"]
        );
        assert_eq!(
            element_names(xml, &["application", "service", "receiver"])
                .into_iter()
                .collect::<Vec<_>>(),
            [
                ".app.HushApplication",
                ".vpn.BootReceiver",
                ".vpn.HushVpnService"
            ]
        );
    }
}
