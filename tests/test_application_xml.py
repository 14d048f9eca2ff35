"""The application XML: versioned, namespaced, canonical and deterministic."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from webapp.applications.document import (
    NAMESPACE,
    AnswerValue,
    ApplicationDocument,
    AttachedFile,
    FactGroup,
    parse,
)

NS = f"{{{NAMESPACE}}}"


def document(**changes) -> ApplicationDocument:
    fields = dict(
        service="child-care-under-one",
        language="kk",
        applicant=(("iin", "900517401370"), ("surname", "Сарсенбаева")),
        facts=(FactGroup("marriage", (("spouse", "870902304006"), ("marriageRegisteredOn", "2015-06-20"))),),
        answers=(
            AnswerValue("childIin", "choice", "260203606639"),
            AnswerValue("note", "text", 'Tom & Jerry <"quoted">'),
            AnswerValue("rooms", "group", ((AnswerValue("name", "text", "Kitchen"),),)),
            AnswerValue("certificate", "file", ["a1"]),
        ),
        attachments=(AttachedFile("a1", "certificate", "справка.pdf", "application/pdf", 1234, "ab" * 32),),
        nonce="0123456789abcdef0123456789abcdef",
        issued_at=dt.datetime(2026, 11, 23, 10, 15, 0, tzinfo=dt.timezone.utc),
    )
    fields.update(changes)
    return ApplicationDocument(**fields)


def test_the_same_inputs_give_the_same_bytes():
    assert document().to_xml() == document().to_xml()


def test_any_change_gives_different_bytes():
    base = document().to_xml()
    assert document(nonce="f" * 32).to_xml() != base
    assert document(issued_at=dt.datetime(2026, 11, 23, 10, 15, 1, tzinfo=dt.timezone.utc)).to_xml() != base
    assert document(answers=()).to_xml() != base


def test_issue_time_is_utc_whatever_the_zone_given():
    almaty = dt.timezone(dt.timedelta(hours=5))
    same = document(issued_at=dt.datetime(2026, 11, 23, 15, 15, 0, tzinfo=almaty))
    assert same.to_xml() == document().to_xml()


def test_the_bytes_are_already_canonical():
    data = document().to_xml()
    assert not data.startswith(b"<?xml")
    root = etree.fromstring(data)
    assert etree.tostring(root, method="c14n", exclusive=True, with_comments=False) == data


def test_schema_shape():
    root = parse(document().to_xml())
    assert root.tag == f"{NS}application"
    assert root.get("version") == "1" and root.get("service") == "child-care-under-one" and root.get("language") == "kk"
    assert [child.tag.removeprefix(NS) for child in root] == [
        "nonce", "issuedAt", "applicant", "registryFacts", "answers", "attachments"]
    assert root.findtext(f"{NS}issuedAt") == "2026-11-23T10:15:00Z"
    assert root.findtext(f"{NS}applicant/{NS}surname") == "Сарсенбаева"
    note = root.find(f"{NS}answers/{NS}answer[@name='note']")
    assert note.text == 'Tom & Jerry <"quoted">'
    item = root.find(f"{NS}answers/{NS}answer[@name='rooms']/{NS}item/{NS}answer")
    assert (item.get("name"), item.text) == ("name", "Kitchen")
    attachment = root.find(f"{NS}attachments/{NS}attachment")
    assert attachment.get("sha256") == "ab" * 32 and attachment.get("name") == "справка.pdf"
    assert root.find(f"{NS}answers/{NS}answer[@name='certificate']/{NS}file").get("ref") == "a1"


def test_reading_refuses_entities_and_external_references():
    attack = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    root = parse(attack)
    assert "root:" not in (root.text or "")
    with pytest.raises(etree.XMLSyntaxError):
        parse(b"<a><b></a>")
