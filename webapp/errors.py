"""Translated error pages: never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import db

log = logging.getLogger(__name__)

try:  # the Redis sessions' store (REDIS_URL)
    from redis.exceptions import ConnectionError as _RedisDown, TimeoutError as _RedisSlow

    STORE_DOWN: tuple[type[Exception], ...] = (OperationalError, _RedisDown, _RedisSlow)
except ImportError:  # pragma: no cover
    STORE_DOWN = (OperationalError,)

PAGES = {
    400: (_l("Sorry, there is a problem with your request"), _l("Go back and try again.")),
    403: (_l("You cannot see this page"), _l("This page belongs to another person or needs a different login.")),
    404: (_l("Page not found"), _l("If you typed the web address, check it is correct. If you pasted it, check you copied the entire address.")),
    405: (_l("Sorry, this action is not possible here"), _l("Go back to the previous page and use the buttons on it.")),
    413: (_l("The file or form is too large"), _l("Everything sent at once must be smaller than 12 MB. Go back, choose a smaller file and try again; what you entered is kept.")),
    429: (_l("Too many attempts"), _l("For your security we have paused this for a while. Wait a few minutes and try again.")),
    500: (_l("Sorry, there is a problem with the service"), _l("Try again later. What you entered before this page has been saved.")),
    503: (_l("Sorry, the service is unavailable"), _l("Try again in a few minutes. What you entered before this page has been saved.")),
}
CSRF_PAGE = (
    _l("Your page was open too long"),
    _l("For your security, forms expire after a while. Go back, reload the page and submit it again."),
)
FOREIGN_TOKEN_PAGE = (
    _l("This form was not opened in this session"),
    _l("Its security code belongs to another session: another login, another browser or another site. Go back, reload the page and submit it again."),
)
# Why Flask-WTF refused a form, by its (English, fixed) reason: each its own page.
CSRF_PAGES = {
    "The CSRF token has expired.": CSRF_PAGE,
    "The CSRF token is missing.": (
        _l("The form came without its security code"),
        _l("Every form of this portal carries a hidden security code, and this one did not: it may not come from one of our pages, or your browser left the code out. Go back, reload the page and submit it again."),
    ),
    "The CSRF session token is missing.": (
        _l("This form belongs to an earlier session"),
        _l("Since the page was opened you have logged in or out, or your browser has lost its cookie. Go back, reload the page and submit it again."),
    ),
    "The CSRF tokens do not match.": FOREIGN_TOKEN_PAGE,
    "The CSRF token is invalid.": FOREIGN_TOKEN_PAGE,
    "The referrer header is missing.": (
        _l("The form was not sent from this portal"),
        _l("Your browser did not say that the form came from a page of this portal. Go back, reload the page and submit it again."),
    ),
}
CSRF_PAGES["The referrer does not match the host."] = CSRF_PAGES["The referrer header is missing."]


def render_error(status: int, title, message):
    """The error page, in the language of the URL."""
    back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    return render_template("error.html", status=status, title=title, message=message, back=back), status


def init_app(app: Flask) -> None:
    """Register a handler for every error a citizen can meet."""

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        return render_error(400, *CSRF_PAGES.get(error.description, FOREIGN_TOKEN_PAGE))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code not in PAGES:
            return error
        response, status = render_error(error.code, *PAGES[error.code])
        headers = {"Retry-After": "60"} if error.code in (429, 503) else {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return response, status, headers

    def database_unavailable(error):
        log.error("Database unavailable on %s %s: %s", request.method, request.path, error)
        db.session.rollback()
        response, status = render_error(503, *PAGES[503])
        return response, status, {"Retry-After": "30"}

    for kind in STORE_DOWN:
        app.register_error_handler(kind, database_unavailable)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Flask hands errors raised outside the view (finishing the response) to the
        # InternalServerError handler, with the real error attached.
        if isinstance(getattr(error, "original_exception", None), STORE_DOWN):
            return database_unavailable(error.original_exception)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500, *PAGES[500])

    app.register_error_handler(InternalServerError, unexpected)

    @app.before_request
    def _session_store_was_down():
        if "session_store_error" in g:
            raise g.session_store_error

    _guard_session_store(app, database_unavailable)

    @app.teardown_appcontext
    def _end_database_session(exc):
        # Runs before Flask-SQLAlchemy's own teardown (teardowns run last registered first).
        # The response is already made: a database gone by now (its rollback of a leftover
        # read failing) must not turn it into gunicorn's bare 500; what was committed stays.
        try:
            db.session.remove()
        except DBAPIError as error:
            log.warning("Database gone while ending the request: %s", error.orig or error)
            db.session.registry.clear()  # so Flask-SQLAlchemy's teardown finds nothing to close


def _guard_session_store(app: Flask, unavailable) -> None:
    """The session store (the database, or Redis) being down gets the 503 page too.

    Flask opens the session before any error handler can run, and saves it
    after the response is made, where an error would bypass the handlers
    above and become a bare 500. So: a session that cannot be loaded is
    replaced by an empty one that is never saved (the citizen's cookie is
    left alone, and their session is there again once the store is back),
    and the error is raised again from the first before_request hook, where
    the 503 handler answers it; a session that cannot be saved turns the
    response into the 503 page (a redirect after logging in must not pretend
    it worked).
    """
    interface = app.session_interface
    open_session, save_session = interface.open_session, interface.save_session

    def guarded_open(app_, request_):
        try:
            return open_session(app_, request_)
        except STORE_DOWN as error:
            g.session_store_error = error
            return interface.session_class(sid=None, permanent=app_.config.get("SESSION_PERMANENT", True))

    def guarded_save(app_, session, response):
        if "session_store_error" in g:
            return None
        try:
            return save_session(app_, session, response)
        except STORE_DOWN as error:
            g.session_store_error = error
            page, status, headers = unavailable(error)
            response.set_data(page.encode() if isinstance(page, str) else page)
            response.status_code = status
            response.headers.pop("Location", None)
            response.headers.pop("Set-Cookie", None)
            response.headers.update(headers)
            return None

    interface.open_session = guarded_open
    interface.save_session = guarded_save
