"""The proactive service: an SMS offer from the provider, the citizen's reply
from the phone (played on /sandbox/sms), and the application that follows."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from signing import envelope
from tests.conftest import MOTHER_WITH_BABY, csrf_token, log_in
from webapp.extensions import db
from webapp.models import Application, ApplicationDraft, ProactiveOffer
from webapp.services import catalogue

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


def flashed(client, response) -> str:
    """The message the sandbox SMS page shows after a redirect."""
    assert response.status_code == 302
    return " ".join(html.unescape(client.get(response.location).text).split())


def send_on_the_portal(app, iin=MOTHER_WITH_BABY, slug=SERVICE) -> str:
    """The citizen applies on the portal herself, with her EDS; the application's number."""
    from signing.xmldsig import sign_enveloped
    from tests.helpers import at_check, issued, key, send

    portal = app.test_client()
    at_check(portal, slug)
    assert send(portal, sign_enveloped(issued(portal, slug), key(app, iin)), slug).status_code == 302
    with app.app_context():
        return db.session.scalar(db.select(Application.number).order_by(Application.id.desc()))


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
    # How it was signed, in her words: her SMS reply, not an SMS password.
    page = client.get(f"/en/account/applications/{number}").text
    assert "Confirmed by your SMS reply to offer P0000001; signed by the portal" in page and "SMS password" not in page


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
    from tests.helpers import at_check

    offer(client)
    at_check(app.test_client())  # after the offer, she starts on the portal
    reply(client, "yes")
    assert "already started this application" in texts(client)[0]
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None
        assert db.session.scalar(db.select(ApplicationDraft)) is not None
        assert db.session.scalar(db.select(ProactiveOffer.status)) == "apply_online"


def test_no_offer_goes_to_someone_with_a_draft_on_the_portal(app, client):
    from tests.helpers import at_check

    at_check(app.test_client())
    assert "the citizen has already started this application on the portal" in flashed(client, offer(client))
    assert texts(client) == []


def test_a_reply_without_an_offer_is_ignored(client):
    response = reply(client, "yes")
    assert response.status_code == 302
    assert "no open offer" in client.get(response.location).text


@pytest.mark.parametrize(("iin", "reason"), [
    ("831219453975", "no phone is registered for this IIN"),
    ("000000000000", "the state database has no person with this IIN"),
])
def test_no_offer_without_a_phone_or_a_person(client, iin, reason):
    assert f"No offer was sent: {reason}." in flashed(client, offer(client, iin))


@pytest.mark.parametrize(("iin", "phone", "reason"), [
    # A Baikonur resident must upload the housing department's statement.
    ("940427417098", "+77021357924", "the application needs “Baikonur registration statement”, which an SMS reply cannot carry"),
    # An adoptive mother must upload the court decision on the adoption.
    ("820303425046", "+77074561230", "the application needs “Adoption or guardianship document”, which an SMS reply cannot carry"),
    # Married before 1 June 2008: the online service's rule, in its own words.
    ("850129417158", "+77022345678", "the citizen does not meet a condition of the online service: Your marriage was registered before 1 June 2008"),
    # Her only account is her husband's: no IBAN in a reply could be hers.
    ("950214440829", "+77781112233", "the bank registry knows no account in the citizen's name for the payment"),
    # Her only child's birth was registered in 2006: nothing to offer.
    ("811108409267", None, "the registries hold no event to offer this service for"),
])
def test_no_offer_goes_to_someone_who_cannot_complete_it_by_sms(app, client, iin, phone, reason):
    """What the issue saw: the offer went out, and a YES with a valid IBAN was told to apply on the portal."""
    assert f"No offer was sent: {reason}" in flashed(client, offer(client, iin))
    assert phone is None or texts(client, phone) == []
    with app.app_context():
        assert db.session.scalar(db.select(ProactiveOffer)) is None


def test_an_application_already_sent_stops_the_offer(app, client):
    number = send_on_the_portal(app)
    assert f"No offer was sent: application {number} for this service was already sent." in flashed(client, offer(client))


