"""The SMS outbox: each message is a row, sent by a background job.

`queue()` writes the row (status "queued") and enqueues the job; it never
waits for the gateway, and never raises because of it. The job calls
`deliver()`, which

- claims the row (queued → sending) in one conditional UPDATE, so two jobs
  for one message, or a retry racing a late one, cannot both send it; a
  job that finds the message sent, failed or being sent does nothing;
- hands it to the gateway with the message's public id as the idempotency
  key, the same on every attempt;
- records the outcome: sent (with the gateway's id), failed (a permanent
  failure, or the last attempt failed) or queued again with the error,
  raising so Huey retries it later.

A message left in "sending" means its worker died mid-send (Huey pops a
job before running it, so a killed worker loses it): webapp/recovery.py
finds claims older than JOBS_STALE_SECONDS, puts the message back in the
queue and queues the job again, with the same idempotency key.

Gateways that do not keep texts (the real one) get the one-time code
blanked out of the stored text once the message is sent or has failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from webapp import clock, observability
from webapp.extensions import db
from webapp.jobs import queue as jobs  # (outbox.queue is this module's own)
from webapp.models import SmsMessage
from webapp.sms import gateways
from webapp.sms.gateways import DeliveryError, PermanentFailure, Sms

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
REDACTED = "••••••"


def new_public_id() -> str:
    return secrets.token_urlsafe(16)


def create(
    phone: str, text: str, *, purpose: str, iin: str | None = None, now: dt.datetime | None = None,
    redact: str | None = None,
) -> SmsMessage:
    """Add a queued message to the session (flushed, not committed); `send()` it after committing.

    `redact`: the one-time code to blank out of the text once it is sent or has failed.
    """
    message = SmsMessage(
        redact=redact,
        public_id=new_public_id(),
        iin=iin,
        phone=phone,
        text=text,
        purpose=purpose,
        status=QUEUED,
        attempts=0,
        created_at=_utc(now or clock.now()),
    )
    db.session.add(message)
    db.session.flush()
    return message


def send(message: SmsMessage, *, redact: str | None = None) -> SmsMessage:
    """Enqueue the job for a committed message; a queue that is down fails the message, not the request.

    `redact`: text to blank out of the stored message once it is sent or has
    failed (the one-time code), unless the gateway keeps texts (the sandbox).
    """
    message_id, purpose = message.id, message.purpose
    try:
        jobs.enqueue(jobs.SEND_SMS, message_id, redact)
    except Exception as error:  # noqa: BLE001  (the queue being down must not break the page)
        log.exception("Could not queue SMS message %s", message_id)
        observability.count_sms(purpose, FAILED)
        db.session.rollback()
        db.session.execute(
            db.update(SmsMessage)
            .where(SmsMessage.id == message_id, SmsMessage.status == QUEUED)
            .values(status=FAILED, last_error=_short(f"could not queue: {error!r}"))
        )
        db.session.commit()
    # The job may already have run (immediate mode, or a quick worker).
    db.session.expire(message)
    return message


def queue(
    phone: str, text: str, *, purpose: str, iin: str | None = None, redact: str | None = None, now: dt.datetime | None = None
) -> SmsMessage:
    """Write a message to the outbox and enqueue its sending; returns the message."""
    message = create(phone, text, purpose=purpose, iin=iin, now=now, redact=redact)
    db.session.commit()
    return send(message, redact=redact)


def deliver(message_id: int, *, final: bool = True, redact: str | None = None) -> str:
    """The send job's body: send one message once; returns its status afterwards.

    `final`: no retry follows this attempt, so a temporary failure fails the
    message. Otherwise a temporary failure puts it back in the queue and
    raises the DeliveryError for the job runner to retry.
    """
    claimed = db.session.execute(
        db.update(SmsMessage)
        .where(SmsMessage.id == message_id, SmsMessage.status == QUEUED)
        .values(status=SENDING, attempts=SmsMessage.attempts + 1, claimed_at=clock.now())
    ).rowcount
    db.session.commit()
    message = db.session.get(SmsMessage, message_id)
    if message is None:
        log.warning("SMS message %s no longer exists", message_id)
        return "missing"
    if not claimed:
        # Sent, failed, or another job is sending it: never twice.
        return message.status

    gateway = gateways.gateway()
    retry_error: DeliveryError | None = None
    try:
        if gateway is None:
            raise PermanentFailure("no SMS gateway is configured")
        gateway_id = gateway.send(Sms(to=message.phone, text=message.text, id=message.public_id))
    except Exception as error:  # noqa: BLE001  (anything unexpected is worth another try)
        permanent = isinstance(error, DeliveryError) and not error.retry
        if not isinstance(error, DeliveryError):
            log.exception("SMS message %s: unexpected error from the gateway", message_id)
        message.last_error = _short(str(error) or repr(error))
        if permanent or final:
            message.status = FAILED
        else:
            message.status = QUEUED
            retry_error = error if isinstance(error, DeliveryError) else DeliveryError(message.last_error)
        log.warning("SMS message %s attempt %s: %s", message_id, message.attempts, message.last_error)
    else:
        message.status = SENT
        message.sent_at = clock.now()
        message.gateway_message_id = str(gateway_id)[:100]
        message.last_error = None
    if message.status in (SENT, FAILED):
        finish_redaction(message, redact, keeps_text=bool(gateway and gateway.keeps_text))
    db.session.commit()
    observability.count_sms(message.purpose, "retry" if retry_error is not None else message.status)
    if retry_error is not None:
        raise retry_error
    return message.status


def finish_redaction(message: SmsMessage, redact: str | None = None, *, keeps_text: bool = False) -> None:
    """Blank the one-time code out of a message that is done with (unless the gateway keeps texts)."""
    redact = redact or message.redact
    if redact and not keeps_text:
        message.text = message.text.replace(redact, REDACTED, 1)
    message.redact = None


def messages(phone: str | None = None, iin: str | None = None, limit: int = 100) -> list[SmsMessage]:
    """Messages in the outbox, newest first, optionally for one phone or IIN."""
    query = db.select(SmsMessage)
    if phone:
        query = query.where(SmsMessage.phone == phone)
    if iin:
        query = query.where(SmsMessage.iin == iin)
    return list(db.session.scalars(query.order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc()).limit(limit)))


def _short(text: str) -> str:
    return text if len(text) <= 300 else text[:299] + "…"


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
