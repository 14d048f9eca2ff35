"""The document a citizen signs for a request about an application.

Namespace urn:qyzmet:citizen-request:1, version 1. Serialised with exclusive
XML canonicalisation (no comments), so the same inputs always give the same
bytes; the nonce and issue time make each issued document unique, and the
files are named by their SHA-256, so the signature covers their content.

    <citizenRequest xmlns="urn:qyzmet:citizen-request:1" version="1"
                    kind="objection" language="en">
      <nonce>…32 hex…</nonce>
      <issuedAt>2026-11-23T09:00:00Z</issuedAt>
      <applicant iin="900517401370" name="…"/>
      <application number="2026-0000001" service="child-care-under-one"/>   when about one
      <addressee>service-provider</addressee>     a complaint: provider-head or quality-authority,
                                                  as the citizen chose; support (malfunction)
      <service slug="…">…name…</service>           malfunction: the service it happened in
      <refersTo status="provisional_refusal" at="…"/>   the notice objected to, the decision complained about
      <text>…what the citizen wrote…</text>
      <attachments>
        <attachment id="…" name="scan.png" contentType="image/png" size="1234" sha256="…"/>
      </attachments>
    </citizenRequest>
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from webapp.text_input import without_unwritable

NAMESPACE = "urn:qyzmet:citizen-request:1"
VERSION = "1"
ADDRESSEES = {
    "objection": "service-provider",
    "documents": "service-provider",
    "complaint": "quality-authority",
    "malfunction": "support",
}


def xml_safe(text: str) -> str:
    """Text without the characters XML cannot hold: the forms refuse them (webapp.text_input), this is the last guard."""
    return without_unwritable(text or "")


@dataclass(frozen=True)
class AttachedFile:
    id: str
    name: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RequestDocument:
    kind: str
    language: str
    iin: str
    name: str
    text: str
    nonce: str
    issued_at: dt.datetime
    application_number: str | None = None
    application_service: str | None = None
    service_slug: str | None = None
    service_name: str | None = None
    refers_to_status: str | None = None
    refers_to_at: dt.datetime | None = None
    attachments: tuple[AttachedFile, ...] = ()
    addressee: str | None = None  # whom a complaint goes to (the kind's own addressee when None)

    def to_xml(self) -> bytes:
        """The canonical bytes of the request."""
        root = etree.Element(_q("citizenRequest"), nsmap={None: NAMESPACE})
        root.set("version", VERSION)
        root.set("kind", self.kind)
        root.set("language", self.language)
        _text(root, "nonce", self.nonce)
        _text(root, "issuedAt", _instant(self.issued_at))
        etree.SubElement(root, _q("applicant"), iin=self.iin, name=xml_safe(self.name))
        if self.application_number:
            element = etree.SubElement(root, _q("application"), number=self.application_number)
            if self.application_service:
                element.set("service", self.application_service)
        _text(root, "addressee", self.addressee or ADDRESSEES[self.kind])
        if self.service_slug:
            etree.SubElement(root, _q("service"), slug=self.service_slug).text = xml_safe(self.service_name or "")
        if self.refers_to_status:
            element = etree.SubElement(root, _q("refersTo"), status=self.refers_to_status)
            if self.refers_to_at:
                element.set("at", _instant(self.refers_to_at))
        _text(root, "text", xml_safe(self.text))
        files = etree.SubElement(root, _q("attachments"))
        for file in self.attachments:
            etree.SubElement(
                files, _q("attachment"), id=file.id, name=xml_safe(file.name), contentType=file.content_type,
                size=str(file.size), sha256=file.sha256,
            )
        return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _text(parent, name: str, value: str) -> None:
    etree.SubElement(parent, _q(name)).text = value


def _instant(moment: dt.datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
