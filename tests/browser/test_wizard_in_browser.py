"""A Request Online wizard completed in real Chromium, on a phone, in each language, with and without JavaScript."""

import pytest

from tests.browser.conftest import PHONE, continue_to, log_in, no_horizontal_scroll, screenshot

SERVICE = "child-care-under-one"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_child_care_wizard_on_a_phone(live_server, page_at, lang, javascript):
    page = page_at(PHONE, javascript=javascript)
    log_in(page, live_server, lang)
    apply = f"/{lang}/services/{SERVICE}/apply"
    page.goto(f"{live_server}{apply}")
    page.locator("button[value=start]").click()
    page.wait_for_url(f"{live_server}{apply}/personal-details")
    assert no_horizontal_scroll(page)

    page.locator("label[for=confirmed]").click()
    continue_to(page, live_server, f"{apply}/family")
    page.locator("label[for=confirmed]").click()
    continue_to(page, live_server, f"{apply}/child")

    # Continue without choosing: the error summary comes back in place.
    page.locator("button[value=continue]").click()
    page.locator("[data-module=error-summary]").wait_for()
    assert page.title().startswith({"kk": "Қате:", "ru": "Ошибка:", "en": "Error:"}[lang])
    assert page.url == f"{live_server}{apply}/child"
    if javascript:
        page.wait_for_function("document.activeElement && document.activeElement.dataset.module === 'error-summary'")
    screenshot(page, f"wizard-error-{lang}-{'js' if javascript else 'nojs'}")

    page.locator("label[for=child]").click()
    continue_to(page, live_server, f"{apply}/account")
    page.locator("label[for=account]").click()
    continue_to(page, live_server, f"{apply}/check")
    assert no_horizontal_scroll(page)
    assert page.locator(".q-summary-list").count() >= 3
    screenshot(page, f"wizard-check-{lang}-{'js' if javascript else 'nojs'}")

    # Back goes to the last step and keeps its answer.
    page.locator(".q-back-link").click()
    page.wait_for_url(f"{live_server}{apply}/account")
    assert page.locator("#account").is_checked()
    assert page.console_errors == []
