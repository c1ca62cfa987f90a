//! The figures of a report: reads the window's requests, sorts them into
//! groups and sums each group, with its latency percentiles. Everything is
//! computed from the rows here, as [`super`] explains (SQLite has no
//! percentile function).

use std::collections::HashMap;

use rusqlite::Connection;

use super::{GroupBy, StatsQuery, StatsRow};

/// One stored request, as far as reports need it.
struct Request {
    time_ms: i64,
    key_name: Option<String>,
    provider: Option<String>,
    model_asked: Option<String>,
    model_answered: Option<String>,
    hit: bool,
    status: i64,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    cached_tokens: Option<i64>,
    cache_write_tokens: Option<i64>,
    cache_write_1h_tokens: Option<i64>,
    reasoning_tokens: Option<i64>,
    estimated: bool,
    cost_usd: Option<f64>,
    cost_saved_usd: Option<f64>,
    provider_cache_saved_usd: Option<f64>,
    ttfb_ms: Option<f64>,
    total_ms: f64,
    instance: Option<String>,
}

pub(super) fn tally(
    connection: &Connection,
    query: &StatsQuery,
) -> rusqlite::Result<(Vec<StatsRow>, StatsRow)> {
    let mut statement = connection.prepare(
        "SELECT time_ms, key_name, provider, model_asked, model_answered, cache, status, \
         prompt_tokens, completion_tokens, cached_tokens, estimated, cost_usd, cost_saved_usd, \
         ttfb_ms, total_ms, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, \
         provider_cache_saved_usd, instance FROM requests WHERE time_ms >= ?1 AND time_ms < ?2",
    )?;
    let since = query.since.unwrap_or(i64::MIN);
    let until = query.until.unwrap_or(i64::MAX);
    let requests = statement.query_map([since, until], |row| {
        Ok(Request {
            time_ms: row.get(0)?,
            key_name: row.get(1)?,
            provider: row.get(2)?,
            model_asked: row.get(3)?,
            model_answered: row.get(4)?,
            hit: row.get::<_, Option<String>>(5)?.as_deref() == Some("HIT"),
            status: row.get(6)?,
            prompt_tokens: row.get(7)?,
            completion_tokens: row.get(8)?,
            cached_tokens: row.get(9)?,
            estimated: row.get(10)?,
            cost_usd: row.get(11)?,
            cost_saved_usd: row.get(12)?,
            ttfb_ms: row.get(13)?,
            total_ms: row.get(14)?,
            cache_write_tokens: row.get(15)?,
            cache_write_1h_tokens: row.get(16)?,
            reasoning_tokens: row.get(17)?,
            provider_cache_saved_usd: row.get(18)?,
            instance: row.get(19)?,
        })
    })?;
    let mut total = Tally::default();
    let mut groups: HashMap<String, Tally> = HashMap::new();
    for request in requests {
        let request = request?;
        total.add(&request);
        if let Some(by) = query.by {
            groups
                .entry(group_of(by, &request))
                .or_default()
                .add(&request);
        }
    }
    let mut rows: Vec<StatsRow> = groups
        .into_iter()
        .map(|(group, tally)| tally.finish(Some(group)))
        .collect();
    if query.by == Some(GroupBy::Day) {
        rows.sort_by(|a, b| a.group.cmp(&b.group));
    } else {
        rows.sort_by(|a, b| {
            b.cost_usd
                .unwrap_or(0.0)
                .total_cmp(&a.cost_usd.unwrap_or(0.0))
                .then(b.requests.cmp(&a.requests))
                .then(a.group.cmp(&b.group))
        });
    }
    Ok((rows, total.finish(None)))
}

/// How a missing name shows in a group.
pub(super) const NONE: &str = "(none)";

/// `provider/model`, by the model that answered (else the one asked).
pub(super) fn model_label(
    provider: Option<&str>,
    model_answered: Option<&str>,
    model_asked: Option<&str>,
) -> String {
    let model = model_answered.or(model_asked).unwrap_or(NONE);
    match provider {
        Some(provider) => format!("{provider}/{model}"),
        None => model.to_string(),
    }
}

