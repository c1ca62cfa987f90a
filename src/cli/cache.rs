//! `llm-bridge cache …`: look at and manage the cache folder from a shell.
//! Safe while the server runs: writes there are atomic, and these commands
//! only read whole entries or delete them. They work on an existing folder
//! only (never creating one), delete only the store's own files, and take
//! an entry's key or a unique prefix of it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use super::{CacheArgs, CacheCommand};
use crate::cache::entry::{now_ms, rfc3339};
use crate::cache::find::{self, names_model};
use crate::cache::store::Listed;
use crate::cache::{CacheKey, CacheStore, open_existing_store};
use crate::config::resolve_cache_dir;

/// Runs one cache command, printing to stdout. `check` exits with 1 when it
/// found entries that could never be served or leftovers and did not purge
/// them; `rm` when an entry it was asked to remove was not there. A folder
/// that does not exist is an error (exit 2), never an empty cache.
pub fn run(args: CacheArgs) -> Result<ExitCode, String> {
    let dir = resolve_cache_dir(args.cache_dir.as_deref(), args.config.as_deref())
        .map_err(|e| e.to_string())?;
    let redis = crate::config::redis::read(args.config.as_deref()).map_err(|e| e.to_string())?;
    let store = open_existing_store(&dir, redis.as_ref()).map_err(|e| e.to_string())?;
    let store = store.as_ref();
    let mut out = String::new();
    let code = match args.command {
        CacheCommand::Stats => stats(store, &mut out)?,
        CacheCommand::List { model, limit } => list(store, model.as_deref(), limit, &mut out)?,
        CacheCommand::Show { key } => show(store, &key, &mut out)?,
        CacheCommand::Check { purge } => check(store, purge, &mut out)?,
        CacheCommand::Rm { keys } => remove(store, &keys, &mut out)?,
        CacheCommand::Clear => remove_where(store, |_| true, &mut out)?,
        CacheCommand::Prune { older_than } => {
            let cutoff =
                now_ms().saturating_sub(u64::try_from(older_than.as_millis()).unwrap_or(u64::MAX));
            remove_where(store, |l| l.meta.created_ms < cutoff, &mut out)?
        }
    };
    print!("{out}");
    Ok(code)
}

/// `1 entry`, `2 entries`: a count and its noun.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn listed(store: &dyn CacheStore) -> Result<Vec<Listed>, String> {
    let mut entries = store.list().map_err(|e| e.to_string())?;
    entries.sort_by_key(|l| std::cmp::Reverse(l.meta.created_ms));
    Ok(entries)
}

/// `1.5 KiB`-style sizes.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn time(ms: u64) -> String {
    rfc3339(ms, chrono::SecondsFormat::Secs)
}

