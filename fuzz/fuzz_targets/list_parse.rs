//! Any bytes as a name list (block and allow) and as an address list:
//! loading is total, and what the report says is consistent with the text
//! and with the rules built from it. Every token of the text is then
//! matched, which must not panic either.

#![no_main]

use hush_rules::address::AddressRulesBuilder;
use hush_rules::{ListKind, ListReport, RuleSetBuilder, MAX_REJECTED_DETAILS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = line_count(data);

    let mut block = RuleSetBuilder::new();
    let report = block.add_list("fuzz", ListKind::Block, data);
    check_report(&report, lines);
    let rules = block.build();
    // One block list: its own distinct names are the table's; its `@@`
    // exceptions are its own (scoped), not allowed names.
    assert_eq!(rules.blocked_len(), report.entries);
    assert_eq!(rules.exceptions_len(), report.allow_entries);
    assert_eq!(rules.allowed_len(), 0);

    let mut allow = RuleSetBuilder::new();
    let allow_report = allow.add_list("fuzz", ListKind::Allow, data);
    check_report(&allow_report, lines);
    assert_eq!(
        (
            allow_report.entries,
            allow_report.allow_entries,
            allow_report.rejected_count
        ),
        (report.entries, report.allow_entries, report.rejected_count),
        "the kind of a list changes nothing in how it reads"
    );
    let allowed = allow.build();
    assert_eq!(allowed.blocked_len(), 0);
    assert!(allowed.allowed_len() <= report.entries + report.allow_entries);

    let text = String::from_utf8_lossy(data);
    for token in text
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | '|' | '^'))
        .take(256)
    {
        let _ = rules.check(token);
        let _ = allowed.check(token);
    }

    let mut addresses = AddressRulesBuilder::new();
    let address_report = addresses.add_list("fuzz", ListKind::Block, data);
    check_report(&address_report, lines);
    let address_rules = addresses.build();
    assert!(address_rules.len() <= address_report.entries);
    for token in text
        .split(|c: char| c.is_whitespace() || c == '/')
        .take(256)
    {
        if let Ok(address) = token.parse() {
            let _ = address_rules.check(address);
        }
    }
});

/// Lines as the loader counts them: none in an empty text, and a final
/// newline does not start another.
fn line_count(data: &[u8]) -> usize {
    if data.is_empty() {
        return 0;
    }
    let newlines = data.iter().filter(|&&b| b == b'\n').count();
    if data.ends_with(b"\n") {
        newlines
    } else {
        newlines + 1
    }
}

fn check_report(report: &ListReport, lines: usize) {
    assert_eq!(report.lines, lines);
    assert_eq!(
        report.rejected.len(),
        report.rejected_count.min(MAX_REJECTED_DETAILS)
    );
    assert!(report.rejected_count <= lines);
    let mut previous = 0;
    for rejected in &report.rejected {
        assert!(rejected.line > previous && rejected.line <= lines);
        assert!(rejected.excerpt.chars().count() <= 80);
        previous = rejected.line;
    }
    let _ = report.to_string();
}
