"""Shared material for the security battery: a victim's data of every kind,
an attacker, a production-configured app, and a fingerprint of the database
to prove that a refused request changed nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import MetaData, select

from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, csrf_token, log_in
from webapp.extensions import db

ACCOUNT = "/en/account"
CHILD_CARE = "child-care-under-one"
MONDAY = dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc)
ATTACKER = CITIZEN_WITHOUT_PHONE
# Tables a request touches without changing anything the citizen did: the
# session row is refreshed on every request (sliding expiry).
VOLATILE_TABLES = {"web_sessions"}


@dataclass
class Victim:
    """Citizen A's data of every kind an identifier in a URL can name."""

    client: object
    iin: str
    names: list[str]
    number: str  # a sent application (provisionally refused, objected to)
    message_id: int  # a provider message about it
    notification_id: str  # a notification about it
    request_number: str  # a sent objection
    request_draft: str  # public id of an unsigned malfunction report
    request_challenge: str  # an SMS password challenge for that report
    application_challenge: str  # an SMS password challenge for a new child-care draft
    phone_challenge: str  # a challenge confirming a new phone number
    step_id: str  # a step of the child-care wizard
    application_signing: str  # an eGov Mobile session for the new child-care draft
    request_signing: str  # an eGov Mobile session for the malfunction report
    login_signing: str  # an eGov Mobile login session asked for from A's browser
    secrets_: list[str] = field(default_factory=list)

    def leaks(self, text: str) -> list[str]:
        """Which of A's personal values a page shows (not the numbers: they are in
        the URL B typed, which pages repeat in their language links)."""
        return [value for value in [self.iin, *self.names, *self.secrets_]
                if value and value in text]


def fingerprint(app: Flask) -> dict[str, str]:
    """A digest of every row of every table (but the session store)."""
    result = {}
    with app.app_context():
        meta = MetaData()
        meta.reflect(db.engine)
        with db.engine.connect() as connection:
            for name, table in sorted(meta.tables.items()):
                if name in VOLATILE_TABLES:
                    continue
                rows = connection.execute(select(table)).all()
                digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
                result[name] = f"{len(rows)}:{digest}"
    return result


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def _names(app, iin: str) -> list[str]:
    person = app.extensions["state_registries"].person(iin)
    values = []
    for name in person.names.values():
        values += [name.full, name.surname]
    return sorted(set(values))


