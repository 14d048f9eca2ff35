"""Integrity of the sandbox state-registry data (webapp/sandbox/citizens.yaml)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
import yaml
from schwifty import IBAN

from webapp.identifiers import iin_birth_date, iin_sex, is_valid_iin

CITIZENS = Path(__file__).parent.parent / "webapp/sandbox/citizens.yaml"
BIRTH_RECORD_CUTOFF = dt.date(2007, 8, 13)   # online child care: birth record since
MARRIAGE_CUTOFF = dt.date(2008, 6, 1)        # online child care: marriage since
KZ_MOBILE = phonenumbers.PhoneNumberType.MOBILE


@pytest.fixture(scope="module")
def people() -> list[dict]:
    with CITIZENS.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict) and list(data) == ["people"]
    assert data["people"], "no people in the sandbox"
    return data["people"]


@pytest.fixture(scope="module")
def by_iin(people) -> dict[str, dict]:
    return {p["iin"]: p for p in people}


@pytest.fixture(scope="module")
def holders(people) -> list[dict]:
    return [p for p in people if "account" in p]


def all_bank_accounts(people):
    return [(p, acct) for p in people for acct in p.get("bank_accounts", [])]


# ---------------------------------------------------------------- IINs

def test_every_iin_is_a_quoted_valid_iin(people):
    for p in people:
        assert isinstance(p["iin"], str), p["iin"]
        assert is_valid_iin(p["iin"], dt.date(2026, 11, 23)), p["iin"]  # the day the sandbox data describe


def test_iins_are_unique(people):
    duplicates = [iin for iin, n in Counter(p["iin"] for p in people).items() if n > 1]
    assert not duplicates


def test_iin_matches_birth_date_and_sex(people):
    for p in people:
        assert isinstance(p["birth_date"], dt.date), p["iin"]
        assert p["sex"] in {"male", "female"}, p["iin"]
        assert iin_birth_date(p["iin"]) == p["birth_date"], p["iin"]
        assert iin_sex(p["iin"]) == p["sex"], p["iin"]


def test_every_person_has_three_full_names(people):
    for p in people:
        assert set(p["name"]) == {"kk", "ru", "en"}, p["iin"]
        for lang, parts in p["name"].items():
            assert set(parts) == {"surname", "given", "patronymic"}, (p["iin"], lang)
            assert all(isinstance(v, str) and v for v in parts.values()), (p["iin"], lang)
        assert all(v.isascii() for v in p["name"]["en"].values()), p["iin"]
        assert not set("әғқңөұүһіӘҒҚҢӨҰҮҺІ") & set("".join(p["name"]["ru"].values())), p["iin"]


def _registry_texts(p: dict):
    """(where, value) for every registry text of a person: addresses, places, bodies, employers, causes."""
    for key in ("region", "locality", "address"):
        yield f"residence.{key}", p["residence"][key]
    if "unemployment" in p:
        yield "unemployment.centre", p["unemployment"]["centre"]
    if "disability" in p:
        yield "disability.cause", p["disability"]["cause"]
    if "work_injury" in p:
        yield "work_injury.employer", p["work_injury"]["employer"]
    for n, period in enumerate(p.get("semipalatinsk", [])):
        yield f"semipalatinsk[{n}].locality", period["locality"]


def test_every_registry_text_has_kazakh_russian_and_english_variants(people):
    """Issue 13: registry data shown in English on kk and ru pages."""
    for p in people:
        for where, value in _registry_texts(p):
            assert isinstance(value, dict) and set(value) == {"kk", "ru", "en"}, (p["iin"], where, value)
            assert all(isinstance(v, str) and v.strip() for v in value.values()), (p["iin"], where)
            assert value["en"].isascii(), (p["iin"], where)
            assert re.search("[А-Яа-яӘәҒғҚқҢңӨөҰұҮүҺһІі]", value["kk"]), (p["iin"], where, "kk is not Cyrillic")
            assert re.search("[А-Яа-яЁё]", value["ru"]), (p["iin"], where, "ru is not Cyrillic")
            assert not set("әғқңөұүһіӘҒҚҢӨҰҮҺІ") & set(value["ru"]), (p["iin"], where, "Kazakh letters in ru")


# ---------------------------------------------------------------- references

def test_referenced_children_spouses_and_holders_exist(people, by_iin):
    for p in people:
        for b in p.get("births", []):
            assert b["child_iin"] in by_iin, (p["iin"], b["child_iin"])
        for m in p.get("marriages", []):
            assert m["spouse_iin"] in by_iin, (p["iin"], m["spouse_iin"])
    for p, acct in all_bank_accounts(people):
        assert acct["holder_iin"] in by_iin, (p["iin"], acct["iban"])


def test_children_are_younger_than_parents_and_have_no_account(people, by_iin):
    for p in people:
        for b in p.get("births", []):
            child = by_iin[b["child_iin"]]
            assert child["birth_date"] > p["birth_date"], (p["iin"], child["iin"])
            assert b["registered_on"] >= child["birth_date"], child["iin"]
            if child["birth_date"] > dt.date(2008, 11, 23):  # a minor: cannot log in
                assert "account" not in child, child["iin"]


def test_marriages_are_recorded_on_both_spouses(people, by_iin):
    for p in people:
        for m in p.get("marriages", []):
            spouse = by_iin[m["spouse_iin"]]
            mirror = [x for x in spouse.get("marriages", []) if x["spouse_iin"] == p["iin"]]
            assert len(mirror) == 1, (p["iin"], spouse["iin"])
            assert mirror[0]["registered_on"] == m["registered_on"]
            assert mirror[0]["dissolved_on"] == m["dissolved_on"]


def test_no_empty_lists_are_written(people):
    for p in people:
        for key in ("births", "marriages", "bank_accounts", "semipalatinsk", "good_for", "categories"):
            if key in p:
                assert p[key], (p["iin"], key)


# ---------------------------------------------------------------- accounts

def test_at_least_twelve_account_holders(holders):
    assert len(holders) >= 12


def test_account_holders_have_password_purpose_and_bank_account(holders):
    for p in holders:
        assert isinstance(p["account"]["password"], str) and p["account"]["password"]
        assert p.get("good_for"), p["iin"]
        assert p.get("bank_accounts"), p["iin"]


def test_at_least_two_account_holders_without_phone(holders):
    assert sum("phone" not in p for p in holders) >= 2


def test_phones_are_unique_valid_kazakh_mobiles(people):
    phones = [p["phone"] for p in people if "phone" in p]
    assert len(phones) == len(set(phones))
    for phone in phones:
        assert isinstance(phone, str) and phone.startswith("+77"), phone
        number = phonenumbers.parse(phone, None)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == "KZ", phone
        assert phonenumbers.number_type(number) == KZ_MOBILE, phone


# ---------------------------------------------------------------- banks

def test_ibans_are_valid_kazakh_ibans_of_known_banks(people):
    for _, acct in all_bank_accounts(people):
        iban = IBAN(acct["iban"])  # raises on a bad checksum or format
        assert iban.country_code == "KZ", acct["iban"]
        assert len(acct["iban"]) == 20, acct["iban"]
        assert str(iban.compact) == acct["iban"], acct["iban"]
        assert iban.bank is not None, acct["iban"]


def test_ibans_are_unique(people):
    ibans = [acct["iban"] for _, acct in all_bank_accounts(people)]
    assert len(ibans) == len(set(ibans))


def test_kazpost_and_second_tier_banks_are_both_used(people):
    codes = {IBAN(acct["iban"]).bank_code for _, acct in all_bank_accounts(people)}
    assert "563" in codes
    assert len(codes - {"563"}) >= 3


def test_exactly_one_account_is_in_someone_elses_name(people):
    foreign = [(p, a) for p, a in all_bank_accounts(people) if a["holder_iin"] != p["iin"]]
    assert len(foreign) == 1
    owner, _ = foreign[0]
    assert "account" in owner
    # the citizen has no account of their own, so the own-name rule is testable
    assert all(a["holder_iin"] != owner["iin"] for a in owner["bank_accounts"])


# ---------------------------------------------------------------- scenarios

def test_birth_records_on_both_sides_of_13_august_2007(people):
    dates = [b["registered_on"] for p in people for b in p.get("births", [])]
    assert any(d < BIRTH_RECORD_CUTOFF for d in dates)
    assert any(d >= BIRTH_RECORD_CUTOFF for d in dates)


def test_marriages_on_both_sides_of_1_june_2008(people):
    dates = [m["registered_on"] for p in people for m in p.get("marriages", [])]
    assert any(d < MARRIAGE_CUTOFF for d in dates)
    assert any(d >= MARRIAGE_CUTOFF for d in dates)


def test_a_baikonur_resident_can_log_in(holders, people):
    for p in people:
        r = p["residence"]
        assert (r["locality"]["en"] == "Baikonur") == r["baikonur"], p["iin"]
    assert any(p["residence"]["baikonur"] for p in holders)


def test_registry_enumerations(people):
    zones = {"extreme", "maximum", "increased", "minimum", "privileged"}
    for p in people:
        if "disability" in p:
            assert p["disability"]["group"] in {1, 2, 3, "child"}, p["iin"]
        if "unemployment" in p:
            assert p["unemployment"]["status"] in {"registered", "deregistered"}, p["iin"]
        for period in p.get("semipalatinsk", []):
            assert period["zone"] in zones, p["iin"]
            assert period["from"] <= period["to"], p["iin"]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_note_on_the_test_citizens_page_is_translated(people, lang):
    """The notes are msgids (webapp/i18n_extract.py): each must have a translation, or the page shows English."""
    from babel.messages.pofile import read_po

    with (CITIZENS.parent.parent.parent / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    missing = [note for p in people for note in p.get("good_for", ())
               if not (catalogue.get(note) and catalogue.get(note).string and not catalogue.get(note).fuzzy)]
    assert not missing, missing[:3]