def test_a_yes_after_applying_on_the_portal_is_told_it_was_already_sent(app, client):
    """Not "you started it on the portal": the application was sent."""
    offer(client)
    number = send_on_the_portal(app)
    reply(client, "yes")
    assert f"your application {number} for this service has already been sent" in texts(client)[0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1
        assert db.session.scalar(db.select(ProactiveOffer.status)) == "already_sent"


def test_an_offer_still_open_is_not_made_twice(client):
    offer(client)
    assert "No offer was sent: offer P" in flashed(client, offer(client))
    assert len(texts(client)) == 1


def test_a_reply_to_an_answered_offer_says_what_became_of_it(app, client):
    offer(client)
    reply(client, "yes")
    with app.app_context():
        number = db.session.scalar(db.select(Application.number))
    reply(client, "yes")
    assert f"has already been answered: your application {number} has been sent" in texts(client)[0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1


def test_a_reply_to_an_expired_offer_says_it_expired(app, client):
    offer(client)
    with app.app_context():
        found = db.session.scalar(db.select(ProactiveOffer))
        found.expires_at = found.offered_at - dt.timedelta(seconds=1)
        db.session.commit()
    reply(client, "yes")
    assert "has expired, so no application was made" in texts(client)[0]
    with app.app_context():
        assert db.session.scalar(db.select(ProactiveOffer.status)) == "expired"
        assert db.session.scalar(db.select(Application)) is None


@pytest.mark.parametrize("slug", [s.slug for s in catalogue() if s.wizard and s.wizard.proactive])
def test_the_proactive_path_for_everyone_the_sandbox_names(app, client, slug):
    """Each service offered by SMS, walked for every test citizen the citizens page names for it:
    the offer, YES from the phone, the application sent and in their History of Services."""
    named = [c for c in client.get("/sandbox/citizens.json").get_json() if slug in c["proactive"]]
    assert named, f"the sandbox names no test citizen for the proactive {slug}"
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", "", client.get("/en/sandbox/citizens").text)).split())
    for citizen in named:
        assert f"({citizen['iin']}, {citizen['phone']})" in page
        assert f"was sent to {citizen['phone']}" in flashed(client, offer(client, citizen["iin"], slug))
        assert "Reply YES to apply" in texts(client, citizen["phone"])[0]
        reply(client, "Иә", phone=citizen["phone"])
        sent = texts(client, citizen["phone"])[0]
        assert "has been sent" in sent, sent
        with app.app_context():
            application = db.session.scalar(
                db.select(Application).filter_by(iin=citizen["iin"], service_slug=slug))
            assert application.number in sent and application.signed_with == "sms"
            (statement,) = envelope.parse(application.signed_xml).statements
            assert statement.type == "proactive-consent"
            offered = db.session.scalar(db.select(ProactiveOffer).filter_by(iin=citizen["iin"]))
            assert offered.status == "sent" and offered.application_id == application.id
            number = application.number
        citizen_client = app.test_client()
        log_in(citizen_client, citizen["iin"])
        assert number in citizen_client.get("/en/account/history").text
        # Offered again for the same event: the provider is told it was already sent.
        assert f"application {number} for this service was already sent" in flashed(client, offer(client, citizen["iin"], slug))


def test_the_reasons_are_given_in_the_offers_language(app, client):
    token = csrf_token(client, "/kk/sandbox/sms")
    refused = client.post("/kk/sandbox/sms/offer", data={"csrf_token": token, "iin": "940427417098", "service": SERVICE})
    assert "Ұсыныс жіберілмеді: өтінішке «" in flashed(client, refused)  # PageCheckingClient: nothing left in English
    token = csrf_token(client, "/kk/sandbox/sms")
    client.post("/kk/sandbox/sms/offer", data={"csrf_token": token, "iin": MOTHER_WITH_BABY, "service": SERVICE})
    number = send_on_the_portal(app)
    reply(client, "иә")
    assert f"осы қызметке арналған {number} өтінішіңіз бұрын жіберілген" in texts(client)[0]
