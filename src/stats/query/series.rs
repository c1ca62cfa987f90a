//! The Usage tab's charts: a window cut into equal steps, with requests
//! and cost per model, the cache hit rate and both savings per step, and
//! for the whole window each provider's latency and first-byte
//! percentiles and the errors by status and code.
//!
//! Steps are whole UTC minutes, hours or days chosen so a window has at
//! most [`MAX_BUCKETS`] of them (a chart wider than that has more points
//! than pixels); a step can be asked for, within that bound. The models
//! beyond the [`MAX_MODELS`] busiest are summed as `other`, so a chart
//! keeps a legend a person can read.

use std::collections::HashMap;

use serde::Serialize;

use super::tally::{dollars, model_label, percentile};
use super::{Source, parse_duration, parse_time_at};
use crate::stats::StatsError;
use crate::stats::postgres::Window;

/// Most steps in one series.
pub const MAX_BUCKETS: i64 = 1500;
/// The steps the window is cut into unless one is asked for: the smallest
/// giving at most [`AUTO_BUCKETS`].
const STEPS_MS: [i64; 10] = [
    60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
    86_400_000,
];
/// Points an automatic step aims at most for: a chart a few hundred pixels
/// wide stays readable.
const AUTO_BUCKETS: i64 = 120;
/// Models charted on their own; the rest are `other`.
pub const MAX_MODELS: usize = 10;
/// The window unless `since` is given.
const DEFAULT_WINDOW_MS: i64 = 86_400_000;

/// The window and its step, Unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesQuery {
    pub since: i64,
    pub until: i64,
    pub step_ms: i64,
}

impl SeriesQuery {
    /// From `/api/stats/series?since=&until=&step=` (times as `/api/stats`
    /// takes them, `step` a duration such as `5m`). The window defaults to
    /// the last day ending now. The error names the parameter.
    pub fn from_params(
        since: Option<&str>,
        until: Option<&str>,
        step: Option<&str>,
        now_ms: i64,
    ) -> Result<Self, (&'static str, String)> {
        fn given(text: Option<&str>) -> Option<&str> {
            text.map(str::trim).filter(|t| !t.is_empty())
        }
        let time = |text: Option<&str>, name: &'static str| {
            given(text)
                .map(|t| parse_time_at(t, now_ms).map_err(|e| (name, format!("{name}: {e}"))))
                .transpose()
        };
        let until = time(until, "until")?.unwrap_or(now_ms);
        let since = time(since, "since")?.unwrap_or(until - DEFAULT_WINDOW_MS);
        if since >= until {
            return Err((
                "since",
                "since: the window must start before it ends".into(),
            ));
        }
        let span = until - since;
        let step_ms = match given(step) {
            Some(text) => {
                let step = parse_duration(text).map_err(|e| ("step", format!("step: {e}")))?;
                let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
                if step_ms < 1000 || span / step_ms >= MAX_BUCKETS {
                    return Err((
                        "step",
                        format!(
                            "step: `{text}` must be at least 1s and cut the window into at \
                             most {MAX_BUCKETS} steps"
                        ),
                    ));
                }
                step_ms
            }
            None => STEPS_MS
                .into_iter()
                .find(|step| steps_in(span, *step) <= AUTO_BUCKETS)
                .unwrap_or_else(|| (steps_in(span, AUTO_BUCKETS) / 86_400_000 + 1) * 86_400_000),
        };
        Ok(Self {
            since,
            until,
            step_ms,
        })
    }

    /// The start of each step: aligned to the step in UTC, from the one
    /// holding `since` to the one holding the window's last millisecond.
    fn buckets(&self) -> Vec<i64> {
        let first = self.since.div_euclid(self.step_ms) * self.step_ms;
        (0..)
            .map(|n| first + n * self.step_ms)
            .take_while(|start| *start < self.until)
            .collect()
    }
}

/// Steps of `step` needed to cover `span` (both positive).
fn steps_in(span: i64, step: i64) -> i64 {
    (span + step - 1) / step
}

