// A request's detail panel: its usage row, its request-log line (from the
// live event, else GET /api/requests/{id}) and, when it has a cache key,
// the cached request and response (GET /api/cache/{key}).

import { ApiError, api, describeError } from "/ui/api.js";
import { byId, el, fill, jsonBlock } from "/ui/dom.js";
import { cacheEntryView } from "/ui/cache_entry.js";

const panel = byId("detail");
const body = byId("detail-body");
const title = byId("detail-title");

// Each opening gets a number, so an answer for a panel since replaced is dropped.
let opening = 0;
let opener = null;

/** Shows `{request, log}`; `focus` moves the keyboard focus to the panel. */
export function openDetail({ request: row, log }, focus = true) {
  const current = ++opening;
  // Where the keyboard focus goes back to when the panel closes.
  opener = document.activeElement;
  const id = row.request_id;
  title.textContent = `Request ${id ?? ""}`.trim();
  const logSlot = el("div", { "data-testid": "detail-log" });
  const cacheSlot = el("div", { "data-testid": "detail-cache" });
  fill(body,
    el("div", { class: "side-by-side compact" },
      el("section", {}, el("h3", {}, "Usage record"), jsonBlock(row, "detail-row")),
      el("section", {}, el("h3", {}, "Request log line"), logSlot)),
    el("section", {}, el("h3", {}, "Cached exchange"), cacheSlot));
  panel.hidden = false;
  if (focus) {
    title.focus({ preventScroll: true });
    panel.scrollTop = 0;
  }
  showLog(current, id, log, logSlot);
  showCached(current, row.cache_key, cacheSlot);
}

export function closeDetail() {
  opening += 1;
  const wasOpen = !panel.hidden;
  panel.hidden = true;
  body.replaceChildren();
  if (wasOpen && opener?.isConnected) opener.focus();
  opener = null;
}

async function showLog(current, id, log, slot) {
  if (log) {
    fill(slot, jsonBlock(log));
    return;
  }
  if (!id) {
    fill(slot, el("p", {}, "This request has no id to look its log line up by."));
    return;
  }
  fill(slot, el("p", {}, "Loading…"));
  try {
    const answer = await api(`/api/requests/${encodeURIComponent(id)}`);
    if (current !== opening) return;
    fill(slot, answer.log
      ? jsonBlock(answer.log)
      : el("p", {}, "The request log no longer has this line (it was rotated away)."));
  } catch (error) {
    if (current === opening) fill(slot, el("p", { class: "message", "data-kind": "error" }, describeError(error)));
  }
}

async function showCached(current, cacheKey, slot) {
  if (!cacheKey) {
    fill(slot, el("p", {}, "This request has no cache entry (not cacheable, bypassed or failed)."));
    return;
  }
  fill(slot, el("p", {}, "Loading the cached entry…"));
  try {
    const entry = await api(`/api/cache/${encodeURIComponent(cacheKey)}`);
    if (current !== opening) return;
    fill(slot, el("p", {}, "Key ", el("code", { class: "key" }, cacheKey)), cacheEntryView(entry, "detail-cached"));
  } catch (error) {
    if (current !== opening) return;
    const gone = error instanceof ApiError && error.status === 404;
    fill(slot, el("p", { class: "message", "data-kind": gone ? "info" : "error" },
      gone ? "The entry is no longer in the cache (deleted or evicted)." : describeError(error)));
  }
}

byId("detail-close").addEventListener("click", closeDetail);
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeDetail();
});
