//! Who is behind a host: the company, its parent, its country and what the
//! host is for (analytics, advertising, crash reporting, a phone vendor's
//! own telemetry), from a small table the Hush authors curate, each entry
//! with the public source that names the host.
//!
//! Layer: data beside the engine; nothing here decides a verdict. The UI,
//! the CLI and the evidence report ask [`Attribution::lookup`] about hosts
//! they show.
//!
//! Matching is by parent domain, as the blocklists match: the longest
//! suffix of the host that ends on a label boundary wins (`a.b.example`
//! matches `b.example`; `xb.example` does not), ASCII case ignored, a
//! trailing dot tolerated.
//!
//! A table that fails to load is an error with its line and reason, never
//! a panic; [`Attribution::bundled_or_empty`] turns it into an empty
//! attribution that says why, so the rest of Hush goes on without it.
//!
//! The bundled table (`data/vendors.tsv`) is Hush's own: no third-party
//! list is copied into it (see the comments at its top for what is left out
//! and why).

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;

/// The table Hush ships, compiled in.
pub const BUNDLED_TABLE: &str = include_str!("../data/vendors.tsv");

/// The header line every table starts with (after its comments).
const HEADER: [&str; 7] = [
    "suffix", "company", "parent", "country", "category", "source", "note",
];

/// What a host is for, as the table's source describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Analytics,
    Advertising,
    CrashReporting,
    VendorTelemetry,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Analytics,
        Category::Advertising,
        Category::CrashReporting,
        Category::VendorTelemetry,
    ];

    /// The word the table and the report use.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Analytics => "analytics",
            Category::Advertising => "advertising",
            Category::CrashReporting => "crash reporting",
            Category::VendorTelemetry => "vendor telemetry",
        }
    }

    pub fn from_word(word: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == word)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lowercase, no trailing dot.
    pub suffix: String,
    pub company: String,
    pub parent: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub category: Category,
    /// A public page naming the host for the company.
    pub source: String,
    pub note: Option<String>,
}

/// Why a table could not be loaded: the line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attribution table, line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LoadError {}

/// A loaded table, indexed by suffix.
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: Vec<Entry>,
    by_suffix: HashMap<String, usize>,
}

impl Table {
    /// Parses a table: comment lines (`#`) and blank lines are skipped, the
    /// first other line must be the header, every following line an entry
    /// of seven TAB-separated fields. The first fault is the error.
    pub fn parse(text: &str) -> Result<Table, LoadError> {
        let mut table = Table::default();
        let mut seen_header = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let fault = |message: String| LoadError {
                line: number,
                message,
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            if !seen_header {
                if fields != HEADER {
                    return Err(fault(format!(
                        "expected the header line \"{}\" (TAB-separated)",
                        HEADER.join("\\t")
                    )));
                }
                seen_header = true;
                continue;
            }
            let entry = parse_entry(&fields).map_err(fault)?;
            if let Some(first) = table.by_suffix.get(&entry.suffix) {
                return Err(fault(format!(
                    "\"{}\" is listed twice (also as entry {})",
                    entry.suffix,
                    first + 1
                )));
            }
            table
                .by_suffix
                .insert(entry.suffix.clone(), table.entries.len());
            table.entries.push(entry);
        }
        if !seen_header {
            return Err(LoadError {
                line: text.lines().count().max(1),
                message: "no header line and no entries".into(),
            });
        }
        Ok(table)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry whose suffix is the longest one `host` ends with on a
    /// label boundary, if any.
    pub fn lookup(&self, host: &str) -> Option<&Entry> {
        if self.entries.is_empty() {
            return None;
        }
        let host = host.strip_suffix('.').unwrap_or(host);
        if host.is_empty() {
            return None;
        }
        // Most hosts are lowercase already: borrow them as they are.
        let lowered;
        let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = host.to_ascii_lowercase();
            lowered.as_str()
        } else {
            host
        };
        // From the whole host down, label by label: the first hit is the
        // longest suffix.
        let mut rest = host;
        loop {
            if let Some(&index) = self.by_suffix.get(rest) {
                return Some(&self.entries[index]);
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => return None,
            }
        }
    }
}

fn optional(field: &str) -> Option<String> {
    match field.trim() {
        "" | "-" => None,
        text => Some(text.to_string()),
    }
}

