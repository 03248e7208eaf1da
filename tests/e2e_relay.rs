//! End to end: all of the phone's traffic through the real `hush` binary on a
//! real tun, to real servers (nginx, and the Python servers in
//! `tests/support/labnet.py`) in the server namespace, from real clients
//! (curl, openssl s_client, ping, Python sockets).
//!
//! Needs root and `ip`, `dnsmasq`, `dig`, `curl`, `openssl`, `nginx`, `ping`
//! and `python3`; the test script installs them. Nothing leaves the
//! namespaces: they use only 198.18.0.0/15 and fd00::/8 and have no route to
//! the host's network. Every client has a time limit.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use hush_linux::lab::{self, Lab, Record};
use hush_packet::{parse, Checksums, Transport};
use support::{counter, require_root, Hush};

mod support;

/// A server address with no name, for the Python servers.
const SERVERS_V4: &str = "198.19.0.20";
const SERVERS_V6: &str = "fd00:19::20";
/// Ports of the Python servers.
const RECORD: &str = "5001";
/// The same, but closing after 1 s of silence, for clients that wait for
/// an answer that never comes (openssl s_client).
const RECORD_BRIEF: &str = "5003";
const RESET: &str = "5002";
const UDP_ECHO: &str = "7000";

fn records() -> Vec<Record> {
    [
        ("www.debian.org", 10),
        ("f-droid.org", 11),
        ("tracking.miui.com", 12),
        ("servers.lab.test", 20),
        // Its replies are dropped in the server namespace: it never answers.
        ("silent.lab.test", 98),
    ]
    .iter()
    .map(|(name, n)| Record {
        name: (*name).into(),
        ipv4: format!("198.19.0.{n}"),
        ipv6: format!("fd00:19::{n}"),
    })
    .collect()
}

fn labnet() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/support/labnet.py")
        .to_string_lossy()
        .into_owned()
}

