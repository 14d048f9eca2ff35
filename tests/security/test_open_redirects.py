"""Open redirects: whatever a link puts in `next=` (the only redirect
parameter: `return=` is compared with one literal, every other redirect is
url_for), logging in ends on this site. A browser reads `/\\host`,
`\\\\host`, `/<tab>/host` and `https:host` as another host, so the test
judges the Location the way a browser would."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


from signing.xmldsig import sign_enveloped
from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD, csrf_token
from tests.helpers import challenge, key

HOSTILE = [
    "https://evil.example",
    "https://evil.example/en/account",
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https:evil.example",
    "http:/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "\x00//evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "evil.example",
    "@evil.example",
    "/en/account\r\nSet-Cookie: x=1",
]
# The same, already percent-encoded once more, as a link would carry them.
RAW_QUERIES = [
    "next=%2F%2Fevil.example",
    "next=%2F%5Cevil.example",
    "next=%5C%5Cevil.example",
    "next=%2F%09%2Fevil.example",
    "next=https%3Aevil.example",
    "next=%252F%252Fevil.example",
    "next=/en/account&next=//evil.example",
    "next=//evil.example&next=/en/account",
]


def local(location: str) -> bool:
    """Whether a browser following this Location stays on this site: a path
    that starts with one slash, not followed by a slash or backslash, with no
    control character or whitespace a browser would strip first."""
    if re.search(r"[\x00-\x20\x7f\\]", location):
        return False
    if not location.startswith("/") or location.startswith("//"):
        return False
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc


def test_the_judge_itself():
    assert local("/en/account") and local("/en/account?x=1")
    assert not any(local(bad) for bad in ("//evil.example", "/\\evil.example", "/\t/evil.example",
                                          "https://evil.example", "javascript:alert(1)", "https:evil.example"))


def test_password_login_never_leaves_the_site(app):
    """A real login per target (the password hash makes each slow): a sample of each family."""
    client = app.test_client()
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example",
                   "javascript:alert(1)", "/en/account\r\nSet-Cookie: x=1"):
        for how in ("query", "form"):
            data = {"csrf_token": csrf_token(client, "/en/login"), "iin": MOTHER_WITH_BABY, "password": SANDBOX_PASSWORD}
            if how == "form":
                response = client.post("/en/login", data={**data, "next": target})
            else:
                response = client.post("/en/login", query_string={"next": target}, data=data)
            assert response.status_code == 302, (target, how, response.status_code)
            assert local(response.location), (target, how, response.location)
            client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})


def test_a_logged_in_visit_to_the_login_page_never_leaves_the_site(app, citizen_client):
    """The same safe_next() as after a login, without a password hash per target: every target."""
    problems = []
    for target in HOSTILE:
        response = citizen_client.get("/en/login", query_string={"next": target})
        if response.status_code != 302 or not local(response.location):
            problems.append((target, response.status_code, response.location))
    for query in RAW_QUERIES:
        response = citizen_client.get(f"/en/login?{query}")
        if response.status_code != 302 or not local(response.location):
            problems.append((query, response.status_code, response.location))
    assert not problems, problems


def test_eds_login_never_leaves_the_site(app, client):
    for target in ("//evil.example", "/\\evil.example", "/\t/evil.example", "https:evil.example"):
        csrf, token, document = challenge(client)
        signed = sign_enveloped(document, key(app, kind="auth"))
        response = client.post("/en/login/eds", data={"csrf_token": csrf, "challenge": token, "next": target,
                                                      "signed_xml": signed.decode()})
        assert response.status_code == 302
        assert local(response.location), response.location
        client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})


def test_a_local_next_still_works(app, client):
    """The fix must not break the way back after logging in."""
    target = "/en/services/child-care-under-one/apply?x=1"
    token = csrf_token(client, f"/en/login?next={target}")
    response = client.post("/en/login", query_string={"next": target},
                           data={"csrf_token": token, "iin": MOTHER_WITH_BABY, "password": SANDBOX_PASSWORD})
    assert response.location == target


def test_the_login_page_carries_only_a_safe_next(app, client):
    page = client.get("/en/login", query_string={"next": "/\\evil.example"})
    assert 'name="next"' not in page.text
    page = client.get("/en/login", query_string={"next": '/en/account"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.text


def test_the_error_page_back_link_is_only_to_this_site(app, client):
    for referrer in ("https://evil.example/", "http://localhost.evil.example/", "http://localhost@evil.example/",
                     "//evil.example/"):
        page = client.get("/en/no-such-page", headers={"Referer": referrer})
        assert page.status_code == 404
        assert "evil.example" not in page.text, referrer
