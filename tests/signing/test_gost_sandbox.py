"""The sandbox PKI's GOST 34.10-2015 keys and CA, and the agent signing with them.

The sandbox issues GOST keys by default (RSA for holders named RSA): they
chain to the sandbox GOST CA, whose CRL and OCSP answers are GOST-signed and
verify; the agent's two NCALayer shapes verify in the portal's verify(); a
flipped byte is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
from websockets.sync.client import connect

from signing import gost_pkcs12, gost_x509
from signing.gost import GostPrivateKey
from signing.revocation import RevocationChecker, read_crl, read_ocsp_response
from signing.sandbox import pki
from signing.sandbox.agent import run_in_thread
from signing.verify import HolderType, Purpose, Refused, TrustStore, verify
from signing.xmldsig import SigningKey

NOW = datetime.now(UTC).replace(microsecond=0)
CITIZEN = "900101300018"  # GOST, the special holder
LEGACY = "950202400027"  # RSA
EMPLOYEE = "850505300021"
ORGANISATION = "180340021234"
DOCUMENT = b'<application xmlns="urn:qyzmet:application:1"><nonce>n-1</nonce><iin>900101300018</iin></application>'


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> pki.SandboxPKI:
    return pki.create(
        tmp_path_factory.mktemp("gost-pki"),
        [pki.Holder(CITIZEN, "Ахметов", "Ержан", "Болатович"), pki.Holder(LEGACY, "Сейтқали", "Айгерім", algorithm=pki.RSA)],
        now=NOW,
        special_holder=CITIZEN,
        organisations=[
            pki.Holder(EMPLOYEE, "Омаров", "Ерлан", bin=ORGANISATION, organisation='ТОО "Qyzmet Test"', roles=(pki.ROLE_HEAD,))
        ],
    )


@pytest.fixture(scope="module")
def trust(sandbox) -> TrustStore:
    return TrustStore.from_pem_files(sandbox.bundle_path)


def checker(sandbox, methods=("ocsp", "crl")) -> RevocationChecker:
    return RevocationChecker(methods=methods, fetch=lambda url, body=None, content_type=None: sandbox.fetch(url, body))


def test_every_holder_gets_gost_keys_unless_named_rsa(sandbox):
    algorithms = {(key.holder, key.kind, key.variant): key.algorithm for key in sandbox.all_keys()}
    assert algorithms[CITIZEN, pki.SIGN, pki.NORMAL] == algorithms[CITIZEN, pki.AUTH, pki.NORMAL] == pki.GOST
    assert algorithms[CITIZEN, pki.SIGN, pki.REVOKED] == pki.GOST
    assert algorithms[ORGANISATION, pki.SIGN, pki.NORMAL] == pki.GOST
    assert algorithms[LEGACY, pki.SIGN, pki.NORMAL] == algorithms[LEGACY, pki.AUTH, pki.NORMAL] == pki.RSA
    assert sandbox.key_file(CITIZEN).download_name.startswith("GOST512_")
    assert sandbox.key_file(CITIZEN, pki.AUTH).download_name.startswith("AUTH_GOST512_")
    assert sandbox.key_file(LEGACY).download_name.startswith("RSA256_")
    index = json.loads((sandbox.directory / "index.json").read_text())
    assert {entry["algorithm"] for entry in index["keys"]} == {"gost", "rsa"}


def test_a_gost_key_chains_to_the_sandbox_gost_ca(sandbox, trust):
    key = sandbox.signing_key(CITIZEN)
    assert isinstance(key.private_key, GostPrivateKey)
    certificate = key.certificate
    assert gost_x509.has_gost_key(certificate) and gost_x509.is_gost_signed(certificate)
    assert certificate.issuer == sandbox.gost_ca.subject
    assert gost_x509.issued_by(certificate, sandbox.gost_ca)
    assert not gost_x509.issued_by(certificate, sandbox.intermediate)
    assert trust.chain(certificate, NOW) == [certificate, sandbox.gost_ca]
    assert gost_x509.issued_by(sandbox.gost_ca, sandbox.gost_ca)  # self-signed, with GOST
    # The national CA's profile: the same key usages, roles and policy as the RSA keys.
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    # The address of its own CA's CRL; one OCSP responder for both CAs.
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == f"{sandbox.base_url}/gost/crl"


def test_the_key_file_is_a_pkcs12_openssl_reads(sandbox):
    path = sandbox.key_file(CITIZEN).path
    key, certificate = gost_pkcs12.read(path.read_bytes(), sandbox.password)
    assert key.public_key == gost_x509.public_key_of(certificate)
    with pytest.raises(gost_pkcs12.NotGost):
        gost_pkcs12.read(path.read_bytes(), "wrong password")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command")
    info = subprocess.run(
        [openssl, "pkcs12", "-in", str(path), "-info", "-nokeys", "-passin", f"pass:{sandbox.password}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "MAC: sha256" in info.stderr and "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC" in info.stderr
    assert "QYZMET SANDBOX CA (GOST)" in info.stdout
    # OpenSSL decrypts the key bag too, and stops only at the national CA's key OID it does not know.
    keys = subprocess.run(
        [openssl, "pkcs12", "-in", str(path), "-nocerts", "-nodes", "-passin", f"pass:{sandbox.password}"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "TYPE=1.2.398.3.10.1.1.2.2" in keys.stderr
    wrong = subprocess.run(
        [openssl, "pkcs12", "-in", str(path), "-noout", "-passin", "pass:wrong"], capture_output=True, text=True
    )
    assert wrong.returncode != 0 and "Mac verify error" in wrong.stderr


def test_the_gost_crl_is_gost_signed_and_lists_the_revoked_key(sandbox):
    crl = x509.load_der_x509_crl(sandbox.gost_crl(NOW))
    assert gost_x509.is_gost_signed(crl)
    assert gost_x509.crl_signed_by(crl, sandbox.gost_ca)
    revoked = sandbox.key_file(CITIZEN, pki.SIGN, pki.REVOKED).serial
    assert crl.get_revoked_certificate_by_serial_number(revoked) is not None
    assert crl.get_revoked_certificate_by_serial_number(sandbox.key_file(CITIZEN).serial) is None
    assert read_crl(sandbox.gost_crl(NOW), revoked, sandbox.gost_ca, now=NOW).status == "revoked"  # the portal's reader
    # A flipped byte in its signature: refused.
    der = bytearray(sandbox.gost_crl(NOW))
    der[-5] ^= 0x01
    assert not gost_x509.crl_signed_by(x509.load_der_x509_crl(bytes(der)), sandbox.gost_ca)
    # The RSA CRL does not list GOST keys.
    rsa_crl = x509.load_der_x509_crl(sandbox.crl(NOW))
    assert rsa_crl.get_revoked_certificate_by_serial_number(revoked) is None


@pytest.mark.parametrize("variant, status", [(pki.NORMAL, ocsp.OCSPCertStatus.GOOD), (pki.REVOKED, ocsp.OCSPCertStatus.REVOKED)])
def test_the_ocsp_answer_about_a_gost_key_is_gost_signed(sandbox, variant, status):
    certificate = sandbox.signing_key(CITIZEN, variant=variant).certificate
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, sandbox.gost_ca, hashes.SHA1()).build()
    answer = sandbox.ocsp_response(request.public_bytes(serialization.Encoding.DER), NOW)
    response = ocsp.load_der_ocsp_response(answer)
    assert gost_x509.is_gost_signed(response)
    assert gost_x509.ocsp_signed_by(response, sandbox.gost_ca)
    assert response.certificate_status == status
    evidence = read_ocsp_response(answer, certificate.serial_number, sandbox.gost_ca, now=NOW)
    assert evidence.status == ("good" if variant == pki.NORMAL else "revoked")


@pytest.mark.parametrize("compact, line_ending", [(False, "\r\n"), (True, "\n")], ids=["signXml", "basics.sign"])
def test_both_shapes_verify_with_revocation_and_a_flipped_byte_is_refused(sandbox, trust, compact, line_ending):
    signed = sandbox.sign_xml(CITIZEN, DOCUMENT, compact=compact, line_ending=line_ending)
    assert (b"&#13;" in signed) is not compact and (b"\n" in signed.split(b"?>", 1)[1]) is not compact
    for methods in (("ocsp",), ("crl",)):
        verdict = verify(signed, trust=trust, issued=DOCUMENT, expected_iin=CITIZEN, revocation=checker(sandbox, methods), now=NOW)
        assert verdict.signer.iin == CITIZEN and verdict.nonce == "n-1" and verdict.revocation.method == methods[0]
    value = signed.index(b"<ds:SignatureValue>") + len(b"<ds:SignatureValue>") + 2
    flipped = signed[:value] + bytes([signed[value] ^ 0x01 if signed[value] != ord("A") ^ 1 else ord("B")]) + signed[value + 1 :]
    with pytest.raises(Refused) as refused:
        verify(flipped, trust=trust, issued=DOCUMENT, revocation=checker(sandbox), now=NOW)
    assert refused.value.reason in ("signature_invalid", "key_info")
    tampered = signed.replace(b"n-1", b"n-2")
    with pytest.raises(Refused) as refused:
        verify(tampered, trust=trust, revocation=checker(sandbox), now=NOW)
    assert refused.value.reason == "signature_invalid"


def test_revoked_and_expired_gost_keys_are_refused(sandbox, trust):
    for variant, reason in ((pki.REVOKED, "revoked"), (pki.EXPIRED, "expired"), (pki.NOT_YET_VALID, "not_yet_valid")):
        signed = sandbox.sign_xml(CITIZEN, DOCUMENT, variant=variant)
        with pytest.raises(Refused) as refused:
            verify(signed, trust=trust, revocation=checker(sandbox), now=NOW)
        assert refused.value.reason == reason


def test_gost_login_and_organisation_keys(sandbox, trust):
    auth = sandbox.sign_xml(CITIZEN, DOCUMENT, pki.AUTH)
    verdict = verify(auth, trust=trust, purpose=Purpose.LOG_IN, revocation=checker(sandbox), now=NOW)
    assert verdict.signer.iin == CITIZEN
    with pytest.raises(Refused) as refused:
        verify(auth, trust=trust, purpose=Purpose.SIGN, revocation=checker(sandbox), now=NOW)
    assert refused.value.reason == "wrong_key_type"
    organisation = sandbox.sign_xml(ORGANISATION, DOCUMENT)
    verdict = verify(organisation, trust=trust, holder=HolderType.ORGANISATION, expected_bin=ORGANISATION,
                     revocation=checker(sandbox), now=NOW)  # fmt: skip
    assert verdict.signer.bin == ORGANISATION


def test_a_gost_key_is_refused_once_revoked_and_passes_as_of_before(sandbox, trust, tmp_path):
    copy = pki.SandboxPKI.load(shutil.copytree(sandbox.directory, tmp_path / "pki"))
    signed = copy.sign_xml(LEGACY, DOCUMENT)  # RSA keeps working next to GOST
    verify(signed, trust=trust, revocation=checker(copy), now=NOW)
    signed = copy.sign_xml(CITIZEN, DOCUMENT)
    copy.revoke(copy.key_file(CITIZEN).serial, NOW - timedelta(minutes=10))
    for methods in (("crl",), ("ocsp",)):
        with pytest.raises(Refused) as refused:
            verify(signed, trust=trust, revocation=checker(copy, methods), now=NOW)
        assert refused.value.reason == "revoked"
        # As of a moment before the revocation, by the same GOST-signed answers: it stood.
        earlier = verify(signed, trust=trust, revocation=checker(copy, methods), as_of=NOW - timedelta(minutes=20), now=NOW)
        assert earlier.revocation.method == methods[0] and earlier.revocation.status == "good"


# --- the agent -------------------------------------------------------------------


def _ask(agent, request: dict) -> dict:
    with connect(agent.url) as ws:
        assert ws.recv() == '{"result":{"version":"1.4"}}'
        ws.send(json.dumps(request))
        return json.loads(ws.recv())


def _basics(data: str, signer: dict) -> dict:
    return {"module": "kz.gov.pki.knca.basics", "method": "sign",
            "args": {"allowedStorages": ["PKCS12"], "format": "xml", "data": data, "signingParams": {}, "signerParams": signer, "locale": "ru"}}  # fmt: skip


@pytest.fixture(scope="module")
def agent(sandbox):
    with run_in_thread(pki_dir=sandbox.directory) as handle:
        yield handle


def test_the_agent_signs_with_gost_in_both_shapes_and_they_verify(agent, sandbox, trust):
    document = DOCUMENT.decode()
    common = _ask(agent, {"module": "kz.gov.pki.knca.commonUtils", "method": "signXml",
                          "args": ["PKCS12", "SIGNATURE", document, "", ""]})  # fmt: skip
    signed = common["responseObject"].encode()
    assert b"gostr34102015-gostr34112015-512" in signed and b"&#13;" in signed
    verify(signed, trust=trust, issued=DOCUMENT, expected_iin=CITIZEN, revocation=checker(sandbox), now=NOW)

    basics = _ask(agent, _basics(document, {"iin": CITIZEN, "extKeyUsageOids": ["1.3.6.1.5.5.7.3.4", pki.ROLE_INDIVIDUAL]}))
    signed = basics["body"]["result"][0].encode()
    assert b"gostr34102015-gostr34112015-512" in signed and b"&#13;" not in signed
    assert b"\n" not in signed.split(b"?>", 1)[1]  # compact: no line break at all
    verify(signed, trust=trust, issued=DOCUMENT, expected_iin=CITIZEN, revocation=checker(sandbox), now=NOW)


def test_signer_params_choose_the_key(agent, sandbox, trust):
    document = DOCUMENT.decode()
    # clientAuth: the authentication key.
    reply = _ask(agent, _basics(document, {"iin": CITIZEN, "extKeyUsageOids": ["1.3.6.1.5.5.7.3.2", pki.ROLE_INDIVIDUAL]}))
    verify(reply["body"]["result"][0].encode(), trust=trust, purpose=Purpose.LOG_IN, now=NOW)
    # An organisation's role: the organisation's key (its head's), without naming the BIN.
    reply = _ask(agent, _basics(document, {"extKeyUsageOids": ["1.3.6.1.5.5.7.3.4", pki.ROLE_ORGANISATION, pki.ROLE_HEAD]}))
    verdict = verify(reply["body"]["result"][0].encode(), trust=trust, holder=HolderType.ORGANISATION, now=NOW)
    assert (verdict.signer.bin, verdict.signer.iin) == (ORGANISATION, EMPLOYEE)
    # The employee's IIN with an organisation role: the same organisation key.
    reply = _ask(agent, _basics(document, {"iin": EMPLOYEE, "extKeyUsageOids": [pki.ROLE_ORGANISATION]}))
    assert verify(reply["body"]["result"][0].encode(), trust=trust, holder=HolderType.ORGANISATION, now=NOW).signer.bin == ORGANISATION
    # The legacy RSA citizen asked for by IIN: their RSA key.
    reply = _ask(agent, _basics(document, {"iin": LEGACY, "extKeyUsageOids": [pki.ROLE_INDIVIDUAL]}))
    assert b"rsa-sha256" in reply["body"]["result"][0].encode()
    # No key fits (an individual's role for the employee's IIN): an error, not someone else's key.
    reply = _ask(agent, _basics(document, {"iin": EMPLOYEE, "extKeyUsageOids": [pki.ROLE_INDIVIDUAL]}))
    assert reply["status"] is False and "fits signerParams" in reply["details"]


def test_the_agent_describes_a_gost_key(agent, sandbox):
    reply = _ask(agent, {"module": "kz.gov.pki.knca.commonUtils", "method": "getKeyInfo", "args": ["PKCS12"]})
    info = reply["responseObject"]
    assert info["algorithm"] == "ECGOST3410-2015"
    assert int(info["serialNumber"], 16) == sandbox.key_file(CITIZEN).serial
    assert SigningKey.from_pkcs12(sandbox.key_file(CITIZEN).path, sandbox.password).certificate.serial_number == int(info["serialNumber"], 16)
