"""signing.verify on the happy paths: what a Verdict says, and archived checks."""

from __future__ import annotations

import ast
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from signing import gost_x509
from signing.sandbox import pki
from signing import verify as verify_module
from signing.certificates import ROLE_INDIVIDUAL, ROLE_ORGANISATION, read_certificate
from signing.verify import (
    REASONS,
    HolderType,
    Purpose,
    Refused,
    TrustStore,
    Verdict,
    canonicalize,
    verify,
)
from signing.xmldsig import DS, sign_enveloped

from tests.signing.conftest import CITIZEN, EMPLOYEE, ISSUED, ORGANISATION

EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def signed(keys) -> bytes:
    """The issued application, signed by the citizen's signing key as NCALayer signs it."""
    return sign_enveloped(ISSUED, keys(), line_ending="\r\n")


def test_individual_signs(signed, keys, trust, revocation, sandbox):
    moment = now()
    verdict = verify(signed, trust=trust, issued=ISSUED, expected_iin=CITIZEN, revocation=revocation, now=moment)

    assert isinstance(verdict, Verdict)
    signer, certificate = verdict.signer, keys().certificate
    assert signer.iin == CITIZEN and signer.bin is None
    assert signer.name == "АХМЕТОВ ЕРЖАН"
    assert signer.roles == (ROLE_INDIVIDUAL,)
    assert signer.key_usage == ("digitalSignature", "nonRepudiation")
    assert signer.extended_key_usage == (EMAIL_PROTECTION, ROLE_INDIVIDUAL)
    assert signer.serial == format(certificate.serial_number, "X")
    assert signer.serial == format(sandbox.key_file(CITIZEN).serial, "X")
    assert signer.issuer == "CN=QYZMET SANDBOX CA (RSA),C=KZ"
    assert signer.issuer == sandbox.intermediate.subject.rfc4514_string()
    assert f"SERIALNUMBER=IIN{CITIZEN}" in signer.subject and "CN=АХМЕТОВ ЕРЖАН" in signer.subject
    assert signer.not_before == certificate.not_valid_before_utc
    assert signer.not_after == certificate.not_valid_after_utc
    assert signer.signed_at == moment
    assert signer.certificate == certificate.public_bytes(serialization.Encoding.DER)

    assert verdict.nonce == "b6c1f0e2a9d84c3f"
    assert verdict.revocation is not None
    assert (verdict.revocation.status, verdict.revocation.method) == ("good", "ocsp")


def test_individual_logs_in(keys, trust, revocation):
    challenge = b'<login xmlns="urn:qyzmet:login:1"><nonce>7f3a</nonce><origin>https://qyzmet.kz</origin></login>'
    signed = sign_enveloped(challenge, keys(kind=pki.AUTH))
    verdict = verify(signed, trust=trust, purpose=Purpose.LOG_IN, issued=challenge, revocation=revocation)
    assert verdict.signer.iin == CITIZEN
    assert verdict.signer.key_usage == ("digitalSignature", "keyEncipherment")
    assert CLIENT_AUTH in verdict.signer.extended_key_usage
    assert verdict.nonce == "7f3a"


@pytest.mark.parametrize("kind, purpose", [(pki.SIGN, Purpose.SIGN), (pki.AUTH, Purpose.LOG_IN)])
def test_organisation(kind, purpose, keys, trust, revocation):
    signed = sign_enveloped(ISSUED, keys(ORGANISATION, kind))
    verdict = verify(
        signed,
        trust=trust,
        purpose=purpose,
        holder=HolderType.ORGANISATION,
        issued=ISSUED,
        expected_bin=ORGANISATION,
        expected_iin=EMPLOYEE,
        revocation=revocation,
    )
    signer = verdict.signer
    assert (signer.iin, signer.bin) == (EMPLOYEE, ORGANISATION)
    assert ROLE_ORGANISATION in signer.roles and pki.ROLE_HEAD in signer.roles
    assert ROLE_INDIVIDUAL not in signer.roles
    assert "OU=BIN" + ORGANISATION in signer.subject


