//! The `.env` file as text: which lines set which variable, setting and
//! unsetting variables while every other byte stays as it was, quoting
//! values so dotenvy reads them back exactly, and replacing the file
//! atomically.
//!
//! Lines are grouped the way dotenvy 0.15 groups them (a quoted value may go
//! on over several lines; a line starting with `#` is a comment whatever it
//! holds), so an edit never leaves half of a multi-line value behind.
//! Loading the file into the environment is dotenvy's job (see `main.rs`);
//! noticing that the file changed is the server's.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The UTF-8 byte-order mark; dotenvy skips it when loading a file.
const BOM: &str = "\u{feff}";

/// Whether `name` can be written as a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
/// Narrower than what dotenvy reads (it also takes `.`), so that a shell
/// sourcing the file accepts it too.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why `value` cannot be written on one line, if it cannot. dotenvy has no
/// escape for a carriage return, and a NUL cannot live in the environment.
pub fn value_problem(value: &str) -> Option<&'static str> {
    if value.contains('\n') {
        Some("a line break")
    } else if value.contains('\r') {
        Some("a carriage return")
    } else if value.contains('\0') {
        Some("a NUL byte")
    } else {
        None
    }
}

/// `value` as dotenvy 0.15 reads it back unchanged: bare when every character
/// is harmless (also to a shell), single-quoted when that is enough (nothing
/// is special inside), else double-quoted with `\`, `"` and `$` escaped.
///
/// A value ending in `\` is never single-quoted: dotenvy's line reader takes
/// `\'` as an escaped quote even inside single quotes, so the value would run
/// on into the next line.
pub fn quote(value: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-.:/+@%,=".contains(c);
    if value.chars().all(bare) {
        value.to_string()
    } else if !value.contains('\'') && !value.ends_with('\\') {
        format!("'{value}'")
    } else {
        let mut quoted = String::with_capacity(value.len() + 2);
        quoted.push('"');
        for c in value.chars() {
            if matches!(c, '\\' | '"' | '$') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        quoted
    }
}

/// One logical line of the file as dotenvy sees it: one or more physical
/// lines, with their line ends.
#[derive(Debug)]
struct Entry<'a> {
    text: &'a str,
    /// The variable the entry sets, and the bytes before its name (leading
    /// blanks, `export `, a byte-order mark), kept when the entry is replaced.
    assigns: Option<(&'a str, &'a str)>,
    /// 1-based number of the entry's first physical line.
    line: usize,
}

impl Entry<'_> {
    /// The line end the entry finishes with (none on an unterminated last line).
    fn line_end(&self) -> &str {
        if self.text.ends_with("\r\n") {
            "\r\n"
        } else if self.text.ends_with('\n') {
            "\n"
        } else {
            ""
        }
    }
}

/// State of dotenvy's line reader at the end of a physical line; anything
/// but `Complete` makes it read on.
#[derive(Clone, Copy, PartialEq)]
enum State {
    Complete,
    Escape,
    Blank,
    Strong,
    StrongEscape,
    Weak,
    WeakEscape,
}

/// A copy of dotenvy 0.15's `eval_end_state` (iter.rs), where a comment ends
/// the logical line.
fn end_state(mut state: State, line: &str) -> State {
    for c in line.chars() {
        state = match state {
            State::Blank if c == '#' => return State::Complete,
            State::Complete | State::Blank => match c {
                '\\' => State::Escape,
                '"' => State::Weak,
                '\'' => State::Strong,
                c if state == State::Complete && c.is_whitespace() && c != '\n' && c != '\r' => {
                    State::Blank
                }
                _ => State::Complete,
            },
            State::Escape => State::Complete,
            State::Weak => match c {
                '\\' => State::WeakEscape,
                '"' => State::Complete,
                _ => State::Weak,
            },
            State::WeakEscape => State::Weak,
            State::Strong => match c {
                '\\' => State::StrongEscape,
                '\'' => State::Complete,
                _ => State::Strong,
            },
            State::StrongEscape => State::Strong,
        };
    }
    state
}

/// The file cut into dotenvy's logical lines; concatenated they give `text`.
fn entries(text: &str) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut state = State::Complete;
    let mut end = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        end += line.len();
        let opens = state == State::Complete;
        if opens {
            start = end - line.len();
            first_line = index + 1;
        }
        let body = if end == line.len() {
            line.strip_prefix(BOM).unwrap_or(line)
        } else {
            line
        };
        state = if opens && body.trim_start().starts_with('#') {
            State::Complete
        } else {
            end_state(state, body)
        };
        if state == State::Complete {
            entries.push(entry(&text[start..end], first_line));
        }
    }
    if state != State::Complete {
        // An unclosed quote runs to the end, as in dotenvy (which then fails).
        entries.push(entry(&text[start..], first_line));
    }
    entries
}

