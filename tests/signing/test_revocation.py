"""The portal's revocation checks, against the sandbox CA answering in-process and over HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.sandbox.pki import Holder, SandboxPKI, create
from signing.revocation import (
    RevocationChecker,
    RevocationEvidence,
    RevocationUnavailable,
    http_fetch,
)
from tests.fake_http import FakeHttpServer, Received, Reply

NOW = datetime.now(UTC).replace(microsecond=0)
CITIZEN = Holder("831219453975", "Иванов", "Иван", "Иванович")  # has the revoked key
MOTHER = Holder("900517401370", "Әлиева", "Айгүл")
REVOKED_AT = NOW - timedelta(hours=1)
# add_response()'s arguments after the certificate and issuer, for a forged "good".
GOOD_FOR_FIVE_MINUTES = (hashes.SHA1(), ocsp.OCSPCertStatus.GOOD, NOW, NOW + timedelta(minutes=5), None, None)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> SandboxPKI:
    return create(tmp_path_factory.mktemp("pki"), [CITIZEN, MOTHER], now=NOW)


@pytest.fixture(scope="module")
def good(pki) -> x509.Certificate:
    return pki.key_file(MOTHER.iin).load(pki.password)[1]


@pytest.fixture(scope="module")
def revoked(pki) -> x509.Certificate:
    return pki.key_file(CITIZEN.iin, "sign", "revoked").load(pki.password)[1]


@pytest.fixture(scope="module")
def other(pki) -> x509.Certificate:
    return pki.key_file(CITIZEN.iin).load(pki.password)[1]


@pytest.fixture(scope="module")
def ca_key(pki) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((pki.directory / "ca-key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class SandboxFetch:
    """Answers the sandbox URLs in-process, as the portal's fetch will; `down` URLs fail."""

    def __init__(self, pki: SandboxPKI, clock: Clock, *, down: tuple[str, ...] = ()) -> None:
        self.pki, self.clock, self.down = pki, clock, down
        self.calls: list[str] = []

    def __call__(self, url: str, body: bytes | None, content_type: str | None) -> bytes:
        self.calls.append(url)
        if any(url.endswith(suffix) for suffix in self.down):
            raise OSError("connection refused")
        if url == f"{self.pki.base_url}/ocsp":
            assert body is not None and content_type == "application/ocsp-request"
            return self.pki.ocsp_response(body, self.clock())
        if url == f"{self.pki.base_url}/crl":
            assert body is None
            return self.pki.crl(self.clock())
        raise OSError(f"404 {url}")


def checker(pki, *, down=(), clock=None, **options) -> tuple[RevocationChecker, SandboxFetch]:
    clock = clock or Clock()
    fetch = SandboxFetch(pki, clock, down=down)
    return RevocationChecker(fetch=fetch, clock=clock, **options), fetch


def ocsp_status(evidence: RevocationEvidence) -> ocsp.OCSPCertStatus:
    return ocsp.load_der_ocsp_response(evidence.response).certificate_status


# --- verdicts --------------------------------------------------------------------


def test_a_good_certificate_by_ocsp(pki, good):
    check, fetch = checker(pki)
    evidence = check.check(good, pki.intermediate)
    assert (evidence.status, evidence.method, evidence.revoked_at) == ("good", "ocsp", None)
    assert evidence.checked_at == NOW
    assert ocsp_status(evidence) == ocsp.OCSPCertStatus.GOOD  # the evidence is the response itself
    assert fetch.calls == [f"{pki.base_url}/ocsp"]  # the certificate's own AIA address


def test_a_revoked_certificate_by_ocsp(pki, revoked):
    check, _ = checker(pki)
    evidence = check.check(revoked, pki.intermediate)
    assert (evidence.status, evidence.method, evidence.revoked_at) == ("revoked", "ocsp", REVOKED_AT)