fn stats(store: &dyn CacheStore, out: &mut String) -> Result<ExitCode, String> {
    let entries = listed(store)?;
    let total: u64 = entries.iter().map(|l| l.disk_bytes).sum();
    let _ = writeln!(out, "cache: {}", store.location());
    let _ = writeln!(out, "entries: {}  size: {}", entries.len(), size(total));
    if let (Some(newest), Some(oldest)) = (entries.first(), entries.last()) {
        let _ = writeln!(
            out,
            "oldest: {}  newest: {}",
            time(oldest.meta.created_ms),
            time(newest.meta.created_ms)
        );
    }
    let mut by_model: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for entry in &entries {
        let slot = by_model.entry(entry.meta.model.as_str()).or_default();
        slot.0 += 1;
        slot.1 += entry.disk_bytes;
    }
    if !by_model.is_empty() {
        let _ = writeln!(out, "\n{:<48} {:>8} {:>12}", "MODEL", "ENTRIES", "SIZE");
        for (model, (count, bytes)) in by_model {
            let _ = writeln!(out, "{model:<48} {count:>8} {:>12}", size(bytes));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(
    store: &dyn CacheStore,
    model: Option<&str>,
    limit: usize,
    out: &mut String,
) -> Result<ExitCode, String> {
    let _ = writeln!(
        out,
        "{:<64}  {:<20}  {:<32}  {:<10}  {:<4}  {:>7}  {:>10}",
        "KEY", "CREATED", "MODEL", "PROVIDER", "FORM", "TOKENS", "SIZE"
    );
    let matching = listed(store)?
        .into_iter()
        .filter(|l| model.is_none_or(|m| names_model(&l.meta, m)))
        .take(limit);
    for entry in matching {
        let meta = &entry.meta;
        let tokens = meta
            .usage
            .as_ref()
            .and_then(|u| u.get("total_tokens"))
            .and_then(serde_json::Value::as_u64)
            .map_or("-".to_string(), |t| t.to_string());
        let form = match meta.kind {
            crate::wire::BodyKind::Json => "json",
            crate::wire::BodyKind::Sse => "sse",
        };
        let _ = writeln!(
            out,
            "{:<64}  {:<20}  {:<32}  {:<10}  {form:<4}  {tokens:>7}  {:>10}",
            meta.key,
            time(meta.created_ms),
            meta.model,
            meta.provider,
            size(entry.disk_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// [`find::find`], its error as text.
fn find(store: &dyn CacheStore, text: &str) -> Result<(String, Option<CacheKey>), String> {
    find::find(store, text).map_err(|e| e.to_string())
}

/// Width of each column of `show`.
const COLUMN: usize = 78;

fn show(store: &dyn CacheStore, key: &str, out: &mut String) -> Result<ExitCode, String> {
    let (prefix, key) = find(store, key)?;
    let key = key.ok_or_else(|| format!("no entry's key starts with {prefix}"))?;
    let entry = store
        .get(&key)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no entry {key}"))?;
    let request = store.request_text(&key).ok().flatten().unwrap_or_default();
    let response = match entry.meta.kind {
        crate::wire::BodyKind::Json => serde_json::from_slice::<serde_json::Value>(&entry.body)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| String::from_utf8_lossy(&entry.body).into_owned()),
        crate::wire::BodyKind::Sse => String::from_utf8_lossy(&entry.body).into_owned(),
    };
    let left = wrap(&request);
    let right = wrap(&response);
    let _ = writeln!(out, "{:<COLUMN$} | RESPONSE", "REQUEST");
    let _ = writeln!(out, "{:-<COLUMN$}-+-{:-<COLUMN$}", "", "");
    for row in 0..left.len().max(right.len()) {
        let l = left.get(row).map_or("", String::as_str);
        let r = right.get(row).map_or("", String::as_str);
        let _ = writeln!(out, "{l:<COLUMN$} | {r}");
    }
    let meta = serde_json::to_string_pretty(&serde_json::json!({
        "created": entry.meta.created,
        "status": entry.meta.status,
        "content_type": entry.meta.content_type,
        "provider": entry.meta.provider,
        "model": entry.meta.model,
        "upstream_model": entry.meta.upstream_model,
        "usage": entry.meta.usage,
        "ttfb_ms": entry.meta.ttfb_ms,
        "latency_ms": entry.meta.latency_ms,
        "bytes": entry.meta.bytes,
    }))
    .unwrap_or_default();
    let _ = writeln!(out, "\nMETADATA\n{meta}");
    Ok(ExitCode::SUCCESS)
}

/// Lines cut to the column width (on character boundaries).
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            lines.push(String::new());
        }
        for piece in chars.chunks(COLUMN) {
            lines.push(piece.iter().collect());
        }
    }
    lines
}

fn check(store: &dyn CacheStore, purge: bool, out: &mut String) -> Result<ExitCode, String> {
    let report = store.check(true).map_err(|e| e.to_string())?;
    let _ = writeln!(out, "{} intact", count(report.ok, "entry", "entries"));
    let (broken, leftovers) = (report.broken.len() as u64, report.leftovers.len() as u64);
    if broken > 0 {
        let what = count(broken, "entry", "entries");
        let _ = writeln!(out, "{what} could never be served:");
        for (key, reason) in &report.broken {
            let _ = writeln!(out, "  {key}: {reason}");
        }
    }
    if leftovers > 0 {
        let what = count(leftovers, "temporary file", "temporary files");
        let by = if leftovers == 1 {
            "an interrupted write"
        } else {
            "interrupted writes"
        };
        let _ = writeln!(out, "{what} left by {by}");
    }
    if broken + leftovers == 0 {
        let _ = writeln!(out, "nothing broken");
    }
    if !report.foreign.is_empty() {
        let what = count(report.foreign.len() as u64, "file", "files");
        let _ = writeln!(out, "{what} not made by llm-bridge, left alone:");
        for name in &report.foreign {
            let _ = writeln!(out, "  {name}");
        }
    }
    if broken + leftovers == 0 {
        Ok(ExitCode::SUCCESS)
    } else if purge {
        let removed = store.purge(&report).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "purged: {} removed", count(removed, "file", "files"));
        Ok(ExitCode::SUCCESS)
    } else {
        let them = if broken + leftovers == 1 {
            "it"
        } else {
            "them"
        };
        let _ = writeln!(out, "run `llm-bridge cache check --purge` to delete {them}");
        Ok(ExitCode::from(1))
    }
}

/// Resolves every key first, so a bad or ambiguous one removes nothing.
fn remove(store: &dyn CacheStore, keys: &[String], out: &mut String) -> Result<ExitCode, String> {
    let found = keys
        .iter()
        .map(|k| find(store, k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut code = ExitCode::SUCCESS;
    for (prefix, key) in found {
        let Some(key) = key else {
            let _ = writeln!(out, "no entry's key starts with {prefix}");
            code = ExitCode::from(1);
            continue;
        };
        if store.delete(&key).map_err(|e| e.to_string())? {
            let _ = writeln!(out, "removed {key}");
        } else {
            let _ = writeln!(out, "no entry {key}");
            code = ExitCode::from(1);
        }
    }
    Ok(code)
}

fn remove_where(
    store: &dyn CacheStore,
    doomed: impl Fn(&Listed) -> bool,
    out: &mut String,
) -> Result<ExitCode, String> {
    let mut removed = 0;
    for entry in listed(store)?.iter().filter(|l| doomed(l)) {
        if let Some(key) = CacheKey::parse(&entry.meta.key)
            && store.delete(&key).map_err(|e| e.to_string())?
        {
            removed += 1;
        }
    }
    let _ = writeln!(out, "removed {}", count(removed, "entry", "entries"));
    Ok(ExitCode::SUCCESS)
}
