"""One-time codes sent by SMS, for citizens who sign without EDS.

The rules (numbers from webapp/config.py):

- A code is 6 digits from `secrets`, valid OTP_LIFETIME_SECONDS (5 minutes)
  and used once.
- It is bound to the citizen (IIN), the purpose ("sign-application",
  "change-phone", ...) and the SHA-256 of the exact document: a code issued
  for document A cannot confirm document B, another citizen's challenge or
  another purpose. It also names what it signs (`subject`: an application's
  service, a request), so that a code entered for another one is told as
  that, and a used code as used, rather than as a changed document.
- OTP_MAX_ATTEMPTS (5) wrong entries kill the code.
- Per citizen: at most OTP_MAX_PER_HOUR (5) codes in any hour. Per
  purpose and document (one application, one request, one new phone):
  OTP_RESEND_SECONDS (60) between two codes, so a citizen who has just
  signed one application can ask at once for the next one's code.
- OTP_DAILY_FAILURE_LOCK (10) wrong entries within OTP_LOCK_SECONDS (24
  hours) lock SMS codes for that citizen for OTP_LOCK_SECONDS from the
  10th (EDS still works). Failures are counted per citizen, not per code,
  so a new code never resets them.
- Entered codes may contain spaces and hyphens: "123 456", "123-456".

Two codes in flight (two tabs, or "send the code again"): each code is
independent, bound to its own document and valid until it expires, is
used or is killed by wrong entries. A resend does not cancel the earlier
code, since SMS can arrive late or out of order. Once a code confirms a
document, the citizen's other live codes for that same purpose and
document are retired with it: a document is confirmed once.

Storage: only HMAC-SHA256 of the code, keyed from the app's SECRET_KEY and
bound to the challenge id, IIN, purpose and document digest. Not scrypt: a
6-digit code has a million values, so a slow hash cannot stop anyone who
holds the hash from trying them all (a million scrypt runs is hours, not
years), while it would cost CPU on every check and make checking a
denial-of-service lever. What protects the code is a key the database does
not hold: with the HMAC, a copy of the table alone is useless, and the
code is dead within five minutes anyway. Binding the HMAC to the row's
context means a hash cannot be copied onto another challenge.

Concurrency: an entry first reserves an attempt with one conditional
UPDATE (failed_attempts < OTP_MAX_ATTEMPTS) and only then compares, so
parallel requests get no more than OTP_MAX_ATTEMPTS comparisons per code;
using a code is another conditional UPDATE (used_at IS NULL), so the right
code sent twice at once confirms once. Issuing locks the citizen's account
row (PostgreSQL) while it counts, so two parallel requests cannot both
pass the cool-down.

Every function takes `now`, defaulting to `webapp.clock.now()`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from typing import Callable, Literal

from flask import current_app
from flask_babel import force_locale, gettext

from webapp import clock
from webapp.extensions import db
from webapp.models import CitizenAccount, MobilePhone, OneTimeCode, SmsFailure, SmsMessage
from webapp.sms import gateways, outbox

SIGN_APPLICATION = "sign-application"
CHANGE_PHONE = "change-phone"
CODE_LENGTH = 6

RefusalReason = Literal["cool_down", "too_many_codes", "locked", "no_phone", "unavailable"]
OutcomeKind = Literal[
    "ok", "wrong", "malformed", "expired", "used", "too_many_attempts", "locked", "not_yours", "other_subject",
    "other_document",
]


@dataclass(frozen=True)
class Challenge:
    """A code that was issued (the code itself is only in the SMS)."""

    id: str  # public id, for the URL or a hidden field
    iin: str
    purpose: str
    document_sha256: str
    phone: str
    created_at: dt.datetime
    expires_at: dt.datetime
    attempts_left: int
    used: bool
    # The SMS: queued, sending, retrying (an attempt failed, another is due), sent or failed
    # ("failed": tell the citizen, offer EDS or a new code).
    delivery: str

    ok = True

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def seconds_left(self, now: dt.datetime | None = None) -> int:
        return max(0, math.ceil((self.expires_at - _now(now)).total_seconds()))


@dataclass(frozen=True)
class Refusal:
    """No code was issued.

    cool_down: another code for the same purpose and document was sent less
    than OTP_RESEND_SECONDS ago;
    too_many_codes: OTP_MAX_PER_HOUR codes in the last hour; locked: too many
    wrong codes today (EDS still works); no_phone: no phone registered for
    the IIN; unavailable: SMS codes are off. `retry_after`: seconds until a
    code can be issued (0 when waiting does not help).
    """

    reason: RefusalReason
    retry_after: int = 0
    until: dt.datetime | None = None

    ok = False


@dataclass(frozen=True)
class Outcome:
    """What an entered code did.

    ok: confirmed (the code is now used); wrong: not the code,
    `attempts_left` more tries; malformed: not 6 digits (not counted);
    expired; used; too_many_attempts: the code is dead, ask for a new one;
    locked: too many wrong codes today (until `locked_until`; EDS still
    works); not_yours: no such challenge for this citizen; other_subject:
    the code was sent for something else (another application or request,
    another purpose); other_document: for this one, but the document changed
    since the code was sent (ask for a new code). A used code is "used"
    whatever it is entered for.
    """

    kind: OutcomeKind
    attempts_left: int = 0
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


@dataclass(frozen=True)
class Status:
    """A citizen's SMS-code limits right now."""

    cool_down_seconds: int  # until the resend pause for the purpose and document asked about is over
    codes_left_this_hour: int
    next_code_in: int  # seconds until issue() would not refuse for the pause or the hourly limit
    failures: int  # wrong entries within the lock window
    locked_until: dt.datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