/// A lab with nginx and the Python servers running, and hush started on it.
fn lab_with_servers(extra: &[&str]) -> (Lab, Hush) {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    let script = labnet();
    let log = |name: &str| lab.workdir().join(name).to_string_lossy().into_owned();
    let (record_v4, record_v6, udp_log) =
        (log("record-v4.log"), log("record-v6.log"), log("udp.log"));
    let (brief_v4, brief_v6) = (log("brief-v4.log"), log("brief-v6.log"));
    for (args, port_to_wait) in [
        (
            vec!["record", SERVERS_V4, RECORD, &record_v4, "10"],
            Some(RECORD),
        ),
        (vec!["record", SERVERS_V6, RECORD, &record_v6, "10"], None),
        (
            vec!["record", SERVERS_V4, RECORD_BRIEF, &brief_v4, "1"],
            Some(RECORD_BRIEF),
        ),
        (
            vec!["record", SERVERS_V6, RECORD_BRIEF, &brief_v6, "1"],
            None,
        ),
        (vec!["reset", SERVERS_V4, RESET], Some(RESET)),
        (vec!["udp", SERVERS_V4, UDP_ECHO, &udp_log], None),
        (vec!["udp", SERVERS_V4, "443", &udp_log], None),
    ] {
        let mut full = vec![script.as_str()];
        full.extend(args);
        lab.spawn_server("python3", &full)
            .expect("failed to start a lab server");
        if let Some(port) = port_to_wait {
            lab.wait_for_server(SERVERS_V4, port.parse().unwrap())
                .expect("lab server did not start");
        }
    }
    for port in [RECORD, RECORD_BRIEF] {
        lab.wait_for_server(SERVERS_V6, port.parse().unwrap())
            .expect("lab server did not start");
    }
    // The UDP servers say they are bound with a file (see labnet.py).
    for port in [UDP_ECHO, "443"] {
        let ready = PathBuf::from(format!("{udp_log}.{port}.ready"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            assert!(
                Instant::now() < deadline,
                "the UDP server on {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let hush = Hush::start(&lab, &format!("{}:53", lab::RESOLVER_V4), extra);
    (lab, hush)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run_in_phone(lab: &Lab, program: &str, args: &[&str]) -> Run {
    let started = Instant::now();
    let output: Output = lab
        .in_phone("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {program}: {e}"));
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn curl(lab: &Lab, args: &[&str]) -> Run {
    let mut full = vec!["-sS", "-k", "-g", "--max-time", "10"];
    full.extend_from_slice(args);
    run_in_phone(lab, "curl", &full)
}

fn labnet_client(lab: &Lab, args: &[&str]) -> Run {
    let script = labnet();
    let mut full = vec![script.as_str()];
    full.extend_from_slice(args);
    run_in_phone(lab, "python3", &full)
}

/// Waits, bounded, until `path` has at least `lines` lines; returns them.
/// Fetches `url` through Hush and checks it is the lab's page.
fn assert_page(lab: &Lab, url: &str) {
    let got = curl(lab, &[url]);
    assert_eq!(
        (got.code, got.stdout.as_str()),
        (Some(0), "hush lab\n"),
        "{url}: {}",
        got.stderr
    );
}

/// Runs a labnet client that says "ok" when all went as it should.
fn assert_labnet_ok(lab: &Lab, args: &[&str]) {
    let got = labnet_client(lab, args);
    assert_eq!(
        (got.code, got.stdout.trim()),
        (Some(0), "ok"),
        "{args:?}: {}",
        got.stderr
    );
}

/// Lets the phone's namespace open unprivileged ICMP sockets (`range` of
/// `net.ipv4.ping_group_range`), as Android lets apps.
fn set_ping_groups(lab: &Lab, range: &str) {
    let setting = format!("net.ipv4.ping_group_range={range}");
    let got = run_in_phone(lab, "sysctl", &["-w", &setting]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
}

/// Two pings to each target through Hush, all answered.
fn assert_pings(lab: &Lab, targets: &[&str]) {
    for target in targets {
        let got = run_in_phone(lab, "ping", &["-c", "2", "-i", "0.2", "-W", "2", target]);
        assert_eq!(got.code, Some(0), "{target}: {}{}", got.stdout, got.stderr);
    }
}

fn lines_of(path: &Path, lines: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found: Vec<String> = text.lines().map(str::to_string).collect();
        if found.len() >= lines || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_fails_fast(run: &Run, what: &str) {
    assert_ne!(run.code, Some(0), "{what} should fail: {}", run.stdout);
    assert!(
        run.took < Duration::from_secs(2),
        "{what} took {:?}: {}",
        run.took,
        run.stderr
    );
}

#[test]
fn tls_and_http_names_are_blocked_and_the_rest_flows() {
    let (lab, hush) = lab_with_servers(&[]);
    // Allowed, by name (DNS through Hush) and by address, both IP versions.
    for url in [
        "https://www.debian.org/",
        "http://f-droid.org/",
        "https://[fd00:19::10]/",
        "http://198.19.0.11/",
    ] {
        assert_page(&lab, url);
    }
    // The app resolved the tracker itself (say over HTTP DNS) and connects to
    // a shared address: only the SNI or the Host header names it.
    for address in ["198.19.0.10", "[fd00:19::10]"] {
        let resolve = format!("sa.api.intl.miui.com:443:{address}");
        let got = curl(
            &lab,
            &["--resolve", &resolve, "https://sa.api.intl.miui.com/"],
        );
        assert_fails_fast(&got, "TLS to a blocked SNI");
        assert!(got.stderr.contains("reset"), "{}", got.stderr);
        let url = format!("http://{address}/collect");
        let got = curl(&lab, &["-H", "Host: tracking.miui.com", &url]);
        assert_fails_fast(&got, "HTTP with a blocked Host");
        assert!(got.stderr.contains("reset"), "{}", got.stderr);
    }
    let summary = hush.stop();
    assert_eq!(counter(&summary, "blocked by SNI/Host"), 4, "{summary}");
    // nginx served the allowed requests and never saw a blocked one.
    let log = std::fs::read_to_string(lab.web_log()).unwrap();
    assert_eq!(log.lines().count(), 4, "{log}");
    assert!(!log.contains("miui"), "{log}");
    assert!(log.contains("www.debian.org 200"), "{log}");
}

#[test]
fn a_blocked_tls_name_reaches_the_server_with_zero_bytes() {
    let (lab, hush) = lab_with_servers(&[]);
    for (address, log) in [(SERVERS_V4, "brief-v4.log"), (SERVERS_V6, "brief-v6.log")] {
        let connect = if address.contains(':') {
            format!("[{address}]:{RECORD_BRIEF}")
        } else {
            format!("{address}:{RECORD_BRIEF}")
        };
        // The start-up probe connected once, with no bytes.
        let log = lab.workdir().join(log);
        let before = lines_of(&log, 0).len();
        for name in ["sa.api.intl.miui.com", "www.debian.org"] {
            let got = run_in_phone(
                &lab,
                "openssl",
                &["s_client", "-connect", &connect, "-servername", name],
            );
            // The recorder answers no TLS, so both fail; only how differs.
            assert_ne!(got.code, Some(0));
        }
        let counts = lines_of(&log, before + 2).split_off(before);
        assert_eq!(counts.len(), 2, "{address}: {counts:?}");
        assert_eq!(
            counts[0], "0",
            "{address}: the blocked ClientHello was sent on"
        );
        let allowed: usize = counts[1].parse().unwrap();
        assert!(
            allowed > 200,
            "{address}: the allowed ClientHello was {allowed} bytes"
        );
    }
    let summary = hush.stop();
    assert_eq!(counter(&summary, "blocked by SNI/Host"), 2, "{summary}");
}

#[test]
fn large_transfers_keep_their_sha256() {
    let (lab, hush) = lab_with_servers(&[]);
    let expected = random_web_file(&lab, "big.bin", "200M");
    let out = lab.workdir().join("download.bin");
    let got = curl(
        &lab,
        &[
            "-o",
            &out.to_string_lossy(),
            "http://www.debian.org/big.bin",
        ],
    );
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(sha256_of(&out), expected, "download changed on the way");
    assert_labnet_ok(&lab, &["upload", SERVERS_V4, RECORD, "200"]);
    assert_labnet_ok(&lab, &["upload", SERVERS_V6, RECORD, "20"]);
    let summary = hush.stop();
    assert!(counter(&summary, "bytes down") >= 200 << 20, "{summary}");
    assert!(counter(&summary, "bytes up") >= 220 << 20, "{summary}");
}

/// Puts `size` (as `head -c` takes it) random bytes in nginx's root as
/// `name`; returns their SHA-256.
fn random_web_file(lab: &Lab, name: &str, size: &str) -> String {
    let path = lab.web_root().join(name);
    let status = std::process::Command::new("head")
        .args(["-c", size, "/dev/urandom"])
        .stdout(std::fs::File::create(&path).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    sha256_of(&path)
}

/// Bytes and packets the kernel has taken from Hush through the tun.
fn tun_taken(lab: &Lab) -> (u64, u64) {
    let read = |counter: &str| -> u64 {
        let path = format!("/sys/class/net/{}/statistics/{counter}", lab::TUN_NAME);
        let output = lab.in_phone("cat").arg(&path).output().unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no {path}"))
    };
    (read("rx_bytes"), read("rx_packets"))
}

/// Issue 15, item 6: at MTU 1500, a download reaches the app in segments
/// of up to 64 KB once the kernel has answered Hush's probe, intact, over
/// IPv4 and IPv6. A kernel that does not answer (echo ignored here) gets
/// segments within the MTU, and the download is as intact.
#[test]
fn downloads_reach_the_app_in_segments_beyond_the_mtu_once_the_kernel_takes_them() {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    let status = lab
        .in_phone("ip")
        .args(["link", "set", lab::TUN_NAME, "mtu", "1500"])
        .status()
        .unwrap();
    assert!(status.success());
    let expected = random_web_file(&lab, "big.bin", "24M");
    let out = lab.workdir().join("download.bin");
    for echo_answered in [true, false] {
        let ignore = if echo_answered { "0" } else { "1" };
        for key in [
            "net.ipv4.icmp_echo_ignore_all",
            "net.ipv6.icmp.echo_ignore_all",
        ] {
            let status = lab
                .in_phone("sysctl")
                .args(["-qw", &format!("{key}={ignore}")])
                .status()
                .unwrap();
            assert!(status.success(), "{key}");
        }
        let mut hush = Hush::start(&lab, &format!("{}:53", lab::RESOLVER_V4), &[]);
        for family in ["-4", "-6"] {
            // The first connection of each IP version brings the probe.
            let got = curl(&lab, &[family, "-o", "/dev/null", "http://www.debian.org/"]);
            assert_eq!(got.code, Some(0), "{family}: {}", got.stderr);
            let (bytes_before, packets_before) = tun_taken(&lab);
            let got = curl(
                &lab,
                &[
                    family,
                    "-o",
                    &out.to_string_lossy(),
                    "http://www.debian.org/big.bin",
                ],
            );
            assert_eq!(got.code, Some(0), "{family}: {}", got.stderr);
            assert_eq!(sha256_of(&out), expected, "{family}: changed on the way");
            let (bytes_after, packets_after) = tun_taken(&lab);
            let average = (bytes_after - bytes_before) / (packets_after - packets_before);
            // Each data segment is followed by few others (the handshake,
            // window updates), so the average shows the segments' size.
            if echo_answered {
                assert!(average > 8 * 1500, "{family}: {average} bytes a packet");
            } else {
                assert!(average <= 1500, "{family}: {average} bytes a packet");
            }
        }
        let said = hush.printed().join("\n");
        for version in ["IPv4", "IPv6"] {
            let line = format!("segments to the apps over {version}: up to");
            assert_eq!(said.contains(&line), echo_answered, "{said}");
        }
        hush.stop();
    }
}

fn sha256_of(path: &PathBuf) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn parallel_connections_half_close_resets_and_dead_ends() {
    let (lab, hush) = lab_with_servers(&[]);
    // 200 at once, each half-closing and reading the server's digest after.
    let got = labnet_client(&lab, &["parallel", SERVERS_V4, RECORD, "200"]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert!(got.stdout.starts_with("ok"), "{}", got.stdout);
    // A server that resets mid-stream: the app sees the reset, promptly.
    let got = labnet_client(&lab, &["expect-reset", SERVERS_V4, RESET]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert!(got.stdout.starts_with("reset after"), "{}", got.stdout);
    // A closed port is refused at once.
    let got = curl(&lab, &["http://198.19.0.10:81/"]);
    assert_eq!(got.code, Some(7), "{}", got.stderr);
    assert!(got.took < Duration::from_secs(1), "took {:?}", got.took);
    // An address no host answers: unreachable, not a hang.
    let got = curl(&lab, &["http://198.19.0.99/"]);
    assert_eq!(got.code, Some(7), "{}", got.stderr);
    assert!(got.took < Duration::from_secs(6), "took {:?}", got.took);
    // A server whose answers never come: the app is told at the connect
    // timeout (10 s), not left to its own (minutes).
    let status = lab
        .in_server("ip")
        .args(["rule", "add", "from", "198.19.0.98", "blackhole"])
        .status()
        .unwrap();
    assert!(status.success());
    let got = curl(&lab, &["--max-time", "30", "http://198.19.0.98/"]);
    assert_eq!(got.code, Some(7), "{}", got.stderr);
    assert!(
        got.took > Duration::from_secs(9) && got.took < Duration::from_secs(13),
        "took {:?}",
        got.took
    );
    let summary = hush.stop();
    assert!(counter(&summary, "TCP connections") >= 204, "{summary}");
    assert_eq!(counter(&summary, "refused by server"), 1, "{summary}");
    assert_eq!(counter(&summary, "server unreachable"), 2, "{summary}");
    assert_eq!(counter(&summary, "connect timeouts"), 1, "{summary}");
}

/// The client's datagrams to port 443 in a capture, as labnet's replay file.
fn quic_replay_file(capture: &str, dir: &Path) -> PathBuf {
    let mut out = Vec::new();
    for frame in hush_testdata::read_capture(capture) {
        let Some(ip) = frame.ip else { continue };
        let Ok(packet) = parse(&ip, Checksums::Ignore) else {
            continue;
        };
        if let Transport::Udp(datagram) = packet.transport {
            if datagram.dst_port == 443 {
                out.extend_from_slice(&(datagram.payload.len() as u16).to_be_bytes());
                out.extend_from_slice(datagram.payload);
            }
        }
    }
    assert!(!out.is_empty(), "{capture}: no client datagrams");
    let path = dir.join(capture.replace('/', "_"));
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn udp_flows_and_quic_blocked_by_sni() {
    require_root();
    let list = std::env::temp_dir().join(format!("hush-e2e-quic-{}.txt", std::process::id()));
    std::fs::write(&list, "doubleclick.net\n").unwrap();
    let (lab, hush) = lab_with_servers(&[&format!("--list={}", list.display())]);
    assert_labnet_ok(&lab, &["udp-echo", SERVERS_V4, UDP_ECHO, "20"]);
    let udp_log = lab.workdir().join("udp.log");
    assert_eq!(lines_of(&udp_log, 20).len(), 20);

    // Chrome's Initials for googleads.g.doubleclick.net, spread over several
    // packets: held, named, refused; not one reaches the server.
    let blocked = quic_replay_file(
        "derived/rawip__quic_quic-multiple-initial-fragmented-crypto.pcap",
        lab.workdir(),
    );
    let got = labnet_client(
        &lab,
        &["udp-replay", SERVERS_V4, "443", &blocked.to_string_lossy()],
    );
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert!(!got.stdout.contains("refused 0"), "{}", got.stdout);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        lines_of(&udp_log, 21).len(),
        20,
        "a blocked Initial reached the server"
    );

    // An unlisted name on the same port goes through.
    let allowed = quic_replay_file(
        "derived/rawip__quic_chromium-115.0.5790.110-api-cirrus-com.pcap",
        lab.workdir(),
    );
    let got = labnet_client(
        &lab,
        &["udp-replay", SERVERS_V4, "443", &allowed.to_string_lossy()],
    );
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert!(
        lines_of(&udp_log, 21).len() > 20,
        "the allowed Initial was lost"
    );
    let summary = hush.stop();
    assert_eq!(counter(&summary, "QUIC blocked by SNI"), 1, "{summary}");
    // The capture's later packets (Handshake, 1-RTT) stay refused.
    assert!(
        counter(&summary, "refused (blocked flow)") >= 9,
        "{summary}"
    );
    let _ = std::fs::remove_file(&list);
}

#[test]
fn ping_is_relayed_where_allowed_and_refused_fast_otherwise() {
    let (lab, hush) = lab_with_servers(&[]);
    set_ping_groups(&lab, "0 0");
    assert_pings(&lab, &["198.19.0.10", "fd00:19::10"]);
    // Unprivileged ICMP sockets refused: the ping gets an unreachable back.
    set_ping_groups(&lab, "1 0");
    let got = run_in_phone(&lab, "ping", &["-c", "1", "-W", "3", "198.19.0.10"]);
    assert_eq!(got.code, Some(1), "{}", got.stdout);
    assert!(got.stdout.contains("Unreachable"), "{}", got.stdout);
    assert!(got.took < Duration::from_secs(2), "took {:?}", got.took);
    let summary = hush.stop();
    assert!(counter(&summary, "ICMP echo replies") >= 4, "{summary}");
}

/// Android's path when Hush is not left out of its VPN: the protector may
/// block, so every flow's socket is opened off the packet task. Each kind
/// of flow still goes through (`hush run --protect-off-task`).
#[test]
fn with_sockets_protected_off_the_packet_task_every_kind_of_flow_goes_through() {
    let (lab, hush) = lab_with_servers(&["--protect-off-task"]);
    for url in ["https://www.debian.org/", "http://[fd00:19::11]/"] {
        assert_page(&lab, url);
    }
    assert_labnet_ok(&lab, &["udp-echo", SERVERS_V4, UDP_ECHO, "20"]);
    set_ping_groups(&lab, "0 0");
    assert_pings(&lab, &["198.19.0.10", "fd00:19::10"]);
    // DNS over TCP, sent to the resolver through the tun.
    let resolver = format!("@{}", lab::RESOLVER_V4);
    let got = run_in_phone(
        &lab,
        "dig",
        &[
            "+tcp",
            "+short",
            "+time=2",
            "+tries=1",
            &resolver,
            "f-droid.org",
            "A",
        ],
    );
    assert_eq!(
        (got.code, got.stdout.trim()),
        (Some(0), "198.19.0.11"),
        "{}",
        got.stderr
    );
    let summary = hush.stop();
    // Two TCP flows, a UDP flow, two echo flows and the DNS flow's
    // connection to the resolver, at the least.
    assert!(counter(&summary, "protected off task") >= 6, "{summary}");
    assert!(counter(&summary, "ICMP echo replies") >= 4, "{summary}");
}

#[test]
fn the_demo_shows_dns_sni_and_host_blocks() {
    require_root();
    let output = std::process::Command::new(support::HUSH)
        .arg("demo")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("failed to run hush demo");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line for {start}:\n{text}"))
            .to_string()
    };
    assert!(
        line("https://www.debian.org/").contains("HTTP 200"),
        "{text}"
    );
    assert!(
        line("https://tracking.miui.com/").contains("name not found"),
        "{text}"
    );
    let sni = line("https://sa.api.intl.miui.com/");
    assert!(
        sni.contains("reset after") && sni.contains("(tls sni)"),
        "{sni}"
    );
    let host = line("http://198.19.0.10/collect");
    assert!(
        host.contains("reset after") && host.contains("(http host)"),
        "{host}"
    );
}

#[test]
fn addresses_and_ranges_are_refused_at_the_syn() {
    require_root();
    let dir = std::env::temp_dir().join(format!("hush-e2e-addr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (block, allow) = (dir.join("block.txt"), dir.join("allow.txt"));
    std::fs::write(
        &block,
        "# lab trackers\n198.19.0.10/31\nfd00:19::10 # one host\n",
    )
    .unwrap();
    std::fs::write(&allow, "198.19.0.11\n").unwrap();
    let db = dir.join("activity.db");
    let (lab, hush) = lab_with_servers(&[
        &format!("--block-addresses={}", block.display()),
        &format!("--allow-addresses={}", allow.display()),
        &format!("--db={}", db.display()),
    ]);
    // By address, and by a name whose addresses are listed.
    for url in [
        "http://198.19.0.10/",
        "http://[fd00:19::10]/",
        "http://www.debian.org/",
    ] {
        let got = curl(&lab, &[url]);
        assert_eq!(got.code, Some(7), "{url}: {}", got.stderr);
        assert!(
            got.took < Duration::from_secs(1),
            "{url} took {:?}",
            got.took
        );
    }
    // The allowlist wins inside the blocked range; other addresses flow.
    for url in [
        "http://198.19.0.11/",
        "http://198.19.0.12/",
        "http://[fd00:19::11]/",
    ] {
        assert_page(&lab, url);
    }
    let summary = hush.stop();
    // www.debian.org is tried over IPv6 and then IPv4: two SYNs.
    assert_eq!(counter(&summary, "blocked at SYN"), 4, "{summary}");
    let log = std::fs::read_to_string(lab.web_log()).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(
        !log.contains("198.19.0.10") && !log.contains("debian"),
        "{log}"
    );
    // Each refusal is logged with the list that made it.
    let connection = hush_store::open(&db).unwrap();
    let events = hush_store::events(&connection).unwrap();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e.protocol == "tcp" && e.action == "blocked")
        .collect();
    // Repeats of one refusal may share a row with a count.
    assert_eq!(
        refused.iter().map(|e| e.repeats).sum::<u64>(),
        4,
        "{events:#?}"
    );
    assert!(refused
        .iter()
        .all(|e| e.reason == "addr-list:block.txt" && e.detail == "address"));
    assert!(refused.iter().any(|e| e.host == "www.debian.org"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_apps_limits_set_on_the_command_line_refuse_its_excess_flows() {
    let (lab, hush) = lab_with_servers(&["--app-tcp-flows", "8", "--app-connects", "4"]);
    // 40 at once from one app (root, one owner): past its 4 connects under
    // way and 8 open flows, the rest are reset, and it hears so.
    let got = labnet_client(&lab, &["parallel", SERVERS_V4, RECORD, "40"]);
    assert_ne!(got.code, Some(0), "all 40 got through: {}", got.stdout);
    assert!(got.stderr.contains("of 40 failed"), "{}", got.stderr);
    // Under the limits, the same app still connects.
    let got = labnet_client(&lab, &["parallel", SERVERS_V4, RECORD, "2"]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    let summary = hush.stop();
    let refused = counter(&summary, "refused (app's limit)");
    assert!((1..=38).contains(&refused), "{summary}");
}
