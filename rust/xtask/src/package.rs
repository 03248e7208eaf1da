//! Writing the unsigned APK: one zip, the same bytes for the same inputs.
//!
//! - Entries in a fixed order (manifest, resource table, resources, dex,
//!   native libraries), each with the same time stamp and mode.
//! - `resources.arsc` stored and 4-byte aligned (Android 11+ refuses an app
//!   targeting API 30+ otherwise); native libraries stored and aligned to
//!   16 KiB, so Android maps them straight from the APK on 4 and 16 KiB page
//!   devices (`extractNativeLibs="false"`). The rest deflated.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

pub const NATIVE_ALIGNMENT: u16 = 16 * 1024;

/// One file of the APK.
pub struct Entry {
    pub name: String,
    pub data: Vec<u8>,
}

/// How an entry is written.
fn options(name: &str) -> SimpleFileOptions {
    let base = SimpleFileOptions::default()
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    if name.ends_with(".so") {
        base.compression_method(CompressionMethod::Stored)
            .with_alignment(NATIVE_ALIGNMENT)
    } else if name == "resources.arsc" {
        base.compression_method(CompressionMethod::Stored)
            .with_alignment(4)
    } else {
        base.compression_method(CompressionMethod::Deflated)
            .compression_level(Some(9))
    }
}

/// Where an entry goes: a sort key that keeps the conventional order.
fn rank(name: &str) -> (u8, &str) {
    let group = match name {
        "AndroidManifest.xml" => 0,
        "resources.arsc" => 1,
        _ if name.starts_with("res/") => 2,
        _ if name.ends_with(".dex") => 3,
        _ if name.starts_with("lib/") => 4,
        _ => 5,
    };
    (group, name)
}

/// Every entry of a zip (aapt2's linked resources), by name.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a zip: {e}"))?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| format!("entry {i}: {e}"))?;
        if file.is_dir() {
            continue;
        }
        // Not sized from the header's claim: a crafted entry could ask for any size.
        let mut data = Vec::with_capacity((file.size() as usize).min(bytes.len()));
        file.read_to_end(&mut data)
            .map_err(|e| format!("{}: {e}", file.name()))?;
        entries.push(Entry {
            name: file.name().to_string(),
            data,
        });
    }
    Ok(entries)
}

/// The unsigned APK's bytes.
pub fn write_apk(mut entries: Vec<Entry>) -> Result<Vec<u8>, String> {
    entries.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)));
    if let Some(pair) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(format!("{} is in the APK twice", pair[0].name));
    }
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for entry in &entries {
        zip.start_file(entry.name.as_str(), options(&entry.name))
            .and_then(|()| zip.write_all(&entry.data).map_err(Into::into))
            .map_err(|e| format!("{}: {e}", entry.name))?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Offsets of each entry's data in a zip, for the alignment checks.
pub struct Layout {
    pub name: String,
    pub stored: bool,
    pub data_offset: u64,
}

pub fn layout(bytes: &[u8]) -> Result<Vec<Layout>, String> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a zip: {e}"))?;
    (0..archive.len())
        .map(|i| {
            let file = archive
                .by_index_raw(i)
                .map_err(|e| format!("entry {i}: {e}"))?;
            Ok(Layout {
                name: file.name().to_string(),
                stored: file.compression() == CompressionMethod::Stored,
                data_offset: file.data_start(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        let e = |name: &str, len: usize| Entry {
            name: name.into(),
            data: (0..len).map(|i| (i * 7 % 251) as u8).collect(),
        };
        vec![
            e("lib/x86_64/libhush_jni.so", 70_001),
            e("classes.dex", 1_001),
            e("res/drawable/ic_hush.xml", 623),
            e("lib/arm64-v8a/libhush_jni.so", 50_003),
            e("resources.arsc", 1_265),
            e("AndroidManifest.xml", 5_744),
        ]
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes_in_any_order() {
        let a = write_apk(entries()).unwrap();
        let mut shuffled = entries();
        shuffled.reverse();
        assert_eq!(a, write_apk(shuffled).unwrap());
        let names: Vec<String> = layout(&a).unwrap().into_iter().map(|l| l.name).collect();
        assert_eq!(
            names,
            [
                "AndroidManifest.xml",
                "resources.arsc",
                "res/drawable/ic_hush.xml",
                "classes.dex",
                "lib/arm64-v8a/libhush_jni.so",
                "lib/x86_64/libhush_jni.so"
            ]
        );
    }

    #[test]
    fn native_libraries_and_the_resource_table_are_stored_and_aligned() {
        let apk = write_apk(entries()).unwrap();
        for entry in layout(&apk).unwrap() {
            match entry.name.as_str() {
                n if n.ends_with(".so") => {
                    assert!(entry.stored, "{n}");
                    assert_eq!(entry.data_offset % 16384, 0, "{n}");
                }
                "resources.arsc" => assert!(entry.stored && entry.data_offset % 4 == 0),
                n => assert!(!entry.stored, "{n} deflated"),
            }
        }
        let back = read_zip(&apk).unwrap();
        let original = entries();
        for e in &back {
            let o = original.iter().find(|o| o.name == e.name).unwrap();
            assert_eq!(o.data, e.data, "{}", e.name);
        }
    }

    #[test]
    fn a_duplicate_or_a_broken_zip_is_an_error() {
        let mut twice = entries();
        twice.push(Entry {
            name: "classes.dex".into(),
            data: vec![1],
        });
        assert!(write_apk(twice)
            .unwrap_err()
            .contains("classes.dex is in the APK twice"));
        assert!(read_zip(b"not a zip").is_err());
        assert!(layout(&[0u8; 3]).is_err());
    }
}