@pytest.mark.parametrize("method", ["ocsp", "crl"])
def test_a_revocation_after_the_moment_asked_about_does_not_count(pki, revoked, method):
    check, _ = checker(pki, methods=(method,))
    before = check.check(revoked, pki.intermediate, at=REVOKED_AT - timedelta(seconds=1))
    assert (before.status, before.method, before.revoked_at) == ("good", method, None)
    at = check.check(revoked, pki.intermediate, at=REVOKED_AT)
    assert (at.status, at.revoked_at) == ("revoked", REVOKED_AT)
    assert before.response == at.response  # the same answer, read as of two moments


def test_by_crl_only_ocsp_is_never_asked(pki, good, revoked):
    check, fetch = checker(pki, methods=("crl",))
    assert check.check(good, pki.intermediate).status == "good"
    evidence = check.check(revoked, pki.intermediate)
    assert (evidence.status, evidence.method, evidence.revoked_at) == ("revoked", "crl", REVOKED_AT)
    assert x509.load_der_x509_crl(evidence.response).get_revoked_certificate_by_serial_number(revoked.serial_number)
    assert fetch.calls == [f"{pki.base_url}/crl"]  # one CRL, fetched once, for both


def test_ocsp_down_falls_back_to_the_crl(pki, revoked):
    check, fetch = checker(pki, down=("/ocsp",))
    evidence = check.check(revoked, pki.intermediate)
    assert (evidence.status, evidence.method) == ("revoked", "crl")
    assert fetch.calls == [f"{pki.base_url}/ocsp", f"{pki.base_url}/crl"]


def test_both_down_is_unavailable_and_says_why(pki, good):
    check, _ = checker(pki, down=("/ocsp", "/crl"))
    with pytest.raises(RevocationUnavailable) as raised:
        check.check(good, pki.intermediate)
    assert "ocsp:" in str(raised.value) and "crl:" in str(raised.value)
    assert "connection refused" in str(raised.value)


def test_configured_addresses_override_the_certificates(pki, good):
    check, fetch = checker(
        pki, ocsp_url="http://ocsp.invalid/", crl_urls=["http://crl.invalid/a.crl", f"{pki.base_url}/crl"]
    )
    assert check.check(good, pki.intermediate).method == "crl"
    assert fetch.calls == ["http://ocsp.invalid/", "http://crl.invalid/a.crl", f"{pki.base_url}/crl"]


def test_the_wrong_issuer_is_a_programming_error(pki, good):
    check, _ = checker(pki)
    with pytest.raises(ValueError):
        check.check(good, pki.root)


# --- untrustworthy answers --------------------------------------------------------


def answering(pki, answer) -> RevocationChecker:
    """A checker whose every fetch gets `answer(url, body)`."""
    return RevocationChecker(fetch=lambda url, body, content_type: answer(url, body), clock=Clock())


def refused(check: RevocationChecker, cert, issuer, reason: str) -> None:
    with pytest.raises(RevocationUnavailable, match=reason):
        check.check(cert, issuer)


def test_an_ocsp_response_with_a_broken_signature_is_refused(pki, good):
    def tampered(url, body):
        response = bytearray(pki.ocsp_response(body, NOW))
        response[-10] ^= 0x01  # inside the signature, the last field
        return bytes(response)

    refused(answering(pki, tampered), good, pki.intermediate, "signature is not valid")


