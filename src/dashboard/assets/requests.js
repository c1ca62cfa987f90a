// The Requests tab: the newest requests through the gateway, first from
// GET /api/requests, then as they finish from the live feed. Filters apply
// at once to the rows held here and are sent to the server on Apply.

import { api, describeError } from "/ui/api.js";
import {
  byId, cacheBadge, cell, count, el, emptyRow, fill, head, ms, say, statusBadge, text, usd, when, yesNo,
} from "/ui/dom.js";
import { startFeed } from "/ui/live.js";
import { closeDetail, openDetail } from "/ui/request_detail.js";

// Enough to scroll back through a busy minute; more makes each redraw slow.
const MAX_ROWS = 500;
const FIRST_LOAD = 100;
const COLUMNS = [
  "Time", "Key", "Dialect", "Model asked → answered", "Stream", "Cache", "Status",
  "#First byte ms", "#Total ms", "#Tokens", "#Cost", "#Saved",
];
const STATUS_FILTER = /^(\d{3}|[1-5]xx|error)$/i;

export function requestsView() {
  const table = byId("requests-table");
  const tbody = el("tbody");
  fill(table, head(COLUMNS), tbody);
  const form = byId("requests-filters");
  const message = byId("requests-message");
  const stateLine = byId("feed-state");
  const dropped = byId("feed-dropped");

  /** Newest first: `{request, log}` as the live feed sends them. */
  let entries = [];
  const byRequestId = new Map();
  let filters = {};
  let feed = null;
  let loading = 0;
  let droppedTotal = 0;

  function readFilters() {
    const status = byId("filter-status").value.trim();
    return {
      model: byId("filter-model").value.trim(),
      key: byId("filter-key").value.trim(),
      status: status.toLowerCase(),
      cache: byId("filter-cache").value,
    };
  }

  function matches({ request: row }) {
    const lower = (value) => String(value ?? "").toLowerCase();
    if (filters.model && lower(row.model_asked) !== lower(filters.model) && lower(row.model_answered) !== lower(filters.model)) return false;
    if (filters.key && row.key_name !== filters.key) return false;
    if (filters.cache && row.cache !== filters.cache) return false;
    const status = filters.status;
    if (status) {
      const code = Number(row.status) || 0;
      if (status === "error") return code >= 400 || (!code && !!row.error);
      if (status.endsWith("xx")) return Math.floor(code / 100) === Number(status[0]);
      return code === Number(status);
    }
    return true;
  }

  function idOf(row) {
    return row.request_id ?? `${row.time_ms}-${row.total_ms}-${row.model_asked}`;
  }

  function rowElement(entry) {
    const row = entry.request;
    const answered = row.model_answered ? `${row.provider ? `${row.provider}/` : ""}${row.model_answered}` : text(row.provider);
    const tokens = row.prompt_tokens == null && row.completion_tokens == null
      ? "—"
      : `${row.estimated ? "~" : ""}${count(row.prompt_tokens ?? 0)} + ${count(row.completion_tokens ?? 0)}`;
    const saved = (row.cost_saved_usd ?? 0) + (row.provider_cache_saved_usd ?? 0);
    const tr = el("tr", {
      tabIndex: 0,
      "data-testid": "request-row",
      "data-request-id": row.request_id ?? "",
      "data-cache": row.cache ?? "",
      "data-model": row.model_asked ?? "",
      on: {
        click: () => openDetail(entry),
        keydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            openDetail(entry);
          }
        },
      },
    },
    cell(when(row.time_ms)),
    cell(text(row.key_name)),
    cell(text(row.endpoint ?? entry.log?.path)),
    cell(el("span", { class: "model" }, text(row.model_asked), el("span", { class: "arrow" }, " → "), answered)),
    cell(yesNo(row.stream)),
    cell(cacheBadge(row.cache)),
    cell(statusBadge(row.status, row.error)),
    cell(ms(row.ttfb_ms), true),
    cell(ms(row.total_ms), true),
    cell(el("span", { title: tokenDetail(row) }, tokens), true),
    cell(usd(row.cost_usd), true),
    cell(el("span", { title: savedDetail(row) }, row.cost_saved_usd == null && row.provider_cache_saved_usd == null ? "—" : usd(saved)), true));
    return tr;
  }

  function render() {
    const shown = entries.filter(matches);
    fill(tbody, shown.length
      ? shown.map(rowElement)
      : emptyRow(COLUMNS.length, entries.length ? "No request matches the filters." : "No requests yet: send one through the gateway."));
    showCount(shown.length);
  }

  function showCount(shown) {
    byId("requests-count").textContent = `${count(shown)} shown of ${count(entries.length)} kept (the newest ${MAX_ROWS})`;
  }

  /**
   * Notes `entry` by its request id; whether it is new. A request already
   * known (from the database and the feed both) only gains the log line.
   */
  function isNew(entry) {
    const id = idOf(entry.request);
    const known = byRequestId.get(id);
    if (known) {
      known.log = known.log ?? entry.log;
      return false;
    }
    byRequestId.set(id, entry);
    return true;
  }

  /** Adds one finished request from the feed. */
  function add(entry) {
    if (!isNew(entry)) return;
    const time = entry.request.time_ms ?? 0;
    const at = entries.findIndex((other) => (other.request.time_ms ?? 0) <= time);
    const index = at < 0 ? entries.length : at;
    entries.splice(index, 0, entry);
    while (entries.length > MAX_ROWS) byRequestId.delete(idOf(entries.pop().request));
    // The common case, the newest request: one row in, no redraw.
    if (index === 0 && tbody.rows.length < MAX_ROWS) {
      if (matches(entry)) {
        tbody.querySelector("tr.empty")?.remove();
        tbody.prepend(rowElement(entry));
      }
      showCount(tbody.querySelectorAll("tr[data-testid=request-row]").length);
    } else {
      render();
    }
  }

  async function load() {
    const current = ++loading;
    say(message, "Loading…");
    try {
      const answer = await api("/api/requests", { query: { limit: FIRST_LOAD, ...filters } });
      if (current !== loading) return;
      // Whatever the feed delivered meanwhile stays; the server's rows fill in behind it.
      const fresh = entries;
      entries = [];
      byRequestId.clear();
      for (const row of answer.requests || []) remember({ request: row, log: null });
      for (const entry of fresh) remember(entry);
      entries.sort((a, b) => (b.request.time_ms ?? 0) - (a.request.time_ms ?? 0));
      entries.length = Math.min(entries.length, MAX_ROWS);
      say(message, "");
      render();
      // Lets a test (or a person's script) wait for the first load instead of guessing.
      table.dataset.loaded = "yes";
    } catch (error) {
      if (current === loading) say(message, `Could not load the requests: ${describeError(error)}`, "error");
    }
  }

  function remember(entry) {
    if (isNew(entry)) entries.push(entry);
  }

  function apply(event) {
    event?.preventDefault();
    const wanted = readFilters();
    if (wanted.status && !STATUS_FILTER.test(wanted.status)) {
      say(message, "Status is a code (200), a class (4xx) or error.", "error");
      return;
    }
    filters = wanted;
    // What is kept matches the old filters only: ask the server again.
    entries = entries.filter(matches);
    render();
    load();
  }

  function onDropped(skipped) {
    droppedTotal += skipped;
    dropped.hidden = false;
    // The server skips past 2,000 requests a second, or when this page falls behind;
    // the database has them all (Apply loads the newest).
    dropped.textContent = `The live feed skipped ${count(skipped)} request${skipped === 1 ? "" : "s"}`
      + (droppedTotal > skipped ? ` (${count(droppedTotal)} in all)` : "")
      + ": more than it shows a second, or this page fell behind. Apply loads the newest from the database.";
  }

  form.addEventListener("submit", apply);
  for (const input of form.querySelectorAll("input, select")) {
    // Filtering what is held is instant; the server is asked on Apply.
    input.addEventListener("input", () => {
      const wanted = readFilters();
      if (wanted.status && !STATUS_FILTER.test(wanted.status)) return;
      filters = wanted;
      render();
    });
  }
  byId("filter-clear").addEventListener("click", () => {
    form.reset();
    filters = {};
    load();
  });

  return {
    start() {
      if (feed) return;
      render();
      feed = startFeed({
        onRequest: add,
        onDropped,
        onState: (state, kind) => say(stateLine, state, kind),
      });
      load();
    },
    stop() {
      feed?.stop();
      feed = null;
      delete table.dataset.loaded;
      loading += 1;
      entries = [];
      byRequestId.clear();
      droppedTotal = 0;
      dropped.hidden = true;
      closeDetail();
      say(stateLine, "stopped");
      render();
    },
    show() {},
  };
}

function tokenDetail(row) {
  const parts = [`prompt ${count(row.prompt_tokens)}`, `completion ${count(row.completion_tokens)}`];
  if (row.cached_tokens) parts.push(`cached ${count(row.cached_tokens)}`);
  if (row.reasoning_tokens) parts.push(`reasoning ${count(row.reasoning_tokens)}`);
  if (row.estimated) parts.push("estimated by llm-bridge");
  return parts.join(", ");
}

function savedDetail(row) {
  return `llm-bridge cache ${usd(row.cost_saved_usd)}, provider prompt cache ${usd(row.provider_cache_saved_usd)}`;
}
