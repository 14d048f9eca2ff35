"""The application page and notifications: where it stands, the timeline, the
answers as sent, the signed documents, the provider's signature verdict;
opening a notification marks it read; nobody else's is found."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests.conftest import CITIZEN_WITHOUT_PHONE, log_in
from tests.helpers import MONDAY, provider_says
from webapp.extensions import db
from webapp.models import Application, Notification, ProviderMessage



def assigned(app, number):
    provider_says(app, number, "registered", at=MONDAY)
    provider_says(app, number, "assigned", at=MONDAY + dt.timedelta(days=2), amount=Decimal("54321.00"),
             period=(dt.date(2026, 2, 3), dt.date(2027, 2, 3)))


def notification_id(app, kind: str) -> str:
    with app.app_context():
        return db.session.scalar(db.select(Notification.public_id).filter_by(kind=kind))


def text(page) -> str:
    """The page's text without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)).replace("&#39;", "'")


def test_the_application_page(app, client, sent_application):
    assigned(app, sent_application)
    page = client.get(f"/en/account/applications/{sent_application}")
    assert page.status_code == 200
    body = text(page)
    assert f"Application {sent_application}" in body
    assert "Child care payment until the child turns one" in body
    assert "State Social Insurance Fund JSC" in body
    assert "Assigned" in body
    assert "Decision due December 3, 2026" in body
    # The timeline, oldest first, with the provider's data.
    timeline = re.search(r'<ol class="q-timeline">(.*?)</ol>', page.text, re.S).group(1)
    titles = re.findall(r'class="q-timeline__title">([^<]+)<', timeline)
    assert titles == ["Sent to the service provider", "Registered", "Assigned"]
    assert "₸54,321.00" in timeline
    assert "from February 3, 2026 to February 3, 2027" in timeline
    # The answers as submitted, with the wizard's labels.
    answers = page.text.split('id="answers"', 1)[1].split('id="documents"', 1)[0]
    assert "Child" in answers and "born February 3, 2026" in answers
    assert "Bank account" in answers and "KZ435639722818662011" in answers
    # The notifications, unread, and the documents to download.
    assert "Decision: approved" in body and "Unread" in body
    assert f'href="/en/account/applications/{sent_application}/signed.xml"' in page.text
    with app.app_context():
        messages = db.session.scalars(db.select(ProviderMessage).order_by(ProviderMessage.id)).all()
        expected = {m.id: m.signed_xml for m in messages}
    for message_id, signed in expected.items():
        url = f"/en/account/applications/{sent_application}/provider-messages/{message_id}/signed.xml"
        assert url in page.text
        download = client.get(url)
        assert download.status_code == 200 and download.data == signed and download.mimetype == "application/xml"
        assert "attachment" in download.headers["Content-Disposition"]


def test_the_history_links_to_the_application_page(app, client, sent_application):
    page = client.get("/en/account/history")
    assert client.get(re.search(rf'href="(/en/account/applications/{sent_application})"', page.text).group(1)).status_code == 200


def test_documents_requested_show_the_citizens_deadline_and_the_list(app, client, sent_application):
    provider_says(app, sent_application, "registered", at=MONDAY)
    provider_says(app, sent_application, "documents_requested", at=MONDAY, documents=("Birth certificate", "Marriage certificate"))
    body = text(client.get(f"/en/account/applications/{sent_application}"))
    assert "Provide the documents by November 30, 2026" in body
    assert "Birth certificate" in body and "Marriage certificate" in body
    notice = client.get(f"/en/account/notifications/{notification_id(app, 'documents_requested')}")
    assert "More documents are needed" in text(notice)
    assert "Provide them by November 30, 2026" in text(notice)
    assert "<li>Birth certificate</li>" in notice.text


def test_a_provisional_refusal_says_when_to_object(app, client, sent_application):
    provider_says(app, sent_application, "registered", at=MONDAY)
    provider_says(app, sent_application, "provisional_refusal", at=MONDAY, reason="Income above the threshold")
    body = text(client.get(f"/en/account/applications/{sent_application}"))
    assert "Object by November 25, 2026" in body and "Income above the threshold" in body
    notice = text(client.get(f"/en/account/notifications/{notification_id(app, 'provisional_refusal')}"))
    assert "Reason: Income above the threshold" in notice
    assert "you can object by November 25, 2026" in notice
    assert "not be made before November 26, 2026" in notice


def test_opening_a_notification_marks_it_read_and_shows_the_signature_verdict(app, client, sent_application):
    assigned(app, sent_application)
    public_id = notification_id(app, "assigned")
    page = client.get(f"/en/account/notifications/{public_id}")
    assert page.status_code == 200
    body = text(page)
    assert "Decision: approved" in body
    assert "Amount: ₸54,321.00." in body
    assert "certified by the digital signature of ЖАҚСЫБЕКОВА САУЛЕ (Head of the organisation), State Social Insurance Fund JSC" in body
    assert "Valid signature" in body
    assert "040340000304" in body and "Head of the organisation" in body
    assert "Certificate serial number" in body and "Not revoked" in body
    assert "/en/verify" in page.text
    with app.app_context():
        notification = db.session.scalar(db.select(Notification).filter_by(public_id=public_id))
        assert notification.read_at is not None
        signed = db.session.get(ProviderMessage, notification.provider_message_id).signed_xml
    download = client.get(f"/en/account/notifications/{public_id}/signed.xml")
    assert download.status_code == 200 and download.data == signed
    # Read now: no longer marked on the application page.
    application_page = client.get(f"/en/account/applications/{sent_application}")
    item = re.search(rf'<li class="q-notification-list__item[^"]*">\s*<h3[^>]*>\s*<a class="q-link" href="/en/account/notifications/{public_id}">.*?</li>',
                     application_page.text, re.S).group(0)
    assert "Unread" not in item and "--unread" not in item


