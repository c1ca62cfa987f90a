//! A chat message's content written as Anthropic content blocks: text
//! parts as `text` blocks, `image_url` parts as `image` blocks (a `data:`
//! URL as a base64 source, an http(s) URL as a URL source). A part's
//! `cache_control` stays on its block; a message's goes on its last block,
//! where Anthropic reads a breakpoint. Empty text is never sent: Anthropic
//! refuses empty text blocks.

use serde_json::{Value, json};

use crate::error::AppError;
use crate::error::invalid;

/// The blocks of a message's `content` (a string, a list of parts, or
/// absent).
pub(super) fn blocks(content: Option<&Value>) -> Result<Vec<Value>, AppError> {
    match content {
        Some(Value::String(text)) => Ok(text_block(text, None).into_iter().collect()),
        Some(Value::Array(parts)) => {
            let mut blocks = Vec::new();
            for part in parts {
                blocks.extend(part_block(part)?);
            }
            Ok(blocks)
        }
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(_) => Err(invalid(
            "messages",
            "a message's content must be a string or a list of parts",
        )),
    }
}

/// A `text` block, or nothing for empty text.
fn text_block(text: &str, cache_control: Option<&Value>) -> Option<Value> {
    if text.is_empty() {
        return None;
    }
    let mut block = json!({"type": "text", "text": text});
    with_cache_control(&mut block, cache_control);
    Some(block)
}

/// Puts a message's `cache_control` on the last of its blocks.
pub(super) fn mark_last(blocks: &mut [Value], cache_control: Option<&Value>) {
    if let Some(last) = blocks.last_mut() {
        with_cache_control(last, cache_control);
    }
}

fn with_cache_control(block: &mut Value, cache_control: Option<&Value>) {
    if let (Some(block), Some(control)) = (block.as_object_mut(), cache_control)
        && !control.is_null()
    {
        block.insert("cache_control".into(), control.clone());
    }
}

/// One content part's block (none for empty text).
fn part_block(part: &Value) -> Result<Option<Value>, AppError> {
    let cache_control = part.get("cache_control");
    let text = |name: &str| part.get(name).and_then(Value::as_str);
    let mut block = match text("type") {
        Some("text" | "input_text") => {
            return Ok(text_block(text("text").unwrap_or(""), cache_control));
        }
        // An assistant's earlier refusal is what it said.
        Some("refusal") => return Ok(text_block(text("refusal").unwrap_or(""), cache_control)),
        Some("image_url") => image_block(part.get("image_url"))?,
        Some(other) => {
            return Err(AppError::Unsupported(format!(
                "content parts of type `{other}` have no counterpart in Anthropic's Messages API"
            )));
        }
        None => return Err(invalid("messages", "a content part has no `type`")),
    };
    with_cache_control(&mut block, cache_control);
    Ok(Some(block))
}

/// An `image` block for an `image_url` (an object with `url`, or the URL).
fn image_block(image_url: Option<&Value>) -> Result<Value, AppError> {
    let url = image_url
        .and_then(|i| i.get("url").or(Some(i)))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("messages", "an image_url part has no url"))?;
    let source = match url.strip_prefix("data:") {
        Some(data_url) => base64_source(data_url)?,
        None if url.starts_with("https://") || url.starts_with("http://") => {
            json!({"type": "url", "url": url})
        }
        None => {
            return Err(invalid(
                "messages",
                "an image URL must be an http(s) URL or a base64 data: URL",
            ));
        }
    };
    Ok(json!({"type": "image", "source": source}))
}

/// The base64 source of a data URL's `MEDIA_TYPE;base64,DATA`.
fn base64_source(data_url: &str) -> Result<Value, AppError> {
    let (head, data) = data_url
        .split_once(',')
        .ok_or_else(|| invalid("messages", "an image data: URL has no data"))?;
    let media_type = head
        .strip_suffix(";base64")
        .ok_or_else(|| invalid("messages", "an image data: URL must be base64"))?;
    Ok(json!({"type": "base64", "media_type": media_type, "data": data}))
}
