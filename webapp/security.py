"""Security headers on every response; personal pages are never cached."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, Response, g, session


@lru_cache(maxsize=4)
def content_security_policy(ncalayer_url: str) -> str:
    """No inline script, no eval; scripts may talk only to us and to NCALayer,
    which listens on the citizen's own machine."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {ncalayer_url}",
            "form-action 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def mark_personal() -> None:
    """Say that the page being built shows personal data."""
    g.personal = True


def init_app(app: Flask) -> None:
    """Add the headers after every request."""

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", content_security_policy(app.config["NCALAYER_URL"]))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not app.config["SANDBOX"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if g.get("personal") and response.mimetype != "text/html":
            # A download behind a login (an application's XML) is personal too.
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        if response.mimetype == "text/html":
            # One URL serves a whole page or, to htmx, a fragment of it.
            response.vary.add("HX-Request")
            if g.get("personal") or session.get("citizen_iin"):
                response.headers["Cache-Control"] = "no-store"
                response.vary.add("Cookie")
            elif "Cache-Control" not in response.headers:
                response.headers["Cache-Control"] = "no-cache"
        return response
