use axum::body::Bytes;

use super::*;
use crate::cache::entry::BodyKind;
use crate::cache::store::SMALL_ENTRY_BYTES;

const ANSWER: &str = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;

pub(crate) fn key(n: u8) -> CacheKey {
    CacheKey::parse(&format!("{n:02x}").repeat(32)).unwrap()
}

/// An entry for `key` answering `body` (also used by the writer's tests).
pub(crate) fn entry(key: &CacheKey, body: &str) -> CacheEntry {
    CacheEntry::seal(
        EntryMeta {
            format: ENTRY_FORMAT,
            key: key.to_string(),
            created_ms: 1_000,
            created: "1970-01-01T00:00:01Z".into(),
            status: 200,
            content_type: "application/json".into(),
            kind: BodyKind::Json,
            wire: Default::default(),
            provider: "deepseek".into(),
            upstream_model: "deepseek-chat".into(),
            model: "deepseek-chat".into(),
            usage: None,
            ttfb_ms: None,
            latency_ms: 1.0,
            bytes: 0,
            sha256: String::new(),
            chunks: Vec::new(),
        },
        Bytes::from(body.to_string()),
    )
}

#[test]
fn put_get_delete_round_trip_in_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let k = key(1);
    assert!(store.get(&k).unwrap().is_none());
    store
        .put(
            &entry(&k, ANSWER),
            br#"{"model":"deepseek-chat","messages":[]}"#,
        )
        .unwrap();

    let got = store.get(&k).unwrap().unwrap();
    assert_eq!(got.body, ANSWER.as_bytes());
    assert_eq!(
        fs::read_to_string(dir.path().join(format!("{k}.txt"))).unwrap(),
        ANSWER
    );
    let request = fs::read_to_string(dir.path().join(format!("{k}.request"))).unwrap();
    assert!(
        request.contains("\n  \"model\": \"deepseek-chat\""),
        "pretty JSON: {request}"
    );
    assert!(dir.path().join(format!("{k}.meta.json")).exists());
    assert_eq!(store.stats().unwrap().entries, 1);

    assert!(store.delete(&k).unwrap());
    assert!(!store.delete(&k).unwrap());
    assert!(store.get(&k).unwrap().is_none());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_interrupted_write_is_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let k = key(2);
    // What a kill -9 between the body and the metadata rename leaves behind:
    // a body, and a half-written temporary metadata file.
    fs::write(dir.path().join(format!("{k}.txt")), &ANSWER[..20]).unwrap();
    fs::write(
        dir.path().join(format!(".tmp-{k}.meta.json.1-0")),
        "{\"format\":",
    )
    .unwrap();
    assert!(store.get(&k).unwrap().is_none());
    let report = store.check(false).unwrap();
    assert_eq!(report.ok, 0);
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.leftovers.len(), 1);
    store.purge(&report).unwrap();
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_damaged_entry_is_moved_aside_and_missed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    for (n, damage) in [(3u8, "truncate"), (4, "flip"), (5, "meta")] {
        let k = key(n);
        store.put(&entry(&k, ANSWER), b"{}").unwrap();
        match damage {
            "truncate" => fs::write(dir.path().join(format!("{k}.txt")), &ANSWER[..10]).unwrap(),
            "flip" => fs::write(
                dir.path().join(format!("{k}.txt")),
                ANSWER.replace("hi", "ho"),
            )
            .unwrap(),
            _ => fs::write(dir.path().join(format!("{k}.meta.json")), "not json").unwrap(),
        }
        assert!(store.get(&k).unwrap().is_none(), "{damage}");
        assert!(
            !dir.path().join(format!("{k}.txt")).exists(),
            "{damage}: moved aside"
        );
        assert!(
            dir.path()
                .join(BROKEN_DIR)
                .join(format!("{k}.txt"))
                .exists()
        );
    }
}

#[test]
fn a_deep_check_finds_answers_that_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store.put(&entry(&key(6), ANSWER), b"{}").unwrap();
    store
        .put(&entry(&key(7), r#"{"error":{"message":"quota"}}"#), b"{}")
        .unwrap();
    // A file from the Python tool, which kept no metadata.
    fs::write(dir.path().join(format!("{}.txt", "ab".repeat(32))), "old").unwrap();
    assert_eq!(store.check(false).unwrap().ok, 2);
    let deep = store.check(true).unwrap();
    assert_eq!(deep.ok, 1);
    let reasons: Vec<_> = deep.broken.iter().map(|(_, r)| r.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("error object")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("no metadata")),
        "{reasons:?}"
    );
}