def test_a_stored_message_that_no_longer_verifies_says_so(app, client, sent_application):
    assigned(app, sent_application)
    public_id = notification_id(app, "assigned")
    with app.app_context():
        notification = db.session.scalar(db.select(Notification).filter_by(public_id=public_id))
        message = db.session.get(ProviderMessage, notification.provider_message_id)
        message.signed_xml = message.signed_xml.replace(b"54321.00", b"99999.00")
        db.session.commit()
    body = text(client.get(f"/en/account/notifications/{public_id}"))
    assert "Signature not valid" in body and "The signature does not match the document" in body


@pytest.mark.parametrize("lang, amount", [("kk", "54 321,00 ₸"), ("ru", "54 321,00 ₸"), ("en", "₸54,321.00")])
def test_notifications_are_rendered_in_the_page_language_from_their_data(app, client, sent_application, lang, amount):
    assigned(app, sent_application)
    page = client.get(f"/{lang}/account/notifications/{notification_id(app, 'assigned')}")
    assert page.status_code == 200
    assert amount in text(page).replace("\xa0", " ").replace("\u202f", " ")
    assert client.get(f"/{lang}/account/applications/{sent_application}").status_code == 200


def test_another_citizen_gets_404_on_every_route(app, client, sent_application):
    assigned(app, sent_application)
    public_id = notification_id(app, "assigned")
    with app.app_context():
        message_id = db.session.scalar(db.select(ProviderMessage.id))
    routes = [
        f"/en/account/applications/{sent_application}",
        f"/en/account/applications/{sent_application}/sent",
        f"/en/account/applications/{sent_application}/signed.xml",
        f"/en/account/applications/{sent_application}/provider-messages/{message_id}/signed.xml",
        f"/en/account/notifications/{public_id}",
        f"/en/account/notifications/{public_id}/signed.xml",
    ]
    for route in routes:
        assert client.get(route).status_code == 200, route
    other = app.test_client()
    log_in(other, CITIZEN_WITHOUT_PHONE)
    for route in routes:
        assert other.get(route).status_code == 404, route
    with app.app_context():
        assert db.session.scalar(db.select(Notification.read_at).filter_by(public_id=public_id)) is not None


def test_a_message_id_of_another_application_is_not_found(app, client, sent_application):
    """The provider message route checks the message belongs to the (own) application in the URL."""
    assigned(app, sent_application)
    with app.app_context():
        message_id = db.session.scalar(db.select(ProviderMessage.id))
        mine = db.session.scalar(db.select(Application).filter_by(number=sent_application))
        copy = Application(**{c.name: getattr(mine, c.name) for c in Application.__table__.columns
                              if c.name not in ("id", "number", "document_nonce")},
                           number="2026-7777777", document_nonce="another-nonce")
        db.session.add(copy)
        db.session.commit()
    assert client.get(f"/en/account/applications/2026-7777777/provider-messages/{message_id}/signed.xml").status_code == 404
    assert client.get("/en/account/applications/2026-7777777/provider-messages/999999/signed.xml").status_code == 404


def test_unknown_identifiers_are_not_found(app, client, sent_application):
    assert client.get("/en/account/applications/2099-0000000").status_code == 404
    assert client.get("/en/account/notifications/nothing-here").status_code == 404
    assert client.get("/en/account/notifications/nothing-here/signed.xml").status_code == 404


def test_the_pages_need_a_login(app, client, sent_application):
    anonymous = app.test_client()
    for route in (f"/en/account/applications/{sent_application}", f"/en/account/notifications/{notification_id(app, 'x') or 'x'}"):
        response = anonymous.get(route)
        assert response.status_code == 302 and "/en/login" in response.location


def test_the_citizens_own_steps_are_on_the_timeline(app, client, sent_application):
    """Steps the citizen takes (webapp/requests/) go through lifecycle.record like the provider's."""
    from webapp.provider import lifecycle

    provider_says(app, sent_application, "registered", at=MONDAY)
    provider_says(app, sent_application, "documents_requested", at=MONDAY, documents=("Birth certificate",))
    with app.test_request_context():
        application = db.session.scalar(db.select(Application).filter_by(number=sent_application))
        lifecycle.record(application, "documents_provided", at=MONDAY + dt.timedelta(hours=3), data={"request": "R-2026-0000001"})
        db.session.commit()
    page = client.get(f"/en/account/applications/{sent_application}")
    timeline = re.search(r'<ol class="q-timeline">(.*?)</ol>', page.text, re.S).group(1)
    assert re.findall(r'class="q-timeline__title">([^<]+)<', timeline)[-1] == "Documents provided"
    assert 'href="/en/account/requests/R-2026-0000001">R-2026-0000001</a>' in timeline
    assert ">Documents provided<" in client.get("/en/account/history").text
