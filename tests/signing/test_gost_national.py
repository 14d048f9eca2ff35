"""GOST 34.10-2015 against the national CA's genuine material (tests/data/nca-test-pki/gost/).

What Kalkan and the national CA really produce: the test vectors, a genuine
XML signature by a certificate of the GOST TEST 2022 CA, that CA's GOST
signed CRL, two answers of the national OCSP responder, and a Kalkan-shaped
enveloped signature. Each verifies; a flipped byte in each is refused with
its own reason. All of it is from 2022 to 2025, so it is judged as of a
moment inside its validity (an archival "verify as of"), never with checks
switched off; today the same material is expired or stale.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from lxml import etree

from signing import gost, gost_x509
from signing.certificates import ROLE_ORGANISATION, read_certificate
from signing.revocation import CRL, RevocationChecker, RevocationUnavailable, read_crl, read_ocsp_response
from signing.verify import HolderType, Refused, TrustStore, verify
from signing.xmldsig import DS, SignatureMismatch, verify_gost

from tests.signing.conftest import NATIONAL

GOST = NATIONAL / "gost"
TEST_IIN, TEST_BIN = "123456789011", "123456789021"
SAMPLE_VALID = datetime(2025, 1, 1, tzinfo=UTC)  # the sample's certificate: 2024-10-29 to 2025-10-29
CRL_PERIOD = datetime(2022, 10, 1, tzinfo=UTC)  # the CRL: 2022-07-27, next update 2023-01-23
OCSP_MOMENT = datetime(2022, 9, 2, 17, 30, tzinfo=UTC)  # both answers: 2022-09-02 ~17:00, no next update
CEO_SERIAL = 0x3A90343E720594C55204B19CB9A402422EF0E622  # on the CRL and in the CEO's OCSP answer
CEO_REVOKED_AT = datetime(2022, 7, 27, 10, 25, 30, tzinfo=UTC)
NEVER_ISSUED_SERIAL = 0x0FF06211DC82BEB00253FFA000F1DE84ABEF454F  # the "individual" answer


def flip(data: bytes, offset: int) -> bytes:
    """The same bytes with one bit of one byte changed."""
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def flip_in(data: bytes, part: bytes) -> bytes:
    """Flip a byte in the middle of `part`, which occurs once in data."""
    assert data.count(part) == 1
    return flip(data, data.index(part) + len(part) // 2)


@pytest.fixture(scope="module")
def vectors() -> dict[str, str]:
    lines = (GOST / "test_gost512.vectors").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="module")
def gost_ca() -> x509.Certificate:
    return x509.load_der_x509_certificate((GOST / "nca_gost2022_test.cer").read_bytes())


@pytest.fixture(scope="module")
def gost_trust(gost_ca) -> TrustStore:
    return TrustStore.from_pem_files(GOST / "nca_gost2022_test.cer")  # DER is accepted too


@pytest.fixture(scope="module")
def sample() -> bytes:
    return (NATIONAL / "gost-signed-sample.xml").read_bytes()


def embedded_certificate(signed: bytes) -> x509.Certificate:
    text = re.search(rb"<ds:X509Certificate>(.*?)</ds:X509Certificate>", signed, re.S).group(1)
    return x509.load_der_x509_certificate(base64.b64decode(re.sub(rb"\s|&#13;", b"", text)))


def replace_certificate(signed: bytes, certificate: bytes) -> bytes:
    text = base64.b64encode(certificate)
    return re.sub(rb"(<ds:X509Certificate>).*?(</ds:X509Certificate>)", rb"\g<1>" + text + rb"\g<2>", signed, flags=re.S)


def base64_value(signed: bytes, element: str) -> bytes:
    text = re.search(rb"<ds:%s>(.*?)</ds:%s>" % (element.encode(), element.encode()), signed, re.S).group(1)
    return base64.b64decode(re.sub(rb"\s|&#13;", b"", text))


def replace_value(signed: bytes, element: str, value: bytes) -> bytes:
    tag = element.encode()
    return re.sub(rb"(<ds:%s>).*?(</ds:%s>)" % (tag, tag), rb"\g<1>" + base64.b64encode(value) + rb"\g<2>", signed, flags=re.S)


def reason(**kwargs) -> str:
    with pytest.raises(Refused) as refused:
        verify(**kwargs)
    return refused.value.reason


# --- the test vectors ----------------------------------------------------------


def test_the_vectors(vectors):
    message = vectors["msg"].encode()
    assert gost.streebog(message).hex() == vectors["digest"]
    private = gost.GostPrivateKey(gost.CURVE_512, int(vectors["d"], 16))
    public = private.public_key
    assert (public.x, public.y) == (int(vectors["qx"], 16), int(vectors["qy"], 16))
    spki = bytes.fromhex(vectors["spki"])
    assert gost_x509.public_key_from_spki(spki) == public
    assert gost_x509.spki(public) == spki  # the national CA's layout, byte for byte
    signature = bytes.fromhex(vectors["sig"])
    assert public.verify(signature, message)
    assert not public.verify(signature, message + b".")
    assert not public.verify(flip(signature, 10), message)  # in r
    assert not public.verify(flip(signature, 100), message)  # in s
    # Signing with the vectors' key gives a signature the same check accepts (k is random).
    assert public.verify(private.sign(message), message)


# --- the genuine XML signature and its certificate ---------------------------------


def test_the_samples_signed_info_and_digest_verify(sample, gost_ca):
    root = etree.fromstring(sample)
    document = verify_gost(root, gost_x509.public_key_of(embedded_certificate(sample)))
    assert document == b"<test><message>QCxn00hfuH9zCv58</message></test>"


def test_the_sample_verifies_as_an_organisations_key(sample, gost_trust):
    verdict = verify(sample, trust=gost_trust, holder=HolderType.ORGANISATION, expected_bin=TEST_BIN, as_of=SAMPLE_VALID)
    signer = verdict.signer
    assert (signer.iin, signer.bin, signer.name) == (TEST_IIN, TEST_BIN, "ТЕСТОВ ТЕСТ")
    assert ROLE_ORGANISATION in signer.roles
    assert signer.key_usage == ("digitalSignature", "nonRepudiation", "keyAgreement")  # GOST signing keys agree keys too
    assert read_certificate(signer.certificate).organisation == 'АО "ТЕСТ"'
    assert verdict.document == b"<test><message>QCxn00hfuH9zCv58</message></test>"
    # The same key is an organisation employee's: not an individual's.
    assert reason(signed_xml=sample, trust=gost_trust, as_of=SAMPLE_VALID) == "not_individual"


def test_the_sample_is_judged_as_of_the_moment_given(sample, gost_trust):
    options = dict(signed_xml=sample, trust=gost_trust, holder=HolderType.ORGANISATION)
    assert reason(**options) == "expired"  # today
    assert reason(**options, as_of=datetime(2024, 1, 1, tzinfo=UTC)) == "not_yet_valid"


def test_the_samples_certificate_verifies_under_the_gost_test_ca(sample, gost_ca):
    certificate = embedded_certificate(sample)
    assert gost_x509.is_gost_signed(certificate) and gost_x509.has_gost_key(certificate)
    assert gost_x509.issued_by(certificate, gost_ca)
    assert TrustStore.from_certificates([gost_ca]).issuer_of(certificate) == gost_ca
    der = certificate.public_bytes(gost_x509.DER)
    assert not gost_x509.issued_by(x509.load_der_x509_certificate(flip(der, len(der) - 20)), gost_ca)  # signature
    serial = certificate.serial_number.to_bytes(20, "big")  # the NCA's serial is the key identifier: twice in the TBS
    assert not gost_x509.issued_by(x509.load_der_x509_certificate(flip(der, der.index(serial) + 5)), gost_ca)


@pytest.mark.parametrize(
    "tamper, expected",
    [
        (lambda s: replace_value(s, "SignatureValue", flip(base64_value(s, "SignatureValue"), 7)), "signature_invalid"),
        (lambda s: replace_value(s, "DigestValue", flip(base64_value(s, "DigestValue"), 7)), "signature_invalid"),
        (lambda s: s.replace(b"QCxn00hfuH9zCv58", b"QCxn00hfuH9zCv59"), "signature_invalid"),
        (lambda s: s.replace(b"<ds:Reference URI=\"\">", b"<ds:Reference URI=\"\" >"), None),  # not a change in C14N
        (lambda s: s.replace(b"</ds:Transforms>", b"</ds:Transforms> "), "signature_invalid"),  # whitespace is signed
        (
            lambda s: replace_certificate(s, flip(embedded_certificate(s).public_bytes(gost_x509.DER), -20)),
            "untrusted",
        ),
    ],
    ids=["signature_value", "digest_value", "document", "attribute_spacing", "signed_info_whitespace", "certificate"],
)
def test_a_flipped_byte_in_the_sample_is_refused(tamper, expected, sample, gost_trust):
    altered = tamper(sample)
    assert altered != sample
    options = dict(signed_xml=altered, trust=gost_trust, holder=HolderType.ORGANISATION, as_of=SAMPLE_VALID)
    if expected is None:
        assert verify(**options).signer.bin == TEST_BIN
    else:
        assert reason(**options) == expected


def test_the_sample_under_another_ca_is_untrusted(sample, national_trust):
    assert reason(signed_xml=sample, trust=national_trust, holder=HolderType.ORGANISATION, as_of=SAMPLE_VALID) == "untrusted"


# --- the Kalkan-shaped enveloped signature (commonUtils: &#13; line ends) ------------


def test_the_kalkan_shape_sample_verifies():
    signed = (GOST / "kalkan-shape-gost512-enveloped.xml").read_bytes()
    assert b"&#13;" in signed
    certificate = embedded_certificate(signed)
    assert gost_x509.issued_by(certificate, certificate)  # self-signed
    document = verify_gost(etree.fromstring(signed), gost_x509.public_key_of(certificate))
    assert document == '<root><a>1</a><b attr="x">текст</b></root>'.encode()
    # Through verify(): the signature holds, then the certificate is no signing key (it has no keyUsage at all).
    pinned = TrustStore.from_certificates([certificate])
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    assert reason(signed_xml=signed, trust=pinned, as_of=moment) == "wrong_key_type"
    assert reason(signed_xml=signed.replace("текст".encode(), "текcт".encode()), trust=pinned, as_of=moment) == "signature_invalid"
    flipped = replace_value(signed, "SignatureValue", flip(base64_value(signed, "SignatureValue"), 70))
    with pytest.raises(SignatureMismatch):
        verify_gost(etree.fromstring(flipped), gost_x509.public_key_of(certificate))
    assert reason(signed_xml=flipped, trust=pinned, as_of=moment) == "signature_invalid"


def test_the_kalkan_and_vector_keys_are_the_same(vectors):
    signed = (GOST / "kalkan-shape-gost512-enveloped.xml").read_bytes()
    assert gost_x509.public_key_of(embedded_certificate(signed)).to_bytes() == (
        gost.GostPrivateKey(gost.CURVE_512, int(vectors["d"], 16)).public_key.to_bytes()
    )


# --- the CRL -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crl_der() -> bytes:
    return (GOST / "nca_gost2022_test.crl").read_bytes()


@pytest.fixture(scope="module")
def responder() -> x509.Certificate:
    """The national OCSP responder's certificate (inside its answers): a genuine certificate of the GOST TEST CA."""
    return ocsp.load_der_ocsp_response((GOST / "ocsp_response_ceo_gost2015_revoked.bin").read_bytes()).certificates[0]


