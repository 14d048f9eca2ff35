"""Signing an application with an SMS password, and changing the registered phone,
through the Flask client; the SMS are read from the sandbox outbox."""

from __future__ import annotations

import re

import pytest

from signing import envelope
from signing.verify import HolderType, Purpose, verify
from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, csrf_token, log_in
from tests.helpers import APPLY, CHILD_CARE, ask_for_password, at_check, enter, last_code, problem
from tests.journeys import SLUGS
from webapp.extensions import db
from webapp.models import Application, ApplicationDraft, MobilePhone
from webapp.sandbox.pki import PORTAL
from webapp.signatures import trust_store

SAYS_SMS = {"kk": "SMS-құпиясөзбен растадыңыз", "ru": "подтвердили SMS-паролем", "en": "with an SMS password on"}
SAYS_EDS = {"kk": "ЭЦҚ", "ru": "ЭЦП", "en": "EDS"}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_sign_with_an_sms_password(app, client, lang):
    at_check(client, lang=lang)
    base = f"/{lang}/services/{CHILD_CARE}/apply"
    sent = ask_for_password(client, base)
    assert sent.status_code == 302 and "/sign/sms/" in sent.location
    page = client.get(sent.location)
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text
    assert "+7 701 *** ** 67" in page.text
    code = last_code(client)
    done = enter(client, sent.location, f"{code[:3]}-{code[3:]}")
    assert done.status_code == 302 and done.location.endswith("/sent")
    # The confirmation says how it was signed: by SMS password, the portal's key, never EDS.
    page = client.get(done.location).text
    confirmation = re.search(r'<p class="q-body">(.*?)</p>', page, re.S).group(1)  # the first, under the number
    assert SAYS_SMS[lang] in confirmation
    assert SAYS_EDS[lang] not in confirmation
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.signed_with == "sms"
        verdict = verify(
            application.signed_xml, trust=trust_store(), purpose=Purpose.SIGN, holder=HolderType.ORGANISATION,
            expected_bin=PORTAL.bin,
        )
        read = envelope.parse(verdict.document)
        assert read.document == application.document
        (statement,) = read.statements
        assert statement.type == "sms-confirmation"
        assert statement.get("documentSha256") == application.document_sha256
        assert statement.get("maskedPhone").startswith("+7 701")
        assert db.session.scalar(db.select(ApplicationDraft)) is None


def test_the_sms_names_the_service_in_the_citizens_language(client):
    at_check(client, lang="ru")
    ask_for_password(client, f"/ru/services/{CHILD_CARE}/apply")
    text = client.get("/sandbox/sms.json").get_json()[0]["text"]
    assert "Код" in text or "код" in text


def test_a_wrong_password_keeps_what_was_typed_and_counts_down(app, client):
    at_check(client)
    page = ask_for_password(client).location
    code = last_code(client)
    wrong = "000000" if code != "000000" else "111111"
    response = enter(client, page, wrong)
    assert response.status_code == 200
    assert "4 more times" in problem(response)
    assert f'value="{wrong}"' in response.text
    assert enter(client, page, code).status_code == 302


def test_a_password_for_one_document_cannot_sign_another(app, client):
    at_check(client)
    page = ask_for_password(client).location
    code = last_code(client)
    # The citizen changes an answer in another tab: the document is another one now.
    token = csrf_token(client, f"{APPLY}/account")
    client.post(f"{APPLY}/account", data={"csrf_token": token, "action": "continue", "account": "KZ697226410457500407"})
    response = enter(client, page, code)
    assert "has changed since we sent the password" in problem(response)
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None


def test_the_right_password_twice_sends_one_application(app, client):
    at_check(client)
    page = ask_for_password(client).location
    code = last_code(client)
    first = enter(client, page, code)
    token = csrf_token(client, "/en/account/history")
    again = client.post(page, data={"csrf_token": token, "code": code})
    assert again.status_code == 302 and again.location == first.location
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1


def test_asking_again_too_soon_is_explained_on_the_password_page(client):
    at_check(client)
    page = ask_for_password(client).location
    challenge = page.rsplit("/", 1)[-1]
    token = csrf_token(client, page)
    response = client.post(f"{APPLY}/sign/sms", data={"csrf_token": token, "challenge": challenge})
    assert response.status_code == 200
    assert "ask for a new one in" in problem(response)


def test_the_countdown_is_an_htmx_fragment(client):
    at_check(client)
    page = ask_for_password(client).location
    fragment = client.get(page, headers={"HX-Request": "true", "HX-Target": "sms-status"})
    assert fragment.text.lstrip().startswith('<div id="sms-status"')
    assert 'hx-trigger="every 1s"' in fragment.text
    assert "Send a new password" not in fragment.text  # the button comes back when the pause is over


def test_not_received_page(client):
    at_check(client)
    page = ask_for_password(client).location
    help_page = client.get(f"{page}/not-received")
    assert help_page.status_code == 200 and "Sign with EDS instead" in help_page.text


def test_a_citizen_without_a_phone_is_told_how_to_register_it(app, client):
    with app.app_context():
        db.session.execute(db.delete(MobilePhone).filter_by(iin=MOTHER_WITH_BABY))
        db.session.commit()
    page = at_check(client)
    assert "Register your phone number" in page.text
    response = ask_for_password(client)
    assert "No mobile phone is registered for your IIN" in problem(response)
    assert "Register your phone number" in client.get("/en/account").text


