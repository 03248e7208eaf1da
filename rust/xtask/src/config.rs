//! What identifies the Android build, read from the files both builds share:
//! `gradle.properties` (application id, version code, ABIs),
//! `gradle/libs.versions.toml` (SDK levels and every dependency's version) and
//! the Cargo workspace (the version name). `cargo xtask apk` builds from this;
//! the Android Studio build reads the same files, and a test checks that its
//! Gradle scripts take every value from them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// Everything that must be the same in both builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndroidBuild {
    pub application_id: String,
    pub version_name: String,
    pub version_code: u32,
    pub min_sdk: u32,
    pub target_sdk: u32,
    pub compile_sdk: u32,
    /// Android ABI names, e.g. `arm64-v8a`, in the order given.
    pub abis: Vec<String>,
    /// The catalog, for the Maven coordinates of any library alias.
    pub catalog: Catalog,
}

/// The parts of a Gradle version catalog the builds use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Catalog {
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    #[serde(default)]
    pub libraries: BTreeMap<String, Library>,
    #[serde(default)]
    pub bundles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub plugins: BTreeMap<String, Plugin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Library {
    /// `"group:artifact:version"`
    Notation(String),
    Table {
        module: String,
        version: Option<VersionSpec>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum VersionSpec {
    Plain(String),
    Ref {
        #[serde(rename = "ref")]
        reference: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Plugin {
    pub id: String,
    pub version: VersionSpec,
}

/// A file that is missing, unreadable or says something the builds cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub const CATALOG: &str = "gradle/libs.versions.toml";
pub const PROPERTIES: &str = "gradle.properties";
pub const CARGO_MANIFEST: &str = "Cargo.toml";

impl AndroidBuild {
    /// Reads the three files under the repository root `root`.
    pub fn load(root: &Path) -> Result<Self, ConfigError> {
        let read = |name: &str| {
            std::fs::read_to_string(root.join(name)).map_err(|e| ConfigError {
                file: name.into(),
                message: format!("cannot read: {e}"),
            })
        };
        let catalog = Catalog::parse(&read(CATALOG)?)?;
        let properties = parse_properties(&read(PROPERTIES)?);
        let version_name = workspace_version(&read(CARGO_MANIFEST)?)?;
        Self::from_parts(catalog, &properties, version_name)
    }

    fn from_parts(
        catalog: Catalog,
        properties: &BTreeMap<String, String>,
        version_name: String,
    ) -> Result<Self, ConfigError> {
        let property = |key: &str| {
            properties
                .get(key)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| ConfigError {
                    file: PROPERTIES.into(),
                    message: format!("no {key}"),
                })
        };
        let number = |file: &str, key: &str, text: &str| {
            text.parse::<u32>().map_err(|_| ConfigError {
                file: file.into(),
                message: format!("{key} = {text:?} is not a whole number"),
            })
        };
        let sdk = |key: &str| number(CATALOG, key, catalog.version(key)?);

        let application_id = property("hush.applicationId")?;
        if !is_application_id(&application_id) {
            return Err(ConfigError {
                file: PROPERTIES.into(),
                message: format!("hush.applicationId = {application_id:?} is not a Java package name with at least two parts"),
            });
        }
        let property_version = property("hush.versionName")?;
        if property_version != version_name {
            return Err(ConfigError {
                file: PROPERTIES.into(),
                message: format!("hush.versionName = {property_version} but the Cargo workspace's version is {version_name}"),
            });
        }
        let version_code = number(
            PROPERTIES,
            "hush.versionCode",
            &property("hush.versionCode")?,
        )?;
        let abis: Vec<String> = property("hush.abis")?
            .split(',')
            .map(|abi| abi.trim().to_string())
            .collect();
        if let Some(bad) = abis.iter().find(|abi| !KNOWN_ABIS.contains(&abi.as_str())) {
            return Err(ConfigError {
                file: PROPERTIES.into(),
                message: format!(
                    "hush.abis: {bad:?} is not an ABI the build knows ({})",
                    KNOWN_ABIS.join(", ")
                ),
            });
        }
        if let Some(twice) = abis
            .iter()
            .enumerate()
            .find_map(|(i, abi)| abis[..i].contains(abi).then_some(abi))
        {
            return Err(ConfigError {
                file: PROPERTIES.into(),
                message: format!("hush.abis names {twice:?} twice"),
            });
        }
        let build = Self {
            application_id,
            version_name,
            version_code,
            min_sdk: sdk("android-minSdk")?,
            target_sdk: sdk("android-targetSdk")?,
            compile_sdk: sdk("android-compileSdk")?,
            abis,
            catalog,
        };
        if build.min_sdk > build.target_sdk || build.target_sdk > build.compile_sdk {
            return Err(ConfigError {
                file: CATALOG.into(),
                message: format!(
                    "SDK levels must be minSdk <= targetSdk <= compileSdk, not {} / {} / {}",
                    build.min_sdk, build.target_sdk, build.compile_sdk
                ),
            });
        }
        Ok(build)
    }

    /// Rust's target triple for an Android ABI name.
    pub fn rust_target(abi: &str) -> Option<&'static str> {
        match abi {
            "arm64-v8a" => Some("aarch64-linux-android"),
            "x86_64" => Some("x86_64-linux-android"),
            _ => None,
        }
    }
}

/// The ABIs tools/android/toolchain.sh can build for.
pub const KNOWN_ABIS: [&str; 2] = ["arm64-v8a", "x86_64"];

impl Catalog {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError {
            file: CATALOG.into(),
            message: e.to_string(),
        })
    }

    pub fn version(&self, key: &str) -> Result<&str, ConfigError> {
        self.versions
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| ConfigError {
                file: CATALOG.into(),
                message: format!("no [versions] {key}"),
            })
    }

    /// `group:artifact:version` of a library alias.
    pub fn coordinates(&self, alias: &str) -> Result<String, ConfigError> {
        let error = |message: String| ConfigError {
            file: CATALOG.into(),
            message,
        };
        let library = self
            .libraries
            .get(alias)
            .ok_or_else(|| error(format!("no library {alias:?} in [libraries]")))?;
        match library {
            Library::Notation(text) if text.split(':').count() == 3 => Ok(text.clone()),
            Library::Notation(text) => Err(error(format!(
                "library {alias:?}: {text:?} is not group:artifact:version"
            ))),
            Library::Table { module, version } => {
                let version = match version {
                    Some(spec) => self.resolve(spec)?,
                    None => return Err(error(format!("library {alias:?} has no version"))),
                };
                Ok(format!("{module}:{version}"))
            }
        }
    }

    /// The coordinates of every library in a bundle, in its order.
    pub fn bundle(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        let aliases = self.bundles.get(name).ok_or_else(|| ConfigError {
            file: CATALOG.into(),
            message: format!("no bundle {name:?} in [bundles]"),
        })?;
        aliases
            .iter()
            .map(|alias| self.coordinates(alias))
            .collect()
    }

    pub fn resolve(&self, spec: &VersionSpec) -> Result<String, ConfigError> {
        match spec {
            VersionSpec::Plain(version) => Ok(version.clone()),
            VersionSpec::Ref { reference } => self.version(reference).map(str::to_string),
        }
    }
}

