//! End to end: allowed lookups leave encrypted. The real `hush` on a real
//! tun, with unbound in the server namespace serving DNS over TLS (port
//! 853) and DNS over HTTPS (HTTP/2, port 8443) under a lab CA, forwarding
//! to dnsmasq. A capture on the server's link shows that no lookup crosses
//! it in clear text, over UDP or over TCP (`dig +tcp`, as a resolver
//! retries a truncated answer); a resolver whose certificate is not trusted
//! gets SERVFAIL, never a fallback to clear text.
//!
//! Needs root, `ip`, `dnsmasq`, `dig`, `unbound`, `openssl` and `tcpdump`;
//! the test script installs them. Nothing leaves the namespaces.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hush_linux::lab::{self, Lab, Record};
use support::{counter, require_root, Capture, Hush};

mod support;

const NAME: &str = "site.lab.test";
const NAME_V4: &str = "198.19.0.20";
const RESOLVER_NAME: &str = "resolver.lab.test";

fn records() -> Vec<Record> {
    vec![Record {
        name: NAME.into(),
        ipv4: NAME_V4.into(),
        ipv6: "fd00:19::20".into(),
    }]
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("failed to run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA (`{prefix}ca.pem`) and, signed by it, the resolver's certificate
/// and key (`{prefix}server.pem`, `{prefix}server.key`).
fn certificates(dir: &Path, prefix: &str) -> PathBuf {
    let file = |name: &str| format!("{prefix}{name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &file("ca.key"),
            "-out",
            &file("ca.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=Hush lab CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &file("server.key"),
            "-out",
            &file("server.csr"),
            "-subj",
            &format!("/CN={RESOLVER_NAME}"),
        ],
    );
    let extensions = dir.join(file("server.ext"));
    std::fs::write(
        &extensions,
        format!(
            "subjectAltName=DNS:{RESOLVER_NAME}\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &file("server.csr"),
            "-CA",
            &file("ca.pem"),
            "-CAkey",
            &file("ca.key"),
            "-CAcreateserial",
            "-out",
            &file("server.pem"),
            "-days",
            "2",
            "-extfile",
            &extensions.to_string_lossy(),
        ],
    );
    dir.join(file("ca.pem"))
}

/// unbound on the resolver's address: DoT on 853, DoH on 8443, both
/// forwarding to the lab's dnsmasq.
fn start_unbound(lab: &mut Lab) {
    let dir = lab.workdir().to_path_buf();
    let config = dir.join("unbound.conf");
    let at = |name: &str| dir.join(name).to_string_lossy().into_owned();
    std::fs::write(
        &config,
        format!(
            "server:
  interface: {r}@853
  interface: {r}@8443
  tls-port: 853
  https-port: 8443
  tls-service-key: \"{key}\"
  tls-service-pem: \"{pem}\"
  access-control: 0.0.0.0/0 allow
  username: \"\"
  chroot: \"\"
  directory: \"{dir}\"
  pidfile: \"\"
  use-syslog: no
  logfile: \"{log}\"
  do-ip6: no
  do-not-query-localhost: no
  module-config: \"iterator\"
  cache-max-ttl: 0
  local-zone: \"test.\" nodefault
forward-zone:
  name: \".\"
  forward-addr: {r}@53
",
            r = lab::RESOLVER_V4,
            key = at("server.key"),
            pem = at("server.pem"),
            dir = dir.display(),
            log = at("unbound.log"),
        ),
    )
    .unwrap();
    lab.spawn_server("unbound", &["-d", "-c", &config.to_string_lossy()])
        .expect("failed to start unbound");
    for port in [853, 8443] {
        lab.wait_for_server(lab::RESOLVER_V4, port)
            .unwrap_or_else(|e| {
                panic!(
                    "unbound is not serving on {port}: {e}; its log: {}",
                    std::fs::read_to_string(dir.join("unbound.log")).unwrap_or_default()
                )
            });
    }
}

/// A capture of DNS in clear text (port 53) on the server's link: what
/// crosses from the phone to the resolver's side.
fn capture_port_53(lab: &Lab, name: &str) -> Capture {
    Capture::start(lab, name, &lab.server_veth(), &[], &["port", "53"])
}

/// Stops `capture`; the packets it holds, one line each.
fn packets(capture: Capture) -> Vec<String> {
    capture.finish(&[]).lines().map(str::to_string).collect()
}

/// `dig` through Hush: the status and the answers, and how long it took.
fn dig(lab: &Lab, name: &str) -> (String, Vec<String>, Duration) {
    dig_with(lab, name, &[])
}

/// `dig` through Hush with more options (`+tcp`).
fn dig_with(lab: &Lab, name: &str, options: &[&str]) -> (String, Vec<String>, Duration) {
    let started = Instant::now();
    let output = lab
        .in_phone("dig")
        .args(["+time=5", "+tries=1", "+noall", "+comments", "+answer"])
        .args(options)
        .arg(format!("@{}", lab::PHONE_DNS_V4))
        .args([name, "A"])
        .output()
        .expect("failed to run dig");
    let took = started.elapsed();
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
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect();
    (status, answers, took)
}

/// The median time of `count` lookups of the lab's name (unbound keeps
/// nothing in its cache, so each one crosses to dnsmasq).
fn median_lookup(lab: &Lab, count: usize) -> Duration {
    let mut times: Vec<Duration> = (0..count)
        .map(|_| {
            let (status, _, took) = dig(lab, NAME);
            assert_eq!(status, "NOERROR");
            took
        })
        .collect();
    times.sort();
    times[count / 2]
}

#[test]
fn allowed_lookups_leave_encrypted_and_an_untrusted_resolver_gets_servfail() {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    let ca = certificates(lab.workdir(), "");
    let stranger = certificates(lab.workdir(), "other-");
    start_unbound(&mut lab);
    let (ca, stranger) = (ca.to_string_lossy(), stranger.to_string_lossy());
    let plain = format!("{}:53", lab::RESOLVER_V4);
    let dot = format!("tls://{RESOLVER_NAME}");
    let doh = format!("https://{RESOLVER_NAME}:8443/dns-query");
    let bootstrap = ["--upstream-address", lab::RESOLVER_V4];

    // The capture sees clear text when there is some: plain DNS, first.
    let capture = capture_port_53(&lab, "plain.pcap");
    let hush = Hush::start(&lab, &plain, &[]);
    let (status, answers, _) = dig(&lab, NAME);
    assert_eq!(
        (status.as_str(), answers),
        ("NOERROR", vec![NAME_V4.to_string()])
    );
    let plain_median = median_lookup(&lab, 40);
    hush.stop();
    let seen = packets(capture);
    assert!(!seen.is_empty(), "the capture saw no plain DNS at all");

    let mut medians = vec![("plain", plain_median)];
    for (kind, upstream) in [("DoT", &dot), ("DoH", &doh)] {
        let capture = capture_port_53(&lab, &format!("{kind}.pcap"));
        let mut args = bootstrap.to_vec();
        args.extend(["--upstream-ca", &ca]);
        let hush = Hush::start(&lab, upstream, &args);
        let (status, answers, _) = dig(&lab, NAME);
        assert_eq!(
            (status.as_str(), answers),
            ("NOERROR", vec![NAME_V4.to_string()]),
            "{kind}"
        );
        medians.push((kind, median_lookup(&lab, 40)));
        // Over TCP too: carried by the same encrypted connection.
        for _ in 0..3 {
            let (status, answers, _) = dig_with(&lab, NAME, &["+tcp"]);
            assert_eq!(
                (status.as_str(), answers),
                ("NOERROR", vec![NAME_V4.to_string()]),
                "{kind} over TCP"
            );
        }
        let summary = hush.stop();
        assert_eq!(
            counter(&summary, "DNS over TCP via the encrypted upstream"),
            3,
            "{kind}"
        );
        let seen = packets(capture);
        assert!(
            seen.is_empty(),
            "{kind}: DNS in clear text crossed the link: {seen:#?}"
        );
    }
    eprintln!("median lookup through Hush (40 each): {medians:?}");

    // A resolver whose certificate no trusted CA signed: SERVFAIL, soon,
    // and still nothing in clear text.
    let capture = capture_port_53(&lab, "stranger.pcap");
    let mut args = bootstrap.to_vec();
    args.extend(["--upstream-ca", &stranger]);
    let hush = Hush::start(&lab, &dot, &args);
    let (status, _, took) = dig(&lab, NAME);
    assert_eq!(status, "SERVFAIL");
    assert!(took < Duration::from_secs(4), "{took:?}");
    hush.stop();
    let seen = packets(capture);
    assert!(
        seen.is_empty(),
        "clear text after a failed handshake: {seen:#?}"
    );
}