# ── issuing ─────────────────────────────────────────────────────────────


def issue(
    iin: str,
    purpose: str,
    document_sha256: str,
    phone: str | None,
    text_for_code: Callable[[str], str],
    *,
    subject: str | None = None,
    now: dt.datetime | None = None,
) -> Challenge | Refusal:
    """Make a code for this citizen, purpose and document, and queue the SMS that carries it.

    `phone`: where to send it; None means the phone registered for the IIN
    (a new phone being confirmed is passed explicitly). `text_for_code`
    turns the code into the SMS text, e.g. `signing_text(service, language)`.
    `subject`: what the document is ("application:<service>"), so that the
    code entered for another one is told as that. Commits the session (as
    `check()` does).
    """
    now = _now(now)
    _check_binding(purpose, document_sha256)
    if not gateways.available():
        return Refusal("unavailable")
    phone = phone or registered_phone(iin)
    if not phone:
        return Refusal("no_phone")
    config = current_app.config

    # Serialise issuing per citizen where the database can (PostgreSQL).
    db.session.execute(db.select(CitizenAccount.id).filter_by(iin=iin).with_for_update())
    limits = status(iin, purpose=purpose, document_sha256=document_sha256, now=now)
    refusal = None
    if limits.locked:
        refusal = Refusal("locked", _seconds(limits.locked_until - now), limits.locked_until)
    elif limits.cool_down_seconds:
        refusal = Refusal("cool_down", limits.cool_down_seconds, now + dt.timedelta(seconds=limits.cool_down_seconds))
    elif limits.codes_left_this_hour <= 0:
        refusal = Refusal("too_many_codes", limits.next_code_in, now + dt.timedelta(seconds=limits.next_code_in))
    if refusal:
        db.session.commit()  # ends the transaction holding the lock
        return refusal

    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    row = OneTimeCode(
        public_id=outbox.new_public_id(),
        iin=iin,
        purpose=purpose,
        document_sha256=document_sha256,
        subject=subject,
        phone=phone,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=config["OTP_LIFETIME_SECONDS"]),
        failed_attempts=0,
    )
    row.code_hash = _digest(row, code)
    message = outbox.create(phone, text_for_code(code), purpose=purpose, iin=iin, now=now, redact=code)
    row.message_id = message.id
    db.session.add(row)
    db.session.commit()
    outbox.send(message, redact=code)
    return _challenge(row)


def status(iin: str, *, purpose: str | None = None, document_sha256: str | None = None,
           now: dt.datetime | None = None) -> Status:
    """The citizen's codes left this hour and daily lock, and the resend pause for one purpose and document.

    Without a purpose and document there is no pause to tell (cool_down_seconds is 0).
    """
    now = _now(now)
    config = current_app.config
    per_hour = config["OTP_MAX_PER_HOUR"]
    rows = db.session.execute(
        db.select(OneTimeCode.created_at, OneTimeCode.purpose, OneTimeCode.document_sha256)
        .where(OneTimeCode.iin == iin, OneTimeCode.created_at > now - dt.timedelta(hours=1))
        .order_by(OneTimeCode.created_at)
    ).all()
    issued = [_utc(row.created_at) for row in rows]
    same = [_utc(row.created_at) for row in rows if (row.purpose, row.document_sha256) == (purpose, document_sha256)]
    cool_down = 0
    if same:
        cool_down = _seconds(same[-1] + dt.timedelta(seconds=config["OTP_RESEND_SECONDS"]) - now)
    hourly_wait = 0
    if len(issued) >= per_hour:
        # Free again when the oldest of the last `per_hour` codes is an hour old.
        hourly_wait = _seconds(issued[len(issued) - per_hour] + dt.timedelta(hours=1) - now)
    locked_until, failures = _lock(iin, now)
    return Status(
        cool_down_seconds=cool_down,
        codes_left_this_hour=max(0, per_hour - len(issued)),
        next_code_in=max(cool_down, hourly_wait),
        failures=failures,
        locked_until=locked_until,
    )


