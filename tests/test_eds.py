"""Signing an application with EDS and logging in with EDS, through the Flask client.

The citizen's side of NCALayer is played by tests.helpers with the sandbox
CA's test keys, made for this run by the app fixture.
"""

from __future__ import annotations

import re

import pytest

from signing.xmldsig import SigningKey, sign_enveloped
from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, NATIONAL_TEST_PKI, csrf_token
from tests.helpers import (
    CHILD_CARE, MATERNITY, at_check, challenge, eds_login, issued, key, problem, refused, send, sign_and_send,
)
from webapp.extensions import db
from webapp.models import Application, ApplicationDraft, Attachment, UsedLoginChallenge

ANOTHER_CITIZEN = CITIZEN_WITHOUT_PHONE


def test_signed_application_is_sent_with_its_proof(app, client):
    at_check(client)
    document = issued(client)
    signed = sign_enveloped(document, key(app), line_ending="\r\n")
    response = send(client, signed)
    assert response.status_code == 302
    assert re.search(r"/en/account/applications/\d{4}-\d{7}/sent$", response.location)
    page = client.get(response.location)
    assert "Application sent" in page.text
    assert "with your EDS on" in page.text and "SMS" not in page.text
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.iin == MOTHER_WITH_BABY
        assert application.signed_xml == signed
        assert application.document == document
        assert application.signed_with == "eds"
        assert application.revocation_method in ("ocsp", "crl") and application.revocation_response
        # 8 working days from Monday 23 November 2026: Thursday 3 December.
        assert application.due_on.isoformat() == "2026-12-03"
        assert db.session.scalar(db.select(ApplicationDraft)) is None
        number = application.number
    assert number in page.text and "December 3, 2026" in page.text
    download = client.get(f"/en/account/applications/{number}/signed.xml")
    assert download.data == signed and download.mimetype == "application/xml"
    history = client.get("/en/account/history")
    assert number in history.text


def test_attachments_move_to_the_application(app, client):
    at_check(client, MATERNITY)
    signed = sign_enveloped(issued(client, MATERNITY), key(app, "970709446088"))
    assert send(client, signed, MATERNITY).status_code == 302
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        files = db.session.scalars(db.select(Attachment)).all()
        assert files and all(f.application_id == application.id and f.draft_id is None for f in files)


def test_the_same_signed_document_twice_gives_one_application(app, client):
    at_check(client)
    signed = sign_enveloped(issued(client), key(app))
    first = send(client, signed)
    token = csrf_token(client, "/en/account/history")
    again = client.post(f"/en/services/{CHILD_CARE}/apply/sign/eds", data={"csrf_token": token, "signed_xml": signed})
    assert again.status_code == 302 and again.location == first.location
    assert "had already been sent: this is the application it made" in client.get(again.location).text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1


def test_a_signed_document_sent_before_is_already_used_for_a_new_application(app, client):
    at_check(client)
    signed = sign_enveloped(issued(client), key(app))
    assert send(client, signed).status_code == 302
    client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})
    at_check(client)  # the same service again: a new draft, a new document
    again = send(client, signed)
    assert again.status_code == 200
    assert "This signed document has already been used" in problem(again)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1


@pytest.mark.parametrize(
    ("signer", "expected"),
    [
        (lambda app: key(app, kind="auth"), "choose your signing key"),
        (lambda app: key(app, ANOTHER_CITIZEN), "belongs to another person"),
        (lambda app: key(app, variant="revoked"), "has been revoked"),
        (lambda app: key(app, variant="expired"), "has expired"),
        (lambda app: key(app, variant="not-yet-valid"), "not valid yet"),
        (lambda app: SigningKey.from_pkcs12(NATIONAL_TEST_PKI / "fl_rsa_sign.p12", "Qwerty12"), "has expired"),
    ],
    ids=["authentication-key", "another-person", "revoked", "expired", "not-yet-valid", "national-test-key-expired"],
)
def test_wrong_keys_are_refused_with_their_reason(app, client, signer, expected):
    refused(app, client, lambda document: sign_enveloped(document, signer(app)), expected)


def test_an_altered_answer_isrefused(app, client):
    def tamper(document):
        altered = document.replace(b"KZ435639722818662011", b"KZ697226410457500407")
        assert altered != document
        return sign_enveloped(altered, key(app))

    refused(app, client, tamper, "not the application shown on this page")


