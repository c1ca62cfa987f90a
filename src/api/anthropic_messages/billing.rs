//! Claude Code's billing line: a line `x-anthropic-billing-header: …;
//! cch=<hash>;` it puts in the system prompt (as a text block of its own,
//! or a line inside one), whose hash changes with every request. It never
//! decides the answer, so the cache key leaves it out (else no Claude Code
//! request would ever hit), and translation drops it (no other provider
//! reads it).

use serde_json::Value;

/// What the billing line starts with.
const BILLING_PREFIX: &str = "x-anthropic-billing-header:";

/// The system prompt (a string or text blocks) without the billing line
/// or block; `None` when it has none.
pub fn without_billing_line(system: &Value) -> Option<Value> {
    match system {
        Value::String(text) => without_line(text).map(Value::String),
        Value::Array(blocks) => {
            let mut changed = false;
            let mut kept = Vec::with_capacity(blocks.len());
            for block in blocks {
                match block_without_line(block) {
                    Some(Some(block)) => {
                        changed = true;
                        kept.push(block);
                    }
                    Some(None) => changed = true,
                    None => kept.push(block.clone()),
                }
            }
            changed.then_some(Value::Array(kept))
        }
        _ => None,
    }
}

/// A text block without the billing line: `None` when it has none,
/// `Some(None)` when nothing else is left of it.
fn block_without_line(block: &Value) -> Option<Option<Value>> {
    let text = block.get("text").and_then(Value::as_str)?;
    let rest = without_line(text)?;
    if rest.trim().is_empty() {
        return Some(None);
    }
    let mut block = block.clone();
    if let Some(object) = block.as_object_mut() {
        object.insert("text".into(), Value::String(rest));
    }
    Some(Some(block))
}

/// `text` without its billing lines; `None` when it has none.
fn without_line(text: &str) -> Option<String> {
    let is_billing = |line: &str| line.trim_start().starts_with(BILLING_PREFIX);
    if !text.lines().any(is_billing) {
        return None;
    }
    let kept: Vec<&str> = text.lines().filter(|line| !is_billing(line)).collect();
    Some(kept.join("\n"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const LINE: &str =
        "x-anthropic-billing-header: cc_version=2.0.14.a1b; cc_entrypoint=cli; cch=4f2e1;";

    #[test]
    fn a_billing_block_is_left_out() {
        let system = json!([
            {"type": "text", "text": LINE},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}}
        ]);
        assert_eq!(
            without_billing_line(&system),
            Some(
                json!([{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}}])
            )
        );
    }

    #[test]
    fn a_billing_line_inside_a_text_is_left_out() {
        let system = json!(format!("{LINE}\nYou are a helpful assistant.\nBe brief."));
        assert_eq!(
            without_billing_line(&system),
            Some(json!("You are a helpful assistant.\nBe brief."))
        );
        let blocks = json!([{"type": "text", "text": format!("Intro\n{LINE}")}]);
        assert_eq!(
            without_billing_line(&blocks),
            Some(json!([{"type": "text", "text": "Intro"}]))
        );
    }

    #[test]
    fn a_system_without_one_is_none() {
        assert_eq!(without_billing_line(&json!("You are helpful.")), None);
        assert_eq!(
            without_billing_line(&json!([{"type": "text", "text": "x-anthropic is not it"}])),
            None
        );
        assert_eq!(without_billing_line(&json!(null)), None);
    }
}
