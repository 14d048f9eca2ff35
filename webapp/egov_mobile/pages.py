"""The pages' side of eGov Mobile, the same for every flow (an application, a request, logging in):
the rate limits of asking for a code, whose session a browser may see, and going on once signed."""

from __future__ import annotations

from flask import Response, abort, current_app, redirect, request, session, url_for

from webapp.egov_mobile import sessions
from webapp.extensions import limiter
from webapp.models import MobileSigning

LOGIN_KEY = "egov_mobile_login"


def _citizen_iin() -> str | None:
    """The logged-in citizen's IIN (webapp.auth keeps it there; read here so auth may use these pages)."""
    return session.get("citizen_iin")


def _citizen_key() -> str:
    return "egov-mobile-citizen:" + (_citizen_iin() or request.remote_addr or "")


def code_limits(view):
    """New eGov Mobile codes: EGOV_MOBILE_LIMIT_PER_ADDRESS and EGOV_MOBILE_LIMIT_PER_CITIZEN."""
    view = limiter.limit(lambda: current_app.config["EGOV_MOBILE_LIMIT_PER_CITIZEN"], methods=["POST"],
                         key_func=_citizen_key)(view)
    return limiter.limit(lambda: current_app.config["EGOV_MOBILE_LIMIT_PER_ADDRESS"], methods=["POST"])(view)


def viewer_owns(record: MobileSigning) -> bool:
    """A signing session is its citizen's; a login one, the browser's that asked for it."""
    if record.purpose == sessions.LOG_IN:
        return session.get(LOGIN_KEY) == record.public_id
    iin = _citizen_iin()
    return iin is not None and iin == record.iin


def owned(public_id: str, purpose: str, subject: str | None = None) -> MobileSigning:
    """The viewer's own session for this purpose (and subject), or 404."""
    record = sessions.find(public_id)
    if record is None or record.purpose != purpose or not viewer_owns(record):
        abort(404)
    if subject is not None and record.subject != subject:
        abort(404)
    return record


def page_url(record: MobileSigning) -> str:
    return url_for("egov_mobile.page", public_id=record.public_id)


def go_to(url: str) -> Response:
    """Where to go once signed: htmx's finishing request navigates the whole page there."""
    if request.htmx:
        return Response(status=200, headers={"HX-Redirect": url})
    return redirect(url)


def finish(record: MobileSigning, send):
    """Send what eGov Mobile signed with `send(signed_xml, on_sent=...)`, the flow's own sending
    (the session is used once it is sent), and go where it leads; not signed yet: back to the page."""
    if record.state not in (sessions.SIGNED, sessions.DONE):
        return go_to(page_url(record))
    response = send(record.signed_xml, on_sent=lambda: sessions.use(record))
    if isinstance(response, tuple) or response.status_code != 302:
        return response  # refused: the flow's own page says why
    return go_to(response.location)


def remember_login(record: MobileSigning) -> None:
    session[LOGIN_KEY] = record.public_id
