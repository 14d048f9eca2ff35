"""The catalogue, language switching and login in real Chromium."""

import pytest

from tests.browser.conftest import DESKTOP, PHONE, no_horizontal_scroll, screenshot
from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD

HEADINGS = {
    "kk": "Әлеуметтік төлем қызметтері",
    "ru": "Услуги социальных выплат",
    "en": "Social payment services",
}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_catalogue_in_each_language_and_size(live_server, page_at, lang, viewport):
    page = page_at(viewport)
    page.goto(f"{live_server}/{lang}/services")
    assert page.locator("h1").inner_text() == HEADINGS[lang]
    assert page.locator(".q-service-card").count() == 10
    assert page.evaluate("document.documentElement.lang") == lang
    assert no_horizontal_scroll(page)
    assert page.console_errors == []
    screenshot(page, f"catalogue-{lang}-{viewport['width']}")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_switching_language_keeps_the_page(live_server, page_at, javascript):
    page = page_at(PHONE, javascript=javascript)
    page.goto(f"{live_server}/kk/services/child-care-under-one")
    page.get_by_role("link", name="Русский").click()
    page.wait_for_url(f"{live_server}/ru/services/child-care-under-one")
    assert page.evaluate("document.documentElement.lang") == "ru"
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{live_server}/en/services/child-care-under-one")
    assert page.locator(".q-button--start").inner_text().strip() == "Request Online"
    assert page.console_errors == []


def test_filter_updates_the_list_with_htmx(live_server, page_at):
    page = page_at(DESKTOP)
    page.goto(f"{live_server}/en/services")
    page.select_option("#situation", "pension-and-old-age")
    page.wait_for_url("**situation=pension-and-old-age**")
    page.wait_for_function("document.querySelectorAll('.q-service-card').length < 10")
    titles = page.locator(".q-service-card__title").all_inner_texts()
    assert any("pension" in title.lower() for title in titles)
    assert page.console_errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_log_in_from_request_online(live_server, page_at, javascript):
    page = page_at(PHONE, javascript=javascript)
    page.goto(f"{live_server}/en/services/child-care-under-one")
    page.get_by_role("button", name="Request Online").click()
    page.wait_for_url("**/en/login?next=**")
    page.get_by_label("IIN").fill(MOTHER_WITH_BABY)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_selector(".q-error-summary")
    assert page.title().startswith("Error:")
    assert page.get_by_label("IIN").input_value() == MOTHER_WITH_BABY
    page.get_by_label("Password").fill(SANDBOX_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/en/services/child-care-under-one/apply")
    assert page.locator("h1").inner_text() == "Before you start"
    assert no_horizontal_scroll(page)
    assert page.console_errors == []
    screenshot(page, f"apply-start-{'js' if javascript else 'nojs'}")
