"""Handing a sent application over to the service provider's system.

`enqueue()` queues the background job (webapp/jobs/tasks.py) that calls
`deliver()` once the application is stored; the provider answers later, with signed
messages to /provider/messages (webapp/provider/inbox.py).

An adapter has one method, `deliver(handover) -> the provider's reference`,
and says how a failure should be treated by raising `PermanentFailure` (do
not retry: refused, wrong credentials, no such service) or
`TemporaryFailure` (retry later: down, slow, overloaded). Adapters
(PROVIDER_GATEWAY):

- `sandbox`: the sandbox plug-in's (webapp/sandbox/gateways.py), registered
  through `register_gateway`: the operator console is its system. Never in
  production.
- `http` (`HttpProvider`): the provider's HTTP API at PROVIDER_URL: a POST
  of the signed application XML exactly as stored (`Application.signed_xml`,
  application/xml), with HTTP basic auth (PROVIDER_USER, PROVIDER_PASSWORD)
  and the application number as the `Idempotency-Key`, the same on every
  attempt, so the provider can drop a duplicate. 2xx: delivered; 4xx: a
  permanent failure, except 408 and 429, which ask to come back later; 5xx,
  timeouts and network errors: temporary; a redirect is not followed (a
  POST would lose its body) and is a permanent failure.
- `none` (production without PROVIDER_URL): nothing is handed over; the
  job logs an error and leaves the application undelivered.

Never twice: an application with `delivered_at` set is skipped, and a job
first claims the application (`delivery_claimed_at`, one conditional
UPDATE), so two jobs for one application never post it at once; an attempt
that fails releases the claim. A claim older than JOBS_STALE_SECONDS belongs
to a killed worker: webapp/recovery.py queues the job again. The
idempotency key makes a repeat harmless at the provider anyway (a worker
killed after the provider took it, before `delivered_at` was written).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from flask import Flask, current_app

from webapp import clock
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.jobs import queue
from webapp.models import Application
from webapp.outbound import DeliveryError, PermanentFailure, Poster, TemporaryFailure

log = logging.getLogger(__name__)

DELIVERED, ALREADY_DELIVERED, FAILED, MISSING = "delivered", "already-delivered", "failed", "missing"
BUSY = "busy"  # another job holds the claim right now

@dataclass(frozen=True)
class Handover:
    """One application as the provider's system receives it."""

    application_id: int
    number: str  # the registration number: also the idempotency key
    service_slug: str
    signed_xml: bytes


class ProviderGateway(Protocol):
    name: str

    def deliver(self, handover: Handover) -> str:
        """Hand the application over; return the provider's reference for it, or raise DeliveryError."""
        ...

    def delivered(self, handover: Handover) -> None:
        """Called once the delivery is recorded (committed)."""
        ...


class HttpProvider:
    """The provider's HTTP API: the signed application XML, POSTed with basic auth."""

    name = "http"

    def __init__(self, url: str, user: str | None = None, password: str | None = None, timeout: float = 30):
        if not url:
            raise ValueError("HttpProvider needs the provider's URL")
        self.url = url
        self.timeout = timeout
        self._poster = Poster(url, user, password, timeout, who="provider")

    def __repr__(self) -> str:  # never the password
        return f"HttpProvider({self.url!r})"

    def deliver(self, handover: Handover) -> str:
        headers = {
            "Content-Type": "application/xml; charset=utf-8",
            "Accept": "*/*",
            "Idempotency-Key": handover.number,
            "X-Application-Number": handover.number,
            "X-Service": handover.service_slug,
        }
        payload = self._poster.post(handover.signed_xml, headers)
        return " ".join(payload.decode("utf-8", "replace").split())[:100] or handover.number

    def delivered(self, handover: Handover) -> None:
        pass


Factory = Callable[[Mapping], ProviderGateway]


def register_gateway(app: Flask, kind: str, factory: Factory) -> None:
    """A plug-in's adapter, chosen by PROVIDER_GATEWAY=kind."""
    app.extensions.setdefault("provider_gateway_kinds", {})[kind] = factory


