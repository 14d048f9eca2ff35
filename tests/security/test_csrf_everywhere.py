"""Every route that changes something refuses a request without the CSRF
token, or with a wrong one, from the owner's own valid session: the
translated 400 page, and nothing changed in the database. A new POST route
fails the coverage test until it is listed here (protected or exempt with
its reason)."""

from __future__ import annotations

from tests.conftest import csrf_token
from tests.security.conftest import ACCOUNT, CHILD_CARE, changed_tables, fingerprint

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Every route that accepts an unsafe method, with a URL naming the victim's
# real data, so that a missing check would really act.
PROTECTED = {
    "auth.login": lambda v: "/en/login",
    "auth.login_with_eds": lambda v: "/en/login/eds",
    "auth.logout": lambda v: "/en/logout",
    "applications.start": lambda v: f"/en/services/{CHILD_CARE}/apply/start",
    "applications.step": lambda v: f"/en/services/{CHILD_CARE}/apply/{v.step_id}",
    "applications.discard": lambda v: f"/en/services/{CHILD_CARE}/apply/discard",
    "applications.sign_with_eds": lambda v: f"/en/services/{CHILD_CARE}/apply/sign/eds",
    "applications.send_sms_password": lambda v: f"/en/services/{CHILD_CARE}/apply/sign/sms",
    "applications.enter_sms_password":
        lambda v: f"/en/services/{CHILD_CARE}/apply/sign/sms/{v.application_challenge}",
    "phone.change": lambda v: f"{ACCOUNT}/phone",
    "phone.confirm": lambda v: f"{ACCOUNT}/phone/confirm/{v.phone_challenge}",
    "requests.withdraw": lambda v: f"{ACCOUNT}/applications/{v.number}/withdraw",
    "requests.documents": lambda v: f"{ACCOUNT}/applications/{v.number}/documents",
    "requests.objection": lambda v: f"{ACCOUNT}/applications/{v.number}/objection",
    "requests.complaint": lambda v: f"{ACCOUNT}/applications/{v.number}/complaint",
    "requests.malfunction": lambda v: f"{ACCOUNT}/requests/malfunction",
    "requests.sign_with_eds": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/eds",
    "requests.send_sms_password": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/sms",
    "requests.enter_sms_password":
        lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/sms/{v.request_challenge}",
    "verify_document.index": lambda v: "/en/verify",
    "sandbox.offer_service": lambda v: "/en/sandbox/sms/offer",
    "sandbox.reply_from_phone": lambda v: "/en/sandbox/sms/reply",
    "sandbox.operator_action": lambda v: f"/en/sandbox/operator/applications/{v.number}/assigned",
    "sandbox.operator_auto": lambda v: f"/en/sandbox/operator/applications/{v.number}/auto",
    "applications.sign_with_egov_mobile": lambda v: f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile",
    "applications.finish_egov_mobile":
        lambda v: f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile/{v.application_signing}",
    "requests.sign_with_egov_mobile": lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/egov-mobile",
    "requests.finish_egov_mobile":
        lambda v: f"{ACCOUNT}/requests/drafts/{v.request_draft}/sign/egov-mobile/{v.request_signing}",
    "auth.login_with_egov_mobile": lambda v: "/en/login/egov-mobile",
    "auth.finish_egov_mobile": lambda v: f"/en/login/egov-mobile/{v.login_signing}",
    "egov_mobile.cancel": lambda v: f"/en/egov-mobile/{v.application_signing}/cancel",
    "sandbox.egov_mobile": lambda v: "/en/sandbox/egov-mobile",
}
# Posted by machines, not browser forms, so no session can be ridden.
EXEMPT = {
    "provider.receive_message": "the provider posts signed XML; its XML signature, by a key of a "
                                "configured provider BIN, is the authentication (webapp/provider)",
    "sandbox.ocsp": "OCSP clients post DER requests; the answer is public and signed (sandbox only)",
    "egov_mobile.api2": "the eGov Mobile app PUTs the signed JSON; the session's bearer token from API 1 "
                        "authenticates it, and the citizen's signature over the issued document is checked",
}

# What the refusal page says, by what is wrong with the token.
EXPIRED = "Your page was open too long"
MISSING = "The form came without its security code"
FOREIGN = "This form was not opened in this session"

# What a form would carry, so the only thing missing is the token.
FORM = {
    "iin": "900517401370", "password": "Sandbox1!", "action": "continue", "text": "CSRF text", "code": "123456",
    "signed_xml": "<x/>", "phone": "+7 705 111 22 33", "service": CHILD_CARE, "confirmed": "yes",
    "reply": "YES", "amount": "1000", "reason": "CSRF",
}


