"""Verifying a citizen's NCALayer-signed XML: who signed, what, with which key.

One entry point, :func:`verify`, returns a :class:`Verdict` or raises
:class:`Refused` with a reason code from :data:`REASONS` (the portal
translates by code; ``detail`` is English for logs only).

What is checked, cheapest first, so hostile input costs little:

1. the bytes: UTF-8, at most 2 MB and 10,000 elements (counted before lxml
   parses them; deeper nesting than libxml2 allows is "too large" too), no
   DOCTYPE/DTD/entity declaration (looked for before lxml sees the bytes),
   well-formed, no comment or processing
   instruction anywhere (the portal never issues any, and xmlsec1 and signxml
   disagree about comments under ``URI=""``: see :mod:`signing.xmldsig`);
2. the shape NCALayer produces: exactly one ``ds:Signature``, the root's last
   element child, one ``Reference URI=""``; inclusive C14N, transforms
   [enveloped, C14N (#WithComments)], and one algorithm pair: GOST 34.10-2015
   512 (or 256) with Streebog of the same size, or the legacy RSA-SHA256
   with SHA-256; the old GOST 34.310-2004 is recognised and refused
   (``legacy_gost``) before any cryptography; KeyInfo holds one X509Data
   with one X509Certificate (NCALayer sends no chain), and for RSA an
   optional KeyValue that must match it;
3. the certificate: its key of the signature's algorithm, not a CA's,
   chained to an anchor of the :class:`TrustStore` (RSA chains by
   ``cryptography.x509.verification`` with an extension policy national
   certificates pass, GOST chains by :func:`signing.gost_x509.chain` with the
   same policy), valid at the moment of verification;
4. the signature: RSA by signxml (pinned to ``location="./"``, one reference,
   RSA-SHA256/SHA-256), GOST by :func:`signing.xmldsig.verify_gost` (signxml
   has no GOST); the certificate already verified above;
5. the document: the canonical bytes of what was signed must equal the
   canonical bytes of what the portal issued (when ``issued`` is given);
6. the key: signing key or authentication key, individual or organisation,
   the expected IIN/BIN;
7. revocation (OCSP/CRL through a :class:`signing.revocation.RevocationChecker`).

Only ``Verdict.document`` (the canonical bytes of the signed data) may be
trusted: the input tree is thrown away. A replayed document verifies again:
the caller consumes ``Verdict.nonce`` once (in its database). No Flask here.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import verification as x509v
from cryptography.x509.oid import ExtensionOID
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, SignXMLException

from signing import gost_x509
from signing.certificates import (
    EKU_CLIENT_AUTH,
    EKU_EMAIL_PROTECTION,
    CertificateInfo,
    read_certificate,
)
from signing.gost import Curve, GostError
from signing.xmldsig import (
    C14N,
    C14N_WITH_COMMENTS,
    DS,
    ENVELOPED,
    GOST_METHODS,
    LEGACY_GOST,
    LEGACY_GOST_DIGEST,
    RSA_SHA256,
    SHA256,
    SignatureMismatch,
    safe_parser,
    verify_gost,
)

if TYPE_CHECKING:
    from signing.revocation import RevocationChecker, RevocationEvidence

MAX_BYTES = 2 * 1024 * 1024
# A portal document has a few hundred elements; 200,000 siblings fit in 2 MB.
MAX_ELEMENTS = 10_000
MIN_RSA_BITS = 2048

REASONS: dict[str, str] = {
    "malformed": "The document is not well-formed UTF-8 XML.",
    "too_large": "The document is larger than the portal reads: more than 2 MB or 10,000 elements, or nested too deep.",
    "doctype": "The document declares a DOCTYPE, a DTD or entities.",
    "comments": "The document contains a comment or a processing instruction.",
    "not_signed": "The document carries no XML signature.",
    "signature_location": (
        "The signature is not the single enveloped signature of the whole document "
        "(the root's last child, one reference to the whole document)."
    ),
    "signature_structure": "The signature element is not laid out as an XML signature.",
    "algorithm": (
        "The signature uses an algorithm other than inclusive C14N with GOST 34.10-2015 and Streebog, "
        "or RSA-SHA256 and SHA-256, or its key does not match its algorithm."
    ),
    "legacy_gost": (
        "The document was signed with an old GOST 34.310-2004 key, which is no longer accepted: "
        "get a new key from the National Certification Authority."
    ),
    "key_info": "The signature does not carry exactly one signer certificate.",
    "key_value_mismatch": "The public key in the signature does not match its certificate.",
    "signature_invalid": "The signature does not match the document.",
    "document_mismatch": "The signed document differs from the one the portal issued.",
    "ca_certificate": "The document was signed with a certification authority's certificate.",
    "untrusted": "The signer's certificate was not issued by a trusted certification authority.",
    "expired": "The signer's certificate has expired.",
    "not_yet_valid": "The signer's certificate is not valid yet.",
    "revoked": "The signer's certificate has been revoked.",
    "revocation_unavailable": "The revocation status of the signer's certificate could not be checked.",
    "wrong_key_type": "The key is not meant for this: a signing key signs, an authentication key logs in.",
    "not_individual": "The key belongs to an organisation, not to an individual.",
    "not_organisation": "The key is not an organisation's key.",
    "another_person": "The key belongs to someone else.",
}


class Refused(Exception):
    """The signed document is refused; ``reason`` is a code from :data:`REASONS`.

    verify() raises only the codes in REASONS (a test holds it to that); the
    portal may raise its own codes with this class too (for example when it
    finds a nonce already consumed).
    """

    def __init__(self, reason: str, detail: str = ""):
        detail = detail or REASONS.get(reason, reason)
        super().__init__(reason, detail)  # args as given: the exception pickles (task queues)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class Purpose(enum.Enum):
    """A signing key signs; an authentication key logs in."""

    SIGN = "sign"
    LOG_IN = "log_in"


class HolderType(enum.Enum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


@dataclass(frozen=True)
class Signer:
    iin: str | None
    bin: str | None
    name: str
    roles: tuple[str, ...]
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...]
    serial: str  # hex, upper case
    issuer: str  # RFC 4514
    subject: str  # RFC 4514
    not_before: datetime
    not_after: datetime
    signed_at: datetime  # the moment of verification: NCALayer's XML carries no signing time
    certificate: bytes  # DER


@dataclass(frozen=True)
class Verdict:
    signer: Signer
    document: bytes  # canonical bytes of what was signed, signature removed: the ONLY thing to trust
    nonce: str | None  # text of the signed root's child element named "nonce", if any
    revocation: RevocationEvidence | None


# --------------------------------------------------------------------------
# Trust anchors


def _ca_basic_constraints(policy, certificate, value) -> None:
    if not value.ca:
        raise ValueError("an issuing certificate is not a CA (basicConstraints CA:FALSE)")


def _ca_key_usage(policy, certificate, value) -> None:
    if value is not None and not value.key_cert_sign:
        raise ValueError("an issuing certificate's keyUsage lacks keyCertSign")


# National certificates carry private, non-critical extensions (1.2.398.3.3.5)
# and no SAN; the WebPKI defaults would refuse them. The key's purpose
# (digitalSignature, nonRepudiation, EKU) is checked by verify() itself, per
# Purpose, so that a wrong key gets its own reason (wrong_key_type), not
# "untrusted"; unknown critical extensions are refused there too.
_EE_POLICY = x509v.ExtensionPolicy.permit_all()
_CA_POLICY = (
    x509v.ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, x509v.Criticality.AGNOSTIC, _ca_basic_constraints)
    .may_be_present(x509.KeyUsage, x509v.Criticality.AGNOSTIC, _ca_key_usage)
)
# Extensions a certificate may mark critical; any other critical one is refused (RFC 5280 4.2).
_KNOWN_CRITICAL = {
    ExtensionOID.KEY_USAGE,
    ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.NAME_CONSTRAINTS,
    ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.INHIBIT_ANY_POLICY,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
    ExtensionOID.FRESHEST_CRL,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
}


def _load_certificates(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


class TrustStore:
    """Trust anchors: CA certificates (a root and/or an intermediate).

    Every certificate given is an anchor, RSA or GOST: an intermediate alone
    is enough (the national TEST CA files are intermediates), and NCALayer
    sends no chain, so the signer's issuing CA must be here. A signer's own
    certificate given here is trusted as itself (pinned): useful only for
    interop checks.
    Build one per configuration and keep it: the verification store is built
    once. An empty store is allowed and trusts nobody.
    """

    def __init__(self, certificates: Iterable[x509.Certificate]):
        self.certificates: tuple[x509.Certificate, ...] = tuple(certificates)
        # An empty store is allowed (a sandbox whose CA is not made yet): it trusts nobody.
        self._store = x509v.Store(list(self.certificates)) if self.certificates else None
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for certificate in self.certificates:
            self._by_subject.setdefault(certificate.subject.public_bytes(), []).append(certificate)

    @classmethod
    def from_pem_files(cls, *paths: str | Path) -> "TrustStore":
        """Anchors from PEM files (several certificates per file allowed; DER accepted too)."""
        certificates: list[x509.Certificate] = []
        for path in paths:
            certificates.extend(_load_certificates(Path(path).read_bytes()))
        return cls(certificates)

    @classmethod
    def from_certificates(cls, certificates: Iterable[x509.Certificate | bytes]) -> "TrustStore":
        """Anchors from certificate objects, or DER/PEM bytes."""
        loaded: list[x509.Certificate] = []
        for certificate in certificates:
            if isinstance(certificate, x509.Certificate):
                loaded.append(certificate)
            else:
                loaded.extend(_load_certificates(bytes(certificate)))
        return cls(loaded)

    def issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        """The anchor whose key signed this certificate, or None."""
        for candidate in self._by_subject.get(certificate.issuer.public_bytes(), ()):
            if gost_x509.issued_by(certificate, candidate):
                return candidate
        return None

    def chain(self, certificate: x509.Certificate, at: datetime) -> list[x509.Certificate]:
        """The verified chain [signer, ..., anchor] at the given moment; Refused otherwise."""
        if self._store is None:
            raise Refused("untrusted", "the trust store is empty")
        if gost_x509.is_gost_signed(certificate):
            # cryptography's verifier has no GOST: the same policy, by hand.
            try:
                return gost_x509.chain(certificate, self._by_subject, self.certificates, at, _KNOWN_CRITICAL)
            except gost_x509.ChainError as error:
                raise Refused(error.reason, error.detail) from None
        verifier = (
            x509v.PolicyBuilder()
            .store(self._store)
            .time(at)
            .extension_policies(ee_policy=_EE_POLICY, ca_policy=_CA_POLICY)
            .build_client_verifier()
        )
        try:
            return list(verifier.verify(certificate, []).chain)
        except x509v.VerificationError as error:
            issuer = self.issuer_of(certificate)
            if issuer is None and certificate not in self.certificates:
                raise Refused("untrusted", f"no trust anchor issued the signer's certificate: {error}") from None
            for cert, whose in ((certificate, "the signer's"), (issuer, "the issuing CA's")):
                if cert is None:
                    continue
                if at < cert.not_valid_before_utc:
                    raise Refused("not_yet_valid", f"{whose} certificate is valid from {cert.not_valid_before_utc}")
                if at > cert.not_valid_after_utc:
                    raise Refused("expired", f"{whose} certificate expired on {cert.not_valid_after_utc}")
            raise Refused("untrusted", f"the certificate chain does not verify: {error}") from None


# --------------------------------------------------------------------------
# The document


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


_SIGNATURE = _ds("Signature")
_SIGNED_INFO = _ds("SignedInfo")
_SIGNATURE_VALUE = _ds("SignatureValue")
_KEY_INFO = _ds("KeyInfo")
_REFERENCE = _ds("Reference")
_TRANSFORMS = _ds("Transforms")
_DIGEST_METHOD = _ds("DigestMethod")
_DIGEST_VALUE = _ds("DigestValue")
_X509_DATA = _ds("X509Data")
_X509_CERTIFICATE = _ds("X509Certificate")
_KEY_VALUE = _ds("KeyValue")

_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_LEGACY_GOST_URIS = frozenset({LEGACY_GOST, LEGACY_GOST_DIGEST})
# SignatureMethod -> (DigestMethod, GOST curve, or None for RSA).
_SUITES: dict[str, tuple[str, Curve | None]] = {RSA_SHA256: (SHA256, None), **GOST_METHODS}


def _parse(data: bytes) -> etree._Element:
    """Checks on the bytes, then a safe parse; the root element."""
    if len(data) > MAX_BYTES:
        raise Refused("too_large", f"the document is {len(data)} bytes, more than {MAX_BYTES}")
    _refuse_too_many_elements(data)
    if not data.strip():
        raise Refused("malformed", "the document is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refused("malformed", f"the document is not UTF-8: {error}") from None
    declared = _DECLARATION.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Refused("malformed", f"the document declares encoding {declared.group(1)!r}, not UTF-8")
    # Before lxml sees it: no entity is ever declared, so none can expand.
    if _DTD.search(data):
        raise Refused("doctype", "the document declares a DOCTYPE, DTD or entity")
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as error:
        if error.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
            raise Refused("too_large", f"beyond libxml2's limits: {error}") from None
        raise Refused("malformed", f"not well-formed XML: {error}") from None
    except ValueError as error:
        raise Refused("malformed", f"not well-formed XML: {error}") from None
    if root is None:
        raise Refused("malformed", "no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise Refused("doctype", "the document has a DOCTYPE")
    for node in root.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity):
        _refuse_node(node)
    for node in (*root.itersiblings(preceding=True), *root.itersiblings()):
        _refuse_node(node)
    return root


def _refuse_too_many_elements(data: bytes) -> None:
    """At most MAX_ELEMENTS start tags, counted on the bytes before any parsing.

    Every element has a start tag, a "<" not followed by "/", "!" or "?"; a "<"
    in text must be escaped, so the count is exact but for CDATA sections and
    comments, which only make it larger (and are refused anyway).
    """
    tags = data.count(b"<") - data.count(b"</") - data.count(b"<!") - data.count(b"<?")
    if tags > MAX_ELEMENTS:
        raise Refused("too_large", f"about {tags} elements, more than {MAX_ELEMENTS}")


def _refuse_node(node) -> None:
    if isinstance(node, etree._Entity):
        raise Refused("doctype", f"an entity reference {node!r}")
    if isinstance(node, etree._ProcessingInstruction):
        raise Refused("comments", f"a processing instruction <?{node.target} ...?> at line {node.sourceline}")
    raise Refused("comments", f"a comment at line {node.sourceline}")


def _children(element: etree._Element) -> list[etree._Element]:
    # Comments and processing instructions are refused before, so every child is an element.
    return list(element)


def _signature(root: etree._Element) -> etree._Element:
    signatures = list(root.iter(_SIGNATURE))
    if not signatures:
        raise Refused("not_signed", "no ds:Signature element")
    if len(signatures) > 1:
        raise Refused("signature_location", f"{len(signatures)} ds:Signature elements")
    signature = signatures[0]
    if signature is root:
        raise Refused("signature_location", "an enveloping signature (ds:Signature is the root)")
    if signature.getparent() is not root or root[-1] is not signature:
        raise Refused("signature_location", "ds:Signature is not the last child of the root element")
    # The old GOST is recognised before anything else is asked of the signature.
    for element in signature.iter():
        algorithm = element.get("Algorithm")
        if algorithm in _LEGACY_GOST_URIS:
            raise Refused("legacy_gost", f"GOST 34.310-2004 algorithm {algorithm}")
    return signature


def _algorithm(element: etree._Element, allowed: tuple[str, ...], what: str) -> None:
    algorithm = element.get("Algorithm")
    if algorithm not in allowed:
        raise Refused("algorithm", f"{what} {algorithm!r} is not {' or '.join(allowed)}")
    if len(element):
        raise Refused("algorithm", f"{what} has parameters")


def _check_shape(signature: etree._Element) -> tuple[etree._Element, Curve | None]:
    """The signature's layout and algorithms; returns ds:KeyInfo and the GOST curve (None for RSA)."""
    tags = [child.tag for child in signature]
    if tags[:2] != [_SIGNED_INFO, _SIGNATURE_VALUE]:
        raise Refused("signature_structure", "ds:Signature does not start with SignedInfo, SignatureValue")
    if tags[2:] == []:
        raise Refused("key_info", "no ds:KeyInfo")
    if tags[2:] != [_KEY_INFO]:
        raise Refused("signature_structure", "ds:Signature holds more than SignedInfo, SignatureValue, KeyInfo")
    signed_info = signature[0]
    parts = _children(signed_info)
    if len(parts) < 2 or parts[0].tag != _ds("CanonicalizationMethod") or parts[1].tag != _ds("SignatureMethod"):
        raise Refused("signature_structure", "SignedInfo does not start with CanonicalizationMethod, SignatureMethod")
    references = parts[2:]
    if any(reference.tag != _REFERENCE for reference in references):
        raise Refused("signature_structure", "SignedInfo holds something other than References")
    if len(references) != 1:
        raise Refused("signature_location", f"{len(references)} References, not one")
    reference = references[0]
    if reference.get("URI") != "":
        raise Refused("signature_location", f"Reference URI={reference.get('URI')!r}, not the whole document")
    _algorithm(parts[0], (C14N,), "CanonicalizationMethod")
    _algorithm(parts[1], tuple(_SUITES), "SignatureMethod")
    digest_method, curve = _SUITES[parts[1].get("Algorithm")]
    reference_tags = [child.tag for child in reference]
    if reference_tags != [_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE]:
        if reference_tags == [_DIGEST_METHOD, _DIGEST_VALUE]:
            raise Refused("algorithm", "the Reference has no Transforms")
        raise Refused("signature_structure", "Reference is not Transforms, DigestMethod, DigestValue")
    transforms = _children(reference[0])
    if len(transforms) != 2 or any(t.tag != _ds("Transform") for t in transforms):
        raise Refused("algorithm", "Transforms are not [enveloped-signature, C14N]")
    _algorithm(transforms[0], (ENVELOPED,), "the first Transform")
    _algorithm(transforms[1], (C14N, C14N_WITH_COMMENTS), "the second Transform")
    _algorithm(reference[1], (digest_method,), "DigestMethod")
    return signature[2], curve


