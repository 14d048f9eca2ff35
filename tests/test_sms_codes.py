"""One-time SMS codes: issuing, checking, the citizen's limits, binding and storage.

The clock is passed as `now=` (or `webapp.clock.now` is monkeypatched), so
nothing here sleeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext

from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY
from webapp.extensions import db
from webapp.models import OneTimeCode, SmsFailure, SmsMessage
from webapp.sms import codes, outbox

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
IIN = MOTHER_WITH_BABY  # phone +77011234567
OTHER_IIN = "811108409267"  # another test citizen with a phone
DOC_A = codes.document_digest(b"<application>A</application>")
DOC_B = codes.document_digest(b"<application>B</application>")
SIGN = codes.SIGN_APPLICATION


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


class Phone:
    """Receives the codes, as the citizen's phone would."""

    def __init__(self):
        self.codes: list[str] = []

    def text(self, code: str) -> str:
        self.codes.append(code)
        return f"Code {code} to sign your application; do not share it with anyone."

    @property
    def last(self) -> str:
        return self.codes[-1]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def phone():
    return Phone()


def send(phone: Phone, now: dt.datetime, iin: str = IIN, document: str = DOC_A, purpose: str = SIGN):
    """Issue a code; returns the challenge and the code the phone got."""
    challenge = codes.issue(iin, purpose, document, None, phone.text, now=now)
    assert isinstance(challenge, codes.Challenge), challenge
    return challenge, phone.last


def enter(challenge, entered: str, now: dt.datetime, iin: str = IIN, document: str = DOC_A, purpose: str = SIGN):
    return codes.check(challenge.id, iin, purpose, document, entered, now=now)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# ── the code and how it is stored ───────────────────────────────────────


def test_a_code_is_six_digits_sent_to_the_registered_phone(ctx, phone):
    challenge, code = send(phone, T0)
    assert re.fullmatch(r"\d{6}", code)
    assert challenge.phone == "+77011234567"
    assert challenge.masked_phone == "+7 701 *** ** 67"
    assert challenge.expires_at == at(300)
    assert challenge.attempts_left == 5
    assert challenge.delivery == "sent"
    assert len(challenge.id) >= 20  # random and unguessable, for the URL
    [message] = outbox.messages(iin=IIN)
    assert message.phone == "+77011234567" and code in message.text and message.purpose == SIGN


def test_codes_come_from_secrets_and_keep_leading_zeros(ctx, phone, monkeypatch):
    calls = []
    monkeypatch.setattr(codes.secrets, "randbelow", lambda n: calls.append(n) or 7)
    send(phone, T0)
    assert calls == [1_000_000]
    assert phone.last == "000007"


def test_the_code_is_stored_only_as_a_keyed_hash(ctx, phone, monkeypatch):
    monkeypatch.setattr(codes.secrets, "randbelow", lambda n: 482913)
    challenge, code = send(phone, T0)
    assert code == "482913"
    row = db.session.scalar(db.select(OneTimeCode).filter_by(public_id=challenge.id))
    values = [str(getattr(row, column.key)) for column in OneTimeCode.__table__.columns]
    assert not [value for value in values if code in value]
    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()
    assert len(row.code_hash) == 64
    # Bound to its row: the same code on another challenge hashes differently.
    other, _ = send(phone, at(60))
    other_row = db.session.scalar(db.select(OneTimeCode).filter_by(public_id=other.id))
    assert other_row.code_hash != row.code_hash


# ── lifetime and single use ─────────────────────────────────────────────


def test_a_code_is_good_for_five_minutes(ctx, phone):
    first, code = send(phone, T0)
    assert enter(first, code, at(300)).kind == "expired"
    second, code = send(phone, at(301))
    assert enter(second, code, at(301 + 299)).kind == "ok"


def test_a_code_is_used_once(ctx, phone):
    challenge, code = send(phone, T0)
    assert enter(challenge, code, at(10)).ok
    assert enter(challenge, code, at(11)).kind == "used"
    assert codes.get(challenge.id, IIN).used


@pytest.mark.parametrize("typed", ["{0} {1}", "{0}-{1}", " {0}{1} ", "{0} - {1}", "{0}\u00a0{1}", "{0}\u2011{1}"])
def test_spaces_and_hyphens_in_the_code_are_accepted(ctx, phone, typed):
    challenge, code = send(phone, T0)
    assert enter(challenge, typed.format(code[:3], code[3:]), at(5)).ok


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", "１２３４５６"])
def test_an_entry_that_is_not_six_digits_is_not_counted(ctx, phone, typed):
    challenge, code = send(phone, T0)
    outcome = enter(challenge, typed, at(5))
    assert outcome.kind == "malformed" and outcome.attempts_left == 5
    assert codes.status(IIN, now=at(5)).failures == 0
    assert enter(challenge, code, at(6)).ok


