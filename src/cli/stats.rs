//! `llm-bridge stats`: the usage report in a shell, as an aligned table,
//! CSV or JSON. It reads the database on a connection of its own, so it
//! works while the server runs.

use std::fmt::Write as _;
use std::process::ExitCode;

use std::path::Path;

use super::StatsArgs;
use crate::budgets::{Budgets, BudgetsView};
use crate::config::resolve_data_dir;
use crate::stats::csv::csv;
use crate::stats::query::{Source, StatsQuery, StatsReport, StatsRow, report};
use crate::stats::spend::spend_since;

/// How `stats` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StatsFormat {
    /// Aligned columns with a total line.
    #[default]
    Table,
    /// A header, one line per group and a `total` line; plain numbers.
    Csv,
    /// The whole report as one JSON object.
    Json,
}

/// Prints the report for the window and grouping asked.
pub fn run(args: StatsArgs) -> Result<ExitCode, String> {
    let dir = resolve_data_dir(args.data_dir.as_deref(), args.config.as_deref())
        .map_err(|e| e.to_string())?;
    let query = StatsQuery {
        since: args.since,
        until: args.until,
        by: args.by,
    };
    let url =
        crate::config::resolve_stats_url(args.config.as_deref()).map_err(|e| e.to_string())?;
    let source = Source::new(&dir, url.as_deref());
    let report = report(&source, &query).map_err(|e| e.to_string())?;
    let budgets = budgets_now(&source, args.config.as_deref())?;
    let out = match args.format {
        StatsFormat::Table => {
            let mut text = table(&report);
            if let Some(budgets) = &budgets {
                budget_table(&mut text, budgets);
            }
            text
        }
        StatsFormat::Csv => csv(&report),
        StatsFormat::Json => {
            let mut value = serde_json::to_value(&report).map_err(|e| e.to_string())?;
            if let (Some(budgets), Some(object)) = (&budgets, value.as_object_mut()) {
                let budgets = serde_json::to_value(budgets).map_err(|e| e.to_string())?;
                object.insert("budgets".into(), budgets);
            }
            let mut text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
    };
    print!("{out}");
    if args.format != StatsFormat::Table
        && let Some(note) = &report.note
    {
        eprintln!("llm-bridge: {note}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The config file's budgets with today's and this month's spend from the
/// database in `dir`; `None` without any budget.
fn budgets_now(source: &Source, config: Option<&Path>) -> Result<Option<BudgetsView>, String> {
    let config = crate::config::budgets::read(config).map_err(|e| e.to_string())?;
    if config.is_empty() {
        return Ok(None);
    }
    let budgets = Budgets::new(config);
    let (day_start, month_start) = crate::budgets::period_starts(crate::budgets::now_ms());
    let spent = spend_since(source, day_start, month_start).map_err(|e| e.to_string())?;
    budgets.seed(&spent);
    Ok(Some(budgets.view()))
}

/// The budgets after the table: spend against each, as `/health` has it.
fn budget_table(out: &mut String, view: &BudgetsView) {
    let spent = |used: f64, limit: Option<f64>| {
        limit.map_or_else(
            || "-".to_string(),
            |limit| format!("${used:.4} of ${limit:.2}"),
        )
    };
    let _ = writeln!(out, "\nBudgets (UTC day and month):");
    let _ = writeln!(out, "  {:<24} {:>24} {:>24}", "KEY", "TODAY", "THIS MONTH");
    for line in view.gateway.iter().chain(&view.keys) {
        let _ = writeln!(
            out,
            "  {:<24} {:>24} {:>24}",
            line.key.as_deref().unwrap_or("(gateway)"),
            spent(line.daily_spent_usd, line.daily_usd),
            spent(line.monthly_spent_usd, line.monthly_usd),
        );
    }
}

fn time(ms: Option<i64>, otherwise: &str) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || otherwise.to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

/// `$12.3456`, or `?` when unknown. Amounts under a cent get six
/// decimals, so a day of cheap-model requests does not show as `$0.0000`.
fn cost(value: Option<f64>) -> String {
    match value {
        None => "?".to_string(),
        Some(v) if v != 0.0 && v.abs() < 0.01 => format!("${v:.6}"),
        Some(v) => format!("${v:.4}"),
    }
}

/// Milliseconds for the table: two decimals below 10 ms (a cache hit or a
/// local mock takes well under one, which would show as `0`), whole numbers
/// from 10 ms up; `-` when there is no value.
fn millis(value: Option<f64>) -> String {
    match value {
        None => "-".to_string(),
        // Compared after rounding, so 9.996 shows as `10`, not `10.00`.
        Some(v) if (v * 100.0).round() < 1000.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.0}"),
    }
}

/// The table's columns after the group. CACHE WRITE adds up both kinds of
/// write (5-minute and 1-hour), which CSV and JSON keep apart with the
/// reasoning tokens; SAVED is llm-bridge's cache, PROVIDER CACHE SAVED the
/// providers' prompt caches.
const TABLE_HEADERS: [&str; 14] = [
    "REQUESTS",
    "HITS",
    "HIT RATE",
    "ERRORS",
    "PROMPT",
    "COMPLETION",
    "CACHED",
    "CACHE WRITE",
    "COST",
    "SAVED",
    "PROVIDER CACHE SAVED",
    "P50 MS",
    "P95 MS",
    "TTFB P50",
];

fn table_cells(label: &str, row: &StatsRow) -> Vec<String> {
    vec![
        label.to_string(),
        row.requests.to_string(),
        row.hits.to_string(),
        format!("{:.1}%", row.hit_rate * 100.0),
        row.errors.to_string(),
        row.prompt_tokens.to_string(),
        row.completion_tokens.to_string(),
        row.cached_tokens.to_string(),
        (row.cache_write_tokens + row.cache_write_1h_tokens).to_string(),
        cost(row.cost_usd),
        cost(Some(row.cost_saved_usd)),
        cost(Some(row.provider_cache_saved_usd)),
        millis(row.latency_p50_ms),
        millis(row.latency_p95_ms),
        millis(row.ttfb_p50_ms),
    ]
}

/// The report as aligned columns: a title line, then either the note that
/// explains an empty report or the table and its footnotes.
fn table(report: &StatsReport) -> String {
    let mut out = String::new();
    write_title(&mut out, report);
    if let Some(note) = &report.note {
        let _ = writeln!(out, "{note}");
        return out;
    }
    out.push('\n');
    write_aligned(&mut out, &table_lines(report));
    write_footnotes(&mut out, &report.total);
    out
}

/// `usage from <database>, <since> to <until>[, by <group>]`.
fn write_title(out: &mut String, report: &StatsReport) {
    let _ = writeln!(
        out,
        "usage from {}, {} to {}{}",
        report.database.display(),
        time(report.since_ms, "the start"),
        time(report.until_ms, "now"),
        report
            .by
            .map_or_else(String::new, |by| format!(", by {}", by.as_str()))
    );
}

/// The header (led by the grouping's name, blank without one), a line per
/// group and the `total` line, as cells.
fn table_lines(report: &StatsReport) -> Vec<Vec<String>> {
    let first = report
        .by
        .map_or_else(String::new, |by| by.as_str().to_ascii_uppercase());
    let mut lines = vec![
        std::iter::once(first)
            .chain(TABLE_HEADERS.iter().map(|h| h.to_string()))
            .collect::<Vec<_>>(),
    ];
    for row in &report.rows {
        lines.push(table_cells(row.group.as_deref().unwrap_or(""), row));
    }
    lines.push(table_cells("total", &report.total));
    lines
}

/// Each column as wide as its widest cell: the first left-aligned, the
/// numbers right-aligned, two spaces between.
fn write_aligned(out: &mut String, lines: &[Vec<String>]) {
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let mut text = String::new();
        for (c, cell) in line.iter().enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            if c == 0 {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "  {cell:>width$}");
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
}

/// What the totals leave out (requests without a known cost, token counts
/// that are estimates), and which saving is whose; after a blank line.
fn write_footnotes(out: &mut String, total: &StatsRow) {
    let mut notes = Vec::new();
    if total.cost_unknown_requests > 0 {
        notes.push(format!(
            "{} of {} requests have no known cost (an error, no price for the model, or no \
             token counts); COST adds up the others.",
            total.cost_unknown_requests, total.requests
        ));
    }
    if total.estimated_requests > 0 {
        notes.push(format!(
            "{} requests have estimated token counts (the provider reported none).",
            total.estimated_requests
        ));
    }
    if total.cost_saved_usd > 0.0 || total.provider_cache_saved_usd > 0.0 {
        notes.push(
            "SAVED is what llm-bridge's response cache saved (the cost of the answers it \
             replayed); PROVIDER CACHE SAVED is what the providers' prompt caches saved \
             (cached prompt tokens at their price instead of the input price)."
                .to_string(),
        );
    }
    if !notes.is_empty() {
        out.push('\n');
    }
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
}