fn parse_entry(fields: &[&str]) -> Result<Entry, String> {
    let [suffix, company, parent, country, category, source, note] = fields else {
        return Err(format!(
            "expected 7 TAB-separated fields, found {}",
            fields.len()
        ));
    };
    check_suffix(suffix)?;
    let company = company.trim();
    if company.is_empty() || company == "-" {
        return Err(format!("\"{suffix}\" has no company"));
    }
    let category = Category::from_word(category.trim()).ok_or_else(|| {
        format!(
            "\"{suffix}\": unknown category \"{}\" (known: {})",
            category.trim(),
            Category::ALL.map(Category::as_str).join(", ")
        )
    })?;
    let country = optional(country);
    if let Some(code) = &country {
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "\"{suffix}\": country \"{code}\" is not an ISO 3166-1 alpha-2 code"
            ));
        }
    }
    let source = source.trim();
    let has_host = source
        .strip_prefix("https://")
        .or_else(|| source.strip_prefix("http://"))
        .is_some_and(|rest| rest.split('/').next().is_some_and(|h| h.contains('.')));
    if !has_host || source.contains(char::is_whitespace) {
        return Err(format!(
            "\"{suffix}\": the source must be the address of a public page, found \"{source}\""
        ));
    }
    Ok(Entry {
        suffix: suffix.to_string(),
        company: company.to_string(),
        parent: optional(parent),
        country,
        category,
        source: source.to_string(),
        note: optional(note),
    })
}

/// A suffix is stored as lookups compare it: lowercase LDH labels, at
/// least two of them (a suffix of one label would claim a whole TLD).
fn check_suffix(suffix: &str) -> Result<(), String> {
    let labels: Vec<&str> = suffix.split('.').collect();
    let good_label = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if labels.len() < 2 || suffix.len() > 253 || !labels.iter().all(good_label) {
        return Err(format!(
            "\"{suffix}\" is not a host suffix (lowercase labels of letters, digits and \
             hyphens, at least two, no trailing dot)"
        ));
    }
    Ok(())
}

/// The attribution Hush uses: a table, or none and the reason.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    table: Table,
    unavailable: Option<String>,
}

impl Attribution {
    /// The bundled table, or an error saying what is wrong with it.
    pub fn bundled() -> Result<Attribution, LoadError> {
        Self::from_text(BUNDLED_TABLE)
    }

    pub fn from_text(text: &str) -> Result<Attribution, LoadError> {
        Ok(Attribution {
            table: Table::parse(text)?,
            unavailable: None,
        })
    }

    /// The bundled table; should it fail to load, an empty attribution
    /// that says why ([`Self::unavailable`]) and attributes nothing.
    pub fn bundled_or_empty() -> Attribution {
        Self::from_text_or_empty(BUNDLED_TABLE)
    }

    /// [`Self::from_text`], or an empty attribution with the reason.
    pub fn from_text_or_empty(text: &str) -> Attribution {
        Self::from_text(text).unwrap_or_else(|error| Attribution {
            table: Table::default(),
            unavailable: Some(error.to_string()),
        })
    }

