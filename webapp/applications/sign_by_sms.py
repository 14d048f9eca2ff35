"""Sign with an SMS password: a one-time code sent to the phone registered
for the citizen's IIN, bound to the exact application XML. On a right code
the portal signs the application with its own key, stating how it was
confirmed (webapp.applications.submission)."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, redirect, request, url_for
from flask_babel import gettext as _, ngettext

from webapp import text_input
from webapp.applications import submission
from webapp.applications.routes import _check_page, _go, _in_progress, _service, bp
from webapp.auth import current_citizen, login_required
from webapp.clock import now
from webapp.extensions import db, limiter
from webapp.i18n import short_datetime
from webapp.models import Application
from webapp.rendering import render_page
from webapp.sms import codes


def _citizen_key() -> str:
    citizen = current_citizen()
    return "sms-citizen:" + (citizen.iin if citizen else request.remote_addr or "")


def _phone_key() -> str:
    citizen = current_citizen()
    return "sms-phone:" + ((citizen and codes.registered_phone(citizen.iin)) or "none")


def refusal_message(refusal: codes.Refusal) -> str:
    """Why no password was sent, in the citizen's words."""
    if refusal.reason == "cool_down":
        return ngettext(
            "We have just sent you a password. You can ask for a new one in %(num)d second.",
            "We have just sent you a password. You can ask for a new one in %(num)d seconds.",
            refusal.retry_after,
        )
    if refusal.reason == "too_many_codes":
        return _(
            "You have asked for too many passwords in the last hour. You can ask for a new one after %(time)s, or sign with EDS.",
            time=short_datetime(refusal.until),
        )
    if refusal.reason == "locked":
        return _locked(refusal.until)
    if refusal.reason == "no_phone":
        return _("No mobile phone is registered for your IIN, so we cannot send you a password. Register your phone in your personal account, or sign with EDS.")
    return _("Signing with an SMS password is not available at the moment. Sign with EDS, or try again later.")


def _locked(until: dt.datetime | None) -> str:
    return _(
        "You entered too many wrong passwords today, so signing by SMS is locked until %(time)s. You can still sign with EDS.",
        time=short_datetime(until) if until else "",
    )


def outcome_message(outcome: codes.Outcome) -> str:
    """What a wrong entry means and what to do next."""
    messages = {
        "malformed": lambda: _("Enter the 6-digit password from the SMS, for example 123456"),
        "wrong": lambda: ngettext(
            "The password is not right. You can try %(num)d more time.",
            "The password is not right. You can try %(num)d more times.",
            outcome.attempts_left,
        ),
        "expired": lambda: _("The password has expired: it works for 5 minutes. Ask for a new password."),
        "used": lambda: _("This password has already been used. Ask for a new password."),
        "too_many_attempts": lambda: _("You entered a wrong password too many times. Ask for a new password."),
        "locked": lambda: _locked(outcome.locked_until),
        "other_document": lambda: _("Your application has changed since we sent the password. Check your answers and ask for a new password."),
        "other_subject": lambda: _("This password was sent for another application. Enter the password sent for this one, or ask for a new password."),
    }
    return messages.get(outcome.kind, messages["used"])()


@bp.route("/sign/sms", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_ADDRESS"])
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_CITIZEN"], key_func=_citizen_key)
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_PHONE"], key_func=_phone_key)
def send_sms_password(slug: str):
    """Send a one-time password for the application as it stands now."""
    application = _in_progress(slug)
    if application is None:
        return redirect(url_for("applications.before_you_start", slug=slug))
    if application.where_to_go() != "check":
        return _go(slug, application.where_to_go())
    issued = application.document().to_xml()
    result = codes.issue(
        application.person.iin,
        codes.SIGN_APPLICATION,
        codes.document_digest(issued),
        None,
        codes.signing_text(application.passport.short_name, application.language),
        subject=_subject(slug),
    )
    if not result.ok:
        earlier = codes.get(request.form.get("challenge", ""), application.person.iin)
        if earlier is not None:
            # Asked again from the password page: say why there, not on the check page.
            return _password_page(slug, earlier, refusal_message(result), anchor="#sms-status")
        return _check_page(application, refusal_message(result), anchor="#sign-with-sms")
    return redirect(url_for("applications.enter_sms_password", slug=slug, challenge_id=result.id))


def _subject(slug: str) -> str:
    """What an application's password is for (a draft is one per citizen and service)."""
    return f"application:{slug}"


def _challenge(challenge_id: str) -> codes.Challenge:
    found = codes.get(challenge_id, current_citizen().iin)
    if found is None or found.purpose != codes.SIGN_APPLICATION:
        abort(404)
    return found


def _already_sent(challenge: codes.Challenge) -> Application | None:
    """The application a used password already sent (a second click, a retried request)."""
    return db.session.scalar(
        db.select(Application).filter_by(
            iin=challenge.iin, document_sha256=challenge.document_sha256, signed_with="sms"
        )
    )


def _password_page(slug: str, challenge: codes.Challenge, error: str | None = None, entered: str = "",
                   anchor: str = "#code"):
    service = _service(slug)
    return render_page(
        "applications/sign_by_sms.html",
        fragment="sms_status",
        service=service,
        challenge=challenge,
        status=codes.status(challenge.iin, purpose=challenge.purpose, document_sha256=challenge.document_sha256),
        errors=[{"text": error, "href": anchor}] if error else [],
        has_errors=bool(error),
        entered=text_input.without_unwritable(entered),  # a code, never stored: shown as valid HTML
        code_error=error if anchor == "#code" else None,
    )


@bp.route("/sign/sms/<challenge_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["SMS_CODE_ENTRY_LIMIT"], methods=["POST"], key_func=_citizen_key)
def enter_sms_password(slug: str, challenge_id: str):
    """Enter the password from the SMS to sign and send the application."""
    challenge = _challenge(challenge_id)
    application = _in_progress(slug)
    if application is None:
        sent = _already_sent(challenge) if challenge.used else None
        if sent is not None:
            return redirect(url_for("history.sent", number=sent.number))
        return redirect(url_for("applications.before_you_start", slug=slug))
    if request.method == "GET":
        return _password_page(slug, challenge)
    entered = request.form.get("code", "")
    if application.where_to_go() != "check":
        return _go(slug, application.where_to_go())
    issued = application.document().to_xml()
    # The code's use commits with the application (submission.send_confirmed_by_sms): an instance
    # that dies in between leaves it unused, so the citizen's resubmitted form still sends.
    outcome = codes.check(
        challenge.id, challenge.iin, codes.SIGN_APPLICATION, codes.document_digest(issued), entered,
        subject=_subject(slug), commit=False,
    )
    if not outcome.ok:
        return _password_page(slug, _challenge(challenge_id), outcome_message(outcome), entered)
    sent = submission.send_confirmed_by_sms(
        application,
        issued,
        {
            "maskedPhone": challenge.masked_phone,
            "confirmedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "challenge": challenge.id,
            "documentSha256": challenge.document_sha256,
        },
    )
    return redirect(url_for("history.sent", number=sent.number))


@bp.route("/sign/sms/<challenge_id>/not-received")
@login_required
def sms_not_received(slug: str, challenge_id: str):
    """Not received a text message? What to check, and the other ways to sign."""
    challenge = _challenge(challenge_id)
    return render_page(
        "applications/sms_not_received.html", service=_service(slug), challenge=challenge,
        status=codes.status(challenge.iin, purpose=challenge.purpose, document_sha256=challenge.document_sha256),
    )
