// The Status tab: what GET /api/status and GET /api/keys tell, the form that
// sets or removes a key in the env file (POST /api/keys) and the reload
// button (POST /api/reload). Key values go to the server and are never
// shown back; the page only ever sees the masked "…abcd".

import { api, describeError } from "/ui/api.js";
import { byId, cell, count, duration, el, emptyRow, fill, head, jsonBlock, ms, rate, say, text, usd, when, yesNo } from "/ui/dom.js";

// An env variable's name, as `llm-bridge keys set` takes it.
const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// How long a "Remove" button waits for its confirming second click.
const CONFIRM_MS = 5000;

export function statusView() {
  const message = byId("status-message");
  let admin = false;
  let loading = 0;

  async function load() {
    const current = ++loading;
    say(message, "Loading…");
    const [status, keys] = await Promise.allSettled([api("/api/status"), api("/api/keys")]);
    if (current !== loading) return;
    if (status.status === "fulfilled") {
      showStatus(status.value);
      say(message, "");
    } else {
      say(message, `Could not load the status: ${describeError(status.reason)}`, "error");
    }
    if (keys.status === "fulfilled") showKeys(keys.value);
    else fill(byId("keys-table"), el("caption", {}, `Could not list the keys: ${describeError(keys.reason)}`));
  }

  function showKeys(answer) {
    byId("env-file").textContent = answer.env_file || ".env";
    const keys = answer.keys || [];
    fill(byId("keys-table"), head(["Name", "Value", ""]), el("tbody", {}, keys.length
      ? keys.map((key) => el("tr", { "data-testid": "key-row", "data-name": key.name },
        cell(el("code", {}, text(key.name))), cell(el("code", {}, text(key.masked))),
        cell(removeButton(key.name))))
      : emptyRow(3, "No keys in the env file.")));
  }

  function removeButton(name) {
    const button = el("button", {
      type: "button", class: "danger", "data-testid": "key-unset", "data-name": name,
      disabled: !admin, title: admin ? null : "needs an admin access key",
    }, "Remove");
    let timer = null;
    button.addEventListener("click", () => {
      // Two clicks, not window.confirm: a modal prompt would block the page.
      if (!button.dataset.armed) {
        button.dataset.armed = "yes";
        button.textContent = `Remove ${name}?`;
        timer = setTimeout(() => {
          delete button.dataset.armed;
          button.textContent = "Remove";
        }, CONFIRM_MS);
        return;
      }
      clearTimeout(timer);
      changeKeys({ unset: [name] }, `Removed ${name}`);
    });
    return button;
  }

  async function changeKeys(body, done) {
    const result = byId("key-result");
    say(result, "Saving…");
    try {
      const answer = await api("/api/keys", { method: "POST", body });
      const reload = answer.reload || {};
      say(result, reload.ok === false
        ? `${done}, but the reload failed: ${text(reload.error)}`
        : `${done}; the configuration was reloaded.`, reload.ok === false ? "error" : "good");
    } catch (error) {
      say(result, `Not saved: ${describeError(error)}`, "error");
    }
    load();
  }

  async function reloadConfig() {
    const result = byId("reload-result");
    const button = byId("reload");
    button.disabled = true;
    say(result, "Reloading…");
    try {
      const answer = await api("/api/reload", { method: "POST" });
      say(result, answer.ok ? "Reloaded." : `The reload failed: ${text(answer.error)}`, answer.ok ? "good" : "error");
    } catch (error) {
      say(result, `Could not reload: ${describeError(error)}`, "error");
    } finally {
      button.disabled = !admin;
    }
    load();
  }

  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const nameInput = byId("key-name");
    const valueInput = byId("key-value");
    const name = nameInput.value.trim();
    const value = valueInput.value;
    // The value is not kept in the page a moment longer than needed.
    valueInput.value = "";
    if (!KEY_NAME.test(name)) {
      say(byId("key-result"), "A key name is letters, digits and _ (like OPENAI_API_KEY).", "error");
      return;
    }
    if (!value) {
      say(byId("key-result"), "Type the key's value.", "error");
      return;
    }
    changeKeys({ set: { [name]: value } }, `Set ${name}`);
  });
  byId("reload").addEventListener("click", reloadConfig);

  return {
    show(session) {
      admin = !!session?.admin;
      load();
    },
  };
}