# ── wrong codes ─────────────────────────────────────────────────────────


def test_wrong_codes_count_down_and_five_kill_the_code(ctx, phone):
    challenge, code = send(phone, T0)
    for left in (4, 3, 2, 1):
        outcome = enter(challenge, wrong(code), at(10))
        assert (outcome.kind, outcome.attempts_left) == ("wrong", left)
    assert enter(challenge, wrong(code), at(11)).kind == "too_many_attempts"
    # Dead: even the right code is refused now.
    assert enter(challenge, code, at(12)).kind == "too_many_attempts"
    assert codes.get(challenge.id, IIN).attempts_left == 0
    assert codes.status(IIN, now=at(12)).failures == 5


def test_the_right_code_does_not_use_up_an_attempt(ctx, phone):
    challenge, code = send(phone, T0)
    enter(challenge, wrong(code), at(1))
    assert enter(challenge, code, at(2)).ok
    row = db.session.scalar(db.select(OneTimeCode).filter_by(public_id=challenge.id))
    assert row.failed_attempts == 1


def _stale(monkeypatch, challenge):
    """This request read the row before other requests changed it."""
    snapshot = db.session.scalar(db.select(OneTimeCode).filter_by(public_id=challenge.id))
    stale = SimpleNamespace(**{c.key: getattr(snapshot, c.key) for c in OneTimeCode.__table__.columns})
    monkeypatch.setattr(codes, "_find", lambda challenge_id: stale)


def test_parallel_guesses_get_no_more_than_five_comparisons(ctx, phone, monkeypatch):
    challenge, code = send(phone, T0)
    _stale(monkeypatch, challenge)
    db.session.execute(db.update(OneTimeCode).values(failed_attempts=5))
    db.session.commit()
    # Five guesses already reserved the attempts: this one is not compared, right or not.
    assert enter(challenge, code, at(5)).kind == "too_many_attempts"


def test_the_right_code_sent_twice_at_once_confirms_once(ctx, phone, monkeypatch):
    challenge, code = send(phone, T0)
    _stale(monkeypatch, challenge)
    db.session.execute(db.update(OneTimeCode).values(used_at=at(4)))
    db.session.commit()
    assert enter(challenge, code, at(5)).kind == "used"


# ── limits per citizen ──────────────────────────────────────────────────


def test_another_code_only_after_sixty_seconds(ctx, phone):
    send(phone, T0)
    refusal = codes.issue(IIN, SIGN, DOC_A, None, phone.text, now=at(59))
    assert (refusal.reason, refusal.retry_after) == ("cool_down", 1)
    assert not refusal.ok
    assert codes.status(IIN, purpose=SIGN, document_sha256=DOC_A, now=at(30)).cool_down_seconds == 30
    send(phone, at(60))
    # Another citizen is not held up.
    send(phone, at(61), iin=OTHER_IIN)


def test_the_pause_is_per_application(ctx, phone):
    """Issue 13: a code for the next application right after signing another is not "just sent"."""
    send(phone, T0)
    other = codes.issue(IIN, SIGN, DOC_B, None, phone.text, now=at(10))
    assert other.ok and other.document_sha256 == DOC_B
    assert codes.issue(IIN, codes.CHANGE_PHONE, DOC_A, None, phone.text, now=at(11)).ok
    assert codes.status(IIN, purpose=SIGN, document_sha256=DOC_B, now=at(30)).cool_down_seconds == 40
    assert codes.status(IIN, purpose=SIGN, document_sha256=DOC_A, now=at(30)).cool_down_seconds == 30
    assert codes.issue(IIN, SIGN, DOC_B, None, phone.text, now=at(30)).reason == "cool_down"
    # The hourly limit still counts every code of the citizen.
    assert codes.status(IIN, now=at(30)).codes_left_this_hour == 2