def unsafe_endpoints(app) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods = rule.methods & UNSAFE
        if methods:
            found.setdefault(rule.endpoint, set()).update(methods)
    return found


def test_csrf_is_on(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


def test_every_unsafe_route_is_listed(app):
    found = unsafe_endpoints(app)
    assert len(found) >= 25, sorted(found)  # the enumeration cannot come back empty
    assert not set(found) - set(PROTECTED) - set(EXEMPT), (
        f"POST routes neither tested for CSRF nor exempt with a reason: {sorted(set(found) - set(PROTECTED) - set(EXEMPT))}"
    )
    assert not (set(PROTECTED) | set(EXEMPT)) - set(found), "listed here but gone from the app"
    # Exactly the listed routes are exempt in code.
    csrf = app.extensions["csrf"]
    exempt_in_code = {view for view in csrf._exempt_views}
    assert {endpoint for endpoint in found if _view_name(app, endpoint) in exempt_in_code} == set(EXEMPT)


def _view_name(app, endpoint: str) -> str:
    view = app.view_functions[endpoint]
    return f"{view.__module__}.{view.__name__}"


def test_every_unsafe_route_refuses_a_missing_or_wrong_token(app, victim):
    client = victim.client
    # A real token exists in the session (so "wrong" is really wrong, not absent).
    real = csrf_token(client, f"{ACCOUNT}/requests")
    before = fingerprint(app)
    problems = []
    tried = 0
    for endpoint, methods in sorted(unsafe_endpoints(app).items()):
        if endpoint in EXEMPT:
            continue
        url = PROTECTED[endpoint](victim)
        for method in sorted(methods):
            for token, said in ((None, MISSING), ("wrong-" + real[6:], FOREIGN), (real[:-4] + "AAAA", FOREIGN),
                                ("", MISSING)):
                data = dict(FORM) if token is None else {**FORM, "csrf_token": token}
                tried += 1
                response = client.open(url, method=method, data=data,
                                       headers={"Referer": "http://localhost/en/account"})
                body = response.get_data(as_text=True)
                if response.status_code != 400 or said not in body:
                    problems.append(f"{method} {endpoint} token={token!r}: {response.status_code}")
            # The header htmx would send is no way round it either.
            response = client.open(url, method=method, data=FORM, headers={"X-CSRFToken": "wrong", "HX-Request": "true"})
            if response.status_code != 400:
                problems.append(f"{method} {endpoint} X-CSRFToken: {response.status_code}")
    assert tried >= 4 * 24
    assert not problems, problems
    assert not changed_tables(before, fingerprint(app))
    # The session survived every refusal: the owner is still logged in and can act.
    assert client.get(f"{ACCOUNT}").status_code == 200


def test_the_csrf_page_is_translated(app, citizen_client):
    for lang, words in (("kk", None), ("ru", None), ("en", MISSING)):
        response = citizen_client.post(f"/{lang}/account/phone", data={"phone": "+7 705 111 22 33"})
        assert response.status_code == 400
        assert f'lang="{lang}"' in response.text
        if words:
            assert words in response.text
        else:
            assert MISSING not in response.text


def test_an_expired_token_says_the_page_was_open_too_long(app, citizen_client, monkeypatch):
    token = csrf_token(citizen_client, f"{ACCOUNT}/phone")
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", -1)  # every token is older than that
    response = citizen_client.post(f"{ACCOUNT}/phone", data={"csrf_token": token, "phone": "+7 705 111 22 33"})
    assert response.status_code == 400 and EXPIRED in response.text
    assert MISSING not in response.text and FOREIGN not in response.text


def test_a_token_of_an_earlier_session_says_so(app, attacker):
    """A form of a session the browser no longer has (logged in or out since, a lost cookie)."""
    theirs = csrf_token(attacker, f"{ACCOUNT}/phone")
    fresh = app.test_client()
    response = fresh.post("/en/login", data={"csrf_token": theirs, "iin": "900517401370", "password": "x"})
    assert response.status_code == 400 and "This form belongs to an earlier session" in response.text
    assert EXPIRED not in response.text


def test_a_token_from_another_session_is_refused(app, citizen_client, attacker):
    """B's valid token does not work in A's session (tokens are bound to the session)."""
    theirs = csrf_token(attacker, f"{ACCOUNT}/phone")
    csrf_token(citizen_client, f"{ACCOUNT}/phone")  # A's session has a token of its own
    before = fingerprint(app)
    response = citizen_client.post(f"{ACCOUNT}/phone", data={"csrf_token": theirs, "phone": "+7 705 111 22 33"})
    assert response.status_code == 400 and FOREIGN in response.text and EXPIRED not in response.text
    assert not changed_tables(before, fingerprint(app))
