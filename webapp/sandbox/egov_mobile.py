"""A stand-in for the eGov Mobile app, for testers (the real app talks to no unregistered site).

It does what the app does, over HTTP: reads the QR code's `mobileSign:<API 1>`
(pasted) or the phone link's `?link=<API 1>`, GETs API 1, GETs API 2 with
the bearer token API 1 gave, shows the documents and their meta, signs each
`documentXml` with a test citizen's key from the sandbox CA and PUTs the JSON
back. And what a tester needs to try the portal's refusals: cancel in the
app, let the code expire, send a tampered document, sign with another
citizen's key, repeat a PUT, lose the portal's answer and retry.

Keys come from the sandbox CA through `citizen_key` alone, so whatever kind
of key the CA makes (RSA, GOST 2015-512) is what the app signs with.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, render_template, request, url_for
from lxml import etree
from markupsafe import Markup

from signing.xmldsig import SigningKey, sign_enveloped
from webapp.extensions import db
from webapp.i18n import LANGUAGE_NAMES, LANGUAGES
from webapp.clock import wall_now
from webapp.models import MobileSigning
from webapp.sandbox import pki
from webapp.sandbox.blueprint import bp

LOGIN_NAMESPACE = "urn:qyzmet:login:1"


def citizen_key(iin: str, kind: str = "sign") -> SigningKey:
    """The test citizen's signing or authentication key from the sandbox CA (the one way this app gets keys)."""
    authority = pki.load()
    if authority is None:
        raise LookupError("the sandbox CA is not made yet: flask --app webapp sandbox pki")
    found = authority.key_file(iin, kind=kind)
    if found is None:
        raise LookupError(f"the sandbox CA has no {kind} key of {iin}")
    return _open(str(found.path), found.path.stat().st_mtime, authority.password)


@lru_cache(maxsize=64)
def _open(path: str, _mtime: float, password: str) -> SigningKey:
    return SigningKey.from_pkcs12(Path(path), password)


def api1_url(text: str) -> str | None:
    """API 1's address from what the tester gives: the QR code's `mobileSign:<URL>`, the phone link
    `https://m.egov.kz/mobileSign/?link=<URL>`, or the URL itself; only this portal's API."""
    text = (text or "").strip()
    if text.startswith("mobileSign:"):
        text = text.removeprefix("mobileSign:")
    elif "link=" in text:
        text = unquote(parse_qs(urlsplit(text).query).get("link", [""])[0])
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host or not parts.path.startswith("/egov-mobile/api/"):
        return None  # the sandbox app calls this portal only, never an address someone pasted
    return text


def http(method: str, url: str, headers: dict, body: bytes | None = None) -> tuple[int, dict | None]:
    """One HTTP request as the app makes it: (status, JSON answer). Tests may swap in their own transport."""
    transport = current_app.extensions.get("sandbox_egov_mobile_http")
    if transport is not None:
        return transport(method, url, headers, body)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the portal itself, never a proxy
    call = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with opener.open(call, timeout=15) as answer:
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def _language() -> str:
    chosen = request.values.get("app_language")
    return chosen if chosen in LANGUAGES else "ru"


def _fetch(url: str) -> dict:
    """API 1 and, when it answers, API 2: what the app shows."""
    headers = {"Accept-Language": _language(), "Accept": "application/json"}
    status1, answer1 = http("GET", url, headers)
    result = {"api1_url": url, "api1_status": status1, "api1": answer1, "api2_status": None, "api2": None}
    if status1 == 200 and answer1:
        document = answer1.get("document") or {}
        auth = {"Authorization": f"Bearer {document.get('auth_token', '')}"} if document.get("auth_type") == "Token" else {}
        status2, answer2 = http("GET", document.get("uri", ""), {**headers, **auth})
        result.update(api2_status=status2, api2=answer2, api2_url=document.get("uri"), auth=auth)
    return result


def _logging_in(document_xml: str) -> bool:
    try:
        return etree.QName(etree.fromstring(document_xml.encode("utf-8"))).namespace == LOGIN_NAMESPACE
    except etree.XMLSyntaxError:
        return False


def _tampered(document_xml: str) -> bytes:
    """The document with one element more: a good signature of another document."""
    root = etree.fromstring(document_xml.encode("utf-8"))
    namespace = etree.QName(root).namespace
    etree.SubElement(root, f"{{{namespace}}}note" if namespace else "note").text = "changed in the app"
    return etree.tostring(root, encoding="utf-8")


def _signed_body(api2: dict, iin: str, kind: str, tamper: bool) -> bytes:
    """API 2's JSON with each documentXml signed by the citizen's key."""
    key = citizen_key(iin, kind)
    body = json.loads(json.dumps(api2))
    for document in body.get("documentsToSign", []):
        xml = document["documentXml"]
        data = _tampered(xml) if tamper else xml.encode("utf-8")
        document["documentXml"] = sign_enveloped(data, key).decode("utf-8")
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _put(state: dict, body: bytes) -> tuple[int, dict | None]:
    headers = {"Content-Type": "application/json", "Accept-Language": _language(), **state.get("auth", {})}
    return http("PUT", state["api2_url"], headers, body)


