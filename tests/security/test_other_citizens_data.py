"""Every route that takes an identifier, tried by citizen B with citizen A's:
not found, and nothing of A's on the page. A new identifier route fails the
coverage test until it is added here."""

from __future__ import annotations

from tests.conftest import MOTHER_WITH_BABY, csrf_token
from tests.security.conftest import ACCOUNT, CHILD_CARE, changed_tables, fingerprint, production_app

# Routes whose identifier names something of one citizen's: B must get 404
# (or 403) for A's. Each builds its URL from the victim's data.
OWNED = {
    "history.application": lambda v: f"{ACCOUNT}/applications/{v.number}",
    "history.sent": lambda v: f"{ACCOUNT}/applications/{v.number}/sent",
    "history.signed_xml": lambda v: f"{ACCOUNT}/applications/{v.number}/signed.xml",
    "history.provider_message_xml": lambda v: f"{ACCOUNT}/applications/{v.number}/provider-messages/{v.message_id}/signed.xml",
    "history.notification": lambda v: f"{ACCOUNT}/notifications/{v.notification_id}",
    "history.notification_xml": lambda v: f"{ACCOUNT}/notifications/{v.notification_id}/signed.xml",
    "requests.withdraw": lambda v: f"{ACCOUNT}/applications/{v.number}/withdraw",
    "requests.documents": lambda v: f"{ACCOUNT}/applications/{v.number}/documents",
    "requests.objection": lambda v: f"{ACCOUNT}/applications/{v.number}/objection",
    "requests.complaint": lambda v: f"{ACCOUNT}/applications/{v.number}/complaint",
    "requests.show": lambda v: f"{ACCOUNT}/requests/{v.request_number}",
    "requests.signed_xml": lambda v: f"{ACCOUNT}/requests/{v.request_number}/signed.xml",
    "requests.check": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}",
    "requests.document": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/request.xml",
    "requests.sign_with_eds": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/eds",
    "requests.send_sms_password": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/sms",
    "requests.enter_sms_password":
        lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/sms/{v.request_challenge}",
    "phone.confirm": lambda v: f"{ACCOUNT}/phone/confirm/{v.phone_challenge}",
    "applications.enter_sms_password":
        lambda v: f"/en/services/{CHILD_CARE}/apply/sign/sms/{v.application_challenge}",
    "applications.sms_not_received":
        lambda v: f"/en/services/{CHILD_CARE}/apply/sign/sms/{v.application_challenge}/not-received",
    "applications.finish_egov_mobile":
        lambda v: f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile/{v.application_signing}",
    "requests.sign_with_egov_mobile": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/egov-mobile",
    "requests.finish_egov_mobile":
        lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/egov-mobile/{v.request_signing}",
    "egov_mobile.page": lambda v: f"/en/egov-mobile/{v.application_signing}",
    "egov_mobile.qr": lambda v: f"/en/egov-mobile/{v.application_signing}/qr.png",
    "egov_mobile.cancel": lambda v: f"/en/egov-mobile/{v.request_signing}/cancel",
    "auth.finish_egov_mobile": lambda v: f"/en/login/egov-mobile/{v.login_signing}",
}
# Routes whose only identifier is a service (and a wizard step): the draft is
# looked up by the logged-in citizen's IIN, so B's request reaches B's own
# draft (or none), never A's. B must see nothing of A's and change nothing of A's.
SESSION_SCOPED = {
    "applications.before_you_start": lambda v: f"/en/services/{CHILD_CARE}/apply",
    "applications.start": lambda v: f"/en/services/{CHILD_CARE}/apply/start",
    "applications.step": lambda v: f"/en/services/{CHILD_CARE}/apply/{v.step_id}",
    "applications.check": lambda v: f"/en/services/{CHILD_CARE}/apply/check",
    "applications.document": lambda v: f"/en/services/{CHILD_CARE}/apply/application.xml",
    "applications.not_eligible": lambda v: f"/en/services/{CHILD_CARE}/apply/not-eligible",
    "applications.discard": lambda v: f"/en/services/{CHILD_CARE}/apply/discard",
    "applications.sign_with_eds": lambda v: f"/en/services/{CHILD_CARE}/apply/sign/eds",
    "applications.send_sms_password": lambda v: f"/en/services/{CHILD_CARE}/apply/sign/sms",
    "applications.sign_with_egov_mobile": lambda v: f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile",
}
# The eGov Mobile app's API: its identifier is a capability (random, in the QR code the citizen
# shows the app), not a citizen's page; API 2 also wants the bearer token API 1 gives.
CAPABILITIES = {
    "egov_mobile.api1": "what the QR code names: the app reads it without the citizen's session",
    "egov_mobile.api2": "the document, for the bearer token API 1 gave (test_egov_mobile.py refuses wrong tokens)",
}
# Identifiers that name nothing personal.
PUBLIC = {
    "catalogue.passport": "a service's public passport",
    "static": "the portal's own static files",
}
# Testers' tools, absent from production (test_production_has_no_sandbox_routes below).
SANDBOX_ONLY = {
    "sandbox.operator_application", "sandbox.operator_action", "sandbox.operator_auto",
    "sandbox.operator_signed_xml", "sandbox.certificate", "sandbox.key_file",
}


def identifier_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if set(rule.arguments) - {"lang_code"}}


