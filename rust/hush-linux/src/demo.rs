//! `hush demo`: the firewall on real traffic, in namespaces built for it.
//!
//! A "phone" namespace holds the tun, Hush and the clients; a server
//! namespace runs dnsmasq with records for real tracker names and a few
//! ordinary ones, and nginx over HTTP and HTTPS (a self-signed certificate).
//! Real `dig` queries and real `curl` requests go through Hush, and the tables
//! show what each app saw and what Hush decided, and why: DNS blocks, and TLS
//! SNI and HTTP Host blocks for apps that bring their own resolver. Everything
//! is torn down at the end, and on Ctrl-C.

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
    ("curl", "curl"),
    ("openssl", "openssl"),
    ("nginx", "nginx-light"),
    ("setpriv", "util-linux"),
];

/// Two "apps" for the per-app part: Linux users, as Android runs each app
/// under its own uid. No accounts are needed for them.
const WEATHER_APP: (u32, &str) = (60_010, "weather app");
const BROWSER: (u32, &str) = (60_011, "browser");
/// What each of them requests.
const APP_REQUESTS: &[&str] = &["https://www.debian.org/", "https://tracking.miui.com/"];

/// A web request an app makes, and the address it resolved itself, if it
/// did not ask DNS (as apps that resolve over HTTP do).
struct Request {
    url: &'static str,
    own_resolution: Option<&'static str>,
    host_header: Option<&'static str>,
    /// The name Hush should see and log.
    name: &'static str,
}

