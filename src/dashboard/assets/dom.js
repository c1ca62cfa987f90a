// Building elements and formatting numbers. Everything the server sends is
// put on the page as text (textContent), never parsed as HTML: request and
// response bodies are whatever a client or a provider wrote.

/**
 * `el("td", {class: "num", "data-testid": "x", on: {click}}, "text", child)`.
 * Attributes named like properties (`hidden`, `disabled`, `value`, `type`,
 * `tabIndex`) are set as properties; `null`/`undefined` children are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name === "class") {
      node.className = value;
    } else if (name in PROPERTIES) {
      node[PROPERTIES[name]] = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

const PROPERTIES = {
  hidden: "hidden", disabled: "disabled", value: "value", type: "type",
  tabIndex: "tabIndex", checked: "checked", title: "title", htmlFor: "htmlFor",
};

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces `node`'s children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const byId = (id) => document.getElementById(id);

/** A status line: sets its text and whether it reads as an error. */
export function say(node, text, kind = "info") {
  node.textContent = text || "";
  node.dataset.kind = kind;
}

// Intl formatters are made once: creating one per cell is slow.
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

const missing = (value) => value === null || value === undefined || Number.isNaN(value);
export const NONE = "—";

/** Tokens, counts: thousands separators. */
export function count(value) {
  return missing(value) ? NONE : integer.format(value);
}

/** Milliseconds with one decimal. */
export function ms(value) {
  return missing(value) ? NONE : oneDecimal.format(value);
}

/** A fraction 0..1 as a percentage. */
export function rate(value) {
  return missing(value) ? NONE : percent.format(value);
}

/**
 * Dollars: six decimals below a cent (a single request costs fractions of
 * one), four above, so every figure has a useful precision.
 */
export function usd(value) {
  if (missing(value)) return NONE;
  if (value === 0) return "$0";
  const digits = Math.abs(value) < 0.01 ? 6 : 4;
  return `$${value.toFixed(digits)}`;
}

export function bytes(value) {
  if (missing(value)) return NONE;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${integer.format(size)} B` : `${oneDecimal.format(size)} ${units[unit]}`;
}

/** A time (ms since the epoch or an RFC 3339 text) in the viewer's zone. */
export function when(value) {
  if (missing(value) || value === "") return NONE;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

export function duration(seconds) {
  if (missing(seconds)) return NONE;
  const s = Math.floor(seconds);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [Math.floor(s / 60) % 60, "m"], [s % 60, "s"]];
  const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1);
  return shown.slice(0, 3).map(([n, unit]) => `${n}${unit}`).join(" ");
}

export function yesNo(value) {
  return missing(value) ? NONE : value ? "yes" : "no";
}

export function text(value) {
  return missing(value) || value === "" ? NONE : String(value);
}

/** A pretty JSON block (as text). */
export function jsonBlock(value, testid) {
  const shown = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return el("pre", { class: "json", "data-testid": testid, tabIndex: 0 }, shown ?? "null");
}

/** A table cell; `numeric` right-aligns it. */
export function cell(value, numeric = false) {
  return el("td", { class: numeric ? "num" : null }, value);
}

/** A `<thead>` row from labels; a label starting with "#" is numeric. */
export function head(labels) {
  return el("thead", {}, el("tr", {}, labels.map((label) =>
    el("th", { scope: "col", class: label.startsWith("#") ? "num" : null }, label.replace(/^#/, "")))));
}

/** A row for an empty table, spanning `columns`. */
export function emptyRow(columns, message) {
  return el("tr", { class: "empty" }, el("td", { colspan: columns }, message));
}

/** The cache's HIT/MISS/BYPASS as a badge. */
export function cacheBadge(value) {
  if (!value) return el("span", { class: "badge" }, NONE);
  return el("span", { class: `badge cache-${String(value).toLowerCase()}` }, value);
}

export function statusBadge(status, error) {
  const kind = status >= 500 || (!status && error) ? "bad" : status >= 400 ? "warn" : "good";
  return el("span", { class: `badge status-${kind}`, title: error || null }, text(status), error ? ` ${error}` : null);
}