def _lock(iin: str, now: dt.datetime) -> tuple[dt.datetime | None, int]:
    """Until when SMS codes are locked for the citizen (None: not locked), and failures in the window."""
    config = current_app.config
    threshold = config["OTP_DAILY_FAILURE_LOCK"]
    window = dt.timedelta(seconds=config["OTP_LOCK_SECONDS"])
    # A lock that is still on began with a failure within the last window, and
    # counted failures up to a window before that.
    times = [
        _utc(moment)
        for moment in db.session.scalars(
            db.select(SmsFailure.at)
            .where(SmsFailure.iin == iin, SmsFailure.at > now - 2 * window, SmsFailure.at <= now)
            .order_by(SmsFailure.at)
        )
    ]
    locked_until = None
    for last in range(threshold - 1, len(times)):
        if times[last] - times[last - threshold + 1] < window:
            until = times[last] + window
            if until > now and (locked_until is None or until > locked_until):
                locked_until = until
    recent = sum(1 for moment in times if moment > now - window)
    return locked_until, recent


# ── checking ────────────────────────────────────────────────────────────


def check(
    challenge_id: str,
    iin: str,
    purpose: str,
    document_sha256: str,
    entered: str,
    *,
    subject: str | None = None,
    now: dt.datetime | None = None,
    commit: bool = True,
) -> Outcome:
    """Check a code the citizen entered for this challenge, purpose and document
    (and subject, when the code was issued with one).

    commit=False leaves the right code's use uncommitted, in the caller's
    transaction: the caller commits it with what the code confirms (the
    application), so a process that dies in between leaves the code unused
    and the citizen's resubmitted form works, instead of "already used" with
    nothing sent. Failed tries are always committed here.
    """
    now = _now(now)
    config = current_app.config
    max_attempts = config["OTP_MAX_ATTEMPTS"]
    row = _find(challenge_id)
    if row is None or row.iin != iin:
        return Outcome("not_yours")
    if row.used_at is not None:
        return Outcome("used")
    if row.purpose != purpose or (row.subject and subject and row.subject != subject):
        return Outcome("other_subject")
    if row.document_sha256 != document_sha256:
        return Outcome("other_document")
    locked_until, _failures = _lock(iin, now)
    if locked_until:
        return Outcome("locked", locked_until=locked_until)
    if row.failed_attempts >= max_attempts:
        return Outcome("too_many_attempts")
    if now >= _utc(row.expires_at):
        return Outcome("expired")
    code = normalise(entered)
    if code is None:
        return Outcome("malformed", attempts_left=max_attempts - row.failed_attempts)

    # Reserve the attempt before comparing: parallel guesses get no more than max_attempts.
    reserved = db.session.execute(
        db.update(OneTimeCode)
        .where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None), OneTimeCode.failed_attempts < max_attempts)
        .values(failed_attempts=OneTimeCode.failed_attempts + 1)
    ).rowcount
    db.session.commit()
    if not reserved:
        used_at = db.session.scalar(db.select(OneTimeCode.used_at).where(OneTimeCode.id == row.id))
        return Outcome("used" if used_at is not None else "too_many_attempts")

    if hmac.compare_digest(_digest(row, code), row.code_hash):
        confirmed = db.session.execute(
            db.update(OneTimeCode)
            .where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None))
            .values(used_at=now, failed_attempts=OneTimeCode.failed_attempts - 1)
        ).rowcount
        if confirmed:
            # The document is confirmed once: its other live codes are retired.
            db.session.execute(
                db.update(OneTimeCode)
                .where(
                    OneTimeCode.iin == iin,
                    OneTimeCode.purpose == purpose,
                    OneTimeCode.document_sha256 == row.document_sha256,
                    OneTimeCode.used_at.is_(None),
                    OneTimeCode.id != row.id,
                )
                .values(used_at=now)
            )
        if commit or not confirmed:
            db.session.commit()
        return Outcome("ok") if confirmed else Outcome("used")

    db.session.add(SmsFailure(iin=iin, at=now))
    db.session.commit()
    locked_until, _failures = _lock(iin, now)
    if locked_until:
        return Outcome("locked", locked_until=locked_until)
    left = max(0, max_attempts - row.failed_attempts)
    return Outcome("wrong", attempts_left=left) if left else Outcome("too_many_attempts")


