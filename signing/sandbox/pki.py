"""A sandbox certification authority shaped like Kazakhstan's national CA (NCA).

The portal's sandbox needs key files that behave like the ones the NCA issues
to citizens and organisations, a CA to trust, and revocation services (CRL and
OCSP) to ask. `create()` makes all of that in a directory; `SandboxPKI.load()`
opens it again and answers CRL and OCSP requests in-process (the portal serves
them under its sandbox URLs).

Certificates copy the genuine NCA test certificates (see
tests/data/nca-test-pki): subject attributes in the same order and string
types, the same key usages, role OIDs inside the extended key usage, the same
policies, serial numbers derived from the key identifier, PKCS#12 files that
hold only the holder's own certificate (no chain) with the key id as friendly
name.

Two algorithms, as the NCA has: GOST 34.10-2015 (512) keys, which the NCA has
issued alone since 28 April 2024, for every holder by default, under a GOST
CA (`gost-ca.crt`, one level: NCALayer sends no chain, so the issuing CA is
the trust anchor) whose CRL and OCSP answers are signed with GOST; and the
legacy RSA keys (a holder with `algorithm=RSA`) under the RSA root and
issuing CA. GOST key files are written by signing.gost_pkcs12 (whether
NCALayer opens them is not proven: see there).

Directory layout (all written by `create()`, overwriting):

    root.crt, ca.crt            the RSA root and the RSA issuing (intermediate) CA, PEM
    gost-ca.crt                 the GOST issuing CA (self-signed), PEM
    ca-bundle.pem               RSA root, RSA intermediate, GOST CA: the portal's trust store
    root-key.pem, ca-key.pem, gost-ca-key.pem
                                the CA private keys, PEM, unencrypted (sandbox!)
    index.json                  every issued key: holder, kind, variant, path, ...
    revocations.json            revoked serials with time and reason
    holders/<iin>/auth.p12      an individual's authentication key
    holders/<iin>/sign.p12      an individual's signing key
    holders/<iin>/sign-revoked.p12, sign-expired.p12, sign-not-yet-valid.p12
                                the special holder's broken signing keys
    organisations/<bin>/auth.p12, sign.p12
                                an organisation employee's keys (the portal's
                                own key, a provider's head of branch, ...)

No Flask here: the portal wraps this module, tools and tests use it directly.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from signing import gost_pkcs12, gost_x509
from signing.gost import CURVE_512, GostPrivateKey
from signing.xmldsig import SigningKey, sign_enveloped

DEFAULT_BASE_URL = "http://127.0.0.1:5000/sandbox/pki"
DEFAULT_PASSWORD = "Qwerty12"  # the password NCA test key files conventionally use
CREATE_COMMAND = "flask sandbox pki"  # named in the error when the directory is missing

# RSA 2048 for every key, the CAs included: the NCA's own CAs use 4096 but
# generating one takes about a second, and test setup must stay fast. Citizens'
# NCA keys are 2048-bit, so the holders' keys are the genuine size anyway.
KEY_SIZE = 2048

ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "QYZMET SANDBOX ROOT CA (RSA)"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
    ]
)
# The genuine issuing CA is `C=KZ, CN=ҰКО 3.0 (RSA TEST)`: country first.
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        x509.NameAttribute(NameOID.COMMON_NAME, "QYZMET SANDBOX CA (RSA)"),
    ]
)
# As the national `ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) TEST 2022`.
GOST_CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        x509.NameAttribute(NameOID.COMMON_NAME, "QYZMET SANDBOX CA (GOST)"),
    ]
)

GOST = "gost"  # GOST 34.10-2015 512-bit: what the NCA issues since 28 April 2024
RSA = "rsa"  # the legacy RSA-2048 keys of older kits

AUTH = "auth"
SIGN = "sign"
NORMAL = "normal"
REVOKED = "revoked"
EXPIRED = "expired"
NOT_YET_VALID = "not-yet-valid"

ROLE_INDIVIDUAL = "1.2.398.3.3.4.1.1"
ROLE_ORGANISATION = "1.2.398.3.3.4.1.2"
ROLE_HEAD = "1.2.398.3.3.4.1.2.1"
ROLE_RIGHT_TO_SIGN = "1.2.398.3.3.4.1.2.2"
ROLE_EMPLOYEE = "1.2.398.3.3.4.1.2.5"

POLICY_NCA = "1.2.398.3.3.1.1"  # the NCA's regulations, on its CA certificates
# Per the NCA's OID register: .1 legal entity signing, .2 legal entity
# authentication, .3 individual signing, .4 individual authentication.
POLICIES = {
    (SIGN, False): "1.2.398.3.3.2.3",
    (AUTH, False): "1.2.398.3.3.2.4",
    (SIGN, True): "1.2.398.3.3.2.1",
    (AUTH, True): "1.2.398.3.3.2.2",
}
# A private NCA extension every genuine test certificate carries, copied as is
# (SEQUENCE { OID 1.2.398.3.3.5.1.1 }); its meaning is not published.
NCA_PRIVATE_EXTENSION = x509.UnrecognizedExtension(
    x509.ObjectIdentifier("1.2.398.3.3.5"), bytes.fromhex("300a06082a830e0303050101")
)

ONE_DAY = timedelta(days=1)
KEY_LIFETIME = timedelta(days=365)  # the NCA issues one-year keys
CRL_LIFETIME = ONE_DAY
OCSP_LIFETIME = timedelta(minutes=5)

# Each variant's validity relative to `now` (start, end).
VALIDITY = {
    NORMAL: (-ONE_DAY, KEY_LIFETIME),
    REVOKED: (-ONE_DAY, KEY_LIFETIME),
    EXPIRED: (-timedelta(days=400), -timedelta(days=35)),
    NOT_YET_VALID: (timedelta(days=30), timedelta(days=30) + KEY_LIFETIME),
}
# The CAs start well before the expired key so that every sandbox key lies
# inside its issuer's life: an archival "verify as of" inside the expired
# key's validity then finds a valid chain, as it would with the real NCA.
CA_START = -timedelta(days=500)


class PKINotFound(FileNotFoundError):
    """The sandbox PKI directory does not exist or is incomplete."""


@dataclass(frozen=True)
class Holder:
    """Whoever a key is issued to: a citizen, or an organisation's employee (bin set)."""

    iin: str
    surname: str
    given: str
    patronymic: str = ""
    email: str | None = None
    bin: str | None = None
    organisation: str | None = None
    roles: tuple[str, ...] = ()  # extra role OIDs, e.g. ROLE_HEAD
    algorithm: str = GOST  # GOST | RSA (legacy)

    @property
    def is_organisation(self) -> bool:
        return self.bin is not None


