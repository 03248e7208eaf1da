//! The real blocklists in the shared test data load with the entry counts
//! their own headers state, and block what they list.

use hush_rules::{ListKind, RuleSetBuilder, Verdict};

fn load(relative: &str) -> (Vec<u8>, hush_rules::ListReport) {
    let text = std::fs::read(hush_testdata::dir().join(relative))
        .unwrap_or_else(|e| panic!("failed to read {relative}: {e}"));
    let report = RuleSetBuilder::new().add_list(relative, ListKind::Block, &text);
    (text, report)
}

/// The entry count a HaGeZi list states in its header.
fn stated_entries(text: &[u8]) -> usize {
    String::from_utf8_lossy(text)
        .lines()
        .find_map(|l| l.split("Number of entries:").nth(1)?.trim().parse().ok())
        .expect("the list states its entry count")
}

#[test]
fn hagezi_lists_load_with_their_stated_counts_and_nothing_rejected() {
    for file in [
        "hagezi/native.xiaomi.domains.txt",
        "hagezi/native.xiaomi.adblock.txt",
        "hagezi/native.samsung.wildcard.txt",
    ] {
        let (text, report) = load(file);
        assert_eq!(report.entries, stated_entries(&text), "{report}");
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
    }
}

#[test]
fn the_2022_snapshot_formats_agree() {
    let mut counts = Vec::new();
    for format in ["domains", "wildcard", "adblock"] {
        let (_, report) = load(&format!(
            "hagezi-2022-snapshot/{format}_doh-vpn-proxy-bypass.txt"
        ));
        assert_eq!(report.rejected_count, 0, "{report}");
        counts.push(report.entries);
    }
    // The wildcard and adblock forms drop children a listed parent covers.
    assert_eq!(counts, [1205, 714, 714]);
}

#[test]
fn adaway_hosts_loads_and_skips_localhost() {
    let (_, report) = load("adaway/hosts.txt");
    assert_eq!(report.entries, 6540, "{report}");
    assert_eq!(report.ignored, 2, "127.0.0.1 localhost and ::1 localhost");
    assert_eq!(report.rejected_count, 0, "{report}");
}

#[test]
fn the_xiaomi_domains_and_adblock_forms_block_the_same_names() {
    let dir = hush_testdata::dir();
    let domains = std::fs::read(dir.join("hagezi/native.xiaomi.domains.txt")).unwrap();
    let adblock = std::fs::read(dir.join("hagezi/native.xiaomi.adblock.txt")).unwrap();
    let build = |text: &[u8]| {
        let mut builder = RuleSetBuilder::new();
        builder.add_list("x", ListKind::Block, text);
        builder.build()
    };
    let (by_domains, by_adblock) = (build(&domains), build(&adblock));
    let names: Vec<String> = String::from_utf8_lossy(&domains)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(names.len(), 461);
    for name in &names {
        assert!(
            matches!(by_adblock.check(name), Verdict::Blocked(_)),
            "{name}"
        );
        assert!(matches!(
            by_domains.check(&format!("x.{name}")),
            Verdict::Blocked(_)
        ));
    }
    assert!(matches!(
        by_adblock.check("tracking.intl.miui.com"),
        Verdict::Blocked(_)
    ));
    assert_eq!(by_adblock.check("miui.com"), Verdict::Unlisted);
}
