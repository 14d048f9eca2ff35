"""Enveloped XML signatures in the exact shape NCALayer produces, RSA and GOST.

Written by hand on lxml and cryptography because signxml cannot emit this
shape: NCALayer canonicalises SignedInfo without comments but signs the
document with the `#WithComments` transform, and lays the Signature out one
element per line. Both the sandbox signing agent and the portal's own
signatures use this module, so everything we sign verifies the same way a
citizen's NCALayer signature does (and, for RSA, with xmlsec1).

GOST 34.10-2015 keys (:mod:`signing.gost`) sign with the national CA's
algorithm URIs. signxml cannot verify them either, so :func:`verify_gost`
is the GOST counterpart of signxml's check (hand-written glue over lxml's
C14N and signing.gost): the digest of the enveloped document and the
signature over the canonical SignedInfo.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from signing import gost_pkcs12
from signing.gost import CURVE_256, CURVE_512, Curve, GostPrivateKey, GostPublicKey, streebog

DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS = C14N + "#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_PKIGOVKZ = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:"
GOST_512 = _PKIGOVKZ + "gostr34102015-gostr34112015-512"
STREEBOG_512 = _PKIGOVKZ + "gostr34112015-512"
GOST_256 = _PKIGOVKZ + "gostr34102015-gostr34112015-256"
STREEBOG_256 = _PKIGOVKZ + "gostr34112015-256"
# SignatureMethod -> (DigestMethod, curve) of GOST 34.10-2015.
GOST_METHODS: dict[str, tuple[str, Curve]] = {GOST_512: (STREEBOG_512, CURVE_512), GOST_256: (STREEBOG_256, CURVE_256)}
# The legacy GOST 34.310-2004 pair: recognised, not accepted.
LEGACY_GOST = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
LEGACY_GOST_DIGEST = "http://www.w3.org/2001/04/xmldsig-more#gost34311"
PROLOG = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'


class BadDocument(ValueError):
    """The XML to sign is not well-formed, or is not something we sign."""


@dataclass(frozen=True)
class SigningKey:
    """A private key with its certificate, loaded once (parsing costs tens of ms)."""

    private_key: rsa.RSAPrivateKey | GostPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pkcs12(cls, data: bytes | Path | str, password: str) -> "SigningKey":
        """Open a PKCS#12 key container (a national-style .p12 file): RSA, or GOST 34.10-2015."""
        if not isinstance(data, bytes):
            data = Path(data).read_bytes()
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, password.encode())
        except ValueError as error:
            # cryptography loads no GOST key: a GOST container is read by signing.gost_pkcs12.
            try:
                gost_key, gost_certificate = gost_pkcs12.read(data, password)
            except gost_pkcs12.NotGost:
                raise error from None
            return cls(gost_key, gost_certificate)
        if not isinstance(key, rsa.RSAPrivateKey) or certificate is None:
            raise BadDocument("the key container holds no RSA or GOST key with a certificate")
        return cls(key, certificate, tuple(chain or ()))

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def safe_parser() -> etree.XMLParser:
    """A parser that resolves no entities, loads no DTD and touches no network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )


def parse(data: bytes) -> etree._ElementTree:
    """Parse XML bytes safely; BadDocument when they are not well-formed."""
    try:
        return etree.fromstring(data, safe_parser()).getroottree()
    except (etree.XMLSyntaxError, ValueError) as error:
        raise BadDocument(f"not well-formed XML: {error}") from None


def wrap76(data: bytes, line_ending: str) -> str:
    """Base64 in 76-column lines, as Java's MIME encoder (and so NCALayer) writes it."""
    text = base64.b64encode(data).decode("ascii")
    return line_ending.join(text[i : i + 76] for i in range(0, len(text), 76))