    /// Why there is no attribution, when the table failed to load.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn lookup(&self, host: &str) -> Option<&Entry> {
        self.table.lookup(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "suffix\tcompany\tparent\tcountry\tcategory\tsource\tnote\n";

    fn table(lines: &[&str]) -> Result<Table, LoadError> {
        Table::parse(&format!("# a comment\n{HEAD}{}", lines.join("\n")))
    }

    fn small() -> Table {
        table(&[
            "b.example\tB Corp\t-\tUS\tanalytics\thttps://b.example/docs\t-",
            "deep.b.example\tDeep Ltd\tB Corp\tGB\tadvertising\thttps://deep.example/\tads",
            "vendor.test\tVendor\t-\t-\tvendor telemetry\thttps://vendor.test/privacy\t-",
        ])
        .unwrap()
    }

    #[test]
    fn a_subdomain_matches_its_parent_domain() {
        let table = small();
        assert_eq!(table.lookup("b.example").unwrap().company, "B Corp");
        assert_eq!(table.lookup("a.b.example").unwrap().company, "B Corp");
        assert_eq!(table.lookup("x.y.z.b.example").unwrap().company, "B Corp");
    }

    #[test]
    fn matches_stop_at_label_boundaries() {
        let table = small();
        assert!(table.lookup("xb.example").is_none());
        assert!(table.lookup("b.example.evil").is_none());
        assert!(table.lookup("example").is_none());
        assert!(table.lookup("notvendor.test").is_none());
        assert!(table.lookup("").is_none());
        assert!(table.lookup(".").is_none());
    }

    #[test]
    fn the_longest_suffix_wins() {
        let table = small();
        let deep = table.lookup("cdn.deep.b.example").unwrap();
        assert_eq!(deep.company, "Deep Ltd");
        assert_eq!(deep.parent.as_deref(), Some("B Corp"));
        assert_eq!(deep.category, Category::Advertising);
        assert_eq!(table.lookup("deep.b.example").unwrap().company, "Deep Ltd");
        assert_eq!(table.lookup("shallow.b.example").unwrap().company, "B Corp");
    }

    #[test]
    fn case_and_a_trailing_dot_are_ignored() {
        let table = small();
        assert_eq!(table.lookup("A.B.EXAMPLE").unwrap().company, "B Corp");
        assert_eq!(table.lookup("a.b.example.").unwrap().company, "B Corp");
        assert_eq!(
            table.lookup("Telemetry.Vendor.Test.").unwrap().company,
            "Vendor"
        );
    }

    #[test]
    fn the_bundled_table_loads_and_every_entry_is_sourced_and_categorised() {
        let attribution = Attribution::bundled().expect("the bundled table loads");
        let table = attribution.table();
        assert!(table.len() >= 20, "{} entries", table.len());
        for entry in table.entries() {
            assert!(
                entry.source.starts_with("https://"),
                "{}: {}",
                entry.suffix,
                entry.source
            );
            assert_eq!(
                Category::from_word(entry.category.as_str()),
                Some(entry.category)
            );
            assert!(!entry.company.is_empty());
            // Each entry is reachable by its own suffix and a subdomain.
            assert_eq!(table.lookup(&entry.suffix), Some(entry));
            assert_eq!(table.lookup(&format!("x.{}", entry.suffix)), Some(entry));
        }
        for category in [
            Category::Analytics,
            Category::CrashReporting,
            Category::VendorTelemetry,
        ] {
            assert!(
                table.entries().iter().any(|e| e.category == category),
                "no {category} entry"
            );
        }
        assert!(attribution.unavailable().is_none());
    }

    #[test]
    fn the_bundled_table_attributes_known_hosts() {
        let attribution = Attribution::bundled_or_empty();
        let sentry = attribution.lookup("o4504.ingest.sentry.io").unwrap();
        assert_eq!(sentry.company, "Sentry");
        assert_eq!(sentry.category, Category::CrashReporting);
        let huawei = attribution.lookup("metrics1.data.HICLOUD.com.").unwrap();
        assert_eq!(huawei.category, Category::VendorTelemetry);
        assert_eq!(huawei.country.as_deref(), Some("CN"));
        // googleapis.com itself is not attributed: only the hosts named.
        assert!(attribution.lookup("www.googleapis.com").is_none());
        assert!(attribution.lookup("example.org").is_none());
    }

    #[test]
    fn damaged_tables_are_errors_with_their_line() {
        let cases: &[(&str, &str)] = &[
            (
                "b.example\tB\t-\tUS\tanalytics\thttps://b.example/",
                "7 TAB-separated",
            ),
            (
                "b.example\tB\t-\tUS\tspying\thttps://b.example/\t-",
                "unknown category",
            ),
            ("b.example\tB\t-\tUS\tanalytics\t-\t-", "source"),
            ("b.example\tB\t-\tUS\tanalytics\tsee the docs\t-", "source"),
            (
                "B.Example\tB\t-\tUS\tanalytics\thttps://b.example/\t-",
                "host suffix",
            ),
            (
                "com\tB\t-\tUS\tanalytics\thttps://b.example/\t-",
                "host suffix",
            ),
            (
                "b..example\tB\t-\tUS\tanalytics\thttps://b.example/\t-",
                "host suffix",
            ),
            (
                "b.example.\tB\t-\tUS\tanalytics\thttps://b.example/\t-",
                "host suffix",
            ),
            (
                "b.example\t-\t-\tUS\tanalytics\thttps://b.example/\t-",
                "no company",
            ),
            (
                "b.example\tB\t-\tusa\tanalytics\thttps://b.example/\t-",
                "country",
            ),
        ];
        for (line, expected) in cases {
            let error = table(&[line]).unwrap_err();
            assert_eq!(error.line, 3, "{line}");
            assert!(error.message.contains(expected), "{line}: {error}");
        }
        let twice = table(&[
            "b.example\tB\t-\tUS\tanalytics\thttps://b.example/\t-",
            "b.example\tC\t-\tUS\tanalytics\thttps://c.example/\t-",
        ])
        .unwrap_err();
        assert_eq!(twice.line, 4);
        assert!(twice.message.contains("twice"));
        let headless = Table::parse("b.example\tB\t-\tUS\tanalytics\thttps://b/\t-\n").unwrap_err();
        assert!(headless.message.contains("header"), "{headless}");
        assert!(Table::parse("").is_err());
        assert!(Table::parse("\u{0}\u{ffff}garbage").is_err());
    }

    #[test]
    fn a_table_that_fails_to_load_leaves_an_empty_attribution_with_the_reason() {
        let attribution = Attribution::from_text_or_empty("not a table");
        assert!(attribution.table().is_empty());
        assert!(attribution.lookup("a.b.example").is_none());
        let reason = attribution.unavailable().unwrap();
        assert!(reason.contains("line 1"), "{reason}");
    }

    #[test]
    fn windows_line_ends_are_read() {
        let text = format!(
            "{}b.example\tB\t-\tUS\tanalytics\thttps://b.example/\t-\r\n",
            HEAD.replace('\n', "\r\n")
        );
        let table = Table::parse(&text).unwrap();
        assert!(table.lookup("b.example").is_some());
    }
}
