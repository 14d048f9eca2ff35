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


# The width a select needs to show one option whole: a copy holding only that option, sized by its content.
NEEDED_WIDTHS = """select => [...select.options].map(option => {
  const copy = document.createElement('select');
  copy.className = select.className;
  copy.style.width = 'auto';
  copy.append(new Option(option.text));
  document.body.append(copy);
  const width = copy.getBoundingClientRect().width;
  copy.remove();
  return [option.text, width];
})"""


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_life_situation_select_shows_every_option_whole(live_server, page_at, lang):
    """Issue 13: /ru/services cut the life-situation select at 1280 px."""
    page = page_at(DESKTOP)
    page.goto(f"{live_server}/{lang}/services")
    select = page.locator("#situation")
    width = select.evaluate("select => select.getBoundingClientRect().width")
    cut = [(text, round(needed)) for text, needed in select.evaluate(NEEDED_WIDTHS) if needed > width + 0.5]
    assert cut == [], f"{round(width)} px wide"
    assert page.console_errors == []


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_test_citizens_fit_a_phone(live_server, page_at, lang):
    """Issue 13: the sandbox citizens page was 979 px wide at 360."""
    page = page_at(PHONE)
    page.goto(f"{live_server}/{lang}/sandbox/citizens")
    screenshot(page, f"sandbox-citizens-{lang}-360")
    assert no_horizontal_scroll(page)
    assert page.evaluate("(c => c.scrollWidth <= c.clientWidth + 1)(document.querySelector('.q-table-container'))")
    assert page.console_errors == []
