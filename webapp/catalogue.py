"""The catalogue of services and each service's passport."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from webapp import text_input
from webapp.rendering import render_page
from webapp.services import CHANNELS, LIFE_SITUATIONS, catalogue, find, search

bp = Blueprint("catalogue", __name__, url_prefix="/<lang_code>/services")


@bp.route("")
def index():
    """List the services, filtered by life situation and a search."""
    # Searched, not stored: what a signed document could not carry is just left out.
    query = text_input.without_unwritable(text_input.neutralise(request.args.get("q"))).strip()[:100]
    situation = request.args.get("situation", "")
    if situation not in LIFE_SITUATIONS:
        situation = ""
    return render_page(
        "catalogue/index.html",
        fragment="service_results",
        services=search(query, situation),
        total=len(catalogue()),
        query=query,
        situation=situation,
        situations=LIFE_SITUATIONS,
    )


@bp.route("/<slug>")
def passport(slug: str):
    """A service's passport, with the Request Online button."""
    service = find(slug) or abort(404)
    return render_template("catalogue/passport.html", service=service, channels=CHANNELS)

