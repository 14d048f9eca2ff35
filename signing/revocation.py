"""Is a signer's certificate revoked? Ask by OCSP and/or CRL, and keep the proof.

The portal checks every signature's certificate here before it accepts a
signed document. An answer counts only when it is trustworthy: signed by the
certificate's issuer (or, for OCSP, by a responder the issuer delegated),
about this very certificate, and fresh. Anything less is not "good": it makes
the checker try the next method, and `RevocationUnavailable` when none is left,
so the portal can say "try again later" instead of accepting blindly.

The verdict comes with the DER OCSP response or CRL it rests on, which the
portal stores next to the signed document as evidence.

Verifying as of a past moment (`at`, an archived document's signing time),
an answer must be fresh as of that moment, not today: a CRL whose next
update is before `at` is stale, one that covers `at` (or was issued later)
is not; an answer dated after the real clock is refused all the same.
:func:`read_crl` and :func:`read_ocsp_response` judge stored evidence so.

GOST-signed CRLs and OCSP answers (the national CA's since 2024) are checked
through :mod:`signing.gost_x509`; the rest through cryptography.

No Flask here: the portal passes a `fetch` that answers its own sandbox URLs
in-process; `http_fetch` is the real network.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from signing import gost_x509

OCSP = "ocsp"
CRL = "crl"
GOOD = "good"
REVOKED = "revoked"

# Clocks disagree a little: an answer "from the future" by less than this is fine.
CLOCK_SKEW = timedelta(minutes=5)
# An OCSP answer without nextUpdate (and so without an expiry) must be recent,
# or a responder that echoes no nonce could be replayed from before a revocation.
MAX_AGE_WITHOUT_NEXT_UPDATE = timedelta(hours=1)
# National CRLs run to megabytes; anything far beyond is not a CRL.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
CACHE_LIMIT = 4096  # entries; expired ones are dropped when it is reached

_E = TypeVar("_E", bound=x509.ExtensionType)

Fetch = Callable[[str, bytes | None, str | None], bytes]  # (url, body or None for GET, content type) -> body


@dataclass(frozen=True)
class RevocationEvidence:
    status: str  # GOOD | REVOKED
    method: str  # OCSP | CRL
    checked_at: datetime  # when the answer was obtained (UTC)
    revoked_at: datetime | None  # set when status is REVOKED
    response: bytes  # the DER OCSP response or CRL, stored with the verdict as evidence


class RevocationUnavailable(Exception):
    """No configured source gave a trustworthy answer (network down, bad signature, stale, 'unknown')."""


class _Untrustworthy(Exception):
    """One method's answer cannot be relied on; the message says why."""


# --- the network -------------------------------------------------------------


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only: the URLs come from certificates."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise ValueError(f"refusing a redirect to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_HttpOnlyRedirects)


def http_fetch(url: str, body: bytes | None = None, content_type: str | None = None, *, timeout: float = 5.0) -> bytes:
    """GET `url`, or POST `body` to it; the response body, or OSError/ValueError."""
    # Certificates name these URLs: never let one read a local file (file://).
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if content_type:
        request.add_header("Content-Type", content_type)
    with _opener.open(request, timeout=timeout) as response:
        if response.status != 200:
            raise OSError(f"{url} answered HTTP {response.status}")
        data = response.read(MAX_RESPONSE_BYTES + 1)
    if len(data) > MAX_RESPONSE_BYTES:
        raise ValueError(f"{url} answered more than {MAX_RESPONSE_BYTES} bytes")
    return data


# --- the checker -------------------------------------------------------------


@dataclass(frozen=True)
class _Cached:
    value: object
    expires: datetime


