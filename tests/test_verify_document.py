"""Verify a document: upload a signed XML, read the verdict; nothing is stored."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from signing.verify import REASONS
from signing.xmldsig import sign_enveloped
from tests.conftest import MOTHER_WITH_BABY, csrf_token
from tests.helpers import key
from webapp.extensions import db
from webapp.sandbox.provider import signed_message

DOCUMENT = b'<statement xmlns="urn:example"><text>I confirm.</text></statement>'
TABLES = ("applications", "provider_messages", "notifications", "attachments", "application_drafts", "application_events")


def upload(client, data: bytes | None, lang: str = "en", filename: str = "signed.xml", token: str | None = None):
    form = {"csrf_token": token if token is not None else csrf_token(client, f"/{lang}/verify")}
    if data is not None:
        form["document"] = (io.BytesIO(data), filename)
    return client.post(f"/{lang}/verify", data=form, content_type="multipart/form-data")


def text(page) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)).replace("&#39;", "'")


def counts(app) -> dict:
    with app.app_context():
        return {t: db.session.scalar(db.text(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}


def test_the_page_needs_no_login_and_is_linked_from_every_page(client):
    page = client.get("/en/verify")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="csrf_token"' in page.text
    assert 'type="file"' in page.text and 'name="document"' in page.text
    assert 'href="/en/verify"' in client.get("/en/services").text


def test_a_citizens_signature(app, client):
    before = counts(app)
    page = upload(client, sign_enveloped(DOCUMENT, key(app)))
    assert page.status_code == 200
    body = text(page)
    assert "Valid signature" in body
    assert "САРСЕНБАЕВА АЙГУЛЬ" in body and MOTHER_WITH_BABY in body
    assert "Individual" in body
    assert "Certificate serial number" in body and "QYZMET SANDBOX CA" in body
    assert "Not revoked" in body  # revocation was checked
    assert counts(app) == before  # nothing of the file is kept


def test_a_providers_signed_decision(app, client):
    with app.test_request_context():
        signed = signed_message("2026-0000001", "assigned", at=dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc))
    body = text(upload(client, signed))
    assert "Valid signature" in body
    assert "ЖАҚСЫБЕКОВА САУЛЕ" in body and "ГОСУДАРСТВЕННЫЙ ФОНД СОЦИАЛЬНОГО СТРАХОВАНИЯ" in body
    assert "040340000304" in body and "Head of the organisation" in body


def test_a_changed_document_is_not_valid(app, client):
    signed = sign_enveloped(DOCUMENT, key(app)).replace(b"I confirm.", b"I deny.")
    page = upload(client, signed)
    assert page.status_code == 200
    assert "Signature not valid" in text(page)
    assert "The signature does not match the document" in text(page)


def test_a_revoked_certificate_is_not_valid(app, client):
    body = text(upload(client, sign_enveloped(DOCUMENT, key(app, variant="revoked"))))
    assert "Signature not valid" in body and "has been revoked" in body


def test_an_unsigned_or_unreadable_file(app, client):
    assert "carries no XML signature" in text(upload(client, DOCUMENT))
    assert "not a readable XML document" in text(upload(client, b"%PDF-1.4 not xml", filename="scan.pdf"))


def test_a_document_of_too_many_elements_is_too_large_not_unreadable(app, client):
    signed = sign_enveloped(DOCUMENT, key(app)).replace(b"I confirm.", b"<x/>" * 20_000, 1)
    body = text(upload(client, signed))
    assert "Signature not valid" in body and "larger than the portal reads" in body


def test_no_file_or_a_file_too_large_is_an_error(app, client):
    missing = upload(client, None)
    assert missing.status_code == 400
    assert "Choose a signed XML file" in missing.text and "<title>Error:" in missing.text
    empty = upload(client, b"")
    assert empty.status_code == 400
    large = upload(client, b"<a>" + b"x" * (2 * 1024 * 1024) + b"</a>")
    assert large.status_code == 400 and "smaller than 2 MB" in large.text


def test_the_form_needs_its_csrf_token(app, client):
    assert upload(client, sign_enveloped(DOCUMENT, key(app)), token="").status_code == 400


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_in_kazakh_and_russian(app, client, lang):
    assert client.get(f"/{lang}/verify").status_code == 200
    page = upload(client, sign_enveloped(DOCUMENT, key(app)), lang=lang)
    assert page.status_code == 200 and MOTHER_WITH_BABY in page.text


def test_every_refusal_reason_has_a_neutral_message():
    from webapp.verdicts import VERDICT_PROBLEMS

    assert set(REASONS) <= set(VERDICT_PROBLEMS)
