"""The child-care wizard done with the keyboard alone, in Chromium on a desktop:
log in, start, confirm, choose, check, ask for an SMS password, type it, sent.
Only Tab, Shift+Tab, Space, Enter and typing; every element that takes the
focus on the way must show it."""

from __future__ import annotations

import re

from tests.browser.conftest import ARTIFACTS, DESKTOP
from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD
from tests.browser.matrix.checks import focus_ring

SERVICE = "child-care-under-one"
MAX_TABS = 80


def described(page) -> str:
    return page.evaluate(
        "(() => { const e = document.activeElement; return e.outerHTML.slice(0, 160); })()")


def tab_to(page, selector: str, *, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focus is on `selector`; every stop on the way shows its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if page.evaluate("document.activeElement === document.body"):
            continue  # past the end of the page: the next Tab comes back in
        assert focus_ring(page), f"{page.url}: no visible focus on {described(page)}"
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{page.url}: {selector} not reached with the keyboard")


def press(page, key: str, url_pattern: str) -> None:
    """Press `key` and wait for the page it leads to, settled: htmx swaps it in and
    portal.js then focuses its heading (a Tab pressed before that would be lost)."""
    page.keyboard.press(key)
    page.wait_for_url(re.compile(url_pattern))
    # Polled with evaluate: wait_for_function's string predicate needs eval, which the CSP refuses.
    for _ in range(100):
        if page.evaluate("document.activeElement.matches('main h1, [data-module=error-summary]')"):
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError(f"{page.url}: the heading was not focused after the swap")
    assert page.locator("h1").count() == 1


def test_child_care_with_the_keyboard_alone(live_server, page_at):
    page = page_at(DESKTOP)
    page.goto(f"{live_server}/en/login")
    tab_to(page, "#iin")
    page.keyboard.type(MOTHER_WITH_BABY)
    tab_to(page, "#password")
    page.keyboard.type(SANDBOX_PASSWORD)
    press(page, "Enter", r".*/en/account$")

    apply = f"/en/services/{SERVICE}/apply"
    page.goto(f"{live_server}/en/services/{SERVICE}")
    tab_to(page, f"a[href$='{apply}']")
    press(page, "Enter", rf".*{apply}$")
    tab_to(page, "button[value=start]")
    press(page, "Enter", rf".*{apply}/personal-details$")

    for step, following in (("personal-details", "family"), ("family", "child")):
        tab_to(page, "#confirmed")
        page.keyboard.press("Space")
        assert page.is_checked("#confirmed"), step
        tab_to(page, "button[value=continue]")
        press(page, "Enter", rf".*{apply}/{following}$")

    for field, following in (("child", "account"), ("account", "check")):
        tab_to(page, f"input[name={field}]")
        page.keyboard.press("Space")
        assert page.locator(f"input[name={field}]:checked").count() == 1, field
        # Back and forth: Shift+Tab leaves the radios, Tab returns to the chosen one.
        tab_to(page, "a, button, input:not([type=radio])", backwards=True)
        tab_to(page, f"input[name={field}]:checked")
        tab_to(page, "button[value=continue]")
        press(page, "Enter", rf".*{apply}/{following}$")

    tab_to(page, f"form[action$='{apply}/sign/sms'] button")
    press(page, "Enter", r".*/sign/sms/[^/]+$")
    messages = page.request.get(f"{live_server}/sandbox/sms.json?iin={MOTHER_WITH_BABY}").json()
    code = next(m["code"] for m in messages if m["code"])
    tab_to(page, "#code")
    page.keyboard.type(code)
    press(page, "Enter", r".*/en/account/applications/[^/]+/sent$")
    assert page.locator(".q-panel--confirmation h1").count() == 1
    (ARTIFACTS / "matrix").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "matrix" / "keyboard-sent-en.png"), full_page=True)
    assert page.console_errors == []
