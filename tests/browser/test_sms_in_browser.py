"""Signing with an SMS password in Chromium on a phone, in Kazakh: the code is
read from the sandbox SMS page, as a tester would."""

import re

import pytest

from tests.browser.conftest import PHONE, code_in_outbox, fill_child_care, log_in, no_horizontal_scroll, screenshot

SERVICE = "child-care-under-one"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sign_with_an_sms_password_in_kazakh(live_server, page_at, javascript):
    page = page_at(PHONE, javascript=javascript)
    log_in(page, live_server, "kk")
    apply = f"/kk/services/{SERVICE}/apply"
    fill_child_care(page, live_server, apply)
    page.locator(f"form[action='{apply}/sign/sms'] button").click()
    page.wait_for_url(re.compile(rf".*{apply}/sign/sms/[^/]+$"))
    assert page.locator("#code").get_attribute("autocomplete") == "one-time-code"
    assert no_horizontal_scroll(page)
    screenshot(page, f"sms-password-kk-{'js' if javascript else 'nojs'}")

    code = code_in_outbox(page, live_server)

    page.fill("#code", f"{code[:3]} {code[3:]}")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/kk/account/applications/[^/]+/sent$"))
    assert page.locator(".q-panel--confirmation h1").count() == 1
    assert no_horizontal_scroll(page)
    screenshot(page, f"sms-sent-kk-{'js' if javascript else 'nojs'}")
    assert page.console_errors == []
