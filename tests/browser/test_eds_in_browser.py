"""EDS end to end in Chromium: the page drives the sandbox signing agent
through ncalayer-js-client, as it would drive NCALayer."""

import pytest

from signing.sandbox.agent import run_in_thread
from tests.browser.conftest import PHONE, fill_child_care, no_horizontal_scroll, screenshot
from tests.conftest import MOTHER_WITH_BABY

SERVICE = "child-care-under-one"


def log_in_with_eds(page, base, lang="en"):
    page.goto(f"{base}/{lang}/login")
    page.locator("form[data-eds] button[type=submit]").click()
    page.wait_for_url(f"{base}/{lang}/account")


@pytest.mark.parametrize("lang", ["kk", "en"])
def test_log_in_and_sign_with_eds(live_server, page_at, agent, lang):
    page = page_at(PHONE)
    log_in_with_eds(page, live_server, lang)
    assert MOTHER_WITH_BABY in page.content()
    apply = f"/{lang}/services/{SERVICE}/apply"
    fill_child_care(page, live_server, apply)
    page.locator("form[data-eds] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/{lang}/account/applications/*/sent")
    assert page.locator(".q-panel--confirmation h1").count() == 1
    assert no_horizontal_scroll(page)
    screenshot(page, f"eds-sent-{lang}")
    assert page.console_errors == []


def test_without_the_agent_the_page_says_what_to_do(app, live_server, page_at, agent):
    page = page_at(PHONE)
    log_in_with_eds(page, live_server)
    apply = f"/en/services/{SERVICE}/apply"
    fill_child_care(page, live_server, apply)
    answers = page.locator("main dl").all_inner_texts()
    agent.stop()
    page.locator("form[data-eds] button[type=submit]").click()
    status = page.locator("[data-eds-status]")
    status.filter(has_text="NCALayer is not running").wait_for()
    assert "make agent" in status.inner_text()
    screenshot(page, "eds-agent-absent")
    # Nothing was lost: the answers are still there to sign later.
    page.reload()
    assert page.url == f"{live_server}{apply}/check"
    assert page.locator("form[data-eds]").is_visible()
    assert page.locator("main dl").all_inner_texts() == answers and answers
    # The failed WebSocket is the only console error: Chromium logs it itself.
    assert all("WebSocket" in error for error in page.console_errors)
    # Once the agent runs again, the same answers are signed and sent.
    again = run_in_thread(port=agent.port, pki_dir=app.config["SANDBOX_PKI_DIR"])
    try:
        page.locator("form[data-eds] button[type=submit]").click()
        page.wait_for_url(f"{live_server}/en/account/applications/*/sent")
    finally:
        again.stop()


def test_a_cancel_in_the_agent_is_explained(app, live_server, page_at):
    handle = run_in_thread(port=0, pki_dir=app.config["SANDBOX_PKI_DIR"], cancel=True)
    previous, app.config["NCALAYER_URL"] = app.config["NCALAYER_URL"], handle.url
    try:
        page = page_at(PHONE)
        page.goto(f"{live_server}/en/login")
        page.locator("form[data-eds] button[type=submit]").click()
        page.locator("[data-eds-status]").filter(has_text="You cancelled signing").wait_for()
        assert page.url == f"{live_server}/en/login"
    finally:
        handle.stop()
        app.config["NCALAYER_URL"] = previous


def test_another_persons_key_is_refused_in_the_page(app, live_server, page_at, agent):
    page = page_at(PHONE)
    log_in_with_eds(page, live_server)
    apply = f"/en/services/{SERVICE}/apply"
    fill_child_care(page, live_server, apply)
    agent.stop()
    other = run_in_thread(port=agent.port, pki_dir=app.config["SANDBOX_PKI_DIR"], iin="831219453975")
    try:
        page.locator("form[data-eds] button[type=submit]").click()
        page.locator("[data-module=error-summary]").filter(has_text="belongs to another person").wait_for()
        assert page.url == f"{live_server}{apply}/sign/eds"
    finally:
        other.stop()


def test_without_javascript_the_page_explains_eds(live_server, page_at):
    page = page_at(PHONE, javascript=False)
    page.goto(f"{live_server}/en/login")
    assert page.locator("form[data-eds]").is_hidden()
    assert page.locator("[data-eds-no-js]").is_visible()
