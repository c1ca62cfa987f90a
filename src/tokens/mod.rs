//! Token estimates: a chat-completions prompt before the upstream call (to
//! reserve tokens-per-minute), and plain text (to estimate a completion
//! when the upstream reports no usage).
//!
//! Counting uses tiktoken's BPE tables: o200k_base for the gpt-4o, gpt-4.1,
//! gpt-4.5, gpt-5, o1/o3/o4, gpt-oss and `chatgpt-*` families, cl100k_base
//! for everything else — including other vendors' models, whose own
//! tokenizers we do not ship, so for them the figure is an approximation.
//! Messages follow OpenAI's published rule (its cookbook's
//! `num_tokens_from_messages`): 3 tokens a message, the tokens of every
//! string field (role, content, name, …), 1 more for `name`, and 3 to prime
//! the reply. Tool and function definitions and tool calls count as their
//! JSON text, which somewhat overstates what OpenAI charges for them;
//! images follow the tile rule in [`image`]; audio and file parts count 0
//! (their cost is not knowable from the request), so settling with the
//! real usage corrects those.
//!
//! Each table is built once, on first use (tens of milliseconds to a few
//! hundred; see [`warm_up`]), and shared read-only by every thread. A
//! table that fails to build (it is compiled in, so it should not) is
//! replaced by a length-based guess of 4 bytes a token rather than an
//! error: an estimate must never fail a request.

mod image;

use std::sync::OnceLock;

use serde_json::Value;
use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

/// Framing tokens of each message (`<|start|>{role}\n…<|end|>`).
const TOKENS_PER_MESSAGE: u64 = 3;
/// A message with a `name` costs one token more.
const TOKENS_PER_NAME: u64 = 1;
/// Every reply is primed with `<|start|>assistant<|message|>`.
const REPLY_PRIMING: u64 = 3;
/// Bytes a token for the fallback guess: OpenAI's rule of thumb for English.
const FALLBACK_BYTES_PER_TOKEN: u64 = 4;

/// Model families counted with o200k_base. A name matches a family when it
/// equals it or continues with `-` or `.` (`gpt-5.1`, `o3-mini`), so `o1`
/// does not claim `o100`.
const O200K_FAMILIES: &[&str] = &[
    "gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss", "codex",
];

/// Which BPE table a model is counted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Cl100k,
    O200k,
}

/// Estimated prompt tokens of a chat-completions request body (the JSON
/// value), by OpenAI's published counting rule: per message 3 tokens +
/// content tokens (+1 for `name`), plus 3 for the reply priming; text parts
/// of array contents; tool/function definitions and tool calls counted as
/// their JSON text; images by OpenAI's tile rule.
pub fn estimate_prompt_tokens(model: &str, body: &serde_json::Value) -> u64 {
    let encoding = encoding_for(model);
    let mut total = 0u64;
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for message in messages {
            total = total
                .saturating_add(TOKENS_PER_MESSAGE)
                .saturating_add(message_tokens(encoding, message));
        }
        total = total.saturating_add(REPLY_PRIMING);
    }
    for key in ["tools", "functions"] {
        if let Some(definitions) = body.get(key).filter(|v| !v.is_null()) {
            total = total.saturating_add(json_tokens(encoding, definitions));
        }
    }
    total
}

/// Tokens of a plain text (used later to estimate completions when the
/// upstream reports no usage).
pub fn count_text_tokens(model: &str, text: &str) -> u64 {
    count(encoding_for(model), text)
}

/// Builds both BPE tables on a background thread, so the first request
/// does not pay for them. Returns at once; calling it again is harmless.
pub fn warm_up() {
    let spawned = std::thread::Builder::new()
        .name("tokenizer-warm-up".into())
        .spawn(|| {
            let started = std::time::Instant::now();
            bpe(Encoding::O200k);
            bpe(Encoding::Cl100k);
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis(),
                "token tables built"
            );
        });
    if let Err(error) = spawned {
        // Not fatal: the tables are then built on first use instead.
        tracing::warn!(%error, "could not start the tokenizer warm-up thread");
    }
}

