"""The sandbox's service provider: signs messages with the provider's sandbox
key and hands them to the same inbox that /provider/messages uses."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from flask import current_app

from signing.xmldsig import SigningKey, sign_enveloped
from webapp.clock import now
from webapp.provider import inbox, messages
from webapp.sandbox.pki import PROVIDER, load


def provider_key() -> SigningKey:
    """The provider official's sandbox signing key, opened once."""
    state = current_app.extensions.setdefault("sandbox_provider", {})
    if "key" not in state:
        authority = load()
        if authority is None:
            raise RuntimeError("the sandbox CA has not been made: flask --app webapp sandbox pki")
        found = authority.key_file(PROVIDER.bin, kind="sign")
        state["key"] = SigningKey.from_pkcs12(found.path, authority.password)
    return state["key"]


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
    return sign_enveloped(messages.build(message), provider_key())


def say(number: str, status: str, **fields) -> inbox.Received:
    """Send the portal a signed provider message through the provider inbox."""
    return inbox.receive(signed_message(number, status, **fields))
