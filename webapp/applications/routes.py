"""Request Online: the wizard's pages. Views stay thin; filling.py does the work."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.applications import drafts, submission
from webapp.applications.filling import CONFIRM_CHOICES, ApplicationInProgress, anchor
from webapp.auth import current_citizen, login_required
from webapp.clock import now, today
from webapp.egov_mobile import pages as egov_pages
from webapp.egov_mobile import sessions as egov_sessions
from webapp.i18n import current_language, translate_text
from webapp.rendering import render_page
from webapp.services import find
from webapp.signatures import Purpose, Refused, refusal_message
from webapp.sms import codes
from webapp.sms.pages import PasswordPage, sms_limits, sms_option
from webapp.sms.signing import Confirming, confirmation, outcome_message
from webapp.sms.signing import refusal_message as sms_refusal_message

bp = Blueprint("applications", __name__, url_prefix="/<lang_code>/services/<slug>/apply")
ALREADY_SENT = _l("This signed document had already been sent: this is the application it made. It was not sent twice.")


def _service(slug: str):
    service = find(slug)
    if service is None or service.wizard is None:
        abort(404)
    return service


def _in_progress(slug: str) -> ApplicationInProgress | None:
    """The citizen's application in progress for this service, or None without a draft."""
    service = _service(slug)
    citizen = current_citizen()
    draft = drafts.find(citizen.iin, slug)
    if draft is None:
        return None
    return ApplicationInProgress(
        service, draft, citizen, current_app.extensions["state_registries"], today(), current_language()
    )


def _ready_to_sign(slug: str) -> ApplicationInProgress:
    """The application in progress with every step answered; else the redirect to where it stands is raised."""
    application = _in_progress(slug)
    if application is None:
        abort(redirect(url_for("applications.before_you_start", slug=slug)))
    where = application.where_to_go()
    if where != "check":
        abort(_go(slug, where))
    return application


def _go(slug: str, where: str):
    """Redirect to a step id, or to 'check' / 'not-eligible'."""
    if where == "check":
        return redirect(url_for("applications.check", slug=slug))
    if where == "not-eligible":
        return redirect(url_for("applications.not_eligible", slug=slug))
    return redirect(url_for("applications.step", slug=slug, step_id=where))


@bp.route("")
@login_required
def before_you_start(slug: str):
    """Before you start: who may apply online, and resume or restart a saved draft."""
    service = _service(slug)
    draft = drafts.find(current_citizen().iin, slug)
    expiring = draft is not None and draft.expires_within(drafts.warning_period(), now())
    return render_page("applications/start.html", service=service, draft=draft, expiring=expiring)


@bp.route("/start", methods=["POST"])
@login_required
def start(slug: str):
    """Start a new draft, or resume the saved one."""
    _service(slug)
    citizen = current_citizen()
    if request.form.get("action") != "resume" or drafts.find(citizen.iin, slug) is None:
        drafts.start(citizen.iin, slug)
    return _go(slug, _in_progress(slug).where_to_go())


@bp.route("/<step_id>", methods=["GET", "POST"])
@login_required
def step(slug: str, step_id: str):
    """One step of the wizard: a question, or registry facts to confirm."""
    application = _in_progress(slug)
    if application is None:
        return redirect(url_for("applications.before_you_start", slug=slug))
    current = application.wizard.step(step_id) or abort(404)
    if not application.eligible:
        return _go(slug, "not-eligible")
    if not application.progress.may_open(current):
        # No skipping ahead by URL: go to the first step still to answer.
        return _go(slug, application.where_to_go())
    return_to_check = request.args.get("return") == "check"
    if request.method == "POST":
        outcome = application.submit(current, request.form, request.files)
        if outcome.saved:
            return _go(slug, application.after(current, return_to_check))
        values, errors = outcome.values, outcome.errors
    else:
        values, errors = application.values_for(current), application.saved_problems(current)
    number, total = application.progress.position(current)
    previous = application.progress.previous(current)
    back = (
        url_for("applications.check", slug=slug) if return_to_check
        else url_for("applications.step", slug=slug, step_id=previous.id) if previous
        else url_for("applications.before_you_start", slug=slug)
    )
    return render_page(
        "applications/step.html",
        fragment="wizard",
        application=application,
        service=application.passport,
        step=current,
        values=values,
        errors=[{"text": text, "href": f"#{target}"} for target, text in errors],
        error_for=dict(errors),
        has_errors=bool(errors),
        number=number,
        total=total,
        back=back,
        return_to_check=return_to_check,
        anchor=anchor,
        confirm_choices=CONFIRM_CHOICES,
    )


