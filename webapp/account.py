"""The citizen's personal account."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.applications import drafts as application_drafts
from webapp.auth import current_citizen, login_required
from webapp.clock import now
from webapp.extensions import db
from webapp.models import MobilePhone
from webapp.services import find

bp = Blueprint("account", __name__, url_prefix="/<lang_code>/account")


@bp.route("")
@login_required
def index():
    """Who the portal knows the citizen to be, and their registered phone."""
    citizen = current_citizen()
    phone = db.session.scalar(db.select(MobilePhone).filter_by(iin=citizen.iin))
    return render_template("account/index.html", citizen=citizen, phone=phone)


@bp.route("/drafts")
@login_required
def drafts():
    """Applications started and not yet sent, to continue on any device."""
    citizen = current_citizen()
    moment = now()
    saved = [
        {"draft": d, "service": service, "expiring": d.expires_within(application_drafts.warning_period(), moment)}
        for d in application_drafts.of_citizen(citizen.iin)
        if (service := find(d.service_slug)) is not None
    ]
    return render_template("account/drafts.html", saved=saved, lifetime_days=application_drafts.lifetime().days)
