"""The portal's own signatures: an envelope around the issued document,
signed with an organisation's key, read back and checked with xmlsec1."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from signing import envelope
from signing.sandbox import pki
from signing.verify import HolderType, Purpose, verify
from signing.xmldsig import BadDocument, sign_enveloped
from tests.signing.conftest import EMPLOYEE, ISSUED, ORGANISATION

SMS = ("sms-confirmation", {"maskedPhone": "+7 701 *** ** 67", "challenge": "c-42", "confirmedAt": "2026-11-23T09:00:00Z"})


def test_the_document_comes_back_byte_for_byte():
    issued = envelope.parse(envelope.build(ISSUED)).document
    again = envelope.parse(envelope.build(issued))
    assert again.document == issued
    assert b"<nonce>b6c1f0e2a9d84c3f</nonce>" in issued


def test_statements_round_trip():
    read = envelope.parse(envelope.build(ISSUED, [SMS]))
    (statement,) = read.statements
    assert statement.type == "sms-confirmation"
    assert statement.get("maskedPhone") == "+7 701 *** ** 67"


def test_a_swapped_document_does_not_match_its_digest():
    built = envelope.build(ISSUED)
    with pytest.raises(BadDocument):
        envelope.parse(built.replace(b"240315500017", b"240315500018"))


def test_not_an_envelope():
    with pytest.raises(BadDocument):
        envelope.parse(ISSUED)


@pytest.fixture
def portal_signed(keys):
    return sign_enveloped(envelope.build(ISSUED, [SMS]), keys(ORGANISATION, pki.SIGN))


def test_the_portal_signature_verifies_as_an_organisations(portal_signed, trust, revocation):
    verdict = verify(
        portal_signed, trust=trust, purpose=Purpose.SIGN, holder=HolderType.ORGANISATION,
        expected_bin=ORGANISATION, revocation=revocation,
    )
    assert verdict.signer.bin == ORGANISATION and verdict.signer.iin == EMPLOYEE
    assert pki.ROLE_HEAD in verdict.signer.roles
    assert envelope.parse(verdict.document).statements[0].get("challenge") == "c-42"


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="apt-get install xmlsec1")
def test_xmlsec1_accepts_the_portal_signature(portal_signed, sandbox, tmp_path):
    signed = tmp_path / "signed.xml"
    signed.write_bytes(portal_signed)
    result = subprocess.run(
        ["xmlsec1", "--verify", "--trusted-pem", str(sandbox.directory / "root.crt"),
         "--untrusted-pem", str(sandbox.directory / "ca.crt"), str(signed)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