@dataclass(frozen=True)
class KeyFile:
    """One issued key container, as listed in index.json."""

    holder: str  # the IIN, or the BIN for an organisation's key
    kind: str  # AUTH | SIGN
    variant: str  # NORMAL | REVOKED | EXPIRED | NOT_YET_VALID
    path: Path
    serial: int
    not_before: datetime
    not_after: datetime
    algorithm: str = RSA  # index.json files made before GOST name none: they were RSA

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    @property
    def download_name(self) -> str:
        """The national file name: `GOST512_<serial>.p12`, `AUTH_GOST512_<serial>.p12`, or the
        legacy `RSA256_…`, `AUTH_RSA256_…` (the GOST prefix is as testers report it, not seen in a genuine kit)."""
        prefix = "GOST512_" if self.algorithm == GOST else "RSA256_"
        return f"{'AUTH_' if self.kind == AUTH else ''}{prefix}{self.serial_hex}.p12"

    def load(self, password: str) -> tuple[rsa.RSAPrivateKey | GostPrivateKey, x509.Certificate]:
        """Open the container (parsing costs tens of milliseconds: do it once)."""
        key = SigningKey.from_pkcs12(self.path, password)
        return key.private_key, key.certificate

    def to_json(self, directory: Path) -> dict[str, object]:
        return {
            "holder": self.holder,
            "kind": self.kind,
            "variant": self.variant,
            "path": self.path.relative_to(directory).as_posix(),
            "serial": self.serial_hex,
            "algorithm": self.algorithm,
            "download_name": self.download_name,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }

    @classmethod
    def from_json(cls, directory: Path, data: dict[str, str]) -> KeyFile:
        return cls(
            holder=data["holder"],
            kind=data["kind"],
            variant=data["variant"],
            path=directory / data["path"],
            serial=int(data["serial"], 16),
            not_before=datetime.fromisoformat(data["not_before"]),
            not_after=datetime.fromisoformat(data["not_after"]),
            algorithm=data.get("algorithm", RSA),
        )


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


@dataclass(frozen=True)
class _Authority:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | GostPrivateKey


