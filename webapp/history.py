"""History of Services: the citizen's sent applications and what became of them."""

from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_babel import lazy_gettext as _l

from webapp.auth import current_citizen, login_required
from webapp.extensions import db
from webapp.models import Application
from webapp.rendering import render_page
from webapp.services import find

bp = Blueprint("history", __name__, url_prefix="/<lang_code>/account")

STATUS_LABELS = {
    "sent": _l("Sent to the service provider"),
}


@bp.app_template_global()
def status_label(status: str) -> str:
    """An application's status in the citizen's words."""
    return str(STATUS_LABELS.get(status, status))


def _own(number: str) -> Application:
    """The citizen's own application by number; anyone else's is not found."""
    found = db.session.scalar(db.select(Application).filter_by(number=number, iin=current_citizen().iin))
    return found or abort(404)


@bp.route("/history")
@login_required
def index():
    """The citizen's applications, newest first."""
    applications = db.session.scalars(
        db.select(Application)
        .filter_by(iin=current_citizen().iin)
        .order_by(Application.submitted_at.desc(), Application.id.desc())
    ).all()
    return render_page("history/index.html", applications=[(a, find(a.service_slug)) for a in applications])


@bp.route("/applications/<number>/sent")
@login_required
def sent(number: str):
    """Application sent: its number, what happens next and by when."""
    application = _own(number)
    return render_page("history/sent.html", application=application, service=find(application.service_slug))


@bp.route("/applications/<number>/signed.xml")
@login_required
def signed_xml(number: str):
    """The application exactly as the citizen signed it."""
    application = _own(number)
    response = Response(application.signed_xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="application-{application.number}.xml"'
    return response
