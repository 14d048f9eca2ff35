"""The matrix's checks catch what they are for: each is shown a page with the
fault it looks for (and a clean one), so a passing matrix means something."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE
from tests.conftest import _untranslatable
from tests.browser.matrix.checks import (
    CSP_LISTENER, axe_violations, catalogue_header_on, csp_refusals, focus_ring, horizontal_overflow, problems, swap_in_place, untranslated,
    vnu_errors, watch, without_page_scripts,
)
from webapp.config import REPO_ROOT

ORIGIN = "http://harness.invalid"
CSP = "default-src 'self'; script-src 'self'; style-src 'self'"
CLEAN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clean</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Clean</h1><p>Nothing wrong here.</p><a id="link" href="/">Home</a></main></body></html>"""
FAULTY = """<!doctype html>
<html><head><meta charset="utf-8"><title>Faulty</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/page.css"></head>
<body><main><h1>Faulty</h1>
<img src="/x.png">
<div id="wide">Too wide</div>
<p style="color: red">An inline style, which the CSP refuses.</p>
<a id="link" href="/" class="bare">Home</a>
<script>document.title = "inline ran";</script>
<script src="/page.js"></script>
</main></body></html>"""


# The portal's own htmx settings, as every page's <head> carries them.
HTMX_CONFIG = re.search(r'<meta name="htmx-config"[^>]*>', (REPO_ROOT / "templates" / "base.html").read_text()).group(0)
HTMX_WITHOUT_INDICATOR_STYLES = """<meta name="htmx-config" content='{"includeIndicatorStyles":false}'>"""
HTMX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>htmx</title>{config}
<script src="/htmx.min.js" defer></script><script src="/styled.js" defer></script></head>
<body><main><h1>htmx</h1><p id="note">A paragraph htmx swaps in again.</p></main></body></html>"""


def _serve(route, request):
    path = request.url[len(ORIGIN):]
    if path == "/htmx.min.js":
        route.fulfill(status=200, content_type="text/javascript", path=REPO_ROOT / "static" / "vendor" / "htmx.min.js")
    elif path == "/styled.js":
        # A style set through the CSSOM is allowed; htmx settling it again as an attribute is not.
        route.fulfill(status=200, content_type="text/javascript", body="document.getElementById('note').style.color = 'green';")
    elif path.startswith("/htmx"):
        config = {"/htmx-portal": HTMX_CONFIG, "/htmx-no-indicators": HTMX_WITHOUT_INDICATOR_STYLES}.get(
            path.removesuffix("-styled"), "")
        html = HTMX_PAGE.format(config=config)
        if not path.endswith("-styled"):
            html = html.replace('<script src="/styled.js" defer></script>', "")
        route.fulfill(status=200, content_type="text/html", body=html, headers={"Content-Security-Policy": CSP})
    elif path == "/report-only":
        route.fulfill(status=200, content_type="text/html", body=CLEAN.replace("<p>", '<p style="color: red">'),
                      headers={"Content-Security-Policy-Report-Only": CSP})
    elif path == "/header":
        header = "Project-Id-Version: PROJECT VERSION Report-Msgid-Bugs-To: EMAIL@ADDRESS Generated-By: Babel 2.18.0"
        route.fulfill(status=200, content_type="text/html", body=CLEAN.replace("Nothing wrong here.", header),
                      headers={"Content-Security-Policy": CSP})
    elif path == "/clean":
        route.fulfill(status=200, content_type="text/html", body=CLEAN, headers={"Content-Security-Policy": CSP})
    elif path == "/faulty":
        route.fulfill(status=200, content_type="text/html", body=FAULTY, headers={"Content-Security-Policy": CSP})
    elif path == "/bare":
        bare = CLEAN.replace("</head>", '<link rel="stylesheet" href="/bare.css"></head>')
        route.fulfill(status=200, content_type="text/html", body=bare, headers={"Content-Security-Policy": CSP})
    elif path == "/bare.css":
        route.fulfill(status=200, content_type="text/css", body="a:focus, a:focus-visible { outline: none; box-shadow: none; }")
    elif path == "/page.css":
        route.fulfill(status=200, content_type="text/css", body="#wide { width: 2000px; }")
    elif path == "/page.js":
        route.fulfill(status=200, content_type="text/javascript", body="window.pageScriptRan = true;")
    else:
        route.fulfill(status=404, content_type="text/plain", body="no")


@pytest.fixture
def harness_page(browser):
    contexts = []

    def open_page(javascript=True, twin=False):
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
        contexts.append(context)
        context.route(f"{ORIGIN}/**", _serve)
        if twin:
            without_page_scripts(context)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_faulty_page_is_reported(harness_page, javascript):
    page = harness_page(javascript)
    page.goto(f"{ORIGIN}/faulty")
    found = problems(page)
    assert any("x.png" in p for p in found), found  # the failed image
    assert any("Content Security Policy" in p or p.startswith("CSP:") for p in found), found  # inline style
    if javascript:
        assert any("inline" in p and "script-src" in p for p in found), found  # the inline script
    assert "> innerWidth 360" in horizontal_overflow(page) and "div#wide" in horizontal_overflow(page)
    if not javascript:
        page = harness_page(twin=True)
        page.goto(f"{ORIGIN}/faulty")
        assert page.evaluate("window.pageScriptRan === undefined"), "the twin must not run the page's scripts"
    rules = " ".join(axe_violations(page))
    assert "image-alt" in rules and "html-has-lang" in rules, rules


def test_a_clean_page_is_not(harness_page):
    page = harness_page()
    page.goto(f"{ORIGIN}/clean")
    assert problems(page) == []
    assert catalogue_header_on(page) == []
    assert horizontal_overflow(page) is None
    assert axe_violations(page) == []
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "link"
    assert focus_ring(page)  # Chromium's own focus ring


def test_a_focus_ring_taken_away_is_noticed(harness_page):
    page = harness_page()
    page.goto(f"{ORIGIN}/bare")
    page.keyboard.press("Tab")
    assert focus_ring(page) is None


def test_english_left_on_a_kazakh_page_is_found():
    english = _untranslatable("kk")[0]
    assert untranslated(f"Қазақша мәтін. {english} ", "kk") == [english]
    assert untranslated(f"{english}", "en") == []


def test_invalid_html_is_reported_and_valid_html_is_not(tmp_path):
    invalid = CLEAN.replace("<p>Nothing wrong here.</p>", "<ul><div>not a list item</div></ul>")
    errors = vnu_errors({"clean": CLEAN, "invalid": invalid}, tmp_path)
    assert list(errors) == ["invalid"], errors
    assert any("div" in message for message in errors["invalid"]), errors


def test_htmx_with_its_default_settings_is_refused_and_with_the_portals_is_not(harness_page):
    page = harness_page()
    page.goto(f"{ORIGIN}/htmx-default")  # htmx's own settings: no meta
    page.wait_for_load_state("load")
    assert page.evaluate("htmx.config.includeIndicatorStyles") is True
    assert csp_refusals(page), "htmx's own <style> for request indicators must be reported"
    page = harness_page()
    page.goto(f"{ORIGIN}/htmx-portal")
    page.wait_for_load_state("load")
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    swap_in_place(page)
    assert problems(page) == []


def test_an_inline_style_htmx_settles_in_a_swap_is_reported(harness_page):
    page = harness_page()
    page.goto(f"{ORIGIN}/htmx-no-indicators-styled")  # htmx settles class, style, width and height
    page.wait_for_load_state("load")
    assert problems(page) == []  # a plain load never runs htmx's settle
    swap_in_place(page)
    assert any("inline style" in p for p in csp_refusals(page)), problems(page)


def test_with_the_portals_settings_htmx_settles_no_inline_style(harness_page):
    """An element with a style set through the CSSOM (a textarea the citizen resized) swapped in again."""
    page = harness_page()
    page.goto(f"{ORIGIN}/htmx-portal-styled")
    page.wait_for_load_state("load")
    swap_in_place(page)
    assert problems(page) == []


def test_what_a_report_only_policy_would_refuse_is_reported(harness_page):
    page = harness_page()
    page.goto(f"{ORIGIN}/report-only")
    found = csp_refusals(page)
    assert found and all("Content Security Policy" in p or p.startswith("CSP: ") for p in found), found


def test_the_browser_fixtures_fail_a_test_on_a_csp_refusal(page_at):
    """page_at collects what the matrix collects and fails the test at teardown on a CSP refusal."""
    page = page_at(PHONE)
    page.context.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/faulty")
    assert csp_refusals(page) and any("x.png" in p for p in page.console_errors)
    page.goto("about:blank")  # the listener's record goes with the page
    page.console_errors.clear()  # this test expects the refusal; any other test would fail on it


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_catalogue_header_on_a_page_is_reported(harness_page, javascript):
    page = harness_page(javascript)
    page.goto(f"{ORIGIN}/header")
    assert catalogue_header_on(page) == ["Generated-By: Babel", "Project-Id-Version", "Report-Msgid-Bugs-To"]
