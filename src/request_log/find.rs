//! One request's line, looked up by its request id in the lines still
//! waiting to be written and in the log files, newest first (the current
//! file, then `.1`, `.2`, …). Blocking: the files can be tens of MB, so
//! callers run it off the async runtime. Used by the dashboard's request
//! detail; a line rotated out of the kept files is simply not found.

use std::io;
use std::path::PathBuf;

use memchr::memmem;

/// The last line of `text` holding `"request_id":"<id>"`, without its
/// line break.
fn last_line_with<'t>(text: &'t [u8], needle: &[u8]) -> Option<&'t [u8]> {
    let at = memmem::rfind(text, needle)?;
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |n| n + 1);
    let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |n| at + n);
    Some(&text[start..end])
}

/// What a line of this request holds: its id as the log writes it
/// (escaped the JSON way, so an id a client chose cannot match elsewhere).
fn needle(request_id: &str) -> Vec<u8> {
    let mut needle = b"\"request_id\":".to_vec();
    needle.extend(serde_json::to_vec(request_id).unwrap_or_default());
    needle
}

/// Searches `pending` (lines not yet written), then `files` in order.
/// A missing file is skipped.
pub(super) fn find_line(
    pending: &[u8],
    files: &[PathBuf],
    request_id: &str,
) -> io::Result<Option<Vec<u8>>> {
    let needle = needle(request_id);
    if let Some(line) = last_line_with(pending, &needle) {
        return Ok(Some(line.to_vec()));
    }
    for file in files {
        let text = match std::fs::read(file) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        if let Some(line) = last_line_with(&text, &needle) {
            return Ok(Some(line.to_vec()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_line_of_the_request_wins_and_ids_match_whole() {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("requests.log");
        let older = dir.path().join("requests.log.1");
        std::fs::write(
            &older,
            "{\"request_id\":\"a\",\"n\":1}\n{\"request_id\":\"b\",\"n\":1}\n",
        )
        .unwrap();
        std::fs::write(
            &current,
            "{\"request_id\":\"ab\",\"n\":2}\n{\"request_id\":\"b\",\"n\":2}",
        )
        .unwrap();
        let files = [current, older, dir.path().join("requests.log.2")];
        let found = |id| {
            find_line(b"", &files, id)
                .unwrap()
                .map(|l| String::from_utf8(l).unwrap())
        };
        assert_eq!(
            found("a").as_deref(),
            Some("{\"request_id\":\"a\",\"n\":1}")
        );
        assert_eq!(
            found("b").as_deref(),
            Some("{\"request_id\":\"b\",\"n\":2}")
        );
        assert_eq!(found("c"), None);
        let pending = b"{\"request_id\":\"a\",\"n\":3}\n";
        let line = find_line(pending, &files, "a").unwrap().unwrap();
        assert_eq!(line, b"{\"request_id\":\"a\",\"n\":3}");
        // A quote in an id is escaped as the log writes it.
        assert_eq!(find_line(b"", &files, "a\",\"n\":1").unwrap(), None);
    }
}
