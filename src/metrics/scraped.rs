//! The scrape-time gauges of shared state: each budget's limit, what has
//! been spent against it and what requests in flight reserve, set from the
//! ledger (`key` is the access key, `gateway` for the gateway-wide budget);
//! and, with the cache shared through Redis, whether it answers
//! (`llm_bridge_shared_cache_up`) and how many of its commands failed
//! (`llm_bridge_shared_cache_errors_total`).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::labels::label;
use crate::budgets::{BudgetLine, BudgetsView};

type UsdGauge = Gauge<f64, AtomicU64>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BudgetLabels {
    key: String,
    /// `daily` or `monthly`.
    period: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    key: String,
}

/// `llm_bridge_budget_usd`, `llm_bridge_budget_spent_usd`,
/// `llm_bridge_budget_reserved_usd`.
#[derive(Debug, Default)]
pub(super) struct ScrapedGauges {
    limit: Family<BudgetLabels, UsdGauge>,
    spent: Family<BudgetLabels, UsdGauge>,
    reserved: Family<KeyLabels, UsdGauge>,
    /// Without Redis these have no series at all.
    shared_up: Family<StoreLabels, Gauge>,
    shared_errors: Family<StoreLabels, prometheus_client::metrics::counter::Counter>,
}

/// The shared store's kind (`redis`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: &'static str,
}

const REDIS: StoreLabels = StoreLabels { store: "redis" };

impl ScrapedGauges {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "budget_usd",
            "A spend budget, US dollars per UTC day or month",
            self.limit.clone(),
        );
        registry.register(
            "budget_spent_usd",
            "Spent against a budget in the current day or month, US dollars",
            self.spent.clone(),
        );
        registry.register(
            "budget_reserved_usd",
            "Estimated cost of the requests in flight, US dollars",
            self.reserved.clone(),
        );
        registry.register(
            "shared_cache_up",
            "1 while Redis (the shared cache) answers, 0 while the instance goes on without it",
            self.shared_up.clone(),
        );
        registry.register(
            "shared_cache_errors",
            "Shared-cache commands that failed, or were skipped while Redis was down",
            self.shared_errors.clone(),
        );
    }

    /// The shared cache's state, when there is one (without Redis the
    /// series do not exist).
    pub(super) fn set_shared_cache(&self, state: Option<(bool, u64)>) {
        if let Some((up, errors)) = state {
            self.shared_up.get_or_create(&REDIS).set(i64::from(up));
            self.shared_errors
                .get_or_create(&REDIS)
                .inner()
                .fetch_max(errors, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Replaces every series with the budgets now (a budget removed by a
    /// reload stops being exported).
    pub(super) fn set(&self, view: &BudgetsView) {
        self.limit.clear();
        self.spent.clear();
        self.reserved.clear();
        for line in view.gateway.iter().chain(&view.keys) {
            self.set_line(line);
        }
    }

    fn set_line(&self, line: &BudgetLine) {
        let key = label(Some(line.key.as_deref().unwrap_or("gateway")));
        let periods = [
            ("daily", line.daily_usd, line.daily_spent_usd),
            ("monthly", line.monthly_usd, line.monthly_spent_usd),
        ];
        for (period, limit, spent) in periods {
            let Some(limit) = limit else { continue };
            let labels = BudgetLabels {
                key: key.clone(),
                period,
            };
            self.limit.get_or_create(&labels).set(limit);
            self.spent.get_or_create(&labels).set(spent);
        }
        self.reserved
            .get_or_create(&KeyLabels { key })
            .set(line.reserved_usd);
    }
}
