"""Reading a Kazakh national (or sandbox) certificate: who holds it, what it is for.

The national certification authority (NCA, pki.gov.kz) writes the holder's
identity into the subject and the holder's role into the extended key usage:

- ``SERIALNUMBER=IIN123456789012``: the holder's individual identification
  number; an organisation's certificate adds ``O=<name>`` and
  ``OU=BIN123456789012`` (the business identification number).
- ``CN=SURNAME NAME``, ``SURNAME=``, ``GIVENNAME=<patronymic>`` (sic: the NCA
  puts the patronymic in GIVENNAME), optionally ``E=``/emailAddress.
- The extended key usage holds, next to ``emailProtection`` (signing keys) or
  ``clientAuth`` (authentication keys), a role OID: ``1.2.398.3.3.4.1.1`` an
  individual, ``1.2.398.3.3.4.1.2`` an organisation, and below it the
  employee's rights (``.1`` head, ``.2`` right to sign, ...).

Identifiers are read, never validated here: the NCA's genuine test
certificates carry IIN ``123456789011``, whose check digit is wrong, and they
must still be read (the portal decides what to accept). No Flask here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Role OIDs (carried in the extended key usage).
ROLE_INDIVIDUAL = "1.2.398.3.3.4.1.1"
ROLE_ORGANISATION = "1.2.398.3.3.4.1.2"
ROLE_HEAD = ROLE_ORGANISATION + ".1"
ROLE_RIGHT_TO_SIGN = ROLE_ORGANISATION + ".2"
ROLE_PREFIX = "1.2.398.3.3.4."
ROLE_NAMES: dict[str, str] = {
    ROLE_INDIVIDUAL: "individual",
    ROLE_ORGANISATION: "organisation",
    ROLE_ORGANISATION + ".1": "head of the organisation",
    ROLE_ORGANISATION + ".2": "right to sign",
    ROLE_ORGANISATION + ".3": "right to sign financial documents",
    ROLE_ORGANISATION + ".4": "HR officer",
    ROLE_ORGANISATION + ".5": "employee",
}

EKU_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string  # 1.3.6.1.5.5.7.3.2
EKU_EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string  # 1.3.6.1.5.5.7.3.4

# RFC 5280 names of the keyUsage bits, in the order of the bit string.
KEY_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
    ("encipher_only", "encipherOnly"),
    ("decipher_only", "decipherOnly"),
)

# Readable names for the subject attributes NCALayer shows (RFC 4514 only
# names CN, L, ST, O, OU, C, STREET, DC and UID; the rest would be dotted).
NAME_OVERRIDES = {
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.SURNAME: "SURNAME",
    NameOID.GIVEN_NAME: "GIVENNAME",
    NameOID.EMAIL_ADDRESS: "E",
}

_IIN = re.compile(r"^IIN(\d{12})$")
_BIN = re.compile(r"^BIN(\d{12})$")


def _attributes(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    values = []
    for attribute in name.get_attributes_for_oid(oid):
        value = attribute.value
        values.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return values


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = _attributes(name, oid)
    return values[0] if values else None


def name_string(name: x509.Name) -> str:
    """RFC 4514 text of a name, with NCALayer's names for SERIALNUMBER and friends."""
    return name.rfc4514_string(NAME_OVERRIDES)


def serial_hex(certificate: x509.Certificate) -> str:
    """The serial number in upper-case hexadecimal, as NCALayer and the CRL show it."""
    return format(certificate.serial_number, "X")


def key_usage_names(certificate: x509.Certificate) -> tuple[str, ...]:
    """The keyUsage bits that are set, by their RFC 5280 names; () without the extension."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    names = []
    for attribute, name in KEY_USAGE_NAMES:
        if attribute in ("encipher_only", "decipher_only") and not usage.key_agreement:
            continue  # cryptography raises for these unless keyAgreement is set
        if getattr(usage, attribute):
            names.append(name)
    return tuple(names)


def extended_key_usage(certificate: x509.Certificate) -> tuple[str, ...]:
    """Dotted OIDs of the extended key usage (purposes and role OIDs); () without it."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(oid.dotted_string for oid in usage)


def is_ca(certificate: x509.Certificate) -> bool:
    """True for a certification authority's certificate (CA:TRUE or keyCertSign)."""
    try:
        if certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return True
    except x509.ExtensionNotFound:
        pass
    return "keyCertSign" in key_usage_names(certificate)


@dataclass(frozen=True)
class CertificateInfo:
    """What a Kazakh certificate says about its holder and its purpose."""

    iin: str | None
    bin: str | None
    name: str  # the CN: "SURNAME NAME"
    surname: str | None
    given_name: str | None  # the NCA's GIVENNAME: the patronymic
    organisation: str | None
    email: str | None
    roles: tuple[str, ...]  # role OIDs found in the extended key usage
    key_usage: tuple[str, ...]  # RFC 5280 names: digitalSignature, nonRepudiation, ...
    extended_key_usage: tuple[str, ...]  # dotted OIDs
    serial: str  # hex, upper case
    issuer: str  # RFC 4514
    subject: str  # RFC 4514
    not_before: datetime  # aware, UTC
    not_after: datetime  # aware, UTC
    is_ca: bool
    certificate: bytes  # DER

    @property
    def is_individual(self) -> bool:
        return ROLE_INDIVIDUAL in self.roles

    @property
    def is_organisation(self) -> bool:
        return ROLE_ORGANISATION in self.roles


def read_certificate(certificate: x509.Certificate | bytes) -> CertificateInfo:
    """Read a certificate (a cryptography object, or DER or PEM bytes)."""
    if isinstance(certificate, (bytes, bytearray)):
        data = bytes(certificate)
        if data.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
    return _read(certificate)


@lru_cache(maxsize=1024)
def _read(certificate: x509.Certificate) -> CertificateInfo:
    # Cached: the same citizens' certificates come back again and again, and
    # reading names costs more than verifying a signature. Certificates hash
    # and compare by their DER; CertificateInfo is immutable.
    subject = certificate.subject

    iin = bin_ = None
    for value in _attributes(subject, NameOID.SERIAL_NUMBER):
        value = value.strip()
        if match := _IIN.match(value):
            iin = iin or match.group(1)
        elif match := _BIN.match(value):
            bin_ = bin_ or match.group(1)
    for value in _attributes(subject, NameOID.ORGANIZATIONAL_UNIT_NAME):
        if match := _BIN.match(value.strip()):
            bin_ = bin_ or match.group(1)

    eku = extended_key_usage(certificate)
    return CertificateInfo(
        iin=iin,
        bin=bin_,
        name=_first(subject, NameOID.COMMON_NAME) or "",
        surname=_first(subject, NameOID.SURNAME),
        given_name=_first(subject, NameOID.GIVEN_NAME),
        organisation=_first(subject, NameOID.ORGANIZATION_NAME),
        email=_first(subject, NameOID.EMAIL_ADDRESS),
        roles=tuple(oid for oid in eku if oid.startswith(ROLE_PREFIX)),
        key_usage=key_usage_names(certificate),
        extended_key_usage=eku,
        serial=serial_hex(certificate),
        issuer=name_string(certificate.issuer),
        subject=name_string(subject),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        is_ca=is_ca(certificate),
        certificate=certificate.public_bytes(serialization.Encoding.DER),
    )
