"""Receiving the provider's signed messages: verify, apply once, tell the citizen.

The same signed message twice changes nothing (the provider's message id is
unique); the same id with other content is a conflict. Only an
organisation's key of a configured provider (PROVIDER_BINS) with a role
that may sign for it (its head, or a right to sign) is accepted; where both
the BIN's body and the body providing the application's service are known
(PROVIDER_BODIES), they must be the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.exc import IntegrityError

from signing.certificates import ROLE_HEAD, ROLE_RIGHT_TO_SIGN
from signing.verify import HolderType, Purpose, Refused, verify
from signing.xmldsig import BadDocument
from webapp.clock import now
from webapp.extensions import db
from webapp.models import Application, ApplicationStatus, ProviderMessage
from webapp.provider import lifecycle, messages
from webapp.services import find
from webapp.signatures import trust_store
from webapp.sms import codes, outbox

SMS_FOR = (
    ApplicationStatus.DOCUMENTS_REQUESTED, ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.ASSIGNED,
    ApplicationStatus.REFUSED,
)


class UnknownApplication(LookupError):
    """The message names no application the portal has."""


class Conflict(ValueError):
    """A message id the provider used before, for other content."""


@dataclass(frozen=True)
class Received:
    message: ProviderMessage
    duplicate: bool


def receive(signed_xml: bytes) -> Received:
    """Verify and apply one signed provider message."""
    verdict = verify(
        signed_xml,
        trust=trust_store(),
        purpose=Purpose.SIGN,
        holder=HolderType.ORGANISATION,
        revocation=current_app.extensions["signatures"]["revocation"],
        now=now(),
    )
    signer = verdict.signer
    if signer.bin not in current_app.config["PROVIDER_BINS"]:
        raise Refused("another_person", f"BIN {signer.bin} is not a configured service provider")
    if not {ROLE_HEAD, ROLE_RIGHT_TO_SIGN} & set(signer.roles):
        raise Refused("wrong_key_type", "the signer may not sign for the provider")
    try:
        message = messages.parse(verdict.document)
    except BadDocument as error:
        raise Refused("malformed", str(error)) from None
    digest = hashlib.sha256(verdict.document).hexdigest()
    earlier = db.session.scalar(db.select(ProviderMessage).filter_by(message_id=message.id))
    if earlier is not None:
        if earlier.document_sha256 != digest:
            raise Conflict(f"message id {message.id} was used for other content")
        return Received(earlier, duplicate=True)
    application = db.session.scalar(db.select(Application).filter_by(number=message.application))
    if application is None:
        raise UnknownApplication(message.application)
    body, service = body_of(signer.bin), find(application.service_slug)
    known = set(current_app.config.get("PROVIDER_BODIES", {}).values())
    if body and service and service.provider in known and body != service.provider:
        raise Refused("another_person", f"BIN {signer.bin} is {body}, not the provider of {service.slug}")
    row = ProviderMessage(
        message_id=message.id, application_id=application.id, signed_xml=signed_xml, document_sha256=digest,
        signer_name=signer.name, signer_bin=signer.bin, signer_serial=signer.serial, received_at=now(),
    )
    try:
        db.session.add(row)
        db.session.flush()
        lifecycle.record(application, message.status, at=message.at, data=message.data(), provider_message=row)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same message, a moment ago, from another request
        return Received(db.session.scalar(db.select(ProviderMessage).filter_by(message_id=message.id)), True)
    except Exception:
        db.session.rollback()
        raise
    if message.status in SMS_FOR:
        _text_the_citizen(application, message.status)
    return Received(row, duplicate=False)


def body_of(bin: str | None) -> str | None:
    """The body a provider's BIN is, as the service passports name it (an English msgid), if configured."""
    return current_app.config.get("PROVIDER_BODIES", {}).get(bin or "")


def _text_the_citizen(application: Application, status: str) -> None:
    """Decisions and requests also go by SMS to the registered phone, in the application's language."""
    phone = codes.registered_phone(application.iin)
    if not phone:
        return
    with force_locale(application.language):
        service = gettext(find(application.service_slug).short_name)
        texts = {
            ApplicationStatus.DOCUMENTS_REQUESTED: gettext("Qyzmet: more documents are needed for your application %(number)s (%(service)s). See your personal account.", number=application.number, service=service),
            ApplicationStatus.PROVISIONAL_REFUSAL: gettext("Qyzmet: a provisional refusal on your application %(number)s (%(service)s). You can object in your personal account.", number=application.number, service=service),
            ApplicationStatus.ASSIGNED: gettext("Qyzmet: your application %(number)s (%(service)s) is approved. The notification is in your personal account.", number=application.number, service=service),
            ApplicationStatus.REFUSED: gettext("Qyzmet: your application %(number)s (%(service)s) is refused. The reasons are in your personal account.", number=application.number, service=service),
        }
    outbox.queue(phone, texts[status], purpose="decision", iin=application.iin)
