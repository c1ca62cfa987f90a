//! Metric labels: the label sets of each metric family, and the bounds on
//! their values. Model and provider names come from clients and the
//! config, so every value is cut to [`MAX_LABEL_CHARS`], a missing one is
//! `unknown`, and past [`MAX_MODELS`] distinct model names new ones count
//! as `other` ([`ModelNames`]): a client cannot grow the scrape or memory
//! without bound.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;

/// Longest label value kept, in characters: long enough for any real model
/// name, short enough that a client cannot make the scrape huge.
pub const MAX_LABEL_CHARS: usize = 100;

/// Distinct model names counted before new ones become `other`, so a client
/// inventing names cannot grow memory and the scrape without bound. Far
/// more than any configuration routes to.
pub const MAX_MODELS: usize = 500;

pub(super) const UNKNOWN: &str = "unknown";
const OTHER: &str = "other";

/// `requests`: who answered, with what status, and from where (x-cache).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RequestLabels {
    pub(super) provider: String,
    pub(super) model: String,
    pub(super) status: u16,
    pub(super) cache: &'static str,
}

/// `request_duration` and `time_to_first_byte`, by provider and x-cache.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct TimingLabels {
    pub(super) provider: String,
    pub(super) cache: &'static str,
}

/// `tokens`: prompt, completion, cached, cache_write, cache_write_1h or
/// reasoning, counted or estimated.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct TokenLabels {
    pub(super) provider: String,
    pub(super) model: String,
    pub(super) kind: &'static str,
    pub(super) estimated: bool,
}

/// `cost_usd`, `cost_saved_usd` and `provider_cache_saved_usd`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ModelLabels {
    pub(super) provider: String,
    pub(super) model: String,
}

/// `upstream_errors`: `kind` is one of a few fixed words.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ErrorLabels {
    pub(super) provider: String,
    pub(super) kind: String,
}

/// `upstream_retries`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ProviderLabels {
    pub(super) provider: String,
}

/// `fallbacks`: the model that failed and the one tried next.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct FallbackLabels {
    pub(super) from: String,
    pub(super) to: String,
}

/// The model names seen so far, so that only [`MAX_MODELS`] of them become
/// label values. Behind a lock: counting the names and adding one must be
/// one step, or two requests racing could both pass [`MAX_MODELS`].
#[derive(Debug, Default)]
pub(super) struct ModelNames(Mutex<HashSet<String>>);

impl ModelNames {
    /// A model name as a label value: cut to length, and `other` once
    /// [`MAX_MODELS`] distinct names have been seen.
    pub(super) fn label(&self, model: Option<&str>) -> String {
        let model = label(model);
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(&model) {
            return model;
        }
        if seen.len() >= MAX_MODELS {
            return OTHER.to_string();
        }
        seen.insert(model.clone());
        model
    }
}

/// A label value: `unknown` when missing or blank, else cut to
/// [`MAX_LABEL_CHARS`] characters.
pub(super) fn label(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(text) if !text.is_empty() => text.chars().take(MAX_LABEL_CHARS).collect(),
        _ => UNKNOWN.to_string(),
    }
}
