"""Login and logout pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.auth import bp, current_citizen, log_in, log_out, safe_next
from webapp.auth.forms import LoginForm
from webapp.extensions import db, limiter
from webapp.models import CitizenAccount, utcnow


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
            account.last_login_at = utcnow()
            db.session.commit()
            log_in(account.iin)
            flash(_("You are logged in."), "success")
            return redirect(next_url or url_for("account.index"))
        form.password.errors.append(_("The IIN or password is wrong. Check them and try again."))
    form.password.data = ""
    return render_template("auth/login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session and return to the home page."""
    log_out()
    flash(_("You have logged out."), "success")
    return redirect(url_for("home.index"))
