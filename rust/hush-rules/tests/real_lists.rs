//! The real blocklists in the shared test data load with the entry counts
//! their own headers (or the test-data README) state, reject nothing, and
//! block what they list; the same list in different formats blocks the same
//! names.
//!
//! The data is found through `HUSH_TESTDATA`, else `../shared/testdata` beside
//! the workspace, else `/work/shared/testdata`; without it these tests panic
//! with a clear message rather than skip.

use hush_rules::{ListId, ListKind, ListReport, RuleSet, RuleSetBuilder, Verdict};

fn read(relative: &str) -> Vec<u8> {
    let path = hush_testdata::dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
}

fn load(relative: &str) -> (Vec<u8>, ListReport, RuleSet) {
    let text = read(relative);
    let mut builder = RuleSetBuilder::new();
    let report = builder.add_list(relative, ListKind::Block, &text);
    (text, report, builder.build())
}

/// The entry count a HaGeZi list states in its header.
fn stated_entries(text: &[u8]) -> usize {
    String::from_utf8_lossy(text)
        .lines()
        .find_map(|l| l.split("Number of entries:").nth(1)?.trim().parse().ok())
        .expect("the list states its entry count")
}

/// The names a list holds, read here independently of the library: comment
/// lines dropped, and the adblock / wildcard / hosts decoration stripped.
fn listed_names(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', '!', '[']))
        .map(|l| {
            // Hosts lines: the name follows the address.
            let l = l.split_whitespace().last().unwrap_or(l);
            let l = l.strip_prefix("||").unwrap_or(l);
            let l = l.strip_suffix('^').unwrap_or(l);
            let l = l.strip_prefix("*.").unwrap_or(l);
            l.to_string()
        })
        .filter(|name| name != "localhost")
        .collect()
}

fn is_blocked(rules: &RuleSet, name: &str) -> bool {
    matches!(rules.check(name), Verdict::Blocked(_))
}

/// Each set of rules blocks every name the other lists, and what lies below
/// it: the two block exactly the same names.
fn assert_block_the_same(a: (&RuleSet, &[String]), b: (&RuleSet, &[String]), what: &str) {
    for (rules, names, other) in [(a.0, b.1, "first"), (b.0, a.1, "second")] {
        for name in names {
            assert!(is_blocked(rules, name), "{what}: {other} misses {name}");
            let below = format!("deeper.{name}");
            assert!(is_blocked(rules, &below), "{what}: {other} misses {below}");
        }
    }
}

#[test]
fn hagezi_lists_load_with_their_stated_counts_and_nothing_rejected() {
    for (file, expected) in [
        ("hagezi/native.xiaomi.domains.txt", 461),
        ("hagezi/native.xiaomi.adblock.txt", 352),
        ("hagezi/native.samsung.wildcard.txt", 198),
    ] {
        let (text, report, rules) = load(file);
        assert_eq!(stated_entries(&text), expected, "{file} header");
        assert_eq!(report.entries, expected, "{report}");
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
        assert_eq!(rules.blocked_len(), expected);
        for name in listed_names(&text) {
            assert_eq!(rules.check(&name), Verdict::Blocked(ListId(0)), "{name}");
        }
    }
}

#[test]
fn known_trackers_are_blocked_and_their_neighbours_are_not() {
    let (_, _, domains) = load("hagezi/native.xiaomi.domains.txt");
    assert!(is_blocked(&domains, "tracking.intl.miui.com"));
    assert!(is_blocked(&domains, "TRACKING.intl.miui.com."));
    assert!(!is_blocked(&domains, "miui.com"));

    // `||traffic-media.co.uk^` also blocks names below it.
    let (_, _, adblock) = load("hagezi/native.xiaomi.adblock.txt");
    assert!(is_blocked(&adblock, "tracking.intl.miui.com"));
    assert!(is_blocked(&adblock, "cdn.eu.traffic-media.co.uk"));
    assert!(!is_blocked(&adblock, "co.uk"));
    assert!(!is_blocked(&adblock, "nottraffic-media.co.uk"));

    // `*.metric.account-samsung.com` covers the name itself and below.
    let (_, _, wildcard) = load("hagezi/native.samsung.wildcard.txt");
    assert!(is_blocked(&wildcard, "metric.account-samsung.com"));
    assert!(is_blocked(&wildcard, "eu.metric.account-samsung.com"));
    assert!(!is_blocked(&wildcard, "account-samsung.com"));
}

#[test]
fn the_xiaomi_domains_and_adblock_forms_block_the_same_names() {
    let (domains_text, _, by_domains) = load("hagezi/native.xiaomi.domains.txt");
    let (adblock_text, _, by_adblock) = load("hagezi/native.xiaomi.adblock.txt");
    let domains = listed_names(&domains_text);
    let adblock = listed_names(&adblock_text);
    assert_eq!((domains.len(), adblock.len()), (461, 352));
    assert_block_the_same(
        (&by_domains, &domains),
        (&by_adblock, &adblock),
        "xiaomi domains vs adblock",
    );
}

#[test]
fn the_2022_snapshot_formats_load_and_agree() {
    let mut loaded = Vec::new();
    for format in ["domains", "wildcard", "adblock"] {
        let file = format!("hagezi-2022-snapshot/{format}_doh-vpn-proxy-bypass.txt");
        let (text, report, rules) = load(&file);
        let names = listed_names(&text);
        assert_eq!(report.rejected_count, 0, "{report}");
        assert_eq!(report.duplicates, 0, "{report}");
        assert_eq!(report.entries, names.len(), "{report}");
        loaded.push((names, rules));
    }
    // The README's count; the wildcard and adblock forms drop the children a
    // listed parent already covers.
    assert_eq!(loaded[0].0.len(), 1205);
    let [(domains, by_domains), (wildcard, by_wildcard), (adblock, by_adblock)] = &loaded[..]
    else {
        unreachable!("three formats were loaded")
    };
    assert_block_the_same(
        (by_domains, domains),
        (by_wildcard, wildcard),
        "2022 domains vs wildcard",
    );
    assert_block_the_same(
        (by_domains, domains),
        (by_adblock, adblock),
        "2022 domains vs adblock",
    );
}

#[test]
fn adaway_hosts_loads_and_skips_localhost() {
    let (text, report, rules) = load("adaway/hosts.txt");
    assert_eq!(report.entries, 6540, "{report}");
    assert_eq!(report.ignored, 2, "127.0.0.1 localhost and ::1 localhost");
    assert_eq!(report.rejected_count, 0, "{report}");
    assert_eq!(listed_names(&text).len(), 6540);
    assert!(is_blocked(&rules, "doubleclick.net"));
    assert!(is_blocked(&rules, "stats.g.doubleclick.net"));
    assert!(is_blocked(&rules, "media.admob.com"));
    assert_eq!(rules.check("localhost"), Verdict::Unlisted);
    assert!(!is_blocked(&rules, "admob.com.example"));
}

#[test]
fn an_allowlist_overrides_a_real_blocklist() {
    let mut builder = RuleSetBuilder::new();
    builder.add_list("adaway", ListKind::Block, &read("adaway/hosts.txt"));
    builder.add_list(
        "xiaomi",
        ListKind::Block,
        &read("hagezi/native.xiaomi.adblock.txt"),
    );
    builder.add_list("mine", ListKind::Allow, b"doubleclick.net\n");
    let rules = builder.build();
    assert_eq!(rules.check("doubleclick.net"), Verdict::Allowed(ListId(2)));
    assert_eq!(
        rules.check("stats.g.doubleclick.net"),
        Verdict::Allowed(ListId(2))
    );
    assert_eq!(rules.check("media.admob.com"), Verdict::Blocked(ListId(0)));
    // On both blocklists: the first loaded is named.
    assert_eq!(
        rules.check("tracking.intl.miui.com"),
        Verdict::Blocked(ListId(0))
    );
    assert_eq!(
        rules.check("eu.traffic-media.co.uk"),
        Verdict::Blocked(ListId(1))
    );
    assert_eq!(rules.list_name(ListId(1)), "xiaomi");
}
