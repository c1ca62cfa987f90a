//! The one reader of server-sent events, used wherever an event stream is
//! looked into: checking a stored answer, reading usage as it passes,
//! keeping usage-only events from a client, converting between forms.
//!
//! Only what llm-bridge needs of the format: events end at a blank line
//! (`\n\n` or `\r\n\r\n`); an event's `data:` lines (one optional space
//! after the colon) are joined with `\n`; comments and other fields are
//! skipped.

/// The length of the first complete event in `text`, its blank line
/// included.
pub fn event_end(text: &[u8]) -> Option<usize> {
    let lf = find(text, b"\n\n").map(|i| i + 2);
    let crlf = find(text, b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether `chunk` ends at an event boundary.
pub fn ends_event(chunk: &[u8]) -> bool {
    chunk.ends_with(b"\n\n") || chunk.ends_with(b"\r\n\r\n")
}

/// Appends one event whose data is `payload` as compact JSON, written
/// straight into `out`.
pub fn write_data_event(out: &mut Vec<u8>, payload: &impl serde::Serialize) {
    let start = out.len();
    out.extend_from_slice(b"data: ");
    if serde_json::to_writer(&mut *out, payload).is_err() {
        // Only a value that refuses to serialise gets here: no half event.
        out.truncate(start);
        return;
    }
    out.extend_from_slice(b"\n\n");
}

/// The payload of one `data:` line (without its line end), if it is one.
pub fn data_of_line(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let data = line.strip_prefix(b"data:")?;
    Some(data.strip_prefix(b" ").unwrap_or(data))
}

/// The data of one event: its `data:` lines joined with `\n`; `None`
/// without any.
pub fn event_data(event: &[u8]) -> Option<String> {
    let mut data: Option<String> = None;
    for line in event.split(|&b| b == b'\n') {
        if let Some(payload) = data_of_line(line) {
            let payload = String::from_utf8_lossy(payload);
            match &mut data {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(&payload);
                }
                None => data = Some(payload.into_owned()),
            }
        }
    }
    data
}

/// The data of every event of a whole body, in order (a last event
/// without its blank line included).
pub fn payloads(body: &[u8]) -> Vec<String> {
    let mut events = Vec::new();
    let mut rest = body;
    while let Some(end) = event_end(rest) {
        events.extend(event_data(&rest[..end]));
        rest = &rest[end..];
    }
    events.extend(event_data(rest));
    events
}

/// Splits a body arriving in chunks into whole events, keeping the
/// unfinished end (at most `max_event` bytes of it: a longer event is
/// dropped, not grown without bound).
#[derive(Debug)]
pub struct EventBuffer {
    pending: Vec<u8>,
    max_event: usize,
}

impl EventBuffer {
    pub fn new(max_event: usize) -> Self {
        Self {
            pending: Vec::new(),
            max_event,
        }
    }

    /// The events `chunk` completes, each with its blank line.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.pending) {
            events.push(self.pending.drain(..end).collect());
        }
        if self.pending.len() > self.max_event {
            self.pending.clear();
        }
        events
    }

    /// A last event the body ended without a blank line after.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }
}

/// The `event:` name of one event, if it has one.
pub fn event_name(event: &[u8]) -> Option<&str> {
    event.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let name = line.strip_prefix(b"event:")?;
        std::str::from_utf8(name.strip_prefix(b" ").unwrap_or(name)).ok()
    })
}

/// Splits a body arriving in chunks into whole lines, keeping at most
/// `max_line` bytes of an unfinished one (a longer line is dropped, not
/// grown without bound).
#[derive(Debug)]
pub struct Lines {
    pending: Vec<u8>,
    max_line: usize,
}

impl Lines {
    pub fn new(max_line: usize) -> Self {
        Self {
            pending: Vec::new(),
            max_line,
        }
    }

    /// Hands every line `chunk` completes to `line` (without its `\n`).
    pub fn push(&mut self, mut chunk: &[u8], mut line: impl FnMut(&[u8])) {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            let (head, rest) = chunk.split_at(end);
            if self.pending.is_empty() {
                line(head);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(head);
                line(&whole);
            }
            chunk = &rest[1..];
        }
        if self.pending.len() + chunk.len() <= self.max_line {
            self.pending.extend_from_slice(chunk);
        } else {
            self.pending.clear();
        }
    }

    /// The last line, when the body ended without a line end.
    pub fn finish(&mut self, line: impl FnOnce(&[u8])) {
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            line(&rest);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_end_at_blank_lines_of_either_kind() {
        assert_eq!(event_end(b"data: a\n\ndata: b\n\n"), Some(9));
        assert_eq!(event_end(b"data: a\r\n\r\nx"), Some(11));
        assert_eq!(event_end(b"data: a\n"), None);
        assert!(ends_event(b"data: a\r\n\r\n") && !ends_event(b"data: a\n"));
    }

    #[test]
    fn a_written_event_reads_back_and_a_failed_one_leaves_nothing() {
        let mut out = b"data: [x]\n\n".to_vec();
        write_data_event(&mut out, &serde_json::json!({"b": "x\ny", "a": [1]}));
        assert_eq!(payloads(&out), ["[x]", r#"{"a":[1],"b":"x\ny"}"#]);
        // A map with non-string keys cannot be JSON.
        let refused: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        write_data_event(&mut out, &refused);
        assert_eq!(payloads(&out).len(), 2);
        assert!(ends_event(&out));
    }

    #[test]
    fn events_are_handed_out_whole() {
        let body = b"event: a\ndata: 1\n\nevent: b\r\ndata: 2\r\n\r\ndata: 3";
        for size in 1..body.len() {
            let mut buffer = EventBuffer::new(1024);
            let mut events = Vec::new();
            for piece in body.chunks(size) {
                events.extend(buffer.push(piece));
            }
            events.extend(buffer.finish());
            let names: Vec<Option<&str>> = events.iter().map(|e| event_name(e)).collect();
            assert_eq!(names, [Some("a"), Some("b"), None], "{size}");
            let data: Vec<String> = events.iter().filter_map(|e| event_data(e)).collect();
            assert_eq!(data, ["1", "2", "3"]);
        }
    }

    #[test]
    fn payloads_join_data_lines_and_skip_the_rest() {
        let body = b": comment\nevent: x\ndata: one\ndata:two\n\ndata: {\"a\":1}\r\n\r\ndata: last";
        assert_eq!(payloads(body), ["one\ntwo", "{\"a\":1}", "last"]);
        assert!(payloads(b"").is_empty());
    }

    #[test]
    fn lines_split_anywhere_and_bound_what_they_hold() {
        let body = b"data: one\ndata: two\r\nlast";
        for size in 1..body.len() {
            let mut lines = Lines::new(64);
            let mut seen: Vec<String> = Vec::new();
            for piece in body.chunks(size) {
                lines.push(piece, |l| {
                    seen.push(String::from_utf8_lossy(l).into_owned())
                });
            }
            lines.finish(|l| seen.push(String::from_utf8_lossy(l).into_owned()));
            assert_eq!(seen, ["data: one", "data: two\r", "last"], "{size}");
        }
        let mut lines = Lines::new(4);
        let mut seen = 0;
        lines.push(b"123456789", |_| seen += 1);
        lines.push(b"\nok\n", |_| seen += 1);
        assert_eq!(seen, 2, "the overlong line is dropped, the rest read");
        assert_eq!(data_of_line(b"data: x\r"), Some(&b"x"[..]));
    }
}
