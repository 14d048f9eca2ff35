"""The local-assistance "why" answer in Chromium: a textarea whose character count
follows the typing and is told to screen readers once the citizen pauses (issue 13, item 11)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, no_horizontal_scroll
from tests.conftest import SANDBOX_PASSWORD
from webapp.applications import drafts
from webapp.extensions import db

# Gulmira: a low-income large family (tests/journeys/local-social-assistance.yaml).
CITIZEN = "871011480275"
STEP = "/{lang}/services/local-social-assistance/apply/circumstances"


def _at_the_step(app, page, base, lang):
    with app.app_context():
        draft = drafts.start(CITIZEN, "local-social-assistance")
        draft.answers = {"personal-details.confirmed": "yes", "family.confirmed": "yes", "category": "large-family"}
        db.session.commit()
    page.goto(f"{base}/{lang}/login")
    page.fill("#iin", CITIZEN)
    page.fill("#password", SANDBOX_PASSWORD)
    page.locator("main form[action$='/login'] button[type=submit]").click()
    page.wait_for_url(f"{base}/{lang}/account")
    page.goto(base + STEP.format(lang=lang))


@pytest.mark.parametrize("lang,remaining,over", [("ru", "Осталось символов: ", "Слишком много символов: "),
                                                 ("kk", "Қалған таңбалар: ", "Артық таңбалар: ")])
def test_the_count_follows_the_typing_and_is_announced(app, live_server, page_at, lang, remaining, over):
    page = page_at(PHONE)
    _at_the_step(app, page, live_server, lang)
    message = page.locator(".q-character-count__message")
    assert message.inner_text() == f"{remaining}500"
    page.fill("#circumstances", "Сгорел дом.")
    assert message.inner_text() == f"{remaining}489"
    # Screen readers hear it once typing pauses, from the polite live region.
    expect(page.locator(".q-character-count__status")).to_have_text(f"{remaining}489")
    page.fill("#circumstances", "а" * 503)
    assert message.inner_text() == f"{over}3"
    assert "q-character-count__message--over" in message.get_attribute("class")
    assert no_horizontal_scroll(page)
    assert page.console_errors == []


def test_without_javascript_the_server_counts(app, live_server, page_at):
    page = page_at(PHONE, javascript=False)
    _at_the_step(app, page, live_server, "ru")
    page.fill("#circumstances", "а" * 503)
    page.locator("button[value=continue]").click()
    page.locator("[data-module=error-summary]").wait_for()
    assert page.locator(".q-character-count__message").inner_text() == "Слишком много символов: 3"
    assert page.locator("#circumstances").input_value() == "а" * 503
