"""The sandbox's service providers: each message about an application is signed
with the sandbox key of the body its service's passport names as provider,
and handed to the same inbox that /provider/messages uses."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from flask import current_app

from signing.xmldsig import SigningKey, sign_enveloped
from webapp.clock import now
from webapp.extensions import db
from webapp.models import Application
from webapp.provider import inbox, messages
from webapp.sandbox.pki import PROVIDER, load
from webapp.services import find


def provider_key(bin: str = PROVIDER.bin) -> SigningKey:
    """A sandbox provider official's signing key, by the body's BIN, opened once."""
    keys = current_app.extensions.setdefault("sandbox_provider", {})
    if bin not in keys:
        authority = load()
        found = authority.key_file(bin, kind="sign") if authority else None
        if found is None:
            raise RuntimeError(f"the sandbox CA has no key for BIN {bin}: flask --app webapp sandbox pki")
        keys[bin] = SigningKey.from_pkcs12(found.path, authority.password)
    return keys[bin]


def provider_bin(number: str) -> str:
    """The BIN of the body that provides the application's service (the State Social Insurance Fund
    for a number the portal does not know)."""
    application = db.session.scalar(db.select(Application).filter_by(number=number))
    service = find(application.service_slug) if application else None
    bodies = {body: bin for bin, body in current_app.config["PROVIDER_BODIES"].items()}
    return bodies.get(service.provider, PROVIDER.bin) if service else PROVIDER.bin


def signed_message(number: str, status: str, *, at: dt.datetime | None = None, reason: str | None = None,
                   amount: Decimal | None = None, period: tuple[dt.date, dt.date] | None = None,
                   documents: tuple[str, ...] = (), due_on: dt.date | None = None,
                   objection: str | None = None, message_id: str | None = None) -> bytes:
    """A provider message about an application, signed as the provider signs."""
    message = messages.ProviderMessage(
        id=message_id or uuid.uuid4().hex, application=number, status=status, at=at or now(), reason=reason,
        amount=amount, period_from=period[0] if period else None, period_to=period[1] if period else None,
        documents=documents, due_on=due_on, objection=objection,
    )
    return sign_enveloped(messages.build(message), provider_key(provider_bin(number)))


def say(number: str, status: str, **fields) -> inbox.Received:
    """Send the portal a signed provider message through the provider inbox."""
    return inbox.receive(signed_message(number, status, **fields))