@dataclass(frozen=True)
class _Order:
    """A key to issue: who, which kind, which variant, where."""

    holder_id: str
    holder: Holder
    kind: str
    variant: str
    relative_path: str


# --- small helpers -----------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _key_identifier(key: rsa.RSAPrivateKey | GostPrivateKey) -> bytes:
    if isinstance(key, GostPrivateKey):
        return gost_x509.key_identifier(key.public_key)
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest


def _serial_for(key: rsa.RSAPrivateKey | GostPrivateKey) -> int:
    """The NCA's serial: the key identifier with its first byte forced into 0x10..0x7F.

    Seen in the genuine certificates (SKI f5bf... → serial 75bf..., 0d17... →
    1d17...): a positive 20-byte serial that always prints as 40 hex digits.
    """
    ski = _key_identifier(key)
    return int.from_bytes(bytes([(ski[0] & 0x7F) | 0x10]) + ski[1:], "big")


def _sign(builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey | GostPrivateKey, issuer_key) -> x509.Certificate:
    """The builder's certificate for `key`, signed by `issuer_key` (RSA-SHA256 or GOST 2015)."""
    builder = builder.add_extension(x509.SubjectKeyIdentifier(_key_identifier(key)), critical=False)
    if isinstance(issuer_key, GostPrivateKey):
        assert isinstance(key, GostPrivateKey), "the GOST CA issues GOST keys only"
        return gost_x509.sign_certificate(builder, subject_key=key.public_key, issuer_key=issuer_key)
    return builder.public_key(key.public_key()).sign(issuer_key, hashes.SHA256())


def _ski(certificate: x509.Certificate) -> x509.SubjectKeyIdentifier:
    return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(_ski(issuer))


def _policy(oid: str, base_url: str) -> x509.CertificatePolicies:
    # Same qualifiers as the NCA: a CPS pointer and a user notice repeating it.
    cps = f"{base_url}/cps"
    return x509.CertificatePolicies(
        [x509.PolicyInformation(x509.ObjectIdentifier(oid), [cps, x509.UserNotice(None, cps)])]
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers (other portal workers) never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey | GostPrivateKey) -> bytes:
    # Unencrypted on purpose: a sandbox CA whose keys anyone may read. Never
    # use this module for anything a real person relies on.
    if isinstance(key, GostPrivateKey):
        body = base64.encodebytes(gost_pkcs12.private_key_info(key)).decode("ascii").replace("\n", "")
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        return f"-----BEGIN PRIVATE KEY-----\n{lines}\n-----END PRIVATE KEY-----\n".encode("ascii")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_gost_key_pem(data: bytes) -> GostPrivateKey:
    body = b"".join(line for line in data.splitlines() if line and not line.startswith(b"-----"))
    return gost_pkcs12.key_from_private_key_info(base64.b64decode(body))


# --- certificates ------------------------------------------------------------


def _root_certificate(key: rsa.RSAPrivateKey, now: datetime) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(ROOT_NAME)
        .issuer_name(ROOT_NAME)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + CA_START)
        .not_valid_after(now - ONE_DAY + timedelta(days=3652))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
    )
    return _sign(builder, key, key)