def test_document_is_the_canonical_issued_document(signed, trust):
    verdict = verify(signed, trust=trust, issued=ISSUED)
    assert verdict.document == canonicalize(ISSUED)
    assert verdict.document == etree.tostring(etree.fromstring(ISSUED), method="c14n")
    assert not verdict.document.startswith(b"<?xml")
    assert DS.encode() not in verdict.document and b"Signature" not in verdict.document
    # The document is self-contained: what was signed, and only that.
    assert etree.fromstring(verdict.document).findtext("{urn:qyzmet:application:1}nonce") == "b6c1f0e2a9d84c3f"


def test_document_without_issued_is_still_only_the_signed_data(signed, trust):
    verdict = verify(signed, trust=trust)
    assert verdict.document == canonicalize(ISSUED)


@pytest.mark.parametrize("line_ending", ["\r\n", "\n"])
def test_base64_line_endings(line_ending, keys, trust):
    signed = sign_enveloped(ISSUED, keys(), line_ending=line_ending)
    assert (b"&#13;" in signed) == (line_ending == "\r\n")
    assert verify(signed, trust=trust, issued=ISSUED).signer.iin == CITIZEN


def test_without_nonce(keys, trust):
    document = b"<receipt><number>42</number></receipt>"
    verdict = verify(sign_enveloped(document, keys()), trust=trust, issued=document)
    assert verdict.nonce is None
    assert verdict.revocation is None  # no checker given: not checked


def test_str_input_is_taken_as_utf8(signed, trust):
    assert verify(signed.decode("utf-8"), trust=trust, issued=ISSUED).signer.iin == CITIZEN


def test_archived_verification_as_of(keys, trust, sandbox):
    """An expired key's signature verifies as of a moment inside its validity."""
    key_file = sandbox.key_file(CITIZEN, pki.SIGN, pki.EXPIRED)
    signed = sign_enveloped(ISSUED, keys(variant=pki.EXPIRED))
    inside = key_file.not_before + timedelta(days=10)

    verdict = verify(signed, trust=trust, issued=ISSUED, as_of=inside)
    assert verdict.signer.signed_at == inside
    with pytest.raises(Refused) as refused:
        verify(signed, trust=trust, issued=ISSUED)
    assert refused.value.reason == "expired"
    # A naive as_of is UTC.
    assert verify(signed, trust=trust, as_of=inside.replace(tzinfo=None)).signer.signed_at == inside


def test_not_yet_valid_key_verifies_as_of_its_validity(keys, trust, sandbox):
    key_file = sandbox.key_file(CITIZEN, pki.SIGN, pki.NOT_YET_VALID)
    signed = sign_enveloped(ISSUED, keys(variant=pki.NOT_YET_VALID))
    assert verify(signed, trust=trust, as_of=key_file.not_before + timedelta(hours=1)).signer.iin == CITIZEN


def test_revoked_after_as_of_stands(keys, trust, sandbox, revocation):
    """The special holder's revoked key was revoked an hour before the PKI was made."""
    revoked_at = sandbox.revocations()[sandbox.key_file(CITIZEN, pki.SIGN, pki.REVOKED).serial].revoked_at
    signed = sign_enveloped(ISSUED, keys(variant=pki.REVOKED))

    verdict = verify(signed, trust=trust, as_of=revoked_at - timedelta(minutes=5), revocation=revocation)
    assert verdict.revocation is not None and verdict.revocation.status == "good"
    with pytest.raises(Refused) as refused:
        verify(signed, trust=trust, as_of=revoked_at + timedelta(minutes=5), revocation=revocation)
    assert refused.value.reason == "revoked"


def test_revocation_by_crl_only(signed, trust, revocation_service):
    verdict = verify(signed, trust=trust, revocation=revocation_service.checker(methods=("crl",)))
    assert verdict.revocation is not None
    assert (verdict.revocation.status, verdict.revocation.method) == ("good", "crl")
    crl = x509.load_der_x509_crl(verdict.revocation.response)
    assert crl.issuer.rfc4514_string() == "CN=QYZMET SANDBOX CA (RSA),C=KZ"


