"""Login and logout pages."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.auth import current_citizen, eds, log_in, log_out, safe_next
from webapp.auth.forms import LoginForm
from webapp.egov_mobile import pages as egov_pages
from webapp.egov_mobile import sessions as egov_sessions
from webapp.extensions import db, limiter
from webapp.clock import now
from webapp.i18n import current_language
from webapp.models import CitizenAccount
from webapp.signatures import Purpose, Refused, refusal_message

bp = Blueprint("auth", __name__, url_prefix="/<lang_code>")
# What the eGov Mobile app calls the login challenge.
LOGIN_NAME = _l("Logging in to the Qyzmet portal")


def _failed(response) -> bool:
    """Only failed attempts count against the limits (a success redirects)."""
    return response.status_code != 302


def _submitted_iin() -> str:
    """Rate-limit key: the IIN being tried, so one account is not guessed from many places."""
    return "iin:" + "".join(c for c in request.form.get("iin", "") if c.isdigit())


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_failed
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IIN"],
    methods=["POST"],
    key_func=_submitted_iin,
    deduct_when=_failed,
)
def login():
    """Log in with IIN and password."""
    form = LoginForm()
    next_url = safe_next(request.values.get("next"))
    if current_citizen() is not None and request.method == "GET":
        return redirect(next_url or url_for("account.index"))
    if form.validate_on_submit():
        account = db.session.scalar(db.select(CitizenAccount).filter_by(iin=form.iin.data))
        if account and account.check_password(form.password.data):
            account.last_login_at = now()
            db.session.commit()
            log_in(account.iin)
            flash(_("You are logged in."), "success")
            return redirect(next_url or url_for("account.index"))
        form.password.errors.append(_("The IIN or password is wrong. Check them and try again."))
    form.password.data = ""
    return _login_page(form, next_url)


def _login_page(form: LoginForm, next_url: str | None, eds_error: str | None = None):
    return render_template(
        "auth/login.html", form=form, next_url=next_url, challenge=eds.new_challenge(), eds_error=eds_error
    )


@bp.route("/login/eds/challenge.xml")
def eds_challenge():
    """The one-time document a citizen signs with their authentication key to log in."""
    try:
        body = eds.challenge_document(request.args.get("token", ""))
    except Refused:
        return Response(status=404)
    return Response(body, mimetype="application/xml", headers={"Cache-Control": "no-store"})


@bp.route("/login/eds", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], deduct_when=_failed)
def login_with_eds():
    """Log in with the signed challenge: the session belongs to the certificate's IIN."""
    next_url = safe_next(request.form.get("next"))
    try:
        iin = eds.log_in_with(request.form.get("challenge", ""), request.form.get("signed_xml", "").encode("utf-8"))
    except Refused as refusal:
        current_app.logger.info("EDS login refused: %s (%s)", refusal.reason, refusal.detail)
        return _login_page(LoginForm(formdata=None), next_url, refusal_message(refusal.reason, Purpose.LOG_IN))
    log_in(iin)
    flash(_("You are logged in."), "success")
    return redirect(next_url or url_for("account.index"))


@bp.route("/login/egov-mobile", methods=["POST"])
@egov_pages.code_limits
def login_with_egov_mobile():
    """A one-time QR code and link for the eGov Mobile app to sign a login challenge with the authentication key."""
    challenge = eds.new_challenge()
    record = egov_sessions.open_session(
        egov_sessions.LOG_IN, "login", eds.challenge_document(challenge), iin=None, language=current_language(),
        names=egov_sessions.names_in_every_language(LOGIN_NAME), challenge=challenge,
    )
    egov_pages.remember_login(record)
    return redirect(egov_pages.page_url(record))


@bp.route("/login/egov-mobile/<public_id>", methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], deduct_when=_failed)
def finish_egov_mobile(public_id: str):
    """Log in with the challenge eGov Mobile signed (the page posts here once it has it)."""
    record = egov_pages.owned(public_id, egov_sessions.LOG_IN)
    if record.state != egov_sessions.SIGNED:
        return egov_pages.go_to(egov_pages.page_url(record))
    try:
        iin = eds.log_in_with(record.challenge, record.signed_xml)
    except Refused as refusal:
        current_app.logger.info("eGov Mobile login refused: %s (%s)", refusal.reason, refusal.detail)
        return _login_page(LoginForm(formdata=None), None, refusal_message(refusal.reason, Purpose.LOG_IN))
    egov_sessions.use(record)
    log_in(iin)
    flash(_("You are logged in."), "success")
    return egov_pages.go_to(url_for("account.index"))


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session and return to the home page."""
    log_out()
    flash(_("You have logged out."), "success")
    return redirect(url_for("home.index"))
