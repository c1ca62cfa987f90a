//! The gateway's own endpoints, about itself rather than a model:
//! [`health`] (status and configuration summary, no key needed),
//! [`metrics`] (Prometheus), [`stats`] (the usage report as JSON or CSV,
//! and its series for charts), and the dashboard's API under `/api/`
//! ([`access`] decides who may call it; [`live`], [`requests`], [`cache`],
//! [`status`], [`control`]). Each takes
//! only the state it shows.

pub mod access;
pub mod cache;
mod cache_view;
pub mod control;
pub mod health;
pub mod live;
pub mod metrics;
pub mod requests;
pub mod stats;
pub mod status;
