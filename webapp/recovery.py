"""Work a killed background worker left half-done, found and queued again.

Huey on Redis pops a job before running it: a worker killed mid-job (SIGKILL,
the machine lost) takes the job with it. What the jobs claim in the database
says what was in hand: an SMS message in "sending" (webapp/sms/outbox.py)
and an application whose hand-over to the provider is claimed
(`delivery_claimed_at`, webapp/provider/delivery.py). A claim older than
JOBS_STALE_SECONDS (longer than any gateway's or provider's timeout) belongs
to a dead worker: `sweep()` releases it with a conditional UPDATE (so two
sweepers cannot both take it) and queues the job again. The jobs' own
claims then keep it to one send, and the gateway and the provider get the
same idempotency key as on the first attempt.

Also queued again: work whose job never ran at all (a message still
"queued", an application never claimed, older than JOBS_STALE_SECONDS),
within JOBS_SWEEP_WINDOW_SECONDS; a duplicate job is harmless, it finds the
work claimed or done. An SMS carrying a one-time code that has expired
meanwhile is failed instead of sent (the citizen asks for a new code).

It runs every minute as a periodic job and once when `flask jobs worker`
starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import current_app

from webapp import clock
from webapp.extensions import db
from webapp.models import Application, OneTimeCode, SmsMessage
from webapp.jobs import queue
from webapp.provider import delivery
from webapp.sms import gateways, outbox

log = logging.getLogger(__name__)

# Attempts beyond the configured retries a sweep may still add (each one needs a worker killed mid-job).
EXTRA_ATTEMPTS = 2


@dataclass
class Swept:
    """What one sweep did: ids re-queued or given up."""

    sms_requeued: list[int] = field(default_factory=list)
    sms_failed: list[int] = field(default_factory=list)
    deliveries_requeued: list[int] = field(default_factory=list)
    deliveries_given_up: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.sms_requeued, self.sms_failed, self.deliveries_requeued, self.deliveries_given_up))


def sweep(now: dt.datetime | None = None) -> Swept:
    """Re-queue the SMS messages and hand-overs a dead worker left; returns what it did."""
    config = current_app.config
    now = now or clock.now()
    stale = now - dt.timedelta(seconds=config["JOBS_STALE_SECONDS"])
    window = now - dt.timedelta(seconds=config["JOBS_SWEEP_WINDOW_SECONDS"])
    swept = Swept()

    # SMS messages: claimed by a job that never finished, or never claimed by any job.
    max_sms_attempts = config["SMS_SEND_RETRIES"] + 1 + EXTRA_ATTEMPTS
    rows = db.session.execute(
        db.select(SmsMessage.id, SmsMessage.status, SmsMessage.claimed_at, SmsMessage.attempts).where(
            SmsMessage.created_at >= window,
            db.or_(
                db.and_(SmsMessage.status == outbox.SENDING, SmsMessage.claimed_at < stale),
                db.and_(
                    SmsMessage.status == outbox.QUEUED,
                    db.func.coalesce(SmsMessage.claimed_at, SmsMessage.created_at) < stale,
                ),
            ),
        )
    ).all()
    db.session.rollback()
    for row in rows:
        expired = db.session.scalar(
            db.select(db.func.count()).select_from(OneTimeCode).where(
                OneTimeCode.message_id == row.id, OneTimeCode.expires_at <= now
            )
        )
        give_up = expired or row.attempts >= max_sms_attempts
        taken = db.session.execute(
            db.update(SmsMessage)
            .where(SmsMessage.id == row.id, SmsMessage.status == row.status)
            .where(SmsMessage.claimed_at.is_(None) if row.claimed_at is None else SmsMessage.claimed_at == row.claimed_at)
            .values(status=outbox.FAILED if give_up else outbox.QUEUED)
        ).rowcount
        if not taken:  # a job or another sweeper moved it meanwhile
            db.session.rollback()
            continue
        if give_up:
            message = db.session.get(SmsMessage, row.id)
            message.last_error = "code expired before it was sent" if expired else "worker lost it too often"
            gateway = gateways.gateway()
            outbox.finish_redaction(message, keeps_text=bool(gateway and gateway.keeps_text))
            db.session.commit()
            swept.sms_failed.append(row.id)
            log.warning("SMS message %s left by a dead worker: failed (%s)", row.id, message.last_error)
            continue
        db.session.commit()
        queue.enqueue(queue.SEND_SMS, row.id)
        swept.sms_requeued.append(row.id)
        log.warning("SMS message %s left by a dead worker (%s): queued again", row.id, row.status)

    # Hand-overs to the provider: a stale claim, or never claimed at all.
    max_deliveries = config["PROVIDER_RETRIES"] + 1 + EXTRA_ATTEMPTS
    rows = db.session.execute(
        db.select(Application.id, Application.delivery_claimed_at, Application.delivery_attempts).where(
            Application.delivered_at.is_(None),
            Application.submitted_at >= window,
            db.or_(
                Application.delivery_claimed_at < stale,
                db.and_(
                    Application.delivery_claimed_at.is_(None),
                    Application.delivery_attempts == 0,
                    Application.submitted_at < stale,
                ),
            ),
        )
    ).all()
    db.session.rollback()
    for row in rows:
        if row.delivery_claimed_at is not None:
            taken = db.session.execute(
                db.update(Application)
                .where(Application.id == row.id, Application.delivery_claimed_at == row.delivery_claimed_at)
                .values(delivery_claimed_at=None)
            ).rowcount
            db.session.commit()
            if not taken:
                continue
        if row.delivery_attempts >= max_deliveries:
            swept.deliveries_given_up.append(row.id)
            log.error("Application %s: the worker was lost on %s attempts; not queued again", row.id, row.delivery_attempts)
            continue
        delivery.enqueue(row.id)
        swept.deliveries_requeued.append(row.id)
        log.warning("Application %s: hand-over left by a dead worker, queued again", row.id)
    return swept
