//! End to end: a phone's day through the real `hush` on a real tun. The
//! network renumbers (IPv4, then IPv6) and moves to another uplink while a
//! `dig` loop, a download and a UDP flow run; the engine panics on purpose
//! (`hush ctl fault`); Hush starts on a broken database, a missing list and
//! an impossible MTU; apps ask DNS over TCP; `hush gaps` tells when Hush was
//! not filtering.
//!
//! Each change prints its outage as one line, `outage: case=NAME
//! dns_ms=... tcp_reset_ms=... udp_ms=...`, for BENCHMARKS.md.
//!
//! Needs root and `ip`, `dnsmasq`, `dig`, `curl`, `nginx`, `python3`,
//! `setpriv` and `tcpdump`. Nothing leaves the namespaces: they use only
//! 198.18.0.0/15 and fd00::/8 and have no route to the host's network; every
//! client loop is bounded in count and time.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hush_linux::lab::{self, Lab, Record};
use support::{require_root, Capture, Failed, Hush, HUSH};

mod support;

const WEB: &str = "www.debian.org";
const WEB_V4: &str = "198.19.0.10";
const WEB_V6: &str = "fd00:19::10";
const ECHO_V4: &str = "198.19.0.20";
const ECHO_V6: &str = "fd00:19::20";
const ECHO_PORT: &str = "7000";
/// Only the block-all app talks to this address: any packet to it seen on
/// the server's side is a leak.
const FORBIDDEN_V4: &str = "198.19.0.21";
/// In the built-in list.
const BLOCKED: &str = "tracking.miui.com";
/// An app whose mode is block-all.
const BLOCK_ALL_APP: u32 = 60_011;
/// Every outage asserted here is shorter than this.
const WITHIN: Duration = Duration::from_secs(1);

fn records() -> Vec<Record> {
    [
        (WEB, 10),
        (BLOCKED, 12),
        ("servers.lab.test", 20),
        ("forbidden.lab.test", 21),
    ]
    .iter()
    .map(|(name, n)| Record {
        name: (*name).into(),
        ipv4: format!("198.19.0.{n}"),
        ipv6: format!("fd00:19::{n}"),
    })
    .collect()
}

/// The tests measure outages in milliseconds on a small machine: one at a
/// time.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// CLOCK_MONOTONIC in nanoseconds: the clock Python's `time.monotonic_ns`
/// reads in the UDP client, so its times compare with the test's.
fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

fn labnet() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/support/labnet.py")
        .to_string_lossy()
        .into_owned()
}