def test_the_crls_signature_verifies(crl_der, gost_ca):
    crl = x509.load_der_x509_crl(crl_der)
    assert gost_x509.is_gost_signed(crl) and gost_x509.crl_signed_by(crl, gost_ca)
    revoked = read_crl(crl_der, CEO_SERIAL, gost_ca, at=CRL_PERIOD)
    assert (revoked.status, revoked.method, revoked.revoked_at) == ("revoked", CRL, CEO_REVOKED_AT)
    assert revoked.response == crl_der


def test_a_flipped_byte_in_the_crl_is_refused(crl_der, gost_ca):
    flipped = flip(crl_der, len(crl_der) - 30)  # in the signature, the CRL's last field
    assert not gost_x509.crl_signed_by(x509.load_der_x509_crl(flipped), gost_ca)
    with pytest.raises(RevocationUnavailable, match="signature is not the issuer's"):
        read_crl(flipped, CEO_SERIAL, gost_ca, at=CRL_PERIOD)
    entry = CEO_SERIAL.to_bytes(20, "big")
    with pytest.raises(RevocationUnavailable, match="signature is not the issuer's"):
        read_crl(flip_in(crl_der, entry), CEO_SERIAL, gost_ca, at=CRL_PERIOD)  # in the signed list


def test_the_crl_is_fresh_as_of_its_period_and_stale_today(crl_der, gost_ca, responder):
    assert read_crl(crl_der, responder.serial_number, gost_ca, at=CRL_PERIOD).status == "good"
    with pytest.raises(RevocationUnavailable, match="stale"):
        read_crl(crl_der, responder.serial_number, gost_ca)  # today
    with pytest.raises(RevocationUnavailable, match="stale"):
        read_crl(crl_der, responder.serial_number, gost_ca, at=datetime(2023, 2, 1, tzinfo=UTC))
    # As of a moment before the revocation, the CEO's certificate was still good.
    assert read_crl(crl_der, CEO_SERIAL, gost_ca, at=datetime(2022, 7, 1, tzinfo=UTC)).status == "good"


