// The page's entry: signing in (a key checked by GET /api/session), the
// tabs, and which controls an admin key unlocks. Each tab's view lives in
// its own module; this one only decides which is shown.

import { ApiError, api, describeError, storeKey, storedKey, whenUnauthorized } from "/ui/api.js";
import { byId, say } from "/ui/dom.js";
import { requestsView } from "/ui/requests.js";
import { usageView } from "/ui/usage.js";
import { cacheView } from "/ui/cache.js";
import { statusView } from "/ui/status.js";

const views = {
  requests: requestsView(),
  usage: usageView(),
  cache: cacheView(),
  status: statusView(),
};
const VIEW_NAMES = Object.keys(views);
const tabs = VIEW_NAMES.map((name) => byId(`tab-${name}`));

/** Who is signed in: null until the session check answers. */
let session = null;

function showOnly(id) {
  for (const part of ["boot", "login", "app"]) byId(part).hidden = part !== id;
}

async function boot() {
  try {
    // Without a key kept from earlier, ask /health (which needs none)
    // whether keys are required, rather than let a refused /api/session
    // put a 401 in the console of every first visit.
    if (!storedKey() && (await api("/health")).access_keys_required) {
      showLogin("");
      return;
    }
    const facts = await api("/api/session", { key: storedKey() || null });
    enter(facts);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      storeKey(null);
      showLogin("");
    } else {
      say(byId("boot"), `Cannot reach the gateway's API: ${describeError(error)}`, "error");
    }
  }
}

function showLogin(message) {
  session = null;
  for (const view of Object.values(views)) view.stop?.();
  byId("session").hidden = true;
  showOnly("login");
  say(byId("login-message"), message, message ? "error" : "info");
  byId("login-key").focus();
}

async function login(event) {
  event.preventDefault();
  const input = byId("login-key");
  const key = input.value.trim();
  if (!key) return;
  const submit = byId("login-submit");
  submit.disabled = true;
  say(byId("login-message"), "Checking…");
  try {
    const facts = await api("/api/session", { key });
    storeKey(key);
    input.value = "";
    enter(facts);
  } catch (error) {
    const refused = error instanceof ApiError && error.status === 401;
    say(byId("login-message"), refused ? "That key is not accepted." : describeError(error), "error");
  } finally {
    submit.disabled = false;
  }
}

function enter(facts) {
  session = facts;
  const open = !facts.access_keys_required;
  byId("session").hidden = false;
  byId("session-key").textContent = facts.key_id ?? (open ? "none (open mode)" : "unnamed key");
  const role = byId("session-role");
  role.textContent = facts.admin ? "admin" : "read-only";
  role.className = `badge ${facts.admin ? "role-admin" : "role-reader"}`;
  // Open mode has no key to forget.
  byId("logout").hidden = open;
  for (const control of document.querySelectorAll("[data-admin]")) {
    control.disabled = !facts.admin;
    control.title = facts.admin ? "" : "needs an admin access key";
  }
  document.body.classList.toggle("reader", !facts.admin);
  showOnly("app");
  views.requests.start(facts);
  select(viewFromHash(), false);
}

function logout() {
  storeKey(null);
  // A fresh page holds nothing the last key was shown.
  location.replace("/ui");
}

function viewFromHash() {
  const name = location.hash.replace(/^#/, "");
  return VIEW_NAMES.includes(name) ? name : "requests";
}

/** Shows the view `name`; `focusTab` moves the keyboard focus to its tab. */
function select(name, focusTab) {
  if (!session) return;
  VIEW_NAMES.forEach((view, index) => {
    const chosen = view === name;
    tabs[index].setAttribute("aria-selected", String(chosen));
    // A roving tabindex: Tab reaches the chosen tab, arrows reach the others.
    tabs[index].tabIndex = chosen ? 0 : -1;
    byId(`panel-${view}`).hidden = !chosen;
  });
  if (focusTab) tabs[VIEW_NAMES.indexOf(name)].focus();
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  views[name].show(session);
}

function onTabKey(event) {
  const index = tabs.indexOf(event.currentTarget);
  const moves = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1, Home: 0, End: tabs.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = (moves[event.key] + tabs.length) % tabs.length;
  select(VIEW_NAMES[next], true);
}

for (const tab of tabs) {
  tab.addEventListener("click", () => select(tab.dataset.view, false));
  tab.addEventListener("keydown", onTabKey);
}
window.addEventListener("hashchange", () => select(viewFromHash(), false));
byId("login-form").addEventListener("submit", login);
byId("logout").addEventListener("click", logout);
whenUnauthorized(() => {
  if (!session) return;
  storeKey(null);
  showLogin("The gateway no longer accepts this key: sign in again.");
});

boot();