def _certificate(key_info: etree._Element, curve: Curve | None) -> x509.Certificate:
    """The one signer certificate in KeyInfo, its key of the signature's algorithm (an RSA KeyValue must match)."""
    x509_data = [child for child in key_info if child.tag == _X509_DATA]
    key_values = [child for child in key_info if child.tag == _KEY_VALUE]
    if len(x509_data) != 1 or len(key_values) > 1 or len(key_info) != len(x509_data) + len(key_values):
        raise Refused("key_info", "KeyInfo must hold exactly one X509Data (and at most one KeyValue)")
    data = x509_data[0]
    if len(data) != 1 or data[0].tag != _X509_CERTIFICATE:
        raise Refused("key_info", "X509Data must hold exactly one X509Certificate and nothing else")
    text = _WHITESPACE.sub("", "".join(data[0].itertext()))
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as error:
        raise Refused("key_info", f"X509Certificate is not a certificate: {error}") from None

    if gost_x509.has_legacy_gost_key(certificate):
        algorithm = gost_x509.key_algorithm(certificate)
        raise Refused("legacy_gost", f"the certificate holds a GOST 34.310-2004 key ({algorithm})")
    if curve is not None:
        _gost_key(certificate, curve, bool(key_values))
        return certificate
    try:
        public_key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError) as error:
        raise Refused("algorithm", f"the certificate's key cannot be used: {error}") from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise Refused("algorithm", f"the certificate holds a {type(public_key).__name__}, not an RSA key")
    if public_key.key_size < MIN_RSA_BITS:
        raise Refused("algorithm", f"an RSA key of {public_key.key_size} bits")

    if key_values:
        numbers = public_key.public_numbers()
        try:
            (rsa_value,) = key_values[0]
            if rsa_value.tag != _ds("RSAKeyValue"):
                raise ValueError("not an RSAKeyValue")
            fields = {child.tag: _WHITESPACE.sub("", "".join(child.itertext())) for child in rsa_value}
            modulus = int.from_bytes(base64.b64decode(fields[_ds("Modulus")], validate=True), "big")
            exponent = int.from_bytes(base64.b64decode(fields[_ds("Exponent")], validate=True), "big")
        except (ValueError, KeyError, binascii.Error) as error:
            raise Refused("key_value_mismatch", f"KeyValue is not the certificate's RSA key: {error}") from None
        if (modulus, exponent) != (numbers.n, numbers.e):
            raise Refused("key_value_mismatch", "KeyValue holds another key than the certificate")
    return certificate