/// What `/api/stats/series` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub since_ms: i64,
    pub until_ms: i64,
    pub step_ms: i64,
    /// Each step's start, Unix ms; every list below has one value per step.
    pub buckets: Vec<i64>,
    /// The busiest models first, then `other`.
    pub models: Vec<ModelSeries>,
    pub total: TotalSeries,
    /// Per provider over the whole window, busiest first.
    pub providers: Vec<ProviderFigures>,
    /// Requests with a status of 400 or more, by status and error code,
    /// most frequent first.
    pub errors: Vec<ErrorCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSeries {
    /// `provider/model`, as `/api/stats?by=model` names it.
    pub model: String,
    pub requests: Vec<u64>,
    /// Known costs summed, USD.
    pub cost_usd: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TotalSeries {
    pub requests: Vec<u64>,
    pub hits: Vec<u64>,
    pub errors: Vec<u64>,
    /// Hits over requests; `None` for a step without requests.
    pub hit_rate: Vec<Option<f64>>,
    pub cost_usd: Vec<f64>,
    /// What llm-bridge's cache saved (as in `/api/stats`).
    pub cost_saved_usd: Vec<f64>,
    /// What providers' prompt caches saved.
    pub provider_cache_saved_usd: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderFigures {
    pub provider: String,
    pub requests: u64,
    pub errors: u64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub ttfb_p50_ms: Option<f64>,
    pub ttfb_p95_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    pub status: u16,
    /// The gateway's error code; `None` for an upstream's error passed on.
    pub error: Option<String>,
    pub count: u64,
}

/// The series `query` asks for. A database not yet written gives empty
/// steps. Blocking: call it off the async runtime.
pub fn series(source: impl Into<Source>, query: &SeriesQuery) -> Result<Series, StatsError> {
    let buckets = query.buckets();
    let first = buckets.first().copied().unwrap_or(query.since);
    let mut sums = Sums::new(buckets.len());
    let source = source.into();
    let path = source.shown();
    let window = Window {
        since: Some(query.since),
        until: Some(query.until),
        ..Window::default()
    };
    if let Some(connection) = source.reader(&window)? {
        let read = connection
            .prepare(
                "SELECT time_ms, provider, model_asked, model_answered, cache, status, error, \
                 cost_usd, cost_saved_usd, provider_cache_saved_usd, ttfb_ms, total_ms \
                 FROM requests WHERE time_ms >= ?1 AND time_ms < ?2",
            )
            .and_then(|mut statement| {
                let rows = statement.query_map([query.since, query.until], |row| {
                    let time_ms: i64 = row.get(0)?;
                    let step = usize::try_from((time_ms - first) / query.step_ms).unwrap_or(0);
                    sums.add(
                        step,
                        &Request {
                            provider: row.get(1)?,
                            model_asked: row.get(2)?,
                            model_answered: row.get(3)?,
                            hit: row.get::<_, Option<String>>(4)?.as_deref() == Some("HIT"),
                            status: row.get(5)?,
                            error: row.get(6)?,
                            cost_usd: row.get::<_, Option<f64>>(7)?.unwrap_or(0.0),
                            saved_usd: row.get::<_, Option<f64>>(8)?.unwrap_or(0.0),
                            provider_saved_usd: row.get::<_, Option<f64>>(9)?.unwrap_or(0.0),
                            ttfb_ms: row.get(10)?,
                            total_ms: row.get(11)?,
                        },
                    );
                    Ok(())
                })?;
                rows.collect::<rusqlite::Result<()>>()
            });
        read.map_err(|source| StatsError::Read { path, source })?;
    }
    Ok(sums.finish(query, buckets))
}

/// One stored request, as far as the series need it.
struct Request {
    provider: Option<String>,
    model_asked: Option<String>,
    model_answered: Option<String>,
    hit: bool,
    status: u16,
    error: Option<String>,
    cost_usd: f64,
    saved_usd: f64,
    provider_saved_usd: f64,
    ttfb_ms: Option<f64>,
    total_ms: f64,
}

/// One model's requests and cost per step, and its requests in all.
#[derive(Default)]
struct ModelSums {
    all: u64,
    requests: Vec<u64>,
    cost_usd: Vec<f64>,
}

#[derive(Default)]
struct ProviderSums {
    requests: u64,
    errors: u64,
    total_ms: Vec<f64>,
    ttfb_ms: Vec<f64>,
}

struct Sums {
    steps: usize,
    models: HashMap<String, ModelSums>,
    total: TotalSeries,
    providers: HashMap<String, ProviderSums>,
    errors: HashMap<(u16, Option<String>), u64>,
}

impl Sums {
    fn new(steps: usize) -> Self {
        Self {
            steps,
            models: HashMap::new(),
            total: TotalSeries {
                requests: vec![0; steps],
                hits: vec![0; steps],
                errors: vec![0; steps],
                hit_rate: Vec::new(),
                cost_usd: vec![0.0; steps],
                cost_saved_usd: vec![0.0; steps],
                provider_cache_saved_usd: vec![0.0; steps],
            },
            providers: HashMap::new(),
            errors: HashMap::new(),
        }
    }

    fn add(&mut self, step: usize, request: &Request) {
        if step >= self.steps {
            return;
        }
        let error = request.status >= 400;
        let model = model_label(
            request.provider.as_deref(),
            request.model_answered.as_deref(),
            request.model_asked.as_deref(),
        );
        let steps = self.steps;
        let sums = self.models.entry(model).or_insert_with(|| ModelSums {
            all: 0,
            requests: vec![0; steps],
            cost_usd: vec![0.0; steps],
        });
        sums.all += 1;
        sums.requests[step] += 1;
        sums.cost_usd[step] += request.cost_usd;
        let total = &mut self.total;
        total.requests[step] += 1;
        total.hits[step] += u64::from(request.hit);
        total.errors[step] += u64::from(error);
        total.cost_usd[step] += request.cost_usd;
        total.cost_saved_usd[step] += request.saved_usd;
        total.provider_cache_saved_usd[step] += request.provider_saved_usd;
        // A hit reached no provider: its latency is the cache's, not theirs.
        if let (Some(provider), false) = (&request.provider, request.hit) {
            let sums = self.providers.entry(provider.clone()).or_default();
            sums.requests += 1;
            sums.errors += u64::from(error);
            sums.total_ms.push(request.total_ms);
            sums.ttfb_ms.extend(request.ttfb_ms);
        }
        if error {
            *self
                .errors
                .entry((request.status, request.error.clone()))
                .or_default() += 1;
        }
    }

    fn finish(mut self, query: &SeriesQuery, buckets: Vec<i64>) -> Series {
        let round = |values: &mut Vec<f64>| values.iter_mut().for_each(|v| *v = dollars(*v));
        let total = &mut self.total;
        total.hit_rate = total
            .requests
            .iter()
            .zip(&total.hits)
            .map(|(&requests, &hits)| (requests > 0).then(|| hits as f64 / requests as f64))
            .collect();
        round(&mut total.cost_usd);
        round(&mut total.cost_saved_usd);
        round(&mut total.provider_cache_saved_usd);
        let mut models = busiest_models(self.models, self.steps);
        models.iter_mut().for_each(|m| round(&mut m.cost_usd));
        let mut providers: Vec<ProviderFigures> = self
            .providers
            .into_iter()
            .map(|(provider, mut sums)| {
                sums.total_ms.sort_by(f64::total_cmp);
                sums.ttfb_ms.sort_by(f64::total_cmp);
                ProviderFigures {
                    provider,
                    requests: sums.requests,
                    errors: sums.errors,
                    latency_p50_ms: percentile(&sums.total_ms, 50),
                    latency_p95_ms: percentile(&sums.total_ms, 95),
                    ttfb_p50_ms: percentile(&sums.ttfb_ms, 50),
                    ttfb_p95_ms: percentile(&sums.ttfb_ms, 95),
                }
            })
            .collect();
        providers.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then(a.provider.cmp(&b.provider))
        });
        let mut errors: Vec<ErrorCount> = self
            .errors
            .into_iter()
            .map(|((status, error), count)| ErrorCount {
                status,
                error,
                count,
            })
            .collect();
        errors.sort_by(|a, b| b.count.cmp(&a.count).then(a.status.cmp(&b.status)));
        Series {
            since_ms: query.since,
            until_ms: query.until,
            step_ms: query.step_ms,
            buckets,
            models,
            total: self.total,
            providers,
            errors,
        }
    }
}