def test_revocation_answer_is_cached(signed, trust, revocation_service):
    checker = revocation_service.checker()
    verify(signed, trust=trust, revocation=checker)
    calls = revocation_service.calls
    verify(signed, trust=trust, revocation=checker)
    assert revocation_service.calls == calls == 1


def test_intermediate_alone_is_an_anchor(signed, sandbox):
    assert verify(signed, trust=TrustStore.from_certificates([sandbox.intermediate])).signer.iin == CITIZEN
    pem = sandbox.intermediate.public_bytes(serialization.Encoding.PEM)
    assert verify(signed, trust=TrustStore.from_certificates([pem])).signer.iin == CITIZEN


def test_root_alone_is_not_enough(signed, sandbox):
    """NCALayer sends no chain: the issuing CA must be in the trust store."""
    with pytest.raises(Refused) as refused:
        verify(signed, trust=TrustStore.from_certificates([sandbox.root]))
    assert refused.value.reason == "untrusted"


def test_empty_trust_store_trusts_nobody(signed):
    store = TrustStore.from_certificates([])
    assert store.certificates == ()
    with pytest.raises(Refused) as refused:
        verify(signed, trust=store)
    assert refused.value.reason == "untrusted"


def test_trust_store(trust, sandbox, keys, outsiders):
    assert trust.certificates == (sandbox.root, sandbox.intermediate, sandbox.gost_ca)
    assert trust.issuer_of(keys().certificate) == sandbox.intermediate
    assert trust.issuer_of(sandbox.intermediate) == sandbox.root
    assert trust.issuer_of(outsiders.foreign.certificate) is None  # same issuer name, another key
    assert trust.issuer_of(outsiders.self_signed.certificate) is None


def test_refused_carries_a_code_and_a_detail():
    refused = Refused("expired", "expired on 2020-01-01")
    assert (refused.reason, refused.detail) == ("expired", "expired on 2020-01-01")
    assert Refused("legacy_gost").detail == REASONS["legacy_gost"]
    assert Refused("replayed").detail == "replayed"  # the portal's own codes travel in Refused too
    assert str(refused) == "expired: expired on 2020-01-01"
    copied = pickle.loads(pickle.dumps(refused))
    assert (copied.reason, copied.detail) == (refused.reason, refused.detail)
    assert all(code.islower() and " " not in code and text.endswith(".") for code, text in REASONS.items())


def test_reading_certificates(keys, ca_key, sandbox):
    citizen = read_certificate(keys().certificate)
    assert (citizen.iin, citizen.bin, citizen.surname, citizen.given_name) == (CITIZEN, None, "АХМЕТОВ", "БОЛАТОВИЧ")
    assert citizen.email == "erzhan@example.kz" and citizen.is_individual and not citizen.is_ca
    employee = read_certificate(keys(ORGANISATION).certificate.public_bytes(serialization.Encoding.PEM))
    assert (employee.iin, employee.bin, employee.organisation) == (EMPLOYEE, ORGANISATION, 'ТОО "Qyzmet Test"')
    assert employee.is_organisation and not employee.is_individual
    authority = read_certificate(ca_key.certificate)
    assert authority.is_ca and authority.iin is None and authority.roles == ()
    assert authority.key_usage == ("keyCertSign", "cRLSign")


def _codes_raised(module, exception: str) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == exception
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_verify_raises_only_the_codes_in_reasons():
    """Every Refused(...) in signing/verify.py names a code the portal can translate,
    and so does every ChainError(...) of the GOST chain, which verify() passes on."""
    raised = _codes_raised(verify_module, "Refused")
    assert len(raised) >= 20
    assert raised <= set(REASONS), raised - set(REASONS)
    chained = _codes_raised(gost_x509, "ChainError")
    assert chained == {"untrusted", "expired", "not_yet_valid"}
    assert chained <= set(REASONS)
