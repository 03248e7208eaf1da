//! End to end: the real `hush` binary on a real tun in network namespaces,
//! real dnsmasq behind it, real dig in front of it.
//!
//! Needs root (namespaces, tun), `ip`, `dnsmasq`, `dig` and `python3`; the
//! test script installs them. Nothing leaves the namespaces: they use only
//! 198.18.0.0/15 and fd00::/8 and have no route to the host's network.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use hush_linux::lab::{self, Lab, Record};
use support::{counter, require_root, Hush, HUSH};

mod support;

fn records() -> Vec<Record> {
    [
        ("tracking.miui.com", 1),
        ("sa.api.intl.miui.com", 2),
        ("f-droid.org", 3),
        ("www.debian.org", 4),
    ]
    .iter()
    .map(|(name, n)| Record {
        name: (*name).into(),
        ipv4: format!("198.18.100.{n}"),
        ipv6: format!("fd00:18:100::{n}"),
    })
    .collect()
}

struct Dig {
    status: String,
    answers: Vec<String>,
    took: Duration,
}

fn dig(lab: &Lab, server: &str, name: &str, record_type: &str) -> Dig {
    let started = Instant::now();
    let output: Output = lab
        .in_phone("dig")
        .args(["+time=4", "+tries=1", "+noall", "+comments", "+answer"])
        .arg(format!("@{server}"))
        .args([name, record_type])
        .output()
        .expect("failed to run dig");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("NO ANSWER")
        .to_string();
    let answers = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
        .collect();
    Dig {
        status,
        answers,
        took: started.elapsed(),
    }
}

/// Sends junk from the phone: malformed DNS to port 53, and IP packets with
/// bad checksums, bad lengths and unknown protocols, through a raw socket.
fn inject_garbage(lab: &Lab) {
    let script = r#"
import socket, struct, random
random.seed(7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
junk = [b"", b"\x00", b"\x12\x34\x01", bytes(random.getrandbits(8) for _ in range(300)),
        # a query whose name is a compression pointer to itself
        b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
        # a label longer than the packet
        b"\xab\xce\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x3f\x61\x61"]
for j in junk:
    s.sendto(j, ("198.18.0.53", 53))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for j in junk:
    s6.sendto(j, ("fd00:18::53", 53))
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def ip(proto, payload):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       socket.inet_aton("198.18.0.1"), socket.inet_aton("198.18.0.53")) + payload
udp_bad_sum = struct.pack("!HHHH", 40000, 53, 8 + 5, 0xbeef) + b"hello"
udp_bad_len = struct.pack("!HHHH", 40000, 53, 900, 0) + b"short"
for packet in [ip(17, udp_bad_sum), ip(17, udp_bad_len), ip(253, b"\x00" * 40), ip(6, b"\x01\x02")]:
    raw.sendto(packet, ("198.18.0.53", 0))
"#;
    let status = lab
        .in_phone("python3")
        .args(["-c", script])
        .status()
        .expect("failed to run python3");
    assert!(status.success(), "the garbage injector failed");
}