def _gost_ca_certificate(key: GostPrivateKey, now: datetime, base_url: str) -> x509.Certificate:
    """The GOST issuing CA: self-signed (one level), pathlen 0, the NCA's policy."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(GOST_CA_NAME)
        .issuer_name(GOST_CA_NAME)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + CA_START)
        .not_valid_after(now - ONE_DAY + timedelta(days=3652))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(_policy(POLICY_NCA, base_url), critical=False)
    )
    return _sign(builder, key, key)


def _ca_certificate(key: rsa.RSAPrivateKey, root: _Authority, now: datetime, base_url: str) -> x509.Certificate:
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(CA_NAME)
        .issuer_name(root.certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + CA_START)
        .not_valid_after(now - ONE_DAY + timedelta(days=1826))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(_aki(root.certificate), critical=False)
        # pathlen 0: the issuing CA issues end-entity certificates only.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{base_url}/root.crt"),
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(_policy(POLICY_NCA, base_url), critical=False)
        .sign(root.key, hashes.SHA256())
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def holder_name(holder: Holder) -> x509.Name:
    """The subject in the genuine order: CN, SURNAME, SERIALNUMBER, C, [O, OU,] GIVENNAME, [E].

    The NCA writes names in capitals and puts the patronymic in GIVENNAME.
    Default string types match the genuine ones: UTF8String, and
    PrintableString for C and SERIALNUMBER.
    """
    surname, given, patronymic = holder.surname.upper(), holder.given.upper(), holder.patronymic.upper()
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, f"{surname} {given}".strip()),
        x509.NameAttribute(NameOID.SURNAME, surname),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{holder.iin}"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
    ]
    if holder.is_organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, holder.organisation or f"BIN{holder.bin}"))
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{holder.bin}"))
    if patronymic:
        attributes.append(x509.NameAttribute(NameOID.GIVEN_NAME, patronymic))
    if holder.email:
        attributes.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, holder.email))
    return x509.Name(attributes)


def _holder_key_usage(kind: str) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=kind == SIGN,  # nonRepudiation
        key_encipherment=kind == AUTH,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _extended_key_usage(holder: Holder, kind: str) -> x509.ExtendedKeyUsage:
    """The purpose, then the holder's roles: the NCA puts roles inside the EKU."""
    purpose = ExtendedKeyUsageOID.CLIENT_AUTH if kind == AUTH else ExtendedKeyUsageOID.EMAIL_PROTECTION
    roles = [ROLE_ORGANISATION, *holder.roles] if holder.is_organisation else [ROLE_INDIVIDUAL, *holder.roles]
    return x509.ExtendedKeyUsage([purpose, *(x509.ObjectIdentifier(role) for role in dict.fromkeys(roles))])


def _holder_certificate(
    order: _Order, key: rsa.RSAPrivateKey | GostPrivateKey, ca: _Authority, now: datetime, base_url: str
) -> x509.Certificate:
    """The holder's certificate from its algorithm's CA: the RSA issuing CA, or the GOST CA
    (whose CRL is at <base_url>/gost/crl; one OCSP responder answers for both, as the NCA's)."""
    start, end = VALIDITY[order.variant]
    gost = isinstance(key, GostPrivateKey)
    crl_url = f"{base_url}/gost/crl" if gost else f"{base_url}/crl"
    ca_url = f"{base_url}/gost-ca.crt" if gost else f"{base_url}/ca.crt"
    # Extensions in the order of the genuine signing certificate (the key identifier last: _sign adds it).
    builder = (
        x509.CertificateBuilder()
        .subject_name(holder_name(order.holder))
        .issuer_name(ca.certificate.subject)
        .serial_number(_serial_for(key))
        .not_valid_before(now + start)
        .not_valid_after(now + end)
        .add_extension(_holder_key_usage(order.kind), critical=True)
        .add_extension(_extended_key_usage(order.holder, order.kind), critical=False)
        .add_extension(_policy(POLICIES[order.kind, order.holder.is_organisation], base_url), critical=False)
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_url)
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{base_url}/ocsp")
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(_aki(ca.certificate), critical=False)
        .add_extension(NCA_PRIVATE_EXTENSION, critical=False)
    )
    return _sign(builder, key, ca.key)


def _pkcs12(key: rsa.RSAPrivateKey | GostPrivateKey, certificate: x509.Certificate, password: str) -> bytes:
    """A key file OpenSSL 3 (without -legacy) opens; an RSA one cryptography opens too.

    A GOST key goes through signing.gost_pkcs12 (the same encryption and
    MAC; cryptography cannot write GOST keys), whose docstring says what is
    not proven about NCALayer opening it.

    Like the NCA's: only the holder's certificate, no chain; the key id as
    friendly name. Unlike the NCA's (3DES and RC2-40, SHA-1 MAC), encrypted
    with AES-256 and PBKDF2/HMAC-SHA-256, which OpenSSL 3 reads by default.
    """
    # 2048 PBKDF2 rounds, OpenSSL 3's own default (the NCA's files use 1024):
    # the password is public anyway, and 20,000 rounds made create() a second
    # slower for 25 holders.
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    if isinstance(key, GostPrivateKey):
        return gost_pkcs12.write(key, certificate, password, local_key_id=_ski(certificate).digest)
    name = _ski(certificate).digest.hex().encode()
    return pkcs12.serialize_key_and_certificates(name, key, certificate, None, encryption)


# --- creating ----------------------------------------------------------------


def _check_digits(value: str, what: str) -> None:
    # Format only: the genuine test IIN 123456789011 fails the check digit.
    if len(value) != 12 or not value.isdigit():
        raise ValueError(f"{what} must be 12 digits, not {value!r}")


