"""History of Services on a 360-px phone: each application's number, service,
status and due date are on screen, without scrolling sideways (issue 13, item 7)."""

import datetime as dt

import pytest

from tests.browser.conftest import DESKTOP, PHONE, log_in, no_horizontal_scroll, screenshot
from tests.helpers import bulk

# The longest service name, a status with a deadline note, and the plain one.
ROWS = (
    {"service_slug": "bankruptcy-harm-monthly-payments", "status": "documents_requested",
     "citizen_due_on": dt.date(2026, 11, 30)},
    {"service_slug": "semipalatinsk-compensation", "status": "provisional_refusal", "citizen_due_on": dt.date(2026, 11, 25)},
    {"service_slug": "child-care-under-one", "status": "registered"},
)
# In each row: the number (the row's header), then service, sent, status, decision due.
PARTS = {"number": "th a", "service": "td:nth-of-type(1)", "status": "td:nth-of-type(3) .q-tag",
         "due date": "td:nth-of-type(4)"}


def _applications(app):
    for n, values in enumerate(ROWS):
        bulk(app, 1, start=n, **values)


def _off_screen(page) -> list[str]:
    """Parts of rows that are not wholly inside the viewport's width."""
    width = page.viewport_size["width"]
    problems = []
    rows = page.locator("#history-results tbody tr")
    assert rows.count() == len(ROWS)
    for i in range(rows.count()):
        for name, selector in PARTS.items():
            part = rows.nth(i).locator(selector).first
            assert part.is_visible(), (i, name)
            box = part.bounding_box()
            if box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
                problems.append(f"row {i + 1} {name}: {box['x']:.0f}..{box['x'] + box['width']:.0f} of {width}")
    return problems


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_each_application_is_on_screen_on_a_phone(app, live_server, page_at, lang, javascript):
    _applications(app)
    page = page_at(PHONE, javascript=javascript)
    log_in(page, live_server, lang)
    page.goto(f"{live_server}/{lang}/account/history")
    screenshot(page, f"history-phone-{lang}-{'js' if javascript else 'nojs'}")
    assert _off_screen(page) == []
    assert no_horizontal_scroll(page)
    # Nor does the list scroll sideways in its own scroller.
    assert page.evaluate("[...document.querySelectorAll('#history-results *')]"
                         ".filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))"
                         ".every(e => e.scrollWidth <= e.clientWidth + 1)")
    assert page.console_errors == []


def test_the_table_stays_a_table_on_a_wide_screen(app, live_server, page_at):
    _applications(app)
    page = page_at(DESKTOP)
    log_in(page, live_server, "en")
    page.goto(f"{live_server}/en/account/history")
    assert page.locator("#history-results thead").is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('#history-results tbody tr')).display") == "table-row"
    assert _off_screen(page) == []
