"""The background jobs' bodies, registered on the queue (webapp/jobs/queue.py) under their names.

Sending an SMS and handing an application over are retried with the
settings of the configuration (SMS_SEND_RETRIES, PROVIDER_RETRIES...), read
when the app's Huey is built; the purges run hourly, the sweep every minute
and when a `jobs worker` starts.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping

from flask import Flask
from huey import crontab

from webapp import recovery
from webapp.applications import drafts
from webapp.egov_mobile import sessions as mobile_signings
from webapp.extensions import db
from webapp.jobs import queue
from webapp.jobs.queue import Task
from webapp.models import WebSession
from webapp.provider import delivery
from webapp.requests import drafts as request_drafts
from webapp.sms import codes, outbox

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the production jobs on the app's queue."""
    queue.add_tasks(app, production_tasks)


def production_tasks(config: Mapping) -> Iterable[Task]:
    """The portal's own jobs, with the configuration's retries."""
    return (
        Task(queue.SEND_SMS, send_sms, retries=config["SMS_SEND_RETRIES"], retry_delay=config["SMS_SEND_RETRY_DELAY"],
             final=True),
        Task(queue.PURGE_CODES, codes.purge, every=crontab(minute="17")),
        Task(queue.PURGE_REQUEST_DRAFTS, request_drafts.purge_drafts, every=crontab(minute="47")),
        Task(queue.PURGE_APPLICATION_DRAFTS, drafts.purge_expired, every=crontab(minute="37")),
        # Sessions in the database (no REDIS_URL; Redis expires its own): expired rows go here,
        # not in a citizen's request.
        Task(queue.PURGE_SESSIONS, WebSession.purge_expired, every=crontab(minute="27")),
        Task(queue.PURGE_MOBILE_SIGNINGS, mobile_signings.purge, every=crontab(minute="57")),
        Task(queue.SWEEP, sweep, every=crontab(minute="*"), at_start=True),
        # Handing applications over to the service provider: never twice (delivery.deliver skips a delivered one).
        Task(queue.DELIVER_APPLICATION, delivery.deliver, retries=config["PROVIDER_RETRIES"],
             retry_delay=config["PROVIDER_RETRY_DELAY"], retry_backoff=2, final=True),
    )


def send_sms(message_id: int, redact: str | None = None, *, final: bool = True) -> None:
    """Send one outbox message (webapp/sms/outbox.py)."""
    outbox.deliver(message_id, final=final, redact=redact)


def sweep() -> None:
    """Queue again what a killed worker left half-done (webapp/recovery.py); never stops the worker."""
    try:
        recovery.sweep()
    except Exception:  # noqa: BLE001  (the database may be down; the next minute tries again)
        log.exception("Sweeping for work left by dead workers failed")
        db.session.rollback()
