"""Anonymous public pages (home, catalogue, passport, the verify form) served from a cache of their rendered bytes.

A WSGI middleware in front of Flask: a hit is answered before Flask's request machinery (request context,
session, CSRF, hooks), which was most of such a page's cost (bench/README.md). What a hit still gives,
as every response does: the stored security headers and Vary, a request id, the access-log line and the
request metrics (webapp/observability.py).

Filled by Flask itself: `mark_cacheable` (an after_request hook) says on the WSGI environ that the
response may be kept (a GET of one of CACHED_ENDPOINTS, 200, HTML, no citizen logged in, nothing
personal, no flashed message) and which CSRF token it carries; the middleware keeps the body with the
token cut out and puts a token for each visitor back, signed from that visitor's own session secret.

Keyed by path, query, host, scheme and the htmx headers that pick a fragment; the language is the
path's first segment. A version, hashed once at start-up from the templates, the compiled catalogues,
the service definitions and the static files (a deploy changes it, and restarts the workers), plus the
portal's day (a page may show dates), must match; else the entry is re-rendered.

A visitor with a session cookie is served from the cache only when that session exists, holds no
citizen and no flashed message, and needs no refresh of its sliding expiry (the session interface's
`peek`): anything else goes to Flask, which renders as it always did. A page with a token needs a
session, so a visitor without one goes to Flask too (which makes it). Pages without a token have an
ETag and Last-Modified and answer 304 to a matching If-None-Match / If-Modified-Since; pages with a
token are `private, no-cache` with no validators (a browser's copy would keep an old token past its
time limit).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from flask import Flask, Response, g, request, session
from flask.globals import request_ctx
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import parse_cookie

from webapp import clock, observability
from webapp.config import REPO_ROOT

CACHED_ENDPOINTS = frozenset({"home.index", "catalogue.index", "catalogue.passport", "verify_document.index"})
ENVIRON_KEY = "qyzmet.page_cache"
# Searches make new keys: the oldest entries go first beyond this many.
MAX_ENTRIES = 512
_TOKEN_MARK = b"\x00qyzmet-csrf-token\x00"
# Not kept: per-visitor or per-response, or recomputed when served.
_NOT_KEPT = frozenset({"set-cookie", "x-request-id", "content-length", "etag", "last-modified"})
_KEY_HEADERS = ("HTTP_HX_REQUEST", "HTTP_HX_TARGET", "HTTP_HX_BOOSTED", "HTTP_HOST")


@dataclass(frozen=True)
class Entry:
    version: str
    endpoint: str
    headers: tuple[tuple[str, str], ...]
    parts: tuple[bytes, ...]  # the body split where the CSRF token was
    etag: str
    last_modified: str
    modified_at: float

    @property
    def has_token(self) -> bool:
        return len(self.parts) > 1


def deploy_version(app: Flask) -> str:
    """A hash of everything a cached page is made from that changes only with a deploy."""
    digest = hashlib.sha256()
    folders = [Path(app.template_folder), Path(app.static_folder), REPO_ROOT / "translations"]
    folders += [Path(f) for f in app.config.get("SERVICE_DEFINITIONS") or ()]
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".po", ".pot")):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    for name in ("NCALAYER_URL", "SANDBOX"):  # in the headers and pages
        digest.update(repr(app.config.get(name)).encode())
    return digest.hexdigest()[:20]


def mark_cacheable(response: Response) -> Response:
    """After a request: tell the middleware whether this response may be kept, and its token."""
    if (
        request.method == "GET"
        and request.endpoint in CACHED_ENDPOINTS
        and response.status_code == 200
        and response.mimetype == "text/html"
        and not response.is_streamed
        and not g.get("personal")
        and not session.get("citizen_iin")
        and "_flashes" not in session
        and not request_ctx.flashes
    ):
        request.environ[ENVIRON_KEY] = {"endpoint": request.endpoint, "token": g.get("csrf_token")}
    return response


class PageCache:
    """The WSGI middleware (app.wsgi_app); `hits`, `misses` and `stored` count what it did."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.deploy_version = deploy_version(app)
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = self.stored = 0
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self.field_name = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.serializer = URLSafeTimedSerializer(
            app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key, salt="wtf-csrf-token"
        )

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def version(self) -> str:
        return f"{self.deploy_version}:{clock.today().isoformat()}"

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        key = (environ.get("wsgi.url_scheme"), environ.get("PATH_INFO"), environ.get("QUERY_STRING", ""),
               *(environ.get(name, "") for name in _KEY_HEADERS))
        with self.app.app_context():
            version = self.version()
            entry = self.entries.get(key)
            if entry is not None and entry.version == version:
                answered = self._serve(entry, environ, start_response, started)
                if answered is not None:
                    self.hits += 1
                    return answered
        self.misses += 1
        return self._render(key, version, environ, start_response)

    # --- a hit ---

    def _visitor_token(self, entry: Entry, environ) -> str | None | bool:
        """The token to put in the page (None: the page has none); False: this visitor goes to Flask."""
        sid = parse_cookie(environ.get("HTTP_COOKIE", "")).get(self.cookie_name) if environ.get("HTTP_COOKIE") else None
        if not sid:
            return False if entry.has_token else None
        try:
            data = self.app.session_interface.peek(sid, environ)
        except Exception:  # noqa: BLE001  (a store that is down: Flask answers with its own error page)
            return False
        if data is None or data.get("citizen_iin") or data.get("_flashes"):
            return False
        if not entry.has_token:
            return None
        secret = data.get(self.field_name)
        return self.serializer.dumps(secret) if isinstance(secret, str) else False

    def _serve(self, entry: Entry, environ, start_response, started: float):
        token = self._visitor_token(entry, environ)
        if token is False:
            return None
        request_id = observability.incoming_request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        headers = list(entry.headers)
        if token is None:
            headers += [("ETag", entry.etag), ("Last-Modified", entry.last_modified)]
            if _not_modified(entry, environ):
                status, body = 304, b""
            else:
                status, body = 200, entry.parts[0]
        else:
            status, body = 200, token.encode().join(entry.parts)
        if status == 304:
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        else:
            headers.append(("Content-Length", str(len(body))))
        headers.append((observability.REQUEST_ID_HEADER, request_id))
        start_response("200 OK" if status == 200 else "304 NOT MODIFIED", headers)
        observability.record_request(self.app, "GET", environ.get("PATH_INFO", ""), status, entry.endpoint,
                                     time.perf_counter() - started, request_id)
        return [body]

    # --- a miss: Flask renders, and what it may keep is kept ---

    def _render(self, key: tuple, version: str, environ, start_response):
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            if ENVIRON_KEY in environ and status.startswith("200"):
                captured["status"], captured["headers"] = status, headers
                return lambda data: captured.setdefault("written", []).append(data)
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, capture)
        if not captured:
            return result
        try:
            body = b"".join(captured.get("written", [])) + b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        marked = environ[ENVIRON_KEY]
        token = (marked.get("token") or "").encode()
        parts = tuple(body.split(token)) if token and token in body else (body,)
        now = clock.wall_now().timestamp()  # Last-Modified is compared with the browser's real clock
        kept = [(k, v) for k, v in captured["headers"] if k.lower() not in _NOT_KEPT]
        if len(parts) > 1:
            kept = [(k, v) for k, v in kept if k.lower() != "cache-control"] + [("Cache-Control", "private, no-cache")]
        entry = Entry(
            version=version, endpoint=marked["endpoint"], headers=tuple(kept), parts=parts,
            etag='"%s"' % hashlib.sha256(version.encode() + _TOKEN_MARK.join(parts)).hexdigest()[:32],
            last_modified=formatdate(now, usegmt=True), modified_at=now,
        )
        with self.lock:
            previous = self.entries.get(key)
            if previous is not None and previous.etag == entry.etag:
                entry = previous  # the same bytes: keep their first Last-Modified
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)
            self.stored += 1
        headers = list(captured["headers"])
        if not entry.has_token:
            # This visitor's response as Flask made it (its Set-Cookie included), with the validators added.
            headers = [(k, v) for k, v in headers if k.lower() not in ("etag", "last-modified")]
            headers += [("ETag", entry.etag), ("Last-Modified", entry.last_modified)]
            if _not_modified(entry, environ):
                headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "content-type")]
                start_response("304 NOT MODIFIED", headers)
                return [b""]
        else:
            headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
            headers.append(("Cache-Control", "private, no-cache"))
        start_response(captured["status"], headers)
        return [body]


def _not_modified(entry: Entry, environ) -> bool:
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return entry.etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            return parsedate_to_datetime(since).timestamp() >= int(entry.modified_at)
        except (TypeError, ValueError):
            return False
    return False


def init_app(app: Flask) -> None:
    """Mark what Flask may let the cache keep, and put the cache in front of Flask (PAGE_CACHE)."""
    if not app.config.get("PAGE_CACHE", True):
        return
    # Registered first, so it runs after every other after_request hook: it sees the final response.
    app.after_request_funcs.setdefault(None, []).insert(0, mark_cacheable)
    app.wsgi_app = PageCache(app, app.wsgi_app)
    app.extensions["page_cache"] = app.wsgi_app