def test_every_identifier_route_is_covered(app):
    found = identifier_endpoints(app)
    assert len(found) >= 35, sorted(found)  # the enumeration cannot come back empty
    known = set(OWNED) | set(SESSION_SCOPED) | set(PUBLIC) | SANDBOX_ONLY | set(CAPABILITIES)
    assert not found - known, f"identifier routes with no cross-citizen test: {sorted(found - known)}"
    assert not known - found, f"listed here but gone from the app: {sorted(known - found)}"


def _allows(app, endpoint: str, method: str) -> bool:
    return any(method in rule.methods for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)


def test_another_citizens_identifiers_are_not_found(app, victim, attacker):
    # A sees each of their own pages, so the URLs are right.
    for endpoint, url in OWNED.items():
        if _allows(app, endpoint, "GET"):
            own = victim.client.get(url(victim))
            assert own.status_code in (200, 302), (endpoint, own.status_code)
    before = fingerprint(app)
    token = csrf_token(attacker, f"{ACCOUNT}/requests")
    problems = []
    tried = 0
    for endpoint, url in OWNED.items():
        for method in ("GET", "POST"):
            if not _allows(app, endpoint, method):
                continue
            tried += 1
            data = {"csrf_token": token, "text": "x", "code": "123456", "signed_xml": "<x/>", "action": "continue"}
            response = attacker.open(url(victim), method=method, data=data if method == "POST" else None)
            body = response.get_data(as_text=True)
            if response.status_code not in (403, 404):
                problems.append(f"{method} {endpoint}: {response.status_code}")
            if victim.leaks(body):
                problems.append(f"{method} {endpoint} shows {victim.leaks(body)}")
    # A number typed into a query is not a way in either.
    response = attacker.get(f"{ACCOUNT}/requests/malfunction?application={victim.number}")
    if response.status_code != 404 or victim.leaks(response.text):
        problems.append(f"malfunction?application=: {response.status_code}")
    assert tried >= 25
    assert not problems, problems
    assert not changed_tables(before, fingerprint(app))


def test_service_routes_reach_only_the_citizens_own_draft(app, victim, attacker):
    before = fingerprint(app)
    token = csrf_token(attacker, f"{ACCOUNT}/requests")
    problems = []
    for endpoint, url in SESSION_SCOPED.items():
        for method in ("GET", "POST"):
            if not _allows(app, endpoint, method):
                continue
            data = {"csrf_token": token, "signed_xml": "<x/>", "action": "continue"}
            # "start" would make B's own draft: that is B's right, and not tried.
            if endpoint == "applications.start":
                continue
            response = attacker.open(url(victim), method=method, data=data if method == "POST" else None)
            body = response.get_data(as_text=True)
            if response.status_code >= 500:
                problems.append(f"{method} {endpoint}: {response.status_code}")
            if victim.leaks(body):
                problems.append(f"{method} {endpoint} shows {victim.leaks(body)}")
            if response.status_code == 302:
                followed = attacker.get(response.location)
                if victim.leaks(followed.text):
                    problems.append(f"{method} {endpoint} → {response.location} shows {victim.leaks(followed.text)}")
    assert not problems, problems
    # A's draft, attachments and challenges are all still there.
    assert not changed_tables(before, fingerprint(app))
    assert victim.client.get(f"/en/services/{CHILD_CARE}/apply/check").status_code == 200


def test_anonymous_visitors_get_the_login_page_for_every_owned_route(app, victim):
    anonymous = app.test_client()
    for endpoint, url in {**OWNED, **SESSION_SCOPED}.items():
        method = "GET" if _allows(app, endpoint, "GET") else "POST"
        response = anonymous.open(url(victim), method=method)
        # POST without a session is refused by CSRF first (400); GET goes to the login page.
        assert response.status_code in (302, 400), (endpoint, response.status_code)
        if response.status_code == 302:
            assert response.location.startswith("/en/login?next="), (endpoint, response.location)
        assert not victim.leaks(response.get_data(as_text=True)), endpoint


SANDBOX_PATHS = [
    "/sandbox/citizens", "/sandbox/citizens.json", "/sandbox/sms", "/sandbox/sms.json", "/sandbox/operator",
    "/en/sandbox/citizens", "/en/sandbox/operator", "/en/sandbox/sms",
    "/en/sandbox/operator/applications/2026-0000001", "/en/sandbox/operator/applications/2026-0000001/signed.xml",
    "/sandbox/pki/ca.crt", "/sandbox/pki/crl", "/sandbox/pki/keys/900517401370/sign/normal.p12",
]


def test_production_has_no_sandbox_pages(tmp_path, monkeypatch):
    app = production_app(tmp_path, monkeypatch)
    assert not [rule.rule for rule in app.url_map.iter_rules() if "sandbox" in rule.rule]
    client = app.test_client(use_cookies=False)
    for path in SANDBOX_PATHS:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text or path.startswith("/sandbox/"), path  # unprefixed: Kazakh
        assert MOTHER_WITH_BABY not in response.text
    for post in ("/sandbox/pki/ocsp", "/en/sandbox/sms/offer", "/en/sandbox/sms/reply",
                 "/en/sandbox/operator/applications/2026-0000001/registered"):
        assert client.post(post).status_code == 404, post