def impostor(pki) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A CA with the sandbox CA's name and its own key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(pki.intermediate.subject)
        .issuer_name(pki.intermediate.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert, key


def test_an_ocsp_response_signed_by_the_wrong_key_is_refused(pki, good):
    fake, key = impostor(pki)

    def forged(url, body):
        request = ocsp.load_der_ocsp_request(body)
        return (
            ocsp.OCSPResponseBuilder()
            .add_response(good, pki.intermediate, *GOOD_FOR_FIVE_MINUTES)
            .responder_id(ocsp.OCSPResponderEncoding.NAME, fake)  # names the real CA
            .add_extension(request.extensions.get_extension_for_class(x509.OCSPNonce).value, critical=False)
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )

    refused(answering(pki, forged), good, pki.intermediate, "signature is not valid")


def delegated_response(pki, ca_key, cert, *, eku: bool):
    """A fetch answering from a responder certificate the CA issued, with or without OCSPSigning."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "QYZMET SANDBOX OCSP")]))
        .issuer_name(pki.intermediate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
    responder = builder.sign(ca_key, hashes.SHA256())

    def answer(url, body):
        return (
            ocsp.OCSPResponseBuilder()
            .add_response(cert, pki.intermediate, *GOOD_FOR_FIVE_MINUTES)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
            .certificates([responder])
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )

    return answer


def test_a_delegated_responder_is_trusted(pki, ca_key, good):
    evidence = answering(pki, delegated_response(pki, ca_key, good, eku=True)).check(good, pki.intermediate)
    assert (evidence.status, evidence.method) == ("good", "ocsp")


def test_a_responder_without_ocsp_signing_is_refused(pki, ca_key, good):
    check = answering(pki, delegated_response(pki, ca_key, good, eku=False))
    refused(check, good, pki.intermediate, "not for OCSP signing")


def test_a_responder_the_issuer_did_not_certify_is_refused(pki, good):
    fake, key = impostor(pki)

    def answer(url, body):
        return (
            ocsp.OCSPResponseBuilder()
            .add_response(good, pki.intermediate, *GOOD_FOR_FIVE_MINUTES)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, fake)
            .certificates([fake])
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )

    refused(answering(pki, answer), good, pki.intermediate, "not issued by the certificate's issuer")


def test_an_ocsp_response_about_another_certificate_is_refused(pki, good, other):
    about_other = ocsp.OCSPRequestBuilder().add_certificate(other, pki.intermediate, hashes.SHA1()).build()
    answer = pki.ocsp_response(about_other.public_bytes(serialization.Encoding.DER), NOW)
    refused(answering(pki, lambda url, body: answer), good, pki.intermediate, "not about this certificate")


def test_a_replayed_ocsp_response_is_refused(pki, good):
    earlier = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(good, pki.intermediate, hashes.SHA1())
        .add_extension(x509.OCSPNonce(b"an earlier nonce"), critical=False)
        .build()
    )
    answer = pki.ocsp_response(earlier.public_bytes(serialization.Encoding.DER), NOW)
    refused(answering(pki, lambda url, body: answer), good, pki.intermediate, "nonce")


def test_a_stale_ocsp_response_is_refused(pki, good):
    refused(
        answering(pki, lambda url, body: pki.ocsp_response(body, NOW - timedelta(minutes=6))),
        good,
        pki.intermediate,
        "stale",
    )


def test_an_unknown_answer_is_not_good_enough(pki, ca_key, good):
    # Signed by the sandbox CA but never recorded in its index.
    stranger = (
        x509.CertificateBuilder()
        .subject_name(good.subject)
        .issuer_name(pki.intermediate.subject)
        .public_key(good.public_key())
        .serial_number(12345)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(good.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value, critical=False)
        .add_extension(good.extensions.get_extension_for_class(x509.CRLDistributionPoints).value, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    only_ocsp, _ = checker(pki, methods=("ocsp",))
    refused(only_ocsp, stranger, pki.intermediate, "does not know the certificate")
    either, _ = checker(pki)  # the CRL does not list it: good by CRL
    assert either.check(stranger, pki.intermediate).method == "crl"


def test_a_stale_crl_is_refused(pki, good):
    check = RevocationChecker(
        methods=("crl",), fetch=lambda url, body, content_type: pki.crl(NOW - timedelta(days=2)), clock=Clock()
    )
    refused(check, good, pki.intermediate, "CRL is stale")


def test_a_crl_signed_by_the_wrong_key_is_refused(pki, good):
    fake, key = impostor(pki)
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.intermediate.subject)
        .last_update(NOW)
        .next_update(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    check = RevocationChecker(methods=("crl",), fetch=lambda url, body, content_type: forged, clock=Clock())
    refused(check, good, pki.intermediate, "signature is not the issuer's")


def test_a_pem_crl_is_read_too(pki, good):
    pem = x509.load_der_x509_crl(pki.crl(NOW)).public_bytes(serialization.Encoding.PEM)
    check = RevocationChecker(methods=("crl",), fetch=lambda url, body, content_type: pem, clock=Clock())
    assert check.check(good, pki.intermediate).status == "good"


def test_garbage_is_refused(pki, good):
    check = RevocationChecker(fetch=lambda url, body, content_type: b"<html>maintenance</html>", clock=Clock())
    with pytest.raises(RevocationUnavailable, match="not an OCSP response.*not a CRL"):
        check.check(good, pki.intermediate)


# --- cache -----------------------------------------------------------------------


def test_answers_are_cached_for_cache_seconds(pki, good):
    clock = Clock()
    check, fetch = checker(pki, clock=clock, cache_seconds=60)
    first = check.check(good, pki.intermediate)
    clock.now = NOW + timedelta(seconds=59)
    assert check.check(good, pki.intermediate) is first  # same evidence, original checked_at
    assert len(fetch.calls) == 1
    clock.now = NOW + timedelta(seconds=61)
    again = check.check(good, pki.intermediate)
    assert len(fetch.calls) == 2 and again.checked_at == clock.now


def test_answers_are_never_cached_past_their_next_update(pki, good):
    clock = Clock()
    check, fetch = checker(pki, clock=clock, cache_seconds=3600)
    check.check(good, pki.intermediate)
    clock.now = NOW + timedelta(minutes=4)
    check.check(good, pki.intermediate)
    assert len(fetch.calls) == 1
    clock.now = NOW + timedelta(minutes=6)  # the OCSP response's next update has passed
    check.check(good, pki.intermediate)
    assert len(fetch.calls) == 2


def test_the_cache_is_per_certificate(pki, good, revoked):
    check, fetch = checker(pki)
    assert check.check(good, pki.intermediate).status == "good"
    assert check.check(revoked, pki.intermediate).status == "revoked"
    assert len(fetch.calls) == 2


def test_checks_from_many_threads(pki, good, revoked):
    check, _ = checker(pki)
    results: list[str] = []

    def work(cert):
        results.append(check.check(cert, pki.intermediate).status)

    threads = [threading.Thread(target=work, args=(cert,)) for cert in [good, revoked] * 8]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["good"] * 8 + ["revoked"] * 8


# --- the real HTTP path ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(pki):
    """The sandbox CA's OCSP and CRL on 127.0.0.1, on a port of the system's choosing."""

    def answer(received: Received) -> Reply:
        if received.method == "POST" and received.path == "/ocsp" \
                and received.headers.get("Content-Type") == "application/ocsp-request":
            return Reply(200, pki.ocsp_response(received.body, datetime.now(UTC)), "application/ocsp-response")
        if received.method == "GET" and received.path == "/crl":
            return Reply(200, pki.crl(datetime.now(UTC)), "application/pkix-crl")
        return Reply(404, b"not found")

    httpd = FakeHttpServer(answer)
    yield httpd.url()
    httpd.close()


@pytest.mark.parametrize("method", ["ocsp", "crl"])
def test_over_http(pki, server, good, revoked, method):
    check = RevocationChecker(methods=(method,), ocsp_url=f"{server}/ocsp", crl_urls=[f"{server}/crl"])
    assert check.check(good, pki.intermediate).status == "good"
    evidence = check.check(revoked, pki.intermediate)
    assert (evidence.status, evidence.method, evidence.revoked_at) == ("revoked", method, REVOKED_AT)


def test_http_fetch_fails_loudly(server):
    with pytest.raises(OSError):  # urllib's HTTPError is an OSError
        http_fetch(f"{server}/nothing-here")
    with pytest.raises(ValueError, match="not an http"):
        http_fetch("file:///etc/passwd")
