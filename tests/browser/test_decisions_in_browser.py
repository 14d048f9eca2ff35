"""Every decision path end to end in Chromium, in kk, ru and en: the mother
applies for child-care benefit and signs by SMS; a tester plays the service
provider's official in the sandbox operator console, in another browser
context; the citizen follows it in History of Services, opens the provider's
signed notification, sees the signature verdict, downloads the signed XML and
verifies it on /<lang>/verify.

    assigned                register → assign (History of Services, left
                            open, shows the new status without a reload)
    refused                 register → provisional refusal → objection (SMS)
                            → refusal dated after the hearing, citing it
    documents               register → documents requested → a PDF provided
                            (SMS) → assign
    objection then assigned register → provisional refusal → objection (SMS)
                            → assign, citing it

The SMS passwords are read from the sandbox outbox (/sandbox/sms.json). Two
passwords are needed within a minute on the objection and documents paths, so
the resend pause (OTP_RESEND_SECONDS) is set to 0 for these tests.

All four paths run in all three languages: 12 runs, about 2 min 45 s (the
"assigned" path waits up to one 10-second poll). Should the file grow past
~3 minutes, keep the three languages for "assigned" and one for the others.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from tests.browser.conftest import DESKTOP, PHONE, fill_child_care, log_in, no_horizontal_scroll, screenshot
from tests.conftest import MOTHER_WITH_BABY
from webapp.extensions import db
from webapp.history import texts
from webapp.models import Application, ApplicationEvent
from webapp.sandbox.pki import PROVIDER

SERVICE = "child-care-under-one"
FILES = Path(__file__).resolve().parents[1] / "files"
LANGUAGES = ["kk", "ru", "en"]
# History of Services polls every 10 s (templates/history/index.html); room for a slow poll.
POLL_WAIT_MS = 25_000


@pytest.fixture(autouse=True)
def _no_resend_pause(app, monkeypatch):
    """The citizen asks for a second SMS password (objection, documents) within a minute of the first."""
    monkeypatch.setitem(app.config, "OTP_RESEND_SECONDS", 0)


# ── the citizen ─────────────────────────────────────────────────────────


def whole_page(page) -> None:
    """A citizen's page: one heading, nothing logged as an error."""
    assert page.locator("h1").count() == 1, page.url
    assert page.console_errors == [], page.console_errors


def sms_code(page, base: str) -> str:
    """The newest one-time password sent to the mother, from the sandbox outbox."""
    messages = page.request.get(f"{base}/sandbox/sms.json?iin={MOTHER_WITH_BABY}").json()
    return next(m["code"] for m in messages if m["code"] and m["purpose"] != "decision")


def sign_by_sms(page, base: str, send_button: str, done: str) -> None:
    """Ask for an SMS password, type it from the outbox and sign; wait for the page `done` matches."""
    page.locator(send_button).click()
    page.wait_for_url(re.compile(r".*/sign/sms/[^/]+$"))
    whole_page(page)
    page.fill("#code", sms_code(page, base))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(done))


def submit_child_care(page, base: str, lang: str) -> str:
    """Log in as the mother, fill in the child-care application, sign it by SMS; its registration number."""
    log_in(page, base, lang)
    apply = f"/{lang}/services/{SERVICE}/apply"
    fill_child_care(page, base, apply)
    sign_by_sms(page, base, f"form[action='{apply}/sign/sms'] button",
                rf".*/{lang}/account/applications/[^/]+/sent$")
    whole_page(page)
    return re.search(r"/applications/([^/]+)/sent$", page.url).group(1)


def send_request(page, base: str, lang: str, number: str, kind: str, *, text: str = "", file: str | None = None) -> str:
    """An objection or the requested documents, from the application's page, signed by SMS; its number."""
    page.goto(f"{base}/{lang}/account/applications/{number}")
    page.locator(f"#actions ~ ul a[href$='/applications/{number}/{kind}']").click()
    page.wait_for_url(f"{base}/{lang}/account/applications/{number}/{kind}")
    whole_page(page)
    if text:
        page.fill("#text", text)
    if file:
        page.set_input_files("#files", str(FILES / file))
    page.locator("button[value=continue]").click()
    page.wait_for_url(re.compile(r".*/account/requests/drafts/[0-9a-f]+$"))
    whole_page(page)
    sign_by_sms(page, base, "form[action$='/sign/sms'] button", rf".*/{lang}/account/requests/[OD]-\d{{4}}-\d{{7}}$")
    whole_page(page)
    return page.url.rsplit("/", 1)[1]


