// One cache entry as GET /api/cache/{key} answers it, drawn as the stored
// request beside the stored response. Used by the Cache tab and by a
// request's detail panel; `prefix` keeps their test ids apart.

import { el, jsonBlock, ms, text } from "/ui/dom.js";

/** The request and response of `entry`, side by side. */
export function cacheEntryView(entry, prefix) {
  return el("div", { class: "entry" },
    entry.problem
      ? el("p", { class: "message", "data-kind": "warn", "data-testid": `${prefix}-problem` },
        `This entry cannot be served: ${entry.problem}`)
      : null,
    el("div", { class: "side-by-side" },
      el("section", { "data-testid": `${prefix}-request` },
        el("h3", {}, "Request"),
        jsonBlock(entry.request ?? null)),
      el("section", { "data-testid": `${prefix}-response` },
        el("h3", {}, responseTitle(entry.response)),
        responseView(entry.response))),
    el("details", {},
      el("summary", {}, "Entry metadata"),
      jsonBlock(entry.meta ?? null)));
}

function responseTitle(response) {
  if (!response) return "Response";
  if (response.kind === "sse") return `Response (stream, ${(response.events || []).length} events)`;
  return `Response (${response.kind})`;
}

function responseView(response) {
  if (!response) return el("p", {}, "No response stored.");
  if (response.kind === "sse") return eventsView(response.events || []);
  // "json" and "text" both carry `body`; a text body is shown as it is.
  return jsonBlock(response.body ?? null);
}

/** A stream's events, each with when it came after the first byte. */
function eventsView(events) {
  if (!events.length) return el("p", {}, "The stream has no events.");
  return el("ol", { class: "events", "data-testid": "sse-events" },
    events.map((event) =>
      el("li", {},
        el("div", { class: "event-head" },
          el("span", { class: "offset" }, `+${ms(event.offset_ms)} ms`),
          event.event ? el("span", { class: "badge" }, event.event) : null),
        eventData(event.data))));
}

// A data line that is JSON reads better indented; [DONE] and other text stays as sent.
function eventData(data) {
  const raw = text(data);
  try {
    return jsonBlock(JSON.parse(raw));
  } catch {
    return el("pre", { class: "json" }, raw);
  }
}
