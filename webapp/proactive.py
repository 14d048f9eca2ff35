"""The proactive service: the provider offers a service by SMS, the citizen
answers from the phone, and the portal makes and sends the application.

A definition's `application.proactive` block says what the offer fills in
(see webapp/services/wizard.py, Proactive). Consent confirms the registry
facts; the bank account is the IBAN in the reply or, when the reply has
none, the citizen's own account known to the bank registry. What cannot be
done by SMS (a step with no answer, a rule that fails, a draft already
begun on the portal) is left to the portal, and the citizen is told so.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import current_app
from flask_babel import force_locale, gettext

from webapp.applications import drafts, submission
from webapp.applications.filling import ApplicationInProgress
from webapp.clock import now, today
from webapp.extensions import db
from webapp.models import ProactiveOffer
from webapp.services import find
from webapp.services.facts import RegistryFacts
from webapp.services.fields import FieldError, check_iban
from webapp.services.wizard import CONFIRM_FIELD, FIRST_OPTION
from webapp.sms import codes, outbox

YES = {"yes", "да", "иә", "ия", "ok"}
NO = {"no", "нет", "жоқ", "жок"}
_IBAN = re.compile(r"\bKZ[0-9A-Z]{18}\b", re.IGNORECASE)
OPEN = ("offered", "needs_iban")


class CannotOffer(ValueError):
    """The offer cannot be made: no phone, no proactive service, no event to offer for."""


def services() -> list:
    """The services a provider can offer by SMS."""
    from webapp.services import catalogue

    return [s for s in catalogue() if s.wizard and s.wizard.proactive]


def _registries():
    return current_app.extensions["state_registries"]


def N_(message: str) -> str:
    """Mark an SMS text for translation; _say translates it in the offer's language."""
    return message


def _say(offer: ProactiveOffer, message: str, **values) -> None:
    """Text the citizen in the offer's language."""
    with force_locale(offer.language):
        text = gettext(message, **values)
    outbox.queue(offer.phone, text, purpose="proactive", iin=offer.iin)


def make_offer(iin: str, slug: str, language: str) -> ProactiveOffer:
    """The provider offers a service to a citizen: fill what the event gives and text them."""
    service = find(slug)
    if service is None or service.wizard is None or service.wizard.proactive is None:
        raise CannotOffer(gettext("this service is not offered by SMS"))
    phone = codes.registered_phone(iin)
    person = _registries().person(iin)
    if person is None or not phone:
        raise CannotOffer(gettext("no phone is registered for this IIN"))
    facts = RegistryFacts(person, _registries(), today(), language)
    fields = {f.id: f for s in service.wizard.steps for f in s.fields}
    answers = {}
    for field_id, value in service.wizard.proactive.offer.items():
        if value == FIRST_OPTION:
            options = facts.options(fields[field_id].options_from)
            if not options:
                raise CannotOffer(gettext("the registries hold no event to offer this service for"))
            value = options[0][0]
        answers[field_id] = value
    moment = now()
    offer = ProactiveOffer(
        number="", iin=iin, service_slug=slug, phone=phone, language=language, answers=answers, status="offered",
        offered_at=moment, expires_at=moment + dt.timedelta(days=current_app.config["PROACTIVE_OFFER_DAYS"]),
    )
    db.session.add(offer)
    db.session.flush()
    offer.number = f"P{offer.id:07d}"
    db.session.commit()
    with force_locale(language):
        name = gettext(service.short_name)
    _say(
        offer,
        N_("Qyzmet: you can get “%(service)s” without an application form. Reply YES to apply (add an IBAN if the payment should go to another account of yours), or NO. Offer %(number)s."),
        service=name, number=offer.number,
    )
    return offer


def receive_reply(phone: str, text: str) -> ProactiveOffer | None:
    """A citizen's SMS reply to an offer; the offer afterwards, or None when there was none open."""
    offer = db.session.scalar(
        db.select(ProactiveOffer)
        .where(ProactiveOffer.phone == phone, ProactiveOffer.status.in_(OPEN), ProactiveOffer.expires_at > now())
        .order_by(ProactiveOffer.offered_at.desc(), ProactiveOffer.id.desc())
    )
    if offer is None:
        return None
    words = text.strip().lower().split()
    iban = _IBAN.search(text)
    if words and words[0] in NO:
        _close(offer, "declined")
        _say(offer, N_("Qyzmet: you declined offer %(number)s. You can still apply on the portal."), number=offer.number)
    elif (words and words[0] in YES) or iban:
        _accept(offer, iban.group(0).upper() if iban else None)
    else:
        _say(offer, N_("Qyzmet: reply YES to apply under offer %(number)s, or NO to decline."), number=offer.number)
    return offer


def _close(offer: ProactiveOffer, status: str, application_id: int | None = None) -> None:
    offer.status = status
    offer.answered_at = now()
    offer.application_id = application_id
    db.session.commit()


def _accept(offer: ProactiveOffer, iban: str | None) -> None:
    service = find(offer.service_slug)
    person = _registries().person(offer.iin)
    proactive = service.wizard.proactive
    if drafts.find(offer.iin, offer.service_slug) is not None:
        # Never overwrite what the citizen began on the portal.
        _close(offer, "apply_online")
        _say(offer, N_("Qyzmet: you have already started this application on the portal. Please finish it there."))
        return
    draft = drafts.start(offer.iin, offer.service_slug)
    application = ApplicationInProgress(service, draft, person, _registries(), today(), offer.language)
    answers = {f"{s.id}.{CONFIRM_FIELD}": "yes" for s in service.wizard.steps if s.kind == "confirm"}
    answers.update(offer.answers)
    if iban:
        try:
            answers[proactive.iban] = check_iban(iban, application.context)
        except FieldError:
            drafts.delete(draft)
            offer.status = "needs_iban"
            db.session.commit()
            _say(offer, N_("Qyzmet: %(iban)s is not an account in your name at a Kazakh bank. Reply YES and the IBAN of your own account."), iban=iban)
            return
        answers[proactive.account] = "other"
    else:
        account_field = next(f for s in service.wizard.steps for f in s.fields if f.id == proactive.account)
        own = application.facts.options(account_field.options_from)
        if not own:
            drafts.delete(draft)
            offer.status = "needs_iban"
            db.session.commit()
            _say(offer, N_("Qyzmet: your bank could not tell us your account. Reply YES and the IBAN of your own account (20 characters, starting with KZ)."))
            return
        answers[proactive.account] = own[0][0]
    drafts.save(draft, answers)
    application._refresh()
    if not application.eligible or application.where_to_go() != "check":
        drafts.delete(draft)
        _close(offer, "apply_online")
        _say(offer, N_("Qyzmet: this application needs more from you than an SMS can carry. Please apply on the portal."))
        return
    issued = application.document().to_xml()
    record = submission.send_confirmed_by_sms(
        application,
        issued,
        {
            "maskedPhone": codes.mask_phone(offer.phone),
            "repliedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "offer": offer.number,
            "documentSha256": codes.document_digest(issued),
        },
        statement="proactive-consent",
    )
    _close(offer, "sent", record.id)
    _say(
        offer,
        N_("Qyzmet: your application %(application)s has been sent. The decision will come by SMS and to your personal account."),
        application=record.number,
    )
