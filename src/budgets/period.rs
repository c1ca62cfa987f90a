//! The UTC day and month a moment falls in, and when each ends.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat};

/// The day and month of one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Period {
    /// Days since the Unix epoch.
    pub day: i64,
    /// `year * 12 + month - 1`.
    pub month: i64,
    /// The next UTC midnight, Unix ms.
    pub next_day_ms: i64,
    /// The first of next month, UTC midnight, Unix ms.
    pub next_month_ms: i64,
}

const DAY_MS: i64 = 86_400_000;

impl Period {
    pub fn at(now_ms: i64) -> Self {
        let day = now_ms.div_euclid(DAY_MS);
        let date = DateTime::from_timestamp_millis(now_ms)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let (year, month) = (date.year(), date.month());
        let next_month = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        };
        let next_month_ms = next_month
            .map(|d| {
                d.and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis()
            })
            .unwrap_or(i64::MAX);
        Self {
            day,
            month: i64::from(year) * 12 + i64::from(month) - 1,
            next_day_ms: (day + 1) * DAY_MS,
            next_month_ms,
        }
    }

    /// The start of this day and of this month, Unix ms.
    pub fn starts(now_ms: i64) -> (i64, i64) {
        let period = Self::at(now_ms);
        let date = DateTime::from_timestamp_millis(now_ms)
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let month_start = date
            .with_day(1)
            .map(|d| {
                d.and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis()
            })
            .unwrap_or(0);
        (period.day * DAY_MS, month_start)
    }
}

/// `ms` as an RFC 3339 UTC time to the second.
pub(super) fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}
