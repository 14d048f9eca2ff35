"""Request ids, structured logs, one access-log line per request, and
Prometheus metrics at /metrics.

Request id: an incoming `X-Request-ID` is kept when it is a sane token
(nginx's $request_id, a load balancer's), else a new one is made; it is on
`g.request_id`, in the response's `X-Request-ID` and in every log record
written while the request runs (a log record factory, so every handler sees
it, pytest's included).

Logs: JSON (python-json-logger) with LOG_FORMAT=json, the production
default; readable text otherwise. The access line (logger `qyzmet.access`)
has method, path (no query string; 12-digit runs, IIN or BIN shaped, are
masked), status, duration and request id. Probes are not logged.

Metrics: prometheus-flask-exporter counts requests and their latency by
endpoint (not by raw path: bounded cardinality). Under gunicorn with
PROMETHEUS_MULTIPROC_DIR it runs in multiprocess mode (the `child_exit`
hook is in deploy/gunicorn.conf.py) so /metrics sums every worker. Our
own counters: SMS messages sent and failed (webapp/sms/outbox.py),
signatures verified and refused by reason (webapp/signatures.py); and the
queue depth, read from Huey's storage when /metrics is scraped (the queue,
webapp/jobs/queue.py, tells how through `measure_queue`).
/metrics answers only addresses in METRICS_ALLOWED_NETWORKS (loopback by
default) or a request bearing METRICS_TOKEN; anyone else gets a 404.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from functools import wraps

from flask import Flask, abort, current_app, g, has_request_context, request

log = logging.getLogger("qyzmet.access")

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a little punctuation, at most 128: safe to log and echo.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# IINs and BINs are 12 digits; none of our routes needs them, but a path
# typed by hand might carry one.
_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
_NOT_LOGGED = frozenset({"/healthz", "/readyz", "/metrics"})
_HANDLER_MARK = "_qyzmet_handler"
# The request id of a response answered before Flask (webapp/page_cache.py), for its log records.
_outside_flask_request_id: ContextVar[str | None] = ContextVar("qyzmet_request_id", default=None)


# --- request ids and logs ------------------------------------------------------


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _install_record_factory() -> None:
    """Every log record gets `request_id` (None outside a request); installed once per process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_qyzmet", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = g.get("request_id") if has_request_context() else _outside_flask_request_id.get()
        return record

    factory._qyzmet = True
    logging.setLogRecordFactory(factory)


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def text_formatter() -> logging.Formatter:
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure_logging(app: Flask) -> None:
    """One handler on the root logger, JSON or text; replaced, not added, when called again."""
    _install_record_factory()
    if app.testing:
        return  # pytest captures the records itself
    fmt = (app.config.get("LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else text_formatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL") or "INFO")
    # Alembic announces its plugins at INFO each time an app starts.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def incoming_request_id(incoming: str) -> str:
    """The incoming X-Request-ID when it is a sane token, else a new one."""
    return incoming if incoming and _SANE_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()


def _start_request() -> None:
    g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER, ""))
    g.request_started = time.perf_counter()


def _log_access(method: str, path: str, status: int, duration: float | None) -> None:
    if path not in _NOT_LOGGED and log.isEnabledFor(logging.INFO):
        path = _TWELVE_DIGITS.sub("<12 digits>", path)
        log.info(
            "%s %s %s %sms", method, path, status, duration,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration},
        )


def _finish_request(response):
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 2) if started else None
    _log_access(request.method, request.path, response.status_code, duration)
    return response


def record_request(app: Flask, method: str, path: str, status: int, endpoint: str, seconds: float,
                   request_id: str) -> None:
    """A response answered before Flask: the access line and the request metrics Flask's hooks would give."""
    token = _outside_flask_request_id.set(request_id)
    try:
        _log_access(method, path, status, round(seconds * 1000, 2))
    finally:
        _outside_flask_request_id.reset(token)
    metrics = app.extensions.get("metrics")
    if metrics:
        duration, total = metrics["requests"]
        duration.labels(method=method, endpoint=endpoint, status=str(status)).observe(seconds)
        total.labels(method=method, status=str(status)).inc()


# --- metrics ---------------------------------------------------------------------


