"""Signing with eGov Mobile in Chromium, end to end with the sandbox eGov Mobile app over real HTTP:
the QR code on a desktop (its content pasted into the sandbox app, as a tester does), and the
app's link on a 360 px phone (with JavaScript: the page polls; without: the citizen checks again)."""

import re

import pytest

from tests.browser.conftest import DESKTOP, PHONE, fill_child_care, log_in, no_horizontal_scroll, screenshot
from tests.conftest import MOTHER_WITH_BABY

SERVICE = "child-care-under-one"


def start_egov_mobile(page, base, lang):
    apply = f"/{lang}/services/{SERVICE}/apply"
    fill_child_care(page, base, apply)
    page.locator(f"form[action='{apply}/sign/egov-mobile'] button").click()
    page.wait_for_url(re.compile(rf".*/{lang}/egov-mobile/[^/]+$"))
    assert page.locator("h1").count() == 1


def sign_in_sandbox_app(app_page, action="sign"):
    """The sandbox app shows the document for the mother; sign and send it."""
    assert "Verification code" in app_page.content()
    assert app_page.locator("#iin").input_value() == MOTHER_WITH_BABY
    app_page.evaluate("document.getElementById('answer')?.remove()")  # so the next answer is waited for
    app_page.locator(f"button[name=action][value={action}]").click()
    app_page.locator("#answer").wait_for()
    return app_page.locator("#answer").inner_text()


def test_desktop_signs_with_the_qr_code(live_server, page_at):
    page = page_at(DESKTOP)
    log_in(page, live_server, "en")
    start_egov_mobile(page, live_server, "en")
    qr = page.locator("img.q-egov__qr")
    assert qr.is_visible()
    page.wait_for_function("document.querySelector('img.q-egov__qr').complete")
    assert page.evaluate("document.querySelector('img.q-egov__qr').naturalWidth") > 100
    assert not page.get_by_role("button", name="Open eGov Mobile").is_visible()
    code = page.locator(".q-egov__code").inner_text()
    payload = page.locator("[data-egov-payload]").inner_text()
    assert payload.startswith(f"mobileSign:{live_server}/egov-mobile/api/")
    screenshot(page, "egov-mobile-qr-desktop")

    # The tester pastes the QR code's content into the sandbox app, in another tab.
    app_page = page.context.new_page()
    app_page.goto(f"{live_server}/en/sandbox/egov-mobile")
    app_page.fill("#payload", payload)
    app_page.select_option("#app_language", "en")
    app_page.locator("form[method=get] button").click()
    app_page.get_by_role("heading", name="API 2").wait_for()
    assert code in app_page.content()
    # A tampered document first: refused, and the citizen's page says so.
    assert "403" in sign_in_sandbox_app(app_page, "tamper")
    page.locator(".q-egov__refusal").wait_for()
    assert "not the application shown on this page" in page.locator(".q-egov__refusal").inner_text()
    assert "The portal answered 200" in sign_in_sandbox_app(app_page)
    app_page.close()

    # The page polls, finishes and shows the same confirmation as EDS and SMS.
    page.wait_for_url(re.compile(r".*/en/account/applications/[^/]+/sent$"), timeout=15000)
    assert page.locator(".q-panel--confirmation h1").count() == 1
    screenshot(page, "egov-mobile-sent-desktop")
    assert page.console_errors == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_phone_signs_through_the_app_link(live_server, page_at, javascript):
    page = page_at(PHONE, javascript=javascript)
    log_in(page, live_server, "kk")
    start_egov_mobile(page, live_server, "kk")
    link = page.locator("a.q-button[href^='https://m.egov.kz/mobileSign/?link=']")
    assert link.is_visible() and not page.locator("img.q-egov__qr").is_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, f"egov-mobile-link-phone-{'js' if javascript else 'nojs'}")

    # The real app cannot reach the sandbox: the sandbox app opens with the same ?link=.
    with page.context.expect_page() as opened:
        page.locator(".q-egov__sandbox a[target=_blank]").click()
    app_page = opened.value
    app_page.wait_for_load_state()
    assert no_horizontal_scroll(app_page)
    app_page.select_option("#app_language", "en")
    app_page.locator("form[method=get] button").click()
    # The page opened with ?link= already shows API 2: wait for the reload in the app's new language.
    app_page.wait_for_url(re.compile(r".*app_language=en"))
    app_page.get_by_role("heading", name="API 2").wait_for()
    assert "200" in sign_in_sandbox_app(app_page)  # the sandbox page is in Kazakh here
    app_page.close()

    if not javascript:
        # No polling without JavaScript: the citizen checks again, then continues.
        page.locator("#egov-mobile-status a.q-link").first.click()
        page.locator("#egov-mobile-status form button").click()
    page.wait_for_url(re.compile(r".*/kk/account/applications/[^/]+/sent$"), timeout=15000)
    assert page.locator(".q-panel--confirmation h1").count() == 1
    assert no_horizontal_scroll(page)
    assert page.console_errors == []
