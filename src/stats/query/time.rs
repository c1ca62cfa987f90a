//! The ends of a report's window as people write them: a duration back
//! from now (`7d`), a date (`2026-11-01`) or an RFC 3339 time, and the
//! durations themselves (also used for `cache prune --older-than`).
//! Errors are plain text, for the parameter or flag that gave the value.

/// A moment as Unix ms: a duration back from now (`7d`, `12h`, see
/// [`parse_duration`]), a date (`2026-11-01`, UTC midnight) or
/// an RFC 3339 time (`2026-11-01T09:00:00+08:00`).
pub fn parse_time(text: &str) -> Result<i64, String> {
    parse_time_at(text, crate::stats::store::now_ms())
}

/// [`parse_time`] with durations counted back from `now_ms`.
pub fn parse_time_at(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_millis());
    }
    let looks_like_duration =
        text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', ':', 'T']);
    if looks_like_duration {
        let back = parse_duration(text)?;
        let back_ms = i64::try_from(back.as_millis()).unwrap_or(i64::MAX);
        return Ok(now_ms.saturating_sub(back_ms));
    }
    Err(format!(
        "`{text}` is not a duration back from now (7d, 12h), a date (2026-11-01) \
         or an RFC 3339 time (2026-11-01T09:00:00Z)"
    ))
}

/// `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m, 12h or 7d"))?;
    let unit_secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("unknown unit `{other}`: use s, m, h, d or w")),
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(unit_secs),
    ))
}
