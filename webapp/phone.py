"""Registering or changing the phone in the mobile citizens database: the new
number is confirmed with a one-time password sent to it, and the old number
is told about the change."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import force_locale, gettext as _

from webapp import text_input
from webapp.auth import current_citizen, login_required
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import MobilePhone
from webapp.rendering import render_page
from webapp.services.fields import FieldError, check_phone
from webapp.sms import codes, outbox
from webapp.sms.pages import sms_limits
from webapp.sms.signing import Confirming, outcome_message, refusal_message

bp = Blueprint("phone", __name__, url_prefix="/<lang_code>/account/phone")


def _confirming(iin: str, phone: str) -> Confirming:
    """What the password confirms: this number for this citizen (sent to the new number)."""
    binding = hashlib.sha256(f"{iin}\x00{phone}".encode()).hexdigest()
    return Confirming(iin, codes.CHANGE_PHONE, binding, phone=phone)


@bp.route("", methods=["GET", "POST"])
@login_required
@sms_limits("issue", scope="phone", per_phone=False)  # the number is new: no registered phone's limit
def change():
    """Register or change the phone number: we send a password to the new number."""
    citizen = current_citizen()
    current = codes.registered_phone(citizen.iin)
    entered, error = text_input.neutralise(request.form.get("phone")), None
    if request.method == "POST":
        try:
            phone = check_phone(entered)
        except FieldError as refused:
            if refused.code == "characters":
                error, entered = text_input.message(_("New mobile phone number")), text_input.without_unwritable(entered)
            else:
                error = _("Enter a Kazakh mobile number, like +7 701 234 56 78 or 8 701 234 56 78")
        else:
            if phone == current:
                error = _("This number is already registered for your IIN.")
            else:
                result = _confirming(citizen.iin, phone).issue(codes.change_phone_text(current_language()))
                if result.ok:
                    return redirect(url_for("phone.confirm", challenge_id=result.id))
                error = refusal_message(result)
    return render_page(
        "account/phone.html", current=current and codes.mask_phone(current), entered=entered, error=error,
        errors=[{"text": error, "href": "#phone"}] if error else [], has_errors=bool(error),
    )


@bp.route("/confirm/<challenge_id>", methods=["GET", "POST"])
@login_required
@sms_limits("enter", scope="phone")
def confirm(challenge_id: str):
    """Enter the password sent to the new number."""
    citizen = current_citizen()
    challenge = codes.get(challenge_id, citizen.iin)
    if challenge is None or challenge.purpose != codes.CHANGE_PHONE:
        abort(404)
    entered, error = request.form.get("code", ""), None
    if request.method == "POST":
        outcome = _confirming(citizen.iin, challenge.phone).enter(challenge.id, entered)
        if outcome.ok:
            _register(citizen.iin, challenge.phone)
            flash(_("Your phone number has been changed. SMS passwords will now go to %(phone)s.",
                    phone=codes.mask_phone(challenge.phone)), "success")
            return redirect(url_for("account.index"))
        error = outcome_message(outcome)
    return render_page(
        "account/phone_confirm.html", challenge=challenge, entered=text_input.without_unwritable(entered), error=error,
        errors=[{"text": error, "href": "#code"}] if error else [], has_errors=bool(error),
    )


def _register(iin: str, phone: str) -> None:
    """Record the new number, and tell the old one it no longer receives passwords."""
    registered = db.session.scalar(db.select(MobilePhone).filter_by(iin=iin))
    old = registered.phone if registered else None
    if registered is None:
        db.session.add(MobilePhone(iin=iin, phone=phone))
    else:
        registered.phone = phone
    notice = None
    if old and old != phone:
        with force_locale(current_language()):
            text = _(
                "Your phone number for Qyzmet passwords was changed to %(phone)s. If you did not do this, call 1414.",
                phone=codes.mask_phone(phone),
            )
        notice = outbox.create(old, text, purpose="phone-changed", iin=iin)
    db.session.commit()
    if notice is not None:
        outbox.send(notice)