def _citizens() -> list[dict]:
    return [
        {"iin": person.iin, "name": (person.names.get("ru") or next(iter(person.names.values()))).full}
        for person, _password, _phone in current_app.extensions["state_registries"].test_citizens()
    ]


def _expire(url: str) -> None:
    """Let the code expire now, as if three minutes had passed (the sandbox's shortcut)."""
    public_id = urlsplit(url).path.removeprefix("/egov-mobile/api/").split("/")[0]
    db.session.execute(db.update(MobileSigning).filter_by(public_id=public_id).values(expires_at=wall_now()))
    db.session.commit()


@bp.route("/<lang_code>/sandbox/egov-mobile", methods=["GET", "POST"])
def egov_mobile():
    """The sandbox eGov Mobile app: read a QR code's content or a link, see the document, sign and send it."""
    given = request.values.get("payload") or request.values.get("link") or ""
    if request.values.get("link") and not given.startswith(("http", "mobileSign:")):
        given = request.values["link"]
    url = api1_url(given) if given else None
    citizens = _citizens()
    context = {
        "given": given, "citizens": citizens, "app_language": _language(), "bad_payload": bool(given) and url is None,
        "language_items": [{"value": code, "text": LANGUAGE_NAMES[code]} for code in LANGUAGES],
        "citizen_items": [{"value": c["iin"], "text": f'{c["name"]} ({c["iin"]})'} for c in citizens],
        "name_key": {"ru": "nameRu", "kk": "nameKz", "en": "nameEn"}.get(_language(), "nameRu"),
        "meta_rows": lambda document: [{"key": m.get("name", ""), "value": m.get("value", "")}
                                       for m in document.get("meta") or []],
    }
    if url is None:
        return render_template("sandbox/egov_mobile.html", **context)
    action = request.form.get("action") if request.method == "POST" else None
    sent = None
    if action in ("repeat", "retry") and request.form.get("put_body"):
        state = {"api2_url": request.form.get("api2_url", ""), "auth": {"Authorization": request.form.get("auth", "")}}
        if urlsplit(state["api2_url"]).netloc == request.host:
            body = request.form["put_body"].encode("utf-8")
            sent = {"action": action, "body": body.decode("utf-8"), "answer": _put(state, body)}
        return render_template("sandbox/egov_mobile.html", **context, fetched={"api1_url": url}, sent=sent,
                               api2_url=state["api2_url"], auth=state["auth"]["Authorization"])
    fetched = _fetch(url)
    iin = request.form.get("iin") or _signer_iin(fetched.get("api2")) or (context["citizens"][0]["iin"] if context["citizens"] else "")
    documents = (fetched.get("api2") or {}).get("documentsToSign") or []
    kind = request.form.get("kind") or ("auth" if documents and _logging_in(documents[0]["documentXml"]) else "sign")
    if action in ("sign", "tamper", "lose", "expire") and fetched.get("api2_status") == 200:
        body = _signed_body(fetched["api2"], iin, kind, tamper=action == "tamper")
        if action == "expire":
            _expire(url)  # signed in the app, sent after the code's time
        answer = _put(fetched, body)
        sent = {"action": action, "body": body.decode("utf-8"), "answer": None if action == "lose" else answer}
    elif action in ("sign", "tamper", "lose") and fetched.get("api2_status") != 200:
        sent = {"action": action, "body": "", "answer": (fetched.get("api2_status") or fetched["api1_status"],
                                                        fetched.get("api2") or fetched.get("api1"))}
    elif action == "cancel":
        sent = {"action": "cancel", "body": "", "answer": None}
    return render_template("sandbox/egov_mobile.html", **context, fetched=fetched, documents=documents, iin=iin,
                           kind=kind, sent=sent, api2_url=fetched.get("api2_url", ""),
                           auth=(fetched.get("auth") or {}).get("Authorization", ""))


def _signer_iin(api2: dict | None) -> str | None:
    """The IIN the document's meta names as its signer (the real app has one citizen's keys; the sandbox many)."""
    for document in (api2 or {}).get("documentsToSign") or []:
        for entry in document.get("meta") or []:
            value = str(entry.get("value", ""))
            if len(value) == 12 and value.isdigit():
                return value
    return None


def portal_links(payload: str, link: str) -> Markup:
    """On the portal's eGov Mobile page, in the sandbox only: the QR code's content and the sandbox app."""
    api1 = payload.removeprefix("mobileSign:")
    return Markup(render_template("sandbox/_egov_mobile_links.html", payload=payload, link=link,
                                  sandbox_url=url_for("sandbox.egov_mobile", link=api1)))