const REQUESTS: &[Request] = &[
    Request {
        url: "https://www.debian.org/",
        own_resolution: None,
        host_header: None,
        name: "www.debian.org",
    },
    Request {
        url: "http://f-droid.org/",
        own_resolution: None,
        host_header: None,
        name: "f-droid.org",
    },
    Request {
        url: "https://tracking.miui.com/",
        own_resolution: None,
        host_header: None,
        name: "tracking.miui.com",
    },
    // The app resolved the name on its own: only the TLS SNI names it.
    Request {
        url: "https://sa.api.intl.miui.com/",
        own_resolution: Some("sa.api.intl.miui.com:443:198.19.0.10"),
        host_header: None,
        name: "sa.api.intl.miui.com",
    },
    // Plain HTTP to a shared address: only the Host header names it.
    Request {
        url: "http://198.19.0.10/collect",
        own_resolution: None,
        host_header: Some("Host: data.mistat.xiaomi.com"),
        name: "data.mistat.xiaomi.com",
    },
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
            // Addresses in the server namespace, where nginx answers.
            ipv4: format!("198.19.0.{}", i + 10),
            ipv6: format!("fd00:19::{}", i + 10),
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
        "Building the lab: a phone namespace with a tun, a server namespace with dnsmasq and nginx..."
    );
    let mut lab = Lab::create(&records()).map_err(|e| format!("failed to build the lab: {e}"))?;
    lab.start_web()
        .map_err(|e| format!("failed to start nginx: {e}"))?;
    check()?;
    let db = std::env::temp_dir().join(format!("hush-demo-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    {
        // The phone owner's choices, made before Hush starts: the weather
        // app is cut off entirely; the browser keeps the default (the
        // lists apply). The labels stand in for Android's app names.
        use hush_store::rules::{self, AppMode, Network};
        let text = |e: hush_store::StoreError| e.to_string();
        let connection = hush_store::open(&db).map_err(text)?;
        for (uid, label) in [WEATHER_APP, BROWSER] {
            rules::set_app(&connection, uid, label, &[], false).map_err(text)?;
        }
        rules::set_app_mode(&connection, WEATHER_APP.0, Network::Any, AppMode::BlockAll)
            .map_err(text)?;
    }
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
    let mut fetched = Vec::new();
    for request in REQUESTS {
        check()?;
        fetched.push(fetch(&lab, request, None)?);
    }
    let mut per_app = Vec::new();
    for (uid, label) in [WEATHER_APP, BROWSER] {
        for url in APP_REQUESTS {
            check()?;
            let request = Request {
                url,
                own_resolution: None,
                host_header: None,
                name: "",
            };
            per_app.push((uid, label, *url, fetch(&lab, &request, Some(uid))?));
        }
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
    println!(
        "\nThen real curl requests, over HTTP and HTTPS:\n\n{:<57} {:<20} {:<8} WHY",
        "REQUEST", "THE APP GOT", "HUSH"
    );
    for (request, outcome) in REQUESTS.iter().zip(&fetched) {
        // The DNS lookup comes first; the decision that stopped or passed
        // the connection is the last one logged for the name.
        let event = events.iter().rev().find(|e| e.host == request.name);
        let (action, why) = event.map_or(("-", "-".to_string()), |e| {
            (
                e.action.as_str(),
                format!("{} ({} {})", e.reason, e.protocol, e.detail),
            )
        });
        let mut shown = request.url.to_string();
        if let Some(header) = request.host_header {
            shown = format!("{shown} [{header}]");
        } else if request.own_resolution.is_some() {
            shown = format!("{shown} [own DNS]");
        }
        println!("{shown:<57} {outcome:<20} {action:<8} {why}");
    }
    println!(
        "\nThen two apps, each running as its own user (as Android runs apps); the\n\
         weather app is set to block-all, the browser keeps the default:\n\n\
         {:<20} {:<30} {:<20} {:<8} WHY",
        "APP", "REQUEST", "THE APP GOT", "HUSH"
    );
    for (uid, label, url, outcome) in &per_app {
        let host = url.split('/').nth(2).unwrap_or_default();
        let event = events
            .iter()
            .rev()
            .find(|e| e.uid == Some(*uid) && e.host == host);
        let (action, why) = event.map_or(("-", "-".to_string()), |e| {
            (
                e.action.as_str(),
                format!("{} ({} {})", e.reason, e.protocol, e.detail),
            )
        });
        let app = format!("{label} ({uid})");
        println!("{app:<20} {url:<30} {outcome:<20} {action:<8} {why}");
    }
    println!("\nThe per-app view (as `hush apps --db FILE` shows it):\n");
    crate::report::print_apps(&connection)?;
    println!("\nHush's own summary at exit (counters that moved):");
    for line in summary.iter().filter(|l| !l.trim().is_empty()) {
        let zero = line.split_whitespace().last() == Some("0");
        if !zero {
            println!("  {}", line.trim_start_matches("hush: "));
        }
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

/// Runs one real curl in the phone namespace (as the user `uid`, when
/// given) and describes what it got.
fn fetch(lab: &Lab, request: &Request, uid: Option<u32>) -> Result<String, String> {
    let mut command = match uid {
        Some(uid) => {
            let id = uid.to_string();
            let mut command = lab.in_phone("setpriv");
            command.args([
                "--reuid",
                &id,
                "--regid",
                &id,
                "--clear-groups",
                "--",
                "curl",
            ]);
            command
        }
        None => lab.in_phone("curl"),
    };
    command.args([
        "-sS",
        "-k",
        "--max-time",
        "5",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ]);
    if let Some(resolve) = request.own_resolution {
        command.args(["--resolve", resolve]);
    }
    if let Some(header) = request.host_header {
        command.args(["-H", header]);
    }
    let started = Instant::now();
    let output = command
        .arg(request.url)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("failed to run curl: {e}"))?;
    let took = started.elapsed().as_millis();
    Ok(describe_curl(
        output.status.code(),
        &String::from_utf8_lossy(&output.stdout),
        took,
    ))
}

/// "HTTP 200", "reset after 3 ms", "name not found" from curl's exit code.
pub fn describe_curl(code: Option<i32>, http_code: &str, took_ms: u128) -> String {
    match code {
        Some(0) => format!("HTTP {http_code}"),
        Some(6) => "name not found".to_string(),
        Some(7) => format!("refused after {took_ms} ms"),
        Some(28) => "timed out".to_string(),
        Some(35 | 52 | 56) => format!("reset after {took_ms} ms"),
        Some(other) => format!("curl error {other}"),
        None => "killed".to_string(),
    }
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