def _gost_key(certificate: x509.Certificate, curve: Curve, key_value: bool) -> None:
    """The certificate must hold a GOST 34.10-2015 key on the signature's curve."""
    if key_value:
        raise Refused("key_info", "a KeyValue next to a GOST certificate (NCALayer sends none)")
    try:
        key = gost_x509.public_key_of(certificate)
    except GostError as error:
        raise Refused("algorithm", f"the certificate's key does not sign {curve.name}: {error}") from None
    if key.curve is not curve:
        raise Refused("algorithm", f"the certificate's key is on {key.curve.name}, the signature on {curve.name}")


def canonicalize(xml: bytes | str | etree._Element) -> bytes:
    """Canonical bytes of a document's root element: inclusive C14N 1.0 without comments.

    The same form as ``Verdict.document``: compare them byte for byte.
    """
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if isinstance(xml, (bytes, bytearray)):
        try:
            xml = etree.fromstring(bytes(xml), safe_parser())
        except etree.XMLSyntaxError as error:
            raise ValueError(f"the issued document is not well-formed: {error}") from None
    return etree.tostring(xml, method="c14n", exclusive=False, with_comments=False)


# --------------------------------------------------------------------------
# The signature, the key, the holder

_SIGNXML_CONFIG = dict(
    require_x509=True,
    location="./",
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    ignore_ambiguous_key_info=False,
)


