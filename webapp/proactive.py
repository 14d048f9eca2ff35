"""The proactive service: the provider offers a service by SMS, the citizen
answers from the phone, and the portal makes and sends the application.

A definition's `application.proactive` block says what the offer fills in
(see webapp/services/wizard.py, Proactive). Consent confirms the registry
facts; the bank account is the IBAN in the reply or, when the reply has
none, the citizen's own account known to the bank registry.

An offer goes only to someone who can complete it by SMS: before it is sent,
the wizard is filled as a YES would fill it (the first own account the bank
registry knows: with none, no IBAN in a reply could pass the same check), and
every rule must hold and no step be left that an SMS cannot carry (a file, a
detail only the citizen knows). An application already sent for the same event, a draft begun on the
portal or an offer still open stop it too; the provider is told which. The
reply is checked again, since the registries or the portal may have changed
meanwhile, and what stops it then is what the citizen is told.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale, gettext

from webapp.applications import drafts, submission
from webapp.applications.filling import ApplicationInProgress
from webapp.clock import now, today
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import Application, ApplicationStatus, ProactiveOffer
from webapp.registries import Person
from webapp.services import ServicePassport, catalogue, find
from webapp.services.facts import RegistryFacts
from webapp.services.fields import Context, FieldError, check_iban
from webapp.services.wizard import CONFIRM_FIELD, FIRST_OPTION, Progress
from webapp.sms import codes, outbox

YES = {"yes", "да", "иә", "ия", "ok"}
NO = {"no", "нет", "жоқ", "жок"}
_IBAN = re.compile(r"\bKZ[0-9A-Z]{18}\b", re.IGNORECASE)
OPEN = ("offered", "needs_iban")
# Decisions that leave the event free for a new application.
CLOSED_WITHOUT_PAYMENT = (ApplicationStatus.REFUSED, ApplicationStatus.WITHDRAWN)


class CannotOffer(ValueError):
    """The offer cannot be made; the message says why, in the provider's language."""


def services() -> list[ServicePassport]:
    """The services a provider can offer by SMS."""
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


# ── whether SMS is enough ───────────────────────────────────────────────


@dataclass(frozen=True)
class Eligible:
    """Someone an offer can go to: their phone and what the offer fills in."""

    person: Person
    phone: str
    answers: dict[str, str]


def _account_field(service: ServicePassport):
    name = service.wizard.proactive.account
    return next(f for s in service.wizard.steps for f in s.fields if f.id == name)


def _fill(service: ServicePassport, facts: RegistryFacts, offered: dict, iban: str | None) -> dict:
    """The wizard's answers as a YES fills them: every registry step confirmed, the
    event the offer names, and the IBAN in the reply or else the first own account."""
    proactive = service.wizard.proactive
    answers = {f"{s.id}.{CONFIRM_FIELD}": "yes" for s in service.wizard.steps if s.kind == "confirm"}
    answers.update(offered)
    if iban:
        answers[proactive.account], answers[proactive.iban] = "other", iban
    else:
        own = facts.options(_account_field(service).options_from)
        if own:
            answers[proactive.account] = own[0][0]
    return answers


def _what_stops(progress: Progress) -> tuple[str, dict] | None:
    """Why the filled wizard cannot be sent (a message id and its values), or None."""
    failed = progress.failed_rules()
    if failed:
        return "rule", {"reason": gettext(failed[0].reason)}
    step = progress.first_unanswered()
    if step is not None:
        # A one-question step's title is its question: its field's short name reads better in a sentence.
        short = step.fields[0].title if len(step.fields) == 1 else ""
        return "step", {"step": gettext(short or step.title)}
    return None


