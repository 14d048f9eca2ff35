"""Server-side sessions in the portal's own database.

Flask-Session does the session semantics (ids, cookie, regenerate,
serialisation). Its own SQLAlchemy backend defines its model anew for every
app and creates its table at start-up, outside the migrations, and commits
the request's database session; so this backend keeps only the storage:
a migrated table, written through its own short transactions. With
REDIS_URL the portal uses Flask-Session's Redis backend instead, with the
same rule for background polls.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext

from flask import Flask, current_app, g, has_request_context, request
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface as _FlaskSessionRedis
from sqlalchemy import bindparam, delete, insert, select, update

from webapp.dbapi_statements import DBAPIStatement, reading
from webapp.extensions import db
from webapp.clock import wall_now
from webapp.models import WebSession


# Sent by elements that poll in the background (History of Services, the SMS countdown).
BACKGROUND_POLL_HEADER = "Qyzmet-Poll"

# An unchanged session's expiry is pushed forward at most this often (not on every request): the
# idle timeout is then PERMANENT_SESSION_LIFETIME less at most this much.
REFRESH_GRANULARITY = dt.timedelta(seconds=60)

# Every request reads its session: compiled once, run on the DBAPI connection (webapp/dbapi_statements.py).
_READ = DBAPIStatement(
    select(WebSession.data, WebSession.expiry).where(WebSession.session_id == bindparam("session_id")))

# Where DatabaseSessionInterface.peek leaves the row it read, for the same request's open_session.
PEEKED_SESSION = "qyzmet.peeked_session"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class _SkipBackgroundPolls:
    def save_session(self, app, session, response) -> None:
        """Save as Flask-Session does, except for background polls: an open tab
        polling by itself is not the citizen doing something, so it neither
        keeps the session alive past its idle timeout nor costs a write."""
        if request.headers.get(BACKGROUND_POLL_HEADER) and not session.modified:
            return
        super().save_session(app, session, response)


class RedisSessionInterface(_SkipBackgroundPolls, _FlaskSessionRedis):
    """Flask-Session's Redis sessions (with REDIS_URL), polls skipped the same way."""

    def peek(self, sid: str, environ: dict | None = None, background: bool = False, connection=None) -> dict | None:
        """A session's data without opening it (webapp/page_cache.py), or None: absent, or its sliding
        expiry due a refresh (Flask then serves the visitor and refreshes it, as on every request it serves),
        unless for a `background` poll, which never refreshes it. `connection` (a database's) is not needed."""
        store_id = self._get_store_id(sid)
        data, ttl = self.client.pipeline().get(store_id).ttl(store_id).execute()
        if not data or ttl is None or ttl < 0:
            return None
        lifetime = current_app.permanent_session_lifetime.total_seconds()
        if not background and lifetime - ttl >= REFRESH_GRANULARITY.total_seconds():
            return None
        return self.serializer.decode(data)

    def __init__(self, app: Flask, client):
        super().__init__(
            app,
            client=client,
            key_prefix=app.config.get("SESSION_KEY_PREFIX", "session:"),
            use_signer=False,
            permanent=app.config["SESSION_PERMANENT"],
            sid_length=32,
            serialization_format="msgpack",
        )


class DatabaseSessionInterface(_SkipBackgroundPolls, ServerSideSessionInterface):
    """Sessions stored in the web_sessions table."""

    # Expired rows are deleted on read and by the PURGE_SESSIONS job (webapp/jobs/tasks.py), or
    # `flask session_cleanup`; never inside a citizen's request (Flask-Session's cleanup_n_requests
    # would run a DELETE before one request in N, /healthz and /metrics included).
    ttl = False

    def __init__(self, app: Flask):
        super().__init__(
            app,
            key_prefix="",
            use_signer=False,
            permanent=app.config["SESSION_PERMANENT"],
            sid_length=32,
            serialization_format="msgpack",
            cleanup_n_requests=None,
        )

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        peeked = request.environ.pop(PEEKED_SESSION, None) if has_request_context() else None
        if peeked is not None and peeked[0] == store_id:
            # Read by the page cache a moment ago for this request (peek): not read again.
            data, expiry = peeked[1], peeked[2]
        else:
            stored = self._read(store_id)
            if stored is None:
                return None
            data, expiry = stored
        if expiry <= wall_now():
            self._delete_session(store_id)
            return None
        # Remembered for _upsert_session: an unchanged session need not be written on every request.
        g.web_session_stored = (store_id, data, expiry)
        return self.serializer.decode(data)

    def _read(self, store_id: str, connection=None) -> tuple[bytes, dt.datetime] | None:
        """The stored session's bytes and expiry, or None; on the DBAPI `connection` when given (the caller's),
        else on one of the pool's, ended by a commit as every store access here."""
        dialect = db.engine.dialect
        if connection is not None:
            row = _READ.first(connection, dialect, session_id=store_id)
        else:
            connection = db.engine.raw_connection()
            try:
                row = _READ.first(connection, dialect, session_id=store_id)
                connection.commit()
            finally:
                connection.close()
        return None if row is None else (bytes(row[0]), _aware(row[1]))

    def _delete_session(self, store_id: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(WebSession).where(WebSession.session_id == store_id))

    def peek(self, sid: str, environ: dict | None = None, background: bool = False, connection=None) -> dict | None:
        """A session's data without opening it (webapp/page_cache.py), or None: absent, expired, or
        due the refresh `_upsert_session` would write (Flask then serves the visitor and writes it),
        unless for a `background` poll, which never refreshes it (webapp/history/poll.py). Read on the
        caller's DBAPI `connection` when given, else on one for reads before Flask (dbapi_statements.reading).
        The row is left on `environ` for _retrieve_session_data: a visitor Flask serves after all
        (a citizen) costs no second read."""
        store_id = self._get_store_id(sid)
        with reading(current_app) if connection is None else nullcontext(connection) as connection:
            stored = self._read(store_id, connection)
        if stored is None:
            return None
        data, expiry = stored
        if environ is not None:
            environ[PEEKED_SESSION] = (store_id, data, expiry)
        now = wall_now()
        if expiry <= now:
            return None
        if not background and now + current_app.permanent_session_lifetime - expiry >= REFRESH_GRANULARITY:
            return None
        return self.serializer.decode(data)

    def _upsert_session(
        self, session_lifetime: dt.timedelta, session: ServerSideSession, store_id: str
    ) -> None:
        # Real time, not the portal's pinned day: the browser expires the cookie by its own clock.
        values = {"data": self.serializer.encode(session), "expiry": wall_now() + session_lifetime}
        stored = g.get("web_session_stored")
        if (
            stored is not None
            and stored[0] == store_id
            and stored[1] == values["data"]
            and values["expiry"] - stored[2] < REFRESH_GRANULARITY
        ):
            # Unchanged and refreshed less than a minute ago: the sliding expiry stays within
            # REFRESH_GRANULARITY of the idle timeout, and a page costs no write (a commit, an
            # fsync on SQLite: most of a cached page's time in bench/http_bench.py).
            return
        with db.engine.begin() as connection:
            changed = connection.execute(
                update(WebSession).where(WebSession.session_id == store_id).values(**values)
            ).rowcount
            if not changed:
                connection.execute(insert(WebSession).values(session_id=store_id, **values))

    def _delete_expired_sessions(self) -> None:
        WebSession.purge_expired()
