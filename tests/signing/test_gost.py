"""GOST 34.10-2015 with keys made here: signing and verifying in both NCALayer
shapes, 512 and 256 bits, chains to a GOST CA, GOST CRL and OCSP, and what
verify() refuses. The genuine national material is in test_gost_national.py.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

from signing import gost, gost_ca, gost_x509
from signing.certificates import ROLE_HEAD, ROLE_INDIVIDUAL, ROLE_ORGANISATION
from signing.gost_ca import GostAuthority
from signing.revocation import CRL, OCSP, RevocationChecker, RevocationUnavailable, read_crl, read_ocsp_response
from signing.verify import HolderType, Purpose, Refused, TrustStore, canonicalize, verify
from signing.xmldsig import DS, GOST_256, GOST_512, STREEBOG_256, STREEBOG_512, PROLOG, SigningKey, parse, sign_enveloped

from tests.signing.conftest import CITIZEN, EMPLOYEE, ISSUED, ORGANISATION, OTHER_CITIZEN

SIGN_USAGE = x509.KeyUsage(True, True, False, False, True, False, False, False, False)  # as the NCA's GOST signing keys
AUTH_USAGE = x509.KeyUsage(True, False, True, False, True, False, False, False, False)
EMAIL = ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
CA_NAME = x509.Name(
    [x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"), x509.NameAttribute(NameOID.COMMON_NAME, "QYZMET TEST CA (GOST)")]
)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def person(iin: str, name: str = "АХМЕТОВ ЕРЖАН", bin_: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
    ]
    if bin_:
        attributes += [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'ТОО "Qyzmet Test"'),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{bin_}"),
        ]
    return x509.Name(attributes)


class Pki:
    """A GOST CA (with a delegated OCSP responder) and the keys the tests sign with."""

    def __init__(self, curve: gost.Curve = gost.CURVE_512):
        moment = now()
        self.ca = GostAuthority.create(CA_NAME, now=moment, curve=curve, delegated_responder=True)
        self.trust = TrustStore.from_certificates([self.ca.certificate])
        issue = self.ca.issue
        self.sign = issue(person(CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL, ROLE_INDIVIDUAL])
        self.auth = issue(person(CITIZEN), now=moment, key_usage=AUTH_USAGE, extended_key_usage=[CLIENT, ROLE_INDIVIDUAL])
        self.organisation = issue(
            person(EMPLOYEE, "ОМАРОВ ЕРЛАН", ORGANISATION),
            now=moment,
            key_usage=SIGN_USAGE,
            extended_key_usage=[EMAIL, ROLE_ORGANISATION, ROLE_HEAD],
        )
        self.expired = issue(
            person(CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL, ROLE_INDIVIDUAL],
            not_before=moment - timedelta(days=400), not_after=moment - timedelta(days=35),
        )  # fmt: skip
        self.not_yet_valid = issue(
            person(CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL, ROLE_INDIVIDUAL],
            not_before=moment + timedelta(days=2), not_after=moment + timedelta(days=400),
        )  # fmt: skip

    def checker(self, *methods: str) -> RevocationChecker:
        return RevocationChecker(methods=methods or (OCSP, CRL), fetch=self.ca.fetch)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="module")
def pki256() -> Pki:
    return Pki(gost.CURVE_256)


def refusal(signed: bytes, trust: TrustStore, **kwargs) -> str:
    with pytest.raises(Refused) as refused:
        verify(signed, trust=trust, **kwargs)
    return refused.value.reason


# --- the primitives ------------------------------------------------------------------


@pytest.mark.parametrize("curve", [gost.CURVE_512, gost.CURVE_256], ids=["512", "256"])
def test_the_curves(curve):
    assert curve.is_on_curve(curve.x, curve.y)
    assert curve.combine(curve.q) is None  # q·G is the point at infinity: q is the generator's order
    assert curve.combine(curve.q + 1) == (curve.x, curve.y)
    assert curve.combine(1, (curve.x, curve.y), 1) == curve.combine(2)


@pytest.mark.parametrize("curve", [gost.CURVE_512, gost.CURVE_256], ids=["512", "256"])
def test_sign_and_verify(curve):
    key = gost.GostPrivateKey.generate(curve)
    signature = key.sign(b"application")
    assert len(signature) == 2 * curve.size
    assert key.public_key.verify(signature, b"application")
    assert not key.public_key.verify(signature, b"applicatioN")
    assert not gost.GostPrivateKey.generate(curve).public_key.verify(signature, b"application")
    assert key.sign(b"application") != signature  # a fresh k every time
    r, s = signature[: curve.size], signature[curve.size :]
    assert not key.public_key.verify(s + r, b"application")
    assert not key.public_key.verify(bytes(2 * curve.size), b"application")  # r = s = 0
    assert not key.public_key.verify(curve.q.to_bytes(curve.size, "little") + s, b"application")  # r = q
    assert not key.public_key.verify(signature[:-1], b"application")


def test_keys_off_the_curve_are_refused():
    with pytest.raises(gost.GostError):
        gost.GostPublicKey(gost.CURVE_512, 1, 1)
    with pytest.raises(gost.GostError):
        gost.GostPublicKey.from_bytes(gost.CURVE_512, bytes(64))  # a 256-bit key's length
    with pytest.raises(gost.GostError):
        gost.GostPrivateKey(gost.CURVE_512, 0)
    assert "d=" not in repr(gost.GostPrivateKey.generate())


def test_streebog_of_the_standard():
    """GOST R 34.11-2012's own example M1 (63 bytes), both sizes."""
    m1 = b"012345678901234567890123456789012345678901234567890123456789012"
    assert gost.streebog(m1).hex() == (
        "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa"
        "00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48"
    )
    assert gost.streebog(m1, 32).hex() == "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="no openssl command")
