//! A usage report as CSV: a header, one line per group and a `total`
//! line, plain numbers (empty for an unknown figure). `llm-bridge stats
//! --format csv` and the dashboard's export (`/api/stats?format=csv`) give
//! the same text.

use std::fmt::Write as _;

use super::{StatsReport, StatsRow};

/// The CSV header.
pub const CSV_HEADER: &str = "group,requests,hits,hit_rate,errors,prompt_tokens,\
    completion_tokens,cached_tokens,cache_write_tokens,cache_write_1h_tokens,reasoning_tokens,\
    estimated_requests,cost_usd,cost_unknown_requests,cost_saved_usd,provider_cache_saved_usd,\
    latency_p50_ms,latency_p95_ms,ttfb_p50_ms";

pub fn csv(report: &StatsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{CSV_HEADER}");
    for row in &report.rows {
        csv_line(&mut out, row.group.as_deref().unwrap_or(""), row);
    }
    csv_line(&mut out, "total", &report.total);
    out
}

fn csv_line(out: &mut String, label: &str, row: &StatsRow) {
    let number = |value: Option<f64>| value.map_or_else(String::new, |v| v.to_string());
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        csv_field(label),
        row.requests,
        row.hits,
        row.hit_rate,
        row.errors,
        row.prompt_tokens,
        row.completion_tokens,
        row.cached_tokens,
        row.cache_write_tokens,
        row.cache_write_1h_tokens,
        row.reasoning_tokens,
        row.estimated_requests,
        number(row.cost_usd),
        row.cost_unknown_requests,
        row.cost_saved_usd,
        row.provider_cache_saved_usd,
        number(row.latency_p50_ms),
        number(row.latency_p95_ms),
        number(row.ttfb_p50_ms),
    );
}

/// Quotes a field that holds a comma, a quote or a line break (RFC 4180).
/// A group name is text a client chose (a model name): one a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return
/// first) gets a leading `'`, so opening the export runs nothing.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("openai/gpt-4o"), "openai/gpt-4o");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), r#""say ""hi""""#);
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("@SUM(A1,A2)"), "\"'@SUM(A1,A2)\"");
    }

    #[test]
    fn one_line_per_group_then_the_total() {
        let row = |group: &str| StatsRow {
            group: Some(group.into()),
            requests: 2,
            cost_usd: Some(0.5),
            ..StatsRow::default()
        };
        let report = StatsReport {
            since_ms: None,
            until_ms: None,
            by: None,
            rows: vec![row("a"), row("b")],
            total: StatsRow {
                requests: 4,
                ..StatsRow::default()
            },
            note: None,
            database: Default::default(),
        };
        let text = csv(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert!(lines[1].starts_with("a,2,0,0,0,"), "{}", lines[1]);
        assert!(lines[3].starts_with("total,4,"), "{}", lines[3]);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1].split(',').count(), CSV_HEADER.split(',').count());
    }
}