def test_the_checker_judges_the_crl_as_of_the_moment_verified(crl_der, gost_ca, responder):
    """RevocationChecker.check(at=...): the freshness of what it fetches, as of `at`."""
    urls = []

    def fetch(url, body=None, content_type=None):
        urls.append(url)
        return crl_der

    checker = RevocationChecker(methods=(CRL,), crl_urls=("http://test.pki.gov.kz/crl/nca_gost2022_test.crl",), fetch=fetch)
    evidence = checker.check(responder, gost_ca, at=CRL_PERIOD)
    assert (evidence.status, evidence.method, evidence.response) == ("good", CRL, crl_der)
    with pytest.raises(RevocationUnavailable, match="stale"):
        checker.check(responder, gost_ca)
    assert urls == ["http://test.pki.gov.kz/crl/nca_gost2022_test.crl"] * 2  # a stale CRL is not cached


# --- the OCSP answers ------------------------------------------------------------------

ANSWERS = [
    ("ocsp_response_ceo_gost2015_revoked.bin", CEO_SERIAL, CEO_REVOKED_AT),
    ("ocsp_response_individual_gost2015.bin", NEVER_ISSUED_SERIAL, datetime(1970, 1, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize("name, serial, revoked_at", ANSWERS, ids=["ceo", "individual"])
def test_the_ocsp_answers_signatures_verify(name, serial, revoked_at, gost_ca, responder):
    der = (GOST / name).read_bytes()
    response = ocsp.load_der_ocsp_response(der)
    assert gost_x509.is_gost_signed(response) and gost_x509.ocsp_signed_by(response, responder)
    assert gost_x509.issued_by(responder, gost_ca)  # a responder the CA delegated
    assert not gost_x509.ocsp_signed_by(response, gost_ca)
    evidence = read_ocsp_response(der, serial, gost_ca, at=OCSP_MOMENT)
    assert (evidence.status, evidence.revoked_at, evidence.response) == ("revoked", revoked_at, der)


@pytest.mark.parametrize("name, serial, revoked_at", ANSWERS, ids=["ceo", "individual"])
def test_a_flipped_byte_in_an_ocsp_answer_is_refused(name, serial, revoked_at, gost_ca):
    der = (GOST / name).read_bytes()
    response = ocsp.load_der_ocsp_response(der)
    for flipped in (flip_in(der, response.signature), flip_in(der, serial.to_bytes(20, "big"))):
        assert not gost_x509.ocsp_signed_by(ocsp.load_der_ocsp_response(flipped), response.certificates[0])
        with pytest.raises(RevocationUnavailable, match="signature is not valid"):
            read_ocsp_response(flipped, serial, gost_ca, at=OCSP_MOMENT)


def test_the_ocsp_answers_are_judged_as_of_the_moment_given(gost_ca, national_trust):
    der = (GOST / "ocsp_response_ceo_gost2015_revoked.bin").read_bytes()
    with pytest.raises(RevocationUnavailable, match="responder's certificate is not valid at"):
        read_ocsp_response(der, CEO_SERIAL, gost_ca)  # today: the responder's certificate expired in 2023
    with pytest.raises(RevocationUnavailable, match="names no next update"):
        read_ocsp_response(der, CEO_SERIAL, gost_ca, at=datetime(2022, 10, 1, tzinfo=UTC))  # a month later
    with pytest.raises(RevocationUnavailable, match="not about this certificate"):
        read_ocsp_response(der, CEO_SERIAL + 1, gost_ca, at=OCSP_MOMENT)
    with pytest.raises(RevocationUnavailable, match="another request's nonce"):
        read_ocsp_response(der, CEO_SERIAL, gost_ca, at=OCSP_MOMENT, nonce=b"not the nonce")
    rsa_ca = national_trust.certificates[0]  # the RSA TEST CA did not delegate this responder
    with pytest.raises(RevocationUnavailable, match="responder we do not know|not issued by"):
        read_ocsp_response(der, CEO_SERIAL, rsa_ca, at=OCSP_MOMENT)
    # As of a moment before the revocation the certificate was good (the answer says when it was revoked),
    # but the responder's certificate was not valid yet then: its answer does not count for that moment.
    with pytest.raises(RevocationUnavailable, match="responder's certificate is not valid at"):
        read_ocsp_response(der, CEO_SERIAL, gost_ca, at=datetime(2022, 7, 1, tzinfo=UTC))
    assert read_ocsp_response(der, CEO_SERIAL, gost_ca, at=datetime(2022, 9, 2, 16, 59, 28, tzinfo=UTC)).status == "revoked"


def test_the_signature_tags_are_the_ones_kalkan_writes(sample):
    """The sample names the algorithm URIs signing.xmldsig verifies and signs with."""
    root = etree.fromstring(sample)
    ns = {"ds": DS}
    assert root.find(".//ds:SignatureMethod", ns).get("Algorithm").endswith("gostr34102015-gostr34112015-512")
    assert root.find(".//ds:DigestMethod", ns).get("Algorithm").endswith(":gostr34112015-512")
