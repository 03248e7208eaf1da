//! `cargo xtask <task>`: see `cargo xtask help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use xtask::apk::{self, Options};
use xtask::check::{self, Expectations};
use xtask::config::AndroidBuild;
use xtask::tools::BuildError;

const USAGE: &str = "usage: cargo xtask apk [--release] [--allow-dirty]
       cargo xtask check-apk FILE

apk        builds dist/hush-<version>-debug.apk (or -release.apk with --release):
           the Rust core for each ABI in gradle.properties, the Kotlin app dexed
           with dx, resources linked with aapt2, signed (v2+v3), then checked.
           Installs what it needs (Debian packages, Maven Central jars).
           --release      sign with HUSH_KEYSTORE, HUSH_KEYSTORE_PASSWORD,
                          HUSH_KEY_ALIAS (and HUSH_KEY_PASSWORD if it differs)
           --allow-dirty  build from a tree with uncommitted changes
check-apk  runs the static checks on an APK built from this tree";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let result = match args.first().map(String::as_str) {
        Some("apk") => parse_apk_options(&args[1..])
            .and_then(|options| apk::build(&root, &options))
            .map(|out| {
                println!("{}", out.strip_prefix(&root).unwrap_or(&out).display());
            }),
        Some("check-apk") if args.len() == 2 => check_apk(&root, &PathBuf::from(&args[1])),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(BuildError(USAGE.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_apk_options(args: &[String]) -> Result<Options, BuildError> {
    let mut options = Options {
        release: false,
        allow_dirty: false,
    };
    for arg in args {
        match arg.as_str() {
            "--release" => options.release = true,
            "--allow-dirty" => options.allow_dirty = true,
            other => return Err(BuildError(format!("unknown option {other}\n{USAGE}"))),
        }
    }
    Ok(options)
}

fn check_apk(root: &Path, apk: &Path) -> Result<(), BuildError> {
    let build = AndroidBuild::load(root)?;
    let expect = Expectations::from_sources(root, &build, None)?;
    for line in check::check_apk(root, apk, &expect)? {
        println!("ok   {line}");
    }
    Ok(())
}
