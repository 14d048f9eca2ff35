"""The home page and the language-less root."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from webapp.i18n import best_language
from webapp.services import LIFE_SITUATIONS, catalogue

bp = Blueprint("home", __name__)


@bp.route("/")
def root():
    """Send the visitor to the home page in their browser's language."""
    return redirect(url_for("home.index", lang_code=best_language()))


@bp.route("/<lang_code>/")
def index():
    """The home page: what the portal offers, by life situation."""
    counts = {key: sum(key in p.life_situations for p in catalogue()) for key in LIFE_SITUATIONS}
    return render_template("home.html", situations=LIFE_SITUATIONS, counts=counts)