def test_a_genuine_gost_signature_is_checked_not_refused_for_its_algorithm(app, client):
    """GOST is verified now: the national sample is refused for what it is, a key of a CA the sandbox does not trust."""
    gost = (NATIONAL_TEST_PKI / "gost-signed-sample.xml").read_bytes()
    refused(app, client, lambda document: gost, "not issued by the National Certification Authority")


def test_an_old_gost_key_is_told_to_get_a_new_one(app, client):
    def legacy(document):
        signed = sign_enveloped(document, key(app))
        return signed.replace(
            b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", b"http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
        )

    refused(app, client, legacy, "no longer accepted. Get a new key")


def test_an_empty_signature_isrefused(app, client):
    at_check(client)
    response = send(client, b"")
    assert "not signed" in problem(response)


def test_a_failure_before_commit_keeps_the_draft(app, client, monkeypatch):
    from webapp.applications import submission

    at_check(client)
    signed = sign_enveloped(issued(client), key(app))

    def broken(record):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(submission, "registration_number", broken)
    assert send(client, signed).status_code == 500
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None
        assert db.session.scalar(db.select(ApplicationDraft)) is not None
    monkeypatch.undo()
    assert send(client, signed).status_code == 302


def test_another_citizen_cannot_open_the_signed_application(app, client):
    at_check(client)
    response = sign_and_send(app, client)
    number = response.location.rsplit("/", 2)[-2]
    other = app.test_client()
    from tests.conftest import log_in

    log_in(other, ANOTHER_CITIZEN)
    assert other.get(f"/en/account/applications/{number}/signed.xml").status_code == 404
    assert other.get(f"/en/account/applications/{number}/sent").status_code == 404
    assert number not in other.get("/en/account/history").text


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_check_page_offers_eds_and_says_what_it_needs(client, lang):
    page = at_check(client, lang=lang)
    assert 'data-eds' in page.text and 'name="signed_xml"' in page.text
    assert "data-eds-no-js" in page.text


# EDS login


def test_log_in_with_an_authentication_key(app, client):
    csrf, token, document = challenge(client)
    response = eds_login(client, sign_enveloped(document, key(app, ANOTHER_CITIZEN, "auth")), csrf, token)
    assert response.status_code == 302 and response.location.endswith("/en/account")
    assert ANOTHER_CITIZEN in client.get("/en/account").text


def test_a_login_challenge_logs_in_once(app, client):
    csrf, token, document = challenge(client)
    signed = sign_enveloped(document, key(app, kind="auth"))
    assert eds_login(client, signed, csrf, token).status_code == 302
    other = app.test_client()
    csrf2 = csrf_token(other, "/en/login")
    replay = eds_login(other, signed, csrf2, token)
    assert replay.status_code == 200 and "already been used" in problem(replay)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UsedLoginChallenge)) == 1


def test_a_signing_key_does_not_log_in(app, client):
    csrf, token, document = challenge(client)
    response = eds_login(client, sign_enveloped(document, key(app)), csrf, token)
    assert response.status_code == 200
    assert "choose your authentication key" in problem(response)
    assert client.get("/en/account").status_code == 302


def test_an_old_login_challenge_isrefused(app, client):
    csrf, token, document = challenge(client)
    signed = sign_enveloped(document, key(app, kind="auth"))
    app.config["EDS_LOGIN_CHALLENGE_SECONDS"] = -1
    try:
        response = eds_login(client, signed, csrf, token)
    finally:
        app.config["EDS_LOGIN_CHALLENGE_SECONDS"] = 300
    assert "expired" in problem(response)


def test_a_document_of_too_many_elements_is_refused_as_too_large(app, client):
    """20,000 siblings fit in a form field; the reason is their number, not that the document is unreadable."""
    def padded(document):
        return sign_enveloped(document, key(app)).replace(b"<nonce>", b"<x/>" * 20_000 + b"<nonce>", 1)

    refused(app, client, padded, "The signed document is too large")


def test_a_ten_megabyte_text_node_is_refused_as_too_large(app, client):
    def padded(document):
        return sign_enveloped(document, key(app)).replace(b"<nonce>", b"<nonce>" + b"A" * (10 * 1024 * 1024), 1)

    refused(app, client, padded, "The signed document is too large")


def test_a_forged_challenge_token_isrefused(client):
    assert client.get("/en/login/eds/challenge.xml", query_string={"token": "forged"}).status_code == 404


def test_every_refusal_reason_has_a_message():
    from signing.verify import REASONS
    from webapp.signatures import REFUSAL_MESSAGES

    assert set(REASONS) <= set(REFUSAL_MESSAGES)
