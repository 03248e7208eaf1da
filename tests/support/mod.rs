//! Shared by the end-to-end tests: the `hush` process under test, and reading
//! its exit summary.

#![allow(dead_code)] // each test binary uses its own share

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use hush_linux::lab::{self, Lab};

pub const HUSH: &str = env!("CARGO_BIN_EXE_hush");

pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the end-to-end tests build network namespaces and must run as root"
    );
}

/// The hush process; stopped with SIGTERM (and killed if need be) on drop.
pub struct Hush {
    child: Child,
    stderr: std::io::Lines<BufReader<std::process::ChildStderr>>,
}

impl Hush {
    pub fn start(lab: &Lab, upstream: &str, extra: &[&str]) -> Hush {
        let mut child = lab
            .in_phone(HUSH)
            .args([
                "run",
                "--tun",
                lab::TUN_NAME,
                "--out-iface",
                &lab.phone_veth,
            ])
            .arg(format!("--upstream={upstream}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start hush");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        loop {
            match stderr.next() {
                Some(Ok(line)) if line.contains("ready") => break,
                Some(Ok(line)) => seen.push(line),
                _ => panic!("hush did not get ready: {seen:#?}"),
            }
        }
        Hush { child, stderr }
    }

    /// Stops hush as an operator would and returns its exit summary.
    pub fn stop(mut self) -> String {
        // SAFETY: sending a signal to our own child has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("failed to wait for hush");
        assert!(status.success(), "hush exited with {status}");
        let summary: Vec<String> = (&mut self.stderr).map_while(Result::ok).collect();
        summary.join("\n")
    }
}

impl Drop for Hush {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counter `label` from hush's exit summary.
pub fn counter(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in summary:\n{summary}"))
}
