//! End to end: the packet capture of one app (issue 16) by the real `hush`
//! on a real tun, read back with Debian's `tshark`.
//!
//! Two apps (two Linux users, as Android runs each app under its own uid)
//! look names up and open TLS connections; Hush captures one of them. The
//! capture must hold that app's DNS queries and ClientHellos with the names
//! they carried, the decisions in packet comments, and nothing of the other
//! app. A capture that fills its disk ends with a clear message and leaves
//! no unfinished file; a path that cannot be written stops Hush at start.
//!
//! Needs root and `ip`, `dnsmasq`, `dig`, `curl`, `nginx`, `setpriv`,
//! `tshark` and `mount` (tmpfs); the test script installs them. Nothing
//! leaves the namespaces, and every client has a time limit.

use std::path::Path;
use std::process::{Command, Output};

use hush_linux::lab::{self, Lab, Record};
use support::{require_root, Hush, HUSH};

mod support;

/// The captured app and another one, running at the same time.
const CAPTURED: u32 = 60_011;
const OTHER: u32 = 60_012;
const MINE: &str = "mine.lab.test";
const THEIRS: &str = "theirs.lab.test";
/// On Hush's built-in vendor telemetry list.
const TELEMETRY: &str = "tracking.miui.com";

fn records() -> Vec<Record> {
    [(MINE, 10), (THEIRS, 11), (TELEMETRY, 12)]
        .iter()
        .map(|(name, n)| Record {
            name: (*name).into(),
            ipv4: format!("198.19.0.{n}"),
            ipv6: format!("fd00:19::{n}"),
        })
        .collect()
}

fn run_as(lab: &Lab, uid: u32, program: &str, args: &[&str]) -> Output {
    let id = uid.to_string();
    lab.in_phone("setpriv")
        .args(["--reuid", &id, "--regid", &id, "--clear-groups", "--"])
        .args(["timeout", "30", program])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {program} as {uid}: {e}"))
}