class _QueueDepth:
    """A gauge read at scrape time: jobs waiting in Huey's storage."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("qyzmet_queue_pending_jobs", "Background jobs waiting in the queue.")
        pending = self.app.extensions.get("queue_pending")
        try:
            if pending is not None:
                family.add_metric([], pending())
        except Exception:  # noqa: BLE001  (a queue that is down is /readyz's news; report no sample)
            pass
        yield family

    def describe(self):
        return []


def _allowed_networks(app: Flask) -> list:
    value = app.config.get("METRICS_ALLOWED_NETWORKS") or ""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [ipaddress.ip_network(network, strict=False) for network in value]


def _guard_metrics(app: Flask):
    """/metrics only for the configured networks or the bearer of METRICS_TOKEN; 404 for anyone else."""
    networks = _allowed_networks(app)
    token = app.config.get("METRICS_TOKEN") or ""

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if token:
                given = request.headers.get("Authorization", "")
                if given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
                    return view(*args, **kwargs)
            try:
                address = ipaddress.ip_address(request.remote_addr or "")
            except ValueError:
                address = None
            if address is not None and any(address in network for network in networks):
                return view(*args, **kwargs)
            abort(404)

        return guarded

    return decorator


def _under_gunicorn_multiprocess() -> bool:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return bool(directory and os.path.isdir(directory) and "gunicorn" in sys.modules)


class _ExtraCollectors:
    """The exporter, plus collectors of our own (the queue depth) in every
    scrape: in multiprocess mode the library builds a fresh registry for
    each scrape, which would leave them out."""

    extra_collectors: tuple = ()

    def generate_metrics(self, accept_header=None, names=None):
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return super().generate_metrics(accept_header, names)
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import choose_encoder
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        for collector in self.extra_collectors:
            registry.register(collector)
        if names:
            registry = registry.restricted_registry(names)
        generate_latest, content_type = choose_encoder(accept_header)
        return generate_latest(registry).decode("utf-8"), content_type


def configure_metrics(app: Flask) -> None:
    from prometheus_client import CollectorRegistry, Counter

    common = {
        "group_by": "endpoint",
        "excluded_paths": ["^/healthz$", "^/readyz$", "^/metrics$", "^/static/"],
        "metrics_decorator": _guard_metrics(app),
        "defaults_prefix": "qyzmet",
    }
    queue_depth = _QueueDepth(app)
    if _under_gunicorn_multiprocess():
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        class Exporter(_ExtraCollectors, GunicornInternalPrometheusMetrics):
            extra_collectors = (queue_depth,)

        exporter = Exporter(app, **common)
        # Values live in PROMETHEUS_MULTIPROC_DIR, summed over the workers at each scrape.
        own_registry = None
    else:
        from prometheus_flask_exporter import PrometheusMetrics

        class Exporter(_ExtraCollectors, PrometheusMetrics):
            extra_collectors = (queue_depth,)

        # A registry per app: tests build several apps in one process.
        own_registry = CollectorRegistry(auto_describe=True)
        own_registry.register(queue_depth)
        exporter = Exporter(app, registry=own_registry, **common)
    # The exporter's own request metrics, for responses answered before Flask (record_request). It
    # keeps them in closures; its registry names them.
    collectors = exporter.registry._names_to_collectors
    app.extensions["metrics"] = {
        "exporter": exporter,
        "requests": (collectors["qyzmet_http_request_duration_seconds"], collectors["qyzmet_http_request_total"]),
        "sms": Counter(
            "qyzmet_sms_messages",
            "SMS messages by outcome (sent, failed, retry) and purpose.",
            ["purpose", "outcome"],
            registry=own_registry,
        ),
        "signatures": Counter(
            "qyzmet_signatures",
            "Citizens' EDS signatures checked: verified, or refused with the reason code.",
            ["purpose", "outcome", "reason"],
            registry=own_registry,
        ),
    }


def count_sms(purpose: str | None, outcome: str) -> None:
    """One SMS message sent, failed or put back for a retry (webapp/sms/outbox.py)."""
    metrics = current_app.extensions.get("metrics")
    if metrics:
        metrics["sms"].labels(purpose or "unknown", outcome).inc()


def count_signature(purpose: str, reason: str | None) -> None:
    """One citizen signature verified (reason None) or refused with `reason` (webapp/signatures.py)."""
    metrics = current_app.extensions.get("metrics")
    if metrics:
        metrics["signatures"].labels(purpose, "refused" if reason else "verified", reason or "").inc()


def measure_queue(app: Flask, pending) -> None:
    """How /metrics reads the jobs waiting in the queue: `pending()` (webapp/jobs/queue.py tells it)."""
    app.extensions["queue_pending"] = pending


def serve_worker_metrics(app: Flask, port: int, address: str = "127.0.0.1") -> None:
    """A jobs worker is not behind gunicorn: it serves its own /metrics (SMS counters, queue) on a port."""
    from prometheus_client import start_http_server

    exporter = app.extensions["metrics"]["exporter"]
    start_http_server(port, addr=address, registry=exporter.registry)


def init_app(app: Flask) -> None:
    configure_logging(app)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    if app.config.get("METRICS_ENABLED", True):
        configure_metrics(app)