@bp.route("/check")
@login_required
def check(slug: str):
    """Check your answers before signing, with a Change link for each."""
    return _check_page(_ready_to_sign(slug))


def _check_page(application: ApplicationInProgress, error: str | None = None, anchor: str = "#sign-with-eds"):
    last = application.progress.visible[-1]
    return render_page(
        "applications/check.html",
        fragment="wizard",
        application=application,
        service=application.passport,
        sections=application.summary(),
        back=url_for("applications.step", slug=application.passport.slug, step_id=last.id),
        errors=[{"text": error, "href": anchor}] if error else [],
        has_errors=bool(error),
        **sms_option(application.person.iin),
    )


def _send_signed(slug: str, signed_xml: bytes, on_sent=None):
    """Send the application with the citizen's signature (NCALayer's or eGov Mobile's): the confirmation,
    or the check page saying why not."""
    citizen = current_citizen()
    application = _in_progress(slug)
    if application is None:
        # Sent already (a second click, a retried request): show what was sent, and say so.
        sent = submission.already_sent(citizen.iin, signed_xml)
        if sent is not None:
            flash(str(ALREADY_SENT), "success")
            return redirect(url_for("history.sent", number=sent.number))
        return redirect(url_for("applications.before_you_start", slug=slug))
    if application.where_to_go() != "check":
        return _go(slug, application.where_to_go())
    if not signed_xml.strip():
        return _check_page(application, refusal_message("not_signed"))
    try:
        sent = submission.send(application, signed_xml)
    except Refused as refusal:
        reason = refusal.reason
        if reason == "document_mismatch" and submission.already_sent(citizen.iin, signed_xml) is not None:
            reason = "replayed"  # the signature of an application sent before, not of this one
        current_app.logger.info("EDS signature refused: %s (%s)", reason, refusal.detail)
        return _check_page(application, refusal_message(reason, Purpose.SIGN))
    if on_sent is not None:
        on_sent()
    return redirect(url_for("history.sent", number=sent.number))


@bp.route("/sign/eds", methods=["POST"])
@login_required
def sign_with_eds(slug: str):
    """Receive the application signed by NCALayer, verify it and send it."""
    _service(slug)
    return _send_signed(slug, request.form.get("signed_xml", "").encode("utf-8"))


# ── signing with eGov Mobile (webapp/egov_mobile/) ──


@bp.route("/sign/egov-mobile", methods=["POST"])
@login_required
@egov_pages.code_limits
def sign_with_egov_mobile(slug: str):
    """A one-time QR code and link for the eGov Mobile app to sign the application as it stands now."""
    service = _service(slug)
    application = _ready_to_sign(slug)
    record = egov_sessions.open_session(
        egov_sessions.SIGN_APPLICATION, f"application:{slug}", application.document().to_xml(),
        iin=application.person.iin, language=current_language(),
        names=egov_sessions.names_in_every_language(service.short_name),
    )
    return redirect(egov_pages.page_url(record))


@bp.route("/sign/egov-mobile/<public_id>", methods=["POST"])
@login_required
def finish_egov_mobile(slug: str, public_id: str):
    """Send the application with the signature eGov Mobile gave (the page posts here once it has one)."""
    _service(slug)
    record = egov_pages.owned(public_id, egov_sessions.SIGN_APPLICATION, f"application:{slug}")
    return egov_pages.finish(record, lambda signed_xml, on_sent: _send_signed(slug, signed_xml, on_sent=on_sent))


