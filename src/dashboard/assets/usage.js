// The Usage tab: charts from GET /api/stats/series, the totals and the
// grouped table from GET /api/stats, and the table's export as CSV or JSON.

import { api, describeError, request } from "/ui/api.js";
import { byId, cell, count, el, emptyRow, fill, head, ms, rate, say, text, usd } from "/ui/dom.js";
import { drawChart } from "/ui/charts.js";

const STATS_COLUMNS = [
  "Group", "#Requests", "#Hits", "#Hit rate", "#Errors", "#Prompt tokens", "#Completion tokens",
  "#Cached tokens", "#Reasoning tokens", "#Cost", "#Saved by cache", "#Saved by provider cache",
  "#p50 ms", "#p95 ms", "#First byte p50 ms",
];
const GROUP_NAMES = { model: "model", key: "key", provider: "provider", day: "day", instance: "instance" };

export function usageView() {
  const form = byId("usage-form");
  const windowSelect = byId("usage-window");
  const bySelect = byId("usage-by");
  const message = byId("usage-message");
  // Each refresh gets a number, so an answer for an older window is dropped.
  let asked = 0;

  /** The chosen window as the API's `since`/`until`, or null when a custom one is unfinished. */
  function chosenWindow() {
    if (windowSelect.value !== "custom") return { since: windowSelect.value };
    const since = byId("usage-since").value;
    const until = byId("usage-until").value;
    if (!since) return null;
    // datetime-local is the viewer's local time; the API takes RFC 3339.
    return { since: new Date(since).toISOString(), until: until ? new Date(until).toISOString() : undefined };
  }

  async function refresh() {
    const range = chosenWindow();
    if (!range) {
      say(message, "Choose when the custom window starts.", "warn");
      return;
    }
    const current = ++asked;
    say(message, "Loading…");
    try {
      const [series, stats] = await Promise.all([
        api("/api/stats/series", { query: range }),
        api("/api/stats", { query: { ...range, by: bySelect.value } }),
      ]);
      if (current !== asked) return;
      drawSeries(series);
      showTotals(stats.total || {});
      showStats(stats);
      showLatency(series.providers || []);
      showErrors(series.errors || []);
      const step = series.step_ms ? ` in steps of ${stepText(series.step_ms)}` : "";
      say(message, `From ${new Date(series.since_ms).toLocaleString()} to ${new Date(series.until_ms).toLocaleString()}${step}.`);
    } catch (error) {
      if (current === asked) say(message, `Could not load the usage: ${describeError(error)}`, "error");
    }
  }

  async function refreshStats() {
    const range = chosenWindow();
    if (!range) return;
    try {
      showStats(await api("/api/stats", { query: { ...range, by: bySelect.value } }));
    } catch (error) {
      say(message, `Could not load the table: ${describeError(error)}`, "error");
    }
  }

  async function exportAs(format) {
    const range = chosenWindow();
    if (!range) return;
    const button = byId(`export-${format}`);
    button.disabled = true;
    try {
      // Fetched with the key in its header, then handed over as a Blob: a
      // plain link would need the key in its URL.
      const response = await request("/api/stats", { query: { ...range, by: bySelect.value, format } });
      const blob = await response.blob();
      const name = fileName(response.headers.get("content-disposition")) || `llm-bridge-stats-${bySelect.value}.${format}`;
      download(blob, name);
      say(message, `Exported ${name}.`);
    } catch (error) {
      say(message, `Could not export: ${describeError(error)}`, "error");
    } finally {
      button.disabled = false;
    }
  }

  windowSelect.addEventListener("change", () => {
    const custom = windowSelect.value === "custom";
    for (const label of form.querySelectorAll(".custom-range")) label.hidden = !custom;
    if (custom && !byId("usage-since").value) byId("usage-since").value = localInput(Date.now() - 86400000);
    refresh();
  });
  for (const id of ["usage-since", "usage-until"]) byId(id).addEventListener("change", refresh);
  bySelect.addEventListener("change", refreshStats);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  byId("export-csv").addEventListener("click", () => exportAs("csv"));
  byId("export-json").addEventListener("click", () => exportAs("json"));

  return { show: refresh };
}

function drawSeries(series) {
  const times = series.buckets || [];
  const models = series.models || [];
  const total = series.total || {};
  const empty = "No requests in this window.";
  drawChart(byId("chart-requests"), {
    times, empty, format: count,
    series: models.map((m) => ({ label: m.model, values: m.requests || [] })),
  });
  drawChart(byId("chart-cost"), {
    times, empty, format: usd,
    series: models.map((m) => ({ label: m.model, values: m.cost_usd || [] })),
  });
  drawChart(byId("chart-hit-rate"), {
    times, empty, format: rate, range: [0, 1],
    series: total.hit_rate ? [{ label: "hit rate", values: total.hit_rate }] : [],
  });
  drawChart(byId("chart-saved"), {
    times, empty, format: usd,
    series: [
      { label: "llm-bridge cache", values: total.cost_saved_usd || [] },
      { label: "provider prompt caches", values: total.provider_cache_saved_usd || [] },
    ],
  });
}

