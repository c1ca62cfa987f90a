"""Drives the dashboard at /ui in headless Chromium, end to end: sign in,
watch chat requests arrive live, open one, chart and export the usage,
open and delete a cache entry, set a provider key, and take a screenshot
of each view (1366x768, plus Requests on a 390x844 phone).

Usage: python dashboard_browser.py GATEWAY_URL ACCESS_KEY SCREENSHOT_DIR
The gateway must be running with access keys (ACCESS_KEY an admin one),
or in open mode (ACCESS_KEY empty: no login, this machine's user is admin),
against a mock upstream that answers any chat model, with an empty cache.
Prints one JSON object on success; exits 1 with the failed step otherwise.

Throughout, every request the page makes must go to GATEWAY_URL, and the
page must log no console error and throw no exception.
"""

import contextlib
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

# What the brief allows each wait: long enough for a slow CI machine, short
# enough that a broken page fails in seconds rather than minutes.
WAIT_MS = 10_000
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
MODEL = "gpt-4.1"
OPENROUTER_TEST_KEY = "sk-or-dashboard-test-0000"


class Failure(Exception):
    """A step that did not do what the dashboard promises."""


@contextlib.contextmanager
def step(name):
    """Names the step in any failure raised inside it."""
    try:
        yield
    except Failure as error:
        raise Failure(f"{name}: {error}") from None
    except (PlaywrightError, AssertionError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # Playwright's first lines say what was expected and what was found; the rest is its call log.
        raise Failure(f"{name}: {' | '.join(lines[:3]) or type(error).__name__}") from None


def http(gateway, method, path, key=None, body=None):
    """One call from Python (not the page); answers (status, headers, parsed JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(gateway + path, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), None


def send_chat(gateway, key, n):
    body = {"model": MODEL, "messages": [{"role": "user", "content": f"dashboard {n}"}]}
    status, headers, answer = http(gateway, "POST", "/v1/chat/completions", key, body)
    if status != 200:
        raise Failure(f"chat request {n} answered {status}")
    return headers, answer


class Watch:
    """What the page does behind the scenes: its requests and its errors."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.requests = []
        self.errors = []

    def attach(self, page):
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", self.on_console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def on_console(self, message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        self.errors.append(f"console error: {message.text} ({url})")

    def check(self):
        # A download the page made from a Blob has a same-origin blob: URL,
        # fetched from the page's memory, not the network.
        local_blob = f"blob:{self.gateway}/"
        stray = [u for u in self.requests if not (u.startswith(self.gateway + "/") or u.startswith(local_blob))]
        if stray:
            raise Failure(f"the page requested other origins: {stray[:5]}")
        if self.errors:
            raise Failure("; ".join(self.errors[:5]))


def count_rows(page, selector):
    return page.locator(selector).count()


def run(gateway, key, shots):
    shots.mkdir(parents=True, exist_ok=True)
    screenshots = []
    watch = Watch(gateway)

    def shoot(page, name):
        path = shots / f"dashboard-{name}.png"
        page.screenshot(path=str(path), full_page=False)
        screenshots.append(str(path))

    chromium = os.environ.get("LLM_BRIDGE_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        watch.attach(page)
        by = page.get_by_test_id
        try:
            with step("1. login"):
                page.goto(gateway + "/ui")
                if key:
                    expect(by("login-key")).to_be_visible()
                    shoot(page, "login")
                    by("login-key").fill(key)
                    by("login-submit").click()
                else:
                    # Open mode: this machine's user goes straight in, as admin.
                    expect(by("session-key")).to_have_text("none (open mode)")
                    shoot(page, "open-mode")
                expect(by("tab-requests")).to_have_attribute("aria-selected", "true")
                expect(by("session-role")).to_have_text("admin")
                expect(by("feed-state")).to_have_text("live")

            ours = f'[data-testid="request-row"][data-model="{MODEL}"]'
            with step("2. live requests"):
                # Count what the first load brought only once it has come.
                page.wait_for_selector('[data-testid="requests-table"][data-loaded="yes"]', state="attached")
                before = count_rows(page, ours)
                request_ids = []
                for n in (1, 1, 2, 3):
                    headers, _ = send_chat(gateway, key, n)
                    request_ids.append({k.lower(): v for k, v in headers.items()}.get("x-request-id"))
                page.wait_for_function(
                    "([selector, wanted]) => document.querySelectorAll(selector).length >= wanted",
                    arg=[ours, before + 4], timeout=WAIT_MS)
                expect(page.locator(f'{ours}[data-cache="HIT"]').first).to_be_visible()
                requests_seen = count_rows(page, ours) - before
                shoot(page, "requests")

            with step("3. request detail"):
                # The repeat of "dashboard 1": by its request id when the gateway
                # sent one back and the row carries it, else the newest HIT.
                repeat = page.locator(f'{ours}[data-request-id="{request_ids[1]}"]')
                if not request_ids[1] or repeat.count() == 0:
                    repeat = page.locator(f'{ours}[data-cache="HIT"]').first
                repeat.click()
                expect(by("detail-panel")).to_be_visible()
                expect(by("detail-row")).to_contain_text('"cache": "HIT"')
                expect(by("detail-cached-request")).to_contain_text("dashboard 1")
                expect(by("detail-cached-response").locator("pre").first).not_to_be_empty()
                shoot(page, "detail")
                by("detail-close").click()
                expect(by("detail-panel")).to_be_hidden()

            with step("4. usage"):
                by("tab-usage").click()
                charts = '[data-testid="chart-requests"]'
                page.wait_for_function(f"() => document.querySelector('{charts}').childElementCount > 0")
                # Mark what the first window drew, to see the chosen window's chart replace it.
                page.eval_on_selector(charts, "c => c.querySelectorAll('canvas').forEach(x => { x.dataset.before = 'yes'; })")
                by("usage-window").select_option(label="last day")
                page.wait_for_function(
                    """() => {
                        const c = document.querySelector('[data-testid="chart-requests"] canvas');
                        return c && !c.dataset.before && c.width > 0 && c.height > 0
                            && c.getBoundingClientRect().width > 0;
                    }""", timeout=WAIT_MS)
                expect(by("stats-table").locator("tbody tr").first).to_be_visible()
                with page.expect_download(timeout=WAIT_MS) as download_info:
                    by("export-csv").click()
                download = download_info.value
                csv_path = shots / "dashboard-stats.csv"
                download.save_as(str(csv_path))
                lines = [line for line in csv_path.read_text().splitlines() if line.strip()]
                if not lines or not re.search(r"\brequests\b", lines[0]) or "cost_usd" not in lines[0]:
                    raise Failure(f"the CSV does not start with its header line: {lines[:1]}")
                if len(lines) < 2:
                    raise Failure("the CSV has a header but no data row")
                shoot(page, "usage")

            with step("5. cache"):
                by("tab-cache").click()
                by("cache-q").fill("dashboard 2")
                by("cache-search").click()
                rows = by("cache-row")
                expect(rows).to_have_count(1)
                entry_key = rows.first.get_attribute("data-key")
                if not entry_key or not re.fullmatch(r"[0-9a-f]{64}", entry_key):
                    raise Failure(f"the entry's key is not 64 hex digits: {entry_key!r}")
                expect(rows.first).to_contain_text(entry_key[:12])
                rows.first.click()
                expect(by("cache-detail")).to_be_visible()
                expect(by("cache-request")).to_contain_text("dashboard 2")
                expect(by("cache-response").locator("pre").first).not_to_be_empty()
                shoot(page, "cache")
                by("cache-delete").click()
                expect(by("cache-delete-dialog")).to_be_visible()
                by("cache-delete-confirm").click()
                expect(page.locator(f'[data-testid="cache-row"][data-key="{entry_key}"]')).to_have_count(0)
                expect(by("cache-detail")).to_be_hidden()
                status, _, _ = http(gateway, "GET", f"/api/cache/{entry_key}", key)
                if status != 404:
                    raise Failure(f"the deleted entry still answers {status}")

            with step("6. status"):
                by("tab-status").click()
                expect(by("providers-table").locator("tbody tr").first).to_be_visible()
                by("key-name").fill("OPENROUTER_API_KEY")
                by("key-value").fill(OPENROUTER_TEST_KEY)
                by("key-set").click()
                expect(by("key-result")).to_contain_text("Set OPENROUTER_API_KEY")
                expect(by("key-value")).to_have_value("")
                wait_for_openrouter_key(gateway)
                by("reload").click()
                expect(by("reload-result")).to_have_text("Reloaded.")
                if OPENROUTER_TEST_KEY in page.content():
                    raise Failure("the key's value is shown on the page")
                shoot(page, "status")

            with step("8. phone"):
                page.set_viewport_size(PHONE)
                by("tab-requests").click()
                expect(page.locator(ours).first).to_be_visible()
                shoot(page, "requests-phone")

            with step("7. page behaviour"):
                watch.check()
        except Failure:
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=str(shots / "dashboard-failure.png"))
            raise
        finally:
            browser.close()
    return {"ok": True, "screenshots": screenshots, "requests_seen": requests_seen,
            "page_requests": len(watch.requests)}


def wait_for_openrouter_key(gateway):
    """Polls /health (no key needed) until the openrouter provider has a key."""
    deadline = time.monotonic() + WAIT_MS / 1000
    last = None
    while time.monotonic() < deadline:
        status, _, health = http(gateway, "GET", "/health")
        if status == 200 and health:
            providers = {p.get("name"): p for p in health.get("providers", [])}
            last = providers.get("openrouter")
            if last and last.get("has_key") is True:
                return
        time.sleep(0.1)
    raise Failure(f"/health never showed openrouter with has_key true (last: {last})")


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python dashboard_browser.py GATEWAY_URL ACCESS_KEY SCREENSHOT_DIR", file=sys.stderr)
        sys.exit(2)
    gateway, key, shots = sys.argv[1].rstrip("/"), sys.argv[2], Path(sys.argv[3])
    try:
        result = run(gateway, key, shots)
    except Failure as error:
        print(f"dashboard_browser: FAILED at step {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
