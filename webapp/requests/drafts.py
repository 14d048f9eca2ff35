"""Unsigned requests: the citizen's text and files as a draft row, and the document they sign.

The document a draft shows (and an SMS password is bound to) is fixed until
its text or files change, so a signature covers exactly what was issued
(webapp/requests/document.py). Drafts not changed for DRAFT_LIFETIME_DAYS go
with their files (`purge_drafts`, a periodic job).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app

from webapp.applications.drafts import committing_files
from webapp.applications.drafts import delete as delete_with_files
from webapp.clock import now
from webapp.extensions import db
from webapp.registries import Person
from webapp.models import Application, ApplicationEvent, Attachment, CitizenRequest
from webapp.requests.document import AttachedFile, RequestDocument
from webapp.services import find
from webapp.services.fields import Upload
from webapp.requests.kinds import aware, referred_step


def draft_lifetime() -> dt.timedelta:
    """Unsigned requests are kept as long as drafts of applications (DRAFT_LIFETIME_DAYS)."""
    return dt.timedelta(days=current_app.config["DRAFT_LIFETIME_DAYS"])


def draft_for(iin: str, kind: str, application: Application | None) -> CitizenRequest | None:
    """The citizen's unsigned request of this kind about this application (one at a time);
    a malfunction report's whichever application it names."""
    query = db.select(CitizenRequest).filter_by(iin=iin, kind=kind, status="draft")
    if kind != "malfunction":
        query = query.filter_by(application_id=application.id if application else None)
    draft = db.session.scalar(query.order_by(CitizenRequest.id.desc()))
    if draft is not None and aware(draft.updated_at) < now() - draft_lifetime():
        delete_with_files(draft)
        return None
    return draft


def purge_drafts() -> int:
    """Delete unsigned requests not changed for DRAFT_LIFETIME_DAYS, with their files; how many went.

    For a periodic job; a citizen's own stale draft also goes when they open its form again.
    """
    stale = db.session.scalars(
        db.select(CitizenRequest).filter(
            CitizenRequest.status == "draft", CitizenRequest.updated_at < now() - draft_lifetime()
        )
    ).all()
    for draft in stale:
        delete_with_files(draft)
    return len(stale)


def save_draft(citizen: Person, language: str, draft: CitizenRequest | None, kind: str, application: Application | None,
               values: dict, kept: list[Attachment], uploads: list[Upload]) -> CitizenRequest:
    """Store the citizen's request, in the page's language, as an unsigned draft with a newly issued document."""
    moment = now()
    refers_to = referred_step(application, kind)
    with committing_files() as files:
        if draft is None:
            draft = CitizenRequest(
                public_id=secrets.token_hex(16), kind=kind, iin=citizen.iin, status="draft", created_at=moment,
                data={}, text="", language=language,
            )
            db.session.add(draft)
        draft.application_id = application.id if application else None
        draft.application = application
        for attachment in list(draft.attachments):
            if attachment not in kept:
                files.drop(draft, attachment)
        for upload in uploads:
            files.add(draft, "files", upload)
        draft.text = values.get("text", "")
        draft.data = {k: v for k, v in values.items() if k != "text" and v}
        if refers_to is not None:
            draft.data["refers_to"] = {"status": refers_to.status, "at": aware(refers_to.at).isoformat()}
        draft.language = language
        draft.updated_at = moment
        issue_document(draft, citizen, refers_to)
    return draft


def issue_document(draft: CitizenRequest, citizen: Person, refers_to: ApplicationEvent | None) -> None:
    """A new nonce and issue time, and the document built from them: a changed request is a new document."""
    application = draft.application
    service = find(draft.data.get("service", "")) if draft.kind == "malfunction" else None
    document = RequestDocument(
        kind=draft.kind,
        language=draft.language,
        iin=draft.iin,
        name=citizen.name(draft.language).full,
        text=draft.text,
        nonce=secrets.token_hex(16),
        issued_at=now().replace(microsecond=0),
        application_number=application.number if application else None,
        application_service=application.service_slug if application else None,
        service_slug=service.slug if service else None,
        service_name=service.short_name if service else None,
        refers_to_status=refers_to.status if refers_to else None,
        refers_to_at=aware(refers_to.at) if refers_to else None,
        addressee=draft.data.get("addressee") if draft.kind == "complaint" else None,
        attachments=tuple(
            AttachedFile(a.public_id, a.original_name, a.content_type, a.size, a.sha256) for a in draft.attachments
        ),
    )
    draft.document = document.to_xml()
    draft.document_nonce = document.nonce
    draft.document_sha256 = hashlib.sha256(draft.document).hexdigest()
