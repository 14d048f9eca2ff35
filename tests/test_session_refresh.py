"""The database session store writes an unchanged session at most once a minute (bench/http_bench.py found
the write on every page to be most of a cached page's time), and a changed one at once; expired rows go
by a periodic job, never inside a request."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import event

from webapp.clock import wall_now
from webapp.extensions import db
from webapp.jobs.queue import PURGE_SESSIONS, get_huey
from webapp.models import WebSession
from webapp.sessions import REFRESH_GRANULARITY


def _row(app, client):
    sid = client.get_cookie("qyzmet_session").value
    with app.app_context():
        row = db.session.execute(db.select(WebSession.data, WebSession.expiry).filter_by(session_id=sid)).one()
        expiry = row.expiry if row.expiry.tzinfo else row.expiry.replace(tzinfo=dt.timezone.utc)
        return sid, bytes(row.data), expiry


def _set_row(app, sid, **values):
    with app.app_context():
        db.session.execute(db.update(WebSession).where(WebSession.session_id == sid).values(**values))
        db.session.commit()


def test_an_unchanged_session_is_not_rewritten_within_a_minute(app, citizen_client):
    citizen_client.get("/en/services")
    sid, data, expiry = _row(app, citizen_client)

    assert citizen_client.get("/en/services").status_code == 200
    assert _row(app, citizen_client) == (sid, data, expiry)


def test_an_unchanged_session_is_refreshed_once_its_expiry_is_a_minute_old(app, citizen_client):
    citizen_client.get("/en/services")
    sid, data, expiry = _row(app, citizen_client)
    old = expiry - REFRESH_GRANULARITY - dt.timedelta(seconds=5)
    _set_row(app, sid, expiry=old)

    assert citizen_client.get("/en/services").status_code == 200
    _, data_after, expiry_after = _row(app, citizen_client)
    assert data_after == data
    assert expiry_after >= expiry  # pushed forward to a whole idle timeout from now


def test_a_changed_session_is_written_at_once(app, citizen_client):
    citizen_client.get("/en/services")
    sid, data, expiry = _row(app, citizen_client)
    serializer = app.session_interface.serializer
    without_token = dict(serializer.decode(data))
    del without_token["csrf_token"]  # the next page with a form puts it back: the session is modified
    _set_row(app, sid, data=serializer.encode(without_token))

    assert citizen_client.get("/en/services").status_code == 200
    _, data_after, _ = _row(app, citizen_client)
    assert "csrf_token" in serializer.decode(data_after)


def test_expired_sessions_are_deleted_by_the_periodic_job_and_live_ones_kept(app, citizen_client):
    citizen_client.get("/en/services")
    live, _, _ = _row(app, citizen_client)
    with app.app_context():
        db.session.add(WebSession(session_id="expired-one", data=b"\x80", expiry=wall_now() - dt.timedelta(seconds=1)))
        db.session.commit()
        get_huey(app)
        app.extensions["jobs"]["tasks"][PURGE_SESSIONS].call_local()
        left = set(db.session.scalars(db.select(WebSession.session_id)))
    assert "expired-one" not in left and live in left
    assert citizen_client.get("/en/account").status_code == 200  # still logged in


def test_no_request_deletes_expired_sessions(app, citizen_client, monkeypatch):
    """Flask-Session's cleanup_n_requests ran a DELETE before one request in a thousand (/healthz and
    /metrics too, so a liveness probe could fail with the database down); with every draw a hit, none runs."""
    monkeypatch.setattr(random, "randint", lambda low, high: low)
    statements = []
    with app.app_context():
        engine = db.engine

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        for path in ("/healthz", "/en/services", "/en/account"):
            assert citizen_client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in statements if s.lstrip().upper().startswith("DELETE") and "web_sessions" in s]
