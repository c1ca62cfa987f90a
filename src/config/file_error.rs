//! How a config file that does not deserialize is reported: `file:line:`,
//! the field's full dotted path (`server.max_body_bytes`), and, for a value
//! of the wrong type, the form the field takes (`a whole number of bytes
//! such as 10485760`) in place of serde's Rust type names (`usize`).
//!
//! It owns the wording only; the parse itself is [`super::file`]'s.

use serde_path_to_error::{Path, Segment};

/// The field an error is about, as the file would spell it:
/// `providers.ollama.models[1]`, keys with other characters than letters,
/// digits, `_` and `-` quoted. For an unknown key it is the table holding it
/// (the message names the key).
pub fn field(path: &Path, message: &str) -> String {
    let mut segments: Vec<&Segment> = path
        .iter()
        .filter(
            |s| !matches!(s, Segment::Map { key } if key.starts_with("$__serde_spanned_private")),
        )
        .collect();
    if message.starts_with("unknown field") && matches!(segments.last(), Some(Segment::Map { .. }))
    {
        segments.pop();
    }
    dotted(&segments)
}

/// Segments joined with `.`, indexes as `[n]`. The inner fields of a
/// [`toml::Spanned`] value are left out by [`field`].
fn dotted(segments: &[&Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
                if bare {
                    out.push_str(key);
                } else {
                    out.push_str(&format!("\"{key}\""));
                }
            }
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Unknown => {}
        }
    }
    out
}

/// `message` from serde about `field` (its dotted path), reworded when it is
/// a wrong type or value for a number: `expected a whole number of seconds
/// such as 30, not the string "30s"`. Other messages are kept as they are.
pub fn describe(field: &str, message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    else {
        return message.to_string();
    };
    let Some((found, expected)) = rest.rsplit_once(", expected ") else {
        return message.to_string();
    };
    match wanted(field, expected) {
        Some(wanted) => format!("expected {wanted}, not {}", the(found)),
        None => message.to_string(),
    }
}

/// The accepted form of a number field, from its name's unit suffix, when
/// serde expected an integer or a float.
fn wanted(field: &str, expected: &str) -> Option<&'static str> {
    let name = field.rsplit('.').next().unwrap_or(field);
    let integer = matches!(
        expected,
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize"
    );
    if !integer {
        return (expected == "f64" || expected == "f32").then_some("a number such as 0.25");
    }
    Some(if name.ends_with("_bytes") {
        "a whole number of bytes such as 10485760 (10 MiB)"
    } else if name.ends_with("_secs") {
        "a whole number of seconds such as 30"
    } else if name.ends_with("_ms") {
        "a whole number of milliseconds such as 250"
    } else if name.ends_with("_days") {
        "a whole number of days such as 90"
    } else {
        "a whole number such as 10"
    })
}

/// serde's name of what it found, in TOML's words: `the string "10MB"`,
/// `an array`, `a table`.
fn the(found: &str) -> String {
    match found {
        "sequence" => "an array".to_string(),
        "map" => "a table".to_string(),
        _ if found.contains(['`', '"']) => format!("the {found}"),
        _ => format!("a {found}"),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn numbers_say_their_form() {
        assert_eq!(
            describe(
                "server.max_body_bytes",
                "invalid type: string \"10MB\", expected usize"
            ),
            "expected a whole number of bytes such as 10485760 (10 MiB), not the string \"10MB\""
        );
        assert_eq!(
            describe(
                "idle_timeout_secs",
                "invalid value: integer `-1`, expected u64"
            ),
            "expected a whole number of seconds such as 30, not the integer `-1`"
        );
        assert_eq!(
            describe("retry.backoff_ms", "invalid type: sequence, expected u64"),
            "expected a whole number of milliseconds such as 250, not an array"
        );
        assert_eq!(
            describe(
                "log.max_files",
                "invalid type: floating point `1.5`, expected usize"
            ),
            "expected a whole number such as 10, not the floating point `1.5`"
        );
        assert_eq!(
            describe("prices.x.input", "invalid type: string \"1\", expected f64"),
            "expected a number such as 0.25, not the string \"1\""
        );
    }

    #[test]
    fn other_messages_are_kept() {
        for message in [
            "invalid type: integer `5`, expected a string",
            "unknown field `bogus`, expected one of `a`, `b`",
            "missing field `input`",
        ] {
            assert_eq!(describe("listen", message), message);
        }
    }
}