/// `key=value` lines of a Java properties file; `#` and `!` start comments.
/// (Enough for the plain file the project keeps: no continuation lines.)
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .filter_map(|line| {
            let (key, value) = line.split_once(['=', ':'])?;
            Some((key.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

/// `[workspace.package] version` of the root Cargo.toml.
pub fn workspace_version(cargo_toml: &str) -> Result<String, ConfigError> {
    #[derive(Deserialize)]
    struct Manifest {
        workspace: Workspace,
    }
    #[derive(Deserialize)]
    struct Workspace {
        package: Package,
    }
    #[derive(Deserialize)]
    struct Package {
        version: String,
    }
    toml::from_str::<Manifest>(cargo_toml)
        .map(|m| m.workspace.package.version)
        .map_err(|e| ConfigError {
            file: CARGO_MANIFEST.into(),
            message: format!("no [workspace.package] version: {e}"),
        })
}

fn is_application_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG_TEXT: &str = r#"
[versions]
kotlin = "2.4.21"
android-minSdk = "26"
android-targetSdk = "35"
android-compileSdk = "35"
[libraries]
kotlin-stdlib = { module = "org.jetbrains.kotlin:kotlin-stdlib", version.ref = "kotlin" }
plain = "a.b:c:1.0"
[bundles]
app = ["kotlin-stdlib", "plain"]
"#;

    fn properties(extra: &str) -> BTreeMap<String, String> {
        parse_properties(&format!(
            "# comment\nhush.applicationId=org.hush.android\nhush.versionName = 0.1.0\nhush.versionCode=3\nhush.abis=arm64-v8a, x86_64\n{extra}"
        ))
    }

    fn build(props: &BTreeMap<String, String>) -> Result<AndroidBuild, ConfigError> {
        AndroidBuild::from_parts(Catalog::parse(CATALOG_TEXT).unwrap(), props, "0.1.0".into())
    }

    #[test]
    fn the_shared_files_make_one_build() {
        let b = build(&properties("")).unwrap();
        assert_eq!(b.application_id, "org.hush.android");
        assert_eq!(
            (b.min_sdk, b.target_sdk, b.compile_sdk, b.version_code),
            (26, 35, 35, 3)
        );
        assert_eq!(b.abis, ["arm64-v8a", "x86_64"]);
        assert_eq!(
            b.catalog.bundle("app").unwrap(),
            ["org.jetbrains.kotlin:kotlin-stdlib:2.4.21", "a.b:c:1.0"]
        );
    }

    #[test]
    fn every_disagreement_names_the_file_and_the_key() {
        let mut p = properties("");
        p.insert("hush.versionName".into(), "0.2.0".into());
        let e = build(&p).unwrap_err();
        assert_eq!(e.file, PROPERTIES);
        assert!(
            e.message.contains("0.2.0") && e.message.contains("0.1.0"),
            "{e}"
        );

        let mut p = properties("");
        p.insert("hush.abis".into(), "arm64-v8a,mips".into());
        assert!(build(&p).unwrap_err().message.contains("\"mips\""));

        let mut p = properties("");
        p.remove("hush.applicationId");
        assert_eq!(build(&p).unwrap_err().message, "no hush.applicationId");

        let mut p = properties("");
        p.insert("hush.abis".into(), "x86_64,arm64-v8a,x86_64".into());
        assert!(build(&p).unwrap_err().message.contains("\"x86_64\" twice"));

        let mut p = properties("");
        p.insert("hush.applicationId".into(), "hush".into());
        assert!(build(&p).unwrap_err().message.contains("two parts"));

        let mut p = properties("");
        p.insert("hush.versionCode".into(), "one".into());
        assert!(build(&p).unwrap_err().message.contains("whole number"));

        let catalog = Catalog::parse(&CATALOG_TEXT.replace("\"26\"", "\"36\"")).unwrap();
        let e = AndroidBuild::from_parts(catalog, &properties(""), "0.1.0".into()).unwrap_err();
        assert!(e.message.contains("36 / 35 / 35"), "{e}");

        let catalog = Catalog::parse(CATALOG_TEXT).unwrap();
        assert!(catalog
            .coordinates("nope")
            .unwrap_err()
            .message
            .contains("\"nope\""));
        assert!(Catalog::parse("[versions\n").is_err());
    }

    #[test]
    fn the_workspace_version_is_read_from_cargo_toml() {
        assert_eq!(
            workspace_version("[workspace]\n[workspace.package]\nversion = \"1.2.3\"\n").unwrap(),
            "1.2.3"
        );
        assert!(workspace_version("[package]\nversion = \"1\"\n").is_err());
    }

    #[test]
    fn the_repository_files_agree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let b = AndroidBuild::load(&root).unwrap();
        assert_eq!(b.version_name, env!("CARGO_PKG_VERSION"));
        for abi in &b.abis {
            assert!(AndroidBuild::rust_target(abi).is_some(), "{abi}");
        }
    }
}
