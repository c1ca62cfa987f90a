//! The gateway's Prometheus metrics: what requests, tokens, cost, upstream
//! failures and the cache look like, rendered for `GET /metrics`.
//!
//! Each [`Metrics`] owns its own registry; there is no global recorder, so
//! several gateways in one process (the integration tests) each count only
//! their own requests. Chat requests are counted from their
//! [`UsageRecord`] when the response ends; upstream errors, retries and
//! fallbacks as they happen; values that live elsewhere (cache size,
//! dropped usage records, spend against budgets) are read at scrape time
//! into a [`Snapshot`].
//!
//! Label values are bounded: the model name comes from clients, so it is cut
//! to [`MAX_LABEL_CHARS`] characters, a request that never reached a
//! provider has model `unknown`, and past [`MAX_MODELS`] distinct names new
//! ones count as `other` (the label sets and these bounds are
//! [`labels`]'). Escaping of quotes, backslashes and newlines is the
//! encoder's.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::usage::{CacheStatus, UsageRecord};
use labels::{
    ErrorLabels, FallbackLabels, ModelLabels, ModelNames, ProviderLabels, RequestLabels,
    TimingLabels, TokenLabels, UNKNOWN, label,
};
pub use labels::{MAX_LABEL_CHARS, MAX_MODELS};

mod labels;
mod scraped;

/// The scrape's content type. prometheus-client writes OpenMetrics text
/// (counters as `name_total` under `# TYPE name counter`, a closing
/// `# EOF`), which Prometheus reads under this type and asks for first; the
/// older `text/plain; version=0.0.4` format would not match those names.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets for request duration and time to first byte, seconds: 1 ms for
/// a cache hit to 5 min for a long reasoning answer.
const TIME_BUCKETS: [f64; 17] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

type Timing = Family<TimingLabels, Histogram, fn() -> Histogram>;
type Usd = Counter<f64, AtomicU64>;

/// Values read at scrape time from the parts that own them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Entries in the response cache.
    pub cache_entries: u64,
    /// Their size on disk, bytes.
    pub cache_bytes: u64,
    /// Usage records dropped since start (the recorder's queue was full).
    pub usage_dropped: u64,
    /// Every budget with its spend.
    pub budgets: crate::budgets::BudgetsView,
    /// With the cache shared through Redis: whether it answers now, and
    /// its failed (or skipped) commands since start.
    pub shared_cache: Option<(bool, u64)>,
}

