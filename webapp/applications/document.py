"""The application XML: what the citizen signs, written the same way every time.

Schema version 1, namespace urn:qyzmet:application:1, documented in
docs/application-xml.md. Serialisation is exclusive XML canonicalisation
(no comments), so the same inputs always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from lxml import etree

NAMESPACE = "urn:qyzmet:application:1"
VERSION = "1"


@dataclass(frozen=True)
class AttachedFile:
    id: str
    field: str
    name: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FactGroup:
    """One confirmation step's registry facts, as (key, value) pairs."""

    name: str
    facts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AnswerValue:
    """One answer: a value, or for a repeatable group a list of items of answers."""

    name: str
    type: str
    value: Any


@dataclass(frozen=True)
class ApplicationDocument:
    service: str
    language: str
    applicant: tuple[tuple[str, str], ...]
    facts: tuple[FactGroup, ...]
    answers: tuple[AnswerValue, ...]
    attachments: tuple[AttachedFile, ...]
    nonce: str
    issued_at: dt.datetime

    def to_xml(self) -> bytes:
        """The canonical bytes of the application."""
        root = etree.Element(_q("application"), nsmap={None: NAMESPACE})
        root.set("version", VERSION)
        root.set("service", self.service)
        root.set("language", self.language)
        _text(root, "nonce", self.nonce)
        _text(root, "issuedAt", self.issued_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        applicant = etree.SubElement(root, _q("applicant"))
        for key, value in self.applicant:
            _text(applicant, key, value)
        facts = etree.SubElement(root, _q("registryFacts"), source="state-registries")
        for group in self.facts:
            element = etree.SubElement(facts, _q("group"), name=group.name, confirmed="true")
            for key, value in group.facts:
                etree.SubElement(element, _q("fact"), name=key).text = value
        answers = etree.SubElement(root, _q("answers"))
        for answer in self.answers:
            _answer(answers, answer)
        attachments = etree.SubElement(root, _q("attachments"))
        for file in self.attachments:
            etree.SubElement(
                attachments,
                _q("attachment"),
                id=file.id,
                field=file.field,
                name=file.name,
                contentType=file.content_type,
                size=str(file.size),
                sha256=file.sha256,
            )
        return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _text(parent, name: str, value: str) -> None:
    etree.SubElement(parent, _q(name)).text = value


def _answer(parent, answer: AnswerValue) -> None:
    element = etree.SubElement(parent, _q("answer"), name=answer.name, type=answer.type)
    if answer.type == "group":
        for item in answer.value:
            item_element = etree.SubElement(element, _q("item"))
            for part in item:
                _answer(item_element, part)
    elif answer.type == "file":
        for file_id in answer.value:
            etree.SubElement(element, _q("file"), ref=file_id)
    else:
        element.text = str(answer.value)


def parse(data: bytes) -> etree._Element:
    """Read an application XML safely: no entities, no network, no DTD."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False)
    return etree.fromstring(data, parser)