@dataclass(frozen=True)
class _FetchedCrl:
    crl: x509.CertificateRevocationList
    der: bytes
    fetched_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class RevocationChecker:
    """Checks certificates against OCSP and CRL, in the configured order, with a cache."""

    def __init__(
        self,
        *,
        methods: Sequence[str] = (OCSP, CRL),
        ocsp_url: str | None = None,
        crl_urls: Sequence[str] = (),
        fetch: Fetch = http_fetch,
        cache_seconds: int = 300,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        unknown = set(methods) - {OCSP, CRL}
        if unknown:
            raise ValueError(f"unknown revocation methods: {sorted(unknown)}")
        self._methods = tuple(methods)
        self._ocsp_url = ocsp_url
        self._crl_urls = tuple(crl_urls)
        self._fetch = fetch
        self._cache_for = timedelta(seconds=cache_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[object, ...], _Cached] = {}

    def check(
        self, certificate: x509.Certificate, issuer: x509.Certificate, *, at: datetime | None = None
    ) -> RevocationEvidence:
        """The certificate's status now, or at `at` (a signing time) when given.

        A certificate revoked after `at` was still good at `at`. Raises
        RevocationUnavailable when no method gave a trustworthy answer, and
        ValueError when `issuer` is not the certificate's issuer (a caller's bug).
        """
        if certificate.issuer != issuer.subject:
            raise ValueError("`issuer` is not the certificate's issuer")
        now = _utc(self._clock())
        moment = _utc(at) if at is not None else now  # answers must be fresh as of this moment
        failures = []
        for method in self._methods:
            try:
                if method == OCSP:
                    evidence = self._by_ocsp(certificate, issuer, now, moment)
                else:
                    evidence = self._by_crl(certificate, issuer, now, moment)
            except _Untrustworthy as error:
                failures.append(f"{method}: {error}")
                continue
            return _as_of(evidence, at)
        raise RevocationUnavailable("; ".join(failures) or "no revocation method is configured")

    # -- cache --

    def _cached(self, key: tuple[object, ...], now: datetime) -> object | None:
        with self._lock:
            entry = self._cache.get(key)
            return entry.value if entry is not None and now < entry.expires else None

    def _store(self, key: tuple[object, ...], value: object, now: datetime, valid_until: datetime | None) -> None:
        """Keep for cache_seconds, and never past the answer's own expiry."""
        expires = now + self._cache_for
        if valid_until is not None:
            expires = min(expires, valid_until)
        if expires <= now:
            return
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache = {k: v for k, v in self._cache.items() if now < v.expires}
            self._cache[key] = _Cached(value, expires)

    def _get(self, url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        try:
            return self._fetch(url, body, content_type)
        except Exception as error:  # whatever the injected fetch raises means "no answer"
            raise _Untrustworthy(f"{url} did not answer ({error})") from None

    # -- OCSP --

    def _by_ocsp(
        self, certificate: x509.Certificate, issuer: x509.Certificate, now: datetime, moment: datetime
    ) -> RevocationEvidence:
        key = (OCSP, _issuer_id(issuer), certificate.serial_number)
        cached = self._cached(key, now)
        if isinstance(cached, RevocationEvidence):
            return cached
        url = self._ocsp_url or _ocsp_url_of(certificate)
        nonce = os.urandom(16)
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(certificate, issuer, hashes.SHA1())  # SHA-1 cert ids: what every responder knows
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        body = self._get(url, request.public_bytes(serialization.Encoding.DER), "application/ocsp-request")
        evidence, next_update = _read_ocsp(body, certificate.serial_number, issuer, nonce, now, moment)
        self._store(key, evidence, now, next_update)
        return evidence

    # -- CRL --

    def _by_crl(
        self, certificate: x509.Certificate, issuer: x509.Certificate, now: datetime, moment: datetime
    ) -> RevocationEvidence:
        key = (CRL, _issuer_id(issuer), certificate.serial_number)
        cached = self._cached(key, now)
        if isinstance(cached, RevocationEvidence):
            return cached
        urls = self._crl_urls or _crl_urls_of(certificate)
        failures = []
        for url in urls:
            try:
                fetched = self._crl_from(url, issuer, now, moment)
            except _Untrustworthy as error:
                failures.append(str(error))
                continue
            evidence = _look_up(fetched, certificate.serial_number)
            self._store(key, evidence, now, fetched.crl.next_update_utc)
            return evidence
        raise _Untrustworthy("; ".join(failures) or "the certificate names no CRL distribution point")

    def _crl_from(self, url: str, issuer: x509.Certificate, now: datetime, moment: datetime) -> _FetchedCrl:
        """A checked CRL from `url`, fetched or from the cache (checked against this issuer again)."""
        key = ("crl-file", url)
        cached = self._cached(key, now)
        if isinstance(cached, _FetchedCrl):
            _check_crl(cached.crl, issuer, now, moment)
            return cached
        der = self._get(url)
        fetched = _FetchedCrl(_parse_crl(der), der, now)
        _check_crl(fetched.crl, issuer, now, moment)  # a refused CRL is not cached
        self._store(key, fetched, now, fetched.crl.next_update_utc)
        return fetched


# --- reading answers ---------------------------------------------------------


def _issuer_id(issuer: x509.Certificate) -> bytes:
    return issuer.fingerprint(hashes.SHA256())


def _as_of(evidence: RevocationEvidence, at: datetime | None) -> RevocationEvidence:
    """The verdict at `at`: a revocation after that moment did not yet count."""
    if at is None or evidence.status != REVOKED or evidence.revoked_at is None:
        return evidence
    if evidence.revoked_at <= _utc(at):
        return evidence
    return dataclasses.replace(evidence, status=GOOD, revoked_at=None)


def _ocsp_url_of(certificate: x509.Certificate) -> str:
    for description in _access_descriptions(certificate):
        if description.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            description.access_location, x509.UniformResourceIdentifier
        ):
            return description.access_location.value
    raise _Untrustworthy("the certificate names no OCSP responder and none is configured")


def _access_descriptions(certificate: x509.Certificate) -> list[x509.AccessDescription]:
    try:
        return list(certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value)
    except x509.ExtensionNotFound:
        return []


def _crl_urls_of(certificate: x509.Certificate) -> list[str]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [
        name.value
        for point in points
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def read_ocsp_response(
    der: bytes,
    serial_number: int,
    issuer: x509.Certificate,
    *,
    at: datetime | None = None,
    now: datetime | None = None,
    nonce: bytes | None = None,
) -> RevocationEvidence:
    """The status of `serial_number` (of `issuer`) in a DER OCSP response, as of `at` (default: now).

    For stored evidence: the same checks as a live answer (signature by the
    issuer or a responder it delegated, the CertID, freshness as of `at`,
    and the request's `nonce` if given); RevocationUnavailable says why an
    answer cannot be relied on.
    """
    now = _utc(now or _utc_now())
    try:
        evidence, _ = _read_ocsp(der, serial_number, issuer, nonce, now, _utc(at) if at is not None else now)
    except _Untrustworthy as error:
        raise RevocationUnavailable(f"ocsp: {error}") from None
    return _as_of(evidence, at)


def _read_ocsp(
    body: bytes, serial_number: int, issuer: x509.Certificate, nonce: bytes | None, now: datetime, moment: datetime
) -> tuple[RevocationEvidence, datetime | None]:
    """The verdict in an OCSP response, and until when it holds; _Untrustworthy if it cannot be relied on.

    Fresh as of `moment` (the real clock `now` for a live check): a next
    update before it is stale, and without a next update the answer must be
    at most MAX_AGE_WITHOUT_NEXT_UPDATE older than it; an answer dated after
    `now` is refused.
    """
    try:
        response = ocsp.load_der_ocsp_response(body)
    except ValueError:
        raise _Untrustworthy("the answer is not an OCSP response") from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise _Untrustworthy(f"the responder answered {response.response_status.name}")
    signer = _ocsp_signer(response, issuer, moment)
    _verify(signer, response.signature, response.tbs_response_bytes, response)
    echoed = _extension(response.extensions, x509.OCSPNonce)
    if nonce is not None and echoed is not None and echoed.nonce != nonce:
        raise _Untrustworthy("the response carries another request's nonce (a replay?)")
    single = _single_response_for(response, serial_number, issuer)
    this_update, next_update = single.this_update_utc, single.next_update_utc
    if this_update > now + CLOCK_SKEW:
        raise _Untrustworthy(f"the response is dated in the future ({this_update.isoformat()})")
    if next_update is not None and next_update < moment:
        raise _Untrustworthy(f"the response is stale (next update was {next_update.isoformat()})")
    if next_update is None and this_update < moment - MAX_AGE_WITHOUT_NEXT_UPDATE:
        raise _Untrustworthy(f"the response is old ({this_update.isoformat()}) and names no next update")
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.UNKNOWN:
        raise _Untrustworthy("the responder does not know the certificate")
    revoked_at = single.revocation_time_utc if status == ocsp.OCSPCertStatus.REVOKED else None
    verdict = REVOKED if status == ocsp.OCSPCertStatus.REVOKED else GOOD
    return RevocationEvidence(verdict, OCSP, now, revoked_at, body), next_update


def _ocsp_signer(response: ocsp.OCSPResponse, issuer: x509.Certificate, moment: datetime) -> x509.Certificate:
    """The issuer itself, or a responder it delegated (its certificate inside the response).

    A delegated responder's certificate must be valid at the moment judged
    (now, or the archived moment): a responder key that has expired since
    could otherwise date a forged answer back into its validity.
    """
    key_hash, name = response.responder_key_hash, response.responder_name

    def is_responder(candidate: x509.Certificate) -> bool:
        if key_hash is not None:
            return gost_x509.key_hash(candidate) == key_hash
        return candidate.subject == name

    signer = next((c for c in [issuer, *response.certificates] if is_responder(c)), None)
    if signer is None:
        raise _Untrustworthy("the response is signed by a responder we do not know")
    if gost_x509.same_key(signer, issuer):
        return issuer
    # A delegated responder: issued by the issuer for OCSP signing, valid at the moment judged.
    if not gost_x509.issued_by(signer, issuer):
        raise _Untrustworthy("the responder's certificate is not issued by the certificate's issuer")
    eku = _extension(signer.extensions, x509.ExtendedKeyUsage)
    if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        raise _Untrustworthy("the responder's certificate is not for OCSP signing")
    if not signer.not_valid_before_utc <= moment <= signer.not_valid_after_utc:
        raise _Untrustworthy(f"the responder's certificate is not valid at {moment.isoformat()}")
    return signer


def _verify(signer: x509.Certificate, signature: bytes, data: bytes, response: ocsp.OCSPResponse) -> None:
    if gost_x509.is_gost_signed(response):
        if not gost_x509.ocsp_signed_by(response, signer):
            raise _Untrustworthy("the response's signature is not valid")
        return
    try:
        key = signer.public_key()
        algorithm = response.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            if response.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS:
                raise _Untrustworthy("RSA-PSS signed responses are not supported")
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            raise _Untrustworthy("the response's signature algorithm is not supported")
    except InvalidSignature:
        raise _Untrustworthy("the response's signature is not valid") from None
    except (UnsupportedAlgorithm, ValueError) as error:
        raise _Untrustworthy(f"the response's signature cannot be checked ({error})") from None


def _single_response_for(
    response: ocsp.OCSPResponse, serial_number: int, issuer: x509.Certificate
) -> ocsp.OCSPSingleResponse:
    """The answer about this serial from this issuer, whatever hash (SHA-1, SHA-256) the responder used."""
    for single in response.responses:
        if single.serial_number != serial_number:
            continue
        try:
            expected = gost_x509.CertId.of(serial_number, issuer, single.hash_algorithm.name)
        except (UnsupportedAlgorithm, KeyError):
            continue
        if (single.issuer_name_hash, single.issuer_key_hash) == (expected.issuer_name_hash, expected.issuer_key_hash):
            return single
    raise _Untrustworthy("the response is not about this certificate")


def _parse_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise _Untrustworthy("the answer is not a CRL") from None


def read_crl(
    der: bytes, serial_number: int, issuer: x509.Certificate, *, at: datetime | None = None, now: datetime | None = None
) -> RevocationEvidence:
    """The status of `serial_number` in a (DER or PEM) CRL of `issuer`, as of `at` (default: now).

    For stored evidence: the issuer's signature, not a delta CRL, fresh as
    of `at`; RevocationUnavailable says why a CRL cannot be relied on.
    """
    now = _utc(now or _utc_now())
    try:
        crl = _parse_crl(der)
        _check_crl(crl, issuer, now, _utc(at) if at is not None else now)
    except _Untrustworthy as error:
        raise RevocationUnavailable(f"crl: {error}") from None
    return _as_of(_look_up(_FetchedCrl(crl, der, now), serial_number), at)


def _check_crl(crl: x509.CertificateRevocationList, issuer: x509.Certificate, now: datetime, moment: datetime) -> None:
    """The issuer's, complete, not dated after `now`, and not stale as of `moment`."""
    if crl.issuer != issuer.subject:
        raise _Untrustworthy("the CRL is another issuer's")
    if gost_x509.is_gost_signed(crl):
        valid = gost_x509.crl_signed_by(crl, issuer)
    else:
        try:
            valid = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
        except (UnsupportedAlgorithm, TypeError, ValueError):
            valid = False
    if not valid:
        raise _Untrustworthy("the CRL's signature is not the issuer's")
    if _extension(crl.extensions, x509.DeltaCRLIndicator) is not None:
        raise _Untrustworthy("a delta CRL lists only recent changes")
    if crl.last_update_utc > now + CLOCK_SKEW:
        raise _Untrustworthy(f"the CRL is dated in the future ({crl.last_update_utc.isoformat()})")
    next_update = crl.next_update_utc
    if next_update is not None and next_update < moment:
        raise _Untrustworthy(f"the CRL is stale (next update was {next_update.isoformat()})")


def _look_up(fetched: _FetchedCrl, serial: int) -> RevocationEvidence:
    entry = fetched.crl.get_revoked_certificate_by_serial_number(serial)
    if entry is None:
        return RevocationEvidence(GOOD, CRL, fetched.fetched_at, None, fetched.der)
    return RevocationEvidence(REVOKED, CRL, fetched.fetched_at, entry.revocation_date_utc, fetched.der)


def _extension(extensions: x509.Extensions, kind: type[_E]) -> _E | None:
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