def unread(page) -> int:
    """The unread-notification count in the page's header."""
    badge = page.locator("#unread-count [aria-hidden=true]")
    return int(badge.inner_text()) if badge.count() else 0


def open_decision(page, base: str, lang: str, number: str, name: str, title: str) -> None:
    """From the application's page, open the newest notification, unread: the decision, signed by the provider."""
    page.goto(f"{base}/{lang}/account/applications/{number}")
    whole_page(page)
    before = unread(page)
    newest = page.locator(".q-notification-list__item").first
    assert "q-notification-list__item--unread" in newest.get_attribute("class")
    newest.locator("a").click()
    page.wait_for_url(re.compile(rf".*/{lang}/account/notifications/[^/]+$"))
    whole_page(page)
    assert page.locator("h1").inner_text() == title
    assert unread(page) == before - 1  # opened, it is read
    report = page.locator(".q-signature-report")
    assert "q-signature-report--valid" in report.get_attribute("class")
    assert PROVIDER.surname in report.inner_text()
    assert PROVIDER.bin in report.inner_text()
    screenshot(page, f"decision-{name}-notification-{lang}")


def download_and_verify(page, base: str, lang: str, tmp_path: Path, name: str) -> None:
    """Download the signed decision from its notification page and check it on Verify a document."""
    with page.expect_download() as started:
        page.locator("a[href$='/signed.xml'][download]").click()
    saved = tmp_path / started.value.suggested_filename
    started.value.save_as(saved)
    assert saved.read_bytes().startswith(b"<")
    page.goto(f"{base}/{lang}/verify")
    whole_page(page)
    page.set_input_files("#document", str(saved))
    page.locator("main form button[type=submit]").click()
    report = page.locator("#result ~ .q-signature-report")
    report.wait_for()
    assert "q-signature-report--valid" in report.get_attribute("class")
    assert PROVIDER.bin in report.inner_text()
    whole_page(page)
    screenshot(page, f"decision-{name}-verified-{lang}")


# ── the provider's official ─────────────────────────────────────────────


def operate(page, base: str, lang: str, number: str, status: str, **fields) -> None:
    """Take one step in the operator console: fill the step's form and send it; it must be accepted."""
    page.goto(f"{base}/{lang}/sandbox/operator/applications/{number}")
    form = page.locator(f"#{status}-form")
    for name, value in fields.items():
        if isinstance(value, dt.date):
            for part in ("day", "month", "year"):
                form.locator(f"[name={name}-{part}]").fill(str(getattr(value, part)))
        else:
            form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    banner = page.locator(".q-notification-banner--success, [data-module=error-summary]").first
    banner.wait_for()
    assert "q-notification-banner--success" in banner.get_attribute("class"), banner.inner_text()


def assign(page, base: str, lang: str, number: str) -> None:
    operate(page, base, lang, number, "assigned", amount="43250.50",
            period_from=dt.date(2026, 2, 14), period_to=dt.date(2027, 2, 13))


def refusal_day(app, number: str) -> dt.date:
    """The earliest day of a refusal: 3 working days after the provisional refusal (the hearing)."""
    with app.app_context():
        application = db.session.scalar(db.select(Application).filter_by(number=number))
        notice = db.session.scalar(
            db.select(ApplicationEvent).filter_by(application_id=application.id, status="provisional_refusal")
        )
        return dt.date.fromisoformat(notice.data["decision_not_before"])


def status_label(app, lang: str, status: str) -> str:
    """A status as History of Services words it in this language."""
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return str(texts.status_label(status))


def decision_title(app, lang: str, kind: str) -> str:
    """The title of a decision's notification in this language."""
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        return texts.notice(kind, {}, "", "").title


# ── the paths ───────────────────────────────────────────────────────────


