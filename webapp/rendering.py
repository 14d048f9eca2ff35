"""One template serves the page and, to htmx, a fragment of it."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from jinja2_fragments.flask import render_block


def render_page(template: str, fragment: str | None = None, **context) -> str:
    """The whole page, or only its `fragment` block for an htmx request that targets it."""
    if fragment and request.htmx and request.htmx.target == fragment.replace("_", "-"):
        return render_block(template, fragment, as_fragment=True, **context)
    return render_template(template, **context)


def init_app(app: Flask) -> None:
    """A whole page sent to an htmx request aimed at a fragment replaces the whole body instead."""

    @app.after_request
    def retarget_whole_pages(response: Response) -> Response:
        if (
            request.htmx
            and request.htmx.target
            and response.mimetype == "text/html"
            and not response.is_streamed
            and response.get_data()[:15].lower() == b"<!doctype html>"
        ):
            response.headers["HX-Retarget"] = "body"
            response.headers["HX-Reswap"] = "innerHTML show:window:top"
        if response.mimetype == "text/html":
            response.vary.add("HX-Target")
        return response
