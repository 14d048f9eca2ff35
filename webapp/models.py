"""The portal's own records (registries are read through an adapter)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON, BigInteger, Date, DateTime, ForeignKey, Index, LargeBinary, String, UniqueConstraint, delete, func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.clock import now, wall_now
from webapp.extensions import db


class ApplicationStatus(StrEnum):
    """Where an application stands (webapp/provider/lifecycle.py says which may follow which).

    Stored as its value: a member equals its string, so rows, JSON and URLs keep the plain words.
    """

    SENT = "sent"
    REGISTERED = "registered"
    IN_PROCESSING = "in_processing"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENTS_PROVIDED = "documents_provided"
    PROVISIONAL_REFUSAL = "provisional_refusal"
    OBJECTION = "objection"
    ASSIGNED = "assigned"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class CitizenAccount(db.Model):
    """A citizen's account on the portal, keyed by IIN."""

    __tablename__ = "citizen_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The migrations' server default covers rows written by SQL alone.
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=now, server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class MobilePhone(db.Model):
    """The mobile citizens database: the phone registered for an IIN."""

    __tablename__ = "mobile_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=now, server_default=func.now()
    )


class WebSession(db.Model):
    """A server-side login session; deleting the row ends it."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expiry: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    @classmethod
    def purge_expired(cls) -> int:
        """Delete the sessions past their expiry (a job, and `flask session_cleanup`); how many went."""
        # Real time, not the portal's pinned day: expiry is written from wall_now() too.
        with db.engine.begin() as connection:
            return connection.execute(delete(cls).where(cls.expiry <= wall_now())).rowcount


class ApplicationDraft(db.Model):
    """An application being filled in: answers saved step by step."""

    __tablename__ = "application_drafts"
    __table_args__ = (UniqueConstraint("iin", "service_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12), index=True)
    service_slug: Mapped[str] = mapped_column(String(80))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Fixed when the citizen first sees the finished application, so the
    # document they are asked to sign stays byte-for-byte the same.
    document_nonce: Mapped[str | None] = mapped_column(String(32))
    document_issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The language of the page it was first issued on: the same document on every language's page.
    document_language: Mapped[str | None] = mapped_column(String(5))

    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    def is_expired(self, now: dt.datetime) -> bool:
        return _aware(self.expires_at) <= now

    def expires_within(self, period: dt.timedelta, now: dt.datetime) -> bool:
        return _aware(self.expires_at) - now <= period


class Attachment(db.Model):
    """A file a citizen attached, stored outside static/ under a random name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("application_drafts.id", ondelete="CASCADE"), index=True)
    # Set when the draft is sent: the file then belongs to the application.
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    # Or a file of what the citizen sent about an application (webapp/requests/).
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("citizen_requests.id", ondelete="CASCADE", name="fk_attachments_request_id"), index=True
    )
    field: Mapped[str] = mapped_column(String(80))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)

    draft: Mapped[ApplicationDraft | None] = relationship(back_populates="attachments")
    application: Mapped["Application | None"] = relationship(back_populates="attachments")