def normalise(entered: str | None) -> str | None:
    """The 6 digits of an entered code without spaces or hyphens; None if it is not 6 digits."""
    cleaned = re.sub(r"[\s\-‐-―]", "", entered or "")
    return cleaned if re.fullmatch(rf"[0-9]{{{CODE_LENGTH}}}", cleaned) else None


def get(challenge_id: str, iin: str) -> Challenge | None:
    """The citizen's challenge by its public id (for a page showing where the code went)."""
    row = _find(challenge_id)
    if row is None or row.iin != iin:
        return None
    return _challenge(row)


# ── texts and helpers ───────────────────────────────────────────────────


def signing_text(service_name: str, language: str) -> Callable[[str], str]:
    """The SMS text for signing an application, in the citizen's language.

    `service_name`: the service's short name as written in its definition
    (English; translated here like the `t` filter does).
    """

    def text(code: str) -> str:
        with force_locale(language):
            return gettext(
                "Code %(code)s to sign your application for %(service)s; do not share it with anyone.",
                code=code,
                service=gettext(service_name),
            )

    return text


def change_phone_text(language: str) -> Callable[[str], str]:
    """The SMS text confirming a new phone number, in the citizen's language."""

    def text(code: str) -> str:
        with force_locale(language):
            return gettext("Code %(code)s to confirm this phone number for Qyzmet; do not share it with anyone.", code=code)

    return text


def registered_phone(iin: str) -> str | None:
    """The phone the mobile citizens database has for the IIN."""
    return db.session.scalar(db.select(MobilePhone.phone).filter_by(iin=iin))


def mask_phone(phone: str) -> str:
    """+77011234567 → +7 701 *** ** 67: enough to recognise, not to read out."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 11 and digits.startswith("7"):
        return f"+7 {digits[1:4]} *** ** {digits[-2:]}"
    return "*" * max(0, len(digits) - 2) + digits[-2:]


def document_digest(document: bytes) -> str:
    """The SHA-256 a code is bound to: of the exact bytes the citizen confirms."""
    return hashlib.sha256(document).hexdigest()


def purge(*, now: dt.datetime | None = None) -> int:
    """Delete codes and failures too old to count for any limit; returns how many rows went."""
    now = _now(now)
    horizon = now - 2 * dt.timedelta(seconds=current_app.config["OTP_LOCK_SECONDS"])
    deleted = db.session.execute(db.delete(OneTimeCode).where(OneTimeCode.expires_at < horizon)).rowcount
    deleted += db.session.execute(db.delete(SmsFailure).where(SmsFailure.at < horizon)).rowcount
    db.session.commit()
    return deleted


def _challenge(row: OneTimeCode) -> Challenge:
    message = db.session.get(SmsMessage, row.message_id) if row.message_id else None
    return Challenge(
        id=row.public_id,
        iin=row.iin,
        purpose=row.purpose,
        document_sha256=row.document_sha256,
        phone=row.phone,
        created_at=_utc(row.created_at),
        expires_at=_utc(row.expires_at),
        attempts_left=max(0, current_app.config["OTP_MAX_ATTEMPTS"] - row.failed_attempts),
        used=row.used_at is not None,
        delivery=_delivery(message),
    )


def _delivery(message: SmsMessage | None) -> str:
    """The SMS's state as the password page tells it: "retrying" once an attempt has failed and another is due."""
    if message is None:
        return "failed"
    if message.status == "queued" and message.last_error:
        return "retrying"
    return message.status


def _find(challenge_id: str) -> OneTimeCode | None:
    if not challenge_id or len(challenge_id) > 32:
        return None
    return db.session.scalar(db.select(OneTimeCode).filter_by(public_id=challenge_id))


def _check_binding(purpose: str, document_sha256: str) -> None:
    if not purpose or len(purpose) > 40:
        raise ValueError("purpose must be a short name such as 'sign-application'")
    if not re.fullmatch(r"[0-9a-f]{64}", document_sha256 or ""):
        raise ValueError("document_sha256 must be a SHA-256 hex digest (lower case)")


def _digest(row: OneTimeCode, code: str) -> str:
    """HMAC-SHA256 of the code, bound to its challenge (see the module's docstring)."""
    secret = current_app.config["SECRET_KEY"]
    key = hmac.new(secret.encode() if isinstance(secret, str) else secret, b"qyzmet one-time code", hashlib.sha256).digest()
    message = "\x00".join((row.public_id, row.iin, row.purpose, row.document_sha256, code)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _now(now: dt.datetime | None) -> dt.datetime:
    return _utc(now if now is not None else clock.now())


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _seconds(delta: dt.timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds()))
