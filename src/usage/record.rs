//! One chat request as the usage store, the reports and the metrics see
//! it, built once when the response body ends.

/// Where the answer came from, as the `x-cache` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// One chat request. Token and cost fields are `None` when unknown (an
/// error, no usage and nothing to estimate from, a model without a price).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    /// When the request arrived, Unix milliseconds.
    pub time_ms: i64,
    pub request_id: String,
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
    pub status: u16,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// Prompt tokens the provider served from its own prompt cache.
    pub cached_tokens: Option<u64>,
    /// Whether the token counts are local estimates, not the provider's.
    pub estimated: bool,
    /// What the request cost, USD; `None` for an unknown price. A cache hit
    /// costs 0.
    pub cost_usd: Option<f64>,
    /// What a cache hit saved: the cost of the answer it replayed, USD.
    pub cost_saved_usd: Option<f64>,
    /// Time to the first byte of the response body, ms.
    pub ttfb_ms: Option<f64>,
    /// Time to the end of the response body, ms.
    pub total_ms: f64,
}
