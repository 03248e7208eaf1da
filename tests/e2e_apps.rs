//! End to end: per-app rules in the real `hush` on a real tun, with clients
//! running as two Linux users (two "apps"), as Android runs each app under
//! its own uid. Hush finds each flow's owner from the kernel's socket
//! tables, applies that app's rules, and stores its uid with each event;
//! `hush rule` changes the rules while it runs.
//!
//! Needs root and `ip`, `dnsmasq`, `dig`, `curl`, `nginx` and `setpriv`; the
//! test script installs them. Nothing leaves the namespaces, and every
//! client has a time limit.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use hush_linux::lab::{self, Lab, Record};
use hush_store::rules::{self, DomainAction};
use hush_store::StoredEvent;
use support::{counter, require_root, Hush, HUSH};

mod support;

/// Two apps: uids outside any system range, with no account needed.
const SHOPPING: u32 = 60_001;
const BANKING: u32 = 60_002;
const SHARED: &str = "shared.lab.test";
const SHARED_V4: &str = "198.19.0.10";

fn records() -> Vec<Record> {
    vec![Record {
        name: SHARED.into(),
        ipv4: SHARED_V4.into(),
        ipv6: "fd00:19::10".into(),
    }]
}

/// Runs `program` in the phone namespace as `uid`, with a time limit.
fn run_as(lab: &Lab, uid: u32, program: &str, args: &[&str]) -> Output {
    let id = uid.to_string();
    lab.in_phone("setpriv")
        .args(["--reuid", &id, "--regid", &id, "--clear-groups", "--"])
        .args(["timeout", "30", program])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {program} as {uid}: {e}"))
}

/// The addresses `dig` returned for the shared name, or its status line
/// when it got none.
fn dig_as(lab: &Lab, uid: u32) -> String {
    let output = run_as(
        lab,
        uid,
        "dig",
        &[
            "+time=2",
            "+tries=1",
            &format!("@{}", lab::PHONE_DNS_V4),
            SHARED,
            "A",
        ],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let status = text
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(',').next().unwrap_or(s).to_string())
        .unwrap_or_else(|| format!("no answer: {text}"));
    let answers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(SHARED) && l.contains("\tA\t"))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    if answers.is_empty() {
        status
    } else {
        answers.join(",")
    }
}

