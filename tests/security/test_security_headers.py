"""Security headers: the exact Content-Security-Policy, framing, sniffing,
referrer, HSTS in production only, the session cookie's flags, no caching of
personal pages, and Vary on pages that also serve htmx fragments."""

from __future__ import annotations

import re

from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD
from tests.security.conftest import ACCOUNT, CHILD_CARE, production_app

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "form-action": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def directives(policy: str) -> dict[str, str]:
    found = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        assert name not in found, f"{name} twice"
        found[name] = value.strip()
    return found


def check_policy(response, ncalayer: str) -> None:
    policy = response.headers["Content-Security-Policy"]
    found = directives(policy)
    assert found == {**EXPECTED_CSP, "connect-src": f"'self' {ncalayer}"}, found
    for weak in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "strict-dynamic", "*", "http:", "https:"):
        assert weak not in policy.replace(ncalayer, ""), weak


def check_common(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")


def test_every_kind_of_page_has_the_headers(app, victim):
    client = victim.client
    pages = [
        "/en/", "/en/services", f"/en/services/{CHILD_CARE}", "/en/login", "/en/verify", "/en/no-such-page",
        ACCOUNT, f"{ACCOUNT}/history", f"{ACCOUNT}/applications/{victim.number}",
        f"{ACCOUNT}/applications/{victim.number}/signed.xml", f"/en/services/{CHILD_CARE}/apply/check",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 302, 404), path
        check_policy(response, app.config["NCALAYER_URL"])
        check_common(response)
    # Error pages made by handlers (400 from CSRF, 405) carry them too.
    for response in (client.post(f"{ACCOUNT}/phone"), client.get("/en/logout")):
        assert response.status_code in (400, 405)
        check_policy(response, app.config["NCALAYER_URL"])
        check_common(response)


def test_the_sandbox_over_http_sends_no_hsts_and_no_secure_cookie(app, client):
    response = client.get("/en/login")
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served on plain http on 127.0.0.1


def test_production_sends_hsts_and_secure_cookies_and_its_ncalayer(tmp_path, monkeypatch):
    app = production_app(tmp_path, monkeypatch, NCALAYER_URL="wss://127.0.0.1:13579")
    client = app.test_client()
    https = {"wsgi.url_scheme": "https"}
    page = client.get("/en/login", environ_overrides=https)
    assert page.status_code == 200
    hsts = page.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000 and "includeSubDomains" in hsts
    check_policy(page, "wss://127.0.0.1:13579")
    check_common(page)
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("qyzmet_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie, flag
    assert "Domain=" not in cookie  # host-only
    # Logging in over https works with those cookies (and WTF_CSRF_SSL_STRICT's Referer check).
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/en/login", data={"csrf_token": token, "iin": MOTHER_WITH_BABY,
                                              "password": SANDBOX_PASSWORD},
                           headers={"Referer": "https://localhost/en/login"}, environ_overrides=https)
    assert response.status_code == 302, response.text[:500]
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    account = client.get("/en/account", environ_overrides=https)
    assert account.status_code == 200
    assert "no-store" in account.headers["Cache-Control"]
    # A cross-site form post is refused even with a valid token (no Referer, or another site's).
    for referer in (None, "https://evil.example/en/login"):
        headers = {"Referer": referer} if referer else {}
        refused = client.post("/en/account/phone", data={"csrf_token": token, "phone": "+7 705 111 22 33"},
                              headers=headers, environ_overrides=https)
        assert refused.status_code == 400, referer


def test_personal_pages_are_never_stored(app, victim):
    client = victim.client
    personal = [
        ACCOUNT, f"{ACCOUNT}/drafts", f"{ACCOUNT}/history", f"{ACCOUNT}/requests",
        f"{ACCOUNT}/applications/{victim.number}", f"{ACCOUNT}/applications/{victim.number}/sent",
        f"{ACCOUNT}/applications/{victim.number}/signed.xml",
        f"{ACCOUNT}/applications/{victim.number}/provider-messages/{victim.message_id}/signed.xml",
        f"{ACCOUNT}/notifications/{victim.notification_id}",
        f"{ACCOUNT}/notifications/{victim.notification_id}/signed.xml",
        f"{ACCOUNT}/requests/{victim.request_number}", f"{ACCOUNT}/requests/{victim.request_number}/signed.xml",
        f"{ACCOUNT}/requests/drafts/{victim.request_draft}",
        f"{ACCOUNT}/requests/drafts/{victim.request_draft}/request.xml",
        f"{ACCOUNT}/phone", f"{ACCOUNT}/phone/confirm/{victim.phone_challenge}",
        f"/en/services/{CHILD_CARE}/apply", f"/en/services/{CHILD_CARE}/apply/{victim.step_id}",
        f"/en/services/{CHILD_CARE}/apply/check", f"/en/services/{CHILD_CARE}/apply/application.xml",
        f"/en/services/{CHILD_CARE}/apply/sign/sms/{victim.application_challenge}",
        # A public page seen by a logged-in citizen shows their name in the header.
        "/en/services",
    ]
    problems = []
    for path in personal:
        response = client.get(path)
        if response.status_code != 200:
            problems.append(f"{path}: {response.status_code}")
            continue
        if "no-store" not in response.headers.get("Cache-Control", ""):
            problems.append(f"{path}: Cache-Control {response.headers.get('Cache-Control')!r}")
    assert not problems, problems


def test_public_pages_may_be_revalidated_but_not_shared_once_logged_in(app, client):
    response = client.get("/en/services")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "no-store" not in response.headers["Cache-Control"]


def test_pages_that_serve_fragments_vary_on_hx_request(app, victim):
    client = victim.client
    for path in (f"{ACCOUNT}/history", "/en/services", f"/en/services/{CHILD_CARE}/apply/{victim.step_id}",
                 f"/en/services/{CHILD_CARE}/apply/check",
                 f"/en/services/{CHILD_CARE}/apply/sign/sms/{victim.application_challenge}"):
        whole = client.get(path)
        part = client.get(path, headers={"HX-Request": "true"})
        assert whole.status_code == part.status_code == 200, path
        for response in (whole, part):
            vary = {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}
            assert "hx-request" in vary, (path, response.headers.get("Vary"))
            assert "cookie" in vary, (path, response.headers.get("Vary"))