def _verify_signature(data: bytes, certificate: x509.Certificate, at: datetime):
    config = SignatureConfiguration(verification_time=at, **_SIGNXML_CONFIG)
    try:
        return XMLVerifier().verify(data, x509_cert=certificate, parser=safe_parser(), expect_config=config)
    except InvalidDigest as error:
        raise Refused("signature_invalid", f"the document's digest does not match: {error}") from None
    except etree.DocumentInvalid as error:
        raise Refused("signature_structure", f"ds:Signature is not valid against the schema: {error}") from None
    except (SignXMLException, InvalidSignature, ValueError, TypeError, binascii.Error) as error:
        raise Refused("signature_invalid", f"{type(error).__name__}: {error}") from None


def _verify_gost_signature(root: etree._Element, certificate: x509.Certificate) -> tuple[bytes, etree._Element]:
    """The GOST counterpart of _verify_signature: (canonical signed document, signed root)."""
    try:
        document = verify_gost(root, gost_x509.public_key_of(certificate))
    except SignatureMismatch as error:
        raise Refused("signature_invalid", str(error)) from None
    return document, root  # the root now is exactly what was signed: its canonical bytes are `document`


def _check_key(info: CertificateInfo, purpose: Purpose) -> None:
    if "digitalSignature" not in info.key_usage:
        raise Refused("wrong_key_type", "keyUsage lacks digitalSignature")
    if purpose is Purpose.SIGN:
        if "nonRepudiation" not in info.key_usage or EKU_EMAIL_PROTECTION not in info.extended_key_usage:
            raise Refused("wrong_key_type", "not a signing key (needs nonRepudiation and emailProtection)")
    elif EKU_CLIENT_AUTH not in info.extended_key_usage:
        raise Refused("wrong_key_type", "not an authentication key (needs clientAuth)")


