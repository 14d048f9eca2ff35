"""Translated error pages: never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import db

log = logging.getLogger(__name__)

PAGES = {
    400: (_l("Sorry, there is a problem with your request"), _l("Go back and try again.")),
    403: (_l("You cannot see this page"), _l("This page belongs to another person or needs a different login.")),
    404: (_l("Page not found"), _l("If you typed the web address, check it is correct. If you pasted it, check you copied the entire address.")),
    405: (_l("Sorry, this action is not possible here"), _l("Go back to the previous page and use the buttons on it.")),
    413: (_l("The file or form is too large"), _l("Each file must be smaller than 10 MB. Go back, choose a smaller file and try again; what you entered is kept.")),
    429: (_l("Too many attempts"), _l("For your security we have paused this for a while. Wait a few minutes and try again.")),
    500: (_l("Sorry, there is a problem with the service"), _l("Try again later. What you entered before this page has been saved.")),
    503: (_l("Sorry, the service is unavailable"), _l("Try again in a few minutes. What you entered before this page has been saved.")),
}
CSRF_PAGE = (
    _l("Your page was open too long"),
    _l("For your security, forms expire after a while. Go back, reload the page and submit it again."),
)


def render_error(status: int, title, message):
    """The error page, in the language of the URL."""
    back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    return render_template("error.html", status=status, title=title, message=message, back=back), status


def init_app(app: Flask) -> None:
    """Register a handler for every error a citizen can meet."""

    @app.errorhandler(CSRFError)
    def csrf_expired(error):
        return render_error(400, *CSRF_PAGE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code not in PAGES:
            return error
        response, status = render_error(error.code, *PAGES[error.code])
        headers = {"Retry-After": "60"} if error.code in (429, 503) else {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return response, status, headers

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        log.error("Database unavailable on %s %s: %s", request.method, request.path, error)
        db.session.rollback()
        response, status = render_error(503, *PAGES[503])
        return response, status, {"Retry-After": "30"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500, *PAGES[500])

    app.register_error_handler(InternalServerError, unexpected)