def from_config(config: Mapping, kinds: Mapping[str, Factory] | None = None) -> ProviderGateway | None:
    """The adapter PROVIDER_GATEWAY names; None for "none". `kinds`: the adapters plug-ins add."""
    kind = (config.get("PROVIDER_GATEWAY") or "none").lower()
    kinds = kinds or {}
    if kind in kinds:
        return kinds[kind](config)
    if kind == "http":
        if not config.get("PROVIDER_URL"):
            raise ConfigError("PROVIDER_GATEWAY=http needs PROVIDER_URL")
        return HttpProvider(
            config["PROVIDER_URL"],
            config.get("PROVIDER_USER"),
            config.get("PROVIDER_PASSWORD"),
            timeout=config.get("PROVIDER_TIMEOUT", 30),
        )
    if kind == "none":
        return None
    raise ConfigError(f"PROVIDER_GATEWAY must be {', '.join([*kinds, 'http'])} or none, not {kind!r}")


def gateway() -> ProviderGateway | None:
    """The app's provider adapter, built from the configuration on first use."""
    extensions = current_app.extensions
    if "provider_gateway" not in extensions:
        extensions["provider_gateway"] = from_config(current_app.config, extensions.get("provider_gateway_kinds"))
    return extensions["provider_gateway"]


def enqueue(application_id: int) -> None:
    """Queue the job that hands one stored application over (the job calls `deliver`).

    Retries (PROVIDER_RETRIES, the first PROVIDER_RETRY_DELAY seconds later,
    doubling) are read when the job is queued.
    """
    config = current_app.config
    queue.enqueue(queue.DELIVER_APPLICATION, application_id, retries=config["PROVIDER_RETRIES"],
                  retry_delay=config["PROVIDER_RETRY_DELAY"])


def deliver(application_id: int, *, final: bool = True) -> str:
    """The delivery job's body: hand one application over once; returns what happened.

    `final`: no retry follows this attempt, so a temporary failure is logged
    as the end. Otherwise a temporary failure raises for the job runner to
    retry (the same idempotency key next time).
    """
    application = db.session.get(Application, application_id)
    if application is None:
        log.warning("Application %s no longer exists; nothing to deliver", application_id)
        return MISSING
    if application.delivered_at is not None:
        return ALREADY_DELIVERED
    handover = Handover(application.id, application.number, application.service_slug, application.signed_xml)
    db.session.rollback()  # hold no transaction open while the provider answers
    claimed_at = clock.now()
    stale = claimed_at - dt.timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    claimed = db.session.execute(
        db.update(Application)
        .where(
            Application.id == application_id,
            Application.delivered_at.is_(None),
            db.or_(Application.delivery_claimed_at.is_(None), Application.delivery_claimed_at < stale),
        )
        .values(delivery_claimed_at=claimed_at, delivery_attempts=Application.delivery_attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        delivered = db.session.scalar(db.select(Application.delivered_at).where(Application.id == application_id))
        return ALREADY_DELIVERED if delivered is not None else BUSY
    outcome = None
    try:
        outcome = _hand_over(handover, final=final)
        return outcome
    finally:
        if outcome != DELIVERED:  # failed, or raised for a retry: the next job may claim it
            db.session.rollback()
            db.session.execute(
                db.update(Application)
                .where(Application.id == application_id, Application.delivery_claimed_at == claimed_at)
                .values(delivery_claimed_at=None)
            )
            db.session.commit()


def _hand_over(handover: Handover, *, final: bool) -> str:
    """Post the claimed application to the provider and record it delivered."""
    try:
        adapter = gateway()
    except Exception as error:  # noqa: BLE001  (a configuration error: no retry will mend it)
        log.error("Application %s was not delivered to the provider: %s", handover.number, error)
        return FAILED
    try:
        if adapter is None:
            raise PermanentFailure("no provider gateway is configured (PROVIDER_GATEWAY=none)")
        reference = adapter.deliver(handover)
    except Exception as error:  # noqa: BLE001  (anything unexpected is worth another try)
        if not isinstance(error, DeliveryError):
            log.exception("Application %s: unexpected error handing it over", handover.number)
            error = TemporaryFailure(str(error) or repr(error))
        if not error.retry or final:
            log.error("Application %s was not delivered to the provider: %s", handover.number, error)
            return FAILED
        log.warning("Application %s: delivery will be retried: %s", handover.number, error)
        raise error
    updated = db.session.execute(
        db.update(Application)
        .where(Application.id == handover.application_id, Application.delivered_at.is_(None))
        .values(delivered_at=clock.now(), delivery_claimed_at=None)
    ).rowcount
    db.session.commit()
    if not updated:
        return ALREADY_DELIVERED  # recorded a moment ago (by a job that took over a stale claim)
    log.info("Application %s delivered to the provider (%s)", handover.number, reference)
    adapter.delivered(handover)
    return DELIVERED
