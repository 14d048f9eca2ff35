"""Shared helpers for tests that apply, sign and log in through the Flask client.

The citizen's side of NCALayer is played by signing.xmldsig with the sandbox
CA's test keys, made for this run by the app fixture; SMS passwords are read
from the sandbox outbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from flask_babel import force_locale
from sqlalchemy import event, insert
from sqlalchemy.exc import OperationalError

from signing.sandbox.pki import SandboxPKI
from signing.xmldsig import SigningKey, sign_enveloped
from tests.conftest import MOTHER_WITH_BABY, csrf_token
from tests.journeys import FILES, load, walk
from webapp.dbapi_statements import DBAPIStatement
from webapp.errors import PAGES
from webapp.extensions import db
from webapp.applications.submission import registration_number
from webapp.models import Application, ApplicationDraft, ApplicationEvent
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


def provider_says(app, number: str, status: str, **fields):
    """The provider says one status (with its fields) through its signed-message inbox; the outcome."""
    with app.test_request_context():
        return say(number, status, **fields)


def provider_says_in_turn(app, number: str, *steps: tuple) -> None:
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
    provider_says_in_turn(app, number, ("registered", {"at": at}),
             ("provisional_refusal", {"at": at, "reason": "income above the threshold"}))


# ── History of Services ─────────────────────────────────────────────────


FRAGMENT = {"HX-Request": "true", "HX-Target": "history-results"}


def bulk(app, count: int, iin: str = MOTHER_WITH_BABY, start: int = 0, same_time: bool = False, **values) -> list[str]:
    """Insert applications directly, newest first by index: row 0 is the newest. Their numbers."""
    base = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
    rows = []
    for i in range(start, start + count):
        row = {
            "number": f"9000-{i:07d}", "iin": iin, "service_slug": CHILD_CARE, "language": "en", "answers": {},
            "document_nonce": f"bulk{iin}{i:08d}", "document": b"<a/>", "document_sha256": "0" * 64,
            "signed_xml": b"<a/>", "signed_with": "eds", "signer_name": "TEST", "signer_serial": "01",
            "signer_issuer": "CN=TEST", "signed_at": base, "status": "registered",
            "submitted_at": base if same_time else base - dt.timedelta(minutes=i),
            "due_on": dt.date(2026, 12, 3), "version": 1,
        }
        row.update({key: value(i) if callable(value) else value for key, value in values.items()})
        rows.append(row)
    with app.app_context():
        db.session.execute(insert(Application), rows)
        db.session.commit()
    return [row["number"] for row in rows]


def numbers_on(page) -> list[str]:
    """The registration numbers in the list's rows, in order."""
    return re.findall(r'<th scope="row" class="q-table__cell q-history-table__number"[^>]*><a class="q-link" href="[^"]+">([\d-]+)</a>', page.text)


def link(page, rel: str) -> str:
    """Where the page's <link rel=…> (next, prev) leads, unescaped; "" without one."""
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page.text)
    return found.group(1).replace("&amp;", "&") if found else ""


def etag_in(page) -> str:
    """The ETag the results fragment sends back as If-None-Match when it polls."""
    found = re.search(r'hx-headers=\'\{"If-None-Match": "\\"([^"\\]+)\\"", "Qyzmet-Poll": "1"\}\'', page.text)
    assert found, page.text[:3000]
    return found.group(1)


# ── faults ──────────────────────────────────────────────────────────────


def _lost_connection() -> OperationalError:
    # What psycopg raises when PostgreSQL stops under an open connection.
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@contextlib.contextmanager
def database_down(app, when=lambda statement: True):
    """Every statement `when` accepts fails as it would with the server gone."""

    def fail(conn, cursor, statement, parameters, context, executemany):
        if when(statement):
            raise _lost_connection()

    def fail_on_the_dbapi(statement):
        if when(statement):
            raise _lost_connection()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", fail)
    DBAPIStatement.observers.append(fail_on_the_dbapi)  # the few run past SQLAlchemy (the session's row)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", fail)
        DBAPIStatement.observers.remove(fail_on_the_dbapi)


def assert_unavailable_page(app, response, lang="en"):
    """The translated 503 page, with Retry-After and no traceback."""
    assert response.status_code == 503, response.text[:1500]
    assert response.headers["Retry-After"]
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        title = str(PAGES[503][0])
    assert title in response.text
    assert "Traceback" not in response.text


# ── the sandbox operator ────────────────────────────────────────────────


def stored_application(app, iin=MOTHER_WITH_BABY, answers=None, *, submitted_at=MONDAY, due_on=dt.date(2026, 12, 3),
                       slug=CHILD_CARE, language="en") -> str:
    """An application as submission stores it (the signature itself does not matter here); its number."""
    if answers is None:
        answers = {"child": "260203606639", "account": "KZ435639722818662011"}
    with app.app_context():
        record = Application(
            iin=iin, service_slug=slug, language=language, answers=answers, document_nonce=secrets.token_hex(16),
            document=b"<application/>", document_sha256="0" * 64, signed_xml=b"<signed/>", signed_with="eds",
            signer_name="Test", signer_serial="1", signer_issuer="Test CA", signed_at=submitted_at,
            submitted_at=submitted_at, due_on=due_on, status="sent",
        )
        db.session.add(record)
        db.session.flush()
        record.number = registration_number(record)
        db.session.add(ApplicationEvent(application_id=record.id, status="sent", at=submitted_at, data={}))
        db.session.commit()
        return record.number


def operator_page(number, lang="en") -> str:
    """The sandbox operator console's page of an application."""
    return f"/{lang}/sandbox/operator/applications/{number}"


def operator_acts(client, number, status, lang="en", **form):
    """Press one action's button on the application page, with its CSRF token."""
    token = csrf_token(client, operator_page(number, lang))
    return client.post(f"{operator_page(number, lang)}/{status}", data={"csrf_token": token, **form})