@pytest.mark.parametrize("curve, paramset", [(gost.CURVE_512, "A"), (gost.CURVE_256, "TCA")], ids=["512", "256"])
def test_openssls_gost_engine_agrees(curve, paramset, tmp_path):
    """An independent implementation (the gost engine of libengine-gost-openssl, RFC 4491 byte order:
    s‖r big-endian) signs what we verify and verifies what we sign; no genuine 256-bit material exists."""
    bits = curve.size * 8

    def openssl(*args):
        result = subprocess.run([OPENSSL, *args], capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr.decode()
        return result

    data = tmp_path / "data"
    data.write_bytes("Өтініш".encode())
    key_pem, pub_der, signature = tmp_path / "key.pem", tmp_path / "pub.der", tmp_path / "sig"
    openssl("genpkey", "-engine", "gost", "-algorithm", f"gost2012_{bits}", "-pkeyopt", f"paramset:{paramset}", "-out", key_pem)
    openssl("pkey", "-engine", "gost", "-in", key_pem, "-pubout", "-outform", "der", "-out", pub_der)
    openssl("dgst", "-engine", "gost", f"-md_gost12_{bits}", "-sign", key_pem, "-out", signature, data)

    class AnyKeyInfo(core.Sequence):
        _fields = [("algorithm", core.Any), ("public_key", core.OctetBitString)]

    raw = core.OctetString.load(AnyKeyInfo.load(pub_der.read_bytes())["public_key"].native).native
    public = gost.GostPublicKey.from_bytes(curve, raw)  # RFC 4491 keys are x‖y little-endian too
    assert public.verify(signature.read_bytes()[::-1], data.read_bytes())

    # Ours, in OpenSSL's order, with OpenSSL's key: its scalar, little-endian, is the PKCS#8 privateKey.
    class PrivateKeyInfo(core.Sequence):
        _fields = [("version", core.Integer), ("algorithm", core.Any), ("private_key", core.OctetString)]

    pkcs8 = openssl("pkey", "-engine", "gost", "-in", key_pem, "-outform", "der").stdout
    scalar = PrivateKeyInfo.load(pkcs8)["private_key"].native
    assert len(scalar) == curve.size
    ours = gost.GostPrivateKey(curve, int.from_bytes(scalar, "little"))
    assert ours.public_key == public
    signature.write_bytes(ours.sign(data.read_bytes())[::-1])
    openssl("dgst", "-engine", "gost", f"-md_gost12_{bits}", "-verify", _pem_public(tmp_path, pub_der), "-signature", signature, data)


def _pem_public(tmp_path, der_path):
    pem = tmp_path / "pub.pem"
    pem.write_text(
        "-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(der_path.read_bytes()).decode() + "-----END PUBLIC KEY-----\n"
    )
    return pem


# --- signing in NCALayer's shapes and verifying ------------------------------------

SHAPES = {
    "commonUtils": dict(line_ending="\r\n"),  # &#13; in base64 values, one element a line
    "basics": dict(compact=True),  # no line break at all
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bits", [512, 256])
def test_a_gost_signature_round_trips(shape, bits, pki, pki256):
    authority = pki if bits == 512 else pki256
    signed = sign_enveloped(ISSUED, authority.sign, **SHAPES[shape])
    assert (GOST_512 if bits == 512 else GOST_256).encode() in signed
    assert (STREEBOG_512 if bits == 512 else STREEBOG_256).encode() in signed
    assert (b"&#13;" in signed) == (shape == "commonUtils")
    assert (b"\n<ds:SignedInfo>" in signed) == (shape == "commonUtils")
    verdict = verify(signed, trust=authority.trust, issued=ISSUED, expected_iin=CITIZEN, revocation=authority.checker())
    assert verdict.document == canonicalize(ISSUED)
    assert verdict.nonce == "b6c1f0e2a9d84c3f"
    assert verdict.signer.iin == CITIZEN and verdict.signer.key_usage[:2] == ("digitalSignature", "nonRepudiation")
    assert verdict.revocation is not None and verdict.revocation.status == "good"
    tampered = signed.replace(b"KZ86125KZT5004100100", b"KZ86125KZT5004100199")
    assert refusal(tampered, authority.trust) == "signature_invalid"


def test_an_authentication_key_logs_in_and_an_organisations_key_signs_for_it(pki):
    signed = sign_enveloped(ISSUED, pki.auth)
    assert refusal(signed, pki.trust) == "wrong_key_type"
    assert verify(signed, trust=pki.trust, purpose=Purpose.LOG_IN).signer.iin == CITIZEN
    signed = sign_enveloped(ISSUED, pki.organisation, compact=True)
    assert refusal(signed, pki.trust) == "not_individual"
    verdict = verify(signed, trust=pki.trust, holder=HolderType.ORGANISATION, expected_bin=ORGANISATION)
    assert (verdict.signer.iin, verdict.signer.bin) == (EMPLOYEE, ORGANISATION)


def test_a_signature_tail_and_namespaces_are_kept(pki):
    """The enveloped transform removes the Signature, not the text after it; SignedInfo keeps the root's namespaces."""
    signed = sign_enveloped(ISSUED, pki.sign, line_ending="\r\n")
    root = parse(signed).getroot()
    signature = root[-1]
    previous = signature.getprevious()
    previous.tail = (previous.tail or "")[:-1] if (previous.tail or "").endswith("\n") else previous.tail
    signature.tail = "\n"  # the same text, now after the signature: the same canonical document
    moved = PROLOG + etree.tostring(root, encoding="UTF-8")
    assert moved != signed
    assert verify(moved, trust=pki.trust, issued=ISSUED).document == canonicalize(ISSUED)


# --- what verify() refuses for GOST -------------------------------------------------


def _edit(signed: bytes, change) -> bytes:
    root = parse(signed).getroot()
    change(root, root.find(f"{{{DS}}}Signature"))
    return PROLOG + etree.tostring(root, encoding="UTF-8")


def _set(signature, path: str, algorithm: str) -> None:
    signature.find(path, {"ds": DS}).set("Algorithm", algorithm)


def _value(signed: bytes, element: str, change) -> bytes:
    def edit(root, signature):
        node = signature.find(f".//{{{DS}}}{element}")
        raw = base64.b64decode("".join(node.text.split()))
        node.text = base64.b64encode(change(raw)).decode()

    return _edit(signed, edit)


def _flip(raw: bytes) -> bytes:
    return raw[:5] + bytes([raw[5] ^ 1]) + raw[6:]


CASES = {
    "signature_value_flipped": (lambda p, s: _value(s, "SignatureValue", _flip), "signature_invalid"),
    "digest_value_flipped": (lambda p, s: _value(s, "DigestValue", _flip), "signature_invalid"),
    "signature_value_truncated": (lambda p, s: _value(s, "SignatureValue", lambda raw: raw[:-1]), "signature_invalid"),
    "document_altered": (lambda p, s: s.replace("АХМЕТОВ".encode(), "АХМЕТОB".encode()), "signature_invalid"),
    "wrapped_in_forged_root": (
        lambda p, s: PROLOG + b"<forged>" + s[len(PROLOG) :] + b"</forged>",
        "signature_location",
    ),
    "signed_content_moved_under_forged_root": (
        lambda p, s: _edit(s, lambda root, sig: root.insert(0, etree.Element("{urn:qyzmet:application:1}forged"))),
        "signature_invalid",
    ),
    "digest_method_256_with_512": (
        lambda p, s: _edit(s, lambda root, sig: _set(sig, "ds:SignedInfo/ds:Reference/ds:DigestMethod", STREEBOG_256)),
        "algorithm",
    ),
    "method_256_for_a_512_key": (
        lambda p, s: _edit(
            s,
            lambda root, sig: (
                _set(sig, "ds:SignedInfo/ds:SignatureMethod", GOST_256),
                _set(sig, "ds:SignedInfo/ds:Reference/ds:DigestMethod", STREEBOG_256),
            ),
        ),
        "algorithm",
    ),
    "rsa_method_for_a_gost_key": (
        lambda p, s: _edit(
            s,
            lambda root, sig: (
                _set(sig, "ds:SignedInfo/ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
                _set(sig, "ds:SignedInfo/ds:Reference/ds:DigestMethod", "http://www.w3.org/2001/04/xmlenc#sha256"),
            ),
        ),
        "algorithm",
    ),
    "key_value_next_to_a_gost_certificate": (
        lambda p, s: _edit(s, lambda root, sig: sig.find(f"{{{DS}}}KeyInfo").append(etree.Element(f"{{{DS}}}KeyValue"))),
        "key_info",
    ),
    "expired": (lambda p, s: sign_enveloped(ISSUED, p.expired), "expired"),
    "not_yet_valid": (lambda p, s: sign_enveloped(ISSUED, p.not_yet_valid), "not_yet_valid"),
    "ca_as_signer": (lambda p, s: sign_enveloped(ISSUED, p.ca.key), "ca_certificate"),
    "document_not_the_issued_one": (
        lambda p, s: sign_enveloped(ISSUED.replace(b"123 456,00", b"923 456,00"), p.sign),
        "document_mismatch",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_refused(case, pki):
    build, expected = CASES[case]
    signed = sign_enveloped(ISSUED, pki.sign, line_ending="\r\n")
    assert refusal(build(pki, signed), pki.trust, issued=ISSUED, expected_iin=CITIZEN) == expected


def test_the_control_passes(pki):
    signed = sign_enveloped(ISSUED, pki.sign, line_ending="\r\n")
    assert verify(signed, trust=pki.trust, issued=ISSUED, expected_iin=CITIZEN).signer.iin == CITIZEN


# --- the chain ----------------------------------------------------------------------


def _issuer(authority_key: SigningKey, name: x509.Name, *, ca: bool, usage: x509.KeyUsage, critical_extra: bool = False):
    """A certificate for `authority_key`'s key under `name`, shaped as a CA or not."""
    moment = now()
    private = authority_key.private_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - timedelta(days=1))
        .not_valid_after(moment + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(usage, critical=True)
    )
    if critical_extra:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.398.3.3.99"), b"\x05\x00"), critical=True
        )
    return gost_x509.sign_certificate(builder, subject_key=private.public_key, issuer_key=private)


@pytest.mark.parametrize(
    "anchor, expected",
    [
        (lambda p: GostAuthority.create(CA_NAME, now=now()).certificate, "untrusted"),  # same name, another key
        (lambda p: _issuer(p.ca.key, CA_NAME, ca=False, usage=SIGN_USAGE), "untrusted"),  # same key, not a CA
        (lambda p: _issuer(p.ca.key, CA_NAME, ca=True, usage=SIGN_USAGE), "untrusted"),  # no keyCertSign
        (
            lambda p: _issuer(p.ca.key, CA_NAME, ca=True, usage=gost_ca.CA_USAGE, critical_extra=True),
            "untrusted",
        ),  # an unknown critical extension
        (lambda p: p.ca.certificate, None),  # the control
    ],
    ids=["foreign_key", "not_a_ca", "no_key_cert_sign", "unknown_critical", "control"],
)
def test_the_chain_policy(anchor, expected, pki):
    signed = sign_enveloped(ISSUED, pki.sign)
    trust = TrustStore.from_certificates([anchor(pki)])
    if expected is None:
        assert verify(signed, trust=trust).signer.iin == CITIZEN
    else:
        assert refusal(signed, trust) == expected


def test_an_expired_issuing_ca(pki):
    moment = now()
    old = GostAuthority.create(CA_NAME, now=moment - timedelta(days=40), valid_for=timedelta(days=30))
    key = old.issue(
        person(CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL, ROLE_INDIVIDUAL],
        not_before=moment - timedelta(days=1),
    )  # fmt: skip
    with pytest.raises(Refused) as refused:
        verify(sign_enveloped(ISSUED, key), trust=TrustStore.from_certificates([old.certificate]))
    assert refused.value.reason == "expired" and "issuing CA" in refused.value.detail


def test_a_pinned_gost_certificate_and_mixed_trust_stores(pki, sandbox, keys, trust):
    """A signer's own certificate can be the anchor; RSA and GOST anchors live in one store."""
    signed = sign_enveloped(ISSUED, pki.sign)
    assert verify(signed, trust=TrustStore.from_certificates([pki.sign.certificate])).signer.iin == CITIZEN
    both = TrustStore.from_certificates([*trust.certificates, pki.ca.certificate])
    assert verify(signed, trust=both).signer.iin == CITIZEN
    assert verify(sign_enveloped(ISSUED, keys()), trust=both).signer.iin == CITIZEN
    assert both.issuer_of(pki.sign.certificate) == pki.ca.certificate
    assert both.issuer_of(keys().certificate) == sandbox.intermediate
    assert refusal(signed, trust) == "untrusted"  # the RSA sandbox alone


def test_a_gost_certificate_under_an_rsa_ca_name_is_untrusted(pki, sandbox, trust):
    """A GOST-signed certificate naming the RSA CA as issuer: no GOST key of that name signed it."""
    moment = now()
    forged = gost_x509.sign_certificate(
        x509.CertificateBuilder()
        .subject_name(person(CITIZEN))
        .issuer_name(sandbox.intermediate.subject)
        .serial_number(7)
        .not_valid_before(moment - timedelta(days=1))
        .not_valid_after(moment + timedelta(days=1))
        .add_extension(SIGN_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(EMAIL), x509.ObjectIdentifier(ROLE_INDIVIDUAL)]), False),
        subject_key=pki.sign.private_key.public_key,
        issuer_key=pki.sign.private_key,
    )
    signed = sign_enveloped(ISSUED, SigningKey(pki.sign.private_key, forged))
    assert refusal(signed, trust) == "untrusted"


# --- GOST revocation ----------------------------------------------------------------------


def test_revoked_by_ocsp_and_by_crl(pki256):
    """A key of its own (the module's keys stay good); both methods, the responder delegated."""
    moment = now()
    key = pki256.ca.issue(person(OTHER_CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL, ROLE_INDIVIDUAL])
    signed = sign_enveloped(ISSUED, key)
    assert verify(signed, trust=pki256.trust, revocation=pki256.checker(OCSP)).revocation.method == OCSP
    pki256.ca.revoke(key.certificate.serial_number, moment - timedelta(minutes=1))
    for method in (OCSP, CRL):
        assert refusal(signed, pki256.trust, revocation=pki256.checker(method)) == "revoked"
    # Verified as of a moment before the revocation, the signature stands.
    before = moment - timedelta(minutes=10)
    assert verify(signed, trust=pki256.trust, revocation=pki256.checker(CRL), as_of=before).revocation.status == "good"


def test_ocsp_of_a_ca_that_answers_itself(pki):
    moment = now()
    ca = GostAuthority.create(CA_NAME, now=moment)
    key = ca.issue(person(CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL, ROLE_INDIVIDUAL])
    trust = TrustStore.from_certificates([ca.certificate])
    checker = RevocationChecker(methods=(OCSP,), fetch=ca.fetch)
    evidence = verify(sign_enveloped(ISSUED, key), trust=trust, revocation=checker).revocation
    response = ocsp.load_der_ocsp_response(evidence.response)
    assert response.responder_name == ca.certificate.subject and not response.certificates[1:]
    assert gost_x509.ocsp_signed_by(response, ca.certificate)


def test_untrustworthy_gost_answers(pki):
    """Answers signed by someone else, about someone else, or stale, are not relied on."""
    moment = now()
    serial = pki.sign.certificate.serial_number
    stranger = GostAuthority.create(CA_NAME, now=moment, delegated_responder=True)
    stranger_crl = stranger.crl(moment)
    with pytest.raises(RevocationUnavailable, match="signature is not the issuer's"):
        read_crl(stranger_crl, serial, pki.ca.certificate)
    request = ocsp.OCSPRequestBuilder().add_certificate(pki.sign.certificate, pki.ca.certificate, hashes.SHA1()).build()
    forged = stranger.ocsp_response(request.public_bytes(gost_x509.DER), moment)
    with pytest.raises(RevocationUnavailable, match="not issued by the certificate's issuer|responder we do not know"):
        read_ocsp_response(forged, serial, pki.ca.certificate)
    genuine = pki.ca.ocsp_response(request.public_bytes(gost_x509.DER), moment)
    assert read_ocsp_response(genuine, serial, pki.ca.certificate).status == "good"
    with pytest.raises(RevocationUnavailable, match="stale"):
        read_ocsp_response(genuine, serial, pki.ca.certificate, now=moment + timedelta(hours=2))
    # As of the moment it was produced, two hours on, it is fresh still: freshness is judged as of `at`.
    assert read_ocsp_response(genuine, serial, pki.ca.certificate, at=moment, now=moment + timedelta(hours=2)).status == "good"
    old_crl = pki.ca.crl(moment - timedelta(days=3))
    with pytest.raises(RevocationUnavailable, match="stale"):
        read_crl(old_crl, serial, pki.ca.certificate)
    assert read_crl(old_crl, serial, pki.ca.certificate, at=moment - timedelta(days=3)).status == "good"
    with pytest.raises(RevocationUnavailable, match="in the future"):
        read_crl(pki.ca.crl(moment + timedelta(hours=1)), serial, pki.ca.certificate, at=moment - timedelta(days=1))


def test_an_expired_responder_cannot_date_an_answer_back(pki):
    """A delegated responder's key, expired since, signs a current "good" dated inside its validity: refused."""
    moment = now()
    responder_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OCSP RESPONDER 2025")])
    expired = pki.ca.issue(
        responder_name, now=moment, key_usage=gost_ca.OCSP_USAGE,
        extended_key_usage=[ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string],
        not_before=moment - timedelta(days=400), not_after=moment - timedelta(days=30), revocation_urls=False,
    )  # fmt: skip
    serial = pki.sign.certificate.serial_number
    answer = gost_x509.OcspAnswer(gost_x509.CertId.of(serial, pki.ca.certificate), "good", moment, moment + timedelta(days=365))
    forged = gost_x509.build_ocsp_response(
        [answer], responder=expired.certificate, responder_key=expired.private_key, produced_at=moment - timedelta(days=31)
    )
    with pytest.raises(RevocationUnavailable, match="responder's certificate is not valid at"):
        read_ocsp_response(forged, serial, pki.ca.certificate)
    # As of a moment inside its validity, an answer of that time counts.
    then = moment - timedelta(days=60)
    period = gost_x509.OcspAnswer(answer.cert_id, "good", then, then + timedelta(hours=1))
    stored = gost_x509.build_ocsp_response(
        [period], responder=expired.certificate, responder_key=expired.private_key, produced_at=then
    )
    assert read_ocsp_response(stored, serial, pki.ca.certificate, at=then).status == "good"


def test_an_unknown_serial_is_not_good(pki):
    moment = now()
    outsider = GostAuthority.create(CA_NAME, now=moment).issue(
        person(CITIZEN), now=moment, key_usage=SIGN_USAGE, extended_key_usage=[EMAIL]
    )
    request = ocsp.OCSPRequestBuilder().add_certificate(outsider.certificate, pki.ca.certificate, hashes.SHA256()).build()
    answer = ocsp.load_der_ocsp_response(pki.ca.ocsp_response(request.public_bytes(gost_x509.DER), moment))
    assert next(iter(answer.responses)).certificate_status == ocsp.OCSPCertStatus.UNKNOWN


# --- issuing ---------------------------------------------------------------------------


def test_issued_objects_have_the_national_layout(pki):
    certificate = pki.sign.certificate
    assert certificate.signature_algorithm_oid.dotted_string == gost.SIGNATURE_512
    assert certificate.public_key_algorithm_oid.dotted_string == gost.KEY_512
    assert gost_x509.public_key_of(certificate) == pki.sign.private_key.public_key
    identifier = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert identifier == gost_x509.key_hash(certificate) == gost_x509.key_identifier(pki.sign.private_key.public_key)
    authority = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert authority == gost_x509.key_hash(pki.ca.certificate)
    crl = x509.load_der_x509_crl(pki.ca.crl(now()))
    assert crl.signature_algorithm_oid.dotted_string == gost.SIGNATURE_512
    assert gost_x509.crl_signed_by(crl, pki.ca.certificate)
    # The same algorithm inside the signed part as outside (RFC 5280 4.1.1.2), or no signature holds.
    der = certificate.public_bytes(gost_x509.DER)
    inner = der.index(bytes.fromhex("060a2a830e030a0101020302"))
    altered = der[:inner + 11] + b"\x01" + der[inner + 12 :]  # the TBS's algorithm: ...2.3.1
    assert not gost_x509.issued_by(x509.load_der_x509_certificate(altered), pki.ca.certificate)


def test_structures_of_any_length_are_built_and_read(pki):
    """asn1crypto takes a length header ending in 0x80 for an indefinite one and re-encodes: subjects
    of every length from 1 to 256 characters take TBS, certificate and response through every length mod 256."""
    moment = now()
    attributes = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.LOCALITY_NAME)
    for length in range(1, 257):
        parts = [(oid, "A" * min(64, length - 64 * index)) for index, oid in enumerate(attributes) if length > 64 * index]
        name = x509.Name([x509.NameAttribute(oid, text) for oid, text in parts])
        key = pki.ca.issue(name, now=moment, key_usage=SIGN_USAGE, revocation_urls=False)
        assert gost_x509.issued_by(key.certificate, pki.ca.certificate)
        assert gost_x509.public_key_of(key.certificate) == key.private_key.public_key
        cert_id = gost_x509.CertId.of(key.certificate.serial_number, pki.ca.certificate)
        answer = gost_x509.OcspAnswer(cert_id, "good", moment, moment + timedelta(hours=1))
        der = gost_x509.build_ocsp_response([answer], responder=key.certificate, responder_key=key.private_key, produced_at=moment)
        response = ocsp.load_der_ocsp_response(der)
        assert response.certificates == [key.certificate] and gost_x509.ocsp_signed_by(response, key.certificate)


def test_a_256_bit_chain(pki256):
    certificate = pki256.sign.certificate
    assert certificate.signature_algorithm_oid.dotted_string == gost.SIGNATURE_256
    assert re.fullmatch(r"1\.2\.398\.3\.10\.1\.1\.2\.1", gost_x509.key_algorithm(certificate))
    assert gost_x509.public_key_of(certificate).curve is gost.CURVE_256
    assert gost_x509.issued_by(certificate, pki256.ca.certificate)


def test_the_self_test_stops_a_machine_without_the_gost_provider(monkeypatch):
    monkeypatch.setattr(gost, "_self_tested", False)
    gost.self_test()

    real = gost._lib()

    class WithoutProvider:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def OSSL_PROVIDER_load(context, name):  # noqa: N802 (libcrypto's name)
            return None  # what libcrypto answers when gostprov.so is not installed

    monkeypatch.setattr(gost, "_self_tested", False)
    monkeypatch.setattr(gost, "_streebog", None)
    monkeypatch.setattr(gost, "_lib", lambda: WithoutProvider())
    with pytest.raises(RuntimeError, match="cannot be checked here: .*libengine-gost-openssl"):
        gost.self_test()
