"""eGov Mobile: the app's API (API 1, API 2 and its PUT) and the citizen's page with the QR code.

The flows' own routes (applications, requests, logging in) open a session
and, once the app has signed, send or log in with the signature; this
blueprint serves what is the same for all of them.
"""

from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _

from webapp.egov_mobile import pages, sessions
from webapp.extensions import csrf, limiter
from webapp.i18n import LANGUAGES, current_language
from webapp.models import MobileSigning
from webapp.rendering import render_page

bp = Blueprint("egov_mobile", __name__)

api_limit = limiter.limit(lambda: current_app.config["EGOV_MOBILE_API_LIMIT"])


def _app_language() -> str:
    """The app's language: its Accept-Language (ru, kk or en), else the session's."""
    return request.accept_languages.best_match(LANGUAGES) or "ru"


def _refused(status: int, reason: str, record: MobileSigning | None = None) -> Response:
    purpose = record.purpose if record is not None else sessions.SIGN_APPLICATION
    response = jsonify({"status": status, "reason": reason, "message": sessions.message(reason, purpose)})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _session_for_app(public_id: str) -> MobileSigning:
    record = sessions.find(public_id)
    if record is None:
        abort(404)
    return record


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def api1_url(record: MobileSigning) -> str:
    return url_for("egov_mobile.api1", public_id=record.public_id, _external=True)


# ── the app's API ───────────────────────────────────────────────────────


@bp.route("/egov-mobile/api/<public_id>")
@api_limit
def api1(public_id: str):
    """API 1: what is to be signed, for whom, until when, and where the document is."""
    record = _session_for_app(public_id)
    state = sessions.status(record)
    if state != sessions.WAITING:
        return _refused(403, "expired" if state == "expired" else "cancelled" if state == "cancelled" else "used", record)
    api2_url = url_for("egov_mobile.api2", public_id=record.public_id, _external=True)
    return _no_store(jsonify(sessions.api1(record, _app_language(), api2_url)))


@bp.route("/egov-mobile/api/<public_id>/documents", methods=["GET", "PUT"])
@api_limit
@csrf.exempt  # the eGov Mobile app PUTs JSON, not a form; the session's bearer token (API 1) authenticates it
def api2(public_id: str):
    """API 2: the document to sign (GET), and the app's signed document back (PUT)."""
    record = _session_for_app(public_id)
    if not sessions.token_ok(record, request.headers.get("Authorization")):
        return _refused(403, "token", record)
    if request.method == "GET":
        state = sessions.status(record)
        if state != sessions.WAITING:
            return _refused(403, "expired" if state == "expired" else "cancelled" if state == "cancelled" else "used",
                            record)
        return _no_store(jsonify(sessions.api2(record, _app_language())))
    if request.content_length is None:
        return _refused(411, "malformed", record)  # the app sends its JSON with a length
    if request.content_length > current_app.config["EGOV_MOBILE_MAX_BODY"]:
        return _refused(413, "too_large", record)
    answer = sessions.receive(record, request.get_data(cache=False))
    if answer.status != 200:
        return _refused(answer.status, answer.reason, record)
    return _no_store(jsonify({"status": 200, "message": _("Signed. Go back to the portal's page.")}))


# ── the citizen's page ──────────────────────────────────────────────────


def _links(record: MobileSigning) -> dict:
    """Where the page's links and forms go, by what is being signed."""
    _kind, _sep, key = record.subject.partition(":")
    if record.purpose == sessions.SIGN_APPLICATION:
        return {
            "back": url_for("applications.check", slug=key),
            "retry": url_for("applications.sign_with_egov_mobile", slug=key),
            "finish": url_for("applications.finish_egov_mobile", slug=key, public_id=record.public_id),
        }
    if record.purpose == sessions.SIGN_REQUEST:
        return {
            "back": url_for("requests.check", public_id=key),
            "retry": url_for("requests.sign_with_egov_mobile", public_id=key),
            "finish": url_for("requests.finish_egov_mobile", public_id=key, signing_id=record.public_id),
        }
    return {
        "back": url_for("auth.login"),
        "retry": url_for("auth.login_with_egov_mobile"),
        "finish": url_for("auth.finish_egov_mobile", public_id=record.public_id),
    }


def _own(public_id: str) -> MobileSigning:
    """The viewer's session; someone not logged in is asked to log in first (a login session is the browser's)."""
    record = sessions.find(public_id)
    if record is None or not pages.viewer_owns(record):
        if not session.get("citizen_iin"):
            abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
        abort(404)
    return record


@bp.route("/<lang_code>/egov-mobile/<public_id>")
def page(public_id: str):
    """Sign with eGov Mobile: the QR code (or, on a phone, the link), the code, the time left; polls itself."""
    record = _own(public_id)
    url = api1_url(record)
    state = sessions.status(record)
    return render_page(
        "egov_mobile/sign.html",
        # The poll gets its fragment while waiting; after that, the whole page (the QR code goes).
        fragment="egov_mobile_status" if state == sessions.WAITING else None,
        record=record,
        state=state,
        links=_links(record),
        caption=record.names.get(current_language()) or "",
        code=sessions.verification_code(record),
        seconds_left=sessions.seconds_left(record),
        qr_payload=sessions.qr_payload(url),
        app_link=sessions.app_link(url),
        refusal=record.refusal and sessions.message(record.refusal, record.purpose),
        logging_in=record.purpose == sessions.LOG_IN,
    )


@bp.route("/<lang_code>/egov-mobile/<public_id>/qr.png")
def qr(public_id: str):
    """The QR code the app scans: mobileSign:<API 1 URL>, drawn by segno."""
    record = _own(public_id)
    image = io.BytesIO()
    segno.make(sessions.qr_payload(api1_url(record)), error="m").save(image, kind="png", scale=6, border=4)
    # One session, one picture: the browser keeps it for the session's life.
    return Response(image.getvalue(), mimetype="image/png", headers={"Cache-Control": "private, max-age=600"})


@bp.route("/<lang_code>/egov-mobile/<public_id>/cancel", methods=["POST"])
def cancel(public_id: str):
    """Cancel: the app's signature is refused from now on; back to the page signing started from."""
    record = _own(public_id)
    sessions.cancel(record)
    return redirect(_links(record)["back"])
