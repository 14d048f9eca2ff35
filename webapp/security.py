"""Security headers on every response; personal pages are never cached."""

from __future__ import annotations

from flask import Flask, Response, g, session

# NCALayer listens on the citizen's own machine; the signing pages talk to it.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self' wss://127.0.0.1:13579 ws://127.0.0.1:13579",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
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
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not app.config["SANDBOX"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if response.mimetype == "text/html":
            # One URL serves a whole page or, to htmx, a fragment of it.
            response.vary.add("HX-Request")
            if g.get("personal") or session.get("citizen_iin"):
                response.headers["Cache-Control"] = "no-store"
                response.vary.add("Cookie")
            elif "Cache-Control" not in response.headers:
                response.headers["Cache-Control"] = "no-cache"
        return response