fn dig_as(lab: &Lab, uid: u32, name: &str) -> String {
    let server = format!("@{}", lab::PHONE_DNS_V4);
    let output = run_as(
        lab,
        uid,
        "dig",
        &["+time=2", "+tries=1", &server, name, "A"],
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An HTTPS request by `uid` to `name` (nginx's certificate is the lab's
/// own: not checked).
fn https_as(lab: &Lab, uid: u32, name: &str, address: &str) -> Output {
    let resolve = format!("{name}:443:{address}");
    let url = format!("https://{name}/");
    run_as(
        lab,
        uid,
        "curl",
        &["-sSk", "--max-time", "20", "--resolve", &resolve, &url],
    )
}

/// `tshark -r FILE -T fields` with one column per field, tab-separated.
fn tshark_fields(file: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut command = Command::new("tshark");
    command.arg("-r").arg(file).args(["-T", "fields"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command.output().expect("failed to run tshark");
    assert!(
        output.status.success(),
        "tshark could not read {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect()
}

fn lab_with_web() -> Lab {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    lab
}

#[test]
fn the_capture_holds_the_apps_lookups_and_client_hellos_and_nothing_of_another_app() {
    let lab = lab_with_web();
    let file = lab.workdir().join("mine.pcapng");
    let file_arg = file.to_string_lossy().into_owned();
    let uid = CAPTURED.to_string();
    let hush = Hush::start(
        &lab,
        &format!("{}:53", lab::RESOLVER_V4),
        &["--capture-uid", &uid, "--capture", &file_arg],
    );
    // Both apps at work, interleaved.
    assert!(dig_as(&lab, CAPTURED, MINE).contains("198.19.0.10"));
    assert!(dig_as(&lab, OTHER, THEIRS).contains("198.19.0.11"));
    assert!(dig_as(&lab, CAPTURED, TELEMETRY).contains("NXDOMAIN"));
    for (uid, name, address) in [
        (CAPTURED, MINE, "198.19.0.10"),
        (OTHER, THEIRS, "198.19.0.11"),
    ] {
        let got = https_as(&lab, uid, name, address);
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            "hush lab\n",
            "{}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
    let summary = hush.stop();
    assert!(
        summary.contains(&format!("capture of uid {CAPTURED}:")),
        "{summary}"
    );
    assert!(summary.contains(", 0 dropped"), "{summary}");
    assert!(
        !lab.workdir().join("mine.pcapng.partial").exists(),
        "the unfinished file was left"
    );

    let rows = tshark_fields(
        &file,
        &[
            "dns.qry.name",
            "dns.flags.response",
            "tls.handshake.extensions_server_name",
            "ip.src",
            "frame.comment",
            "frame.interface_description",
        ],
    );
    assert!(rows.len() >= 10, "too few packets: {rows:?}");
    let has = |column: usize, value: &str| rows.iter().any(|r| r[column] == value);
    // The app's own query for its name, and the answer it got.
    assert!(
        rows.iter()
            .any(|r| r[0] == MINE && r[1] == "0" && r[4].starts_with("hush: allowed")),
        "no query for {MINE} with its decision: {rows:?}"
    );
    assert!(
        rows.iter().any(|r| r[0] == MINE && r[1] == "1"),
        "no answer"
    );
    // The blocked lookup says why.
    assert!(
        rows.iter().any(|r| r[0] == TELEMETRY
            && r[4].contains(&format!("blocked {TELEMETRY}"))
            && r[4].contains("list:hush-default")),
        "no blocked lookup with its reason: {rows:?}"
    );
    // Its ClientHello with the name, judged on it, and the server's packets.
    assert!(
        rows.iter()
            .any(|r| r[2] == MINE && r[4].starts_with("hush: allowed")),
        "no ClientHello for {MINE} with its decision: {rows:?}"
    );
    assert!(has(3, "198.19.0.10"), "no packet from the server");
    // Nothing of the other app: neither its names nor its server.
    for row in &rows {
        assert!(!row.iter().any(|v| v.contains(THEIRS)), "{row:?}");
        assert_ne!(row[3], "198.19.0.11", "{row:?}");
        assert!(
            row[5].contains(&format!("uid {CAPTURED}")),
            "interface description: {row:?}"
        );
    }
    // Directions (pcapng's epb_flags): from the app is outbound (2), to it
    // inbound (1); the server's packets are all inbound.
    let directions = tshark_fields(&file, &["frame.packet_flags_direction", "ip.src"]);
    let direction = |r: &Vec<String>| u32::from_str_radix(r[0].trim_start_matches("0x"), 16).ok();
    assert!(
        directions.iter().any(|r| direction(r) == Some(2)),
        "none sent: {directions:?}"
    );
    for row in directions.iter().filter(|r| r[1] == "198.19.0.10") {
        assert_eq!(direction(row), Some(1), "{row:?}");
    }
}

#[test]
fn a_capture_that_fills_its_disk_ends_with_a_clear_message_and_no_unfinished_file() {
    let lab = lab_with_web();
    // A download far bigger than the disk the capture may use.
    std::fs::write(lab.web_root().join("big.bin"), vec![7u8; 4 << 20]).unwrap();
    let small = lab.workdir().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "hush-capture-test"])
        .arg(&small)
        .status()
        .expect("failed to run mount");
    assert!(mounted.success(), "could not mount a small tmpfs");
    let _unmount = Unmount(small.clone());
    let file = small.join("cap.pcapng");
    let file_arg = file.to_string_lossy().into_owned();
    let uid = CAPTURED.to_string();
    let hush = Hush::start(
        &lab,
        &format!("{}:53", lab::RESOLVER_V4),
        &[
            "--capture-uid",
            &uid,
            "--capture",
            &file_arg,
            "--capture-size",
            "64",
            "--capture-files",
            "8",
            // Every byte, so that the download fills the small disk.
            "--capture-whole",
        ],
    );
    let resolve = format!("{MINE}:80:198.19.0.10");
    let url = format!("http://{MINE}/big.bin");
    let got = run_as(
        &lab,
        CAPTURED,
        "curl",
        &[
            "-sS",
            "-o",
            "/dev/null",
            "--max-time",
            "20",
            "--resolve",
            &resolve,
            &url,
        ],
    );
    // The app is not hurt by the capture's end.
    assert_eq!(
        got.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let summary = hush.stop();
    assert!(
        summary.contains("capture stopped: could not write")
            && summary.contains("No space left on device"),
        "{summary}"
    );
    let left: Vec<String> = std::fs::read_dir(&small)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !left.iter().any(|name| name.ends_with(".partial")),
        "an unfinished file was left: {left:?}"
    );
    // What rotated before the disk filled is whole, and tshark reads it.
    assert!(!left.is_empty(), "no rotated file was kept");
    for name in &left {
        let rows = tshark_fields(&small.join(name), &["frame.number"]);
        assert!(!rows.is_empty(), "{name} holds no packet");
    }
}

#[test]
fn a_capture_path_that_cannot_be_written_stops_hush_at_start() {
    let lab = lab_with_web();
    let file = lab.workdir().join("no-such-dir").join("cap.pcapng");
    let mut command = lab.in_phone(HUSH);
    command.args([
        "run",
        "--tun",
        lab::TUN_NAME,
        "--out-iface",
        &lab.phone_veth,
        &format!("--upstream={}:53", lab::RESOLVER_V4),
        "--capture-uid",
        "60011",
        "--capture",
    ]);
    command.arg(&file);
    let failed = match Hush::launch(command) {
        Ok(hush) => panic!("hush started: {}", hush.stop()),
        Err(failed) => failed,
    };
    assert_eq!(failed.status.and_then(|s| s.code()), Some(1), "{failed:?}");
    let said = failed.stderr.join("\n");
    assert!(
        said.contains("could not write") && said.contains("cap.pcapng"),
        "{said}"
    );
    assert!(!file.with_extension("pcapng.partial").exists());
}

/// Unmounts the small tmpfs however the test ends.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
