"""History of Services' unchanged background poll, answered before Flask.

The list's results fragment polls itself every 10 seconds from every open tab (templates/history/index.html),
and nearly every answer is an empty 304. Deciding that takes the citizen's session, the list's validator state
(one statement) and the ETag; Flask's machinery around them (request context, Flask-Session's open and save,
CSRF, Babel, the hooks) cost most of such a request's time (bench/README.md). This WSGI middleware answers the
poll itself when the ETag it sent still matches, with the headers Flask gave that path's last 304.

Anything else goes to Flask, which answers as it always did: a request that is not a background poll of the
results fragment, a path whose 304 Flask has not given yet in this process, no session or no citizen in it, a
changed ETag, a store that fails. Background polls never refresh the session's sliding expiry (webapp/sessions.py),
so the citizen's session is read with `peek(..., background=True)`: the same rule. What an answer here still gives,
as every response does: a request id, the access-log line and the request metrics (webapp/observability.py).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_cookie, parse_etags, quote_etag

from webapp import clock, observability
from webapp.dbapi_statements import reading
from webapp.history import listing
from webapp.i18n import LANGUAGES

ENDPOINT = "history.index"
PATH_SUFFIX = "/account/history"
# Not learned from Flask's 304: per citizen, per response, or per request.
_NOT_LEARNED = frozenset({"set-cookie", "x-request-id", "etag", "content-length"})


class UnchangedPoll:
    """The WSGI middleware (app.wsgi_app); `answered` counts the polls it answered itself."""

    def __init__(self, app: Flask, wsgi_app, poll_header: str):
        self.app = app
        self.wsgi_app = wsgi_app
        self.poll_environ_key = "HTTP_" + poll_header.upper().replace("-", "_")
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.headers: dict[str, tuple[tuple[str, str], ...]] = {}  # path: the headers of its last 304 from Flask
        self.lock = threading.Lock()
        self.answered = 0

    def _language(self, path: str) -> str | None:
        language = path[1:3]
        return language if path[3:] == PATH_SUFFIX and language in LANGUAGES else None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or not environ.get(self.poll_environ_key)
            or environ.get("HTTP_HX_REQUEST") != "true"
            or environ.get("HTTP_HX_TARGET") != listing.RESULTS
            or not environ.get("HTTP_IF_NONE_MATCH")
            or (language := self._language(path)) is None
        ):
            return self.wsgi_app(environ, start_response)
        headers = self.headers.get(path)
        if headers is not None:
            started = time.perf_counter()
            answered = self._answer(environ, start_response, path, language, headers, started)
            if answered is not None:
                self.answered += 1
                return answered
        return self.wsgi_app(environ, self._learning(path, start_response))

    def _learning(self, path: str, start_response):
        """start_response, remembering the headers of a 304 Flask gives this path."""
        def learn(status, headers, exc_info=None):
            if status.startswith("304"):
                kept = tuple((k, v) for k, v in headers if k.lower() not in _NOT_LEARNED)
                with self.lock:
                    self.headers[path] = kept
            return start_response(status, headers, exc_info)
        return learn

    def _answer(self, environ, start_response, path: str, language: str, headers, started: float):
        cookie = environ.get("HTTP_COOKIE")
        sid = parse_cookie(cookie).get(self.cookie_name) if cookie else None
        if not sid:
            return None
        with self.app.app_context():
            try:
                # One DBAPI connection, no ORM session, for the session's row and the validator state: a
                # checkout, a session and SQLAlchemy's execution each cost more than the two statements;
                # autocommit and unpinged (dbapi_statements.reading): on PostgreSQL two round trips, not four.
                with reading(self.app) as connection:
                    data = self.app.session_interface.peek(sid, environ, background=True, connection=connection)
                    iin = data.get("citizen_iin") if data else None
                    if not iin or self.app.extensions["state_registries"].person(iin) is None:
                        return None
                    state = listing.validator_state(iin, connection)
                query = listing.Query.from_args(MultiDict(parse_qsl(environ.get("QUERY_STRING", ""),
                                                                    keep_blank_values=True)))
                tag = listing.etag(iin, query, language, clock.today(), state)
            except Exception:  # noqa: BLE001  (a store that is down, a query it cannot read: Flask answers)
                return None
        if not parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains(tag):
            return None
        request_id = observability.incoming_request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("304 NOT MODIFIED", [*headers, ("ETag", quote_etag(tag)),
                                            (observability.REQUEST_ID_HEADER, request_id)])
        observability.record_request(self.app, "GET", path, 304, ENDPOINT, time.perf_counter() - started, request_id)
        return [b""]


def init_app(app: Flask, poll_header: str) -> None:
    """Put the unchanged poll's shortcut in front of Flask (HISTORY_POLL_SHORTCUT)."""
    if not app.config.get("HISTORY_POLL_SHORTCUT", True):
        return
    app.wsgi_app = UnchangedPoll(app, app.wsgi_app, poll_header)
    app.extensions["history_poll"] = app.wsgi_app
