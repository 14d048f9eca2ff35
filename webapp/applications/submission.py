"""Sending a signed application: verify, store with its proof, hand over once.

A failure before the commit leaves the draft as it was; the same signed
document sent twice (a double click, a retried request) gives one
application, because the document's nonce is unique among applications.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Mapping

from sqlalchemy.exc import IntegrityError

from signing.verify import Purpose, Refused, Verdict
from webapp.applications.filling import ApplicationInProgress
from webapp.clock import now, today
from webapp.extensions import db
from webapp.models import Application, ApplicationEvent, ApplicationStatus, Attachment
from webapp.provider import delivery
from webapp.signatures import verify_citizen
from webapp.sms import codes
from webapp.sms.signing import SMS_CONFIRMATION, countersign
from webapp.working_days import calendar

log = logging.getLogger(__name__)


def send(application: ApplicationInProgress, signed_xml: bytes) -> Application:
    """Verify the citizen's EDS signature over the issued document and store the application."""
    issued = application.document().to_xml()
    verdict = verify_citizen(signed_xml, issued=issued, purpose=Purpose.SIGN, iin=application.person.iin)
    return _store(application, verdict.document, signed_xml, "eds", _signer_columns(verdict))


def send_confirmed_by_sms(application: ApplicationInProgress, issued: bytes, confirmation: Mapping[str, str],
                          statement: str = SMS_CONFIRMATION) -> Application:
    """The citizen confirmed the issued document from their phone (an SMS password,
    or consent to a proactive offer): the portal signs it with its own key,
    stating how it was confirmed, and stores it."""
    signed = countersign(issued, confirmation, statement)
    signer = {
        "signer_name": signed.signer_name,
        "signer_serial": signed.signer_serial,
        "signer_issuer": signed.signer_issuer,
        "signed_at": now(),
    }
    return _store(application, issued, signed.signed_xml, "sms", signer)


def sent_by_sms(challenge: codes.Challenge) -> Application | None:
    """The application a used password already sent (a second click, a retried request)."""
    return db.session.scalar(
        db.select(Application).filter_by(iin=challenge.iin, document_sha256=challenge.document_sha256, signed_with="sms")
    )


def _store(application: ApplicationInProgress, document: bytes, signed_xml: bytes, signed_with: str,
           signer: Mapping) -> Application:
    """Store the signed application and hand the draft's files to it, all or nothing."""
    draft = application.draft
    record = Application(
        iin=application.person.iin,
        service_slug=application.passport.slug,
        language=application.document_language,
        answers=application.progress.relevant_answers(),
        document_nonce=draft.document_nonce,
        document=document,
        document_sha256=hashlib.sha256(document).hexdigest(),
        signed_xml=signed_xml,
        signed_with=signed_with,
        submitted_at=now(),
        due_on=due_date(application.passport.term),
        status=ApplicationStatus.SENT,
        **signer,
    )
    try:
        db.session.add(record)
        db.session.flush()
        record.number = registration_number(record)
        db.session.add(ApplicationEvent(application_id=record.id, status=ApplicationStatus.SENT, at=record.submitted_at, data={}))
        # The files now belong to the application, so deleting the draft keeps them.
        db.session.execute(
            db.update(Attachment).where(Attachment.draft_id == draft.id).values(application_id=record.id, draft_id=None)
        )
        db.session.expire(draft, ["attachments"])
        db.session.delete(draft)
        db.session.commit()
    except IntegrityError:
        # The same document was sent a moment ago by another request.
        db.session.rollback()
        existing = db.session.scalar(db.select(Application).filter_by(document_nonce=draft.document_nonce))
        if existing is None or existing.iin != application.person.iin:
            raise
        return existing
    except Exception:
        db.session.rollback()
        raise
    _hand_over(record)
    return record


def _hand_over(record: Application) -> None:
    """Queue the hand-over to the provider; a queue that is down must not break the page (the application is stored)."""
    try:
        delivery.enqueue(record.id)
    except Exception:  # noqa: BLE001
        log.exception("Could not queue the delivery of application %s to the provider", record.number)
    db.session.expire(record)  # the job may already have run (immediate mode, or a quick worker)


def already_sent(iin: str, signed_xml: bytes) -> Application | None:
    """The application this signed document already made, when the draft is gone.

    The signature must still be the citizen's own and valid; the stored
    document must be exactly what was signed.
    """
    try:
        verdict = verify_citizen(signed_xml, issued=None, purpose=Purpose.SIGN, iin=iin)
    except Refused:
        return None
    if verdict.nonce is None:
        return None
    found = db.session.scalar(db.select(Application).filter_by(document_nonce=verdict.nonce, iin=iin))
    if found is None or found.document != verdict.document:
        return None
    return found


def due_date(term) -> dt.date:
    """When the decision is due: working days from today, or today for a service done in minutes."""
    if term.portal_minutes:
        return today()
    return calendar().add(today(), term.working_days)


def registration_number(record: Application) -> str:
    """The number the citizen quotes: the year and the application's sequence."""
    return f"{record.submitted_at:%Y}-{record.id:07d}"


def _signer_columns(verdict: Verdict) -> dict:
    signer = verdict.signer
    evidence = verdict.revocation
    return {
        "signer_name": signer.name,
        "signer_serial": signer.serial,
        "signer_issuer": signer.issuer,
        "signed_at": signer.signed_at,
        "revocation_method": evidence.method if evidence else None,
        "revocation_checked_at": evidence.checked_at if evidence else None,
        "revocation_response": evidence.response if evidence else None,
    }