/// A lab with nginx (a 32 MiB file it serves slowly: the server, not the
/// client, sets the pace, so no backlog waits in the app's socket and a
/// reset is seen as it comes) and UDP echo servers
/// on both IP versions.
fn day_lab() -> Lab {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    let slow = lab.web_root().join("slow");
    std::fs::create_dir_all(&slow).unwrap();
    std::fs::write(slow.join("big.bin"), vec![7u8; 32 << 20]).unwrap();
    let udp_log = lab.workdir().join("udp.log").to_string_lossy().into_owned();
    for address in [ECHO_V4, ECHO_V6] {
        lab.spawn_server("python3", &[&labnet(), "udp", address, ECHO_PORT, &udp_log])
            .expect("failed to start the UDP echo server");
    }
    let ready = PathBuf::from(format!("{udp_log}.{ECHO_PORT}.ready"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready.exists() {
        assert!(
            Instant::now() < deadline,
            "the UDP echo server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Both servers write the same file: give the second a moment to bind.
    std::thread::sleep(Duration::from_millis(200));
    lab
}

fn control_path(lab: &Lab) -> String {
    lab.workdir().join("control").to_string_lossy().into_owned()
}

fn db_path(lab: &Lab, name: &str) -> String {
    lab.workdir().join(name).to_string_lossy().into_owned()
}

/// `hush ctl --control PATH ARGS...`: (success, stdout, stderr).
fn ctl(path: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new("timeout")
        .args(["10", HUSH, "ctl", "--control", path])
        .args(args)
        .output()
        .expect("failed to run hush ctl");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        String::from_utf8_lossy(&output.stderr).trim().to_string(),
    )
}

fn health(path: &str) -> serde_json::Value {
    let (ok, out, err) = ctl(path, &["health"]);
    assert!(ok, "hush ctl health: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("health is not JSON ({e}): {out}"))
}

/// A command in the phone namespace, without borrowing the lab (for threads).
fn in_phone(phone: &str, program: &str) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", phone, program]);
    command
}

/// A command in the phone namespace run as app `uid`, with a time limit.
fn as_app(phone: &str, uid: u32, seconds: u32, program: &str) -> Command {
    let id = uid.to_string();
    let mut command = in_phone(phone, "setpriv");
    command
        .args(["--reuid", &id, "--regid", &id, "--clear-groups", "--"])
        .args(["timeout", &seconds.to_string(), program]);
    command
}

struct DigResult {
    status: String,
    answers: Vec<String>,
}

fn dig(lab: &Lab, server: &str, name: &str, record_type: &str, extra: &[&str]) -> DigResult {
    let output = lab
        .in_phone("dig")
        .args(["+time=2", "+tries=1", "+noall", "+comments", "+answer"])
        .args(extra)
        .arg(format!("@{server}"))
        .args([name, record_type])
        .output()
        .expect("failed to run dig");
    parse_dig(&output)
}

fn parse_dig(output: &Output) -> DigResult {
    let text = String::from_utf8_lossy(&output.stdout);
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("NO ANSWER")
        .to_string();
    let answers = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect();
    DigResult { status, answers }
}

/// One run of a probe: when it was sent and done (monotonic ns), and
/// whether it got what it should.
#[derive(Debug, Clone, Copy)]
struct Probe {
    sent: u64,
    done: u64,
    ok: bool,
}

/// A command started every `every`, each on its own thread, at most
/// `limit` times, until finished: a `dig` or `curl` loop that a lost query
/// cannot stall.
struct Probes {
    stop: Arc<AtomicBool>,
    results: Arc<Mutex<Vec<Probe>>>,
    driver: JoinHandle<()>,
}

impl Probes {
    fn start(
        every: Duration,
        limit: usize,
        command: impl Fn() -> Command + Send + Sync + 'static,
        ok: impl Fn(&Output) -> bool + Send + Sync + 'static,
    ) -> Probes {
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let (stop_flag, sink) = (Arc::clone(&stop), Arc::clone(&results));
        let command = Arc::new(command);
        let ok = Arc::new(ok);
        let driver = std::thread::spawn(move || {
            let mut workers = Vec::new();
            for _ in 0..limit {
                if stop_flag.load(Ordering::Relaxed) {
                    break;
                }
                let (command, ok, sink) =
                    (Arc::clone(&command), Arc::clone(&ok), Arc::clone(&sink));
                workers.push(std::thread::spawn(move || {
                    let sent = monotonic_ns();
                    let output = command().stdin(Stdio::null()).output();
                    let done = monotonic_ns();
                    let ok = output.is_ok_and(|output| ok(&output));
                    sink.lock().unwrap().push(Probe { sent, done, ok });
                }));
                std::thread::sleep(every);
            }
            for worker in workers {
                let _ = worker.join();
            }
        });
        Probes {
            stop,
            results,
            driver,
        }
    }

    fn finish(self) -> Vec<Probe> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.driver.join();
        let mut results = self.results.lock().unwrap().clone();
        results.sort_by_key(|p| p.sent);
        results
    }
}

/// How long after `t0` the first probe sent at or after `t0` succeeded.
fn first_ok_after(probes: &[Probe], t0: u64) -> Option<u64> {
    probes
        .iter()
        .filter(|p| p.ok && p.sent >= t0)
        .map(|p| p.done - t0)
        .min()
}

/// The probes sent from 300 ms before `t0` to 1.5 s after it, with their
/// outcome and times relative to `t0`.
fn summary_of(probes: &[Probe], t0: u64) -> String {
    let line: Vec<String> = probes
        .iter()
        .filter(|p| p.sent + 300_000_000 >= t0 && p.sent <= t0 + 1_500_000_000)
        .map(|p| {
            format!(
                "{}{:+}..{:+}",
                if p.ok { "ok" } else { "FAIL" },
                ms(p.sent) as i64 - ms(t0) as i64,
                ms(p.done) as i64 - ms(t0) as i64
            )
        })
        .collect();
    line.join(" ")
}

/// A `dig` loop for the web name, every 50 ms, for at most 10 s.
fn dig_loop(phone: &str, v6: bool) -> Probes {
    let phone = phone.to_string();
    let (server, record_type, expect) = if v6 {
        (lab::PHONE_DNS_V6, "AAAA", WEB_V6)
    } else {
        (lab::PHONE_DNS_V4, "A", WEB_V4)
    };
    Probes::start(
        Duration::from_millis(50),
        200,
        move || {
            let mut command = in_phone(&phone, "dig");
            command
                .args(["+time=1", "+tries=1", "+short"])
                .arg(format!("@{server}"))
                .args([WEB, record_type]);
            command
        },
        move |output| {
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains(expect)
        },
    )
}

/// A `curl` loop for a small page at `url`, every 100 ms, at most 10 s.
fn curl_loop(phone: &str, url: &str) -> Probes {
    let (phone, url) = (phone.to_string(), url.to_string());
    Probes::start(
        Duration::from_millis(100),
        100,
        move || {
            let mut command = in_phone(&phone, "curl");
            command.args(["-sS", "-g", "--max-time", "2", &url]);
            command
        },
        |output| output.status.success() && output.stdout == b"hush lab\n",
    )
}

/// How a client ended: when (monotonic ns), its exit code, its stderr.
type Ending = (u64, Option<i32>, String);

/// A child whose end is timed.
struct Timed {
    ended: Arc<Mutex<Option<Ending>>>,
    waiter: JoinHandle<()>,
}

impl Timed {
    fn spawn(mut command: Command) -> Timed {
        let mut child: Child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start a client");
        let ended = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&ended);
        let waiter = std::thread::spawn(move || {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let status = child.wait().expect("failed to wait for a client");
            *sink.lock().unwrap() = Some((monotonic_ns(), status.code(), stderr));
        });
        Timed { ended, waiter }
    }

    fn ended(&self) -> Option<Ending> {
        self.ended.lock().unwrap().clone()
    }

    /// Waits for the end, bounded by the client's own time limit.
    fn wait(self) -> Ending {
        let _ = self.waiter.join();
        self.ended.lock().unwrap().clone().unwrap()
    }
}

/// What the UDP client saw: (sequence number, sent, received) per echo.
fn udp_replies(output: &str) -> Vec<(u64, u64, u64)> {
    output
        .lines()
        .filter_map(|l| {
            let mut words = l.strip_prefix("reply ")?.split_whitespace();
            Some((
                words.next()?.parse().ok()?,
                words.next()?.parse().ok()?,
                words.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// What one network change cost.
#[derive(Debug)]
struct Outage {
    dns_ms: Option<u64>,
    tcp_reset_ms: Option<u64>,
    curl_code: Option<i32>,
    curl_stderr: String,
    udp_ms: Option<u64>,
    udp_after: usize,
}

/// Runs a `dig` loop, a slow download and a UDP echo flow through Hush,
/// makes `change` halfway, and measures each one's outage from the moment
/// the change is complete. Prints the figures as one `outage:` line.
fn through_a_change(lab: &Lab, case: &str, v6: bool, change: impl FnOnce()) -> Outage {
    let (web, echo) = if v6 {
        (format!("[{WEB_V6}]"), ECHO_V6)
    } else {
        (WEB_V4.to_string(), ECHO_V4)
    };
    let udp = lab
        .in_phone("timeout")
        .args([
            "20",
            "python3",
            &labnet(),
            "udp-steady",
            echo,
            ECHO_PORT,
            "6",
            "20",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start the UDP client");
    let download = {
        let mut command = lab.in_phone("timeout");
        command
            .args([
                "30",
                "curl",
                "-sS",
                "-g",
                "-o",
                "/dev/null",
                "--max-time",
                "25",
            ])
            .arg(format!("http://{web}/slow/big.bin"));
        Timed::spawn(command)
    };
    let digs = dig_loop(&lab.phone, v6);
    std::thread::sleep(Duration::from_millis(1500));
    if let Some((_, code, stderr)) = download.ended() {
        panic!("{case}: the download ended before the change ({code:?}): {stderr}");
    }
    let started = monotonic_ns();
    change();
    let t0 = monotonic_ns();
    let change_ms = ms(t0 - started);
    let deadline = Instant::now() + Duration::from_secs(5);
    while download.ended().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let cut = download.ended();
    std::thread::sleep(Duration::from_millis(2500));
    let digs = digs.finish();
    let udp = udp
        .wait_with_output()
        .expect("failed to wait for the UDP client");
    let udp_text = String::from_utf8_lossy(&udp.stdout).into_owned();
    let replies = udp_replies(&udp_text);
    let udp_ms = replies
        .iter()
        .filter(|(_, sent, _)| *sent >= t0)
        .map(|(_, _, received)| received - t0)
        .min()
        .map(ms);
    let udp_after = replies.iter().filter(|(_, sent, _)| *sent >= t0).count();
    let (tcp_reset_ms, curl_code, curl_stderr) = match cut {
        Some((at, code, stderr)) => (Some(ms(at.saturating_sub(t0))), code, stderr),
        None => {
            // Still running 5 s after the change: end it (bounded by its
            // own time limit anyway).
            let (_, code, stderr) = download.wait();
            (None, code, stderr)
        }
    };
    let outage = Outage {
        dns_ms: first_ok_after(&digs, t0).map(ms),
        tcp_reset_ms,
        curl_code,
        curl_stderr,
        udp_ms,
        udp_after,
    };
    let figure = |value: Option<u64>| value.map_or_else(|| "none".to_string(), |v| v.to_string());
    println!(
        "outage: case={case} dns_ms={} tcp_reset_ms={} udp_ms={} change_ms={change_ms} curl_exit={}",
        figure(outage.dns_ms),
        figure(outage.tcp_reset_ms),
        figure(outage.udp_ms),
        outage.curl_code.map_or("none".into(), |c| c.to_string()),
    );
    let baseline = digs.iter().filter(|p| p.ok && p.done < started).count();
    assert!(
        baseline > 0,
        "{case}: no dig got an answer before the change: {}",
        summary_of(&digs, t0)
    );
    assert!(
        replies.iter().any(|(_, _, received)| *received < started),
        "{case}: no UDP echo before the change: {udp_text}"
    );
    eprintln!("{case}: digs {}", summary_of(&digs, t0));
    outage
}

fn assert_recovered(case: &str, outage: &Outage) {
    let within = |value: Option<u64>| value.is_some_and(|v| v < WITHIN.as_millis() as u64);
    assert!(
        within(outage.dns_ms),
        "{case}: DNS answered again only after {:?} ms",
        outage.dns_ms
    );
    // curl's exit code 56: a failure receiving data (the reset).
    assert_eq!(
        outage.curl_code,
        Some(56),
        "{case}: the download should end with a reset: {}",
        outage.curl_stderr
    );
    assert!(
        within(outage.tcp_reset_ms),
        "{case}: the download was reset only after {:?} ms",
        outage.tcp_reset_ms
    );
    assert!(
        within(outage.udp_ms) && outage.udp_after >= 10,
        "{case}: the UDP flow came back after {:?} ms with {} echoes",
        outage.udp_ms,
        outage.udp_after
    );
}

fn start_day_hush(lab: &Lab, upstream: &str, db: &str) -> Hush {
    let control = control_path(lab);
    Hush::start(lab, upstream, &["--db", db, "--control", &control])
}

#[test]
fn ipv4_renumbering_keeps_dns_and_udp_and_resets_tcp_within_a_second() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let db = db_path(&lab, "hush.db");
    let mut hush = start_day_hush(&lab, &format!("{}:53", lab::RESOLVER_V4), &db);
    let outage = through_a_change(&lab, "v4-renumber", false, || {
        lab.renumber_phone("198.19.0.1/24", "198.19.0.3/24")
            .expect("failed to renumber");
    });
    let printed = hush.printed();
    assert!(
        printed.iter().any(|l| l.contains("network changed")),
        "hush did not see the change: {printed:#?}"
    );
    assert_recovered("v4-renumber", &outage);
    hush.stop();
}

#[test]
fn ipv6_renumbering_keeps_dns_and_udp_and_resets_tcp_within_a_second() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let db = db_path(&lab, "hush.db");
    // The resolver over IPv6, so that DNS depends on the renumbered address.
    let hush = start_day_hush(&lab, &format!("[{}]:53", lab::RESOLVER_V6), &db);
    let outage = through_a_change(&lab, "v6-renumber", true, || {
        lab.renumber_phone("fd00:19::1/64", "fd00:19::3/64")
            .expect("failed to renumber");
    });
    assert_recovered("v6-renumber", &outage);
    hush.stop();
}

#[test]
fn moving_to_another_uplink_with_hush_ctl_within_a_second() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let uplink = lab.add_uplink().expect("failed to add a second uplink");
    let db = db_path(&lab, "hush.db");
    let hush = start_day_hush(&lab, &format!("{}:53", lab::RESOLVER_V4), &db);
    let control = control_path(&lab);
    let outage = through_a_change(&lab, "uplink-switch", false, || {
        // Wi-Fi is lost (its addresses go with it, as Android's netd
        // removes them); the platform moves Hush to mobile data.
        lab.phone_ip_batch(&[
            format!("addr flush dev {}", lab.phone_veth),
            format!("link set {} down", lab.phone_veth),
        ])
        .expect("failed to take the first uplink down");
        let (ok, out, err) = ctl(&control, &["out-iface", &uplink]);
        assert!(ok, "hush ctl out-iface: {err}");
        assert!(out.contains(&uplink), "{out}");
    });
    assert_recovered("uplink-switch", &outage);
    assert_eq!(health(&control)["filtering"]["state"], "on");
    hush.stop();
}

#[test]
fn hush_ctl_answers_and_refuses_clearly() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let control = control_path(&lab);
    let hush = Hush::start(
        &lab,
        &format!("{}:53", lab::RESOLVER_V4),
        &["--control", &control],
    );
    // Owner-only.
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let metadata = std::fs::metadata(&control).unwrap();
    assert!(metadata.file_type().is_socket());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    // A second run on the same socket is refused, before it takes the tun.
    let mut second = lab.in_phone(HUSH);
    second
        .args([
            "run",
            "--tun",
            lab::TUN_NAME,
            "--out-iface",
            &lab.phone_veth,
        ])
        .args(["--upstream", "198.19.0.2:53", "--control", &control]);
    let failed = Hush::launch(second).err().expect("a second hush started");
    assert_eq!(failed.status.and_then(|s| s.code()), Some(1), "{failed:?}");
    assert!(
        failed.stderr.iter().any(|l| l.contains("already listens")),
        "{failed:?}"
    );

    let health = health(&control);
    assert_eq!(health["filtering"]["state"], "on", "{health}");
    assert_eq!(health["restarts"], 0, "{health}");
    let (ok, out, err) = ctl(&control, &["network-changed"]);
    assert!(ok, "{err}");
    assert!(!out.is_empty());
    let (ok, _, err) = ctl(&control, &["out-iface", "nosuch0"]);
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
    let (ok, _, err) = ctl(&control, &["reboot"]);
    assert!(!ok);
    assert!(err.contains("reboot"), "{err}");
    // A raw client's junk gets an error line, not silence.
    let mut raw = std::os::unix::net::UnixStream::connect(&control).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.write_all(b"out-iface\n").unwrap();
    let mut reply = String::new();
    raw.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("error usage: out-iface NAME"), "{reply}");

    hush.stop();
    assert!(!Path::new(&control).exists(), "the socket outlived hush");
    let (ok, _, err) = ctl(&control, &["health"]);
    assert!(!ok);
    assert!(err.contains("no control socket"), "{err}");
    // A dead socket (its listener gone) says so.
    let dead = lab.workdir().join("dead");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let (ok, _, err) = ctl(&dead.to_string_lossy(), &["health"]);
    assert!(!ok);
    assert!(err.contains("nothing listens"), "{err}");
}

#[test]
fn injected_panics_are_contained_and_nothing_passes_unjudged() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let db = db_path(&lab, "hush.db");
    drop(hush_store::open(Path::new(&db)).unwrap());
    let rule = Command::new(HUSH)
        .args([
            "rule",
            "app",
            &BLOCK_ALL_APP.to_string(),
            "block-all",
            "--db",
            &db,
        ])
        .output()
        .expect("failed to run hush rule");
    assert!(
        rule.status.success(),
        "{}",
        String::from_utf8_lossy(&rule.stderr)
    );
    let control = control_path(&lab);
    let mut hush = start_day_hush(&lab, &format!("{}:53", lab::RESOLVER_V4), &db);
    // Every interface of the server namespace.
    let capture = Capture::start(&lab, "server.pcap", "any", &["-s", "512"], &[]);
    let phone = lab.phone.clone();
    let mut leaked_answers = Vec::new();
    for word in ["packet", "dns", "writer", "follower"] {
        // What must never get out, before, during and after the fault: a
        // blocked name's query, and the block-all app's traffic.
        let blocked_name = format!("fault-{word}.{BLOCKED}");
        let blocked = {
            let (phone, name) = (phone.clone(), blocked_name.clone());
            Probes::start(
                Duration::from_millis(100),
                30,
                move || {
                    let mut command = in_phone(&phone, "dig");
                    command
                        .args(["+time=1", "+tries=1", "+noall", "+answer", "+comments"])
                        .arg(format!("@{}", lab::PHONE_DNS_V4))
                        .args([&name, "A"]);
                    command
                },
                // "ok" here means an address came back: a leak.
                |output| {
                    parse_dig(output)
                        .answers
                        .iter()
                        .any(|a| a.starts_with("198."))
                },
            )
        };
        let app = {
            let phone = phone.clone();
            Probes::start(
                Duration::from_millis(100),
                30,
                move || {
                    let mut command = as_app(&phone, BLOCK_ALL_APP, 3, "curl");
                    command.args(["-sS", "--max-time", "1"]);
                    command.arg(format!("http://{FORBIDDEN_V4}/"));
                    command
                },
                |output| output.status.success(),
            )
        };
        let app_udp = as_app(&phone, BLOCK_ALL_APP, 10, "python3")
            .args([&labnet(), "udp-steady", FORBIDDEN_V4, ECHO_PORT, "3", "50"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("failed to start the app's UDP client");
        let digs = dig_loop(&phone, false);
        let pages = curl_loop(&phone, &format!("http://{WEB_V4}/"));
        std::thread::sleep(Duration::from_millis(700));
        let t0 = monotonic_ns();
        let (ok, _, err) = ctl(&control, &["fault", word]);
        assert!(ok, "hush ctl fault {word}: {err}");
        std::thread::sleep(Duration::from_millis(2000));
        let (digs, pages) = (digs.finish(), pages.finish());
        let (blocked, app) = (blocked.finish(), app.finish());
        let app_udp = app_udp.wait_with_output().unwrap();
        let dns_ms = first_ok_after(&digs, t0).map(ms);
        let http_ms = first_ok_after(&pages, t0).map(ms);
        let health = health(&control);
        println!(
            "outage: case=fault-{word} dns_ms={} http_ms={} restarts={} filtering={}",
            dns_ms.map_or("none".into(), |v| v.to_string()),
            http_ms.map_or("none".into(), |v| v.to_string()),
            health["restarts"],
            health["filtering"]["state"],
        );
        assert!(
            dns_ms.is_some_and(|v| v < 1000),
            "fault {word}: DNS answered again after {dns_ms:?} ms: {}",
            summary_of(&digs, t0)
        );
        assert!(
            http_ms.is_some_and(|v| v < 1000),
            "fault {word}: HTTP worked again after {http_ms:?} ms: {}",
            summary_of(&pages, t0)
        );
        leaked_answers.extend(blocked.iter().filter(|p| p.ok).map(|p| {
            format!(
                "{word}: {blocked_name} answered at {:+} ms",
                ms(p.done) as i64 - ms(t0) as i64
            )
        }));
        assert!(
            app.iter().all(|p| !p.ok),
            "fault {word}: the block-all app got a page"
        );
        let app_udp = String::from_utf8_lossy(&app_udp.stdout);
        assert!(
            udp_replies(&app_udp).is_empty(),
            "fault {word}: the block-all app got UDP echoes: {app_udp}"
        );
        if word == "packet" {
            assert!(
                health["restarts"].as_u64().is_some_and(|r| r >= 1),
                "a panic on the packet path restarted nothing: {health}"
            );
        }
    }
    let seen = capture.finish(&["-v"]);
    assert!(leaked_answers.is_empty(), "{leaked_answers:#?}");
    assert!(
        !seen.contains("fault-"),
        "a blocked name reached the resolver:\n{}",
        seen.lines()
            .filter(|l| l.contains("fault-"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        !seen.contains(FORBIDDEN_V4),
        "the block-all app's packets reached the server:\n{}",
        seen.lines()
            .filter(|l| l.contains(FORBIDDEN_V4))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        seen.contains(WEB_V4),
        "the capture saw no traffic at all:\n{seen}"
    );
    let health = health(&control);
    assert!(
        health["restarts"].as_u64().is_some_and(|r| r >= 1),
        "{health}"
    );
    assert_eq!(health["filtering"]["state"], "on", "{health}");
    let printed = hush.printed();
    assert!(
        printed.iter().any(|l| l.contains("starting it again")),
        "the engine's restart went unsaid: {printed:#?}"
    );
    hush.stop();
}

/// Starts `hush run` in the phone namespace with `args` (after `run`),
/// behind `wrapper` (a program and its arguments run first, if any).
fn launch(lab: &Lab, wrapper: &[&str], args: &[String]) -> Result<Hush, Failed> {
    let mut command = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut command = lab.in_phone(program);
            command.args(rest).arg(HUSH);
            command
        }
        None => lab.in_phone(HUSH),
    };
    command.arg("run").args(args);
    Hush::launch(command)
}

/// The usual arguments of `hush run` in the lab, and `extra`.
fn run_args(lab: &Lab, extra: &[String]) -> Vec<String> {
    let mut args = vec![
        "--tun".to_string(),
        lab::TUN_NAME.into(),
        "--out-iface".into(),
        lab.phone_veth.clone(),
        "--upstream".into(),
        format!("{}:53", lab::RESOLVER_V4),
    ];
    args.extend_from_slice(extra);
    args
}

fn assert_still_filters(lab: &Lab, case: &str) {
    let blocked = dig(lab, lab::PHONE_DNS_V4, BLOCKED, "A", &[]);
    assert_eq!(blocked.status, "NXDOMAIN", "{case}: {BLOCKED} not blocked");
    let allowed = dig(lab, lab::PHONE_DNS_V4, WEB, "A", &[]);
    assert_eq!(allowed.answers, [WEB_V4], "{case}: {WEB} not resolved");
}

/// A broken state `hush run` must start in anyway: what to run it with,
/// and words one of which the problem it prints must hold.
struct BadStart<'a> {
    case: &'a str,
    wrapper: &'a [&'a str],
    extra: Vec<String>,
    says: &'a [&'a str],
}

fn python(script: &str, args: &[&str]) -> Output {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("failed to run python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn every_bad_start_still_blocks_and_says_what_is_wrong() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let dir = lab.workdir().to_path_buf();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();

    // A database from a newer Hush.
    let newer = path("newer.db");
    drop(hush_store::open(Path::new(&newer)).unwrap());
    python(
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version = 999'); c.commit()",
        &[&newer],
    );
    // Not a database at all.
    let corrupt = path("corrupt.db");
    std::fs::write(&corrupt, b"this is not a database\n".repeat(2000)).unwrap();
    // Another process holds an exclusive transaction on it (bounded: 60 s).
    let locked = path("locked.db");
    drop(hush_store::open(Path::new(&locked)).unwrap());
    let mut holder = Command::new("timeout")
        .args(["60", "python3", "-c"])
        .arg(
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             c.execute('CREATE TABLE IF NOT EXISTS held (x)')\n\
             print('locked', flush=True)\n\
             time.sleep(55)\n",
        )
        .arg(&locked)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    assert_eq!(said.trim(), "locked");
    // A directory Hush may not write (it runs without the capabilities that
    // let root write anywhere).
    let read_only = dir.join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::fs::set_permissions(
        &read_only,
        std::os::unix::fs::PermissionsExt::from_mode(0o555),
    )
    .unwrap();
    let unwritable = read_only.join("hush.db").to_string_lossy().into_owned();
    let no_root_powers = [
        "setpriv",
        "--bounding-set",
        "-dac_override,-dac_read_search,-fowner",
        "--",
    ];
    let missing_list = path("no-such-list.txt");

    let db = |path: &String| vec!["--db".to_string(), path.clone()];
    let cases = [
        BadStart {
            case: "user_version 999",
            wrapper: &[],
            extra: db(&newer),
            says: &["database", "not usable"],
        },
        BadStart {
            case: "corrupt database",
            wrapper: &[],
            extra: db(&corrupt),
            says: &["database", "not usable"],
        },
        BadStart {
            case: "locked database",
            wrapper: &[],
            extra: db(&locked),
            says: &["database", "lock", "busy"],
        },
        BadStart {
            case: "unwritable directory",
            wrapper: &no_root_powers,
            extra: db(&unwritable),
            says: &["database", "read-only", "denied", "unable to open"],
        },
        BadStart {
            case: "missing list",
            wrapper: &[],
            extra: vec!["--list".to_string(), missing_list.clone()],
            says: &["no-such-list.txt"],
        },
    ];
    for BadStart {
        case,
        wrapper,
        extra,
        says,
    } in cases
    {
        let started = Instant::now();
        let hush = launch(&lab, wrapper, &run_args(&lab, &extra))
            .unwrap_or_else(|failed| panic!("{case}: hush did not start: {failed:#?}"));
        let took = started.elapsed();
        let told: Vec<&String> = hush
            .startup
            .iter()
            .filter(|l| l.contains("problem:") || l.contains("not usable"))
            .collect();
        println!(
            "bad start: case={case:?} ready_ms={} said={told:?}",
            took.as_millis()
        );
        assert!(
            told.iter()
                .any(|l| says.iter().any(|w| l.to_lowercase().contains(w))),
            "{case}: no problem printed: {:#?}",
            hush.startup
        );
        assert_still_filters(&lab, case);
        // It may say at exit that the log could not be written: a clean
        // exit either way, never a signal.
        let (status, summary) = hush.stop_with_status();
        println!("bad start: case={case:?} exit={status}");
        assert!(
            status.code().is_some_and(|code| code <= 1),
            "{case}: hush ended with {status}: {summary}"
        );
    }
    let _ = holder.kill();
    let _ = holder.wait();

    // An MTU no IP packet can have, with a tun handed over as Android does
    // (an inherited descriptor): a clean refusal or a clean start with the
    // problem said, never an abort.
    let tun_fd_wrapper = "import fcntl, os, struct, sys\n\
         fd = os.open('/dev/net/tun', os.O_RDWR)\n\
         fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH22x', b'hush0', 0x0001 | 0x1000))\n\
         os.set_inheritable(fd, True)\n\
         os.dup2(fd, 3)\n\
         os.execv(sys.argv[1], sys.argv[1:])\n";
    let mut command = lab.in_phone("python3");
    command.args(["-c", tun_fd_wrapper, HUSH, "run", "--tun-fd", "3"]);
    command.args([
        "--out-iface",
        &lab.phone_veth,
        "--upstream",
        &format!("{}:53", lab::RESOLVER_V4),
        "--mtu",
        "70000",
    ]);
    match Hush::launch(command) {
        Ok(hush) => {
            println!("bad start: case=\"mtu 70000\" said={:?}", hush.startup);
            assert!(
                hush.startup
                    .iter()
                    .any(|l| l.contains("problem:") && l.to_lowercase().contains("mtu")),
                "mtu 70000: no problem printed: {:#?}",
                hush.startup
            );
            assert_still_filters(&lab, "mtu 70000");
            let (status, summary) = hush.stop_with_status();
            assert!(
                status.code().is_some_and(|code| code <= 1),
                "mtu 70000: hush ended with {status}: {summary}"
            );
        }
        Err(failed) => {
            println!("bad start: case=\"mtu 70000\" refused={failed:?}");
            let code = failed.status.and_then(|s| s.code());
            assert_eq!(code, Some(1), "mtu 70000 must end cleanly: {failed:#?}");
            assert!(
                failed
                    .stderr
                    .iter()
                    .any(|l| l.to_lowercase().contains("mtu")),
                "{failed:#?}"
            );
        }
    }
}

#[test]
fn dns_over_tcp_is_answered_by_the_firewall_at_any_address() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let hush = Hush::start(&lab, &format!("{}:53", lab::RESOLVER_V4), &[]);
    // The phone's own DNS address, the real resolver's (reached only
    // through the tun), and a web server's, where nothing listens on 53.
    for server in [
        lab::PHONE_DNS_V4,
        lab::PHONE_DNS_V6,
        lab::RESOLVER_V4,
        lab::RESOLVER_V6,
        WEB_V4,
        WEB_V6,
    ] {
        let blocked = dig(&lab, server, BLOCKED, "A", &["+tcp"]);
        assert_eq!(
            blocked.status, "NXDOMAIN",
            "{BLOCKED} over TCP via {server}"
        );
        assert!(
            blocked.answers.is_empty(),
            "via {server}: {:?}",
            blocked.answers
        );
        let allowed = dig(&lab, server, WEB, "A", &["+tcp"]);
        assert_eq!(allowed.status, "NOERROR", "{WEB} over TCP via {server}");
        assert_eq!(allowed.answers, [WEB_V4], "{WEB} over TCP via {server}");
        let allowed = dig(&lab, server, WEB, "AAAA", &["+tcp"]);
        assert_eq!(
            allowed.answers,
            [WEB_V6],
            "{WEB} AAAA over TCP via {server}"
        );
    }
    hush.stop();
}

fn gaps(db: &str, json: bool) -> String {
    let mut command = Command::new(HUSH);
    command.args(["gaps", "--db", db]);
    if json {
        command.arg("--json");
    }
    let output = command.output().expect("failed to run hush gaps");
    assert!(
        output.status.success(),
        "hush gaps: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn hush_gaps_shows_a_clean_stop_and_a_kill() {
    let _one = one_at_a_time();
    let lab = day_lab();
    let db = db_path(&lab, "hush.db");
    drop(hush_store::open(Path::new(&db)).unwrap());
    assert_eq!(gaps(&db, false).trim(), "no gaps recorded");
    let upstream = format!("{}:53", lab::RESOLVER_V4);

    Hush::start(&lab, &upstream, &["--db", &db]).stop();
    let text = gaps(&db, false);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(
        rows[0].contains("open") && rows[0].ends_with("stopped"),
        "{text}"
    );

    // Started again, killed, started again: the stop is closed, the kill
    // found at the next start.
    let hush = Hush::start(&lab, &upstream, &["--db", &db]);
    std::thread::sleep(Duration::from_millis(500));
    hush.kill();
    Hush::start(&lab, &upstream, &["--db", &db]).stop();
    let text = gaps(&db, false);
    println!("{text}");
    let json: Vec<serde_json::Value> = gaps(&db, true)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reasons: Vec<&str> = json.iter().map(|g| g["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["stopped", "killed", "stopped"], "{text}");
    assert_eq!(json[0]["open"], true, "{text}");
    assert!(
        json[1]["end_ms"].is_i64() && json[2]["end_ms"].is_i64(),
        "{text}"
    );
    // Newest first.
    let starts: Vec<i64> = json
        .iter()
        .map(|g| g["start_ms"].as_i64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{text}");
    assert!(text.contains("killed"), "{text}");
    let limited = gaps(&db, true);
    assert_eq!(limited.lines().count(), 3);
    let output = Command::new(HUSH)
        .args(["gaps", "--db", &db, "--limit", "1", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
}

/// Waits, bounded, until hush has printed `count` lines holding `text`.
fn wait_for_lines(hush: &mut Hush, text: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let printed = hush.printed();
        let found = printed.iter().filter(|l| l.contains(text)).count();
        if found >= count || Instant::now() > deadline {
            return printed;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_watcher_follows_the_out_interface_and_nothing_else() {
    let _one = one_at_a_time();
    require_root();
    let lab = Lab::create(&records()).expect("failed to build the lab");
    let mut hush = Hush::start(&lab, &format!("{}:53", lab::RESOLVER_V4), &[]);
    // Another interface's addresses and routes are not Hush's network.
    lab.phone_ip_batch(&[
        format!("addr add 198.18.0.7/24 dev {}", lab::TUN_NAME),
        "route add 198.18.9.0/24 dev lo table 200".to_string(),
    ])
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let printed = hush.printed();
    assert!(
        !printed.iter().any(|l| l.contains("network changed")),
        "{printed:#?}"
    );
    // The out-interface going down, then up again, is a change each time.
    let veth = &lab.phone_veth;
    lab.phone_ip_batch(&[format!("link set {veth} down")])
        .unwrap();
    let printed = wait_for_lines(&mut hush, "network changed", 1);
    assert_eq!(
        printed
            .iter()
            .filter(|l| l.contains("network changed"))
            .count(),
        1,
        "{printed:#?}"
    );
    // Up again, with the routes the kernel dropped put back (as a phone's
    // platform does when a network returns).
    lab.phone_ip_batch(&[
        format!("link set {veth} up"),
        format!(
            "route replace 198.19.0.0/24 dev {veth} table {}",
            lab::POLICY_TABLE
        ),
        format!(
            "route replace fd00:19::/64 dev {veth} table {}",
            lab::POLICY_TABLE
        ),
    ])
    .unwrap();
    let printed = wait_for_lines(&mut hush, "network changed", 2);
    assert!(
        printed
            .iter()
            .filter(|l| l.contains("network changed"))
            .count()
            >= 2,
        "{printed:#?}"
    );
    let answer = dig(&lab, lab::PHONE_DNS_V4, WEB, "A", &[]);
    assert_eq!(answer.answers, [WEB_V4], "no DNS after the link came back");
    let summary = hush.stop();
    assert!(
        support::counter(&summary, "network changes") >= 2,
        "{summary}"
    );
}