#[test]
fn replacing_an_entry_serves_the_new_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let k = key(8);
    store.put(&entry(&k, ANSWER), b"{}").unwrap();
    let newer = ANSWER.replace("hi", "hello again");
    store.put(&entry(&k, &newer), b"{}").unwrap();
    assert_eq!(store.get(&k).unwrap().unwrap().body, newer.as_bytes());
    assert!(!dir.path().join(BROKEN_DIR).exists());
}

#[test]
fn list_skips_metadata_that_names_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let (k, copy) = (key(9), key(10));
    store.put(&entry(&k, ANSWER), b"{}").unwrap();
    // A person's copy of the metadata under another key's name: it must not
    // make `clear` or eviction act on the entry it names.
    fs::copy(
        dir.path().join(format!("{k}.meta.json")),
        dir.path().join(format!("{copy}.meta.json")),
    )
    .unwrap();
    let keys: Vec<String> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|l| l.meta.key)
        .collect();
    assert_eq!(keys, [k.to_string()]);
}

#[test]
fn a_prefix_finds_entries_by_their_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    store.put(&entry(&key(0x11), ANSWER), b"{}").unwrap();
    store.put(&entry(&key(0x12), ANSWER), b"{}").unwrap();
    // A response without metadata is no entry.
    fs::write(dir.path().join(format!("{}.txt", key(0x13))), ANSWER).unwrap();
    assert_eq!(store.keys_starting_with("1111").unwrap(), [key(0x11)]);
    assert_eq!(
        store.keys_starting_with("1").unwrap(),
        [key(0x11), key(0x12)]
    );
    assert!(store.keys_starting_with("13").unwrap().is_empty());
}

#[test]
fn only_an_existing_folder_opens_without_creating() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let error = FileStore::open_existing(&missing).unwrap_err();
    assert!(matches!(error, StoreError::NoFolder { .. }), "{error}");
    assert!(!missing.exists());
    assert!(FileStore::open_existing(dir.path()).is_ok());
}

#[test]
fn the_scan_says_which_keys_are_present_and_stores_keep_it_current() {
    let dir = tempfile::tempdir().unwrap();
    let earlier = FileStore::open(dir.path()).unwrap();
    earlier.put(&entry(&key(1), ANSWER), b"{}").unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(store.presence(&key(1)), Presence::Unknown);
    assert_eq!(store.presence(&key(2)), Presence::Unknown);
    store.check(false).unwrap();
    assert_eq!(store.presence(&key(1)), Presence::Small);
    assert_eq!(store.presence(&key(2)), Presence::Absent);

    store.put(&entry(&key(2), ANSWER), b"{}").unwrap();
    assert_eq!(store.presence(&key(2)), Presence::Small);
    let large = "x".repeat(usize::try_from(SMALL_ENTRY_BYTES).unwrap() + 1);
    store.put(&entry(&key(3), &large), b"{}").unwrap();
    assert_eq!(store.presence(&key(3)), Presence::Large);
    assert!(store.delete(&key(1)).unwrap());
    assert_eq!(store.presence(&key(1)), Presence::Absent);

    // Deleted by hand: still known, but reading it is an ordinary miss.
    fs::remove_file(dir.path().join(format!("{}.meta.json", key(2)))).unwrap();
    assert_eq!(store.presence(&key(2)), Presence::Small);
    assert!(store.get(&key(2)).unwrap().is_none());
}

#[test]
fn a_small_entry_read_again_comes_from_memory_only_while_its_files_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let k = key(7);
    store.put(&entry(&k, ANSWER), b"{}").unwrap();
    assert_eq!(store.get(&k).unwrap().unwrap().body, ANSWER.as_bytes());
    assert!(format!("{:?}", store.hot).contains("entries: 1"));
    assert_eq!(store.get(&k).unwrap().unwrap().body, ANSWER.as_bytes());

    // Edited by hand: the kept copy is not served; the files are read,
    // found damaged and moved away.
    fs::write(dir.path().join(format!("{k}.txt")), "edited by hand").unwrap();
    assert!(store.get(&k).unwrap().is_none());
    assert!(
        dir.path()
            .join(BROKEN_DIR)
            .join(format!("{k}.txt"))
            .exists()
    );

    // Replaced: the new answer, not the copy kept of the old one.
    store.put(&entry(&k, ANSWER), b"{}").unwrap();
    assert_eq!(store.get(&k).unwrap().unwrap().body, ANSWER.as_bytes());
    store.put(&entry(&k, "{\"new\":1}"), b"{}").unwrap();
    assert_eq!(
        store.get(&k).unwrap().unwrap().body,
        "{\"new\":1}".as_bytes()
    );

    // Removed by hand (`rm llm_cache/<key>.*`): gone.
    for suffix in SUFFIXES {
        let _ = fs::remove_file(dir.path().join(format!("{k}{suffix}")));
    }
    assert!(store.get(&k).unwrap().is_none());
}
