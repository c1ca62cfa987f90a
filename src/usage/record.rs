//! One request as the usage store, the reports and the metrics see it,
//! built once when the response body ends.

use serde::Serialize;

use crate::notes::Notes;
use crate::prices::Cost;
use crate::tokens::Usage;

/// Where the answer came from, as the `x-cache` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CacheStatus {
    Hit,
    Miss,
    Bypass,
}

impl CacheStatus {
    /// `HIT`, `MISS`, `BYPASS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Bypass => "BYPASS",
        }
    }

    /// The status [`Self::as_str`] names (as the database and the `x-cache`
    /// header spell it), case-insensitive.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Hit, Self::Miss, Self::Bypass]
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(text))
    }
}

/// One chat request. Token and cost fields are `None` when unknown (an
/// error, no usage and nothing to estimate from, a model without a price).
/// Serialized as the dashboard's request rows (`/api/requests`, the live
/// feed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageRecord {
    /// When the request arrived, Unix milliseconds.
    pub time_ms: i64,
    pub request_id: String,
    /// The route, without `/v1/`: `chat/completions`, `messages`,
    /// `responses`, `embeddings`, `completions`.
    pub endpoint: String,
    /// The access key's name (or fingerprint); `None` in open mode without
    /// a client key.
    pub key_name: Option<String>,
    /// The provider that answered (a fallback's, when one did), else the
    /// one asked.
    pub provider: Option<String>,
    /// The model as the client named it.
    pub model_asked: Option<String>,
    /// The upstream model that answered.
    pub model_answered: Option<String>,
    pub stream: bool,
    /// `None` when the request ended before the cache was consulted.
    pub cache: Option<CacheStatus>,
    /// The cache entry's key (hex SHA-256), when the request had one.
    pub cache_key: Option<String>,
    pub status: u16,
    /// The gateway's error code, when it answered with an error.
    pub error: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// Prompt tokens the provider served from its own prompt cache.
    pub cached_tokens: Option<u64>,
    /// Prompt tokens written to the provider's prompt cache, 5-minute
    /// entries (and OpenAI-style writes with no lifetime).
    pub cache_write_tokens: Option<u64>,
    /// Prompt tokens written to a 1-hour prompt cache entry (Anthropic).
    pub cache_write_1h_tokens: Option<u64>,
    /// Completion tokens spent reasoning (part of `completion_tokens`).
    pub reasoning_tokens: Option<u64>,
    /// Whether the token counts are local estimates, not the provider's.
    pub estimated: bool,
    /// What the request cost, USD; `None` for an unknown price. A cache hit
    /// costs 0.
    pub cost_usd: Option<f64>,
    /// What a cache hit saved: the cost of the answer it replayed, USD.
    pub cost_saved_usd: Option<f64>,
    /// What the provider's own prompt cache saved on this request, USD:
    /// its cached reads at the input price less at the cached price. An
    /// answer from llm-bridge's cache (a hit, or a shared flight) reached
    /// no provider, so the provider saved nothing on it: 0 (its whole cost
    /// shows in `cost_saved_usd` instead). `None` for an unknown price.
    pub provider_cache_saved_usd: Option<f64>,
    /// Time to the first byte of the response body, ms.
    pub ttfb_ms: Option<f64>,
    /// Time to the end of the response body, ms.
    pub total_ms: f64,
    /// The instance that served it, as the ledger has it (set by the
    /// usage store when it writes the row).
    pub instance: Option<String>,
}

/// A finished request, as its notes have it.
#[derive(Debug)]
pub struct Finished<'a> {
    pub time_ms: i64,
    pub request_id: &'a str,
    /// The request's path.
    pub path: &'a str,
    pub notes: &'a Notes,
    pub status: u16,
    pub error: Option<&'a str>,
    pub ttfb_ms: Option<f64>,
    pub total_ms: f64,
}

