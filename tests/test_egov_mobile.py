"""Signing and logging in with eGov Mobile, through the Flask client.

The app is played two ways: by a second client that speaks the protocol
itself (API 1, API 2 with the bearer token, the PUT), signing with the
sandbox CA's test keys, and by the sandbox eGov Mobile page, whose HTTP is
routed to the app in-process here (the browser tests run it over real HTTP).
Then the hostile cases: another citizen's key, another document, an expired,
cancelled or used session, a wrong token, bodies too large or not the shape.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from urllib.parse import quote, urlsplit

import pytest

from signing.xmldsig import GOST_512, sign_enveloped
from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, csrf_token
from tests.journeys import JOURNEYS, load
from tests.helpers import CHILD_CARE, at_check, issued, key
from webapp.extensions import db
from webapp.models import Application, MobileSigning
from webapp.sandbox.pki import LEGACY_RSA_CITIZENS

CHECK = f"/en/services/{CHILD_CARE}/apply/check"


def start(client, url=f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile", page=CHECK):
    """Press "Sign with eGov Mobile": the page with the QR code."""
    response = client.post(url, data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302 and "/egov-mobile/" in response.location, response.text[:2000]
    return client.get(response.location)


def api1_url(page) -> str:
    """API 1's URL as the QR code carries it (the sandbox shows the QR code's content as text)."""
    payload = unescape(re.search(r"<code[^>]*data-egov-payload>([^<]+)</code>", page.text).group(1))
    assert payload.startswith("mobileSign:http://localhost/egov-mobile/api/")
    return payload.removeprefix("mobileSign:")


def path(url: str) -> str:
    return urlsplit(url).path


class App:
    """The eGov Mobile app: its own client, no cookies of the citizen's."""

    def __init__(self, app, url: str, language: str = "en"):
        self.client = app.test_client()
        self.url = url
        self.language = language

    def api1(self):
        return self.client.get(path(self.url), headers={"Accept-Language": self.language})

    def api2(self, token: str | None = None):
        answer = self.api1().get_json()
        self.token = token or answer["document"]["auth_token"]
        self.api2_url = answer["document"]["uri"]
        return self.client.get(path(self.api2_url), headers={"Authorization": f"Bearer {self.token}",
                                                             "Accept-Language": self.language})

    def put(self, body: bytes | dict, token: str | None = None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.put(path(self.api2_url), data=data, content_type="application/json",
                               headers={"Authorization": f"Bearer {self.token if token is None else token}",
                                        "Accept-Language": self.language})

    def sign(self, signer_key, document: bytes | None = None) -> dict:
        """API 2's JSON with the document signed (`document`: another one instead)."""
        body = self.api2().get_json()
        xml = document or body["documentsToSign"][0]["documentXml"].encode()
        body["documentsToSign"][0]["documentXml"] = sign_enveloped(xml, signer_key).decode()
        return body


def finish(client, page_url: str):
    """The page, polled once signed: its finishing form, posted."""
    page = client.get(page_url)
    action = re.search(r'<form method="post" action="([^"]+)" data-hx-post', page.text)
    assert action, page.text[:3000]
    return client.post(unescape(action.group(1)), data={"csrf_token": csrf_token(client, page_url)})


def record(app, url: str) -> MobileSigning:
    with app.app_context():
        found = db.session.scalar(db.select(MobileSigning).filter_by(public_id=path(url).split("/")[3]))
        db.session.expunge(found)
        return found


@pytest.fixture
def waiting(app, client):
    """The mother at her check page, a QR code shown: (page, app)."""
    at_check(client)
    page = start(client)
    return page, App(app, api1_url(page))


def test_an_application_signed_in_egov_mobile_is_sent(app, client, waiting):
    page, phone = waiting
    # The page: a QR code (a PNG from the portal), the app's link, the code, the time left, cancel.
    assert 'src="/en/egov-mobile/' in page.text and "qr.png" in page.text
    link = "https://m.egov.kz/mobileSign/?link=" + quote(phone.url, safe="")
    assert f'href="{link}"' in unescape(page.text)
    assert "Open eGov Mobile" in page.text and "Cancel" in page.text
    code = re.search(r'<strong class="q-egov__code">([A-Z2-7]{3}-[A-Z2-7]{3})</strong>', page.text).group(1)
    assert re.search(r"works for 1[0-9]{2} more seconds", page.text)
    qr = client.get(re.search(r'src="([^"]+qr\.png)"', page.text).group(1))
    assert qr.status_code == 200 and qr.mimetype == "image/png" and qr.data[:8] == b"\x89PNG\r\n\x1a\n"
    # API 1, in the app's language.
    phone.language = "ru"
    answer = phone.api1()
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    one = answer.get_json()
    assert code in one["description"] and one["description"].startswith("Подпишите")
    assert one["organisation"] == {"nameRu": "Портал Qyzmet", "nameKz": "Qyzmet порталы", "nameEn": "Qyzmet portal",
                                   "bin": "261140000008"}
    assert one["document"]["auth_type"] == "Token" and one["document"]["uri"].endswith("/documents")
    assert one["expiry_date"] == record(app, phone.url).expires_at.replace(tzinfo=None).isoformat(timespec="seconds") + "+00:00"
    # API 2: the very document the check page issues, with the code in its meta.
    two = phone.api2().get_json()
    assert two["signMethod"] == "XML" and two["version"] == 1
    document = two["documentsToSign"][0]
    assert document["documentXml"].encode() == issued(client)
    assert document["nameEn"] and document["nameRu"] and document["nameKz"]
    assert {"name": "Код проверки", "value": code} in document["meta"]
    assert {"name": "ИИН подписывающего", "value": MOTHER_WITH_BABY} in document["meta"]
    # Signed and put back: 200; the page then sends the application as EDS does.
    body = phone.sign(key(app))
    assert phone.put(body).status_code == 200
    assert record(app, phone.url).state == "signed"
    sent = finish(client, page.request.path)
    assert sent.status_code == 302 and "/sent" in sent.location
    with app.app_context():
        made = db.session.scalar(db.select(Application))
        assert made.signed_with == "eds" and made.signed_xml.decode() == body["documentsToSign"][0]["documentXml"]
    assert record(app, phone.url).state == "done"
    # The app lost the answer and sends the same again: the same 200, nothing made twice.
    assert phone.put(body).status_code == 200
    with app.app_context():
        assert db.session.query(Application).count() == 1


def test_the_finishing_request_from_htmx_navigates(app, client, waiting):
    page, phone = waiting
    waiting_poll = client.get(page.request.path, headers={"HX-Request": "true", "HX-Target": "egov-mobile-status"})
    assert "<html" not in waiting_poll.text and "more seconds" in waiting_poll.text and "qr.png" not in waiting_poll.text
    assert phone.put(phone.sign(key(app))).status_code == 200
    # While waiting, the poll gets its fragment; once signed, the whole page (the QR code goes).
    polled = client.get(page.request.path, headers={"HX-Request": "true", "HX-Target": "egov-mobile-status"})
    assert polled.headers["HX-Retarget"] == "body" and "qr.png" not in polled.text
    assert 'data-hx-trigger="load"' in polled.text
    action = unescape(re.search(r'data-hx-post="([^"]+)"', polled.text).group(1))
    done = client.post(action, data={"csrf_token": csrf_token(client, page.request.path)},
                               headers={"HX-Request": "true", "HX-Target": "egov-mobile-status"})
    assert done.status_code == 200 and "/sent" in done.headers["HX-Redirect"]


def test_another_citizens_signature_is_refused(app, client, waiting):
    page, phone = waiting
    answer = phone.put(phone.sign(key(app, CITIZEN_WITHOUT_PHONE)))
    assert answer.status_code == 403
    assert answer.get_json()["reason"] == "another_person"
    assert answer.get_json()["message"] == "This key belongs to another person. Sign with your own key."
    # The page says so, and still waits for the citizen's own signature.
    shown = client.get(page.request.path)
    assert "This key belongs to another person" in shown.text and "qr.png" in shown.text
    assert phone.put(phone.sign(key(app))).status_code == 200


def test_a_document_other_than_the_one_issued_is_refused(app, client, waiting):
    page, phone = waiting
    other = issued(client).replace(b"</application>", b"<note>changed</note></application>")
    assert other != issued(client)
    answer = phone.put(phone.sign(key(app), document=other))
    assert answer.status_code == 403 and answer.get_json()["reason"] == "document_mismatch"
    assert record(app, phone.url).state == "waiting"


def test_an_authentication_key_cannot_sign_an_application(app, client, waiting):
    _page, phone = waiting
    answer = phone.put(phone.sign(key(app, kind="auth")))
    assert answer.status_code == 403 and answer.get_json()["reason"] == "wrong_key_type"


def test_an_expired_session_is_refused(app, client, waiting):
    page, phone = waiting
    body = phone.sign(key(app))
    with app.app_context():
        found = db.session.scalar(db.select(MobileSigning))
        found.expires_at = found.created_at
        db.session.commit()
    answer = phone.put(body)
    assert answer.status_code == 403 and answer.get_json()["reason"] == "expired"
    assert phone.api1().status_code == 403
    shown = client.get(page.request.path)
    assert "The code has expired" in shown.text and "Get a new code" in shown.text and "qr.png" not in shown.text
    # A new code: a new session, and the app signs that one.
    retry = re.search(r'<form method="post" action="([^"]+/sign/egov-mobile)"', shown.text).group(1)
    fresh = client.post(retry, data={"csrf_token": csrf_token(client, page.request.path)})
    assert fresh.status_code == 302 and fresh.location != page.request.path
    phone2 = App(app, api1_url(client.get(fresh.location)))
    assert phone2.put(phone2.sign(key(app))).status_code == 200


def test_a_used_session_refuses_another_signature(app, client, waiting):
    _page, phone = waiting
    assert phone.put(phone.sign(key(app))).status_code == 200
    # API 1 and API 2 now say it is used; a different signed body is refused.
    assert phone.api1().get_json()["reason"] == "used"
    answer = phone.put({"documentsToSign": [{"id": 1, "documentXml": "<x/>"}]})
    assert answer.status_code == 403 and answer.get_json()["reason"] == "used"


def test_a_cancelled_session_is_refused(app, client, waiting):
    page, phone = waiting
    body = phone.sign(key(app))
    cancelled = client.post(page.request.path + "/cancel",
                                    data={"csrf_token": csrf_token(client, page.request.path)})
    assert cancelled.status_code == 302 and cancelled.location == CHECK
    answer = phone.put(body)
    assert answer.status_code == 403 and answer.get_json()["reason"] == "cancelled"
    assert "Signing with eGov Mobile was cancelled" in answer.get_json()["message"]


def test_a_wrong_token_is_refused(app, client, waiting):
    _page, phone = waiting
    body = phone.sign(key(app))
    for token in ("wrong", phone.token[:-2] + "AA", ""):
        answer = phone.put(body, token=token)
        assert answer.status_code == 403 and answer.get_json()["reason"] == "token", token
    no_token = phone.client.get(path(phone.api2_url))
    assert no_token.status_code == 403
    assert record(app, phone.url).state == "waiting"
    # A token of one session opens no other.
    assert phone.client.get("/egov-mobile/api/not-a-session").status_code == 404


def test_oversized_and_malformed_bodies_are_refused(app, client, waiting):
    _page, phone = waiting
    phone.api2()
    phone.language = "en"
    huge = b'{"documentsToSign": [{"id": 1, "documentXml": "' + b"a" * (3 * 1024 * 1024 + 1) + b'"}]}'
    answer = phone.put(huge)
    assert answer.status_code == 413 and answer.get_json()["reason"] == "too_large"
    for body in (b"not json", b"[]", b'{"documentsToSign": []}', b'{"documentsToSign": [{"id": 2, "documentXml": "<a/>"}]}',
                 b'{"documentsToSign": [{"id": 1, "documentXml": 5}]}'):
        answer = phone.put(body)
        assert answer.status_code == 400 and answer.get_json()["reason"] == "malformed", body
    assert record(app, phone.url).state == "waiting"


def test_too_many_refused_signatures_cancel_the_session(app, client, waiting):
    page, phone = waiting
    phone.api2()
    for _ in range(app.config["EGOV_MOBILE_MAX_REFUSALS"]):
        assert phone.put({"documentsToSign": [{"id": 1, "documentXml": "<x/>"}]}).status_code == 403
    assert record(app, phone.url).state == "cancelled"
    assert "too many signatures" in client.get(page.request.path).text


def test_another_citizen_cannot_see_or_finish_the_session(app, client, waiting):
    from tests.conftest import log_in

    page, phone = waiting
    assert phone.put(phone.sign(key(app))).status_code == 200
    other = app.test_client()
    log_in(other, CITIZEN_WITHOUT_PHONE)
    for url in (page.request.path, page.request.path + "/qr.png"):
        assert other.get(url).status_code == 404
    token = csrf_token(other, "/en/account")
    assert other.post(page.request.path + "/cancel", data={"csrf_token": token}).status_code == 404
    public_id = page.request.path.rsplit("/", 1)[1]
    finish_url = f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile/{public_id}"
    assert other.post(finish_url, data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.query(Application).count() == 0


def test_the_check_page_offers_egov_mobile_beside_eds_and_sms(client):
    page = at_check(client)
    text = page.text
    assert text.index('id="sign-with-eds"') < text.index('id="sign-with-egov-mobile"') < text.index('id="sign-with-sms"')
    assert f'action="/en/services/{CHILD_CARE}/apply/sign/egov-mobile"' in text


def test_logging_in_with_egov_mobile(app, client):
    login = client.get("/en/login")
    assert 'id="log-in-with-egov-mobile"' in login.text
    page = start(client, "/en/login/egov-mobile", "/en/login")
    assert "Log in with eGov Mobile" in page.text
    phone = App(app, api1_url(page), language="en")
    assert phone.api2().get_json()["documentsToSign"][0]["nameEn"] == "Logging in to the Qyzmet portal"
    # A signing key is refused for logging in; the authentication key logs the citizen in.
    wrong = phone.put(phone.sign(key(app)))
    assert wrong.status_code == 403 and wrong.get_json()["reason"] == "wrong_key_type"
    assert "To log in, choose your authentication key" in wrong.get_json()["message"]
    assert phone.put(phone.sign(key(app, kind="auth"))).status_code == 200
    done = finish(client, page.request.path)
    assert done.status_code == 302 and done.location == "/en/account"
    assert client.get("/en/account").status_code == 200
    # Once only: the session is used, and the login page of another browser cannot take it.
    assert record(app, phone.url).state == "done"
    stranger = app.test_client()
    assert stranger.get(page.request.path).location.startswith("/en/login?next=")


def test_a_request_is_signed_with_egov_mobile(app, client):
    from tests.helpers import ACCOUNT, fill, request_number, send

    at_check(client)
    assert send(client, sign_enveloped(issued(client), key(app))).status_code == 302
    saved = fill(client, f"{ACCOUNT}/requests/malfunction", {"service": CHILD_CARE, "text": "The page froze."})
    check = saved.location
    page = start(client, check + "/sign/egov-mobile", check)
    phone = App(app, api1_url(page), language="en")
    two = phone.api2().get_json()
    assert two["documentsToSign"][0]["nameEn"] == "Technical malfunction report"
    assert phone.put(phone.sign(key(app))).status_code == 200
    number = request_number(finish(client, page.request.path))
    assert number.startswith("T-2026-")
    assert "With the EDS of" in client.get(f"{ACCOUNT}/requests/{number}").text


def test_the_sandbox_app_signs_over_the_protocol(app, client, waiting, monkeypatch):
    page, phone = waiting
    tester = app.test_client()

    def transport(method, url, headers, body):
        answer = tester.open(path(url), method=method, headers=headers, data=body)
        return answer.status_code, answer.get_json(silent=True)

    monkeypatch.setitem(app.extensions, "sandbox_egov_mobile_http", transport)
    payload = "mobileSign:" + phone.url
    shown = tester.get("/en/sandbox/egov-mobile", query_string={"payload": payload, "app_language": "en"})
    assert shown.status_code == 200
    assert "Sign with the Qyzmet portal" in shown.text and "Verification code" in shown.text
    assert MOTHER_WITH_BABY in shown.text
    # The phone link's form opens it too.
    link = tester.get("/en/sandbox/egov-mobile?link=" + quote(phone.url, safe=""))  # the app in Russian
    assert "Код проверки" in link.text
    token = csrf_token(tester, "/en/login")
    form = {"csrf_token": token, "payload": payload, "app_language": "en", "iin": MOTHER_WITH_BABY, "kind": "sign"}
    # A tampered document, another citizen's key: refused, and said.
    tampered = tester.post("/en/sandbox/egov-mobile", data={**form, "action": "tamper"})
    assert "The portal answered 403" in tampered.text and "document_mismatch" in tampered.text
    other = tester.post("/en/sandbox/egov-mobile", data={**form, "action": "sign", "iin": CITIZEN_WITHOUT_PHONE})
    assert "another_person" in other.text
    # Lose the answer, then retry the same PUT: 200, and the application is sent once.
    lost = tester.post("/en/sandbox/egov-mobile", data={**form, "action": "lose"})
    assert "answer was lost" in lost.text
    retry = {k: unescape(v) for k, v in re.findall(r'name="(api2_url|auth|put_body)" value="([^"]*)"', lost.text)}
    again = tester.post("/en/sandbox/egov-mobile", data={**form, **retry, "action": "retry"})
    assert "The portal answered 200" in again.text
    assert record(app, phone.url).state == "signed"
    # A new signature to the used session: refused.
    used = tester.post("/en/sandbox/egov-mobile", data={**form, "action": "sign"})
    assert "The portal answered 403" in used.text
    assert finish(client, page.request.path).status_code == 302


def test_the_sandbox_app_lets_a_session_expire_and_cancels(app, client, waiting, monkeypatch):
    _page, phone = waiting
    tester = app.test_client()
    monkeypatch.setitem(app.extensions, "sandbox_egov_mobile_http", lambda method, url, headers, body: (
        (answer := tester.open(path(url), method=method, headers=headers, data=body)).status_code,
        answer.get_json(silent=True)))
    form = {"csrf_token": csrf_token(tester, "/en/login"), "payload": "mobileSign:" + phone.url,
            "iin": MOTHER_WITH_BABY, "kind": "sign"}
    cancelled = tester.post("/en/sandbox/egov-mobile", data={**form, "action": "cancel"})
    assert "nothing was sent" in cancelled.text
    expired = tester.post("/en/sandbox/egov-mobile", data={**form, "action": "expire", "app_language": "en"})
    assert "The portal answered 403" in expired.text and "(expired)" in expired.text
    # Only this portal's API: nothing else is fetched.
    elsewhere = tester.get("/en/sandbox/egov-mobile", query_string={"payload": "mobileSign:http://example.org/egov-mobile/api/x"})
    assert "This is not the QR code or link" in elsewhere.text


def test_the_app_api_answers_in_its_language(app, client, waiting):
    _page, phone = waiting
    for language, word in (("kk", "Тексеру коды"), ("ru", "Код проверки"), ("en", "Verification code")):
        phone.language = language
        meta = phone.api2().get_json()["documentsToSign"][0]["meta"]
        assert meta[0]["name"] == word, language
    phone.language = "kk"
    answer = phone.put(phone.sign(key(app, CITIZEN_WITHOUT_PHONE)))
    assert answer.get_json()["message"] != "This key belongs to another person. Sign with your own key."


def test_codes_are_rate_limited(app, client):
    at_check(client)
    token = csrf_token(client, CHECK)
    url = f"/en/services/{CHILD_CARE}/apply/sign/egov-mobile"
    statuses = [client.post(url, data={"csrf_token": token}).status_code for _ in range(11)]
    assert statuses[:10] == [302] * 10 and statuses[10] == 429
    # Each new code cancelled the one before.
    with app.app_context():
        states = [r.state for r in db.session.scalars(db.select(MobileSigning).order_by(MobileSigning.id))]
    assert states == ["cancelled"] * 9 + ["waiting"]


def test_the_session_is_in_the_database_for_any_instance(app, client, waiting):
    """Another instance (a second app on the same database) answers the app."""
    _page, phone = waiting
    with app.app_context():
        found = db.session.scalar(db.select(MobileSigning))
        assert found.document_sha256 and found.iin == MOTHER_WITH_BABY and found.purpose == "sign_application"
        assert "token" not in {c.name for c in MobileSigning.__table__.columns}


def test_sessions_a_day_past_expiry_are_purged_by_the_hourly_job(app, client, waiting):
    """A quiet portal keeps no stale documents: the job deletes what no new session came to delete."""
    from webapp.jobs.queue import PURGE_MOBILE_SIGNINGS, get_huey

    with app.app_context():
        get_huey(app)
        purge = app.extensions["jobs"]["tasks"][PURGE_MOBILE_SIGNINGS]
        purge.call_local()
        assert db.session.scalar(db.select(db.func.count()).select_from(MobileSigning)) == 1  # still waiting
        found = db.session.scalar(db.select(MobileSigning))
        found.expires_at = found.created_at - dt.timedelta(days=1, seconds=1)
        db.session.commit()
        purge.call_local()
        assert db.session.scalar(db.select(db.func.count()).select_from(MobileSigning)) == 0


def _sandbox_app(app, monkeypatch):
    """The sandbox eGov Mobile page, its HTTP routed in-process to the portal; its client."""
    tester = app.test_client()

    def transport(method, url, headers, body):
        answer = tester.open(path(url), method=method, headers=headers, data=body)
        return answer.status_code, answer.get_json(silent=True)

    monkeypatch.setitem(app.extensions, "sandbox_egov_mobile_http", transport)
    return tester


@pytest.mark.parametrize("slug", sorted(p.stem for p in JOURNEYS.glob("*.yaml")))
def test_every_service_is_signed_with_the_sandbox_app(app, client, monkeypatch, slug):
    """The tester's journey of the README: every service's check page, its QR code's content into the
    sandbox app, Sign and send (as the citizen the journey logs in as), and the application is sent."""
    at_check(client, slug)
    check = f"/en/services/{slug}/apply/check"
    page = start(client, f"/en/services/{slug}/apply/sign/egov-mobile", check)
    tester = _sandbox_app(app, monkeypatch)
    payload = "mobileSign:" + api1_url(page)
    shown = tester.get("/en/sandbox/egov-mobile", query_string={"payload": payload, "app_language": "en"})
    citizen = load(slug)["citizen"]
    assert f'<option value="{citizen}" selected' in shown.text  # the signer the meta names
    signed = tester.post("/en/sandbox/egov-mobile", data={
        "csrf_token": csrf_token(tester, "/en/login"), "payload": payload, "app_language": "en",
        "iin": citizen, "kind": "sign", "action": "sign"})
    assert "The portal answered 200" in signed.text, signed.text[-3000:]
    sent = finish(client, page.request.path)
    assert sent.status_code == 302 and sent.location.endswith("/sent")
    with app.app_context():
        made = db.session.scalar(db.select(Application).filter_by(service_slug=slug))
        assert made is not None and made.iin == citizen and made.signed_with == "eds"
        # GOST 34.10-2015 by default: the sandbox app signs with the citizen's current key.
        expected = "rsa-sha256" if citizen in LEGACY_RSA_CITIZENS else GOST_512
        assert expected.encode() in made.signed_xml


def test_an_objection_is_signed_with_egov_mobile(app, client):
    from tests.helpers import fill, provisional_refusal, request_number, send

    at_check(client)
    assert send(client, sign_enveloped(issued(client), key(app))).status_code == 302
    with app.app_context():
        number = db.session.scalar(db.select(Application.number))
    provisional_refusal(app, number)
    saved = fill(client, f"/en/account/applications/{number}/objection", {"text": "My income fell."})
    page = start(client, saved.location + "/sign/egov-mobile", saved.location)
    phone = App(app, api1_url(page))
    assert phone.api2().get_json()["documentsToSign"][0]["nameEn"] == "Objection to a provisional refusal"
    # Another citizen's key first: refused; then the citizen's own.
    assert phone.put(phone.sign(key(app, CITIZEN_WITHOUT_PHONE))).get_json()["reason"] == "another_person"
    assert phone.put(phone.sign(key(app))).status_code == 200
    sent = request_number(finish(client, page.request.path))
    assert sent.startswith("O-2026-")
    with app.app_context():
        assert db.session.scalar(db.select(Application).filter_by(number=number)).status == "objection"