#[test]
fn blocks_trackers_resolves_the_rest_and_survives_garbage() {
    require_root();
    let lab = Lab::create(&records()).expect("failed to build the lab");
    let db = std::env::temp_dir().join(format!("hush-e2e-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let hush = Hush::start(
        &lab,
        &format!("{}:53", lab::RESOLVER_V4),
        &[&format!("--db={}", db.display())],
    );

    for server in [lab::PHONE_DNS_V4, lab::PHONE_DNS_V6] {
        for record_type in ["A", "AAAA", "HTTPS"] {
            for blocked in ["tracking.miui.com", "sa.api.intl.miui.com"] {
                let got = dig(&lab, server, blocked, record_type);
                assert_eq!(
                    got.status, "NXDOMAIN",
                    "{blocked} {record_type} via {server}"
                );
                assert!(got.answers.is_empty());
            }
            let got = dig(&lab, server, "f-droid.org", record_type);
            assert_eq!(
                got.status, "NOERROR",
                "f-droid.org {record_type} via {server}"
            );
            let expected = match record_type {
                "A" => "198.18.100.3",
                "AAAA" => "fd00:18:100::3",
                _ => "1 . alpn=\"h2\"",
            };
            assert_eq!(
                got.answers,
                [expected],
                "f-droid.org {record_type} via {server}"
            );
        }
    }
    // A subdomain of a listed name is blocked; any resolver address is intercepted.
    assert_eq!(
        dig(&lab, "198.18.77.77", "cdn.tracking.miui.com", "A").status,
        "NXDOMAIN"
    );
    let other = dig(&lab, "198.18.77.77", "www.debian.org", "A");
    assert_eq!(
        (other.status.as_str(), other.answers.as_slice()),
        ("NOERROR", &["198.18.100.4".to_string()][..])
    );

    inject_garbage(&lab);
    let after = dig(&lab, lab::PHONE_DNS_V4, "www.debian.org", "AAAA");
    assert_eq!(after.status, "NOERROR");
    assert_eq!(after.answers, ["fd00:18:100::4"]);
    assert_eq!(
        dig(&lab, lab::PHONE_DNS_V6, "tracking.miui.com", "A").status,
        "NXDOMAIN"
    );

    let summary = hush.stop();
    assert_eq!(counter(&summary, "blocked in-engine"), 14, "{summary}");
    assert_eq!(counter(&summary, "answers relayed"), 8, "{summary}");
    assert!(
        counter(&summary, "dropped: malformed DNS") >= 10,
        "{summary}"
    );
    assert!(counter(&summary, "dropped: malformed IP") >= 2, "{summary}");
    assert_eq!(counter(&summary, "SERVFAIL (timeout)"), 0, "{summary}");

    let connection = hush_store::open(&db).expect("failed to open the activity log");
    let events = hush_store::events(&connection).unwrap();
    let blocked: Vec<_> = events.iter().filter(|e| e.action == "blocked").collect();
    // A blocked name asked again at once is one row with a count (a retry
    // storm is one row): every attempt is in the counts.
    assert_eq!(blocked.iter().map(|e| e.repeats).sum::<u64>(), 14);
    assert!(blocked.iter().all(|e| e.reason == "list:hush-default"));
    assert!(events
        .iter()
        .any(|e| e.host == "f-droid.org" && e.action == "allowed" && e.reason == "unlisted"));
    let _ = std::fs::remove_file(&db);
}

#[test]
fn an_unreachable_upstream_gets_servfail_promptly() {
    require_root();
    let lab = Lab::create(&records()).expect("failed to build the lab");
    // Nothing listens there: the resolver namespace has no such address.
    let hush = Hush::start(&lab, "198.19.0.99:53", &["--no-default-list"]);
    let got = dig(&lab, lab::PHONE_DNS_V4, "f-droid.org", "A");
    assert_eq!(got.status, "SERVFAIL");
    assert!(got.took < Duration::from_secs(3), "took {:?}", got.took);
    let summary = hush.stop();
    assert_eq!(counter(&summary, "SERVFAIL (timeout)"), 1, "{summary}");
}

#[test]
fn user_lists_and_allowlists_apply() {
    require_root();
    let lab = Lab::create(&records()).expect("failed to build the lab");
    let dir = std::env::temp_dir().join(format!("hush-e2e-lists-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let block = dir.join("block.txt");
    let allow = dir.join("allow.txt");
    std::fs::write(&block, "# mine\n||debian.org^\n").unwrap();
    std::fs::write(&allow, "tracking.miui.com\n").unwrap();
    let hush = Hush::start(
        &lab,
        &format!("[{}]:53", lab::RESOLVER_V6),
        &[
            &format!("--list={}", block.display()),
            &format!("--allow={}", allow.display()),
            "--block-mode=unspecified",
        ],
    );
    let got = dig(&lab, lab::PHONE_DNS_V4, "www.debian.org", "A");
    assert_eq!(
        (got.status.as_str(), got.answers.as_slice()),
        ("NOERROR", &["0.0.0.0".to_string()][..])
    );
    let got = dig(&lab, lab::PHONE_DNS_V4, "www.debian.org", "AAAA");
    assert_eq!(got.answers, ["::"]);
    // The allowlist overrides the built-in list; the upstream is reached over IPv6.
    let got = dig(&lab, lab::PHONE_DNS_V4, "tracking.miui.com", "A");
    assert_eq!(got.answers, ["198.18.100.1"]);
    let got = dig(&lab, lab::PHONE_DNS_V4, "sa.api.intl.miui.com", "A");
    assert_eq!(got.answers, ["0.0.0.0"]);
    hush.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_invocations_fail_with_clear_messages() {
    require_root();
    let run = |args: &[&str]| Command::new(HUSH).args(args).output().unwrap();
    let missing = run(&[
        "run",
        "--tun",
        "hush-nosuch",
        "--upstream",
        "198.19.0.2:53",
        "--out-iface",
        "lo",
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    let unknown = run(&["run", "--bogus"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--bogus"));
    let bad_fd = run(&[
        "run",
        "--tun-fd",
        "999",
        "--upstream",
        "198.19.0.2:53",
        "--out-iface",
        "lo",
    ]);
    assert!(String::from_utf8_lossy(&bad_fd.stderr).contains("not open"));
    let no_list = run(&["lists", "check", "/nonexistent/list.txt"]);
    assert!(!no_list.status.success());
    assert!(String::from_utf8_lossy(&no_list.stderr).contains("failed to read"));
}