fn hush_rule(args: &[&str]) {
    let output = std::process::Command::new(HUSH)
        .arg("rule")
        .args(args)
        .output()
        .expect("failed to run hush rule");
    assert!(
        output.status.success(),
        "hush rule {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Hush running in `lab` with a store of its own: the handle, the
/// database and its path as an argument.
fn start_with_store(lab: &Lab) -> (Hush, PathBuf, String) {
    let db = lab.workdir().join("hush.db");
    hush_store::open(&db).unwrap();
    let db_arg = db.to_string_lossy().into_owned();
    let hush = Hush::start(lab, &format!("{}:53", lab::RESOLVER_V4), &["--db", &db_arg]);
    (hush, db, db_arg)
}

/// Switches the per-app `option` (`hush rule OPTION`) on for SHOPPING while
/// Hush runs, and waits until `passes` fails: it must within 1 s.
fn switch_on_for_shopping(option: &str, db_arg: &str, passes: impl Fn() -> bool) {
    hush_rule(&[option, &SHOPPING.to_string(), "on", "--db", db_arg]);
    let changed_at = Instant::now();
    let took = loop {
        if !passes() {
            break changed_at.elapsed();
        }
        assert!(
            changed_at.elapsed() < Duration::from_secs(5),
            "{option} never took effect"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(took < Duration::from_secs(1), "{option} took {took:?}");
}

/// The stored events, having checked that SHOPPING's `protocol` flow was
/// blocked for `reason` and that nothing of BANKING's was.
fn refused_for_shopping_only(db: &Path, protocol: &str, reason: &str) -> Vec<StoredEvent> {
    let connection = hush_store::open(db).unwrap();
    let events = hush_store::events(&connection).unwrap();
    assert!(
        events.iter().any(|e| e.uid == Some(SHOPPING)
            && e.protocol == protocol
            && e.action == "blocked"
            && e.reason == reason),
        "{events:#?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.uid == Some(BANKING) && e.reason == reason),
        "{events:#?}"
    );
    events
}

#[test]
fn the_same_name_is_blocked_for_one_app_and_allowed_for_the_other() {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    let big = lab.web_root().join("big.bin");
    std::fs::write(&big, vec![7u8; 8 << 20]).unwrap();
    let db = lab.workdir().join("hush.db");
    {
        let connection = hush_store::open(&db).unwrap();
        rules::add_domain_rule(&connection, Some(SHOPPING), SHARED, DomainAction::Block).unwrap();
    }
    let db_arg = db.to_string_lossy().into_owned();
    let hush = Hush::start(
        &lab,
        &format!("{}:53", lab::RESOLVER_V4),
        &["--db", &db_arg],
    );

    // DNS: the shopping app's rule blocks the name; the bank resolves it.
    assert_eq!(dig_as(&lab, SHOPPING), "NXDOMAIN");
    assert_eq!(dig_as(&lab, BANKING), SHARED_V4);
    // TCP to the address the bank's lookup mapped to the name: the bank
    // gets the page, the shopping app a reset at its SYN.
    let url = format!("http://{SHARED}/");
    let resolve = format!("{SHARED}:80:{SHARED_V4}");
    let curl = |uid: u32, extra: &[&str]| {
        let mut args = vec!["-sS", "--max-time", "20", "--resolve", &resolve];
        args.extend_from_slice(extra);
        run_as(&lab, uid, "curl", &args)
    };
    let bank = curl(BANKING, &[&url]);
    assert_eq!(
        String::from_utf8_lossy(&bank.stdout),
        "hush lab\n",
        "{}",
        String::from_utf8_lossy(&bank.stderr)
    );
    let started = Instant::now();
    let shop = curl(SHOPPING, &[&url]);
    assert_ne!(shop.status.code(), Some(0), "the shopping app got through");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not refused at once"
    );

    // A slow download by the bank, then the user cuts the bank off while it
    // runs: the open flow ends, and new lookups are refused within 1 s.
    let download = {
        let id = BANKING.to_string();
        let url = format!("http://{SHARED}/big.bin");
        lab.in_phone("setpriv")
            .args(["--reuid", &id, "--regid", &id, "--clear-groups", "--"])
            .args(["timeout", "60", "curl", "-sS", "-o", "/dev/null"])
            .args(["--limit-rate", "512K", "--resolve", &resolve, &url])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    std::thread::sleep(Duration::from_millis(1500));
    hush_rule(&["app", &BANKING.to_string(), "block-all", "--db", &db_arg]);
    let changed_at = Instant::now();
    let took = loop {
        if dig_as(&lab, BANKING) == "NXDOMAIN" {
            break changed_at.elapsed();
        }
        assert!(
            changed_at.elapsed() < Duration::from_secs(5),
            "the new rule never took effect"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(took < Duration::from_secs(1), "the rule took {took:?}");
    let download = download.wait_with_output().unwrap();
    assert_ne!(
        download.status.code(),
        Some(0),
        "the download of an app just cut off went on"
    );
    assert!(
        changed_at.elapsed() < Duration::from_secs(10),
        "the cut download ended only when it would have anyway"
    );

    let summary = hush.stop();
    assert_eq!(
        counter(&summary, "flows cut by rule change"),
        1,
        "{summary}"
    );
    let connection = hush_store::open(&db).unwrap();
    let events = hush_store::events(&connection).unwrap();
    let seen = |uid: u32, protocol: &str, action: &str, reason: &str| {
        events.iter().any(|e| {
            e.uid == Some(uid)
                && e.host == SHARED
                && e.protocol == protocol
                && e.action == action
                && e.reason == reason
        })
    };
    assert!(
        seen(SHOPPING, "dns", "blocked", "app-rule:block"),
        "{events:#?}"
    );
    assert!(seen(BANKING, "dns", "allowed", "unlisted"), "{events:#?}");
    assert!(
        seen(SHOPPING, "tcp", "blocked", "app-rule:block"),
        "{events:#?}"
    );
    assert!(seen(BANKING, "http", "allowed", "unlisted"), "{events:#?}");
    assert!(
        seen(BANKING, "tcp", "blocked", "app:block-all"),
        "{events:#?}"
    );
    assert!(
        seen(BANKING, "dns", "blocked", "app:block-all"),
        "{events:#?}"
    );
    assert!(
        events.iter().all(|e| e.uid.is_some()),
        "every event has its app: {events:#?}"
    );
    // The run recorded the lists it loaded.
    let lists = hush_store::rules::list_sources(&connection).unwrap();
    assert!(
        lists
            .iter()
            .any(|l| l.name == "hush-default" && l.origin == "built-in" && l.entries > 1000),
        "{lists:?}"
    );
}

/// Issue 13: "only addresses Hush resolved", switched on for one app while
/// Hush runs. Its connection to a hard-coded address (no lookup through
/// Hush) is refused within 1 s of `hush rule resolved-only`; after a
/// lookup through Hush the same address is reached; the other app is not
/// touched.
#[test]
fn resolved_only_refuses_hard_coded_addresses_once_switched_on() {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    let (hush, db, db_arg) = start_with_store(&lab);
    let hard_coded = format!("http://{SHARED_V4}/");
    let fetch = |uid: u32| {
        let output = run_as(&lab, uid, "curl", &["-sS", "--max-time", "5", &hard_coded]);
        output.status.success() && output.stdout == b"hush lab\n"
    };
    assert!(
        fetch(SHOPPING),
        "a hard-coded address is reached while the option is off"
    );

    switch_on_for_shopping("resolved-only", &db_arg, || fetch(SHOPPING));
    assert!(fetch(BANKING), "the other app lost its hard-coded address");
    // Once Hush has resolved the name for it, the address is the app's.
    assert_eq!(dig_as(&lab, SHOPPING), SHARED_V4);
    assert!(
        fetch(SHOPPING),
        "the address Hush resolved for the app is refused"
    );

    hush.stop();
    refused_for_shopping_only(&db, "tcp", "not-resolved");
}

/// Issue 14: "strict", switched on for one app while Hush runs. Its HTTPS
/// to a bare address (curl sends no SNI for an IP literal: no name can be
/// read) is reset within 1 s of `hush rule strict`; its HTTPS naming the
/// host still passes, and the other app's nameless HTTPS is not touched.
#[test]
fn strict_resets_an_apps_nameless_tls_once_switched_on() {
    require_root();
    let mut lab = Lab::create(&records()).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    let (hush, db, db_arg) = start_with_store(&lab);
    let bare = format!("https://{SHARED_V4}/");
    let named = format!("https://{SHARED}/");
    let pinned = format!("{SHARED}:443:{SHARED_V4}");
    let fetch = |uid: u32, url: &str| {
        // --resolve: the name is sent as SNI without a lookup through Hush.
        let args = ["-sSk", "--max-time", "5", "--resolve", &pinned, url];
        let output = run_as(&lab, uid, "curl", &args);
        output.status.success() && output.stdout == b"hush lab\n"
    };
    assert!(
        fetch(SHOPPING, &bare),
        "nameless HTTPS passes while the option is off"
    );

    switch_on_for_shopping("strict", &db_arg, || fetch(SHOPPING, &bare));
    assert!(fetch(SHOPPING, &named), "a readable name still passes");
    assert!(fetch(BANKING, &bare), "the other app's nameless HTTPS");

    hush.stop();
    let events = refused_for_shopping_only(&db, "tls", "strict");
    assert!(
        events.iter().any(|e| e.uid == Some(SHOPPING)
            && e.protocol == "tls"
            && e.reason == "strict"
            && e.detail == "strict:no-name"),
        "{events:#?}"
    );
}

/// Issue 13: an app's own encrypted DNS is refused. DNS over TLS (port
/// 853) gets a reset at once although a server listens there; a known DoH
/// endpoint is refused by name (DNS) and by SNI when the app connects to
/// a hard-coded address; plain HTTPS to another name at the same address
/// goes through. With `--allow-encrypted-dns`, port 853 is reached.
#[test]
fn an_apps_own_encrypted_dns_is_refused() {
    require_root();
    let doh = "dns.google";
    let mut with_doh = records();
    let doh_v4 = "198.19.0.11";
    with_doh.push(Record {
        name: doh.into(),
        ipv4: doh_v4.into(),
        ipv6: "fd00:19::11".into(),
    });
    let mut lab = Lab::create(&with_doh).expect("failed to build the lab");
    lab.start_web().expect("failed to start nginx");
    lab.spawn_server(
        "python3",
        &["-m", "http.server", "--bind", SHARED_V4, "853"],
    )
    .expect("failed to start a listener on port 853");
    lab.wait_for_server(SHARED_V4, 853)
        .expect("no listener on port 853");
    let db = lab.workdir().join("hush.db");
    let db_arg = db.to_string_lossy().into_owned();
    let upstream = format!("{}:53", lab::RESOLVER_V4);
    let curl = |args: &[&str]| {
        let started = Instant::now();
        let output = run_as(
            &lab,
            SHOPPING,
            "curl",
            &[&["-sS", "--max-time", "8"], args].concat(),
        );
        (output.status.success(), started.elapsed(), output)
    };
    let dot = format!("http://{SHARED_V4}:853/");

    let hush = Hush::start(&lab, &upstream, &["--db", &db_arg]);
    let (reached, took, _) = curl(&[&dot]);
    assert!(!reached, "port 853 was reached");
    assert!(
        took < Duration::from_secs(2),
        "not refused at once: {took:?}"
    );
    assert_eq!(dig_of(&lab, doh), "NXDOMAIN");
    let by_address = format!("{doh}:443:{doh_v4}");
    let (reached, _, _) = curl(&["-k", "--resolve", &by_address, &format!("https://{doh}/")]);
    assert!(
        !reached,
        "the DoH endpoint was reached at a hard-coded address"
    );
    let plain = format!("{SHARED}:443:{SHARED_V4}");
    let (reached, _, output) = curl(&["-k", "--resolve", &plain, &format!("https://{SHARED}/")]);
    assert!(reached, "{}", String::from_utf8_lossy(&output.stderr));
    hush.stop();

    let connection = hush_store::open(&db).unwrap();
    let events = hush_store::events(&connection).unwrap();
    let seen = |protocol: &str, reason: &str| {
        events
            .iter()
            .any(|e| e.protocol == protocol && e.action == "blocked" && e.reason == reason)
    };
    assert!(seen("tcp", "encrypted-dns"), "{events:#?}");
    assert!(seen("dns", "list:hush-doh"), "{events:#?}");
    assert!(seen("tls", "list:hush-doh"), "{events:#?}");
    drop(connection);

    let hush = Hush::start(&lab, &upstream, &["--db", &db_arg, "--allow-encrypted-dns"]);
    let (reached, _, output) = curl(&[&dot]);
    assert!(reached, "{}", String::from_utf8_lossy(&output.stderr));
    hush.stop();
}

/// The status `dig` gets for `name` through Hush (its output when none).
fn dig_of(lab: &Lab, name: &str) -> String {
    let output = lab
        .in_phone("dig")
        .args(["+time=2", "+tries=1", "+noall", "+comments"])
        .arg(format!("@{}", lab::PHONE_DNS_V4))
        .arg(name)
        .output()
        .expect("failed to run dig");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .map(str::to_string)
        .unwrap_or_else(|| text.trim().to_string())
}
