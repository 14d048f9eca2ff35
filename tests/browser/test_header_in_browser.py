"""The header and the sandbox banner on a phone leave the page's heading on the first screen
(issue 13, item 11: they took 310 of 740 px at 360)."""

import pytest

from tests.browser.conftest import log_in, no_horizontal_scroll, screenshot

TALL_PHONE = {"width": 360, "height": 740}
# At most a quarter of the screen for the portal's own chrome.
BUDGET = 740 // 4


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_header_and_banner_are_compact_on_a_phone(live_server, page_at, lang):
    page = page_at(TALL_PHONE)
    log_in(page, live_server, lang)  # logged in: the header has all four links
    for path in (f"/{lang}/account", f"/{lang}/services/child-care-under-one", f"/{lang}/account/history"):
        page.goto(live_server + path)
        bottom = page.evaluate("document.querySelector('.q-phase-banner').getBoundingClientRect().bottom")
        assert bottom <= BUDGET, f"{path}: header and banner end at {bottom:.0f} px"
        assert page.locator("h1").bounding_box()["y"] < TALL_PHONE["height"] / 2
        assert no_horizontal_scroll(page)
        # Every link in the header is still a target of at least 24 by 24 px (WCAG 2.2, 2.5.8).
        for box in page.locator(".q-header a, .q-header button").evaluate_all(
                "els => els.map(e => e.getBoundingClientRect()).map(r => [r.width, r.height])"):
            assert min(box) >= 24, box
    screenshot(page, f"header-phone-{lang}")
    assert page.console_errors == []