def _signer(key: SigningKey) -> tuple[str, str, Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    """(SignatureMethod, DigestMethod, digest, sign) for the key's algorithm."""
    private = key.private_key
    if isinstance(private, GostPrivateKey):
        curve = private.curve
        method = next(uri for uri, (_, c) in GOST_METHODS.items() if c is curve)
        return method, GOST_METHODS[method][0], lambda data: streebog(data, curve.size), private.sign
    return (
        RSA_SHA256,
        SHA256,
        lambda data: hashlib.sha256(data).digest(),
        lambda data: private.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )


def sign_enveloped(document: bytes, key: SigningKey, *, line_ending: str = "\n", compact: bool = False) -> bytes:
    """Sign the whole document; the ds:Signature becomes the root's last child.

    The shapes NCALayer sends: by default one element per line with base64
    in 76-column lines, `line_ending` "\\r\\n" inside base64 values for
    commonUtils.signXml replies (they come out as &#13; in the XML), "\\n"
    elsewhere; `compact` writes no line break at all (basics.sign's shape).
    RSA keys sign rsa-sha256, GOST keys the national CA's GOST 2015 URIs.
    """
    tree = parse(document)
    root = tree.getroot()
    # URI="" drops comments before the #WithComments transform in xmlsec1's
    # reading of the spec but not in signxml's: sign nothing they disagree on.
    if tree.xpath("//comment() | //processing-instruction()"):
        raise BadDocument("comments and processing instructions are not signed")
    if root.find(f"{{{DS}}}Signature") is not None:
        raise BadDocument("the document is already signed")
    method, digest_method, digest, sign = _signer(key)
    newline = "" if compact else "\n"

    def base64_text(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii") if compact else wrap76(data, line_ending)

    # URI="" with the enveloped transform then inclusive c14n with comments.
    digest_value = digest(etree.tostring(tree, method="c14n", exclusive=False, with_comments=True))

    def child(parent, name, text=newline, **attributes):
        element = etree.SubElement(parent, f"{{{DS}}}{name}", attributes)
        element.text = text or None
        element.tail = newline or None
        return element

    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    signature.text = newline or None
    signed_info = child(signature, "SignedInfo")
    child(signed_info, "CanonicalizationMethod", None, Algorithm=C14N)
    child(signed_info, "SignatureMethod", None, Algorithm=method)
    reference = child(signed_info, "Reference", URI="")
    transforms = child(reference, "Transforms")
    child(transforms, "Transform", None, Algorithm=ENVELOPED)
    child(transforms, "Transform", None, Algorithm=C14N_WITH_COMMENTS)
    child(reference, "DigestMethod", None, Algorithm=digest_method)
    child(reference, "DigestValue", base64_text(digest_value))
    # Canonicalised in place, so in-scope namespaces of the document count.
    signed_info_c14n = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
    child(signature, "SignatureValue", newline + base64_text(sign(signed_info_c14n)) + newline)
    key_info = child(signature, "KeyInfo")
    x509_data = child(key_info, "X509Data")
    child(x509_data, "X509Certificate", newline + base64_text(key.certificate_der) + newline)
    key_info.tail = newline or None
    signature.tail = None
    return PROLOG + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


class SignatureMismatch(ValueError):
    """The GOST digest or signature does not match (the message says which)."""


def _base64_value(element: etree._Element) -> bytes:
    text = "".join("".join(element.itertext()).split())  # line breaks and &#13; are allowed
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise SignatureMismatch(f"{etree.QName(element).localname} is not base64: {error}") from None


def verify_gost(root: etree._Element, public_key: GostPublicKey) -> bytes:
    """Check the GOST signature of a document whose shape the caller has pinned.

    `root` holds one ds:Signature as its last child, with one Reference
    URI="" (transforms: enveloped, inclusive C14N) and a GOST 2015 method of
    the key's curve: verify.verify() checks all of that first. The signature
    is taken out of the tree (its enveloped transform); the canonical bytes
    of what remains, the signed document, are returned. SignatureMismatch
    when the digest or the signature does not match.
    """
    signature = root[-1]
    signed_info, signature_value = signature[0], signature[1]
    digest_value = signed_info.find(f"{{{DS}}}Reference/{{{DS}}}DigestValue")
    size = public_key.curve.size
    # SignedInfo is canonicalised in place, in the document's namespace context.
    signed_info_c14n = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
    if not public_key.verify(_base64_value(signature_value), signed_info_c14n):
        raise SignatureMismatch("the SignatureValue is not the certificate's key's signature of SignedInfo")
    expected = _base64_value(digest_value)
    # The enveloped transform removes the Signature element, not the text after it.
    tail, previous = signature.tail, signature.getprevious()
    root.remove(signature)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            root.text = (root.text or "") + tail
    document = etree.tostring(root, method="c14n", exclusive=False, with_comments=True)
    if len(expected) != size or streebog(document, size) != expected:
        raise SignatureMismatch("the document's Streebog digest does not match the DigestValue")
    return document