function showStatus(status) {
  const fact = (label, value, testid) => [el("dt", {}, label), el("dd", { "data-testid": testid }, value)];
  const live = status.live || {};
  fill(byId("status-overview"),
    fact("Version", text(status.version), "status-version"),
    fact("Up for", `${duration(status.uptime_secs)} (since ${when(status.started)})`, "status-uptime"),
    fact("Listening on", text(status.listen), "status-listen"),
    fact("Cache mode", text(status.cache_mode), "status-cache-mode"),
    fact("Cache folder", text(status.cache_dir)),
    fact("Data folder", text(status.data_dir)),
    fact("Log folder", text(status.log_dir)),
    fact("Config file", text(status.config_file ?? "none (defaults and environment)"), "status-config-file"),
    fact("Env file", text(status.env_file)),
    fact("Access keys required", yesNo(status.access_keys_required)),
    fact("Logs bodies", yesNo(status.log_bodies)),
    fact("Live viewers", `${count(live.viewers)} (${count(live.dropped)} events dropped)`));
  const reload = status.reload || {};
  fill(byId("status-reload"),
    fact("Reloads", `${count(reload.done)} done, ${count(reload.failed)} failed`),
    fact("Last reload", reload.last_at ? `${when(reload.last_at)}: ${reload.last_failed ? "failed" : "ok"}` : "none since start", "status-last-reload"),
    reload.last_error ? fact("Last error", text(reload.last_error)) : null);
  showProviders(status.providers || []);
  showAccessKeys(status.access_keys || []);
  showBudgets(status.budgets || {});
  showPairs(byId("aliases-table"), ["Alias", "Model"], status.aliases, "No aliases.");
  showPairs(byId("fallbacks-table"), ["Provider", "Falls back to"], status.fallbacks, "No fallbacks.");
  fill(byId("status-config"), jsonBlock(status.config ?? null, "status-config-json"));
}

function showProviders(providers) {
  const columns = ["Name", "Kind", "Base URL", "Has key", "Keys", "#Models", "#In flight", "#Queued",
    "#Max concurrency", "#Recent requests", "#Error rate", "#p50 ms"];
  fill(byId("providers-table"), head(columns), el("tbody", {}, providers.length
    ? providers.map((p) => {
      const recent = p.recent || {};
      return el("tr", { "data-testid": "provider-row", "data-name": p.name },
        cell(text(p.name)), cell(text(p.kind)), cell(el("code", {}, text(p.base_url))),
        cell(el("span", { class: `badge ${p.has_key ? "status-good" : "status-warn"}` }, yesNo(p.has_key))),
        cell((p.keys || []).length ? (p.keys || []).map((k) => el("code", { class: "masked" }, k)) : "—"),
        cell(count(p.models), true), cell(count(p.in_flight), true), cell(count(p.queued), true),
        cell(p.max_concurrency == null ? "no limit" : count(p.max_concurrency), true),
        cell(`${count(recent.requests)}${recent.window ? ` in ${recent.window}` : ""}`, true),
        cell(rate(recent.error_rate), true), cell(ms(recent.latency_p50_ms), true));
    })
    : emptyRow(columns.length, "No providers configured.")));
}

function showAccessKeys(keys) {
  const limit = (value) => (value ? `${count(value.used)} / ${count(value.limit)}` : "no limit");
  const columns = ["Name", "Admin", "#Requests this minute", "#Tokens this minute"];
  fill(byId("access-keys-table"), head(columns), el("tbody", {}, keys.length
    ? keys.map((k) => el("tr", {}, cell(text(k.name)), cell(yesNo(k.admin)), cell(limit(k.rpm), true), cell(limit(k.tpm), true)))
    : emptyRow(columns.length, "No access keys: the gateway is open to this machine only.")));
}

function showBudgets(budgets) {
  const lines = [...(budgets.gateway ? [budgets.gateway] : []), ...(budgets.keys || [])];
  const spent = (used, limit, resets) => (limit == null
    ? "no budget"
    : el("span", { title: `resets ${when(resets)}` }, `${usd(used)} of ${usd(limit)}`));
  const columns = ["Who", "#Today", "#This month", "#Reserved in flight"];
  fill(byId("budgets-table"), head(columns), el("tbody", {}, lines.length
    ? lines.map((b) => el("tr", { "data-testid": "budget-row", "data-key": b.key ?? "" },
      cell(b.key == null ? "the gateway" : text(b.key)),
      cell(spent(b.daily_spent_usd, b.daily_usd, b.daily_resets), true),
      cell(spent(b.monthly_spent_usd, b.monthly_usd, b.monthly_resets), true),
      cell(usd(b.reserved_usd), true)))
    : emptyRow(columns.length, "No budgets ([budgets] in the config file sets them).")));
}

function showPairs(table, labels, object, none) {
  const pairs = Object.entries(object || {});
  fill(table, head(labels), el("tbody", {}, pairs.length
    ? pairs.map(([name, value]) => el("tr", {}, cell(el("code", {}, name)),
      cell(Array.isArray(value) ? value.join(" → ") : text(value))))
    : emptyRow(labels.length, none)));
}