impl UsageRecord {
    /// The record of a finished chat request. Tokens come from the reported
    /// usage or, for a successful answer without one, a local estimate
    /// (marked so). `price` gives the cost of a usage for a provider and
    /// model, `None` when the model has no price.
    pub fn build(
        finished: &Finished<'_>,
        price: impl Fn(&str, &str, &Usage) -> Option<Cost>,
    ) -> Self {
        let entry = finished.notes;
        let metering = &entry.metering;
        let success = (200..300).contains(&finished.status);
        let (usage, estimated) = match (metering.usage, success) {
            (Some(usage), true) => (Some(usage), false),
            (None, true) => (estimate(entry), true),
            (_, false) => (None, false),
        };
        let cache = entry.cache.and_then(CacheStatus::parse);
        let cost = match (&usage, &entry.provider, &entry.upstream_model) {
            (Some(usage), Some(provider), Some(model)) => price(provider, model, usage),
            _ => None,
        };
        let free = cache == Some(CacheStatus::Hit) || metering.shared;
        let (cost_usd, cost_saved_usd, provider_cache_saved_usd) =
            split_cost(free, usage.is_some(), cost);
        Self {
            time_ms: finished.time_ms,
            request_id: finished.request_id.to_string(),
            endpoint: endpoint_of(finished.path).to_string(),
            key_name: entry.key_id.clone(),
            provider: entry.provider.clone(),
            model_asked: entry.model.clone(),
            model_answered: entry.upstream_model.clone(),
            stream: entry.stream.unwrap_or(false),
            cache,
            cache_key: entry.cache_key.clone(),
            status: finished.status,
            error: finished.error.map(str::to_string),
            prompt_tokens: usage.map(|u| u.prompt_tokens),
            completion_tokens: usage.and_then(|u| {
                // An estimate without the answer's text (or, for a cut
                // stream, its event count) has no output count.
                let counted =
                    metering.answer_text.is_some() || metering.events_before_end.is_some();
                (!estimated || counted).then_some(u.completion_tokens)
            }),
            cached_tokens: usage.map(|u| u.cached_tokens),
            cache_write_tokens: usage.map(|u| u.cache_write_tokens),
            cache_write_1h_tokens: usage.map(|u| u.cache_write_1h_tokens),
            reasoning_tokens: usage.map(|u| u.reasoning_tokens),
            estimated: estimated && usage.is_some(),
            cost_usd,
            cost_saved_usd,
            provider_cache_saved_usd,
            ttfb_ms: finished.ttfb_ms,
            total_ms: finished.total_ms,
            instance: None,
        }
    }
}

/// A route as the dashboard names it: the path without `/v1/` (or `/`).
pub fn endpoint_of(path: &str) -> &str {
    path.strip_prefix("/v1/")
        .unwrap_or_else(|| path.trim_start_matches('/'))
}

/// `(cost, saved by llm-bridge's cache, saved by the provider's prompt
/// cache)` of a request whose usage (if `known`) costs `cost`. An answer
/// llm-bridge served itself (`free`: a hit or a shared flight) cost
/// nothing and reached no provider: llm-bridge saved its whole cost, the
/// provider's cache nothing.
fn split_cost(
    free: bool,
    known: bool,
    cost: Option<Cost>,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    match (free, cost) {
        (true, saved) => (
            known.then_some(0.0),
            saved.map(|c| c.cost_usd),
            saved.map(|_| 0.0),
        ),
        (false, cost) => (
            cost.map(|c| c.cost_usd),
            None,
            cost.map(|c| c.provider_cache_saved_usd),
        ),
    }
}

/// Local counts for an answer that reported no usage: the prompt from the
/// request body, the completion from the gathered text.
fn estimate(entry: &Notes) -> Option<Usage> {
    let metering = &entry.metering;
    let prompt = metering.prompt.as_ref()?;
    let model = entry
        .upstream_model
        .as_deref()
        .or(entry.model.as_deref())
        .unwrap_or_default();
    Some(Usage {
        prompt_tokens: (prompt.estimate)(model, &prompt.body),
        completion_tokens: match (&metering.answer_text, metering.events_before_end) {
            (Some(text), _) => crate::tokens::count_text_tokens(model, text),
            (None, Some(events)) => events,
            (None, None) => 0,
        },
        ..Usage::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_llm_bridge_served_saved_its_cost_and_the_provider_nothing() {
        let cost = Cost {
            cost_usd: 0.0065,
            provider_cache_saved_usd: 0.0015,
        };
        assert_eq!(
            split_cost(false, true, Some(cost)),
            (Some(0.0065), None, Some(0.0015))
        );
        assert_eq!(
            split_cost(true, true, Some(cost)),
            (Some(0.0), Some(0.0065), Some(0.0))
        );
        // No price: a hit still cost nothing, but what it saved is unknown.
        assert_eq!(split_cost(true, true, None), (Some(0.0), None, None));
        assert_eq!(split_cost(false, true, None), (None, None, None));
        assert_eq!(split_cost(true, false, None), (None, None, None));
    }
}
