"""Fixtures for the signing tests: a sandbox PKI made once per session, its keys
loaded once, a trust store, an in-process revocation service, and a few
certificates the sandbox CA would never issue (self-signed, a foreign CA's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.sandbox import pki
from signing.revocation import RevocationChecker
from signing.verify import TrustStore
from signing.xmldsig import SigningKey

NATIONAL = Path(__file__).resolve().parents[1] / "data" / "nca-test-pki"
NATIONAL_PASSWORD = "Qwerty12"

CITIZEN = "900101300018"  # the special holder: also has revoked, expired, not-yet-valid signing keys
OTHER_CITIZEN = "950202400027"
EMPLOYEE = "850505300021"  # the organisation's head, as an employee key holder
ORGANISATION = "180340021234"  # the organisation's BIN

HOLDERS = (
    pki.Holder(CITIZEN, "Ахметов", "Ержан", "Болатович", email="erzhan@example.kz", algorithm=pki.RSA),
    pki.Holder(OTHER_CITIZEN, "Сейтқали", "Айгерім", "Нұрланқызы", algorithm=pki.RSA),
)
ORGANISATIONS = (
    pki.Holder(
        EMPLOYEE,
        "Омаров",
        "Ерлан",
        "Серікұлы",
        bin=ORGANISATION,
        organisation='ТОО "Qyzmet Test"',
        roles=(pki.ROLE_HEAD,),
        algorithm=pki.RSA,
    ),
)

# What the portal issues to be signed: a small application with a nonce.
ISSUED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<application xmlns="urn:qyzmet:application:1" service="birth-allowance">\n'
    "  <nonce>b6c1f0e2a9d84c3f</nonce>\n"
    f"  <applicant><iin>{CITIZEN}</iin><name>АХМЕТОВ ЕРЖАН</name></applicant>\n"
    "  <answers>\n"
    '    <answer field="child_iin">240315500017</answer>\n'
    '    <answer field="iban">KZ86125KZT5004100100</answer>\n'
    '    <answer field="amount">123 456,00 ₸</answer>\n'
    "  </answers>\n"
    "</application>\n"
).encode()


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> pki.SandboxPKI:
    """The sandbox PKI: two citizens and one organisation, made once."""
    return pki.create(
        tmp_path_factory.mktemp("pki"),
        HOLDERS,
        now=_utc_now(),
        special_holder=CITIZEN,
        organisations=ORGANISATIONS,
    )


class Keys:
    """Sandbox key files, each opened once (opening costs tens of milliseconds)."""

    def __init__(self, sandbox: pki.SandboxPKI):
        self._sandbox = sandbox
        self._loaded: dict[tuple[str, str, str], SigningKey] = {}

    def __call__(self, holder: str = CITIZEN, kind: str = pki.SIGN, variant: str = pki.NORMAL) -> SigningKey:
        wanted = (holder, kind, variant)
        if wanted not in self._loaded:
            key_file = self._sandbox.key_file(holder, kind, variant)
            assert key_file is not None, f"the sandbox has no {kind} key ({variant}) for {holder}"
            self._loaded[wanted] = SigningKey.from_pkcs12(key_file.path, self._sandbox.password)
        return self._loaded[wanted]


@pytest.fixture(scope="session")
def keys(sandbox) -> Keys:
    return Keys(sandbox)


@pytest.fixture(scope="session")
def trust(sandbox) -> TrustStore:
    """The portal's trust store in the sandbox: the CA bundle (root, then intermediate)."""
    return TrustStore.from_pem_files(sandbox.bundle_path)


@pytest.fixture(scope="session")
def ca_key(sandbox) -> SigningKey:
    """The sandbox issuing CA's own key and certificate (to sign with a CA certificate)."""
    private = serialization.load_pem_private_key((sandbox.directory / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return SigningKey(private, sandbox.intermediate)


@dataclass
class Revocation:
    """An in-process revocation service over the sandbox PKI, with a switch to take it down."""

    sandbox: pki.SandboxPKI
    down: bool = False
    calls: int = 0

    def fetch(self, url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        self.calls += 1
        if self.down:
            raise OSError(f"connection refused: {url}")
        now = _utc_now()
        if url.endswith("/ocsp"):
            assert body is not None
            return self.sandbox.ocsp_response(body, now)
        if url.endswith("/crl"):
            return self.sandbox.crl(now)
        raise OSError(f"404: {url}")

    def checker(self, **options) -> RevocationChecker:
        return RevocationChecker(fetch=self.fetch, **options)


@pytest.fixture
def revocation_service(sandbox) -> Revocation:
    return Revocation(sandbox)


@pytest.fixture
def revocation(revocation_service) -> RevocationChecker:
    """A fresh checker (empty cache) asking the sandbox in-process: OCSP, then CRL."""
    return revocation_service.checker()


# --- certificates the sandbox CA would never issue ---------------------------


def _holder_extensions(builder: x509.CertificateBuilder, public: rsa.RSAPublicKey) -> x509.CertificateBuilder:
    """An individual's signing-key shape (the same key usages and role as the NCA's)."""
    usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, x509.ObjectIdentifier(pki.ROLE_INDIVIDUAL)])
    return (
        builder.add_extension(usage, critical=True)
        .add_extension(eku, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _name(common_name: str, iin: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if iin:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"))
    attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"))
    return x509.Name(attributes)


@dataclass(frozen=True)
class Outsiders:
    self_signed: SigningKey  # a citizen-shaped certificate that signs itself
    foreign: SigningKey  # a citizen-shaped certificate from a CA the portal does not trust
    foreign_ca: x509.Certificate
    stranger_key: rsa.RSAPrivateKey  # some other RSA key (for a KeyValue that does not match)


@pytest.fixture(scope="session")
def outsiders(sandbox) -> Outsiders:
    now = _utc_now()
    start, end = now - timedelta(days=1), now + timedelta(days=365)
    fake_key, ca_key, foreign_key, stranger = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)
    )

    name = _name("АХМЕТОВ ЕРЖАН", CITIZEN)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(fake_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    self_signed = _holder_extensions(builder, fake_key.public_key()).sign(fake_key, hashes.SHA256())

    # Same CA name as the sandbox's: only the key tells them apart.
    ca_name = sandbox.intermediate.subject
    foreign_ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_name)
        .public_key(foreign_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    foreign = _holder_extensions(builder, foreign_key.public_key()).sign(ca_key, hashes.SHA256())
    return Outsiders(SigningKey(fake_key, self_signed), SigningKey(foreign_key, foreign), foreign_ca, stranger)


@pytest.fixture(scope="session")
def national_trust() -> TrustStore:
    return TrustStore.from_pem_files(NATIONAL / "nca_rsa_test.crt")


@pytest.fixture(scope="session")
def national_keys() -> dict[str, SigningKey]:
    """The genuine NCA test keys: fl_rsa_sign, fl_rsa_auth, ul_rsa_auth."""
    return {
        name: SigningKey.from_pkcs12(NATIONAL / f"{name}.p12", NATIONAL_PASSWORD)
        for name in ("fl_rsa_sign", "fl_rsa_auth", "ul_rsa_auth")
    }
