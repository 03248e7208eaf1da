//! Hush's own Android libc headers against the `libc` crate's Android
//! definitions (see the crate's docs).
//!
//! The comparison needs the tables that `tools/android/abi-tables.sh` writes
//! (clang and the Android Rust targets). Without them it is skipped, unless
//! `HUSH_ANDROID_ABI_REQUIRED=1` (as `tools/android/build-native.sh` sets):
//! then missing tables fail. The other tests need nothing but the sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hush_android_abi::{parse_table, Entry, FACTS};

const TARGETS: &[&str] = &["aarch64-linux-android", "x86_64-linux-android"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn android_dir() -> PathBuf {
    root().join("tools/android")
}

/// The facts of tools/android/abi.list, in order.
fn abi_list() -> Vec<String> {
    let text = std::fs::read_to_string(android_dir().join("abi.list")).expect("abi.list");
    text.lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every header of tools/android/include, as (path relative to it, text).
fn headers() -> Vec<(String, String)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).expect("include dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "h") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).expect("header")));
            }
        }
    }
    let base = android_dir().join("include");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

#[test]
fn abi_list_and_the_libc_table_name_the_same_facts() {
    let list = abi_list();
    let listed: BTreeSet<&str> = list.iter().map(String::as_str).collect();
    assert_eq!(
        listed.len(),
        list.len(),
        "a fact is listed twice in abi.list"
    );
    let ours: BTreeSet<&str> = FACTS.iter().copied().collect();
    assert_eq!(ours.len(), FACTS.len(), "a fact is given twice in FACTS");
    let only_list: Vec<_> = listed.difference(&ours).collect();
    let only_rust: Vec<_> = ours.difference(&listed).collect();
    assert!(
        only_list.is_empty() && only_rust.is_empty(),
        "abi.list and hush-android-abi's FACTS differ: only in abi.list {only_list:?}, only in FACTS {only_rust:?}"
    );
    for f in FACTS {
        assert!(
            f.len() < hush_android_abi::NAME_LEN,
            "fact name too long: {f}"
        );
    }
}

/// Macros of the headers that are no ABI value of their own (spellings of a
/// checked fact, or function-like), each with the reason.
const NOT_ABI_VALUES: &[(&str, &str)] = &[
    (
        "errno",
        "(*__errno()): the accessor is a Bionic symbol, in libc.symbols",
    ),
    ("stdin", "names the Bionic variable (libc.symbols)"),
    ("stdout", "names the Bionic variable (libc.symbols)"),
    ("stderr", "names the Bionic variable (libc.symbols)"),
    (
        "st_atime",
        "st_atim.tv_sec: offset checked as offsetof(struct stat, st_atime)",
    ),
    (
        "st_mtime",
        "st_mtim.tv_sec: offset checked as offsetof(struct stat, st_mtime)",
    ),
    (
        "st_ctime",
        "st_ctim.tv_sec: offset checked as offsetof(struct stat, st_ctime)",
    ),
    ("isnan", "compiler builtin"),
    ("INFINITY", "compiler builtin"),
    ("assert", "macro over __assert2 (libc.symbols)"),
    ("MAP_FAILED", "((void*)-1) by POSIX, as in Bionic"),
    (
        "PTHREAD_MUTEX_INITIALIZER",
        "all zero bytes, as the libc crate's",
    ),
    (
        "FILE",
        "opaque type (struct __sFILE is never defined): only FILE* is used",
    ),
];

#[test]
fn every_constant_and_type_the_headers_define_is_checked() {
    let listed: BTreeSet<String> = abi_list().into_iter().collect();
    let skip: BTreeSet<&str> = NOT_ABI_VALUES.iter().map(|(n, _)| *n).collect();
    let mut unchecked = Vec::new();
    for (file, text) in headers() {
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("#define ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let function_like = rest[name.len()..].starts_with('(');
                let has_value = !rest[name.len()..].trim().is_empty();
                if name.starts_with("HUSH_") || name.starts_with("__HUSH_") || !has_value {
                    continue;
                }
                if skip.contains(name.as_str()) {
                    continue;
                }
                if function_like || !listed.contains(&name) {
                    unchecked.push(format!("{file}: macro {name}"));
                }
            } else if let Some(rest) = line.strip_prefix("typedef ") {
                // `typedef T name;` or the last line `} name;` of a struct.
                if rest.ends_with(';') && !rest.contains('(') && !rest.contains('{') {
                    let name = rest
                        .trim_end_matches(';')
                        .split_whitespace()
                        .last()
                        .unwrap();
                    if !skip.contains(name) {
                        check_size(&listed, &file, name, &mut unchecked);
                    }
                }
            } else if let Some(rest) = line.strip_prefix("} ") {
                if let Some(name) = rest.strip_suffix(';') {
                    if !skip.contains(name.trim()) {
                        check_size(&listed, &file, name.trim(), &mut unchecked);
                    }
                }
            } else if let Some(rest) = line.strip_prefix("struct ") {
                if let Some(name) = rest.strip_suffix(" {") {
                    check_size(&listed, &file, &format!("struct {name}"), &mut unchecked);
                }
            }
        }
    }
    assert!(
        unchecked.is_empty(),
        "defined in tools/android/include but not checked in abi.list (add the fact to abi.list and hush-android-abi, or say why in NOT_ABI_VALUES):\n{}",
        unchecked.join("\n")
    );
}

