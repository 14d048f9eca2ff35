"""The portal's signed-document envelope: a document plus statements about it.

When the portal (or a service provider) signs, it signs an envelope: the
document exactly as issued, and statements such as how the citizen
confirmed it (an SMS password: masked phone, time, challenge id, digest).
The envelope is canonical XML, signed like everything else with
xmldsig.sign_enveloped and checked with verify.verify, whose Verdict
carries the envelope bytes for parse().

    <envelope xmlns="urn:qyzmet:envelope:1" version="1">
      <document sha256="…"> …the issued document's root element… </document>
      <statement type="sms-confirmation" maskedPhone="+7 701 *** ** 67" …/>
    </envelope>
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping, Sequence

from lxml import etree

from signing.xmldsig import BadDocument, parse as parse_xml

NAMESPACE = "urn:qyzmet:envelope:1"
VERSION = "1"


@dataclass(frozen=True)
class Statement:
    """A typed statement with string attributes, e.g. ("sms-confirmation", {...})."""

    type: str
    attributes: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return dict(self.attributes).get(name)


@dataclass(frozen=True)
class Envelope:
    document: bytes  # the inner document, canonical (exclusive C14N)
    statements: tuple[Statement, ...]

    @property
    def document_sha256(self) -> str:
        return hashlib.sha256(self.document).hexdigest()


def _canonical(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def build(document: bytes, statements: Sequence[tuple[str, Mapping[str, str]]] = ()) -> bytes:
    """The canonical envelope bytes for a document and statements about it."""
    inner = parse_xml(document).getroot()
    digest = hashlib.sha256(_canonical(inner)).hexdigest()
    root = etree.Element(f"{{{NAMESPACE}}}envelope", nsmap={None: NAMESPACE}, version=VERSION)
    holder = etree.SubElement(root, f"{{{NAMESPACE}}}document", sha256=digest)
    holder.append(inner)
    for kind, attributes in statements:
        statement = etree.SubElement(root, f"{{{NAMESPACE}}}statement", type=kind)
        for name, value in sorted(attributes.items()):
            statement.set(name, value)
    return _canonical(root)


def parse(data: bytes) -> Envelope:
    """Read an envelope (signature, if any, ignored); BadDocument when it is not one."""
    root = parse_xml(data).getroot()
    if root.tag != f"{{{NAMESPACE}}}envelope" or root.get("version") != VERSION:
        raise BadDocument("not a version 1 envelope")
    holders = root.findall(f"{{{NAMESPACE}}}document")
    if len(holders) != 1 or len(holders[0]) != 1:
        raise BadDocument("an envelope holds exactly one document")
    document = _canonical(holders[0][0])
    if hashlib.sha256(document).hexdigest() != holders[0].get("sha256"):
        raise BadDocument("the document's digest does not match the envelope")
    statements = tuple(
        Statement(s.get("type", ""), tuple(sorted((k, v) for k, v in s.attrib.items() if k != "type")))
        for s in root.findall(f"{{{NAMESPACE}}}statement")
    )
    return Envelope(document, statements)