fn message_tokens(encoding: Encoding, message: &Value) -> u64 {
    let Some(fields) = message.as_object() else {
        return json_tokens(encoding, message);
    };
    let mut total = 0u64;
    for (key, value) in fields {
        let tokens = match value {
            _ if key == "content" => content_tokens(encoding, value),
            Value::Null => 0,
            Value::String(text) => count(encoding, text),
            // tool_calls, function_call, audio references: their JSON text.
            other => json_tokens(encoding, other),
        };
        total = total.saturating_add(tokens);
        if key == "name" {
            total = total.saturating_add(TOKENS_PER_NAME);
        }
    }
    total
}

fn content_tokens(encoding: Encoding, content: &Value) -> u64 {
    match content {
        Value::Null => 0,
        Value::String(text) => count(encoding, text),
        Value::Array(parts) => parts
            .iter()
            .map(|part| part_tokens(encoding, part))
            .fold(0, u64::saturating_add),
        other => json_tokens(encoding, other),
    }
}

fn part_tokens(encoding: Encoding, part: &Value) -> u64 {
    let text_of = |key: &str| part.get(key).and_then(Value::as_str).unwrap_or_default();
    match part.get("type").and_then(Value::as_str) {
        Some("text") => count(encoding, text_of("text")),
        Some("refusal") => count(encoding, text_of("refusal")),
        Some("image_url") => part.get("image_url").map_or(0, image::image_tokens),
        _ => match part {
            Value::String(text) => count(encoding, text),
            // input_audio, file and unknown parts: cost not knowable here.
            _ => 0,
        },
    }
}

fn json_tokens(encoding: Encoding, value: &Value) -> u64 {
    count(encoding, &value.to_string())
}

fn count(encoding: Encoding, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    match bpe(encoding) {
        // encode_ordinary: text that spells a special token such as
        // `<|endoftext|>` is counted as the plain text the upstream sees.
        Some(bpe) => to_u64(bpe.encode_ordinary(text).len()),
        None => to_u64(text.len()).div_ceil(FALLBACK_BYTES_PER_TOKEN),
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The model's encoding: our family list first (it also knows names the
/// tiktoken crate may not, like `chatgpt-*`), then the crate's own table.
fn encoding_for(model: &str) -> Encoding {
    // Gateway routes like `openai/gpt-4o` and fine-tunes like
    // `ft:gpt-4o-mini:org::id` name the base model after the decoration.
    let base = model.rsplit('/').next().unwrap_or(model);
    let base = base.strip_prefix("ft:").unwrap_or(base);
    let base = base.to_ascii_lowercase();
    let in_family = |family: &&str| {
        base.strip_prefix(family)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '.', ':']))
    };
    if base.starts_with("chatgpt-") || O200K_FAMILIES.iter().any(in_family) {
        return Encoding::O200k;
    }
    match get_tokenizer(&base) {
        Some(Tokenizer::O200kBase | Tokenizer::O200kHarmony) => Encoding::O200k,
        _ => Encoding::Cl100k,
    }
}

/// The encoding's table, built on first use; `None` if it failed to build.
fn bpe(encoding: Encoding) -> Option<&'static CoreBPE> {
    static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
    let (cell, name) = match encoding {
        Encoding::Cl100k => (&CL100K, "cl100k_base"),
        Encoding::O200k => (&O200K, "o200k_base"),
    };
    cell.get_or_init(|| {
        let built = match encoding {
            Encoding::Cl100k => tiktoken_rs::cl100k_base(),
            Encoding::O200k => tiktoken_rs::o200k_base(),
        };
        match built {
            Ok(bpe) => Some(bpe),
            Err(error) => {
                tracing::error!(%error, encoding = name, "token table failed to build; guessing by length");
                None
            }
        }
    })
    .as_ref()
}

#[cfg(test)]
mod tests;
