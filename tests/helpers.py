"""Shared helpers for tests that apply, sign and log in through the Flask client.

The citizen's side of NCALayer is played by signing.xmldsig with the sandbox
CA's test keys, made for this run by the app fixture; SMS passwords are read
from the sandbox outbox.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from signing.sandbox.pki import SandboxPKI
from signing.xmldsig import SigningKey, sign_enveloped
from tests.conftest import MOTHER_WITH_BABY, csrf_token
from tests.journeys import FILES, load, walk
from webapp.extensions import db
from webapp.models import Application, ApplicationDraft
from webapp.sandbox.provider import say
from webapp.services import find

CHILD_CARE = "child-care-under-one"
MATERNITY = "maternity-and-adoption"
APPLY = f"/en/services/{CHILD_CARE}/apply"
ACCOUNT = "/en/account"
MONDAY = dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc)  # the pinned day (TestConfig.FIXED_TODAY)


# ── applying and signing with EDS ───────────────────────────────────────


@lru_cache(maxsize=None)
def _key(pki_dir: str, holder: str, kind: str = "sign", variant: str = "normal") -> SigningKey:
    authority = SandboxPKI.load(Path(pki_dir))
    return SigningKey.from_pkcs12(authority.key_file(holder, kind=kind, variant=variant).path, authority.password)


def key(app, holder=MOTHER_WITH_BABY, kind="sign", variant="normal") -> SigningKey:
    """A test citizen's sandbox key (signing or authentication, normal or a variant to refuse)."""
    return _key(app.config["SANDBOX_PKI_DIR"], holder, kind, variant)


def at_check(client, slug=CHILD_CARE, lang="en"):
    """Fill the service's wizard from its journey file; the check page."""
    page = walk(client, find(slug), load(slug), lang=lang)
    assert page.status_code == 200 and "/check" in page.request.path
    return page


def issued(client, slug=CHILD_CARE, lang="en") -> bytes:
    """The application XML the check page offers for signing."""
    response = client.get(f"/{lang}/services/{slug}/apply/application.xml")
    assert response.status_code == 200
    return response.data


def send(client, signed: bytes, slug=CHILD_CARE, lang="en"):
    """Post a signed application as the check page's EDS form does."""
    token = csrf_token(client, f"/{lang}/services/{slug}/apply/check")
    return client.post(
        f"/{lang}/services/{slug}/apply/sign/eds", data={"csrf_token": token, "signed_xml": signed.decode("utf-8")}
    )


def sign_and_send(app, client, slug=CHILD_CARE, holder=MOTHER_WITH_BABY, lang="en"):
    """Sign the issued application with the holder's key and send it; the response."""
    return send(client, sign_enveloped(issued(client, slug, lang), key(app, holder)), slug, lang)


def problem(response) -> str:
    """The error summary's message on a re-shown page."""
    found = re.search(r'q-error-summary__list">\s*<li><a href="[^"]*">(.*?)</a>', response.text, re.S)
    assert found, response.text[:3000]
    return found.group(1)


def refused(app, client, signed_by, expected: str, slug=CHILD_CARE):
    """A document signed by `signed_by` is refused with `expected`; nothing is sent, the draft stays."""
    at_check(client, slug)
    document = issued(client, slug)
    response = send(client, signed_by(document), slug)
    assert response.status_code == 200
    assert expected in problem(response)
    assert "Error:" in response.text.split("</title>")[0]
    with app.app_context():
        assert db.session.scalar(db.select(Application)) is None
        assert db.session.scalar(db.select(ApplicationDraft)) is not None, "the draft must survive"


# ── logging in with EDS ─────────────────────────────────────────────────


def challenge(client, lang="en") -> tuple[str, str, bytes]:
    """The login page's CSRF token, its challenge token and the challenge document to sign."""
    page = client.get(f"/{lang}/login")
    token = re.search(r'name="challenge" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    document = client.get(f"/{lang}/login/eds/challenge.xml", query_string={"token": token})
    assert document.status_code == 200 and document.mimetype == "application/xml"
    return csrf, token, document.data


def eds_login(client, signed: bytes, csrf: str, token: str, lang="en"):
    return client.post(
        f"/{lang}/login/eds", data={"csrf_token": csrf, "challenge": token, "signed_xml": signed.decode("utf-8")}
    )


# ── signing with an SMS password ────────────────────────────────────────


def last_code(client, phone="+77011234567") -> str:
    """The six digits of the newest SMS to the phone, from the sandbox outbox."""
    newest = client.get("/sandbox/sms.json", query_string={"phone": phone}).get_json()[0]
    return re.search(r"\b(\d{6})\b", newest["text"]).group(1)


def ask_for_password(client, base=APPLY):
    token = csrf_token(client, f"{base}/check")
    return client.post(f"{base}/sign/sms", data={"csrf_token": token})


def enter(client, password_page: str, code: str):
    token = csrf_token(client, password_page)
    return client.post(password_page, data={"csrf_token": token, "code": code})


# ── the provider, and what a citizen sends about an application ─────────


def provider_says(app, number: str, *steps: tuple) -> None:
    """The provider says each (status, fields) in turn, through its signed-message inbox."""
    with app.test_request_context():
        for status, fields in steps:
            assert not say(number, status, **fields).duplicate


def upload(name: str, as_name: str | None = None) -> tuple[BytesIO, str]:
    """A file of tests/files/ as a form posts it, under its own or another name."""
    return BytesIO((FILES / name).read_bytes()), as_name or name


def fill(client, path: str, fields: dict, files: list[tuple[BytesIO, str]] = ()):
    """Post a request form as a browser does (multipart, CSRF token from the page)."""
    data = {"csrf_token": csrf_token(client, path), "action": "continue", **fields}
    if files:
        data["files"] = list(files)
    return client.post(path, data=data, content_type="multipart/form-data")


def sign_by_eds(app, client, check_url: str, holder: str = MOTHER_WITH_BABY):
    """Sign a request's document from its check page with the holder's key, as the page's EDS form does."""
    page = client.get(check_url)
    assert page.status_code == 200 and "data-eds" in page.text
    document_url = re.search(r'data-document-url="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+/sign/eds)"', page.text).group(1)
    document = client.get(document_url)
    assert document.mimetype == "application/xml"
    signed = sign_enveloped(document.data, key(app, holder))
    return client.post(action, data={"csrf_token": csrf_token(client, check_url), "signed_xml": signed.decode()})


def sign_by_sms(client, check_url: str):
    """Confirm a request from its check page with the SMS password sent to the mother's phone."""
    asked = client.post(f"{check_url}/sign/sms", data={"csrf_token": csrf_token(client, check_url)})
    assert asked.status_code == 302 and "/sign/sms/" in asked.location, asked.text[:2000]
    page = client.get(asked.location)
    assert 'autocomplete="one-time-code"' in page.text and "+7 701 *** ** 67" in page.text
    code = last_code(client)
    return client.post(asked.location, data={"csrf_token": csrf_token(client, asked.location), "code": code})


def request_number(response) -> str:
    """The number of the citizen request a sending response leads to."""
    assert response.status_code == 302, response.text[:3000]
    found = re.search(r"/en/account/requests/([OCDT]-\d{4}-\d{7})$", response.location)
    assert found, response.location
    return found.group(1)


def provisional_refusal(app, number, at=MONDAY):
    """The provider registers the application and then refuses it provisionally (a hearing is due)."""
    provider_says(app, number, ("registered", {"at": at}),
             ("provisional_refusal", {"at": at, "reason": "income above the threshold"}))
