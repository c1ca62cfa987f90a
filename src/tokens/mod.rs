//! Token counts: [`Usage`], what an answer used, and local estimates — a
//! prompt before the upstream call (to reserve tokens-per-minute; each
//! request format has its counting rule, [`openai_chat`] for chat
//! completions) and plain text (to estimate a completion when the upstream
//! reports no usage).
//!
//! Counting uses tiktoken's BPE tables: o200k_base for the gpt-4o, gpt-4.1,
//! gpt-4.5, gpt-5, o1/o3/o4, gpt-oss and `chatgpt-*` families, cl100k_base
//! for everything else — including other vendors' models, whose own
//! tokenizers we do not ship, so for them the figure is an approximation.
//! Images follow the tile rule in [`image`].
//!
//! Each table is built once, on first use (tens of milliseconds to a few
//! hundred; see [`warm_up`]), and shared read-only by every thread. A
//! table that fails to build (it is compiled in, so it should not) is
//! replaced by a length-based guess of 4 bytes a token rather than an
//! error: an estimate must never fail a request.

mod image;
pub mod openai_chat;
mod usage;

pub use openai_chat::estimate_prompt_tokens;
pub use usage::Usage;

use std::sync::OnceLock;

use serde_json::Value;
use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

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
pub(crate) enum Encoding {
    Cl100k,
    O200k,
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

pub(crate) fn json_tokens(encoding: Encoding, value: &Value) -> u64 {
    count(encoding, &value.to_string())
}

pub(crate) fn count(encoding: Encoding, text: &str) -> u64 {
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
pub(crate) fn encoding_for(model: &str) -> Encoding {
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