def _orders(holders: list[Holder], organisations: list[Holder], special: str | None) -> list[_Order]:
    """Every key to issue, refusing duplicate or malformed identifiers."""
    orders: list[_Order] = []
    seen: set[str] = set()
    for holder in holders:
        _check_digits(holder.iin, "an IIN")
        if holder.iin in seen:
            raise ValueError(f"holder {holder.iin} is listed twice")
        seen.add(holder.iin)
        folder = f"holders/{holder.iin}"
        orders.append(_Order(holder.iin, holder, AUTH, NORMAL, f"{folder}/auth.p12"))
        orders.append(_Order(holder.iin, holder, SIGN, NORMAL, f"{folder}/sign.p12"))
        if holder.iin == special:
            for variant in (REVOKED, EXPIRED, NOT_YET_VALID):
                orders.append(_Order(holder.iin, holder, SIGN, variant, f"{folder}/sign-{variant}.p12"))
    for organisation in organisations:
        if organisation.bin is None:
            raise ValueError(f"organisation key holder {organisation.iin} has no BIN")
        _check_digits(organisation.iin, "an IIN")
        _check_digits(organisation.bin, "a BIN")
        if organisation.bin in seen:
            raise ValueError(f"organisation {organisation.bin} is listed twice")
        seen.add(organisation.bin)
        folder = f"organisations/{organisation.bin}"
        orders.append(_Order(organisation.bin, organisation, AUTH, NORMAL, f"{folder}/auth.p12"))
        orders.append(_Order(organisation.bin, organisation, SIGN, NORMAL, f"{folder}/sign.p12"))
    return orders


def _generate_keys(count: int) -> list[rsa.RSAPrivateKey]:
    # RSA generation releases the GIL: threads make 25 holders take seconds, not many.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(lambda _: _new_key(), range(count)))


def create(
    directory: Path,
    holders: Iterable[Holder],
    *,
    now: datetime,
    special_holder: str | None = None,
    organisations: Iterable[Holder] = (),
    base_url: str = DEFAULT_BASE_URL,
    password: str = DEFAULT_PASSWORD,
) -> SandboxPKI:
    """Make a fresh sandbox PKI in `directory` (replacing one already there).

    Every holder gets an authentication and a signing key under
    holders/<iin>/; `special_holder` (default: the first holder) also gets a
    revoked, an expired and a not-yet-valid signing key. Each organisation
    (a Holder with `bin` set: the employee who holds the key) gets both keys
    under organisations/<bin>/. A holder's subject and roles follow its
    fields: one listed under `holders` with a `bin` is an employee too. Its
    `algorithm` says which CA issues its keys: GOST (the default) or RSA.
    """
    directory = Path(directory)
    now = _utc(now).replace(microsecond=0)
    base_url = base_url.rstrip("/")
    holders, organisations = list(holders), list(organisations)
    if special_holder is None and holders:
        special_holder = holders[0].iin
    if special_holder is not None and special_holder not in {holder.iin for holder in holders}:
        raise ValueError(f"special holder {special_holder} is not among the holders")
    orders = _orders(holders, organisations, special_holder)

    rsa_orders = sum(1 for order in orders if order.holder.algorithm == RSA)
    root_key, ca_key, *rsa_keys = _generate_keys(2 + rsa_orders)
    root = _Authority(_root_certificate(root_key, now), root_key)
    ca = _Authority(_ca_certificate(ca_key, root, now, base_url), ca_key)
    gost_ca_key = GostPrivateKey.generate(CURVE_512)
    gost_ca = _Authority(_gost_ca_certificate(gost_ca_key, now, base_url), gost_ca_key)
    holder_keys = [
        rsa_keys.pop() if order.holder.algorithm == RSA else GostPrivateKey.generate(CURVE_512) for order in orders
    ]

    # Only our own sub-trees are cleared: `directory` may hold other things.
    for folder in ("holders", "organisations"):
        shutil.rmtree(directory / folder, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)

    keys: list[KeyFile] = []
    revocations: list[Revocation] = []
    for order, key in zip(orders, holder_keys, strict=True):
        issuer = gost_ca if isinstance(key, GostPrivateKey) else ca
        certificate = _holder_certificate(order, key, issuer, now, base_url)
        path = directory / order.relative_path
        _write_atomically(path, _pkcs12(key, certificate, password))
        keys.append(
            KeyFile(
                order.holder_id,
                order.kind,
                order.variant,
                path,
                certificate.serial_number,
                certificate.not_valid_before_utc,
                certificate.not_valid_after_utc,
                order.holder.algorithm,
            )
        )
        if order.variant == REVOKED:
            revocations.append(
                Revocation(certificate.serial_number, now - timedelta(hours=1), x509.ReasonFlags.key_compromise)
            )

    _write_atomically(directory / "root.crt", _pem(root.certificate))
    _write_atomically(directory / "ca.crt", _pem(ca.certificate))
    _write_atomically(directory / "gost-ca.crt", _pem(gost_ca.certificate))
    bundle = _pem(root.certificate) + _pem(ca.certificate) + _pem(gost_ca.certificate)
    _write_atomically(directory / "ca-bundle.pem", bundle)
    _write_atomically(directory / "root-key.pem", _key_pem(root.key))
    _write_atomically(directory / "ca-key.pem", _key_pem(ca.key))
    _write_atomically(directory / "gost-ca-key.pem", _key_pem(gost_ca.key))
    _write_revocations(directory, revocations)
    everyone = {holder.iin: holder for holder in holders} | {org.bin: org for org in organisations if org.bin}
    index = {
        "created_at": now.isoformat(),
        "base_url": base_url,
        "password": password,
        "holders": {holder_id: asdict(holder) for holder_id, holder in everyone.items()},
        "keys": [key.to_json(directory) for key in keys],
    }
    # index.json last: its presence marks a complete PKI.
    _write_atomically(directory / "index.json", json.dumps(index, ensure_ascii=False, indent=2).encode())
    return SandboxPKI(directory, root.certificate, ca, gost_ca, keys, password=password, base_url=base_url)