def _check_holder(
    info: CertificateInfo, holder: HolderType, expected_iin: str | None, expected_bin: str | None
) -> None:
    if holder is HolderType.INDIVIDUAL:
        if not info.is_individual or info.is_organisation or info.bin is not None:
            raise Refused("not_individual", f"roles {info.roles}, BIN {info.bin}")
    elif not info.is_organisation or info.bin is None:
        raise Refused("not_organisation", f"roles {info.roles}, BIN {info.bin}")
    if expected_iin is not None and info.iin != expected_iin:
        raise Refused("another_person", f"the certificate's IIN is {info.iin}, not {expected_iin}")
    if expected_bin is not None and info.bin != expected_bin:
        raise Refused("another_person", f"the certificate's BIN is {info.bin}, not {expected_bin}")


def _check_critical_extensions(certificate: x509.Certificate) -> None:
    for extension in certificate.extensions:
        if extension.critical and extension.oid not in _KNOWN_CRITICAL:
            raise Refused("untrusted", f"unrecognised critical extension {extension.oid.dotted_string}")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def verify(
    signed_xml: bytes,
    *,
    trust: TrustStore,
    purpose: Purpose = Purpose.SIGN,
    holder: HolderType = HolderType.INDIVIDUAL,
    issued: bytes | None = None,
    expected_iin: str | None = None,
    expected_bin: str | None = None,
    as_of: datetime | None = None,
    revocation: RevocationChecker | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Verify an NCALayer-signed XML document; a Verdict, or Refused with a reason code.

    - ``trust``: the CA certificates the signer's certificate must chain to.
    - ``purpose``: SIGN needs a signing key (nonRepudiation, emailProtection),
      LOG_IN an authentication key (clientAuth).
    - ``holder``: an individual's key (role 1.2.398.3.3.4.1.1) or an
      organisation's (1.2.398.3.3.4.1.2 with OU=BIN); an organisation
      employee's key never passes as an individual's.
    - ``issued``: the XML the portal gave to be signed; what was signed must
      be canonically identical (``document_mismatch`` otherwise).
    - ``expected_iin`` / ``expected_bin``: whose key it must be.
    - ``as_of``: verify as of that moment (archived documents): certificate
      validity (the whole chain), signxml's verification time and the
      revocation check's ``at``, whose CRL and OCSP answers must be fresh as
      of that moment, not today; a certificate revoked after ``as_of``
      passes. ``now`` is the current time (defaults to the clock), used when
      ``as_of`` is not given.
    - ``revocation``: the OCSP/CRL checker. With ``None`` revocation is NOT
      checked: callers opt out only for archived or interoperability checks,
      never for a live login or submission.

    Only ``Verdict.document`` is trustworthy. The caller must consume
    ``Verdict.nonce`` once: verify() accepts a replayed document.
    """
    if isinstance(signed_xml, str):
        signed_xml = signed_xml.encode("utf-8")
    if not isinstance(signed_xml, (bytes, bytearray, memoryview)):
        raise Refused("malformed", f"expected bytes, got {type(signed_xml).__name__}")
    data = bytes(signed_xml)
    moment = _utc(as_of or now or datetime.now(timezone.utc))

    root = _parse(data)
    signature = _signature(root)
    key_info, curve = _check_shape(signature)
    certificate = _certificate(key_info, curve)
    info = read_certificate(certificate)
    if info.is_ca:
        raise Refused("ca_certificate", f"the signer's certificate is a CA's: {info.subject}")
    _check_critical_extensions(certificate)
    chain = trust.chain(certificate, moment)

    if curve is None:
        result = _verify_signature(data, certificate, moment)
        document, signed_root = result.signed_data, result.signed_xml
    else:
        document, signed_root = _verify_gost_signature(root, certificate)
    if issued is not None and canonicalize(issued) != document:
        raise Refused("document_mismatch", "the signed document is not the one issued")

    _check_key(info, purpose)
    _check_holder(info, holder, expected_iin, expected_bin)

    evidence = None
    if revocation is not None:
        evidence = _check_revocation(revocation, certificate, chain, trust, as_of, moment)

    nonce = None
    if signed_root is not None:
        for child in signed_root:
            if isinstance(child.tag, str) and etree.QName(child).localname == "nonce":
                nonce = "".join(child.itertext()).strip()
                break

    signer = Signer(
        iin=info.iin,
        bin=info.bin,
        name=info.name,
        roles=info.roles,
        key_usage=info.key_usage,
        extended_key_usage=info.extended_key_usage,
        serial=info.serial,
        issuer=info.issuer,
        subject=info.subject,
        not_before=info.not_before,
        not_after=info.not_after,
        signed_at=moment,
        certificate=info.certificate,
    )
    return Verdict(signer=signer, document=document, nonce=nonce, revocation=evidence)


def signer_certificate(signed_xml: bytes) -> x509.Certificate | None:
    """The signer's certificate a signed document carries, or None when it carries no usable one.

    For explaining a refusal (whose CA issued it); it proves nothing by itself.
    """
    try:
        return _certificate(*_check_shape(_signature(_parse(bytes(signed_xml)))))
    except Refused:
        return None


def _check_revocation(checker, certificate, chain, trust, as_of, moment):
    from signing.revocation import RevocationUnavailable

    issuer = chain[1] if len(chain) > 1 else trust.issuer_of(certificate)
    if issuer is None:
        raise Refused("revocation_unavailable", "the signer's certificate is pinned: no issuer to ask")
    try:
        evidence = checker.check(certificate, issuer, at=as_of)
    except RevocationUnavailable as error:
        raise Refused("revocation_unavailable", str(error) or "no revocation source answered") from None
    if evidence.status == "good":
        return evidence
    if evidence.status == "revoked":
        revoked_at = evidence.revoked_at
        if revoked_at is not None and _utc(revoked_at) > moment:
            return evidence  # revoked after the moment verified: the signature stands
        raise Refused("revoked", f"revoked at {revoked_at} ({evidence.method})")
    raise Refused("revocation_unavailable", f"revocation status {evidence.status!r}")
