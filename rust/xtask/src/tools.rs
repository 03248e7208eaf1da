//! Running the external tools the build needs, with errors that say which
//! tool, which step and what it printed, and installing missing Debian tools.

use std::fmt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A build failure: what was being done, and why it failed.
#[derive(Debug)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl From<crate::config::ConfigError> for BuildError {
    fn from(e: crate::config::ConfigError) -> Self {
        BuildError(e.to_string())
    }
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;

pub fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(BuildError(message.into()))
}

/// Adds what was being done to an I/O error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| BuildError(format!("{}: {e}", what())))
    }
}

/// A command-line tool from a Debian package.
pub struct Tool {
    pub program: &'static str,
    pub package: &'static str,
}

/// What the APK build runs besides cargo, java and the scripts' own tools.
pub const TOOLS: [Tool; 5] = [
    Tool {
        program: "aapt2",
        package: "aapt",
    },
    Tool {
        program: "apksigner",
        package: "apksigner",
    },
    Tool {
        program: "keytool",
        package: "openjdk-17-jre-headless",
    },
    Tool {
        program: "git",
        package: "git",
    },
    Tool {
        program: "bash",
        package: "bash",
    },
];

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let file = dir.join(program);
            file.metadata().is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
    })
}

/// Installs the Debian packages of any missing tools (as root, with apt-get),
/// or fails naming every tool still missing and its package.
pub fn ensure_tools(tools: &[Tool]) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    ensure_tools_with(tools, root.then_some(apt_install as fn(&[&str]) -> bool))
}

/// [`ensure_tools`] with the installer given (none: not root, say what to run).
pub fn ensure_tools_with(tools: &[Tool], install: Option<fn(&[&str]) -> bool>) -> Result<()> {
    let missing: Vec<&Tool> = tools.iter().filter(|t| !on_path(t.program)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    packages.dedup();
    let names = missing
        .iter()
        .map(|t| format!("{} (Debian package {})", t.program, t.package))
        .collect::<Vec<_>>()
        .join(", ");
    let Some(install) = install else {
        return fail(format!(
            "missing {names}: install with `sudo apt-get install {}`",
            packages.join(" ")
        ));
    };
    eprintln!("xtask: installing {} (apt-get)", packages.join(" "));
    if !install(&packages) {
        return fail(format!(
            "missing {names}, and `apt-get install {}` failed (is the Debian archive reachable?)",
            packages.join(" ")
        ));
    }
    if let Some(t) = missing.into_iter().find(|t| !on_path(t.program)) {
        return fail(format!(
            "{} is still missing after installing {}",
            t.program, t.package
        ));
    }
    Ok(())
}

/// `apt-get install`, once more after `apt-get update` if the first fails.
fn apt_install(packages: &[&str]) -> bool {
    let install = |update: bool| {
        (!update || quiet(Command::new("apt-get").args(["update", "-qq"])))
            && quiet(
                Command::new("apt-get")
                    .args(["install", "-y", "-qq", "--no-install-recommends"])
                    .args(packages)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
    };
    install(false) || install(true)
}

fn quiet(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `command`, its output shown as it goes; fails with `step` and the
/// exit status.
pub fn run(step: &str, command: &mut Command) -> Result<()> {
    let status = command
        .stdin(Stdio::null())
        .status()
        .context(|| format!("{step}: cannot start {:?}", command.get_program()))?;
    if !status.success() {
        return fail(format!("{step} failed ({status})"));
    }
    Ok(())
}

/// Runs `command` capturing its output; fails with `step`, the exit status
/// and the end of what it printed.
pub fn capture(step: &str, command: &mut Command) -> Result<Output> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .context(|| format!("{step}: cannot start {:?}", command.get_program()))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr).to_string()
            + &String::from_utf8_lossy(&output.stdout);
        let tail: Vec<&str> = text.lines().rev().take(25).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return fail(format!(
            "{step} failed ({}):\n{}",
            output.status,
            tail.join("\n")
        ));
    }
    Ok(output)
}

/// Writes `bytes` to `path` whole or not at all (a temporary file renamed).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}
