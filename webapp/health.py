"""Health probes for the process manager and the load balancer.

- `/healthz`: the process is alive and serving; touches nothing else, so a
  database outage does not get healthy processes restarted.
- `/readyz`: this instance can do its work: the database answers `SELECT 1`,
  Redis answers PING (when REDIS_URL is set) and the job queue's storage
  answers (Huey's pending count). 200 when all pass, 503 when any fails, with
  a small JSON body naming each check. Timeouts are short (READY_TIMEOUT for
  Redis, DATABASE_CONNECT_TIMEOUT for PostgreSQL), so a stopped service gives
  a quick 503, not a hanging probe.

Both are exempt from rate limits, set no cookie (the session stays empty),
need no CSRF token (GET only) and are not logged by the access log (a probe
every few seconds would drown it; see webapp/observability.py).
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from webapp.extensions import db, limiter
from webapp.jobs import queue

bp = Blueprint("health", __name__)

PROBE_PATHS = frozenset({"/healthz", "/readyz"})


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return _json({"status": "ok"}, 200)


@bp.get("/readyz")
@limiter.exempt
def readyz():
    checks = {"database": _check(_database)}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _check(_redis)
    checks["queue"] = _check(_queue)
    ready = all(check["ok"] for check in checks.values())
    return _json({"status": "ok" if ready else "fail", "checks": checks}, 200 if ready else 503)


def _json(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _check(probe) -> dict:
    started = time.perf_counter()
    try:
        detail = probe()
    except Exception as error:  # noqa: BLE001  (any failure means not ready; the type says which)
        # The class only: messages can carry addresses or user names.
        result = {"ok": False, "error": type(error).__name__}
    else:
        result = {"ok": True, **(detail or {})}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def redis_client(app: Flask):
    """One client per app for probes and metrics, with short timeouts."""
    state = app.extensions.setdefault("health", {})
    if state.get("redis") is None:
        import redis

        timeout = app.config.get("READY_TIMEOUT", 2)
        state["redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=timeout, socket_timeout=timeout
        )
    return state["redis"]


def _redis() -> None:
    redis_client(current_app).ping()


def _queue() -> dict:
    return {"pending": queue.get_huey().pending_count()}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