@pytest.mark.parametrize("lang", LANGUAGES)
def test_assigned_shows_up_without_reload_and_verifies(app, live_server, page_at, tmp_path, lang):
    citizen = page_at(DESKTOP)
    number = submit_child_care(citizen, live_server, lang)
    citizen.goto(f"{live_server}/{lang}/account/history")
    whole_page(citizen)
    row = citizen.locator("#history-results tbody tr").filter(has_text=number)
    assert status_label(app, lang, "sent") in row.locator(".q-tag").inner_text()
    citizen.evaluate("window.stillTheSameDocument = true")

    operator = page_at(DESKTOP)
    operate(operator, live_server, lang, number, "registered")
    assign(operator, live_server, lang, number)

    # No reload: the polled results fragment replaces itself with the new status.
    citizen.locator("#history-results tbody tr").filter(has_text=number).locator(".q-tag--green").wait_for(
        timeout=POLL_WAIT_MS)
    row = citizen.locator("#history-results tbody tr").filter(has_text=number)
    assert row.locator(".q-tag").first.inner_text() == status_label(app, lang, "assigned")
    assert row.locator("td").last.inner_text().startswith("2")  # registered and assigned, both unread
    assert citizen.locator("#unread-count .q-header__badge").count() == 1
    assert citizen.evaluate("window.stillTheSameDocument === true")
    whole_page(citizen)
    screenshot(citizen, f"decision-assigned-history-{lang}")

    open_decision(citizen, live_server, lang, number, "assigned", decision_title(app, lang, "assigned"))
    download_and_verify(citizen, live_server, lang, tmp_path, "assigned")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_refused_after_an_objection(app, live_server, page_at, tmp_path, lang):
    citizen = page_at(PHONE)
    number = submit_child_care(citizen, live_server, lang)
    operator = page_at(DESKTOP)
    operate(operator, live_server, lang, number, "registered")
    operate(operator, live_server, lang, number, "provisional_refusal", reason="Income above the threshold")

    objection = send_request(citizen, live_server, lang, number, "objection", text="My income fell in October.")
    assert objection.startswith("O-")
    screenshot(citizen, f"decision-refused-objection-{lang}")

    operate(operator, live_server, lang, number, "refused", reason="Income above the threshold",
            dated=refusal_day(app, number))

    open_decision(citizen, live_server, lang, number, "refused", decision_title(app, lang, "refused"))
    assert objection in citizen.locator("main").inner_text()
    assert no_horizontal_scroll(citizen)
    download_and_verify(citizen, live_server, lang, tmp_path, "refused")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_documents_requested_provided_then_assigned(app, live_server, page_at, tmp_path, lang):
    citizen = page_at(PHONE)
    number = submit_child_care(citizen, live_server, lang)
    operator = page_at(DESKTOP)
    operate(operator, live_server, lang, number, "registered")
    operate(operator, live_server, lang, number, "documents_requested", documents="Certificate of income")

    provided = send_request(citizen, live_server, lang, number, "documents", file="certificate.pdf")
    assert provided.startswith("D-")
    assert "certificate.pdf" in citizen.locator("main").inner_text()
    screenshot(citizen, f"decision-documents-provided-{lang}")

    assign(operator, live_server, lang, number)
    open_decision(citizen, live_server, lang, number, "documents", decision_title(app, lang, "assigned"))
    download_and_verify(citizen, live_server, lang, tmp_path, "documents")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_objection_then_assigned(app, live_server, page_at, tmp_path, lang):
    citizen = page_at(PHONE)
    number = submit_child_care(citizen, live_server, lang)
    operator = page_at(DESKTOP)
    operate(operator, live_server, lang, number, "registered")
    operate(operator, live_server, lang, number, "provisional_refusal", reason="Income above the threshold")

    objection = send_request(citizen, live_server, lang, number, "objection", text="My income fell in October.")

    assign(operator, live_server, lang, number)
    open_decision(citizen, live_server, lang, number, "objection-assigned",
                  decision_title(app, lang, "assigned"))
    assert objection in citizen.locator("main").inner_text()
    download_and_verify(citizen, live_server, lang, tmp_path, "objection-assigned")
