//! Reading a `classes.dex` enough to check it: its format version, the class
//! names it defines, and whether its map list has any call site or method
//! handle item (what `invokedynamic` becomes: `invoke-custom` and
//! `invoke-polymorphic` need them, and no Android release has the
//! LambdaMetafactory that javac's lambdas bootstrap through).
//!
//! Layout per <https://source.android.com/docs/core/runtime/dex-format>.

use std::collections::BTreeSet;

/// Map item types that only Java 8+ bytecode produces in a dex.
const TYPE_CALL_SITE_ID_ITEM: u16 = 0x0007;
const TYPE_METHOD_HANDLE_ITEM: u16 = 0x0008;

#[derive(Debug, PartialEq, Eq)]
pub struct DexSummary {
    /// `035`, `037`, `038`, `039`...
    pub version: String,
    /// Binary names with dots: `org.hush.android.app.AppWiring`.
    pub classes: BTreeSet<String>,
    pub call_sites: u32,
    pub method_handles: u32,
}

pub fn read(dex: &[u8]) -> Result<DexSummary, String> {
    let u32_at = |offset: usize| -> Result<u32, String> {
        dex.get(offset..offset + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("truncated dex: no 4 bytes at {offset:#x}"))
    };
    let u16_at = |offset: usize| -> Result<u16, String> {
        dex.get(offset..offset + 2)
            .map(|b| u16::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("truncated dex: no 2 bytes at {offset:#x}"))
    };
    if dex.len() < 0x70 || &dex[..4] != b"dex\n" || dex[7] != 0 {
        return Err("not a dex file (no `dex\\n` magic)".into());
    }
    let version = String::from_utf8_lossy(&dex[4..7]).into_owned();
    if u32_at(0x20)? as usize != dex.len() {
        return Err(format!(
            "file_size {} is not the file's length {}",
            u32_at(0x20)?,
            dex.len()
        ));
    }
    let string_ids_off = u32_at(0x3c)? as usize;
    let type_ids_off = u32_at(0x44)? as usize;
    let (class_defs_size, class_defs_off) = (u32_at(0x60)? as usize, u32_at(0x64)? as usize);

    let string = |index: usize| -> Result<String, String> {
        let data = u32_at(string_ids_off + index * 4)? as usize;
        // uleb128 length in UTF-16 units, then MUTF-8 bytes up to a NUL.
        let mut at = data;
        for _ in 0..5 {
            let byte = *dex.get(at).ok_or("truncated dex string")?;
            at += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let end = dex[at..]
            .iter()
            .position(|&b| b == 0)
            .ok_or("unterminated dex string")?;
        Ok(String::from_utf8_lossy(&dex[at..at + end]).into_owned())
    };
    let mut classes = BTreeSet::new();
    for i in 0..class_defs_size {
        let type_index = u32_at(class_defs_off + i * 32)? as usize;
        let descriptor = string(u32_at(type_ids_off + type_index * 4)? as usize)?;
        let name = descriptor
            .strip_prefix('L')
            .and_then(|d| d.strip_suffix(';'))
            .ok_or_else(|| format!("class descriptor {descriptor:?} is not L...;"))?;
        classes.insert(name.replace('/', "."));
    }

    let map_off = u32_at(0x34)? as usize;
    let items = u32_at(map_off)? as usize;
    let (mut call_sites, mut method_handles) = (0, 0);
    for i in 0..items {
        let item = map_off + 4 + i * 12;
        match u16_at(item)? {
            TYPE_CALL_SITE_ID_ITEM => call_sites += u32_at(item + 4)?,
            TYPE_METHOD_HANDLE_ITEM => method_handles += u32_at(item + 4)?,
            _ => {}
        }
    }
    Ok(DexSummary {
        version,
        classes,
        call_sites,
        method_handles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal well-formed dex: header, one string, one type, one class,
    /// and a map list whose entries are given.
    fn dex(map_entries: &[(u16, u32)]) -> Vec<u8> {
        let mut d = vec![0u8; 0x70];
        d[..8].copy_from_slice(b"dex\n035\0");
        let put =
            |d: &mut Vec<u8>, at: usize, v: u32| d[at..at + 4].copy_from_slice(&v.to_le_bytes());
        // string data at 0x70: "Lorg/x/Y;"
        let descriptor = b"Lorg/x/Y;";
        let string_data = d.len();
        d.push(descriptor.len() as u8);
        d.extend_from_slice(descriptor);
        d.push(0);
        while d.len() % 4 != 0 {
            d.push(0);
        }
        let string_ids = d.len();
        d.extend_from_slice(&(string_data as u32).to_le_bytes());
        let type_ids = d.len();
        d.extend_from_slice(&0u32.to_le_bytes());
        let class_defs = d.len();
        d.extend_from_slice(&[0u8; 32]);
        let map = d.len();
        d.extend_from_slice(&(map_entries.len() as u32).to_le_bytes());
        for (kind, size) in map_entries {
            d.extend_from_slice(&kind.to_le_bytes());
            d.extend_from_slice(&[0, 0]);
            d.extend_from_slice(&size.to_le_bytes());
            d.extend_from_slice(&0u32.to_le_bytes());
        }
        let len = d.len() as u32;
        put(&mut d, 0x20, len);
        put(&mut d, 0x34, map as u32);
        put(&mut d, 0x3c, string_ids as u32);
        put(&mut d, 0x44, type_ids as u32);
        put(&mut d, 0x60, 1);
        put(&mut d, 0x64, class_defs as u32);
        d
    }

    #[test]
    fn classes_and_call_sites_are_read() {
        let clean = read(&dex(&[(0x0000, 1), (0x1000, 1)])).unwrap();
        assert_eq!(clean.version, "035");
        assert_eq!(clean.classes.iter().collect::<Vec<_>>(), ["org.x.Y"]);
        assert_eq!((clean.call_sites, clean.method_handles), (0, 0));
        let lambdas = read(&dex(&[(0x0007, 85), (0x0008, 3)])).unwrap();
        assert_eq!((lambdas.call_sites, lambdas.method_handles), (85, 3));
    }

    #[test]
    fn a_file_that_is_not_a_whole_dex_is_an_error_not_a_panic() {
        let good = dex(&[]);
        assert!(read(b"PK\x03\x04").unwrap_err().contains("not a dex"));
        for cut in [0x70, good.len() - 1] {
            assert!(read(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut lying = good.clone();
        lying[0x34..0x38].copy_from_slice(&u32::MAX.to_le_bytes());
        let len = lying.len() as u32;
        lying[0x20..0x24].copy_from_slice(&len.to_le_bytes());
        assert!(read(&lying).is_err());
    }
}