def test_at_most_five_codes_an_hour(ctx, phone):
    for minute in range(5):
        send(phone, at(60 * minute))
    status = codes.status(IIN, now=at(300))
    assert status.codes_left_this_hour == 0 and status.next_code_in == 3300
    refusal = codes.issue(IIN, SIGN, DOC_A, None, phone.text, now=at(300))
    assert (refusal.reason, refusal.retry_after, refusal.until) == ("too_many_codes", 3300, at(3600))
    assert codes.issue(IIN, SIGN, DOC_A, None, phone.text, now=at(3599)).reason == "too_many_codes"
    send(phone, at(3600))


def test_ten_wrong_codes_in_a_day_lock_sms_codes_and_a_new_code_does_not_reset_them(ctx, phone):
    first, code = send(phone, T0)
    for _ in range(5):
        enter(first, wrong(code), at(10))
    # A new code: a fresh five attempts, but the citizen's count goes on.
    second, code = send(phone, at(60))
    for _ in range(4):
        assert enter(second, wrong(code), at(70)).kind == "wrong"
    assert codes.status(IIN, now=at(70)).failures == 9
    assert not codes.status(IIN, now=at(70)).locked
    outcome = enter(second, wrong(code), at(80))
    assert (outcome.kind, outcome.locked_until) == ("locked", at(80 + 86400))

    # Locked for the day: no checking (not even the right code) and no new codes.
    assert enter(second, code, at(90)).kind == "locked"
    refusal = codes.issue(IIN, SIGN, DOC_A, None, phone.text, now=at(120))
    assert (refusal.reason, refusal.until, refusal.retry_after) == ("locked", at(80 + 86400), 86400 - 40)
    assert codes.status(IIN, now=at(86400 + 79)).locked
    # Other citizens are not affected.
    send(phone, at(130), iin=OTHER_IIN)

    # A day after the tenth failure it is over, and the old failures no longer count.
    third, code = send(phone, at(86400 + 80))
    assert codes.status(IIN, now=at(86400 + 80)).failures == 0
    assert enter(third, wrong(code), at(86400 + 90)).kind == "wrong"
    assert enter(third, code, at(86400 + 91)).ok


def test_failures_spread_over_more_than_a_day_do_not_lock(ctx, phone):
    for hour in range(10):
        challenge, code = send(phone, at(hour * 3 * 3600))
        assert enter(challenge, wrong(code), at(hour * 3 * 3600 + 5)).kind == "wrong"
    assert not codes.status(IIN, now=at(27 * 3600 + 6)).locked


# ── binding ─────────────────────────────────────────────────────────────


def test_a_code_confirms_only_its_citizen_purpose_and_document(ctx, phone):
    challenge, code = send(phone, T0)
    assert enter(challenge, code, at(5), document=DOC_B).kind == "other_document"
    assert enter(challenge, code, at(5), purpose=codes.CHANGE_PHONE).kind == "other_subject"
    assert enter(challenge, code, at(5), iin=OTHER_IIN).kind == "not_yours"
    assert codes.check("no-such-challenge", IIN, SIGN, DOC_A, code, now=at(5)).kind == "not_yours"
    assert codes.get(challenge.id, OTHER_IIN) is None
    # None of that was a guess at the code: nothing counted.
    assert codes.get(challenge.id, IIN).attempts_left == 5
    assert codes.status(IIN, now=at(5)).failures == 0
    assert enter(challenge, code, at(6)).ok


def test_a_code_for_another_subject_says_so_not_that_the_document_changed(ctx, phone):
    challenge = codes.issue(IIN, SIGN, DOC_A, None, phone.text, subject="application:child-care-under-one", now=T0)
    code = phone.last
    check = lambda subject, document=DOC_A: codes.check(  # noqa: E731
        challenge.id, IIN, SIGN, document, code, subject=subject, now=at(5))
    assert check("application:maternity-and-adoption", DOC_B).kind == "other_subject"
    assert check("application:child-care-under-one", DOC_B).kind == "other_document"
    assert codes.get(challenge.id, IIN).attempts_left == 5  # neither counted as a guess
    assert check("application:child-care-under-one").ok


def test_a_used_code_says_used_whatever_it_is_entered_for(ctx, phone):
    challenge, code = send(phone, T0)
    assert enter(challenge, code, at(5)).ok
    assert enter(challenge, code, at(6), document=DOC_B).kind == "used"
    assert enter(challenge, code, at(6), purpose=codes.CHANGE_PHONE).kind == "used"