/// The group a request falls in. Missing names show as `(none)`.
fn group_of(by: GroupBy, request: &Request) -> String {
    match by {
        GroupBy::Model => model_label(
            request.provider.as_deref(),
            request.model_answered.as_deref(),
            request.model_asked.as_deref(),
        ),
        GroupBy::Provider => request.provider.as_deref().unwrap_or(NONE).to_string(),
        GroupBy::Key => request.key_name.as_deref().unwrap_or(NONE).to_string(),
        GroupBy::Instance => request.instance.as_deref().unwrap_or(NONE).to_string(),
        GroupBy::Day => chrono::DateTime::from_timestamp_millis(request.time_ms)
            .map_or_else(|| NONE.to_string(), |t| t.format("%Y-%m-%d").to_string()),
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    hits: u64,
    errors: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    cached_tokens: u64,
    cache_write_tokens: u64,
    cache_write_1h_tokens: u64,
    reasoning_tokens: u64,
    estimated: u64,
    cost: f64,
    cost_known: u64,
    saved: f64,
    provider_saved: f64,
    total_ms: Vec<f64>,
    ttfb_ms: Vec<f64>,
}

impl Tally {
    fn add(&mut self, request: &Request) {
        let tokens = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        self.requests += 1;
        self.hits += u64::from(request.hit);
        self.errors += u64::from(request.status >= 400);
        self.prompt_tokens += tokens(request.prompt_tokens);
        self.completion_tokens += tokens(request.completion_tokens);
        self.cached_tokens += tokens(request.cached_tokens);
        self.cache_write_tokens += tokens(request.cache_write_tokens);
        self.cache_write_1h_tokens += tokens(request.cache_write_1h_tokens);
        self.reasoning_tokens += tokens(request.reasoning_tokens);
        self.estimated += u64::from(request.estimated);
        if let Some(cost) = request.cost_usd {
            self.cost += cost;
            self.cost_known += 1;
        }
        self.saved += request.cost_saved_usd.unwrap_or(0.0);
        self.provider_saved += request.provider_cache_saved_usd.unwrap_or(0.0);
        self.total_ms.push(request.total_ms);
        self.ttfb_ms.extend(request.ttfb_ms);
    }

    fn finish(mut self, group: Option<String>) -> StatsRow {
        self.total_ms.sort_by(f64::total_cmp);
        self.ttfb_ms.sort_by(f64::total_cmp);
        StatsRow {
            group,
            requests: self.requests,
            hits: self.hits,
            hit_rate: if self.requests == 0 {
                0.0
            } else {
                self.hits as f64 / self.requests as f64
            },
            errors: self.errors,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cached_tokens: self.cached_tokens,
            cache_write_tokens: self.cache_write_tokens,
            cache_write_1h_tokens: self.cache_write_1h_tokens,
            reasoning_tokens: self.reasoning_tokens,
            estimated_requests: self.estimated,
            cost_usd: (self.cost_known > 0).then(|| dollars(self.cost)),
            cost_unknown_requests: self.requests - self.cost_known,
            cost_saved_usd: dollars(self.saved),
            provider_cache_saved_usd: dollars(self.provider_saved),
            latency_p50_ms: percentile(&self.total_ms, 50),
            latency_p95_ms: percentile(&self.total_ms, 95),
            ttfb_p50_ms: percentile(&self.ttfb_ms, 50),
        }
    }
}

/// Rounds a sum to a billionth of a dollar, so adding many small prices
/// does not print as `0.30000000000000004`.
pub(super) fn dollars(sum: f64) -> f64 {
    (sum * 1e9).round() / 1e9
}

/// Nearest-rank percentile of sorted values: the smallest value with at
/// least `p`% of the values at or below it.
pub(super) fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}
