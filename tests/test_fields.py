"""Every field type's checks, with good and bad input, and normalisation properties."""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schwifty import IBAN

from tests.journeys import FILES
from webapp.identifiers import make_iin
from webapp.services.fields import (
    Context,
    Field,
    FieldError,
    FileAnswer,
    GroupErrors,
    Upload,
    check_iban,
    check_iin,
    check_money,
    check_phone,
    sanitise_filename,
)

TODAY = dt.date(2026, 11, 23)
OWN = "KZ435639722818662011"
SOMEONE_ELSES = "KZ697226410457500407"
PDF = (FILES / "certificate.pdf").read_bytes()
PNG = (FILES / "scan.png").read_bytes()


def context(holders=None) -> Context:
    holders = holders or {OWN: "900517401370", SOMEONE_ELSES: "870902304006"}
    return Context(iin="900517401370", today=TODAY, bank_account_holder=holders.get,
                   options=lambda source: [("a", "A")])


def error_code(call) -> str:
    with pytest.raises(FieldError) as caught:
        call()
    return caught.value.code


@pytest.fixture(autouse=True)
def _request(app):
    """Messages and dates are formatted in a request's language."""
    with app.test_request_context("/en/"):
        yield


# IIN

def test_iin_accepts_spaces_and_hyphens():
    assert check_iin(" 900517-401 370 ", TODAY) == "900517401370"


@pytest.mark.parametrize("text,code", [
    ("90051740137", "iin_digits"),
    ("9005174013701", "iin_digits"),
    ("90051740137a", "iin_digits"),
    ("900517401371", "iin_invalid"),   # wrong check digit
    ("901317401370", "iin_invalid"),   # month 13
])
def test_iin_refuses(text, code):
    assert error_code(lambda: check_iin(text, TODAY)) == code


def test_an_iin_born_in_the_future_is_not_plausible():
    future = make_iin(dt.date(2027, 1, 5), "male", 1)
    assert error_code(lambda: check_iin(future, TODAY)) == "iin_invalid"


@given(
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY),
    sex=st.sampled_from(["male", "female"]),
    serial=st.integers(0, 9000),
    noise=st.lists(st.sampled_from([" ", "-", "  ", "\u2011"]), min_size=12, max_size=12),
)
def test_iin_normalisation_keeps_every_valid_iin(born, sex, serial, noise):
    iin = make_iin(born, sex, serial)
    typed = "".join(d + n for d, n in zip(iin, noise))
    assert check_iin(typed, TODAY) == iin


# IBAN

def test_iban_in_own_name_is_accepted_however_typed():
    assert check_iban("kz43 5639 7228 1866 2011", context()) == OWN
    assert check_iban("KZ43-5639-7228-1866-2011", context()) == OWN


@pytest.mark.parametrize("text,code", [
    ("KZ43563972281866201", "iban_format"),                  # 19 characters
    ("DE89370400440532013000", "iban_format"),               # not Kazakh
    ("KZ445639722818662011", "iban_invalid"),                 # check digits wrong
    (str(IBAN.generate("KZ", bank_code="999", account_code="0000000000000")), "iban_bank"),
    (str(IBAN.generate("KZ", bank_code="125", account_code="KZT5004100100")), "iban_bank"),  # National Bank
    (SOMEONE_ELSES, "iban_not_yours"),
    (str(IBAN.generate("KZ", bank_code="722", account_code="0000000000001")), "iban_unknown"),
])
def test_iban_refuses(text, code):
    assert error_code(lambda: check_iban(text, context())) == code


KZ_BANKS = ["563", "722", "601", "856"]


@given(
    bank=st.sampled_from(KZ_BANKS),
    account=st.text(alphabet=string.digits + string.ascii_uppercase, min_size=13, max_size=13),
    spacing=st.sampled_from([" ", "-", "", "  "]),
    lower=st.booleans(),
)
def test_iban_normalisation(bank, account, spacing, lower):
    iban = str(IBAN.generate("KZ", bank_code=bank, account_code=account))
    typed = spacing.join(iban[i:i + 4] for i in range(0, 20, 4))
    typed = typed.lower() if lower else typed
    assert check_iban(typed, context({iban: "900517401370"})) == iban


# Phone

@pytest.mark.parametrize("text", ["+7 701 123 45 67", "8 701 123 45 67", "87011234567", "+7(701)123-45-67", "7011234567"])
def test_phone_accepts_kazakh_mobile_numbers(text):
    assert check_phone(text) == "+77011234567"