/// The [`MAX_MODELS`] busiest models (then by name), and the rest summed
/// as `other`.
fn busiest_models(models: HashMap<String, ModelSums>, steps: usize) -> Vec<ModelSeries> {
    let mut models: Vec<(String, ModelSums)> = models.into_iter().collect();
    models.sort_by(|(a_name, a), (b_name, b)| b.all.cmp(&a.all).then(a_name.cmp(b_name)));
    let rest = models.split_off(models.len().min(MAX_MODELS));
    let mut shown: Vec<ModelSeries> = models
        .into_iter()
        .map(|(model, sums)| ModelSeries {
            model,
            requests: sums.requests,
            cost_usd: sums.cost_usd,
        })
        .collect();
    if !rest.is_empty() {
        let mut other = ModelSeries {
            model: "other".into(),
            requests: vec![0; steps],
            cost_usd: vec![0.0; steps],
        };
        for (_, sums) in rest {
            for step in 0..steps {
                other.requests[step] += sums.requests[step];
                other.cost_usd[step] += sums.cost_usd[step];
            }
        }
        shown.push(other);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn query(since: Option<&str>, until: Option<&str>, step: Option<&str>) -> SeriesQuery {
        SeriesQuery::from_params(since, until, step, NOW).unwrap()
    }

    #[test]
    fn windows_get_a_step_a_chart_can_draw() {
        for (since, step_ms, steps) in [
            ("1h", 60_000, 60),
            ("24h", 900_000, 96),
            ("7d", 7_200_000, 84),
            ("30d", 21_600_000, 120),
        ] {
            let query = query(Some(since), None, None);
            assert_eq!(query.step_ms, step_ms, "{since}");
            assert_eq!(query.until, NOW);
            // The window's start falls inside the first step, so one more
            // step when it is not aligned.
            let buckets = query.buckets();
            assert!(
                (steps..=steps + 1).contains(&buckets.len()),
                "{since}: {}",
                buckets.len()
            );
            assert_eq!(buckets[0] % step_ms, 0);
        }
        assert_eq!(query(None, None, None).since, NOW - DEFAULT_WINDOW_MS);
        let year = query(Some("365d"), None, None);
        assert!(year.buckets().len() as i64 <= AUTO_BUCKETS + 1);
        assert_eq!(query(Some("1h"), None, Some("5m")).step_ms, 300_000);
    }

    #[test]
    fn bad_windows_and_steps_name_their_parameter() {
        let error =
            |since, until, step| SeriesQuery::from_params(since, until, step, NOW).unwrap_err();
        assert_eq!(error(Some("soon"), None, None).0, "since");
        assert_eq!(error(None, Some("later"), None).0, "until");
        assert_eq!(
            error(Some("2026-11-02"), Some("2026-11-01"), None).0,
            "since"
        );
        assert_eq!(error(Some("1h"), None, Some("1y")).0, "step");
        assert_eq!(error(Some("1h"), None, Some("0s")).0, "step");
        assert_eq!(error(Some("30d"), None, Some("1s")).0, "step");
    }

    #[test]
    fn the_quiet_models_are_summed_as_other() {
        let mut models = HashMap::new();
        for n in 0..(MAX_MODELS as u64 + 2) {
            models.insert(
                format!("p/m{n:02}"),
                ModelSums {
                    all: n + 1,
                    requests: vec![n + 1, 0],
                    cost_usd: vec![1.0, 0.5],
                },
            );
        }
        let shown = busiest_models(models, 2);
        assert_eq!(shown.len(), MAX_MODELS + 1);
        assert_eq!(shown[0].model, "p/m11");
        let other = shown.last().unwrap();
        assert_eq!(other.model, "other");
        assert_eq!(other.requests, vec![1 + 2, 0]);
        assert_eq!(other.cost_usd, vec![2.0, 1.0]);
    }
}