fn entry(text: &str, line: usize) -> Entry<'_> {
    let first = text.split_inclusive('\n').next().unwrap_or(text);
    let first = first.trim_end_matches(['\n', '\r']);
    let bom = if first.starts_with(BOM) { BOM.len() } else { 0 };
    Entry {
        text,
        assigns: assignment(&first[bom..]).map(|(name, at)| (name, &first[..bom + at])),
        line,
    }
}

/// The name a line assigns and where the name starts, following dotenvy's
/// `parse_key` (names may hold `.`; `export` is an optional prefix, or a
/// name itself).
fn assignment(line: &str) -> Option<(&str, usize)> {
    let key_at = |from: usize| -> Option<(usize, usize)> {
        let rest = &line[from..];
        let start = from + (rest.len() - rest.trim_start().len());
        let rest = &line[start..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        Some((start, start + len))
    };
    let equals_after = |at: usize| line[at..].trim_start().starts_with('=');
    let (start, end) = key_at(0)?;
    if &line[start..end] == "export" && !equals_after(end) {
        let (start, end) = key_at(end)?;
        return equals_after(end).then_some((&line[start..end], start));
    }
    equals_after(end).then_some((&line[start..end], start))
}

/// The line end new lines get: the file's own, `\n` for a new file.
fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(at) if text[..at].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// What [`set`] did, by variable name.
#[derive(Debug, Default, PartialEq)]
pub struct SetOutcome {
    pub updated: Vec<String>,
    pub added: Vec<String>,
}

/// `text` with each `(name, value)` set: the first line assigning the name is
/// replaced in place, later ones are dropped, missing names are appended.
/// Names must pass [`valid_name`] and values [`value_problem`].
pub fn set(text: &str, pairs: &[(String, String)]) -> (String, SetOutcome) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut outcome = SetOutcome::default();
    let mut written = vec![false; pairs.len()];
    for entry in entries(text) {
        let Some((prefix, index)) = entry.assigns.and_then(|(name, prefix)| {
            let index = pairs.iter().position(|(n, _)| n == name)?;
            Some((prefix, index))
        }) else {
            out.push_str(entry.text);
            continue;
        };
        if written[index] {
            continue;
        }
        let (name, value) = &pairs[index];
        out.push_str(prefix);
        out.push_str(name);
        out.push('=');
        out.push_str(&quote(value));
        out.push_str(entry.line_end());
        written[index] = true;
        outcome.updated.push(name.clone());
    }
    let newline = newline_of(text);
    for ((name, value), _) in pairs.iter().zip(&written).filter(|(_, w)| !**w) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push_str(name);
        out.push('=');
        out.push_str(&quote(value));
        out.push_str(newline);
        outcome.added.push(name.clone());
    }
    (out, outcome)
}

/// `text` without the lines assigning `names`, and the names that had one.
pub fn unset(text: &str, names: &[String]) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut removed: Vec<String> = Vec::new();
    for entry in entries(text) {
        match entry.assigns.map(|(name, _)| name) {
            Some(name) if names.iter().any(|n| n == name) => {
                if !removed.iter().any(|r| r == name) {
                    removed.push(name.to_string());
                }
            }
            _ => out.push_str(entry.text),
        }
    }
    (out, removed)
}

/// The variables in `text` as `dotenvy::dotenv` loads them.
#[derive(Debug, Default, PartialEq)]
pub struct Variables {
    /// Name and value, in file order; the first of repeated names wins.
    pub values: Vec<(String, String)>,
    /// The first line dotenvy cannot parse: loading stops there, so nothing
    /// from it on is in `values`.
    pub unreadable_line: Option<usize>,
}

/// Parses `text` with dotenvy itself, so values (quotes, escapes, `$VAR`
/// substitution) are exactly what the server gets.
pub fn variables(text: &str) -> Variables {
    let body = text.strip_prefix(BOM).unwrap_or(text);
    let mut variables = Variables::default();
    for item in dotenvy::from_read_iter(body.as_bytes()) {
        let Ok((name, value)) = item else {
            // dotenvy's error quotes the line, which may hold a secret: find
            // its number instead by parsing each logical line alone.
            let bad = entries(text).into_iter().find(|e| {
                let line = e.text.strip_prefix(BOM).unwrap_or(e.text);
                dotenvy::from_read_iter(line.as_bytes()).any(|r| r.is_err())
            });
            variables.unreadable_line = Some(bad.map_or(text.lines().count(), |e| e.line));
            break;
        };
        if !variables.values.iter().any(|(n, _)| *n == name) {
            variables.values.push((name, value));
        }
    }
    variables
}

