// The page's only way to the gateway: every call goes to this origin's
// /api/ with the access key in the Authorization header (never in a URL),
// and every error comes back as an ApiError with the server's code.

// sessionStorage, not localStorage: the key lives as long as the tab and is
// not left behind on the machine.
const KEY_STORAGE = "llm-bridge.access-key";

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** A refused or failed call, with the server's `{"error":{…}}` parts. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

// Called when the server refuses the stored key (401), so the page can go
// back to the login form; set by app.js.
let onUnauthorized = () => {};

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** `path` with the non-empty entries of `query` as its query string. */
export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Fetches `path` and returns the Response once it is ok (2xx); a refusal
 * throws an ApiError. `key` overrides the stored key (the login check).
 */
export async function request(path, { method = "GET", query, body, key, signal, accept } = {}) {
  const headers = {};
  const usedKey = key === undefined ? storedKey() : key;
  if (usedKey) headers.Authorization = `Bearer ${usedKey}`;
  if (accept) headers.Accept = accept;
  const init = { method, headers, signal, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(withQuery(path, query), init);
  if (response.ok) return response;
  const error = await errorOf(response);
  // The login check passes its own key and handles 401 itself.
  if (error.status === 401 && key === undefined) onUnauthorized(error);
  throw error;
}

/** Like `request`, answering the parsed JSON body. */
export async function api(path, options) {
  const response = await request(path, options);
  return response.json();
}

async function errorOf(response) {
  let code = null;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || body.error.type || null;
      if (body.error.message) message = body.error.message;
    }
  } catch {
    // Not our JSON error shape (a proxy's page, an empty body): keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** A readable line for an error of any kind. */
export function describeError(error) {
  if (error instanceof ApiError) {
    if (error.status === 403 && error.code === "admin_required") {
      return `this needs an admin access key (${error.message})`;
    }
    return `${error.status}${error.code ? ` ${error.code}` : ""}: ${error.message}`;
  }
  if (error && error.name === "AbortError") return "cancelled";
  return `the gateway did not answer (${error && error.message ? error.message : error})`;
}

/**
 * Reads a text/event-stream body, calling `onEvent(name, data)` for each
 * event (`name` is "message" when the event has no `event:` line). Comment
 * lines (`: ping`) are skipped. Resolves when the stream ends.
 */
export async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let name = "";
  let data = [];
  const dispatch = () => {
    if (data.length) onEvent(name || "message", data.join("\n"));
    name = "";
    data = [];
  };
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value || new Uint8Array(), { stream: !done });
    // A line ends at \n, \r\n or \r; the last piece may be incomplete.
    const lines = buffered.split(/\r\n|\n|\r(?!$)/);
    buffered = done ? "" : lines.pop();
    for (const line of lines) {
      if (line === "") dispatch();
      else if (line.startsWith(":")) continue;
      else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
    }
    if (done) {
      dispatch();
      return;
    }
  }
}

/** Resolves after `ms`, or early (quietly) when `signal` aborts. */
export function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
