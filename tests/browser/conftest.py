"""Browser fixtures: the portal on a real port, driven in Debian's Chromium."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from signing.sandbox.agent import run_in_thread
from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Flags that keep Chromium off the network it cannot reach here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(app):
    """The test app served by werkzeug in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_at(browser):
    """Open a fresh page with a viewport; collects console errors and CSP refusals
    (as the matrix does), and fails the test on any CSP refusal it saw."""
    from tests.browser.matrix.checks import CSP_LISTENER, csp_refusals, watch

    pages = []

    def open_page(viewport=DESKTOP, javascript=True):
        context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch(page)
        page.console_errors = page.problems  # one list: console errors, CSP refusals, failed responses
        pages.append(page)
        return page

    yield open_page
    refused = {}
    for page in pages:
        if not page.is_closed() and (found := csp_refusals(page)):
            refused[page.url] = found
        page.context.close()
    if refused:
        pytest.fail(f"the Content Security Policy refused something: {refused}", pytrace=False)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def code_in_outbox(page, live_server: str, lang: str = "kk") -> str:
    """The tester reads the newest SMS password to the mother's phone in the sandbox outbox, in another tab."""
    outbox = page.context.new_page()
    outbox.goto(f"{live_server}/{lang}/sandbox/sms?phone=%2B77011234567")
    code = re.search(r"\b(\d{6})\b", outbox.locator("tbody tr").first.inner_text()).group(1)
    outbox.close()
    return code


def log_in(page, base, lang):
    """Log in as the mother of a baby through the login form."""
    page.goto(f"{base}/{lang}/login")
    page.fill("#iin", MOTHER_WITH_BABY)
    page.fill("#password", SANDBOX_PASSWORD)
    page.locator("main form[action$='/login'] button[type=submit]").click()
    page.wait_for_url(f"{base}/{lang}/account")


def continue_to(page, base, path):
    """Press Continue and land on `path`."""
    page.locator("button[value=continue]").click()
    page.wait_for_url(f"{base}{path}")
    # A swapped step must still be a whole, single-heading page.
    assert page.locator("h1").count() == 1


def fill_child_care(page, base, apply):
    """Walk the child-care wizard to its check page, confirming and choosing the first options."""
    page.goto(f"{base}{apply}")
    page.locator("button[value=start]").click()
    page.wait_for_url(f"{base}{apply}/personal-details")
    page.locator("label[for=confirmed]").click()
    continue_to(page, base, f"{apply}/family")
    page.locator("label[for=confirmed]").click()
    continue_to(page, base, f"{apply}/child")
    page.locator("label[for=child]").click()
    continue_to(page, base, f"{apply}/account")
    page.locator("label[for=account]").click()
    continue_to(page, base, f"{apply}/check")


@pytest.fixture
def agent(app):
    """The sandbox signing agent on a free port, and the portal pointed at it."""
    handle = run_in_thread(port=0, pki_dir=app.config["SANDBOX_PKI_DIR"])
    previous = app.config["NCALAYER_URL"]
    app.config["NCALAYER_URL"] = handle.url
    yield handle
    handle.stop()
    app.config["NCALAYER_URL"] = previous