def test_another_citizens_password_page_is_not_found(app, client):
    at_check(client)
    page = ask_for_password(client).location
    other = app.test_client()
    log_in(other, CITIZEN_WITHOUT_PHONE)
    assert other.get(page).status_code == 404


# Registering and changing the phone


def test_register_a_phone_confirmed_by_a_password_sent_to_it(app, client):
    log_in(client, CITIZEN_WITHOUT_PHONE)
    token = csrf_token(client, "/en/account/phone")
    sent = client.post("/en/account/phone", data={"csrf_token": token, "phone": "8 702 555 12 34"})
    assert sent.status_code == 302
    code = last_code(client, "+77025551234")
    done = enter(client, sent.location, code)
    assert done.status_code == 302 and done.location.endswith("/en/account")
    with app.app_context():
        assert db.session.scalar(db.select(MobilePhone.phone).filter_by(iin=CITIZEN_WITHOUT_PHONE)) == "+77025551234"


def test_changing_the_phone_tells_the_old_number(app, client):
    log_in(client, MOTHER_WITH_BABY)
    token = csrf_token(client, "/en/account/phone")
    sent = client.post("/en/account/phone", data={"csrf_token": token, "phone": "+7 705 111 22 33"})
    enter(client, sent.location, last_code(client, "+77051112233"))
    notice = client.get("/sandbox/sms.json", query_string={"phone": "+77011234567"}).get_json()[0]
    assert "was changed" in notice["text"] and "1414" in notice["text"]


def test_a_bad_phone_number_is_explained_and_kept(client):
    log_in(client, MOTHER_WITH_BABY)
    token = csrf_token(client, "/en/account/phone")
    response = client.post("/en/account/phone", data={"csrf_token": token, "phone": "12345"})
    assert response.status_code == 200
    assert "Kazakh mobile number" in problem(response)
    assert 'value="12345"' in response.text




@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_application_can_be_signed_by_sms(app, client, slug, lang):
    from tests.journeys import load, walk
    from webapp.services import find

    journey = load(slug)
    page = walk(client, find(slug), journey, lang=lang)
    assert page.request.path.endswith("/check")
    base = f"/{lang}/services/{slug}/apply"
    sent = ask_for_password(client, base)
    assert sent.status_code == 302, problem(sent)
    code = client.get("/sandbox/sms.json", query_string={"iin": journey["citizen"]}).get_json()[0]["code"]
    done = enter(client, sent.location, code)
    assert done.status_code == 302 and done.location.endswith("/sent")
    assert client.get(done.location).status_code == 200


def test_flask_limiter_caps_password_requests_per_citizen(app, client):
    at_check(client)
    app.config["SMS_LIMIT_PER_CITIZEN"] = "2 per hour"
    try:
        statuses = [ask_for_password(client).status_code for _ in range(3)]
    finally:
        app.config["SMS_LIMIT_PER_CITIZEN"] = "10 per hour"
    assert statuses[:2] != [429, 429] and statuses[2] == 429


def test_a_used_password_says_it_was_used_not_that_the_application_changed(app, client):
    at_check(client)
    page = ask_for_password(client).location
    code = last_code(client)
    assert enter(client, page, code).status_code == 302
    # A new application for the same service, and the old password on its old page.
    log_out(client)
    at_check(client)
    response = enter(client, page, code)
    assert response.status_code == 200
    assert "This password has already been used" in problem(response)


def test_a_password_of_another_application_says_so(app, client):
    """One citizen, two applications at their check pages; the first one's password on the second's page."""
    from tests.journeys import load, walk
    from webapp.services import find

    first, second = "enpf-pension-payments", "pension-guarantee-difference"
    assert "/check" in walk(client, find(first), load(first)).request.path
    log_out(client)
    assert "/check" in walk(client, find(second), load(second)).request.path
    asked = ask_for_password(client, f"/en/services/{first}/apply")
    assert asked.status_code == 302
    code = last_code(client, "+77012345098")
    elsewhere = asked.location.replace(f"/{first}/", f"/{second}/")
    response = enter(client, elsewhere, code)
    assert response.status_code == 200
    assert "This password was sent for another application" in problem(response)
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None
    assert enter(client, asked.location, code).status_code == 302  # still good for its own


def log_out(client):
    client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})


def test_a_password_for_the_next_application_right_after_signing_another(app, client):
    """Issue 13: signing one application by SMS, then asking at once for the next one's password,
    sends it, instead of "we have just sent you a password" about the other application."""
    from tests.journeys import load, walk
    from webapp.services import find

    at_check(client)
    first = ask_for_password(client)
    assert enter(client, first.location, last_code(client)).location.endswith("/sent")
    maternity = load("maternity-and-adoption")
    mine = {**maternity, "citizen": MOTHER_WITH_BABY,
            "answers": {**maternity["answers"], "account": {"account": "KZ435639722818662011"}}}
    other_tab = app.test_client()  # logged in afresh: walk() logs in
    assert walk(other_tab, find("maternity-and-adoption"), mine).request.path.endswith("/check")
    second = ask_for_password(other_tab, "/en/services/maternity-and-adoption/apply")
    assert second.status_code == 302 and "/sign/sms/" in second.location, problem(second)
    page = other_tab.get(second.location)
    assert "ask for a new password in" in page.text  # the pause now runs for this application
    assert enter(other_tab, second.location, last_code(other_tab)).location.endswith("/sent")
