"""Enveloped XML signatures in the exact shape NCALayer produces for RSA keys.

Written by hand on lxml and cryptography because signxml cannot emit this
shape: NCALayer canonicalises SignedInfo without comments but signs the
document with the `#WithComments` transform, and lays the Signature out one
element per line. Both the sandbox signing agent and the portal's own
signatures use this module, so everything we sign verifies the same way a
citizen's NCALayer signature does (and with xmlsec1).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS = C14N + "#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
PROLOG = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'


class BadDocument(ValueError):
    """The XML to sign is not well-formed, or is not something we sign."""


@dataclass(frozen=True)
class SigningKey:
    """A private key with its certificate, loaded once (parsing costs tens of ms)."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pkcs12(cls, data: bytes | Path | str, password: str) -> "SigningKey":
        """Open a PKCS#12 key container (a national-style .p12 file)."""
        if not isinstance(data, bytes):
            data = Path(data).read_bytes()
        key, certificate, chain = pkcs12.load_key_and_certificates(data, password.encode())
        if not isinstance(key, rsa.RSAPrivateKey) or certificate is None:
            raise BadDocument("the key container holds no RSA key with a certificate")
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


def sign_enveloped(document: bytes, key: SigningKey, *, line_ending: str = "\n") -> bytes:
    """Sign the whole document; the ds:Signature becomes the root's last child.

    `line_ending` is "\\r\\n" inside base64 values for NCALayer's commonUtils
    replies (they come out as &#13; in the XML), "\\n" elsewhere.
    """
    tree = parse(document)
    root = tree.getroot()
    # URI="" drops comments before the #WithComments transform in xmlsec1's
    # reading of the spec but not in signxml's: sign nothing they disagree on.
    if tree.xpath("//comment() | //processing-instruction()"):
        raise BadDocument("comments and processing instructions are not signed")
    if root.find(f"{{{DS}}}Signature") is not None:
        raise BadDocument("the document is already signed")
    # URI="" with the enveloped transform then inclusive c14n with comments.
    digest = hashlib.sha256(etree.tostring(tree, method="c14n", exclusive=False, with_comments=True)).digest()

    def child(parent, name, text="\n", **attributes):
        element = etree.SubElement(parent, f"{{{DS}}}{name}", attributes)
        element.text = text
        element.tail = "\n"
        return element

    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    signature.text = "\n"
    signed_info = child(signature, "SignedInfo")
    child(signed_info, "CanonicalizationMethod", None, Algorithm=C14N)
    child(signed_info, "SignatureMethod", None, Algorithm=RSA_SHA256)
    reference = child(signed_info, "Reference", URI="")
    transforms = child(reference, "Transforms")
    child(transforms, "Transform", None, Algorithm=ENVELOPED)
    child(transforms, "Transform", None, Algorithm=C14N_WITH_COMMENTS)
    child(reference, "DigestMethod", None, Algorithm=SHA256)
    child(reference, "DigestValue", base64.b64encode(digest).decode("ascii"))
    # Canonicalised in place, so in-scope namespaces of the document count.
    signed_info_c14n = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
    value = key.private_key.sign(signed_info_c14n, padding.PKCS1v15(), hashes.SHA256())
    child(signature, "SignatureValue", "\n" + wrap76(value, line_ending) + "\n")
    key_info = child(signature, "KeyInfo")
    x509_data = child(key_info, "X509Data")
    child(x509_data, "X509Certificate", "\n" + wrap76(key.certificate_der, line_ending) + "\n")
    key_info.tail = "\n"
    signature.tail = None
    return PROLOG + etree.tostring(root, encoding="UTF-8", xml_declaration=False)