/// One gateway's metrics. Shared behind an `Arc`; every method takes
/// `&self` (the metric types are atomics and locked maps).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Timing,
    first_byte: Timing,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelLabels, Usd>,
    cost_saved: Family<ModelLabels, Usd>,
    provider_cache_saved: Family<ModelLabels, Usd>,
    upstream_errors: Family<ErrorLabels, Counter>,
    retries: Family<ProviderLabels, Counter>,
    fallbacks: Family<FallbackLabels, Counter>,
    in_flight: Gauge,
    shared_flights: Counter,
    cache_entries: Gauge<u64, AtomicU64>,
    cache_bytes: Gauge<u64, AtomicU64>,
    usage_dropped: Counter,
    scraped: scraped::ScrapedGauges,
    models: ModelNames,
    /// Hits and misses since start, for the dashboard's hit rate.
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    /// Responses ended since start (the memory trimmer's sign of activity).
    responses_ended: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under `llm_bridge_`.
    pub fn new() -> Self {
        let timing = || Family::new_with_constructor(time_histogram as fn() -> Histogram);
        let metrics = Self {
            registry: Registry::with_prefix("llm_bridge"),
            requests: Family::default(),
            duration: timing(),
            first_byte: timing(),
            tokens: Family::default(),
            cost: Family::default(),
            cost_saved: Family::default(),
            provider_cache_saved: Family::default(),
            upstream_errors: Family::default(),
            retries: Family::default(),
            fallbacks: Family::default(),
            in_flight: Gauge::default(),
            shared_flights: Counter::default(),
            cache_entries: Gauge::default(),
            cache_bytes: Gauge::default(),
            usage_dropped: Counter::default(),
            scraped: scraped::ScrapedGauges::default(),
            models: ModelNames::default(),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            responses_ended: AtomicU64::new(0),
        };
        metrics.register()
    }

    /// Adds every metric to the registry. The order is the scrape's order.
    fn register(mut self) -> Self {
        self.register_requests();
        self.register_spending();
        self.register_upstream();
        self.register_flights();
        self.register_scrape_time();
        self
    }

    /// `requests` and its two timing histograms.
    fn register_requests(&mut self) {
        let r = &mut self.registry;
        r.register(
            "requests",
            "Requests (every API) by provider, model, HTTP status and x-cache (NONE: ended before the cache was consulted)",
            self.requests.clone(),
        );
        r.register_with_unit(
            "request_duration",
            "Time from request to the end of the response body",
            Unit::Seconds,
            self.duration.clone(),
        );
        r.register_with_unit(
            "time_to_first_byte",
            "Time from request to the first byte of the response body",
            Unit::Seconds,
            self.first_byte.clone(),
        );
    }

    /// What requests spent: tokens, cost, and what llm-bridge's cache and
    /// the providers' prompt caches saved.
    fn register_spending(&mut self) {
        let r = &mut self.registry;
        r.register(
            "tokens",
            "Tokens by kind (prompt, completion; cached: prompt tokens the provider served from its prompt cache; cache_write, cache_write_1h: prompt tokens written to it, 5-minute and 1-hour entries; reasoning: completion tokens spent reasoning); estimated=true for local counts",
            self.tokens.clone(),
        );
        r.register(
            "cost_usd",
            "What requests cost, USD, from the price table; models without a price add nothing",
            self.cost.clone(),
        );
        r.register(
            "cost_saved_usd",
            "What llm-bridge's cache hits saved, USD: the cost of the answers they replayed",
            self.cost_saved.clone(),
        );
        r.register(
            "provider_cache_saved_usd",
            "What providers' prompt caches saved, USD: cached prompt tokens at the input price less at the cached price",
            self.provider_cache_saved.clone(),
        );
    }

    /// Upstream failures, retries and fallbacks.
    fn register_upstream(&mut self) {
        let r = &mut self.registry;
        r.register(
            "upstream_errors",
            "Failed upstream attempts by provider and kind",
            self.upstream_errors.clone(),
        );
        r.register(
            "upstream_retries",
            "Upstream attempts repeated after a failure",
            self.retries.clone(),
        );
        r.register(
            "fallbacks",
            "Requests passed from a failing model to a fallback",
            self.fallbacks.clone(),
        );
    }

    /// Responses in flight and flights shared.
    fn register_flights(&mut self) {
        let r = &mut self.registry;
        r.register(
            "in_flight_requests",
            "Requests whose response has not ended",
            self.in_flight.clone(),
        );
        r.register(
            "shared_flights",
            "Requests that joined an identical request's upstream call in flight instead of making their own",
            self.shared_flights.clone(),
        );
    }

    /// The values [`Metrics::render`] reads from a [`Snapshot`].
    fn register_scrape_time(&mut self) {
        let r = &mut self.registry;
        r.register(
            "cache_entries",
            "Entries in the response cache",
            self.cache_entries.clone(),
        );
        r.register_with_unit(
            "cache",
            "Size of the response cache on disk",
            Unit::Bytes,
            self.cache_bytes.clone(),
        );
        r.register(
            "usage_records_dropped",
            "Usage records dropped because the usage store fell behind",
            self.usage_dropped.clone(),
        );
        self.scraped.register(r);
    }

    /// Counts a request that joined another's upstream call.
    pub fn flight_joined(&self) {
        self.shared_flights.inc();
    }

    /// Counts a finished chat request: the request, its timings, tokens and
    /// cost.
    pub fn record(&self, record: &UsageRecord) {
        let provider = label(record.provider.as_deref());
        let model = match record.provider {
            Some(_) => self.models.label(
                record
                    .model_answered
                    .as_deref()
                    .or(record.model_asked.as_deref()),
            ),
            None => UNKNOWN.to_string(),
        };
        let cache = record.cache.map_or("NONE", CacheStatus::as_str);
        match record.cache {
            Some(CacheStatus::Hit) => self.cache_hits.fetch_add(1, Ordering::Relaxed),
            Some(CacheStatus::Miss) => self.cache_misses.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        self.requests
            .get_or_create(&RequestLabels {
                provider: provider.clone(),
                model: model.clone(),
                status: record.status,
                cache,
            })
            .inc();
        let timing = TimingLabels {
            provider: provider.clone(),
            cache,
        };
        self.duration
            .get_or_create(&timing)
            .observe(seconds(record.total_ms));
        if let Some(ttfb) = record.ttfb_ms {
            self.first_byte
                .get_or_create(&timing)
                .observe(seconds(ttfb));
        }
        self.count_tokens(record, &provider, &model);
        let labels = ModelLabels { provider, model };
        if let Some(cost) = usd(record.cost_usd) {
            self.cost.get_or_create(&labels).inc_by(cost);
        }
        if let Some(saved) = usd(record.cost_saved_usd) {
            self.cost_saved.get_or_create(&labels).inc_by(saved);
        }
        if let Some(saved) = usd(record.provider_cache_saved_usd) {
            self.provider_cache_saved
                .get_or_create(&labels)
                .inc_by(saved);
        }
    }

    /// Adds a record's tokens by kind. Only tokens a provider processed: a
    /// hit's tokens were not spent again (they show as cost saved).
    fn count_tokens(&self, record: &UsageRecord, provider: &str, model: &str) {
        if record.cache == Some(CacheStatus::Hit) {
            return;
        }
        let counts = [
            ("prompt", record.prompt_tokens),
            ("completion", record.completion_tokens),
            ("cached", record.cached_tokens),
            ("cache_write", record.cache_write_tokens),
            ("cache_write_1h", record.cache_write_1h_tokens),
            ("reasoning", record.reasoning_tokens),
        ];
        for (kind, count) in counts {
            if let Some(count) = count {
                self.tokens
                    .get_or_create(&TokenLabels {
                        provider: provider.to_string(),
                        model: model.to_string(),
                        kind,
                        estimated: record.estimated,
                    })
                    .inc_by(count);
            }
        }
    }

    /// Counts a failed upstream attempt; `kind` is one of a few fixed words
    /// (`unreachable`, `timeout`, `status_5xx`, `status_429`,
    /// `stream_broken`).
    pub fn upstream_error(&self, provider: &str, kind: &str) {
        self.upstream_errors
            .get_or_create(&ErrorLabels {
                provider: label(Some(provider)),
                kind: label(Some(kind)),
            })
            .inc();
    }

    /// Counts an upstream attempt repeated after a failure.
    pub fn retry(&self, provider: &str) {
        self.retries
            .get_or_create(&ProviderLabels {
                provider: label(Some(provider)),
            })
            .inc();
    }

    /// Counts a request passed from model `from` to fallback `to`.
    pub fn fallback(&self, from: &str, to: &str) {
        self.fallbacks
            .get_or_create(&FallbackLabels {
                from: self.models.label(Some(from)),
                to: self.models.label(Some(to)),
            })
            .inc();
    }

    /// `(hits, misses)` of the cache since start.
    pub fn cache_answers(&self) -> (u64, u64) {
        (
            self.cache_hits.load(Ordering::Relaxed),
            self.cache_misses.load(Ordering::Relaxed),
        )
    }

    /// A response has begun: it counts as in flight until
    /// [`Metrics::response_ended`].
    pub fn response_started(&self) {
        self.in_flight.inc();
    }

    /// A response counted by [`Metrics::response_started`] has ended.
    pub fn response_ended(&self) {
        self.in_flight.dec();
        self.responses_ended.fetch_add(1, Ordering::Relaxed);
    }

    /// `(in flight, ended since start)` of the responses.
    pub fn responses(&self) -> (u64, u64) {
        let in_flight = u64::try_from(self.in_flight.get()).unwrap_or(0);
        (in_flight, self.responses_ended.load(Ordering::Relaxed))
    }

    /// Every metric as OpenMetrics text (serve it as [`CONTENT_TYPE`]),
    /// with the scrape-time values from `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        self.cache_entries.set(snapshot.cache_entries);
        self.cache_bytes.set(snapshot.cache_bytes);
        // fetch_max keeps the counter monotonic when two scrapes race with
        // snapshots taken a moment apart.
        self.usage_dropped
            .inner()
            .fetch_max(snapshot.usage_dropped, Ordering::Relaxed);
        self.scraped.set(&snapshot.budgets);
        self.scraped.set_shared_cache(snapshot.shared_cache);
        let mut text = String::new();
        if let Err(error) = encode(&mut text, &self.registry) {
            // Writing to a String cannot fail; a metric's encoder could.
            tracing::warn!(%error, "metrics could not be rendered in full");
        }
        text
    }
}

fn time_histogram() -> Histogram {
    Histogram::new(TIME_BUCKETS)
}

fn seconds(ms: f64) -> f64 {
    ms.max(0.0) / 1000.0
}

/// An amount a counter can add: finite and not negative.
fn usd(amount: Option<f64>) -> Option<f64> {
    amount.filter(|a| a.is_finite() && *a >= 0.0)
}

#[cfg(test)]
mod tests;
