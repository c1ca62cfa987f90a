//! Usage statistics: every request a dialect handled as one row of an embedded SQLite
//! database (`<data_dir>/usage.sqlite3`), and the reports read from it.
//!
//! - [`store`]: the database file, its schema, and the one writer thread
//!   the request path hands [`crate::usage::UsageRecord`]s to without ever
//!   waiting for the disk.
//! - [`schema`]: the table, and the migrations that bring a file written
//!   by an older llm-bridge to the current version.
//! - [`query`]: reports over a time window, grouped by model, provider,
//!   key or day, read on a connection of their own (safe while the server
//!   writes: the database is in WAL mode), and [`query::series`], the
//!   same window cut into steps for charts.
//! - [`requests`]: single requests, the newest matching a filter or one
//!   by its request id.
//! - [`csv`]: a report as CSV, for the command line and the dashboard.
//! - [`spend`]: each key's spend today and this month, for the budgets.
//!
//! What it does not own: building the records ([`crate::usage`]), the
//! `llm-bridge stats` command ([`crate::cli::stats`]) and the HTTP route
//! over [`query::report`] ([`crate::admin::stats`]).

pub mod csv;
pub mod postgres;
pub mod query;
pub mod requests;
mod schema;
pub mod spend;
pub mod store;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use query::series::{Series, SeriesQuery, series};
pub use query::{GroupBy, StatsQuery, StatsReport, StatsRow, report};
pub use requests::{RecentQuery, StatusFilter, by_request_id, recent};
pub use store::{StoreGuard, UsageStore};

/// File name of the database inside the data folder.
pub const DATABASE_FILE: &str = "usage.sqlite3";

/// Why the statistics could not be opened, written or read. Messages name
/// the file or folder and the cause.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("cannot create the statistics folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the statistics database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the statistics database {} has schema version {found}, newer than this llm-bridge \
         knows ({known}); use a newer llm-bridge or another --data-dir",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot start the statistics writer thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot read the statistics database {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the statistics database at {location} failed: {message}")]
    Remote { location: String, message: String },
}
