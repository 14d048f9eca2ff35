"""Objecting to a provisional refusal in Chromium on a phone, in Kazakh, with
and without JavaScript: a text and a file, a bad file refused with the text
kept, then signed with an SMS password read from the sandbox outbox."""

import re
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, code_in_outbox, log_in, no_horizontal_scroll, screenshot
from tests.helpers import at_check, provider_says_in_turn, sign_and_send
from webapp import clock
from webapp.extensions import db
from webapp.models import Application

FILES = Path(__file__).resolve().parents[1] / "files"


def _resize(page, selector: str) -> None:
    """Drag the field's resize handle down, as a citizen makes a text box taller."""
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] + 80, steps=5)
    page.mouse.up()
    assert page.locator(selector).get_attribute("style"), "the drag did not resize the field"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_object_and_sign_by_sms_in_kazakh(app, live_server, page_at, javascript):
    client = app.test_client()
    at_check(client)
    assert sign_and_send(app, client).status_code == 302
    with app.app_context():
        number = db.session.scalar(db.select(Application.number))
    with app.app_context():
        moment = clock.now()  # after the application was sent, on the portal's clock
    provider_says_in_turn(app, number, ("registered", {"at": moment}),
             ("provisional_refusal", {"at": moment, "reason": "income above the threshold"}))

    page = page_at(PHONE, javascript=javascript)
    log_in(page, live_server, "kk")
    objection = f"/kk/account/applications/{number}/objection"
    page.goto(f"{live_server}{objection}")
    typed = "Табысым қазан айында азайды."
    page.fill("#text", typed)
    if javascript:
        _resize(page, "#text")  # htmx's swap below must not settle the size as an inline style
    page.set_input_files("#files", str(FILES / "not-really.pdf"))
    page.locator("button[value=continue]").click()
    page.wait_for_selector(".q-error-summary")
    assert page.locator("h1").count() == 1
    assert page.input_value("#text") == typed
    assert "not-really.pdf" in page.locator(".q-error-summary").inner_text()

    page.set_input_files("#files", str(FILES / "scan.png"))
    page.locator("button[value=continue]").click()
    page.wait_for_url(re.compile(r".*/kk/account/requests/drafts/[0-9a-f]+$"))
    assert "scan.png" in page.locator("main").inner_text()
    assert no_horizontal_scroll(page)
    page.locator("form[action$='/sign/sms'] button").click()
    page.wait_for_url(re.compile(r".*/sign/sms/[^/]+$"))

    page.fill("#code", code_in_outbox(page, live_server))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/kk/account/requests/O-\d{4}-\d{7}$"))
    assert page.locator(".q-panel--confirmation h1").count() == 1
    assert no_horizontal_scroll(page)
    screenshot(page, f"objection-sent-kk-{'js' if javascript else 'nojs'}")
    assert page.console_errors == []
    with app.app_context():
        assert db.session.scalar(db.select(Application.status).filter_by(number=number)) == "objection"
