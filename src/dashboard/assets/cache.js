// The Cache tab: the summary and a search of the entries (GET /api/cache),
// one entry's request and response (GET /api/cache/{key}), deleting it
// (DELETE, admin) and checking the store (POST /api/cache/check).

import { api, describeError } from "/ui/api.js";
import { byId, bytes, cell, count, el, emptyRow, fill, head, ms, rate, say, text, when } from "/ui/dom.js";
import { cacheEntryView } from "/ui/cache_entry.js";

const COLUMNS = ["Key", "Model", "Provider", "Upstream model", "Created", "#Status", "Kind", "Wire", "#Size", "#Latency ms"];
// Twelve hex digits tell entries apart in any cache a person browses; the full key is in the title.
const SHOWN_KEY_DIGITS = 12;
const LIST_LIMIT = 50;

export function cacheView() {
  const table = byId("cache-table");
  const message = byId("cache-message");
  const detail = byId("cache-detail");
  const detailBody = byId("cache-detail-body");
  const dialog = byId("cache-delete-dialog");
  let openKey = null;
  // Where the keyboard focus goes back to when the panel closes.
  let opener = null;
  let listing = 0;
  let opening = 0;

  function query() {
    return {
      model: byId("cache-model").value.trim(),
      prefix: byId("cache-prefix").value.trim().toLowerCase(),
      q: byId("cache-q").value.trim(),
      limit: LIST_LIMIT,
    };
  }

  async function load() {
    const wanted = query();
    if (wanted.prefix && !/^[0-9a-f]+$/.test(wanted.prefix)) {
      say(message, "A key prefix is hex digits (0-9, a-f).", "error");
      return;
    }
    const current = ++listing;
    say(message, "Loading…");
    try {
      const answer = await api("/api/cache", { query: wanted });
      if (current !== listing) return;
      showSummary(answer);
      showItems(answer.items || []);
      const more = answer.truncated ? ` (the newest ${count(answer.items?.length ?? 0)} shown)` : "";
      say(message, `${count(answer.matches ?? 0)} matching entr${answer.matches === 1 ? "y" : "ies"}${more}.`);
    } catch (error) {
      if (current === listing) say(message, `Could not list the cache: ${describeError(error)}`, "error");
    }
  }

  function showItems(items) {
    fill(table, head(COLUMNS), el("tbody", {}, items.length
      ? items.map(itemRow)
      : emptyRow(COLUMNS.length, "No entry matches.")));
  }

  function itemRow(item) {
    const openIt = () => openEntry(item.key);
    return el("tr", {
      tabIndex: 0,
      "data-testid": "cache-row",
      "data-key": item.key,
      class: item.key === openKey ? "selected" : null,
      on: {
        click: openIt,
        keydown: (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            openIt();
          }
        },
      },
    },
    cell(el("code", { class: "key", title: item.key }, String(item.key ?? "").slice(0, SHOWN_KEY_DIGITS))),
    cell(text(item.model)), cell(text(item.provider)), cell(text(item.upstream_model)),
    cell(when(item.created_ms ?? item.created)), cell(text(item.status), true),
    cell(el("span", { class: "badge" }, text(item.kind))), cell(text(item.wire)),
    cell(bytes(item.bytes), true), cell(ms(item.latency_ms), true));
  }

  async function openEntry(key) {
    const current = ++opening;
    openKey = key;
    for (const row of table.querySelectorAll("tr[data-key]")) row.classList.toggle("selected", row.dataset.key === key);
    byId("cache-detail-title").textContent = `Entry ${key.slice(0, SHOWN_KEY_DIGITS)}…`;
    fill(detailBody, el("p", {}, "Loading…"));
    if (detail.hidden) opener = document.activeElement;
    detail.hidden = false;
    detail.scrollTop = 0;
    byId("cache-detail-title").focus({ preventScroll: true });
    try {
      const entry = await api(`/api/cache/${encodeURIComponent(key)}`);
      if (current !== opening) return;
      fill(detailBody, el("p", {}, "Key ", el("code", { class: "key", "data-testid": "cache-detail-key" }, entry.key || key)),
        cacheEntryView(entry, "cache"));
    } catch (error) {
      if (current === opening) fill(detailBody, el("p", { class: "message", "data-kind": "error" }, describeError(error)));
    }
  }

  function closeEntry() {
    opening += 1;
    openKey = null;
    const wasOpen = !detail.hidden;
    detail.hidden = true;
    detailBody.replaceChildren();
    if (wasOpen && opener?.isConnected) opener.focus();
    opener = null;
    for (const row of table.querySelectorAll("tr.selected")) row.classList.remove("selected");
  }

  async function deleteOpenEntry() {
    const key = openKey;
    if (!key) return;
    try {
      await api(`/api/cache/${encodeURIComponent(key)}`, { method: "DELETE" });
      table.querySelector(`tr[data-key="${CSS.escape(key)}"]`)?.remove();
      closeEntry();
      say(message, `Deleted ${key.slice(0, SHOWN_KEY_DIGITS)}….`);
      load();
    } catch (error) {
      say(message, `Could not delete: ${describeError(error)}`, "error");
    }
  }

  async function check(purge) {
    const result = byId("cache-check-result");
    const button = byId(purge ? "cache-check-purge" : "cache-check");
    button.disabled = true;
    say(message, purge ? "Checking and purging…" : "Checking…");
    try {
      const answer = await api("/api/cache/check", { method: "POST", query: { purge: String(purge) } });
      const broken = answer.broken || [];
      const leftovers = answer.leftovers || [];
      fill(result,
        el("p", {}, `Checked ${count(answer.checked)} entries: ${count(broken.length)} broken, `
          + `${count(leftovers.length)} leftover files, ${count(answer.purged ?? 0)} purged.`),
        broken.length ? el("ul", { "data-testid": "cache-check-broken" }, broken.map((b) =>
          el("li", {}, el("code", { class: "key" }, String(b.key ?? "").slice(0, SHOWN_KEY_DIGITS)), ` ${text(b.problem)}`))) : null,
        leftovers.length ? el("ul", { "data-testid": "cache-check-leftovers" }, leftovers.map((name) =>
          el("li", {}, el("code", {}, text(name))))) : null);
      result.hidden = false;
      say(message, "");
      if (purge) load();
    } catch (error) {
      say(message, `Could not check the cache: ${describeError(error)}`, "error");
    } finally {
      button.disabled = purge && document.body.classList.contains("reader");
    }
  }

  byId("cache-search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  byId("cache-detail-close").addEventListener("click", closeEntry);
  detail.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !dialog.open) closeEntry();
  });
  byId("cache-delete").addEventListener("click", () => {
    if (!openKey) return;
    byId("cache-delete-question").textContent = `Delete the cache entry ${openKey.slice(0, SHOWN_KEY_DIGITS)}…? `
      + "The next identical request goes to the provider again.";
    dialog.showModal();
  });
  byId("cache-delete-cancel").addEventListener("click", () => dialog.close());
  byId("cache-delete-confirm").addEventListener("click", () => {
    dialog.close();
    deleteOpenEntry();
  });
  byId("cache-check").addEventListener("click", () => check(false));
  byId("cache-check-purge").addEventListener("click", () => check(true));

  return { show: load, stop: closeEntry };
}

function showSummary(answer) {
  const item = (label, value, testid) => el("div", {}, el("dt", {}, label), el("dd", { "data-testid": testid }, value));
  fill(byId("cache-summary"),
    item("Entries", count(answer.entries), "cache-entries"),
    item("Size", bytes(answer.bytes), "cache-bytes"),
    item("Oldest", when(answer.oldest), "cache-oldest"),
    item("Newest", when(answer.newest), "cache-newest"),
    item("Hit rate since start", `${rate(answer.hit_rate)} (${count(answer.hits)} hits, ${count(answer.misses)} misses)`, "cache-hit-rate"));
}
