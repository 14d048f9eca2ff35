"""The sandbox signing agent speaks NCALayer's WebSocket protocol.

Real sockets on 127.0.0.1 (port 0), a small sandbox PKI made once for the
module, the envelopes compared with the ones recorded from a real NCALayer
(node_modules/ncalayer-js-client/test/test-data.json), and one run of the
real `ncalayer-js-client` in Node against the agent.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree
from signxml import XMLVerifier
from websockets.sync.client import connect

from signing.sandbox import pki as sandbox_pki
from signing.sandbox.agent import run_in_thread
from signing.sandbox.ncalayer import AgentOptions, NCALayerProtocol

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "node_modules" / "ncalayer-js-client" / "test" / "test-data.json"
NCA_TEST_PKI = Path(__file__).resolve().parents[1] / "data" / "nca-test-pki"
DS = "{http://www.w3.org/2000/09/xmldsig#}"

CITIZEN = "900517401370"  # the first holder: the default citizen, with broken keys too
OTHER = "831219453975"
EMPLOYEE_IIN = "770101300123"
ORG_BIN = "990140000123"

COMMON = "kz.gov.pki.knca.commonUtils"
BASICS = "kz.gov.pki.knca.basics"
XML = "<request><iin>900517401370</iin><nonce>n-1</nonce><text>Сәлем</text></request>"


# --- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    sandbox_pki.create(
        directory,
        [
            sandbox_pki.Holder(CITIZEN, "Ivanova", "Aigerim", "Serikovna", algorithm=sandbox_pki.RSA),
            sandbox_pki.Holder(OTHER, "Bekov", "Arman", algorithm=sandbox_pki.RSA),
        ],
        now=datetime.now(UTC),
        organisations=[
            sandbox_pki.Holder(EMPLOYEE_IIN, "Nurlanov", "Daulet", bin=ORG_BIN, organisation='TOO "TEST"', algorithm=sandbox_pki.RSA),
        ],
    )
    return directory


@pytest.fixture(scope="module")
def pki(pki_dir):
    return sandbox_pki.SandboxPKI.load(pki_dir)


@pytest.fixture(scope="module")
def agent(pki_dir):
    handle = run_in_thread(pki_dir=pki_dir)
    yield handle
    handle.stop()


@pytest.fixture
def start(pki_dir):
    """Start an agent with options; stopped after the test."""
    handles = []

    def _start(**options):
        options.setdefault("pki_dir", pki_dir)
        handle = run_in_thread(**options)
        handles.append(handle)
        return handle

    yield _start
    for handle in handles:
        handle.stop()


@pytest.fixture(scope="module")
def recordings() -> list[dict]:
    if not RECORDINGS.is_file():
        pytest.skip("node_modules/ncalayer-js-client is not installed (npm install)")
    return json.loads(RECORDINGS.read_text(encoding="utf-8"))


def recorded_all(recordings, request: dict) -> list[dict]:
    """Every response NCALayer gave to exactly this request."""
    return [json.loads(p["response"]) for p in recordings if "request" in p and json.loads(p["request"]) == request]


def recorded(recordings, request: dict) -> dict:
    """The response NCALayer gave to exactly this request."""
    for pair in recordings:
        if "request" in pair and json.loads(pair["request"]) == request:
            return json.loads(pair["response"])
    raise LookupError(f"no recording of {request}")


# --- helpers -----------------------------------------------------------------


def ask(url: str, *requests) -> list:
    """Send requests (dicts as JSON, str as is) on one connection; the parsed replies."""
    replies = []
    with connect(url) as ws:
        assert json.loads(ws.recv()) == {"result": {"version": "1.4"}}
        for request in requests:
            ws.send(request if isinstance(request, str) else json.dumps(request))
            replies.append(json.loads(ws.recv()))
    return replies


def ask_one(url: str, request) -> dict:
    return ask(url, request)[0]


def sign_xml(xml=XML, key_type="SIGNATURE", storage="PKCS12", tbs="", parent="") -> dict:
    return {"module": COMMON, "method": "signXml", "args": [storage, key_type, xml, tbs, parent]}


def basics_sign(data=XML, fmt="xml", storages=None, oids=(), iin=None, **extra) -> dict:
    signer = {"extKeyUsageOids": list(oids)}
    if iin is not None:
        signer["iin"] = iin
    args = {"allowedStorages": storages, "format": fmt, "data": data, "signingParams": {}, "signerParams": signer}
    args["locale"] = "ru"
    args.update(extra)
    return {"module": BASICS, "method": "sign", "args": args}


def certificate_of(signed: str) -> x509.Certificate:
    root = etree.fromstring(signed.encode("utf-8"))
    text = root.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate").text
    return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))


def key_certificate(pki, holder: str, kind: str = "sign", variant: str = "normal") -> x509.Certificate:
    return pki.key_file(holder, kind, variant).load(pki.password)[1]


def assert_verifies(signed: str, certificate: x509.Certificate) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    result = XMLVerifier().verify(signed.encode("utf-8"), x509_cert=pem)
    assert etree.QName(result.signed_xml).localname == "request"


# --- the connection ----------------------------------------------------------


def test_greets_with_the_version_and_echoes_heartbeats(agent):
    with connect(agent.url) as ws:
        assert ws.recv() == '{"result":{"version":"1.4"}}'  # NCALayer's current greeting, byte for byte
        ws.send("--heartbeat--")
        assert ws.recv() == "--heartbeat--"
        ws.send("--heartbeat--")
        assert ws.recv() == "--heartbeat--"


def test_the_kaztoken_probe_is_told_the_module_does_not_exist(agent):
    reply = ask_one(agent.url, {"module": "kz.digiflow.mobile.extensions", "method": "getVersion"})
    # NCALayer's documented answer for a module it lacks; the client needs code != "200".
    assert reply == {"success": False, "errorCode": "MODULE_NOT_FOUND"}
    assert reply.get("code") != "200"


def test_malformed_json_gets_an_error_and_the_connection_stays_open(agent):
    bad, not_object, tokens = ask(
        agent.url, "{not json", "[1, 2]", {"module": COMMON, "method": "getActiveTokens"}
    )
    assert bad["code"] == "500" and bad["message"]
    assert not_object["code"] == "500"
    assert tokens == {"responseObject": [], "code": "200"}


def test_requests_on_one_connection_are_answered_in_order(agent):
    requests = [sign_xml(f"<request><n>{i}</n></request>") for i in range(5)]
    with connect(agent.url) as ws:
        ws.recv()
        for request in requests:  # all sent before any reply is read
            ws.send(json.dumps(request))
        replies = [json.loads(ws.recv()) for _ in requests]
    for i, reply in enumerate(replies):
        assert f"<n>{i}</n>" in reply["responseObject"]


# --- commonUtils -------------------------------------------------------------


def test_get_active_tokens_is_exactly_the_recorded_empty_list(agent, recordings):
    request = {"module": COMMON, "method": "getActiveTokens"}
    with connect(agent.url) as ws:
        ws.recv()
        ws.send(json.dumps(request))
        text = ws.recv()
    assert json.loads(text) == {"responseObject": [], "code": "200"}
    assert json.loads(text) == recorded(recordings, request)


def test_change_locale(agent, recordings):
    request = {"module": COMMON, "method": "changeLocale", "args": ["kz"]}
    assert ask_one(agent.url, request) == recorded(recordings, request) == {"code": "200"}


def test_get_key_info_describes_the_signing_key(agent, pki):
    reply = ask_one(agent.url, {"module": COMMON, "method": "getKeyInfo", "args": ["PKCS12"]})
    assert reply["code"] == "200"
    info = reply["responseObject"]
    assert set(info) == {
        "alias", "keyId", "algorithm", "subjectCn", "subjectDn", "issuerCn", "issuerDn",
        "serialNumber", "certNotBefore", "certNotAfter", "authorityKeyIdentifier", "pem",
    }  # fmt: skip
    key = pki.key_file(CITIZEN, "sign")
    certificate = key_certificate(pki, CITIZEN)
    assert info["algorithm"] == "RSA"
    assert info["serialNumber"] == key.serial_hex
    assert info["subjectCn"] == "IVANOVA AIGERIM"
    assert info["subjectDn"].startswith("CN=IVANOVA AIGERIM,SURNAME=IVANOVA,SERIALNUMBER=IIN900517401370,C=KZ")
    assert info["issuerCn"] == "QYZMET SANDBOX CA (RSA)"
    assert info["certNotBefore"] == str(int(certificate.not_valid_before_utc.timestamp() * 1000))
    assert info["certNotAfter"] == str(int(certificate.not_valid_after_utc.timestamp() * 1000))
    assert info["alias"] == info["keyId"] and len(info["keyId"]) == 40
    assert x509.load_pem_x509_certificate(info["pem"].encode()) == certificate


def test_sign_xml_with_the_signing_key_verifies(agent, pki):
    reply = ask_one(agent.url, sign_xml())
    assert set(reply) == {"responseObject", "code"} and reply["code"] == "200"
    signed = reply["responseObject"]
    assert signed.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?><request>')
    assert signed.endswith("</ds:Signature></request>")
    assert "&#13;\n" in signed  # commonUtils: CRLF inside base64, as NCALayer writes it
    certificate = certificate_of(signed)
    assert certificate == key_certificate(pki, CITIZEN, "sign")
    assert_verifies(signed, certificate)


def test_sign_xml_with_the_authentication_key(agent, pki):
    signed = ask_one(agent.url, sign_xml(key_type="AUTHENTICATION"))["responseObject"]
    assert certificate_of(signed) == key_certificate(pki, CITIZEN, "auth")
    assert_verifies(signed, certificate_of(signed))


def test_any_other_key_type_signs_with_the_signing_key(agent, pki):
    signed = ask_one(agent.url, sign_xml(key_type="123"))["responseObject"]
    assert certificate_of(signed) == key_certificate(pki, CITIZEN, "sign")


def test_signed_xml_passes_the_portal_verifier(agent, pki):
    verify = pytest.importorskip("signing.verify")
    trust = verify.TrustStore.from_pem_files(pki.bundle_path)
    signed = ask_one(agent.url, sign_xml())["responseObject"]
    verdict = verify.verify(signed.encode(), trust=trust, purpose=verify.Purpose.SIGN, expected_iin=CITIZEN)
    assert verdict.signer.iin == CITIZEN and verdict.nonce == "n-1"
    signed = ask_one(agent.url, sign_xml(key_type="AUTHENTICATION"))["responseObject"]
    verify.verify(signed.encode(), trust=trust, purpose=verify.Purpose.LOG_IN, expected_iin=CITIZEN)


def test_sign_xmls_returns_an_array(agent, pki):
    request = {
        "module": COMMON,
        "method": "signXmls",
        "args": ["PKCS12", "SIGNATURE", ["<request><n>1</n></request>", "<request><n>2</n></request>"], "", ""],
    }
    reply = ask_one(agent.url, request)
    assert reply["code"] == "200"
    first, second = reply["responseObject"]
    assert "<n>1</n>" in first and "<n>2</n>" in second
    for signed in (first, second):
        assert_verifies(signed, key_certificate(pki, CITIZEN, "sign"))


def test_not_well_formed_xml_gets_the_recorded_sax_error(agent, recordings):
    request = sign_xml("<this>is not a valid XML", key_type="123", storage="AKKaztokenStore")
    expected = recorded(recordings, request)
    reply = ask_one(agent.url, sign_xml("<this>is not a valid XML"))
    assert reply == expected == {
        "code": "500",
        "message": "org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 25; "
        "XML document structures must start and end within the same entity.",
    }


@pytest.mark.parametrize(
    "method,args",
    [
        ("getKeyInfo", [None]),
        ("getKeyInfo", [1]),
        ("signXml", ["AKKaztokenStore", "123", 555, "", ""]),
        ("signXmls", ["AKKaztokenStore", "123", "<tag>data</tag>", "", ""]),
        ("changeLocale", [2]),
    ],
)
def test_arguments_of_the_wrong_type_get_the_recorded_error(agent, recordings, method, args):
    request = {"module": COMMON, "method": method, "args": args}
    assert ask_one(agent.url, request) == recorded(recordings, request)
    assert ask_one(agent.url, request) == {
        "code": "500",
        "message": f"java.lang.IllegalArgumentException: argument type mismatch. Method: {method}",
    }


@pytest.mark.parametrize(
    "method,args",
    [("signXml", ["PKCS12", "SIGNATURE", XML]), ("getActiveTokens", ["PKCS12"]), ("createCMSSignature", [])],
)
def test_an_unknown_method_or_argument_count_is_no_such_method(agent, method, args):
    # NCALayer's commonUtils finds methods by name and argument count.
    reply = ask_one(agent.url, {"module": COMMON, "method": method, "args": args})
    assert reply == {"code": "500", "message": f"NoSuchMethodException {method}"}


def test_xpaths_and_token_storages_are_refused_with_an_error(agent):
    xpath, token = ask(agent.url, sign_xml(tbs="/request/iin"), sign_xml(storage="AKKaztokenStore"))
    assert xpath["code"] == "500" and "XPath" in xpath["message"]
    assert token["code"] == "500" and "PKCS12" in token["message"]


def test_the_request_uuid_is_echoed(agent):
    reply = ask_one(agent.url, {"module": COMMON, "method": "getActiveTokens", "uuid": "u-1"})
    assert reply == {"responseObject": [], "code": "200", "uuid": "u-1"}


# --- basics ------------------------------------------------------------------


def test_basics_signs_with_the_key_of_the_requested_iin(agent, pki):
    reply = ask_one(agent.url, basics_sign(storages=["PKCS12"], oids=["1.3.6.1.5.5.7.3.4"], iin=OTHER))
    assert set(reply) == {"status", "body"} and reply["status"] is True
    (signed,) = reply["body"]["result"]  # an array even for one document
    assert certificate_of(signed) == key_certificate(pki, OTHER, "sign")
    assert "&#13;" not in signed
    assert_verifies(signed, certificate_of(signed))


def test_basics_with_client_auth_uses_the_authentication_key(agent, pki):
    reply = ask_one(agent.url, basics_sign(oids=["1.3.6.1.5.5.7.3.2", "1.2.398.3.3.4.1.1"]))
    (signed,) = reply["body"]["result"]
    assert certificate_of(signed) == key_certificate(pki, CITIZEN, "auth")


def test_basics_signs_an_array_of_documents(agent, pki):
    reply = ask_one(agent.url, basics_sign(data=["<request><n>1</n></request>", "<request><n>2</n></request>"]))
    first, second = reply["body"]["result"]
    assert "<n>1</n>" in first and "<n>2</n>" in second


def test_basics_can_pick_an_organisations_key_by_bin(agent, pki):
    request = basics_sign()
    request["args"]["signerParams"]["bin"] = ORG_BIN
    (signed,) = ask_one(agent.url, request)["body"]["result"]
    assert certificate_of(signed) == key_certificate(pki, ORG_BIN, "sign")


def test_basics_refuses_cms_honestly(agent):
    reply = ask_one(agent.url, basics_sign(data="MTEK", fmt="cms"))
    assert reply["status"] is False
    assert reply["code"] == "INVOCATION_ERROR"
    assert "CMS is not supported by the sandbox signing agent" in reply["details"]


def test_basics_bad_arguments_get_the_recorded_error(agent, recordings):
    request = {
        "module": BASICS,
        "method": "sign",
        "args": {
            "allowedStorages": None,
            "format": "cms",
            "data": "MTEK",
            "signingParams": 555,
            "signerParams": {"extKeyUsageOids": []},
            "locale": "ru",
        },
    }
    assert ask_one(agent.url, request) == recorded(recordings, request)


def test_basics_without_a_pkcs12_storage_is_an_error(agent):
    reply = ask_one(agent.url, basics_sign(storages=["AKKaztokenStore"]))
    assert reply["status"] is False and "PKCS12" in reply["details"]
    assert ask_one(agent.url, basics_sign(storages=None))["status"] is True


def test_basics_error_envelope_for_other_mistakes(agent):
    no_args, unknown, bad_xml = ask(
        agent.url,
        {"module": BASICS, "method": "sign"},
        {"module": BASICS, "method": "verify", "args": {}},
        basics_sign(data="<this>is not a valid XML"),
    )
    for reply in (no_args, unknown, bad_xml):
        assert reply["status"] is False and set(reply) == {"status", "code", "message", "details"}
    assert "SAXParseException" in bad_xml["details"]


# --- what the simulated citizen does -------------------------------------------


def test_cancel_gives_both_recorded_cancel_envelopes(start, recordings):
    handle = start(cancel=True)
    common, common_many, key_info, basics = ask(
        handle.url,
        sign_xml(),
        {"module": COMMON, "method": "signXmls", "args": ["PKCS12", "SIGNATURE", [XML], "", ""]},
        {"module": COMMON, "method": "getKeyInfo", "args": ["PKCS12"]},
        basics_sign(),
    )
    assert common == common_many == key_info == {"code": "500", "message": "action.canceled"}
    assert basics == {"status": True, "body": {}}
    # Both are among what NCALayer answered when the tester pressed Cancel.
    assert key_info in recorded_all(recordings, {"module": COMMON, "method": "getKeyInfo", "args": ["AKKaztokenStore"]})
    assert basics in recorded_all(recordings, basics_sign(data="MTEK", fmt="cms", storages=["PKCS12"]))


def test_iin_option_signs_with_another_persons_key(start, pki):
    handle = start(iin=OTHER)
    common, basics = ask(handle.url, sign_xml(), basics_sign(iin=CITIZEN))
    assert certificate_of(common["responseObject"]) == key_certificate(pki, OTHER, "sign")
    assert certificate_of(basics["body"]["result"][0]) == key_certificate(pki, OTHER, "sign")


def test_kind_option_forces_the_authentication_key(start, pki):
    handle = start(kind="auth")
    signed = ask_one(handle.url, sign_xml(key_type="SIGNATURE"))["responseObject"]
    assert certificate_of(signed) == key_certificate(pki, CITIZEN, "auth")


@pytest.mark.parametrize("variant", ["revoked", "expired", "not-yet-valid"])
def test_variant_option_picks_the_broken_key(start, pki, variant):
    handle = start(variant=variant)
    signed = ask_one(handle.url, sign_xml())["responseObject"]
    certificate = certificate_of(signed)
    assert certificate == key_certificate(pki, CITIZEN, "sign", variant)
    assert format(certificate.serial_number, "x") == pki.key_file(CITIZEN, "sign", variant).serial_hex


def test_a_missing_variant_is_an_error_not_another_key(start):
    handle = start(iin=OTHER, variant="revoked")
    common, basics = ask(handle.url, sign_xml(), basics_sign())
    assert common["code"] == "500" and OTHER in common["message"]
    assert basics["status"] is False


def test_key_file_option_signs_with_a_genuine_national_test_key(start):
    key_file = NCA_TEST_PKI / "fl_rsa_sign.p12"
    if not key_file.is_file():
        pytest.skip(f"{key_file} is not available")
    handle = start(pki_dir=None, key_file=key_file, password="Qwerty12")
    common, basics, info = ask(
        handle.url, sign_xml(), basics_sign(iin=OTHER), {"module": COMMON, "method": "getKeyInfo", "args": ["PKCS12"]}
    )
    for signed in (common["responseObject"], basics["body"]["result"][0]):
        certificate = certificate_of(signed)
        assert "IIN123456789011" in certificate.subject.rfc4514_string()
    assert info["responseObject"]["alias"] == "f5bfed72d77ae69a1d4741eeae865abca23441f6"
    assert info["responseObject"]["issuerDn"] == "C=KZ,CN=ҰКО 3.0 (RSA TEST)"


def test_respond_with_returns_the_file_as_the_signed_xml(start, tmp_path):
    sample = NCA_TEST_PKI / "gost-signed-sample.xml"
    if not sample.is_file():
        sample = tmp_path / "gost.xml"
        sample.write_text('<?xml version="1.0"?><test><ds:Signature xmlns:ds="x"/></test>', encoding="utf-8")
    content = sample.read_text(encoding="utf-8")
    handle = start(respond_with=sample)
    common, many, basics = ask(
        handle.url,
        sign_xml(),
        {"module": COMMON, "method": "signXmls", "args": ["PKCS12", "SIGNATURE", [XML, XML], "", ""]},
        basics_sign(),
    )
    assert common == {"responseObject": content, "code": "200"}
    assert many["responseObject"] == [content, content]
    assert basics == {"body": {"result": [content]}, "status": True}


def test_keys_are_opened_once(pki_dir):
    protocol = NCALayerProtocol(AgentOptions(pki_dir=pki_dir))
    first = protocol.chooser.choose("sign")
    assert protocol.chooser.choose("sign") is first
    assert protocol.chooser.choose("auth") is not first


def test_a_key_file_with_the_wrong_password_fails_at_start():
    key_file = NCA_TEST_PKI / "fl_rsa_auth.p12"
    if not key_file.is_file():
        pytest.skip(f"{key_file} is not available")
    with pytest.raises(ValueError, match="password"):
        run_in_thread(key_file=key_file, password="wrong")


def test_a_missing_pki_is_a_clear_error(tmp_path):
    with pytest.raises(sandbox_pki.PKINotFound, match="no sandbox PKI"):
        run_in_thread(pki_dir=tmp_path / "nowhere")


# --- the command line ------------------------------------------------------------


def test_the_command_line_agent_serves_logs_and_stops_on_sigterm(pki_dir):
    process = subprocess.Popen(
        [sys.executable, "-m", "signing.sandbox.agent", "--port", "0", "--pki", str(pki_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Sandbox signing agent listening on ws://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        secret = "<request><secret>do-not-log-me</secret></request>"
        tokens, signed = ask(url, {"module": COMMON, "method": "getActiveTokens"}, sign_xml(secret))
        assert tokens == {"responseObject": [], "code": "200"}
        assert signed["code"] == "200"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = process.stderr.read()
    assert "commonUtils.getActiveTokens" in log and "commonUtils.signXml" in log
    serial = sandbox_pki.SandboxPKI.load(pki_dir).key_file(CITIZEN, "sign").serial_hex
    assert serial in log
    assert "do-not-log-me" not in log and "Qwerty12" not in log


def test_the_command_line_agent_explains_a_missing_pki(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "signing.sandbox.agent", "--port", "0", "--pki", str(tmp_path / "nowhere")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "no sandbox PKI" in result.stderr


# --- the real browser client ---------------------------------------------------


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (REPO / "node_modules" / "ncalayer-js-client" / "ncalayer-client.js").is_file():
        pytest.skip("node_modules/ncalayer-js-client is not installed (npm install)")
    return node


def run_client(url: str, mode: str) -> dict:
    node = _node()
    script = Path(__file__).with_name("ncalayer_client_check.mjs")
    # Node 20 has no global WebSocket: the client then requires the `ws`
    # package (installed with it), so no --experimental-websocket is needed.
    result = subprocess.run(
        [node, str(script), url, mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_real_ncalayer_js_client_signs_through_the_agent(agent, pki):
    out = run_client(agent.url, "sign")
    assert out["version"] == "1.4"
    assert out["isKmd"] is False  # the KAZTOKEN probe was answered with an error
    assert out["activeTokens"] == {"ok": True, "value": []}
    assert out["keyInfo"]["ok"] and out["keyInfo"]["value"]["algorithm"] == "RSA"
    sign_key, auth_key = key_certificate(pki, CITIZEN, "sign"), key_certificate(pki, CITIZEN, "auth")
    assert out["signXml"]["ok"] and certificate_of(out["signXml"]["value"]) == sign_key
    assert_verifies(out["signXml"]["value"], sign_key)
    assert certificate_of(out["signXmlAuth"]["value"]) == auth_key
    assert len(out["signXmls"]["value"]) == 2
    (basics,) = out["basics"]["value"]  # basicsSignXML resolves to the array
    assert certificate_of(basics) == sign_key
    assert_verifies(basics, sign_key)
    assert len(out["basicsArray"]["value"]) == 2
    assert certificate_of(out["basicsAuth"]["value"][0]) == auth_key
    assert out["badXml"] == {
        "ok": False,
        "name": "NCALayerError",
        "message": "500: org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 25; "
        "XML document structures must start and end within the same entity.",
        "canceledByUser": False,
    }


def test_the_real_ncalayer_js_client_sees_cancel(start):
    handle = start(cancel=True)
    out = run_client(handle.url, "cancel")
    for name in ("signXml", "signXmlAuth", "signXmls", "badXml"):
        # The client reports commonUtils' cancel as an error whose message names it.
        assert out[name] == {"ok": False, "name": "NCALayerError", "message": "500: action.canceled", "canceledByUser": False}
    for name in ("basics", "basicsArray", "basicsAuth"):
        assert out[name] == {"ok": False, "name": "NCALayerError", "message": "cancelled by user", "canceledByUser": True}