function showTotals(total) {
  const item = (label, value, testid) => el("div", {}, el("dt", {}, label), el("dd", { "data-testid": testid }, value));
  const tokens = (total.prompt_tokens ?? 0) + (total.completion_tokens ?? 0);
  fill(byId("usage-totals"),
    item("Requests", count(total.requests ?? 0), "total-requests"),
    item("Cache hit rate", rate(total.hit_rate), "total-hit-rate"),
    item("Errors", count(total.errors ?? 0), "total-errors"),
    item("Tokens", count(tokens), "total-tokens"),
    item("Cost", usd(total.cost_usd ?? 0), "total-cost"),
    item("Saved by llm-bridge's cache", usd(total.cost_saved_usd ?? 0), "total-cost-saved"),
    item("Saved by provider prompt caches", usd(total.provider_cache_saved_usd ?? 0), "total-provider-saved"));
}

function statsRow(row, tag = "td") {
  const num = (value) => el(tag, { class: "num" }, value);
  const unknown = row.cost_unknown_requests ? ` (+${count(row.cost_unknown_requests)} unknown)` : "";
  return el("tr", {},
    el(tag, {}, text(row.group)),
    num(count(row.requests)), num(count(row.hits)), num(rate(row.hit_rate)), num(count(row.errors)),
    num(count(row.prompt_tokens)), num(count(row.completion_tokens)), num(count(row.cached_tokens)),
    num(count(row.reasoning_tokens)), num(`${usd(row.cost_usd)}${unknown}`), num(usd(row.cost_saved_usd)),
    num(usd(row.provider_cache_saved_usd)), num(ms(row.latency_p50_ms)), num(ms(row.latency_p95_ms)),
    num(ms(row.ttfb_p50_ms)));
}

function showStats(stats) {
  const rows = stats.rows || [];
  byId("stats-title").textContent = `Usage by ${GROUP_NAMES[stats.by] || stats.by || "group"}`;
  const note = byId("stats-note");
  note.hidden = !stats.note;
  note.textContent = stats.note || "";
  fill(byId("stats-table"),
    head(STATS_COLUMNS),
    el("tbody", {}, rows.length ? rows.map((row) => statsRow(row)) : emptyRow(STATS_COLUMNS.length, "No requests in this window.")),
    stats.total && rows.length ? el("tfoot", {}, statsRow({ ...stats.total, group: "total" }, "th")) : null);
}

function showLatency(providers) {
  const columns = ["Provider", "#Requests", "#Errors", "#p50 ms", "#p95 ms", "#First byte p50 ms", "#First byte p95 ms"];
  fill(byId("usage-latency"), head(columns), el("tbody", {}, providers.length
    ? providers.map((p) => el("tr", {},
      cell(text(p.provider)), cell(count(p.requests), true), cell(count(p.errors), true),
      cell(ms(p.latency_p50_ms), true), cell(ms(p.latency_p95_ms), true),
      cell(ms(p.ttfb_p50_ms), true), cell(ms(p.ttfb_p95_ms), true)))
    : emptyRow(columns.length, "No provider was called in this window.")));
}

function showErrors(errors) {
  const columns = ["#Status", "Error", "#Count"];
  fill(byId("usage-errors"), head(columns), el("tbody", {}, errors.length
    ? errors.map((e) => el("tr", {}, cell(text(e.status), true), cell(text(e.error)), cell(count(e.count), true)))
    : emptyRow(columns.length, "No errors in this window.")));
}

function stepText(stepMs) {
  const units = [[86400000, "d"], [3600000, "h"], [60000, "min"], [1000, "s"]];
  const [size, unit] = units.find(([size]) => stepMs >= size && stepMs % size === 0) || [1, "ms"];
  return `${stepMs / size} ${unit}`;
}

/** The value a datetime-local input shows for `ms` (local time, minutes). */
function localInput(msSinceEpoch) {
  const date = new Date(msSinceEpoch - new Date().getTimezoneOffset() * 60000);
  return date.toISOString().slice(0, 16);
}

/** `filename="…"` from a Content-Disposition header, without any folder part. */
function fileName(disposition) {
  const match = /filename="?([^";]+)"?/i.exec(disposition || "");
  return match ? match[1].split(/[\\/]/).pop() : null;
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once started; a late revoke only frees memory.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
