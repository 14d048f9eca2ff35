"""Interoperability: genuine national CA (NCA) test keys and documents, and xmlsec1.

The NCA's test certificates have all expired, so they are verified as of a
moment inside their validity (an archival check), never with validity checks
switched off. The national TEST issuing CA (nca_rsa_test.crt) is an
intermediate whose root is not published with it: it is the trust anchor.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.certificates import ROLE_INDIVIDUAL, ROLE_ORGANISATION, read_certificate
from signing.revocation import CRL, RevocationChecker, RevocationUnavailable, read_crl
from signing.verify import HolderType, Purpose, Refused, TrustStore, canonicalize, verify
from signing.xmldsig import sign_enveloped
from webapp.identifiers import has_valid_check_digit

from tests.signing.conftest import ISSUED, NATIONAL

TEST_IIN = "123456789011"  # fails the IIN check digit, and is genuine
TEST_BIN = "123456789021"
INSIDE_VALIDITY = datetime(2023, 5, 1, tzinfo=UTC)
XMLSEC1 = "/usr/bin/xmlsec1"

DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<application xmlns="urn:qyzmet:application:1"><nonce>n-2023-05</nonce><iin>{TEST_IIN}</iin>'
    "<answer>Тестовое заявление</answer></application>"
).encode()


def refusal(**kwargs) -> str:
    with pytest.raises(Refused) as refused:
        verify(**kwargs)
    return refused.value.reason


@pytest.fixture(scope="module")
def fl_sign_signed(national_keys) -> bytes:
    return sign_enveloped(DOCUMENT, national_keys["fl_rsa_sign"], line_ending="\r\n")


def test_genuine_signing_key_verifies_as_of_its_validity(fl_sign_signed, national_trust, national_keys):
    verdict = verify(
        fl_sign_signed, trust=national_trust, issued=DOCUMENT, expected_iin=TEST_IIN, as_of=INSIDE_VALIDITY
    )
    signer = verdict.signer
    assert signer.iin == TEST_IIN and not has_valid_check_digit(TEST_IIN)
    assert signer.bin is None
    assert signer.name == "ТЕСТОВ ТЕСТ"
    assert ROLE_INDIVIDUAL in signer.roles
    assert signer.key_usage == ("digitalSignature", "nonRepudiation")
    assert signer.issuer == "CN=ҰКО 3.0 (RSA TEST),C=KZ"
    assert signer.serial == format(national_keys["fl_rsa_sign"].certificate.serial_number, "X")
    assert signer.serial == "75BFED72D77AE69A1D4741EEAE865ABCA23441F6"
    assert verdict.document == canonicalize(DOCUMENT)
    assert verdict.nonce == "n-2023-05"


def test_genuine_signing_key_has_expired_now(fl_sign_signed, national_trust):
    assert refusal(signed_xml=fl_sign_signed, trust=national_trust, issued=DOCUMENT) == "expired"


def test_genuine_authentication_key(national_keys, national_trust):
    signed = sign_enveloped(DOCUMENT, national_keys["fl_rsa_auth"], line_ending="\r\n")
    assert refusal(signed_xml=signed, trust=national_trust, as_of=INSIDE_VALIDITY) == "wrong_key_type"
    verdict = verify(signed, trust=national_trust, purpose=Purpose.LOG_IN, as_of=INSIDE_VALIDITY)
    assert verdict.signer.iin == TEST_IIN
    assert "1.3.6.1.5.5.7.3.2" in verdict.signer.extended_key_usage


def test_genuine_organisation_key(national_keys, national_trust):
    signed = sign_enveloped(DOCUMENT, national_keys["ul_rsa_auth"], line_ending="\r\n")
    options = dict(signed_xml=signed, trust=national_trust, purpose=Purpose.LOG_IN, as_of=INSIDE_VALIDITY)
    assert refusal(**options, holder=HolderType.INDIVIDUAL) == "not_individual"
    verdict = verify(**options, holder=HolderType.ORGANISATION, expected_bin=TEST_BIN)
    assert (verdict.signer.iin, verdict.signer.bin) == (TEST_IIN, TEST_BIN)
    assert ROLE_ORGANISATION in verdict.signer.roles and ROLE_ORGANISATION + ".1" in verdict.signer.roles
    assert read_certificate(verdict.signer.certificate).organisation == 'АО "ТЕСТ"'


def _embedded_certificate(signed: bytes) -> x509.Certificate:
    text = re.search(rb"<ds:X509Certificate>(.*?)</ds:X509Certificate>", signed, re.S).group(1)
    return x509.load_der_x509_certificate(base64.b64decode(re.sub(rb"\s|&#13;", b"", text)))


def test_ncanode_sample_verifies_with_its_own_certificate_as_anchor(national_trust):
    """Signed by the Kalkan library, with a key of the PRODUCTION NCA (not the TEST CA).

    `openssl x509 -noout -issuer` on its certificate: C=KZ, CN=ҰЛТТЫҚ
    КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA), whose certificate is not in the test
    material. So the signer's certificate itself is the (pinned) anchor, as of
    a moment in its validity; and it is an authentication key (clientAuth).
    """
    signed = (NATIONAL / "ncanode-sample-signed.xml").read_bytes()
    certificate = _embedded_certificate(signed)
    issuer_cn = certificate.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert issuer_cn == "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA)"
    as_of = datetime(2019, 1, 1, tzinfo=UTC)
    assert refusal(signed_xml=signed, trust=national_trust, purpose=Purpose.LOG_IN, as_of=as_of) == "untrusted"

    pinned = TrustStore.from_certificates([certificate])
    verdict = verify(signed, trust=pinned, purpose=Purpose.LOG_IN, as_of=as_of)
    assert verdict.signer.iin == TEST_IIN
    assert verdict.document == b"<root><name>NCANode</name></root>"
    assert refusal(signed_xml=signed, trust=pinned, purpose=Purpose.SIGN, as_of=as_of) == "wrong_key_type"
    altered = signed.replace(b"NCANode", b"NCANodf")
    assert refusal(signed_xml=altered, trust=pinned, purpose=Purpose.LOG_IN, as_of=as_of) == "signature_invalid"


def test_the_genuine_rsa_crl_is_fresh_as_of_its_period_and_stale_today(national_trust):
    """The RSA CA's CRL (2022-03-29, next update 2022-09-25): judged as of a moment it covers, not today."""
    der = (NATIONAL / "nca_rsa_test.crl").read_bytes()
    ca = national_trust.certificates[0]
    entry = next(iter(x509.load_der_x509_crl(der)))
    evidence = read_crl(der, entry.serial_number, ca, at=datetime(2022, 6, 1, tzinfo=UTC))
    assert (evidence.status, evidence.revoked_at) == ("revoked", entry.revocation_date_utc)
    assert read_crl(der, 12345, ca, at=datetime(2022, 6, 1, tzinfo=UTC)).status == "good"
    with pytest.raises(RevocationUnavailable, match="stale"):
        read_crl(der, 12345, ca)


