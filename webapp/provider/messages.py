"""The service provider's messages: status changes and decisions, as XML.

The provider signs each message with its official's key (an organisation's
key, NCALayer's enveloped shape) and posts it to /provider/messages. Format,
namespace urn:qyzmet:provider-message:1, version 1:

    <providerMessage xmlns="urn:qyzmet:provider-message:1" version="1"
                     id="…unique…" application="2026-0000001" status="assigned"
                     at="2026-11-25T10:00:00Z">
      <reason>…</reason>                      refused, provisional_refusal
      <amount currency="KZT">54321.00</amount>  assigned (monthly; or paid once, for a one-off service)
      <period from="2026-02-03" to="2027-02-03"/>  assigned, monthly
      <document>…</document> …                 documents_requested
      <dueOn>2026-12-02</dueOn>                  documents_requested, provisional_refusal
                                                 (the citizen's deadline); in_processing (an extension)
      <objection>…number…</objection>             a decision after an objection refers to it
    </providerMessage>
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from signing.xmldsig import BadDocument, parse as parse_xml
from webapp.models import ApplicationStatus

NAMESPACE = "urn:qyzmet:provider-message:1"
VERSION = "1"
# What a provider may say; the lifecycle decides which may follow which.
STATUSES = (
    ApplicationStatus.REGISTERED, ApplicationStatus.IN_PROCESSING, ApplicationStatus.DOCUMENTS_REQUESTED,
    ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED,
)


@dataclass(frozen=True)
class ProviderMessage:
    id: str
    application: str
    status: str
    at: dt.datetime
    reason: str | None = None
    amount: Decimal | None = None
    period_from: dt.date | None = None
    period_to: dt.date | None = None
    documents: tuple[str, ...] = field(default_factory=tuple)
    due_on: dt.date | None = None
    objection: str | None = None

    def data(self) -> dict:
        """What a timeline event and a notification keep: JSON-ready, no Nones."""
        values = {
            "reason": self.reason,
            "amount": str(self.amount) if self.amount is not None else None,
            "period_from": self.period_from.isoformat() if self.period_from else None,
            "period_to": self.period_to.isoformat() if self.period_to else None,
            "documents": list(self.documents) or None,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "objection": self.objection,
        }
        return {key: value for key, value in values.items() if value is not None}


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def build(message: ProviderMessage) -> bytes:
    """The canonical, unsigned message."""
    root = etree.Element(_q("providerMessage"), nsmap={None: NAMESPACE})
    root.set("version", VERSION)
    root.set("id", message.id)
    root.set("application", message.application)
    root.set("status", message.status)
    root.set("at", message.at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if message.reason:
        etree.SubElement(root, _q("reason")).text = message.reason
    if message.amount is not None:
        etree.SubElement(root, _q("amount"), currency="KZT").text = f"{message.amount:.2f}"
    if message.period_from and message.period_to:
        etree.SubElement(
            root, _q("period"), {"from": message.period_from.isoformat(), "to": message.period_to.isoformat()}
        )
    for document in message.documents:
        etree.SubElement(root, _q("document")).text = document
    if message.due_on:
        etree.SubElement(root, _q("dueOn")).text = message.due_on.isoformat()
    if message.objection:
        etree.SubElement(root, _q("objection")).text = message.objection
    return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


def parse(data: bytes) -> ProviderMessage:
    """Read a message (its signature, if any, is ignored); BadDocument when it is not one."""
    root = parse_xml(data).getroot()
    if root.tag != _q("providerMessage") or root.get("version") != VERSION:
        raise BadDocument("not a version 1 provider message")
    status = root.get("status", "")
    if status not in STATUSES:
        raise BadDocument(f"unknown status {status!r}")
    try:
        period = root.find(_q("period"))
        amount = root.findtext(_q("amount"))
        due_on = root.findtext(_q("dueOn"))
        message = ProviderMessage(
            id=_required(root, "id"),
            application=_required(root, "application"),
            status=status,
            at=dt.datetime.strptime(_required(root, "at"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc),
            reason=root.findtext(_q("reason")),
            amount=Decimal(amount) if amount is not None else None,
            period_from=dt.date.fromisoformat(period.get("from")) if period is not None else None,
            period_to=dt.date.fromisoformat(period.get("to")) if period is not None else None,
            documents=tuple(d.text or "" for d in root.findall(_q("document"))),
            due_on=dt.date.fromisoformat(due_on) if due_on else None,
            objection=root.findtext(_q("objection")),
        )
    except (ValueError, TypeError, InvalidOperation) as error:
        raise BadDocument(f"a value in the message cannot be read: {error}") from None
    if len(message.id) > 64:
        raise BadDocument("the message id is longer than 64 characters")
    return message


def _required(root, name: str) -> str:
    value = root.get(name)
    if not value:
        raise BadDocument(f"the message has no {name}")
    return value