@bp.route("/application.xml")
@login_required
def document(slug: str):
    """The application XML the citizen will sign, exactly as it will be signed."""
    application = _ready_to_sign(slug)
    body = application.document().to_xml()
    response = Response(body, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="application-{slug}.xml"'
    return response


@bp.route("/not-eligible")
@login_required
def not_eligible(slug: str):
    """Why the citizen cannot apply online, and how to apply in person instead."""
    application = _in_progress(slug)
    if application is None:
        return redirect(url_for("applications.before_you_start", slug=slug))
    if application.eligible:
        return _go(slug, application.where_to_go())
    answered = [s for s in application.progress.visible if application.progress.answered(s)]
    back = (
        url_for("applications.step", slug=slug, step_id=answered[-1].id) if answered
        else url_for("applications.before_you_start", slug=slug)
    )
    return render_page(
        "applications/not_eligible.html",
        fragment="wizard",
        service=application.passport,
        reasons=application.not_eligible_reasons(),
        back=back,
    )


@bp.route("/discard", methods=["POST"])
@login_required
def discard(slug: str):
    """Delete the saved draft of this application."""
    _service(slug)
    draft = drafts.find(current_citizen().iin, slug)
    if draft is not None:
        drafts.delete(draft)
    return redirect(url_for("account.drafts"))



# ── signing with an SMS password (webapp/sms/signing.py, webapp/sms/pages.py) ──


def _confirming(application: ApplicationInProgress, issued: bytes) -> Confirming:
    """The password for the application as it stands now (a draft is one per citizen and service)."""
    return Confirming.document(application.person.iin, codes.SIGN_APPLICATION, issued,
                               f"application:{application.passport.slug}")


@bp.route("/sign/sms", methods=["POST"])
@login_required
@sms_limits("issue")
def send_sms_password(slug: str):
    """Send a one-time password for the application as it stands now."""
    application = _ready_to_sign(slug)
    issued = application.document().to_xml()
    result = _confirming(application, issued).issue(
        codes.signing_text(application.passport.short_name, application.language))
    if not result.ok:
        earlier = codes.get(request.form.get("challenge", ""), application.person.iin)
        if earlier is not None:
            # Asked again from the password page: say why there, not on the check page.
            return _password_page(slug, earlier, sms_refusal_message(result), anchor="#sms-status")
        return _check_page(application, sms_refusal_message(result), anchor="#sign-with-sms")
    return redirect(url_for("applications.enter_sms_password", slug=slug, challenge_id=result.id))


def _challenge(challenge_id: str) -> codes.Challenge:
    found = codes.get(challenge_id, current_citizen().iin)
    if found is None or found.purpose != codes.SIGN_APPLICATION:
        abort(404)
    return found


def _password_page(slug: str, challenge: codes.Challenge, error: str | None = None, entered: str = "",
                   anchor: str = "#code"):
    service = _service(slug)
    page = PasswordPage(
        caption=translate_text(service.short_name),
        back=url_for("applications.check", slug=slug),
        intro=_("We sent a one-time password of 6 digits to %(phone)s, the phone registered for your IIN. It works once, for 5 minutes, and only for this application.", phone=challenge.masked_phone),
        confirm=_("By signing, you confirm that the information in the application is true."),
        enter_url=url_for("applications.enter_sms_password", slug=slug, challenge_id=challenge.id),
        resend_url=url_for("applications.send_sms_password", slug=slug),
        not_received_url=url_for("applications.sms_not_received", slug=slug, challenge_id=challenge.id),
    )
    return page.render(challenge, error, entered, anchor)


@bp.route("/sign/sms/<challenge_id>", methods=["GET", "POST"])
@login_required
@sms_limits("enter")
def enter_sms_password(slug: str, challenge_id: str):
    """Enter the password from the SMS to sign and send the application."""
    challenge = _challenge(challenge_id)
    application = _in_progress(slug)
    if application is None:
        sent = submission.sent_by_sms(challenge) if challenge.used else None
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
    outcome = _confirming(application, issued).enter(challenge.id, entered, commit=False)
    if not outcome.ok:
        return _password_page(slug, _challenge(challenge_id), outcome_message(outcome), entered)
    sent = submission.send_confirmed_by_sms(application, issued, confirmation(challenge))
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