def test_two_codes_in_flight_are_independent(ctx, phone):
    """Two tabs, two documents: each code confirms its own document."""
    for_a, code_a = send(phone, T0, document=DOC_A)
    for_b, code_b = send(phone, at(60), document=DOC_B)
    assert enter(for_a, code_b, at(61), document=DOC_A).kind == "wrong"
    assert enter(for_b, code_b, at(62), document=DOC_B).ok
    assert enter(for_a, code_a, at(63), document=DOC_A).ok


def test_a_resent_code_does_not_cancel_the_first_but_a_document_is_confirmed_once(ctx, phone):
    first, first_code = send(phone, T0)
    resent, resent_code = send(phone, at(60))
    # The first SMS arrived late: it still works.
    assert enter(first, first_code, at(70)).ok
    assert enter(resent, resent_code, at(71)).kind == "used"


def test_issuing_checks_the_document_digest(ctx, phone):
    with pytest.raises(ValueError):
        codes.issue(IIN, SIGN, "not-a-digest", None, phone.text, now=T0)
    with pytest.raises(ValueError):
        codes.issue(IIN, "", DOC_A, None, phone.text, now=T0)


# ── the clock, phones, texts ────────────────────────────────────────────


def test_the_clock_is_webapp_clock_now(ctx, phone, monkeypatch):
    from webapp import clock

    monkeypatch.setattr(clock, "now", lambda: T0)
    challenge = codes.issue(IIN, SIGN, DOC_A, None, phone.text)
    assert challenge.expires_at == at(300)
    monkeypatch.setattr(clock, "now", lambda: at(301))
    assert codes.check(challenge.id, IIN, SIGN, DOC_A, phone.last).kind == "expired"


def test_no_code_without_a_phone_or_a_gateway(ctx, phone, monkeypatch):
    assert codes.issue(CITIZEN_WITHOUT_PHONE, SIGN, DOC_A, None, phone.text, now=T0).reason == "no_phone"
    # A phone being confirmed is passed explicitly.
    challenge = codes.issue(CITIZEN_WITHOUT_PHONE, codes.CHANGE_PHONE, DOC_A, "+77010000001", phone.text, now=T0)
    assert challenge.phone == "+77010000001"
    monkeypatch.setitem(ctx.extensions, "sms_gateway", None)
    assert codes.issue(IIN, SIGN, DOC_A, None, phone.text, now=T0).reason == "unavailable"
    assert len(phone.codes) == 1  # refusals make no code


def test_a_failed_sms_shows_on_the_challenge(ctx, phone, monkeypatch):
    from webapp.sms.gateways import PermanentFailure

    class Refusing:
        name, keeps_text = "refusing", False

        def send(self, sms):
            raise PermanentFailure("gateway answered HTTP 400: unknown subscriber")

    monkeypatch.setitem(ctx.extensions, "sms_gateway", Refusing())
    challenge, code = send(phone, T0)
    assert challenge.delivery == "failed"
    assert codes.get(challenge.id, IIN).delivery == "failed"
    message = db.session.scalar(db.select(SmsMessage).filter_by(iin=IIN))
    assert "unknown subscriber" in message.last_error
    # The real gateway's outbox does not keep the code once the message is done with.
    assert code not in message.text and outbox.REDACTED in message.text


def test_the_sms_text_names_the_service_in_the_citizens_language(ctx, monkeypatch):
    from webapp.services import find

    service = find("child-care-under-one")
    with force_locale("ru"):
        russian_name = gettext(service.short_name)
    assert russian_name != service.short_name
    monkeypatch.setattr(codes.secrets, "randbelow", lambda n: 123456)
    challenge = codes.issue(IIN, SIGN, DOC_A, None, codes.signing_text(service.short_name, "ru"), now=T0)
    [message] = outbox.messages(iin=IIN)
    assert "123456" in message.text and russian_name in message.text
    english = codes.signing_text(service.short_name, "en")("123456")
    assert english == (
        "Code 123456 to sign your application for Child care payment until the child turns one; "
        "do not share it with anyone."
    )
    assert "123456" in codes.change_phone_text("kk")("123456")
    assert challenge.delivery == "sent"


def test_phones_are_masked():
    assert codes.mask_phone("+77011234567") == "+7 701 *** ** 67"
    assert codes.mask_phone("12345") == "***45"


def test_old_codes_and_failures_are_purged(ctx, phone):
    challenge, code = send(phone, T0)
    enter(challenge, wrong(code), at(5))
    assert codes.purge(now=at(86400)) == 0
    assert codes.purge(now=at(3 * 86400)) == 2
    assert db.session.scalar(db.select(db.func.count()).select_from(SmsFailure)) == 0
