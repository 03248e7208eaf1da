//! `hush demo`: the firewall on real traffic, in namespaces built for it.
//!
//! A "phone" namespace holds the tun, Hush and the clients; a resolver
//! namespace runs dnsmasq with records for real tracker names and a few
//! ordinary ones. Real `dig` queries go through Hush, and the table shows what
//! each app saw and what Hush decided, and why. Everything is torn down at the
//! end, and on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_linux::lab::{self, Lab, Record};

/// Tools the demo drives, and the Debian packages that provide them.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("dnsmasq", "dnsmasq-base"),
    ("dig", "bind9-dnsutils"),
];

struct Query {
    name: &'static str,
    record_type: &'static str,
    server: &'static str,
}

const QUERIES: &[Query] = &[
    Query {
        name: "tracking.miui.com",
        record_type: "A",
        server: lab::PHONE_DNS_V4,
    },
    Query {
        name: "tracking.intl.miui.com",
        record_type: "AAAA",
        server: lab::PHONE_DNS_V6,
    },
    Query {
        name: "data.mistat.xiaomi.com",
        record_type: "A",
        server: lab::PHONE_DNS_V4,
    },
    Query {
        name: "sa.api.intl.miui.com",
        record_type: "HTTPS",
        server: lab::PHONE_DNS_V4,
    },
    // Apps that bring their own resolver address are caught too.
    Query {
        name: "api.ad.xiaomi.com",
        record_type: "A",
        server: "198.18.200.200",
    },
    Query {
        name: "f-droid.org",
        record_type: "A",
        server: lab::PHONE_DNS_V4,
    },
    Query {
        name: "f-droid.org",
        record_type: "AAAA",
        server: lab::PHONE_DNS_V6,
    },
    Query {
        name: "www.debian.org",
        record_type: "HTTPS",
        server: lab::PHONE_DNS_V4,
    },
    Query {
        name: "en.wikipedia.org",
        record_type: "A",
        server: "198.18.200.200",
    },
];

fn records() -> Vec<Record> {
    let names = [
        "tracking.miui.com",
        "tracking.intl.miui.com",
        "data.mistat.xiaomi.com",
        "sa.api.intl.miui.com",
        "api.ad.xiaomi.com",
        "f-droid.org",
        "www.debian.org",
        "en.wikipedia.org",
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Record {
            name: (*name).to_string(),
            ipv4: format!("198.18.100.{}", i + 1),
            ipv6: format!("fd00:18:100::{}", i + 1),
        })
        .collect()
}

/// Stops the Hush child on every way out of the demo.
struct HushProcess(Child);

impl Drop for HushProcess {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            terminate(&self.0);
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && matches!(self.0.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn terminate(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: sending a signal has no memory effects; the pid is our child's.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
}

pub fn run() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("hush demo builds network namespaces and needs root (try sudo)".into());
    }
    ensure_tools()?;
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, interrupted.clone())
            .map_err(|e| format!("failed to watch signals: {e}"))?;
    }
    let check = || {
        if interrupted.load(Ordering::Relaxed) {
            Err("interrupted; everything the demo built has been removed".to_string())
        } else {
            Ok(())
        }
    };

    println!(
        "Building the lab: a phone namespace with a tun, a resolver namespace with dnsmasq..."
    );
    let lab = Lab::create(&records()).map_err(|e| format!("failed to build the lab: {e}"))?;
    check()?;
    let db = std::env::temp_dir().join(format!("hush-demo-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let exe =
        std::env::current_exe().map_err(|e| format!("failed to find the hush binary: {e}"))?;
    let mut hush = HushProcess(
        lab.in_phone(&exe.to_string_lossy())
            .args([
                "run",
                "--tun",
                lab::TUN_NAME,
                "--out-iface",
                &lab.phone_veth,
            ])
            .arg(format!("--upstream={}:53", lab::RESOLVER_V4))
            .arg(format!("--db={}", db.display()))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("failed to start hush: {e}"))?,
    );
    let stderr = hush.0.stderr.take().ok_or("hush has no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let mut preamble = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("ready") => break,
            Some(Ok(line)) => preamble.push(line),
            _ => return Err(format!("hush did not start:\n{}", preamble.join("\n"))),
        }
    }
    for line in &preamble {
        println!("  {}", line.trim_start_matches("hush: "));
    }
    println!("Hush is firewalling the phone. Sending real DNS queries with dig:\n");

    let mut seen = Vec::new();
    for query in QUERIES {
        check()?;
        seen.push(dig(&lab, query)?);
    }
    terminate(&hush.0);
    let summary: Vec<String> = lines.map_while(Result::ok).collect();
    let _ = hush.0.wait();
    drop(hush);

    let connection = hush_store::open(&db).map_err(|e| e.to_string())?;
    let events = hush_store::events(&connection).map_err(|e| e.to_string())?;
    println!(
        "{:<24} {:<6} {:<17} {:<34} {:<8} WHY",
        "NAME", "TYPE", "ASKED", "THE APP GOT", "HUSH"
    );
    for (query, outcome) in QUERIES.iter().zip(&seen) {
        let event = events
            .iter()
            .find(|e| e.host == query.name && e.detail == query.record_type);
        let (action, reason) = event.map_or(("-", "-".to_string()), |e| {
            (e.action.as_str(), e.reason.clone())
        });
        println!(
            "{:<24} {:<6} {:<17} {:<34} {:<8} {}",
            query.name, query.record_type, query.server, outcome, action, reason
        );
    }
    println!("\nHush's own summary at exit:");
    for line in summary.iter().filter(|l| !l.trim().is_empty()) {
        println!("  {}", line.trim_start_matches("hush: "));
    }
    println!(
        "\nEvery decision is in the activity log (SQLite): {}",
        db.display()
    );
    drop(lab);
    println!("The lab has been removed.");
    Ok(())
}

/// Runs one real dig in the phone namespace and describes what it got.
fn dig(lab: &Lab, query: &Query) -> Result<String, String> {
    let output = lab
        .in_phone("dig")
        .args(["+time=3", "+tries=1", "+noall", "+comments", "+answer"])
        .arg(format!("@{}", query.server))
        .args([query.name, query.record_type])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run dig: {e}"))?;
    Ok(describe_dig(&String::from_utf8_lossy(&output.stdout)))
}

/// "NXDOMAIN", "NOERROR 198.18.100.6", or "no answer" from dig's output.
pub fn describe_dig(output: &str) -> String {
    let status = output
        .split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("no answer (timeout)");
    let answers: Vec<String> = output
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
        .collect();
    if answers.is_empty() {
        status.to_string()
    } else {
        format!("{status} {}", answers.join(" "))
    }
}

/// Installs the demo's tools with apt when they are missing and apt is there.
fn ensure_tools() -> Result<(), String> {
    let missing: Vec<&(&str, &str)> = TOOLS.iter().filter(|(tool, _)| !on_path(tool)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();
    if !on_path("apt-get") {
        return Err(format!(
            "missing tools; install these packages: {}",
            packages.join(" ")
        ));
    }
    println!("Installing {} with apt-get...", packages.join(" "));
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    match (update, install) {
        (Ok(_), Ok(status)) if status.success() => Ok(()),
        _ => Err(format!("failed to install {}", packages.join(" "))),
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|dir| dir.join(tool).is_file())
    })
}