@pytest.fixture
def victim(app, client, monkeypatch, sent_application) -> Victim:
    """Citizen A (the mother) with a sent application, a provisional refusal
    (provider message and notification), a sent objection, an unsigned
    malfunction report with an SMS challenge, a new application draft with an
    SMS challenge, and a pending phone change."""
    from tests.helpers import at_check
    from tests.helpers import fill, request_number, sign_by_eds
    from webapp.models import Notification, ProviderMessage
    from webapp.sandbox.provider import say

    # Three SMS passwords in a row for one citizen: no pause between them.
    monkeypatch.setitem(app.config, "OTP_RESEND_SECONDS", 0)
    number = sent_application
    with app.test_request_context():
        say(number, "registered", at=MONDAY)
        say(number, "provisional_refusal", at=MONDAY, reason="income above the threshold")
    with app.app_context():
        message_id = db.session.scalar(select(ProviderMessage.id).order_by(ProviderMessage.id.desc()))
        notification_id = db.session.scalar(select(Notification.public_id))
    saved = fill(client, f"{ACCOUNT}/applications/{number}/objection", {"text": "Objection text of citizen A."})
    objection = request_number(sign_by_eds(app, client, saved.location))
    saved = fill(client, f"{ACCOUNT}/requests/malfunction",
                 {"service": CHILD_CARE, "registration_number": number, "text": "Malfunction text of citizen A."})
    assert saved.status_code == 302, saved.text[:2000]
    malfunction_draft = saved.location
    asked = client.post(f"{malfunction_draft}/sign/sms", data={"csrf_token": csrf_token(client, malfunction_draft)})
    assert asked.status_code == 302 and "/sign/sms/" in asked.location, asked.text[:2000]
    request_signing = client.post(f"{malfunction_draft}/sign/egov-mobile",
                                  data={"csrf_token": csrf_token(client, malfunction_draft)})
    assert request_signing.status_code == 302 and "/egov-mobile/" in request_signing.location
    # A second child-care draft, at its check page, with an SMS password asked
    # for (the journey logs in again, so log out first).
    client.post("/en/logout", data={"csrf_token": csrf_token(client, ACCOUNT)})
    check = at_check(client)
    base = f"/en/services/{CHILD_CARE}/apply"
    asked_application = client.post(f"{base}/sign/sms", data={"csrf_token": csrf_token(client, f"{base}/check")})
    assert asked_application.status_code == 302 and "/sign/sms/" in asked_application.location
    application_signing = client.post(f"{base}/sign/egov-mobile", data={"csrf_token": csrf_token(client, f"{base}/check")})
    assert application_signing.status_code == 302 and "/egov-mobile/" in application_signing.location
    login_signing = client.post("/en/login/egov-mobile", data={"csrf_token": csrf_token(client, ACCOUNT)})
    assert login_signing.status_code == 302 and "/egov-mobile/" in login_signing.location
    phone = client.post(f"{ACCOUNT}/phone", data={"csrf_token": csrf_token(client, f"{ACCOUNT}/phone"),
                                                  "phone": "+7 702 555 44 33"})
    assert phone.status_code == 302 and "/confirm/" in phone.location, phone.text[:2000]
    step = re.search(rf'href="{base}/([a-z0-9-]+)(?:\?return=check)?"', check.text).group(1)
    return Victim(
        client=client,
        iin=MOTHER_WITH_BABY,
        names=_names(app, MOTHER_WITH_BABY),
        number=number,
        message_id=message_id,
        notification_id=notification_id,
        request_number=objection,
        request_draft=malfunction_draft.rsplit("/", 1)[-1],
        request_challenge=asked.location.rsplit("/", 1)[-1],
        application_challenge=asked_application.location.rsplit("/", 1)[-1],
        phone_challenge=phone.location.rsplit("/", 1)[-1],
        step_id=step,
        application_signing=application_signing.location.rsplit("/", 1)[-1],
        request_signing=request_signing.location.rsplit("/", 1)[-1],
        login_signing=login_signing.location.rsplit("/", 1)[-1],
        secrets_=["Objection text of citizen A.", "Malfunction text of citizen A.", "555 44 33"],
    )


@pytest.fixture
def attacker(app):
    """Citizen B, logged in on their own client."""
    other = app.test_client()
    assert log_in(other, ATTACKER).status_code == 302
    return other


def production_app(tmp_path, monkeypatch, **overrides) -> Flask:
    """The portal as ProductionConfig builds it from the environment, on a
    migrated SQLite file (the PostgreSQL URL production insists on is never dialled)."""
    from flask_migrate import upgrade

    from tests.conftest import PageCheckingClient
    from webapp import create_app
    from webapp.config import REPO_ROOT, ProductionConfig
    from webapp.sandbox import load_test_citizens

    from tests.production import production_environment

    # Complete and valid (real CA and key files); Redis is switched off below.
    environment = production_environment(tmp_path)
    for name in ("REDIS_URL", "SMS_GATEWAY", "SMS_GATEWAY_URL", "PROVIDER_GATEWAY", "PROVIDER_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    app = create_app(ProductionConfig, {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.sqlite3"),
        "HUEY_IMMEDIATE": True,
        "HUEY_EMBEDDED_CONSUMER": False,
        "REDIS_URL": None,  # sessions in the database, as the other tests
        **overrides,
    })
    app.test_client_class = PageCheckingClient
    with app.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
        load_test_citizens()
    return app
