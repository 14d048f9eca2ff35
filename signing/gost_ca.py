"""A GOST 34.10-2015 certification authority in memory: it issues, revokes, and
answers CRL and OCSP requests, all signed with GOST.

What the tests and the signing benchmark build their GOST chains with, and
what the sandbox PKI can issue GOST keys on (it adds the national CA's
certificate profile and the key files). Certificates name the authority's
CRL and OCSP addresses under `base_url`; :meth:`GostAuthority.fetch` answers
them in-process, as a :class:`signing.revocation.RevocationChecker` fetch.

Keys stay in memory as :class:`signing.xmldsig.SigningKey` objects (the
sandbox PKI writes its GOST key files with :mod:`signing.gost_pkcs12`). No Flask here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from signing.gost import CURVE_512, Curve, GostPrivateKey
from signing.gost_x509 import CertId, OcspAnswer, build_ocsp_response, key_identifier, sign_certificate, sign_crl
from signing.xmldsig import SigningKey

CA_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # keyCertSign, cRLSign
OCSP_USAGE = x509.KeyUsage(True, False, False, False, False, False, False, False, False)  # digitalSignature
ANSWER_VALIDITY = timedelta(hours=1)  # nextUpdate of an OCSP answer


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime


class GostAuthority:
    """A CA whose key and certificate are GOST; optionally with a delegated OCSP responder."""

    def __init__(
        self,
        key: SigningKey,
        *,
        base_url: str,
        responder: SigningKey | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = key
        self.base_url = base_url.rstrip("/")
        self.responder = responder or key
        self.clock = clock  # the time of the CRLs and OCSP answers fetch() hands out
        self._issued: set[int] = set()
        self._revoked: dict[int, Revocation] = {}
        self._lock = threading.Lock()

    @property
    def certificate(self) -> x509.Certificate:
        return self.key.certificate

    @property
    def private_key(self) -> GostPrivateKey:
        assert isinstance(self.key.private_key, GostPrivateKey)
        return self.key.private_key

    @classmethod
    def create(
        cls,
        name: x509.Name,
        *,
        now: datetime,
        base_url: str = "http://127.0.0.1:5000/sandbox/gost-ca",
        curve: Curve = CURVE_512,
        valid_for: timedelta = timedelta(days=3652),
        delegated_responder: bool = False,
    ) -> "GostAuthority":
        """A self-signed CA (basicConstraints CA:TRUE pathlen 0, keyCertSign and cRLSign)."""
        private = GostPrivateKey.generate(curve)
        identifier = key_identifier(private.public_key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + valid_for)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(CA_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier(identifier), critical=False)
        )
        certificate = sign_certificate(builder, subject_key=private.public_key, issuer_key=private)
        authority = cls(SigningKey(private, certificate), base_url=base_url)
        if delegated_responder:
            responder_name = x509.Name([*name, x509.NameAttribute(x509.NameOID.COMMON_NAME, "OCSP RESPONDER")])
            authority.responder = authority.issue(
                responder_name,
                now=now,
                key_usage=OCSP_USAGE,
                extended_key_usage=[ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string],
                not_after=now + timedelta(days=365),
                revocation_urls=False,
            )
        return authority

    def issue(
        self,
        subject: x509.Name,
        *,
        now: datetime,
        key_usage: x509.KeyUsage,
        extended_key_usage: Sequence[str] = (),
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        curve: Curve | None = None,
        extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
        revocation_urls: bool = True,
    ) -> SigningKey:
        """A new GOST key and its certificate (an end entity's: basicConstraints CA:FALSE).

        The certificate names this authority's CRL and OCSP addresses
        (unless `revocation_urls` is False); `extensions` are added as
        (extension, critical) pairs.
        """
        private = GostPrivateKey.generate(curve or self.private_key.curve)
        serial = x509.random_serial_number()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .serial_number(serial)
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=365))
            .add_extension(key_usage, critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(private.public_key)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier(key_identifier(self.private_key.public_key), None, None), critical=False
            )
        )
        if extended_key_usage:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid in extended_key_usage]), critical=False
            )
        if revocation_urls:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(f"{self.base_url}/crl")], None, None, None)]
                ),
                critical=False,
            ).add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{self.base_url}/ocsp")
                        )
                    ]
                ),
                critical=False,
            )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        certificate = sign_certificate(builder, subject_key=private.public_key, issuer_key=self.private_key)
        with self._lock:
            self._issued.add(serial)
        return SigningKey(private, certificate, (self.certificate,))

    def revoke(self, serial: int, revoked_at: datetime) -> None:
        with self._lock:
            self._revoked[serial] = Revocation(serial, revoked_at)

    def crl(self, now: datetime, *, next_update: timedelta = timedelta(days=1)) -> bytes:
        """A DER CRL of every revocation so far, signed by the CA."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + next_update)
            .add_extension(
                x509.AuthorityKeyIdentifier(key_identifier(self.private_key.public_key), None, None), critical=False
            )
        )
        with self._lock:
            revoked = list(self._revoked.values())
        for entry in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at).build()
            )
        return sign_crl(builder, issuer_key=self.private_key).public_bytes(serialization.Encoding.DER)

    def ocsp_response(self, request_der: bytes, now: datetime) -> bytes:
        """The answer to a DER OCSP request about one certificate (nonce echoed)."""
        request = ocsp.load_der_ocsp_request(request_der)
        asked = CertId.from_request(request)
        ours = CertId.of(asked.serial_number, self.certificate, asked.hash_algorithm)
        with self._lock:
            revocation = self._revoked.get(asked.serial_number)
            issued = asked.serial_number in self._issued
        if asked != ours or not issued:
            status = "unknown"
        else:
            status = "revoked" if revocation is not None else "good"
        answer = OcspAnswer(
            asked,
            status,
            this_update=now,
            next_update=now + ANSWER_VALIDITY,
            revoked_at=revocation.revoked_at if revocation is not None else None,
        )
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            nonce = None
        responder = self.responder
        assert isinstance(responder.private_key, GostPrivateKey)
        return build_ocsp_response(
            [answer], responder=responder.certificate, responder_key=responder.private_key, produced_at=now, nonce=nonce
        )

    def fetch(self, url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        """Answer this authority's CRL and OCSP addresses: a RevocationChecker's fetch."""
        now = self.clock()
        if url == f"{self.base_url}/ocsp" and body is not None:
            return self.ocsp_response(body, now)
        if url == f"{self.base_url}/crl":
            return self.crl(now)
        raise OSError(f"404: {url}")