def check(service: ServicePassport | None, iin: str, language: str) -> Eligible:
    """Whether the registries let an offer of this service to this person be completed by SMS.

    CannotOffer, in the current language, says what stops it.
    """
    if service is None or service.wizard is None or service.wizard.proactive is None:
        raise CannotOffer(gettext("this service is not offered by SMS"))
    person = _registries().person(iin)
    if person is None:
        raise CannotOffer(gettext("the state database has no person with this IIN"))
    phone = codes.registered_phone(iin)
    if not phone:
        raise CannotOffer(gettext("no phone is registered for this IIN"))
    facts = RegistryFacts(person, _registries(), today(), language, service.wizard.selections)
    fields = {f.id: f for s in service.wizard.steps for f in s.fields}
    offered = {}
    for field_id, value in service.wizard.proactive.offer.items():
        if value == FIRST_OPTION:
            options = facts.options(fields[field_id].options_from)
            if not options:
                raise CannotOffer(gettext("the registries hold no event to offer this service for"))
            value = options[0][0]
        offered[field_id] = value
    if not facts.options(_account_field(service).options_from):
        # A reply's IBAN is checked against the same bank registry, so none could pass.
        raise CannotOffer(gettext("the bank registry knows no account in the citizen's name for the payment"))
    stop = _what_stops(Progress(service.wizard, _fill(service, facts, offered, None), facts.get))
    if stop is not None:
        kind, values = stop
        if kind == "rule":
            raise CannotOffer(gettext("the citizen does not meet a condition of the online service: %(reason)s", **values))
        raise CannotOffer(gettext("the application needs “%(step)s”, which an SMS reply cannot carry", **values))
    return Eligible(person, phone, offered)


def _sent_for(iin: str, slug: str, offered: dict) -> Application | None:
    """An application for the same event (the same child, say) that is not refused or withdrawn."""
    candidates = db.session.scalars(
        db.select(Application)
        .filter_by(iin=iin, service_slug=slug)
        .where(Application.status.not_in(CLOSED_WITHOUT_PAYMENT))
        .order_by(Application.id.desc())
    )
    return next((a for a in candidates if all(a.answers.get(k) == v for k, v in offered.items())), None)


def who_can_complete() -> list[tuple[ServicePassport, list[Eligible]]]:
    """Each service offered by SMS, with the test citizens an offer of it can go to (the sandbox citizens page)."""
    people = [person for person, _password, _phone in _registries().test_citizens()]
    found = []
    for service in services():
        eligible = []
        for person in people:
            try:
                eligible.append(check(service, person.iin, current_language()))
            except CannotOffer:
                continue
        found.append((service, eligible))
    return found


# ── the offer and the reply ─────────────────────────────────────────────


