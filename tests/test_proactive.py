"""The proactive service: an SMS offer from the provider, the citizen's reply
from the phone (played on /sandbox/sms), and the application that follows."""

from __future__ import annotations

import pytest

from signing import envelope
from tests.conftest import MOTHER_WITH_BABY, csrf_token, log_in
from webapp.extensions import db
from webapp.models import Application, ApplicationDraft, ProactiveOffer

PHONE = "+77011234567"  # the mother's registered phone
SERVICE = "child-care-under-one"


def offer(client, iin=MOTHER_WITH_BABY, service=SERVICE):
    token = csrf_token(client, "/en/sandbox/sms")
    return client.post("/en/sandbox/sms/offer", data={"csrf_token": token, "iin": iin, "service": service})


def reply(client, text, phone=PHONE):
    token = csrf_token(client, "/en/sandbox/sms")
    return client.post("/en/sandbox/sms/reply", data={"csrf_token": token, "phone": phone, "text": text})


def texts(client, phone=PHONE) -> list[str]:
    return [m["text"] for m in client.get("/sandbox/sms.json", query_string={"phone": phone}).get_json()]


def test_yes_makes_a_signed_application_in_the_history(app, client):
    assert offer(client).status_code == 302
    assert "Reply YES to apply" in texts(client)[0]
    reply(client, "yes")
    assert "has been sent" in texts(client)[0]
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.iin == MOTHER_WITH_BABY and application.service_slug == SERVICE
        assert application.answers["child"] == "260203606639"
        assert application.answers["account"] == "KZ435639722818662011"  # her first own account, from the bank
        (statement,) = envelope.parse(application.signed_xml).statements
        assert statement.type == "proactive-consent"
        number = application.number
        assert db.session.scalar(db.select(ProactiveOffer.status)) == "sent"
        assert db.session.scalar(db.select(ApplicationDraft)) is None
    log_in(client)
    assert number in client.get("/en/account/history").text


def test_an_iban_in_the_reply_chooses_the_account(app, client):
    offer(client)
    reply(client, "Да KZ697226410457500407")
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.answers["account"] == "other"
        assert application.answers["iban"] == "KZ697226410457500407"


def test_someone_elses_iban_is_asked_again(app, client):
    offer(client)
    reply(client, "yes KZ176015357928569990")  # another citizen's account
    assert "not an account in your name" in texts(client)[0]
    reply(client, "yes KZ697226410457500407")
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is not None


def test_no_declines(app, client):
    offer(client)
    reply(client, "жоқ")
    assert "declined" in texts(client)[0]
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None
        assert db.session.scalar(db.select(ProactiveOffer.status)) == "declined"


def test_a_draft_begun_on_the_portal_is_not_overwritten(app, client):
    from tests.test_eds import at_check

    at_check(client)
    other = app.test_client()
    offer(other)
    reply(other, "yes")
    assert "already started this application" in texts(other)[0]
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None
        assert db.session.scalar(db.select(ApplicationDraft)) is not None


def test_a_reply_without_an_offer_is_ignored(client):
    response = reply(client, "yes")
    assert response.status_code == 302
    assert "no open offer" in client.get(response.location).text


@pytest.mark.parametrize("iin", ["831219453975", "000000000000"])
def test_no_offer_without_a_phone_or_a_person(client, iin):
    response = offer(client, iin)
    assert "No offer was sent" in client.get(response.location).text
