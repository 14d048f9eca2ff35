"""The provider's signed messages: verified, applied once, in the order the lifecycle allows."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from signing.sandbox.pki import SandboxPKI
from signing.xmldsig import SigningKey, sign_enveloped
from tests.conftest import MOTHER_WITH_BABY
from tests.helpers import key
from webapp.extensions import db
from webapp.models import Application, ApplicationEvent, Notification, ProviderMessage
from webapp.provider import inbox, messages
from webapp.sandbox.provider import signed_message

MONDAY = dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc)


def post(client, body: bytes):
    return client.post("/provider/messages", data=body, headers={"Content-Type": "application/xml"})


def state(app, number):
    with app.app_context():
        application = db.session.scalar(db.select(Application).filter_by(number=number))
        return application.status, application.due_on, application.citizen_due_on


def test_registered_then_assigned(app, client, sent_application):
    with app.test_request_context():
        registered = signed_message(sent_application, "registered", at=MONDAY)
        assigned = signed_message(
            sent_application, "assigned", at=MONDAY + dt.timedelta(days=2), amount=Decimal("54321.00"),
            period=(dt.date(2026, 2, 3), dt.date(2027, 2, 3)),
        )
    assert post(client, registered).text.strip() == "applied"
    assert state(app, sent_application)[:2] == ("registered", dt.date(2026, 12, 3))
    assert post(client, assigned).status_code == 200
    with app.app_context():
        statuses = db.session.scalars(db.select(ApplicationEvent.status).order_by(ApplicationEvent.id)).all()
        assert statuses == ["sent", "registered", "assigned"]
        notification = db.session.scalar(db.select(Notification).filter_by(kind="assigned"))
        assert notification.iin == MOTHER_WITH_BABY and notification.data["amount"] == "54321.00"
        assert notification.provider_message_id is not None


def test_the_same_message_twice_changes_nothing(app, client, sent_application):
    with app.test_request_context():
        body = signed_message(sent_application, "registered", at=MONDAY)
    assert post(client, body).text.strip() == "applied"
    assert post(client, body).text.strip() == "duplicate"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ProviderMessage)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(Notification)) == 1


def test_the_same_id_for_other_content_is_a_conflict(app, client, sent_application):
    with app.test_request_context():
        first = signed_message(sent_application, "registered", at=MONDAY, message_id="m-1")
        second = signed_message(sent_application, "in_processing", at=MONDAY, message_id="m-1")
    post(client, first)
    assert post(client, second).status_code == 409


def test_a_citizens_key_cannot_speak_for_the_provider(app, client, sent_application):
    with app.test_request_context():
        body = messages.build(messages.ProviderMessage(id="x", application=sent_application, status="registered", at=MONDAY))
    response = post(client, sign_enveloped(body, key(app)))
    assert response.status_code == 403
    assert state(app, sent_application)[0] == "sent"


def test_an_unsigned_or_forged_message_is_refused(app, client, sent_application):
    with app.test_request_context():
        body = messages.build(messages.ProviderMessage(id="y", application=sent_application, status="assigned", at=MONDAY))
        signed = signed_message(sent_application, "registered", at=MONDAY)
    assert post(client, body).status_code == 400
    assert post(client, signed.replace(b'status="registered"', b'status="in_processing"')).status_code == 400
    assert state(app, sent_application)[0] == "sent"


def test_an_organisation_not_configured_as_provider_is_refused(app, client, sent_application):
    authority = SandboxPKI.load(app.config["SANDBOX_PKI_DIR"])
    from webapp.sandbox.pki import PORTAL

    portal = SigningKey.from_pkcs12(authority.key_file(PORTAL.bin, "sign").path, authority.password)
    with app.test_request_context():
        body = messages.build(messages.ProviderMessage(id="z", application=sent_application, status="registered", at=MONDAY))
    assert post(client, sign_enveloped(body, portal)).status_code == 403


def test_out_of_order_statuses_are_refused(app, client, sent_application):
    with app.test_request_context():
        refused = signed_message(sent_application, "refused", at=MONDAY, reason="no")
    assert post(client, refused).status_code == 409


def test_unknown_application(app, client, sent_application):
    with app.test_request_context():
        body = signed_message("2099-9999999", "registered", at=MONDAY)
    assert post(client, body).status_code == 404


def test_a_refusal_waits_for_the_hearing(app, client, sent_application):
    with app.test_request_context():
        steps = [
            signed_message(sent_application, "registered", at=MONDAY),
            signed_message(sent_application, "provisional_refusal", at=MONDAY, reason="income too high"),
            signed_message(sent_application, "refused", at=MONDAY + dt.timedelta(days=1), reason="income too high"),
            signed_message(sent_application, "refused", at=MONDAY + dt.timedelta(days=3), reason="income too high"),
        ]
    assert [post(client, body).status_code for body in steps] == [200, 200, 409, 200]
    assert state(app, sent_application)[0] == "refused"


def test_documents_requested_sets_the_citizens_deadline(app, client, sent_application):
    with app.test_request_context():
        post(client, signed_message(sent_application, "registered", at=MONDAY))
        post(client, signed_message(sent_application, "documents_requested", at=MONDAY, documents=("Birth certificate",)))
    assert state(app, sent_application)[2] == dt.date(2026, 11, 30)  # 5 working days


def test_decisions_go_by_sms_too(app, client, sent_application):
    with app.test_request_context():
        post(client, signed_message(sent_application, "registered", at=MONDAY))
        post(client, signed_message(sent_application, "assigned", at=MONDAY, amount=Decimal("1"), period=(dt.date(2026, 1, 1), dt.date(2026, 2, 1))))
    newest = client.get("/sandbox/sms.json", query_string={"iin": MOTHER_WITH_BABY}).get_json()[0]
    assert sent_application in newest["text"] and "approved" in newest["text"]


def test_every_service_has_its_own_body_signing_in_the_sandbox(app):
    """Issue 13: the special allowance's decision came signed by the Social Insurance Fund, not by
    the territorial department of the Committee its passport names."""
    from webapp.sandbox.pki import PROVIDERS
    from webapp.services import catalogue

    bodies = app.config["PROVIDER_BODIES"]
    assert set(PROVIDERS) == set(bodies) == set(app.config["PROVIDER_BINS"])
    with app.app_context():
        assert {p.provider for p in catalogue()} <= set(bodies.values())


def test_a_decision_is_signed_by_the_body_the_passport_names_and_shown_in_the_page_language(app, client):
    from tests.conftest import log_in
    from tests.helpers import stored_application
    from webapp.sandbox.provider import say

    veteran = "620411369754"
    number = stored_application(app, veteran, {"category": "combat-veteran-other-states", "account": "KZ645638375210077827"},
                    slug="special-state-allowance")
    with app.test_request_context():
        say(number, "registered", at=MONDAY)
        say(number, "assigned", at=MONDAY, amount=Decimal("43250"), period=(dt.date(2026, 12, 1), dt.date(2027, 12, 1)))
        message = db.session.scalar(db.select(ProviderMessage).order_by(ProviderMessage.id.desc()))
        assert message.signer_bin == "170440001104"
        notification = db.session.scalar(db.select(Notification).filter_by(kind="assigned"))
    log_in(client, veteran, lang="kk")
    page = client.get(f"/kk/account/notifications/{notification.public_id}").text
    sentence = re.search(r"ТӨЛЕГЕНОВ АРМАН[^<]*", page).group(0)
    assert "Еңбек, әлеуметтік қорғау және көші-қон комитетінің аумақтық бөлімшесі" in sentence, sentence
    assert not re.search(r"[A-Z]{4,}", sentence), sentence


def test_a_body_cannot_decide_another_bodys_service(app):
    from signing.verify import Refused
    from tests.helpers import stored_application
    from webapp.sandbox.pki import PROVIDER
    from webapp.sandbox.provider import provider_key

    number = stored_application(app, "620411369754", {"category": "combat-veteran-other-states"}, slug="special-state-allowance")
    with app.test_request_context():
        message = messages.ProviderMessage(id="m-other-body", application=number, status="registered", at=MONDAY)
        signed = sign_enveloped(messages.build(message), provider_key(PROVIDER.bin))
        with pytest.raises(Refused, match="not the provider of special-state-allowance"):
            inbox.receive(signed)