def test_the_checker_takes_a_period_correct_crl_as_of_its_period(national_trust, national_keys):
    """Before, the checker judged freshness by today's clock: a period-correct CRL was always stale."""
    der = (NATIONAL / "nca_rsa_test.crl").read_bytes()
    checker = RevocationChecker(methods=(CRL,), crl_urls=("http://test.pki.gov.kz/crl/nca_rsa.crl",), fetch=lambda *a: der)
    certificate, ca = national_keys["fl_rsa_sign"].certificate, national_trust.certificates[0]
    assert checker.check(certificate, ca, at=datetime(2022, 6, 1, tzinfo=UTC)).status == "good"
    with pytest.raises(RevocationUnavailable, match="stale"):
        checker.check(certificate, ca)


# --- xmlsec1 (the reference implementation) accepts what sign_enveloped makes ---


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    if not Path(XMLSEC1).exists() and not shutil.which("xmlsec1"):
        pytest.skip("xmlsec1 is not installed: apt-get install xmlsec1")
    return XMLSEC1 if Path(XMLSEC1).exists() else shutil.which("xmlsec1")


def _xmlsec1(xmlsec1: str, *args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([xmlsec1, "--verify", *map(str, args)], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("line_ending", ["\r\n", "\n"])
def test_xmlsec1_verifies_a_sandbox_signature_with_the_full_chain(line_ending, xmlsec1, keys, sandbox, trust, tmp_path):
    signed = sign_enveloped(ISSUED, keys(), line_ending=line_ending)
    verify(signed, trust=trust, issued=ISSUED)
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    root, intermediate = sandbox.directory / "root.crt", sandbox.directory / "ca.crt"
    result = _xmlsec1(xmlsec1, "--trusted-pem", root, "--untrusted-pem", intermediate, path)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout + result.stderr

    # The control: xmlsec1 refuses the same document altered.
    path.write_bytes(signed.replace(b"KZ86125KZT5004100100", b"KZ86125KZT5004100199"))
    assert _xmlsec1(xmlsec1, "--trusted-pem", root, "--untrusted-pem", intermediate, path).returncode != 0


def test_xmlsec1_verifies_a_national_key_signature(xmlsec1, fl_sign_signed, national_keys, tmp_path):
    """No root is published for the national TEST CA: xmlsec1 gets the signer's certificate as the key."""
    path, pem = tmp_path / "signed.xml", tmp_path / "signer.pem"
    path.write_bytes(fl_sign_signed)
    pem.write_bytes(national_keys["fl_rsa_sign"].certificate.public_bytes(serialization.Encoding.PEM))
    result = _xmlsec1(xmlsec1, "--pubkey-cert-pem", pem, "--enabled-key-data", "rsa", path)
    assert result.returncode == 0, result.stderr

    path.write_bytes(fl_sign_signed.replace("Тестовое".encode(), "Поддельное".encode()))
    assert _xmlsec1(xmlsec1, "--pubkey-cert-pem", pem, "--enabled-key-data", "rsa", path).returncode != 0


def test_xmlsec1_verifies_the_ncanode_sample(xmlsec1, tmp_path):
    """The same check on a document the national Kalkan library signed: both sides agree."""
    signed = (NATIONAL / "ncanode-sample-signed.xml").read_bytes()
    pem = tmp_path / "signer.pem"
    pem.write_bytes(_embedded_certificate(signed).public_bytes(serialization.Encoding.PEM))
    sample = NATIONAL / "ncanode-sample-signed.xml"
    result = _xmlsec1(xmlsec1, "--pubkey-cert-pem", pem, "--enabled-key-data", "rsa", sample)
    assert result.returncode == 0, result.stderr
