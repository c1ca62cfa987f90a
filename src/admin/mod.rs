//! The gateway's own endpoints, about itself rather than a model:
//! [`health`] (status and configuration summary, no key needed),
//! [`metrics`] (Prometheus) and [`stats`] (the usage report as JSON). Each
//! takes only the state it shows.

pub mod health;
pub mod metrics;
pub mod stats;