def make_offer(iin: str, slug: str, language: str) -> ProactiveOffer:
    """The provider offers a service to a citizen, if SMS can complete it: fill what the event gives and text them."""
    service = find(slug)
    eligible = check(service, iin, language)
    sent = _sent_for(iin, slug, eligible.answers)
    if sent is not None:
        raise CannotOffer(gettext("application %(number)s for this service was already sent", number=sent.number))
    if drafts.find(iin, slug) is not None:
        raise CannotOffer(gettext("the citizen has already started this application on the portal"))
    moment = now()
    open_offer = db.session.scalar(
        db.select(ProactiveOffer.number).where(
            ProactiveOffer.iin == iin, ProactiveOffer.service_slug == slug,
            ProactiveOffer.status.in_(OPEN), ProactiveOffer.expires_at > moment,
        )
    )
    if open_offer:
        raise CannotOffer(gettext("offer %(number)s to this citizen is still open", number=open_offer))
    offer = ProactiveOffer(
        number="", iin=iin, service_slug=slug, phone=eligible.phone, language=language, answers=eligible.answers,
        status="offered",
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
    """A citizen's SMS reply to an offer; the offer afterwards, or None when none was made to that phone."""
    newest_first = (ProactiveOffer.offered_at.desc(), ProactiveOffer.id.desc())
    offer = db.session.scalar(
        db.select(ProactiveOffer)
        .where(ProactiveOffer.phone == phone, ProactiveOffer.status.in_(OPEN), ProactiveOffer.expires_at > now())
        .order_by(*newest_first)
    )
    if offer is None:
        # No open offer: say what became of the last one, if there was one.
        offer = db.session.scalar(db.select(ProactiveOffer).where(ProactiveOffer.phone == phone).order_by(*newest_first))
        if offer is not None:
            _answered_already(offer)
        return offer
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


def _answered_already(offer: ProactiveOffer) -> None:
    """A reply to an offer that is no longer open: say what became of it."""
    if offer.status in OPEN:  # open, but past its expiry
        _close(offer, "expired")
    if offer.status == "sent" and offer.application_id:
        number = db.session.get(Application, offer.application_id).number
        _say(offer, N_("Qyzmet: offer %(number)s has already been answered: your application %(application)s has been sent."),
             number=offer.number, application=number)
    elif offer.status == "declined":
        _say(offer, N_("Qyzmet: you declined offer %(number)s. You can still apply on the portal."), number=offer.number)
    elif offer.status == "expired":
        _say(offer, N_("Qyzmet: offer %(number)s has expired, so no application was made. You can apply on the portal."),
             number=offer.number)
    else:
        _say(offer, N_("Qyzmet: offer %(number)s is closed and no application was made under it. You can apply on the portal."),
             number=offer.number)


def _close(offer: ProactiveOffer, status: str, application_id: int | None = None) -> None:
    offer.status = status
    offer.answered_at = now()
    offer.application_id = application_id
    db.session.commit()


def _accept(offer: ProactiveOffer, iban: str | None) -> None:
    """YES: make the application from the offer and send it, or tell the citizen what stops it."""
    service = find(offer.service_slug)
    person = _registries().person(offer.iin)
    sent = _sent_for(offer.iin, offer.service_slug, offer.answers)
    if sent is not None:
        _close(offer, "already_sent")
        _say(offer, N_("Qyzmet: no application was made under offer %(number)s: your application %(application)s for this service has already been sent. Follow it in History of Services."),
             number=offer.number, application=sent.number)
        return
    if drafts.find(offer.iin, offer.service_slug) is not None:
        # Never overwrite what the citizen began on the portal.
        _close(offer, "apply_online")
        _say(offer, N_("Qyzmet: you have already started this application on the portal. Please finish it there."))
        return
    facts = RegistryFacts(person, _registries(), today(), offer.language, service.wizard.selections)
    if iban:
        context = Context(iin=person.iin, today=facts.today, bank_account_holder=_registries().account_holder,
                          options=facts.options)
        try:
            iban = check_iban(iban, context)
        except FieldError:
            offer.status = "needs_iban"
            db.session.commit()
            _say(offer, N_("Qyzmet: %(iban)s is not an account in your name at a Kazakh bank. Reply YES and the IBAN of your own account."), iban=iban)
            return
    answers = _fill(service, facts, offer.answers, iban)
    if service.wizard.proactive.account not in answers:
        offer.status = "needs_iban"
        db.session.commit()
        _say(offer, N_("Qyzmet: your bank could not tell us your account. Reply YES and the IBAN of your own account (20 characters, starting with KZ)."))
        return
    with force_locale(offer.language):
        stop = _what_stops(Progress(service.wizard, answers, facts.get))
    if stop is not None:
        kind, values = stop
        _close(offer, "apply_online")
        if kind == "rule":
            _say(offer, N_("Qyzmet: no application was made under offer %(number)s. %(reason)s"), number=offer.number, **values)
        else:
            _say(offer, N_("Qyzmet: no application was made under offer %(number)s: it needs “%(step)s”, which an SMS cannot carry. Please apply on the portal."),
                 number=offer.number, **values)
        return
    draft = drafts.start(offer.iin, offer.service_slug)
    drafts.save(draft, answers)
    application = ApplicationInProgress(service, draft, person, _registries(), today(), offer.language)
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