/// The file's text, or `None` when there is no file.
pub fn read(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces the file at `path` with `text` so that a reader sees the old file
/// or the new one, never a mix: a temporary file in the same folder (so the
/// rename stays on one file system) is written, synced and renamed over it.
/// A symbolic link is followed and its target replaced. An existing file
/// keeps its permissions; a new one is readable by its owner only.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let target = resolve(path)?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let permissions = match fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let name = target
        .file_name()
        .map_or_else(|| ".env".into(), |n| n.to_string_lossy().into_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = dir.join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let written = write_temp(&temp, text, permissions).and_then(|()| fs::rename(&temp, &target));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // The rename is durable only once the folder is synced; the new text is
    // already in place either way, so a failure here is not worth reporting.
    #[cfg(unix)]
    if let Ok(folder) = fs::File::open(&dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

fn write_temp(temp: &Path, text: &str, permissions: Option<fs::Permissions>) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    // Created owner-only, so a new secret is never readable by others, not
    // even for the moment before the permissions are set.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(temp)?;
    file.write_all(text.as_bytes())?;
    if let Some(permissions) = permissions {
        file.set_permissions(permissions)?;
    }
    file.sync_all()
}

/// The file to replace: `path` itself, or the file its link points to.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} is a link to a file that cannot be reached: {e}",
                    path.display()
                ),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What dotenvy reads from `text`, in order, duplicates included.
    fn parsed(text: &str) -> Vec<(String, String)> {
        dotenvy::from_read_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    const AWKWARD: &[&str] = &[
        "",
        "sk-proj_AbC123.x/y+z=@%,:",
        "with space",
        "  leading and trailing  ",
        "tab\there",
        "#starts-with-hash",
        "a#b # c",
        "it's",
        "say \"hi\"",
        "both ' and \"",
        "$HOME and ${HOME} and $",
        "back\\slash",
        "ends with backslash\\",
        "ends with two\\\\",
        "\\",
        "'",
        "\"",
        "'\\",
        "a'b$c\"d\\e",
        "=",
        "a=b=c",
        "~/tilde",
        "ünïcødé 密钥",
        "\\n is not a line break",
    ];

    #[test]
    fn awkward_values_read_back_exactly() {
        for value in AWKWARD {
            let text = format!("KEY={}\nNEXT=1\n", quote(value));
            assert_eq!(
                parsed(&text),
                pairs(&[("KEY", value), ("NEXT", "1")]),
                "{text}"
            );
            // The same through `set`, replacing a line and appending one.
            let (edited, _) = set(
                "# keys\nKEY=old\nOTHER=x",
                &pairs(&[("KEY", value), ("NEW", value)]),
            );
            assert_eq!(
                parsed(&edited),
                pairs(&[("KEY", value), ("OTHER", "x"), ("NEW", value)]),
                "{edited}"
            );
        }
    }

    #[test]
    fn quoting_is_as_light_as_it_can_be() {
        assert_eq!(quote("sk-abc_123"), "sk-abc_123");
        assert_eq!(quote(""), "");
        assert_eq!(quote("a b#c$d\"e"), "'a b#c$d\"e'");
        assert_eq!(quote("it's $x"), r#""it's \$x""#);
        assert_eq!(quote(r"ends\"), r#""ends\\""#);
    }

    #[test]
    fn set_keeps_every_other_byte() {
        let text = "\
# Provider keys
OPENAI_API_KEY=sk-old   # the old one

  export DEEPSEEK_API_KEY = 'old'
OTHER.NAME=keep
OPENAI_API_KEY=sk-duplicate
#OPENAI_API_KEY=commented out
OPENAI_API_KEY_2=unrelated
EXPORT=not-a-prefix
OPENAI_API_KEY='dup
spanning lines'
LAST=1
";
        let (edited, outcome) = set(
            text,
            &pairs(&[
                ("OPENAI_API_KEY", "sk-new"),
                ("DEEPSEEK_API_KEY", "sk new"),
                ("QWEN_API_KEY", "q"),
            ]),
        );
        assert_eq!(
            edited,
            "\
# Provider keys
OPENAI_API_KEY=sk-new

  export DEEPSEEK_API_KEY='sk new'
OTHER.NAME=keep
#OPENAI_API_KEY=commented out
OPENAI_API_KEY_2=unrelated
EXPORT=not-a-prefix
LAST=1
QWEN_API_KEY=q
"
        );
        assert_eq!(
            outcome,
            SetOutcome {
                updated: names(&["OPENAI_API_KEY", "DEEPSEEK_API_KEY"]),
                added: names(&["QWEN_API_KEY"]),
            }
        );
    }

    #[test]
    fn set_keeps_crlf_and_a_missing_last_newline() {
        let (edited, _) = set("A=1\r\nB=2\r\nC=3", &pairs(&[("B", "two"), ("D", "4")]));
        assert_eq!(edited, "A=1\r\nB=two\r\nC=3\r\nD=4\r\n");
        let (edited, _) = set("A=1\r\nB=2", &pairs(&[("B", "two")]));
        assert_eq!(edited, "A=1\r\nB=two");
        let (edited, _) = set("A=1", &pairs(&[("B", "2")]));
        assert_eq!(edited, "A=1\nB=2\n");
        let (edited, _) = set("", &pairs(&[("B", "2")]));
        assert_eq!(edited, "B=2\n");
    }

    #[test]
    fn quotes_in_comments_and_values_do_not_swallow_lines() {
        let text = "# don't \"panic\"\nA='x # y'\nB=\"it's\"\nC=1\n";
        let (edited, outcome) = set(text, &pairs(&[("C", "3")]));
        assert_eq!(edited, "# don't \"panic\"\nA='x # y'\nB=\"it's\"\nC=3\n");
        assert!(outcome.added.is_empty());
    }

    #[test]
    fn a_multi_line_value_is_replaced_whole() {
        let text = "A=\"line one\nB=inside the value\"\nB=real\n";
        assert_eq!(
            parsed(text),
            pairs(&[("A", "line one\nB=inside the value"), ("B", "real")])
        );
        let (edited, _) = set(text, &pairs(&[("A", "one"), ("B", "two")]));
        assert_eq!(edited, "A=one\nB=two\n");
        let (edited, removed) = unset(text, &names(&["A"]));
        assert_eq!(edited, "B=real\n");
        assert_eq!(removed, names(&["A"]));
    }

    #[test]
    fn a_byte_order_mark_stays_in_front() {
        let (edited, outcome) = set("\u{feff}A=1\nB=2\n", &pairs(&[("A", "x")]));
        assert_eq!(edited, "\u{feff}A=x\nB=2\n");
        assert_eq!(outcome.updated, names(&["A"]));
    }

    #[test]
    fn unset_removes_every_line_of_a_name() {
        let text = "# c\nA=1\nexport B=2\nA=3\r\nC=4";
        let (edited, removed) = unset(text, &names(&["A", "B", "MISSING"]));
        assert_eq!(edited, "# c\nC=4");
        assert_eq!(removed, names(&["A", "B"]));
        let (edited, removed) = unset(text, &names(&["C"]));
        assert_eq!(edited, "# c\nA=1\nexport B=2\nA=3\r\n");
        assert_eq!(removed, names(&["C"]));
    }

    #[test]
    fn names_and_values_are_checked() {
        for good in ["A", "_", "OPENAI_API_KEY", "a1_b2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "export X", "É"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(value_problem("a b 'c' \"d\" $e \\f"), None);
        assert_eq!(value_problem("a\nb"), Some("a line break"));
        assert_eq!(value_problem("a\rb"), Some("a carriage return"));
        assert_eq!(value_problem("a\0b"), Some("a NUL byte"));
    }

    #[test]
    fn variables_are_read_as_dotenvy_loads_them() {
        let read = variables("\u{feff}A='x y'\n# c\nB=2\nA=again\n");
        assert_eq!(read.values, pairs(&[("A", "x y"), ("B", "2")]));
        assert_eq!(read.unreadable_line, None);
        let read = variables("A=1\n\nnot an assignment\nB=2\n");
        assert_eq!(read.values, pairs(&[("A", "1")]));
        assert_eq!(read.unreadable_line, Some(3));
        let read = variables("A=1\nB='open\n");
        assert_eq!(read.unreadable_line, Some(2));
    }

    #[test]
    fn write_atomic_creates_owner_only_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        write_atomic(&path, "A=1\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "A=1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
            write_atomic(&path, "A=2\n").unwrap();
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o640, "an existing file keeps its mode");
        }
        let files: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_updates_the_target_of_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("secrets");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("env"), "A=1\n").unwrap();
        let link = dir.path().join(".env");
        std::os::unix::fs::symlink("secrets/env", &link).unwrap();
        write_atomic(&link, "A=2\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(real.join("env")).unwrap(), "A=2\n");
        assert_eq!(fs::read_dir(&real).unwrap().count(), 1);
    }

    #[test]
    fn read_tells_a_missing_file_apart() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&dir.path().join(".env")).unwrap(), None);
    }
}
