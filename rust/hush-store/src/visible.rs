//! Stored text made safe to show or export: host names, list names and
//! details come from the network (a DNS name keeps any printable ASCII, a
//! TLS or HTTP name any byte the parser let through) or from downloaded
//! lists, so they may hold characters that hide or reorder what a reader
//! sees (the bidirectional controls of the Trojan Source attacks,
//! zero-width characters) or break a line, and a CSV cell may start a
//! spreadsheet formula.
//!
//! Such characters are shown as their code point, `[U+202E]`, the same form
//! everywhere (CSV and JSON exports, the evidence report, the app's screens,
//! whose Kotlin twin is `Format.visible`), so that what was there stays
//! readable and nothing is silently dropped.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters shown as their code point: C0 and C1 controls and DEL, the
/// Arabic letter mark, zero-width space, joiners and direction marks, the
/// line and paragraph separators, the bidirectional embeddings, overrides
/// and isolates, word joiner and invisible operators, and the byte order
/// mark (zero-width no-break space).
pub fn is_disguising(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Appends `c` as `[U+XXXX]` (at least four hex digits, upper case).
pub fn push_code_point(out: &mut String, c: char) {
    let _ = write!(out, "[U+{:04X}]", c as u32);
}

/// `text` with every character `escape` picks shown as its code point;
/// borrowed when there is none.
fn escaped_where(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = text.find(&escape) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if escape(c) {
            push_code_point(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every [disguising](is_disguising) character shown as its
/// code point.
pub fn visible(text: &str) -> Cow<'_, str> {
    escaped_where(text, is_disguising)
}

/// `text` for a JSON string: the disguising characters JSON leaves as they
/// are shown as their code point; the C0 controls stay, since JSON escapes
/// them itself (`\n`, `\u0000`) and a reader decoding the JSON gets them
/// back exactly.
pub fn json_text(text: &str) -> Cow<'_, str> {
    escaped_where(text, |c| c >= ' ' && is_disguising(c))
}

/// Characters that make a spreadsheet read a cell as a formula when it
/// starts with one (OWASP's CSV injection guidance): `=`, `+`, `-`, `@`,
/// and tab and carriage return, after which some read one.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a CSV text cell: [`visible`], and prefixed with `'` when it
/// would start a formula, so a spreadsheet shows it as text. Numeric
/// columns are not text cells and are written as they are.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let shown = visible(text);
    if shown.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_character_is_escaped_and_nothing_else() {
        for c in [
            '\0', '\t', '\n', '\r', '\u{1F}', '\u{7F}', '\u{80}', '\u{9F}',
        ] {
            assert!(is_disguising(c), "{c:?}");
        }
        for c in [
            '\u{061C}', '\u{200B}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202A}',
            '\u{202E}', '\u{2060}', '\u{2064}', '\u{2066}', '\u{2069}', '\u{FEFF}',
        ] {
            assert!(is_disguising(c), "{c:?}");
        }
        for c in [
            ' ', '~', 'a', '\u{A0}', 'ü', '\u{061B}', '\u{200A}', '\u{2027}', '\u{202F}',
            '\u{2065}', '\u{206A}', '\u{FEFE}', '\u{FF0D}', '😀',
        ] {
            assert!(!is_disguising(c), "{c:?}");
        }
    }

    #[test]
    fn hostile_text_is_shown_as_code_points() {
        assert_eq!(
            visible("a\u{202E}b\u{200B}c\nd\0\u{9B}"),
            "a[U+202E]b[U+200B]c[U+000A]d[U+0000][U+009B]"
        );
        assert!(matches!(visible("bücher.example"), Cow::Borrowed(_)));
        assert_eq!(json_text("a\n\u{202E}\u{7F}"), "a\n[U+202E][U+007F]");
    }

    #[test]
    fn cells_that_would_start_a_formula_are_text() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-cmd"), "'-cmd");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        // Tab and CR are escaped, so the cell starts with `[`.
        assert_eq!(csv_cell("\t=1"), "[U+0009]=1");
        assert_eq!(csv_cell("\r=1"), "[U+000D]=1");
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_cell(""), "");
        assert!(matches!(csv_cell("tracker.example"), Cow::Borrowed(_)));
    }
}
