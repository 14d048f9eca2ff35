"""The sandbox provider's automatic mode: decide an application by rules.

With SANDBOX_AUTO_DECIDE on, the sandbox provider decides every application
it takes SANDBOX_AUTO_DECIDE_SECONDS after delivery (a background job the
sandbox registers on the queue, `AUTO_DECIDE`), with signed messages through the same inbox and the same
verification as /provider/messages (`webapp.sandbox.provider.say`).

The rules are data, not code per service:

1. The service definition's own eligibility rules (`application.eligibility`
   in webapp/services/definitions/*.yaml), checked again against the state
   registries (`RegistryFacts`) on the day of the decision and the
   application's answers. For child care this refuses a child whose birth
   was registered before 13 August 2007 (the seeds' rule).
2. Every answer chosen from registry records (a field with `options_from`)
   must still be among those records that day: the child chosen for child
   care must still be a child under one whose birth was registered on or
   after 13 August 2007.

A rule that fails: registered, a provisional refusal with the rule's reason
(in the application's language), then the refusal, dated 3 working days
later (the hearing, lifecycle.HEARING_WORKING_DAYS; the lifecycle refuses an
earlier one). Otherwise: registered, then assigned with the amount and
period of the service's `Award` below.

Amounts: real amounts depend on incomes and lengths of service the sandbox
registries do not hold, so the sandbox assigns a fixed number of monthly
calculation indexes (MRP, the unit Kazakh law states benefits in; 4 325
tenge in 2026): 10 MRP a month by default, for 12 months from the decision;
child care for 12 months from the child's birth, up to the first birthday.
A service whose passport says `payment: one-off` gets the award's months'
worth at once, without a period (the Semipalatinsk compensation).
"""

from __future__ import annotations

import datetime as dt
import logging
from calendar import monthrange
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, gettext

from signing.verify import Refused
from webapp import clock
from webapp.extensions import db
from webapp.jobs import queue
from webapp.models import Application, ApplicationStatus
from webapp.provider import inbox, lifecycle
from webapp.sandbox import provider
from webapp.services import find
from webapp.services.facts import RegistryFacts
from webapp.services.wizard import Progress
from webapp.working_days import calendar

log = logging.getLogger(__name__)

AUTO_DECIDE = "qyzmet.sandbox_auto_decide"  # the job's name on the queue

# The monthly calculation index for 2026, in tenge.
MRP = Decimal("4325")


@dataclass(frozen=True)
class Award:
    """What the sandbox provider assigns: `mrp` indexes a month, for `months` months,
    from the decision ("decision") or from the birth of the person whose IIN an
    answer holds ("birth:<answer id>")."""

    mrp: Decimal = Decimal("10")
    months: int = 12
    starts: str = "decision"

    @property
    def monthly_amount(self) -> Decimal:
        return (self.mrp * MRP).quantize(Decimal("0.01"))

    @property
    def one_off_amount(self) -> Decimal:
        return self.monthly_amount * self.months


DEFAULT_AWARD = Award()
AWARDS = {
    # Paid from the child's birth until the child turns one.
    "child-care-under-one": Award(mrp=Decimal("10"), months=12, starts="birth:child"),
}



@dataclass
class Decision:
    """What the rules say about one application."""

    assign: bool
    reasons: list[str] = field(default_factory=list)
    amount: Decimal | None = None
    period: tuple[dt.date, dt.date] | None = None


def evaluate(application: Application, today: dt.date | None = None) -> Decision:
    """Apply the rules to an application, as of `today` (the portal's today by default)."""
    today = today or clock.today()
    passport = find(application.service_slug)
    registries = current_app.extensions["state_registries"]
    person = registries.person(application.iin)
    with force_locale(application.language):
        if person is None:
            return Decision(False, [gettext("The state database has no record of the applicant.")])
        wizard = passport.wizard if passport is not None else None
        facts = RegistryFacts(person, registries, today, application.language, wizard.selections if wizard else None)
        answers = dict(application.answers or {})
        reasons = []
        if passport is not None and passport.wizard is not None:
            progress = Progress(passport.wizard, answers, facts.get)
            reasons += [gettext(rule.reason) for rule in progress.failed_rules()]
            for step in progress.visible:
                for f in step.fields:
                    chosen = answers.get(f.id)
                    if not f.options_from or chosen in (None, "", "other"):
                        continue
                    if str(chosen) not in {value for value, _label in facts.options(f.options_from)}:
                        reasons.append(gettext(
                            "%(field)s: the choice in the application is not among the records the state "
                            "database holds for the applicant today.", field=gettext(f.title or f.label),
                        ))
    if reasons:
        return Decision(False, reasons)
    award = AWARDS.get(application.service_slug, DEFAULT_AWARD)
    if passport is not None and passport.payment == "one-off":
        return Decision(True, amount=award.one_off_amount)
    start = _start(award, application, registries, today)
    return Decision(True, amount=award.monthly_amount, period=(start, _add_months(start, award.months)))


def decide(application: Application, at: dt.datetime | None = None) -> Decision | None:
    """Decide an application that is sent or registered, with signed provider messages.

    `at`: when the provider decides (now by default); a refusal is dated
    HEARING_WORKING_DAYS working days after it. None when the application is
    past the provider's first steps (the operator got there first).
    """
    at = at or clock.now()
    number = application.number
    if application.status not in (ApplicationStatus.SENT, ApplicationStatus.REGISTERED):
        log.info("Application %s is %s: no automatic decision", number, application.status)
        return None
    decision = evaluate(application)
    if application.status == ApplicationStatus.SENT:
        provider.say(number, ApplicationStatus.REGISTERED, at=at)
    if decision.assign:
        provider.say(number, ApplicationStatus.ASSIGNED, at=at, amount=decision.amount, period=decision.period)
    else:
        reason = " ".join(decision.reasons)
        provider.say(number, ApplicationStatus.PROVISIONAL_REFUSAL, at=at, reason=reason)
        after_hearing = calendar().add(clock.day_of(at), lifecycle.HEARING_WORKING_DAYS)
        provider.say(number, ApplicationStatus.REFUSED, at=clock.on_day(after_hearing, at), reason=reason)
    return decision


def tasks(config) -> list[queue.Task]:
    """The automatic decisions' job, for the sandbox's queue."""
    return [queue.Task(AUTO_DECIDE, decide_application)]


def schedule(application_id: int, delay: float = 0) -> None:
    """Queue the automatic decision on an application, `delay` seconds from now."""
    queue.enqueue(AUTO_DECIDE, application_id, delay=delay)


def decide_application(application_id: int, at: dt.datetime | None = None) -> Decision | None:
    """The automatic-decision job's body; a step the lifecycle refuses is logged, not raised."""
    application = db.session.get(Application, application_id)
    if application is None:
        log.warning("Application %s no longer exists: no automatic decision", application_id)
        return None
    try:
        return decide(application, at)
    except (lifecycle.NotAllowed, inbox.Conflict, inbox.UnknownApplication, Refused) as error:
        db.session.rollback()
        log.warning("Automatic decision on application %s stopped: %s", application.number, error)
        return None


def _start(award: Award, application: Application, registries, today: dt.date) -> dt.date:
    if award.starts.startswith("birth:"):
        iin = (application.answers or {}).get(award.starts.partition(":")[2])
        person = registries.person(str(iin)) if iin else None
        if person is not None:
            return person.birth_date
    return today


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, monthrange(year, month)[1]))
