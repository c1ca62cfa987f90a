//! Where a finished request goes: its request-log line, its usage record
//! (for requests a dialect handled) to the usage store and the metrics.
//!
//! Runs when the response body ends (or the client leaves), never before a
//! client has its answer. Building a record is a few field copies and a
//! price lookup; only a missing usage needs the tokenizer, which then runs
//! on the blocking pool so a long prompt never holds up an async thread.

use std::sync::Arc;

use tokio_util::task::TaskTracker;

use super::live_event;
use crate::admin::live::LiveFeed;
use crate::config::live::Current;
use crate::edge::finish::{Finished, Sink};
use crate::metrics::Metrics;
use crate::prices::{Cost, PriceTable};
use crate::request_log::{Record, RequestLog};
use crate::stats::UsageStore;
use crate::tokens::Usage;
use crate::usage::{self, UsageRecord};

/// The wiring's [`Sink`].
pub(super) struct RequestSink {
    pub request_log: RequestLog,
    pub metrics: Arc<Metrics>,
    pub usage_store: Option<UsageStore>,
    pub prices: Current<PriceTable>,
    /// Where records that need an estimate are built.
    pub accounting: TaskTracker,
    /// The dashboard's live feed.
    pub feed: LiveFeed,
}

impl Sink for RequestSink {
    fn started(&self) {
        self.metrics.response_started();
    }

    fn finished(&self, request: &Finished<'_>) {
        self.metrics.response_ended();
        let line = log_line(request);
        let json = serde_json::to_string(&line).unwrap_or_default();
        // Only for a viewer (within the feed's rate) is the line kept.
        let live = (live_event::shown(request.path) && self.feed.take_slot()).then(|| json.clone());
        if request.notes.metering.recorded {
            self.account(request, live);
        } else if let Some(log) = live {
            let row = live_event::log_row(&line, request.arrived_ms);
            self.feed.publish(&live_event::event(&row, &log));
        }
        self.request_log.write_json(json);
        // Per-request lines on stderr only at debug level: the request log
        // already has them, and each line costs a wake-up of the writer.
        tracing::debug!(
            "{} {} {} {} -> {} {} {:.1}ms {}",
            request.request_id,
            request.method,
            request.path,
            request.notes.model.as_deref().unwrap_or("-"),
            request.notes.provider.as_deref().unwrap_or("-"),
            request.status,
            request.total_ms,
            request.outcome.as_str(),
        );
    }

    fn log_bodies(&self) -> bool {
        self.request_log.log_bodies()
    }
}

/// The request-log line of a finished request.
fn log_line<'a>(request: &'a Finished<'a>) -> Record<'a> {
    let notes = request.notes;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    Record {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        request_id: request.request_id,
        method: request.method,
        path: request.path,
        key_id: notes.key_id.as_deref(),
        model: notes.model.as_deref(),
        provider: notes.provider.as_deref(),
        upstream_model: notes.upstream_model.as_deref(),
        stream: notes.stream,
        cache: notes.cache,
        cache_key: notes.cache_key.as_deref(),
        status: request.status,
        error: request.error,
        outcome: request.outcome.as_str(),
        ttfb_ms: request.ttfb_ms,
        total_ms: request.total_ms,
        bytes: request.bytes,
        estimated: notes.estimated,
        request_body: notes.request_body.as_deref().map(text),
        response_body: request.response_body.map(text),
    }
}

impl RequestSink {
    /// Builds and delivers the usage record, on the blocking pool when it
    /// needs an estimate (tracked, so a shutdown writes it before closing
    /// the store).
    fn account(&self, request: &Finished<'_>, live: Option<String>) {
        let prices = self.prices.now();
        let finished = usage::Finished {
            time_ms: request.arrived_ms,
            request_id: request.request_id,
            path: request.path,
            notes: request.notes,
            status: request.status,
            error: request.error,
            ttfb_ms: request.ttfb_ms,
            total_ms: request.total_ms,
        };
        if !request.notes.metering.needs_estimate(request.status) {
            let record = UsageRecord::build(&finished, |p, m, u| price(&prices, p, m, u));
            settle_budget(request.notes, &record);
            return self.deliver(record, live);
        }
        let (metrics, store) = (Arc::clone(&self.metrics), self.usage_store.clone());
        let feed = self.feed.clone();
        let notes = request.notes.clone();
        let (request_id, path) = (request.request_id.to_string(), request.path.to_string());
        let (time_ms, status, error, ttfb_ms, total_ms) = (
            finished.time_ms,
            finished.status,
            request.error,
            finished.ttfb_ms,
            finished.total_ms,
        );
        self.accounting.spawn_blocking(move || {
            let finished = usage::Finished {
                time_ms,
                request_id: &request_id,
                path: &path,
                notes: &notes,
                status,
                error,
                ttfb_ms,
                total_ms,
            };
            let record = UsageRecord::build(&finished, |p, m, u| price(&prices, p, m, u));
            settle_budget(&notes, &record);
            publish(&feed, live, &record);
            deliver(&metrics, store.as_ref(), record);
        });
    }

    fn deliver(&self, record: UsageRecord, live: Option<String>) {
        publish(&self.feed, live, &record);
        deliver(&self.metrics, self.usage_store.as_ref(), record);
    }
}

fn price(prices: &PriceTable, provider: &str, model: &str, usage: &Usage) -> Option<Cost> {
    prices.cost(provider, model, usage)
}

/// Spends what the request cost against its budgets (its reservation
/// released).
fn settle_budget(notes: &crate::notes::Notes, record: &UsageRecord) {
    if let Some(reservation) = &notes.budget {
        reservation.settle(record.cost_usd);
    }
}

/// The request's live event, when a viewer was there as it ended.
fn publish(feed: &LiveFeed, live: Option<String>, record: &UsageRecord) {
    if let Some(log) = live {
        feed.publish(&live_event::event(&live_event::record_row(record), &log));
    }
}

fn deliver(metrics: &Metrics, store: Option<&UsageStore>, record: UsageRecord) {
    metrics.record(&record);
    if let Some(store) = store {
        store.record(record);
    }
}
