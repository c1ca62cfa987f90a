// The live feed, GET /api/live: read with fetch so the key travels in the
// Authorization header (EventSource cannot send one), parsed by
// api.readEvents, and reopened after a failure with a growing pause.

import { ApiError, pause, readEvents, request } from "/ui/api.js";

// The contract's back-off: 1 s, 2 s, 4 s, 8 s, then every 10 s.
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 10000;

/**
 * Opens the feed and keeps it open until `stop()`. `onRequest({request, log})`
 * gets each finished request, `onDropped(n)` each notice of skipped events,
 * `onState(text, kind)` each change of the connection's state.
 */
export function startFeed({ onRequest, onDropped, onState }) {
  const controller = new AbortController();
  run(controller.signal, { onRequest, onDropped, onState });
  return { stop: () => controller.abort() };
}

async function run(signal, handlers) {
  let retry = FIRST_RETRY_MS;
  handlers.onState("connecting…", "info");
  while (!signal.aborted) {
    try {
      const response = await request("/api/live", { signal, accept: "text/event-stream" });
      handlers.onState("live", "good");
      retry = FIRST_RETRY_MS;
      await readEvents(response.body, (name, data) => deliver(name, data, handlers));
    } catch (error) {
      if (signal.aborted) return;
      // A refused key is not a network hiccup: app.js has gone back to the login form.
      if (error instanceof ApiError && error.status === 401) return;
    }
    if (signal.aborted) return;
    handlers.onState(`reconnecting… (next try in ${retry / 1000} s)`, "warn");
    await pause(retry, signal);
    retry = Math.min(retry * 2, LAST_RETRY_MS);
  }
}

function deliver(name, data, { onRequest, onDropped }) {
  let body;
  try {
    body = JSON.parse(data);
  } catch {
    return; // Not ours to show: the feed only promises JSON events.
  }
  if (name === "request" && body && body.request) onRequest({ request: body.request, log: body.log ?? null });
  else if (name === "dropped" && body) onDropped(Number(body.dropped) || 0);
}
