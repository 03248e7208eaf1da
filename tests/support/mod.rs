//! Shared by the end-to-end tests: the `hush` process under test, and reading
//! its exit summary.

#![allow(dead_code)] // each test binary uses its own share

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// How long `hush run` may take to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The hush process; stopped with SIGTERM (and killed if need be) on drop.
pub struct Hush {
    child: Child,
    /// What it printed before "ready": list loads, problems, recoveries.
    pub startup: Vec<String>,
    /// Every line it prints, read by a thread as it comes so that a chatty
    /// run never blocks on a full pipe.
    lines: Receiver<String>,
    later: Vec<String>,
    reader: Option<JoinHandle<()>>,
}

/// How a `hush run` that never got ready ended.
#[derive(Debug)]
pub struct Failed {
    /// `None` if it was still running after [`READY_WITHIN`] (then killed).
    pub status: Option<std::process::ExitStatus>,
    pub stderr: Vec<String>,
}

impl Hush {
    pub fn start(lab: &Lab, upstream: &str, extra: &[&str]) -> Hush {
        let mut args = vec![
            "--tun".to_string(),
            lab::TUN_NAME.into(),
            "--out-iface".into(),
            lab.phone_veth.clone(),
            format!("--upstream={upstream}"),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut command = lab.in_phone(HUSH);
        command.arg("run").args(&args);
        Hush::launch(command).unwrap_or_else(|failed| panic!("hush did not get ready: {failed:#?}"))
    }

    /// Starts `command` (a `hush run`, perhaps behind a wrapper) and waits,
    /// bounded, until it is ready or has exited.
    pub fn launch(mut command: Command) -> Result<Hush, Failed> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start hush");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (send, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + READY_WITHIN;
        let mut startup = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.starts_with("hush: ready") => break,
                Ok(line) => startup.push(line),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("failed to wait for hush");
                    let _ = reader.join();
                    return Err(Failed {
                        status: Some(status),
                        stderr: startup,
                    });
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = reader.join();
                    startup.extend(lines.try_iter());
                    return Err(Failed {
                        status: None,
                        stderr: startup,
                    });
                }
            }
        }
        Ok(Hush {
            child,
            startup,
            lines,
            later: Vec::new(),
            reader: Some(reader),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed since it got ready, so far.
    pub fn printed(&mut self) -> Vec<String> {
        self.later.extend(self.lines.try_iter());
        self.later.clone()
    }

    /// Stops hush as an operator would and returns its exit summary.
    pub fn stop(self) -> String {
        let (status, summary) = self.stop_with_status();
        assert!(status.success(), "hush exited with {status}: {summary}");
        summary
    }

    /// Stops hush with SIGTERM; returns how it exited and what it printed
    /// since it got ready.
    pub fn stop_with_status(mut self) -> (std::process::ExitStatus, String) {
        // SAFETY: sending a signal to our own child has no memory effects.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("failed to wait for hush");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.later.extend(self.lines.try_iter());
        (status, self.later.join("\n"))
    }

    /// Ends hush as the system ends a process it wants gone: SIGKILL, so
    /// nothing is written at exit.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Hush {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
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

/// A tcpdump capture in the server namespace, to a file in the lab's
/// workdir; started once tcpdump says it listens.
pub struct Capture {
    child: Child,
    file: std::path::PathBuf,
}

impl Capture {
    /// Captures on `interface` (`any` for every one) with tcpdump's
    /// `options` (e.g. a snap length) and its `filter` expression.
    pub fn start(
        lab: &Lab,
        name: &str,
        interface: &str,
        options: &[&str],
        filter: &[&str],
    ) -> Capture {
        let file = lab.workdir().join(name);
        let mut child = lab
            .in_server("tcpdump")
            // Immediate mode: without it the kernel hands packets over in
            // blocks, and a stop before a block's timeout loses them all.
            .args(["-i", interface, "-n", "-U", "--immediate-mode"])
            .args(options)
            .arg("-w")
            .arg(&file)
            .args(filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start tcpdump (is it installed?)");
        let stderr = child.stderr.take().unwrap();
        let (send, listening) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = send.send(());
                }
            }
        });
        listening
            .recv_timeout(Duration::from_secs(10))
            .expect("tcpdump did not start listening");
        Capture { child, file }
    }

    /// Stops the capture and returns it as `tcpdump -n -r` prints it, with
    /// `read_options` (e.g. `-v`).
    pub fn finish(mut self, read_options: &[&str]) -> String {
        // SAFETY: a signal to our own child; SIGINT makes tcpdump flush.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
        let output = Command::new("tcpdump")
            .arg("-n")
            .args(read_options)
            .arg("-r")
            .arg(&self.file)
            .output()
            .expect("failed to read the capture");
        assert!(
            output.status.success(),
            "tcpdump could not read {}: {}",
            self.file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