def _write_revocations(directory: Path, revocations: Iterable[Revocation]) -> None:
    data = {
        "revoked": [
            {"serial": format(r.serial, "x"), "revoked_at": r.revoked_at.isoformat(), "reason": r.reason.value}
            for r in revocations
        ]
    }
    _write_atomically(directory / "revocations.json", json.dumps(data, indent=2).encode())


def _read_revocations(path: Path) -> dict[int, Revocation]:
    data = json.loads(path.read_text())
    revocations = (
        Revocation(
            int(item["serial"], 16),
            _utc(datetime.fromisoformat(item["revoked_at"])),
            x509.ReasonFlags(item["reason"]),
        )
        for item in data["revoked"]
    )
    return {revocation.serial: revocation for revocation in revocations}


# --- the authority at work ---------------------------------------------------


class SandboxPKI:
    """A created sandbox PKI: its certificates, key files, CRL and OCSP responder."""

    def __init__(
        self,
        directory: Path,
        root: x509.Certificate,
        ca: _Authority,
        gost_ca: _Authority,
        keys: list[KeyFile],
        *,
        password: str,
        base_url: str,
    ) -> None:
        self.directory = Path(directory)
        self._root = root
        self._ca = ca
        self._gost_ca = gost_ca
        self._signing_keys: dict[Path, SigningKey] = {}
        self._keys = keys
        self._issued = {key.serial for key in keys}
        self._gost_issued = {key.serial for key in keys if key.algorithm == GOST}
        self.password = password
        self.base_url = base_url
        self._lock = threading.Lock()
        self._revocations: dict[int, Revocation] = {}
        self._revocations_stamp: tuple[int, int, int] | None = None

    @classmethod
    def load(cls, directory: Path) -> SandboxPKI:
        """Open a PKI made by `create()`; PKINotFound says how to make one."""
        directory = Path(directory)
        needed = ("index.json", "revocations.json", "root.crt", "ca.crt", "ca-key.pem", "gost-ca.crt", "gost-ca-key.pem")
        missing = [name for name in needed if not (directory / name).is_file()]
        if missing:
            raise PKINotFound(
                f"no sandbox PKI in {directory} (missing {', '.join(missing)}): create it with `{CREATE_COMMAND}`"
            )
        index = json.loads((directory / "index.json").read_text())
        root = x509.load_pem_x509_certificate((directory / "root.crt").read_bytes())
        ca_certificate = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        ca_key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), password=None)
        if not isinstance(ca_key, rsa.RSAPrivateKey):
            raise ValueError(f"{directory / 'ca-key.pem'} is not an RSA key")
        gost_ca = _Authority(
            x509.load_pem_x509_certificate((directory / "gost-ca.crt").read_bytes()),
            _load_gost_key_pem((directory / "gost-ca-key.pem").read_bytes()),
        )
        keys = [KeyFile.from_json(directory, item) for item in index["keys"]]
        return cls(
            directory,
            root,
            _Authority(ca_certificate, ca_key),
            gost_ca,
            keys,
            password=index["password"],
            base_url=index["base_url"],
        )

    # -- what it holds --

    @property
    def root(self) -> x509.Certificate:
        return self._root

    @property
    def intermediate(self) -> x509.Certificate:
        """The RSA issuing CA."""
        return self._ca.certificate

    @property
    def gost_ca(self) -> x509.Certificate:
        """The GOST issuing CA (self-signed)."""
        return self._gost_ca.certificate

    @property
    def bundle_path(self) -> Path:
        return self.directory / "ca-bundle.pem"

    def all_keys(self) -> list[KeyFile]:
        return list(self._keys)

    def keys(self, holder_id: str) -> list[KeyFile]:
        """Every key of one holder: an IIN, or a BIN for an organisation."""
        return [key for key in self._keys if key.holder == holder_id]

    def key_file(self, holder_id: str, kind: str = SIGN, variant: str = NORMAL) -> KeyFile | None:
        return next(
            (key for key in self._keys if (key.holder, key.kind, key.variant) == (holder_id, kind, variant)),
            None,
        )

    def issued(self, serial: int) -> bool:
        return serial in self._issued

    def signing_key(self, holder_id: str, kind: str = SIGN, variant: str = NORMAL) -> SigningKey:
        """A holder's key, opened once (opening costs tens of milliseconds); KeyError if there is none."""
        found = self.key_file(holder_id, kind, variant)
        if found is None:
            raise KeyError(f"the sandbox PKI has no {variant} {kind} key of {holder_id}")
        with self._lock:
            key = self._signing_keys.get(found.path)
        if key is None:
            key = SigningKey.from_pkcs12(found.path, self.password)
            with self._lock:
                self._signing_keys[found.path] = key
        return key

    def sign_xml(
        self,
        holder_id: str,
        document: bytes,
        kind: str = SIGN,
        *,
        variant: str = NORMAL,
        compact: bool = False,
        line_ending: str = "\n",
    ) -> bytes:
        """Sign an XML document with a holder's signing (or, kind=AUTH, authentication) key, whatever its
        algorithm (GOST 2015 or the legacy RSA), in NCALayer's shape: one element a line (`line_ending`
        "\r\n" as commonUtils.signXml sends it), or `compact` as basics.sign does.

        The one way tools and tests sign as a sandbox citizen or organisation.
        """
        key = self.signing_key(holder_id, kind, variant)
        return sign_enveloped(document, key, line_ending=line_ending, compact=compact)

    # -- revocation --

    def revocations(self) -> dict[int, Revocation]:
        """The revoked serials, re-read when another process changed the file."""
        with self._lock:
            return dict(self._current_revocations())

    def _current_revocations(self) -> dict[int, Revocation]:
        # Called with the lock held. The file is replaced, never edited: a new
        # inode or mtime means another process (a portal worker) revoked a key.
        path = self.directory / "revocations.json"
        status = path.stat()
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if stamp != self._revocations_stamp:
            self._revocations = _read_revocations(path)
            self._revocations_stamp = stamp
        return self._revocations

    def revoke(
        self, serial: int | str, at: datetime, reason: x509.ReasonFlags | str = x509.ReasonFlags.key_compromise
    ) -> Revocation:
        """Revoke a key we issued (serial as int or hex). Final: revoking again changes nothing."""
        number = int(serial, 16) if isinstance(serial, str) else serial
        if number not in self._issued:
            raise ValueError(f"serial {number:x} was not issued by this sandbox CA")
        with self._lock:  # read, add, write as one step for this process's threads
            revocations = dict(self._current_revocations())
            if number not in revocations:
                revocations[number] = Revocation(number, _utc(at), x509.ReasonFlags(reason))
                _write_revocations(self.directory, revocations.values())
            return revocations[number]

    def _revoked_by(self, now: datetime) -> dict[int, Revocation]:
        # A CA cannot know the future: revocations dated after `now` do not show yet.
        return {serial: r for serial, r in self.revocations().items() if r.revoked_at <= now}

    def crl(self, now: datetime) -> bytes:
        """A DER CRL signed by the RSA issuing CA, valid for a day from `now`."""
        return self._crl(self._ca, now)

    def gost_crl(self, now: datetime) -> bytes:
        """A DER CRL signed with GOST by the GOST CA, valid for a day from `now`."""
        return self._crl(self._gost_ca, now)

    def _crl(self, authority: _Authority, now: datetime) -> bytes:
        now = _utc(now)
        gost = authority is self._gost_ca
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.certificate.subject)
            .last_update(now)
            .next_update(now + CRL_LIFETIME)
            # The time as CRL number: increases with every CRL, no counter to store.
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(_aki(authority.certificate), critical=False)
        )
        for revocation in self._revoked_by(now).values():
            if (revocation.serial in self._gost_issued) != gost:
                continue  # the other CA's
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(revocation.serial)
                .revocation_date(revocation.revoked_at)
            )
            if revocation.reason != x509.ReasonFlags.unspecified:  # RFC 5280: omit rather than say unspecified
                entry = entry.add_extension(x509.CRLReason(revocation.reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        if gost:
            crl = gost_x509.sign_crl(builder, issuer_key=authority.key)
            return crl.public_bytes(serialization.Encoding.DER)
        return builder.sign(authority.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def fetch(self, url: str, body: bytes | None = None, now: datetime | None = None) -> bytes:
        """Answer this PKI's addresses (<base_url>/ocsp, /crl, /gost/crl) in-process; OSError otherwise."""
        moment = now or datetime.now(UTC)
        if url == f"{self.base_url}/ocsp" and body is not None:
            return self.ocsp_response(body, moment)
        if url == f"{self.base_url}/crl":
            return self.crl(moment)
        if url == f"{self.base_url}/gost/crl":
            return self.gost_crl(moment)
        raise OSError(f"the sandbox CA does not serve {url}")

    def ocsp_response(self, request_der: bytes, now: datetime) -> bytes:
        """Answer a DER OCSP request about a key of either CA; each CA signs its answers itself
        (the GOST CA with GOST)."""
        now = _utc(now)
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm
            ours = self._asks_about_us(request, algorithm)
            asked = gost_x509.CertId.from_request(request)
            about_gost = asked == gost_x509.CertId.of(request.serial_number, self.gost_ca, asked.hash_algorithm)
        except Exception:  # any unparsable request: cryptography raises several types
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        revocation = self._revoked_by(now).get(request.serial_number)
        if about_gost:
            return self._gost_ocsp_response(request, asked, revocation, now)
        if not ours or request.serial_number not in self._issued - self._gost_issued:
            status = ocsp.OCSPCertStatus.UNKNOWN
        elif revocation is not None:
            status = ocsp.OCSPCertStatus.REVOKED
        else:
            status = ocsp.OCSPCertStatus.GOOD
        revoked = status == ocsp.OCSPCertStatus.REVOKED and revocation is not None
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=algorithm,
                cert_status=status,
                this_update=now,
                next_update=now + OCSP_LIFETIME,
                revocation_time=revocation.revoked_at if revoked else None,
                revocation_reason=revocation.reason if revoked else None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.intermediate)
        )
        nonce = _nonce(request)
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        return builder.sign(self._ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def _asks_about_us(self, request: ocsp.OCSPRequest, algorithm: hashes.HashAlgorithm) -> bool:
        """Whether the request's CertID names our issuing CA (hashed with the request's algorithm)."""
        name = self.intermediate.subject.public_bytes()
        # RFC 6960 hashes the subjectPublicKey BIT STRING's value: for RSA, the PKCS#1 key.
        key = self.intermediate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
        asked = (request.issuer_name_hash, request.issuer_key_hash)
        return asked == (_digest(algorithm, name), _digest(algorithm, key))

    def _gost_ocsp_response(
        self, request: ocsp.OCSPRequest, asked: gost_x509.CertId, revocation: Revocation | None, now: datetime
    ) -> bytes:
        if request.serial_number not in self._gost_issued:
            status = "unknown"
        else:
            status = "revoked" if revocation is not None else "good"
        answer = gost_x509.OcspAnswer(
            asked,
            status,
            this_update=now,
            next_update=now + OCSP_LIFETIME,
            revoked_at=revocation.revoked_at if status == "revoked" and revocation else None,
        )
        authority = self._gost_ca
        assert isinstance(authority.key, GostPrivateKey)
        return gost_x509.build_ocsp_response(
            [answer],
            responder=authority.certificate,
            responder_key=authority.key,
            produced_at=now,
            nonce=_nonce(request),
            by_key=True,
        )


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(data)
    return digest.finalize()


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)
