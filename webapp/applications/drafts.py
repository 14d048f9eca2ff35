"""Drafts: an application's answers saved on the server after every step."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import current_app
from sqlalchemy.exc import IntegrityError

from webapp.clock import now
from webapp.extensions import db
from webapp.models import ApplicationDraft, Attachment, CitizenRequest
from webapp.services.fields import FileAnswer, Upload


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["DRAFT_LIFETIME_DAYS"])


def warning_period() -> dt.timedelta:
    return dt.timedelta(days=current_app.config["DRAFT_WARNING_DAYS"])


def find(iin: str, slug: str) -> ApplicationDraft | None:
    """The citizen's live draft for a service; an expired one is deleted, not resumed."""
    draft = db.session.scalar(db.select(ApplicationDraft).filter_by(iin=iin, service_slug=slug))
    if draft is not None and draft.is_expired(now()):
        delete(draft)
        return None
    return draft


def of_citizen(iin: str) -> list[ApplicationDraft]:
    """The citizen's live drafts, most recently changed first."""
    drafts = db.session.scalars(
        db.select(ApplicationDraft).filter_by(iin=iin).order_by(ApplicationDraft.updated_at.desc())
    ).all()
    live = []
    for draft in drafts:
        if draft.is_expired(now()):
            delete(draft)
        else:
            live.append(draft)
    return live


def start(iin: str, slug: str) -> ApplicationDraft:
    """A new, empty draft, replacing any earlier one for the same service."""
    old = db.session.scalar(db.select(ApplicationDraft).filter_by(iin=iin, service_slug=slug))
    if old is not None:
        delete(old)
    moment = now()
    draft = ApplicationDraft(
        iin=iin, service_slug=slug, answers={}, created_at=moment, updated_at=moment, expires_at=moment + lifetime()
    )
    db.session.add(draft)
    try:
        db.session.commit()
    except IntegrityError:
        # A second click of Start raced the first: one draft is enough.
        db.session.rollback()
        return db.session.scalar(db.select(ApplicationDraft).filter_by(iin=iin, service_slug=slug))
    return draft


def save(draft: ApplicationDraft, answers: dict, files: dict[str, FileAnswer] | None = None) -> None:
    """Store a step's answers and files in one transaction; the document to sign changes with them.

    For each file field, the attachments kept are those the form still lists,
    plus the new uploads.
    """
    with committing_files() as files_changed:
        for field_id, answer in (files or {}).items():
            for attachment in [a for a in draft.attachments if a.field == field_id]:
                if attachment.public_id not in answer.kept:
                    files_changed.drop(draft, attachment)
            ids = [a.public_id for a in draft.attachments if a.field == field_id]
            for upload in answer.new:
                ids.append(files_changed.add(draft, field_id, upload).public_id)
            answers[field_id] = ids
        moment = now()
        draft.answers = {**draft.answers, **answers}
        draft.updated_at = moment
        draft.expires_at = moment + lifetime()
        draft.document_nonce = None
        draft.document_issued_at = None
        draft.document_language = None


def fix_document(draft: ApplicationDraft, language: str) -> None:
    """Give the finished application its nonce, issue time and language, once, until an answer changes.

    The language is the page's that issued it: a password asked for on one language's
    page and entered on another's confirms the same document.
    """
    if draft.document_nonce is None:
        draft.document_nonce = secrets.token_hex(16)
        draft.document_issued_at = now().replace(microsecond=0)
        draft.document_language = language
        db.session.commit()


def delete(draft: ApplicationDraft | CitizenRequest) -> None:
    """Delete the draft (an application's, or a request's), its attachments and their files."""
    paths = [attachment_path(a) for a in draft.attachments]
    db.session.delete(draft)
    db.session.commit()
    for path in paths:
        path.unlink(missing_ok=True)


def purge_expired() -> int:
    """Delete every expired draft with its files; how many went.

    For a periodic job: a citizen who never comes back would otherwise keep
    their answers and files on the server past the promised 30 days.
    """
    expired = db.session.scalars(db.select(ApplicationDraft).filter(ApplicationDraft.expires_at <= now())).all()
    for draft in expired:
        delete(draft)
    return len(expired)


def attachments_dir() -> Path:
    folder = Path(current_app.config["ATTACHMENTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def attachment_path(attachment: Attachment) -> Path:
    return attachments_dir() / attachment.stored_name


class FileChanges:
    """The attached files one transaction adds and drops, for `committing_files`."""

    def __init__(self):
        self.written: list[Path] = []
        self.dropped: list[Path] = []

    def add(self, owner: ApplicationDraft | CitizenRequest, field_id: str, upload: Upload) -> Attachment:
        """Store an upload and attach it to the draft."""
        attachment, path = store_file(field_id, upload)
        owner.attachments.append(attachment)
        self.written.append(path)
        return attachment

    def drop(self, owner: ApplicationDraft | CitizenRequest, attachment: Attachment) -> None:
        """Take a file off the draft; the file itself goes once the transaction commits."""
        self.dropped.append(attachment_path(attachment))
        owner.attachments.remove(attachment)


@contextmanager
def committing_files() -> Iterator[FileChanges]:
    """Commit what the block changes, attached files included, all or nothing: on an error the
    session rolls back and the files written go; once committed, the files dropped go."""
    changes = FileChanges()
    try:
        yield changes
        db.session.commit()
    except Exception:
        db.session.rollback()
        for path in changes.written:
            path.unlink(missing_ok=True)
        raise
    for path in changes.dropped:
        path.unlink(missing_ok=True)


def store_file(field_id: str, upload: Upload) -> tuple[Attachment, Path]:
    """Write an upload under a random name in ATTACHMENTS_DIR; its row, for the caller to attach."""
    # A random name: nothing the citizen typed reaches the file system.
    stored_name = secrets.token_hex(20)
    path = attachments_dir() / stored_name
    path.write_bytes(upload.content)
    attachment = Attachment(
        public_id=secrets.token_hex(12),
        field=field_id,
        stored_name=stored_name,
        original_name=upload.original_name,
        content_type=upload.content_type,
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        created_at=now(),
    )
    return attachment, path
