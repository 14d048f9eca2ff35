"""Sending a signed request: numbered and stored with the application's step, once and all or nothing.

Signed the two ways applications are: EDS through NCALayer (verified against
the issued document), or an SMS password after which the portal signs with
its own key and states how the citizen confirmed (webapp/sms/signing.py).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import force_locale, gettext as _

from signing.verify import Purpose, Refused
from webapp.clock import now
from webapp.extensions import db
from webapp.models import Application, ApplicationEvent, ApplicationStatus, CitizenRequest
from webapp.provider import lifecycle
from webapp.signatures import verify_citizen
from webapp.requests.kinds import ADVANCES, DECISIONS, PREFIXES, aware


class Closed(Exception):
    """The request can no longer be sent (a deadline passed, or the provider moved on)."""


def send(draft: CitizenRequest, signed_xml: bytes, signed_with: str, signer: dict) -> CitizenRequest:
    """Number and store the signed request and take the application's step, once and all or nothing."""
    moment = now()
    number = f"{PREFIXES[draft.kind]}-{moment:%Y}-{draft.id:07d}"
    try:
        taken = db.session.execute(
            db.update(CitizenRequest)
            .where(CitizenRequest.id == draft.id, CitizenRequest.status == "draft")
            .values(status="sent", number=number, sent_at=moment, updated_at=moment, signed_xml=signed_xml,
                    signed_with=signed_with, **signer)
            .execution_options(synchronize_session=False)
        ).rowcount
        application = db.session.get(Application, draft.application_id) if draft.application_id else None
        if taken and draft.kind in ("objection", "documents"):
            step = ApplicationStatus.OBJECTION if draft.kind == "objection" else ApplicationStatus.DOCUMENTS_PROVIDED
            lifecycle.record(application, step, at=moment, data={"request": number})
        elif taken and application is not None:
            # The application's page lists it: a new version, like any change the page shows.
            lifecycle.touch(application)
        db.session.commit()
    except lifecycle.NotAllowed:
        db.session.rollback()
        raise Closed() from None
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(draft)
    return draft


def eds_signer(draft: CitizenRequest, signed_xml: bytes) -> dict:
    """The signer's columns of a request signed with EDS over its issued document; Refused says why not
    ("replayed" for the signature of a request sent before)."""
    try:
        verdict = verify_citizen(signed_xml, issued=draft.document, purpose=Purpose.SIGN, iin=draft.iin)
    except Refused as refusal:
        if refusal.reason == "document_mismatch" and sent_with(draft.iin, signed_xml):
            raise Refused("replayed", refusal.detail) from None
        raise
    evidence = verdict.revocation
    return {
        "signer_name": verdict.signer.name,
        "signer_serial": verdict.signer.serial,
        "revocation_method": evidence.method if evidence else None,
        "revocation_checked_at": evidence.checked_at if evidence else None,
        "revocation_response": evidence.response if evidence else None,
    }


def sent_with(iin: str, signed_xml: bytes) -> bool:
    """Whether these exact signed bytes already sent one of the citizen's requests."""
    return db.session.scalar(
        db.select(CitizenRequest.id).filter(CitizenRequest.iin == iin, CitizenRequest.status != "draft",
                                            CitizenRequest.signed_xml == signed_xml)
    ) is not None


def sms_text(draft: CitizenRequest):
    number = draft.application.number if draft.application else ""

    def text(code: str) -> str:
        with force_locale(draft.language):
            texts = {
                "objection": lambda: _("Code %(code)s to sign your objection on application %(number)s; do not share it with anyone.", code=code, number=number),
                "documents": lambda: _("Code %(code)s to sign the documents for application %(number)s; do not share it with anyone.", code=code, number=number),
                "complaint": lambda: _("Code %(code)s to sign your complaint about application %(number)s; do not share it with anyone.", code=code, number=number),
                "malfunction": lambda: _("Code %(code)s to sign your technical malfunction report; do not share it with anyone.", code=code),
            }
            return texts[draft.kind]()

    return text


def decision_referring(sent: CitizenRequest) -> ApplicationEvent | None:
    """The provider's decision that refers to this objection, once there is one."""
    if sent.kind != "objection" or sent.application_id is None:
        return None
    events = db.session.scalars(
        db.select(ApplicationEvent)
        .filter(ApplicationEvent.application_id == sent.application_id, ApplicationEvent.status.in_(DECISIONS))
        .order_by(ApplicationEvent.at, ApplicationEvent.id)
    ).all()
    return next((e for e in events if (e.data or {}).get("objection") == sent.number), None)


def advance(sent: CitizenRequest, status: str, *, at: dt.datetime, answer: str | None = None) -> None:
    """A complaint or malfunction report registered ("received") or answered by its addressee.

    Adds to the session; the caller commits.
    """
    if sent.kind not in ("complaint", "malfunction") or status not in ADVANCES.get(sent.status, set()):
        raise ValueError(f"a {sent.kind} that is {sent.status} cannot become {status}")
    sent.status = status
    sent.updated_at = at
    data = dict(sent.data or {})
    data[f"{status}_at"] = aware(at).isoformat()
    if answer:
        data["answer"] = answer
    sent.data = data
