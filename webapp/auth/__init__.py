"""Logging in and out, and knowing who the citizen is."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from webapp.registries import Person

def current_citizen() -> Person | None:
    """The logged-in citizen as the registries know them, or None."""
    if "citizen" not in g:
        iin = session.get("citizen_iin")
        g.citizen = iin and current_app.extensions["state_registries"].person(iin)
    return g.citizen or None


def log_in(iin: str) -> None:
    """Start a fresh session for the citizen: a new id, so a planted one is useless."""
    session.clear()
    session["citizen_iin"] = iin
    current_app.session_interface.regenerate(session)
    g.pop("citizen", None)


def log_out() -> None:
    """End the session on the server, not only in the browser: its row goes and
    the browser gets a new id, so the old cookie names nothing any more."""
    current_app.session_interface.regenerate(session)  # before clear(): it skips an empty session
    session.clear()
    g.pop("citizen", None)


def safe_next(target: str | None) -> str | None:
    """A same-site path to go back to after logging in, or None."""
    if not target:
        return None
    # Browsers read a backslash as a slash and drop tabs and newlines ("/\\host",
    # "/\t/host" are other hosts), and a CR or LF cannot go into a Location header.
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def login_required(view):
    """Send a citizen who is not logged in to the login page, then back here."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_citizen() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        g.personal = True
        return view(*args, **kwargs)

    return wrapped