fn check_size(listed: &BTreeSet<String>, file: &str, ty: &str, out: &mut Vec<String>) {
    if !listed.contains(&format!("sizeof({ty})")) {
        out.push(format!("{file}: type {ty} (no sizeof({ty}))"));
    }
}

#[test]
fn every_function_the_headers_declare_is_in_a_bionic_list() {
    let mut symbols = BTreeSet::new();
    for lib in ["libc", "libm", "libdl", "liblog"] {
        let text = std::fs::read_to_string(android_dir().join(format!("bionic/{lib}.symbols")))
            .expect("symbol list");
        for line in text.lines() {
            if let Some(name) = line.split('#').next().unwrap().split_whitespace().next() {
                symbols.insert(name.to_string());
            }
        }
    }
    let mut missing = Vec::new();
    let mut declared = 0;
    for (file, text) in headers() {
        for line in text.lines() {
            let starts_decl = line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            if !starts_decl
                || line.starts_with("typedef")
                || line.starts_with("struct ") && line.ends_with('{')
                || !line.contains('(')
                || !line.trim_end().ends_with(';')
            {
                continue;
            }
            let before = &line[..line.find('(').unwrap()];
            let name: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            declared += 1;
            if !symbols.contains(&name) {
                missing.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(
        declared > 50,
        "found only {declared} declarations: parser broken?"
    );
    assert!(
        missing.is_empty(),
        "declared in tools/android/include but in no tools/android/bionic list:\n{}",
        missing.join("\n")
    );
}

#[test]
fn tables_parse_and_refuse_bad_input() {
    let entries = [
        Entry::new("EAGAIN", 11),
        Entry::new("sizeof(struct stat)", 128),
    ];
    let mut bytes = Vec::new();
    for e in &entries {
        bytes.extend_from_slice(&e.name);
        bytes.extend_from_slice(&e.value.to_le_bytes());
    }
    let t = parse_table(&bytes).unwrap();
    assert_eq!(t["EAGAIN"], 11);
    assert_eq!(t["sizeof(struct stat)"], 128);
    assert!(parse_table(&bytes[..bytes.len() - 1]).is_err());
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes[..64]);
    assert!(parse_table(&twice).is_err());
}

#[test]
fn headers_match_the_libc_crate_on_each_android_target() {
    let required = std::env::var("HUSH_ANDROID_ABI_REQUIRED").is_ok_and(|v| v == "1");
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("android/abi");
    let list = abi_list();
    let mut failures = Vec::new();
    for target in TARGETS {
        let read = |which: &str| -> Option<BTreeMap<String, i64>> {
            let p = dir.join(target).join(which);
            match std::fs::read(&p) {
                Ok(b) => Some(parse_table(&b).unwrap_or_else(|e| panic!("{}: {e}", p.display()))),
                Err(e) => {
                    assert!(
                        !required,
                        "{}: {e} (run tools/android/abi-tables.sh)",
                        p.display()
                    );
                    None
                }
            }
        };
        let (Some(headers), Some(libc)) = (read("headers.bin"), read("libc.bin")) else {
            eprintln!(
                "skipped for {target}: no ABI tables in {} (tools/android/abi-tables.sh makes them)",
                dir.display()
            );
            continue;
        };
        let mut wrong = Vec::new();
        for fact in &list {
            match (headers.get(fact), libc.get(fact)) {
                (Some(h), Some(l)) if h == l => {}
                (h, l) => wrong.push(format!("{fact}: headers {h:?}, libc crate {l:?}")),
            }
        }
        for extra in headers.keys().chain(libc.keys()) {
            if !list.contains(extra) {
                wrong.push(format!(
                    "{extra}: in a table but not in abi.list (stale tables?)"
                ));
            }
        }
        if wrong.is_empty() {
            eprintln!("{target}: {} facts agree", list.len());
        } else {
            failures.push(format!(
                "{target}: tools/android/include differs from the libc crate's Android ABI:\n{}",
                wrong.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
