//! Which file names in the cache folder belong to the store. People keep
//! other things there (notes, settings, copies of entries), so every command
//! that deletes (`check --purge`, `clear`, `prune`, eviction) touches only
//! these names:
//! - `<key><suffix>`: a 64-lowercase-hex key and one of the entry suffixes,
//! - `.tmp-<key><suffix>.<pid>-<n>`: the temporary file of a write.
//!
//! Anything else is "not ours" and left alone, as are subfolders.

use crate::cache::key::CacheKey;

pub(super) const META: &str = ".meta.json";
pub(super) const BODY: &str = ".txt";
pub(super) const REQUEST: &str = ".request";
/// The suffixes of one entry's files, metadata first: deleting in this
/// order ends the entry's existence before its other files go.
pub(super) const SUFFIXES: [&str; 3] = [META, BODY, REQUEST];
pub(super) const TEMP_PREFIX: &str = ".tmp-";

/// What a file name in the cache folder is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FileName {
    /// One of an entry's files.
    Entry { key: CacheKey, suffix: &'static str },
    /// A temporary file of a write (left over unless a write is running).
    Temp,
    /// Not the store's: never touched.
    Foreign,
}

/// Classifies `name` (a file name, not a path).
pub(super) fn classify(name: &str) -> FileName {
    if let Some((key, suffix)) = entry_file(name) {
        return FileName::Entry { key, suffix };
    }
    let temp = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|rest| rest.rsplit_once('.'))
        .is_some_and(|(target, tail)| entry_file(target).is_some() && is_write_id(tail));
    if temp {
        FileName::Temp
    } else {
        FileName::Foreign
    }
}

/// `<key><suffix>` split into its key and suffix.
fn entry_file(name: &str) -> Option<(CacheKey, &'static str)> {
    SUFFIXES.iter().find_map(|&suffix| {
        let key = CacheKey::parse(name.strip_suffix(suffix)?)?;
        Some((key, suffix))
    })
}

/// `<pid>-<n>`, as `write_atomic` names its temporary files.
fn is_write_id(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    text.split_once('-')
        .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_with_known_suffixes_and_their_temp_files_are_ours() {
        let key = "ab".repeat(32);
        for suffix in SUFFIXES {
            assert!(
                matches!(classify(&format!("{key}{suffix}")), FileName::Entry { .. }),
                "{suffix}"
            );
            assert_eq!(
                classify(&format!(".tmp-{key}{suffix}.123-0")),
                FileName::Temp
            );
        }
        for foreign in [
            "notes.txt".to_string(),
            "settings.meta.json".to_string(),
            "todo.request".to_string(),
            format!("{}.txt", "AB".repeat(32)),
            format!("{}.txt", "ab".repeat(31)),
            format!("{key}.json"),
            format!("{key}.txt.bak"),
            format!("{key}.request.txt"),
            format!(".tmp-{key}.txt"),
            format!(".tmp-{key}.txt.12"),
            format!(".tmp-{key}.txt.12-"),
            format!(".tmp-{key}.txt.x-1"),
            ".tmp-notes.txt.1-0".to_string(),
            format!(".tmp-{key}.1-0"),
        ] {
            assert_eq!(classify(&foreign), FileName::Foreign, "{foreign}");
        }
    }
}