class Application(db.Model):
    """A signed application handed to the service provider, with its proof of signing."""

    __tablename__ = "applications"
    # History of Services pages through a citizen's applications newest first,
    # and validates its list from the newest version and the highest id.
    __table_args__ = (
        Index("ix_applications_iin_submitted_at_id", "iin", "submitted_at", "id"),
        Index("ix_applications_iin_version", "iin", "version"),
        Index("ix_applications_iin_id", "iin", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The registration number the citizen quotes; given once the row exists.
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    iin: Mapped[str] = mapped_column(String(12), index=True)
    service_slug: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(2))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    # The nonce of the issued document: one application per signed document.
    document_nonce: Mapped[str] = mapped_column(String(32), unique=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    document_sha256: Mapped[str] = mapped_column(String(64))
    signed_xml: Mapped[bytes] = mapped_column(LargeBinary)
    signed_with: Mapped[str] = mapped_column(String(8))  # "eds" or "sms"
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_serial: Mapped[str] = mapped_column(String(64))
    signer_issuer: Mapped[str] = mapped_column(String(300))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The revocation answer the verdict relied on, kept as evidence.
    revocation_method: Mapped[str | None] = mapped_column(String(8))
    revocation_checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_response: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(32), default=ApplicationStatus.SENT, index=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    # When the provider's system took the application (the hand-over job).
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The hand-over job holding it right now (None between attempts), and how many attempts
    # began: a claim older than JOBS_STALE_SECONDS belongs to a killed worker (webapp/recovery.py).
    delivery_claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    registered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # A deadline the citizen has to meet: documents to provide, or an objection to make.
    citizen_due_on: Mapped[dt.date | None] = mapped_column(Date)
    # Changes whenever the application or its notifications change: the history page's ETag.
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")

    attachments: Mapped[list[Attachment]] = relationship(back_populates="application", order_by="Attachment.id")


class UsedLoginChallenge(db.Model):
    """A signed login challenge already used: each logs in once."""

    __tablename__ = "used_login_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    used_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# ── SMS: the outbox and one-time codes (webapp/sms/) ──────────────────────


class SmsMessage(db.Model):
    """A text message in the outbox: a background job sends it through the SMS gateway.

    status: queued → sending → sent | failed ("sending" while one job holds it,
    so a duplicate or retried job never sends it twice).
    """

    __tablename__ = "sms_messages"
    __table_args__ = (UniqueConstraint("public_id", name="uq_sms_messages_public_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Also the idempotency key the gateway sees on every attempt.
    public_id: Mapped[str] = mapped_column(String(32))
    iin: Mapped[str | None] = mapped_column(String(12), index=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(db.Text)
    purpose: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    gateway_message_id: Mapped[str | None] = mapped_column(String(100))
    # When the last attempt claimed it: "sending" with an old claim means the worker died (webapp/recovery.py).
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The one-time code to blank out of the text once sent or failed; kept on the row (not only
    # in the job's arguments) so a job re-queued after a worker died still blanks it.
    redact: Mapped[str | None] = mapped_column(String(32))


class OneTimeCode(db.Model):
    """A one-time code sent by SMS, bound to a citizen, a purpose and one document.

    Only an HMAC of the code is kept (webapp/sms/codes.py says why).
    """

    __tablename__ = "one_time_codes"
    __table_args__ = (
        UniqueConstraint("public_id", name="uq_one_time_codes_public_id"),
        db.Index("ix_one_time_codes_iin_created_at", "iin", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The challenge's id in URLs and forms: random, unguessable.
    public_id: Mapped[str] = mapped_column(String(32))
    iin: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(40))
    document_sha256: Mapped[str] = mapped_column(String(64))
    # What the code confirms ("application:<service>", "request:<id>"): a code entered for
    # something else is told as that, not as a changed document. None for a phone number.
    subject: Mapped[str | None] = mapped_column(String(80))
    code_hash: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    # The SMS that carried the code: its status tells the citizen whether it was sent.
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_messages.id", ondelete="SET NULL", name="fk_one_time_codes_message_id"), index=True
    )

    message: Mapped[SmsMessage | None] = relationship()


class SmsFailure(db.Model):
    """A wrong one-time code entered: enough of them in a day lock SMS codes for the citizen."""

    __tablename__ = "sms_failures"
    __table_args__ = (db.Index("ix_sms_failures_iin_at", "iin", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ProactiveOffer(db.Model):
    """A service the provider offered a citizen by SMS, and what became of it."""

    __tablename__ = "proactive_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)  # quoted in the SMS
    iin: Mapped[str] = mapped_column(String(12), index=True)
    service_slug: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(16), index=True)
    language: Mapped[str] = mapped_column(String(2))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # what the offer fills in
    # offered → sent (an application) | declined | needs_iban (the reply's IBAN was not theirs) | apply_online
    # (it cannot be done by SMS, or a draft waits on the portal) | already_sent | expired
    status: Mapped[str] = mapped_column(String(16), default="offered")
    offered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))


class ApplicationEvent(db.Model):
    """One step in an application's life, stamped and kept: the timeline."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    # What the step carries: reason, amount, period, documents, deadlines (ISO strings).
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    provider_message_id: Mapped[int | None] = mapped_column(ForeignKey("provider_messages.id"))


class ProviderMessage(db.Model):
    """A signed message from the service provider, kept as received with its verdict."""

    __tablename__ = "provider_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # the provider's id: a message counts once
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    signed_xml: Mapped[bytes] = mapped_column(LargeBinary)
    document_sha256: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_bin: Mapped[str | None] = mapped_column(String(12))
    signer_serial: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)


class Notification(db.Model):
    """What the citizen is told in History of Services, rendered in their language from `data`."""

    __tablename__ = "notifications"
    # The unread count in every page's header.
    __table_args__ = (Index("ix_notifications_iin_read_at", "iin", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    iin: Mapped[str] = mapped_column(String(12), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    provider_message_id: Mapped[int | None] = mapped_column(ForeignKey("provider_messages.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# ── What citizens send about an application (webapp/requests/) ──


class CitizenRequest(db.Model):
    """Something a citizen signed and sent: an objection, documents, a complaint or a malfunction report.

    kind: "objection" (O-…), "documents" (D-…), "complaint" (C-…), "malfunction" (T-…).
    status: draft (being written; its document is fixed until the text or
    files change; never listed) → sent (signed and handed to its addressee)
    → received (the addressee registered it) → answered (the addressee
    replied; complaints and malfunction reports). The number is given when it
    is signed.
    """

    __tablename__ = "citizen_requests"
    __table_args__ = (
        UniqueConstraint("public_id", name="uq_citizen_requests_public_id"),
        UniqueConstraint("number", name="uq_citizen_requests_number"),
        UniqueConstraint("document_nonce", name="uq_citizen_requests_document_nonce"),
        db.Index("ix_citizen_requests_iin_created_at", "iin", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The draft's id in URLs: random, unguessable.
    public_id: Mapped[str] = mapped_column(String(32))
    number: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))
    iin: Mapped[str] = mapped_column(String(12))
    # None for a malfunction report not about one application.
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", name="fk_citizen_requests_application_id"), index=True
    )
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(db.Text, default="")
    # What the kind adds: the service of a malfunction report, the decision complained about, an answer.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # The canonical XML the citizen is shown and signs (webapp/requests/document.py).
    document_nonce: Mapped[str | None] = mapped_column(String(32))
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    signed_with: Mapped[str | None] = mapped_column(String(8))  # "eds" or "sms"
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signer_serial: Mapped[str | None] = mapped_column(String(64))
    revocation_method: Mapped[str | None] = mapped_column(String(8))
    revocation_checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_response: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        cascade="all, delete-orphan", order_by="Attachment.id", foreign_keys="Attachment.request_id"
    )


# ── eGov Mobile: one-time signing sessions (webapp/egov_mobile/) ───────────


class MobileSigning(db.Model):
    """One document offered to the eGov Mobile app to sign, once, for a few minutes.

    In the database, not in a process, so whichever instance the app reaches
    answers it. The app's bearer token is not stored: it is derived from the
    public id with SECRET_KEY (webapp/egov_mobile/sessions.py).
    """

    __tablename__ = "mobile_signings"
    __table_args__ = (
        UniqueConstraint("public_id", name="uq_mobile_signings_public_id"),
        Index("ix_mobile_signings_iin_created_at", "iin", "created_at"),
        Index("ix_mobile_signings_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # In the QR code and the links: random, unguessable.
    public_id: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(20))  # sign_application, sign_request, log_in
    # What is signed: "application:<service>", "request:<draft id>", "login".
    subject: Mapped[str] = mapped_column(String(80))
    # Whose signature it must be; None for logging in (the key says who).
    iin: Mapped[str | None] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(2))
    # What the app calls the document, in kk, ru and en.
    names: Mapped[dict] = mapped_column(JSON, default=dict)
    document: Mapped[bytes] = mapped_column(LargeBinary)
    document_sha256: Mapped[str] = mapped_column(String(64))
    # Logging in: the EDS login challenge's token the document was built from.
    challenge: Mapped[str | None] = mapped_column(String(300))
    # waiting, signed (the app sent a good signature), done (the browser used it), cancelled.
    state: Mapped[str] = mapped_column(String(12), default="waiting")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    signed_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    signer_iin: Mapped[str | None] = mapped_column(String(12))
    # The last reason a signature from the app was refused, for the citizen's page.
    refusal: Mapped[str | None] = mapped_column(String(40))
    refusals: Mapped[int] = mapped_column(default=0, server_default="0")