@pytest.mark.parametrize("text", ["", "12345", "+7 727 123 45 67", "+7 495 123 45 67", "+1 202 555 0143", "phone"])
def test_phone_refuses_landlines_foreign_and_junk(text):
    assert error_code(lambda: check_phone(text)) == "phone"


@given(
    operator=st.sampled_from(["700", "701", "702", "705", "707", "747", "771", "775", "776", "777", "778"]),
    rest=st.text(alphabet=string.digits, min_size=7, max_size=7),
    prefix=st.sampled_from(["+7", "8", "+7 ", "8 "]),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_phone_normalisation(operator, rest, prefix, separator):
    typed = prefix + separator.join([operator, rest[:3], rest[3:5], rest[5:]])
    assert check_phone(typed) == f"+7{operator}{rest}"


# Money, numbers, dates, text, choices

@pytest.mark.parametrize("text,amount", [("25000", "25000"), ("25 000,50", "25000.50"), ("₸ 1 000", "1000"), ("300 тг", "300")])
def test_money_accepts(text, amount):
    assert check_money(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", "abc", "-5", "1.234", "1e5", "NaN"])
def test_money_refuses(text):
    assert error_code(lambda: check_money(text)) == "money"


def test_money_range_and_number_range():
    money = Field(id="m", type="money", label="Income", max=100)
    assert money.check("99.5", context()) == "99.50"
    assert error_code(lambda: money.check("100.01", context())) == "money_range"
    number = Field(id="n", type="number", label="People", min=1, max=20)
    assert number.check(" 1 2 ", context()) == 12
    assert error_code(lambda: number.check("21", context())) == "number_range"
    assert error_code(lambda: number.check("2.5", context())) == "number"


def test_dates():
    born = Field(id="d", type="date", label="Date", not_future=True, not_before="2007-08-13")
    assert born.check({"day": "3", "month": "02", "year": "2026"}, context()) == "2026-02-03"
    assert error_code(lambda: born.check({"day": "31", "month": "2", "year": "2026"}, context())) == "date_real"
    assert error_code(lambda: born.check({"day": "1", "month": "", "year": "2026"}, context())) == "date_missing"
    assert error_code(lambda: born.check({"day": "1", "month": "1", "year": "26"}, context())) == "date_real"
    assert error_code(lambda: born.check({"day": "24", "month": "11", "year": "2026"}, context())) == "date_future"
    assert error_code(lambda: born.check({"day": "12", "month": "8", "year": "2007"}, context())) == "date_before"


def test_text_is_trimmed_and_bounded():
    text = Field(id="t", type="text", label="Note", max_length=5)
    assert text.check("  a   b ", context()) == "a b"
    assert error_code(lambda: text.check("abcdef", context())) == "too_long"


def test_choices_only_take_their_options():
    choice = Field(id="c", type="choice", label="Pick", options=(("x", "X"),), other_option="None of these")
    assert choice.check("other", context()) == "other"
    assert error_code(lambda: choice.check("y", context())) == "choose"
    yesno = Field(id="y", type="yesno", label="Yes?")
    assert yesno.check("no", context()) == "no"
    assert error_code(lambda: yesno.check("maybe", context())) == "choose"


def test_messages_name_the_field_and_the_fix():
    field = Field(id="iban", type="iban", label="What is your IBAN?", title="IBAN")
    with pytest.raises(FieldError) as caught:
        field.check(SOMEONE_ELSES, context())
    message = caught.value.message(field.error_title, field.errors)
    assert message.startswith("IBAN: ") and "in your name" in message


def test_a_definition_can_word_its_own_message():
    field = Field(id="n", type="number", label="Children", errors={"number": "Children: write the number in digits"})
    with pytest.raises(FieldError) as caught:
        field.check("two", context())
    assert caught.value.message(field.error_title, field.errors) == "Children: write the number in digits"


# Files

def upload(content: bytes, name: str = "scan.pdf") -> FileAnswer:
    return FileAnswer(new=(Upload(name, content),))


def test_files_are_judged_by_content_and_named_as_it():
    field = Field(id="f", type="file", label="Certificate")
    checked = field.check(upload(PNG, "scan"), context())
    assert checked.new[0].content_type == "image/png" and checked.new[0].original_name == "scan.png"
    assert error_code(lambda: field.check(upload(PNG, "scan.pdf"), context())) == "file_name"
    assert error_code(lambda: field.check(upload(b"MZ\x90\x00 exe", "scan.pdf"), context())) == "file_type"
    assert error_code(lambda: field.check(upload(b"<html>", "scan.png"), context())) == "file_type"


def test_file_size_count_and_emptiness():
    field = Field(id="f", type="file", label="Certificate", max_size_mb=1, max_files=2)
    assert error_code(lambda: field.check(upload(PDF + b"0" * (1024 * 1024)), context())) == "file_size"
    assert error_code(lambda: field.check(upload(b""), context())) == "file_empty"
    three = FileAnswer(kept=("a", "b"), new=(Upload("c.pdf", PDF),))
    assert error_code(lambda: field.check(three, context())) == "file_count"


@pytest.mark.parametrize("name,clean", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\справка.pdf", "справка.pdf"),
    ("a\x00b<>.pdf", "ab.pdf"),
    ("...", "file"),
    ("x" * 300 + ".pdf", "x" * 120),
])
def test_original_file_names_are_sanitised(name, clean):
    assert sanitise_filename(name) == clean


# Groups

def test_group_items_are_checked_part_by_part():
    group = Field(id="rooms", type="group", label="Rooms", item_label="Room", fields=(
        Field(id="name", type="text", label="Name"),
        Field(id="area", type="number", label="Area", min=1),
    ))
    assert group.check([{"name": "Hall", "area": "9"}], context()) == [{"name": "Hall", "area": 9}]
    with pytest.raises(GroupErrors) as caught:
        group.check([{"name": "Hall", "area": "9"}, {"name": "", "area": "0"}], context())
    anchors = [anchor for anchor, _ in caught.value.errors]
    assert anchors == ["rooms-1-name", "rooms-1-area"]
    assert caught.value.errors[0][1].startswith("Room 2: Name")
    assert error_code(lambda: group.check([], context())) == "group_min"


def test_date_ranges_can_refer_to_today_other_answers_and_facts():
    ctx = context()
    ctx.fact = {"birth_date": dt.date(1990, 5, 17)}.get
    recent = Field(id="d", type="date", label="Date", not_before="today-30", not_after="today+7")
    assert recent.check({"day": "24", "month": "10", "year": "2026"}, ctx) == "2026-10-24"
    assert error_code(lambda: recent.check({"day": "23", "month": "10", "year": "2026"}, ctx)) == "date_before"
    assert error_code(lambda: recent.check({"day": "1", "month": "12", "year": "2026"}, ctx)) == "date_after"
    born = Field(id="d", type="date", label="Date", not_before="fact:birth_date")
    assert error_code(lambda: born.check({"day": "16", "month": "5", "year": "1990"}, ctx)) == "date_before"
    end = Field(id="to", type="date", label="To", after="from", not_after="field:from+169",
                compared_with={"from": "Start"})
    with_start = ctx.with_answers({"from": "2026-11-16"})
    assert end.check({"day": "21", "month": "3", "year": "2027"}, with_start) == "2027-03-21"
    with pytest.raises(FieldError) as same_day:
        end.check({"day": "16", "month": "11", "year": "2026"}, with_start)
    assert same_day.value.code == "date_not_after"
    assert same_day.value.message("To", {}) == "To: the date must be later than Start"
    assert end.check({"day": "4", "month": "5", "year": "2027"}, with_start) == "2027-05-04"  # the 170th day
    assert error_code(lambda: end.check({"day": "5", "month": "5", "year": "2027"}, with_start)) == "date_after"
    # Without the start (not given, or itself wrong) only the start's own error shows.
    assert end.check({"day": "1", "month": "1", "year": "2020"}, ctx) == "2020-01-01"


def test_a_group_items_end_is_checked_against_its_own_start():
    group = Field(id="periods", type="group", label="Periods", item_label="Period", fields=(
        Field(id="from", type="date", label="From"),
        Field(id="to", type="date", label="To", after="from", compared_with={"from": "From"}),
    ))
    day = lambda d: {"day": d[8:], "month": d[5:7], "year": d[:4]}  # noqa: E731
    good = [{"from": day("2020-01-01"), "to": day("2020-02-01")}, {"from": day("2021-01-01"), "to": day("2021-01-02")}]
    assert group.check(good, context()) == [{"from": "2020-01-01", "to": "2020-02-01"},
                                            {"from": "2021-01-01", "to": "2021-01-02"}]
    bad = [{"from": day("2021-01-01"), "to": day("2020-02-01")}]
    with pytest.raises(GroupErrors) as caught:
        group.check(bad, context())
    assert caught.value.errors == [("periods-0-to", "Period 1: To: the date must be later than From")]
