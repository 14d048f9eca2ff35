"""The generated test citizens of load runs: valid, distinct, eligible, loadable, able to log in."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import log_in
from webapp.extensions import db
from webapp.identifiers import is_valid_iin
from webapp.models import CitizenAccount, MobilePhone
from webapp.phone import check_phone
from webapp.sandbox import synthetic
from webapp.services.fields import check_iban

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def generated(app, monkeypatch):
    """The app's registries with 50 generated citizens; their accounts removed afterwards."""
    registries = synthetic.WithSyntheticCitizens(app.extensions["state_registries"], 50)
    monkeypatch.setitem(app.extensions, "state_registries", registries)
    yield registries
    iins = [person.iin for person, _password, _phone in registries.synthetic_citizens()]
    with app.app_context():
        db.session.execute(db.delete(MobilePhone).where(MobilePhone.iin.in_(iins)))
        db.session.execute(db.delete(CitizenAccount).where(CitizenAccount.iin.in_(iins)))
        db.session.commit()


def test_generated_citizens_are_valid_distinct_and_stable(generated):
    citizens = generated.synthetic_citizens()
    iins = [person.iin for person, _password, _phone in citizens]
    babies = [person.births[0].child_iin for person, _password, _phone in citizens]
    hand_written = {person.iin for person, _password, _phone in generated.test_citizens()}
    assert len(set(iins + babies)) == 100 and not hand_written & set(iins + babies)
    assert all(is_valid_iin(iin, TODAY) for iin in iins + babies)
    assert len({number for _person, _password, number in citizens}) == 50
    for person, _password, number in citizens:
        assert check_phone(number) == number
        (account,) = person.bank_accounts
        assert check_iban(account.iban) == account.iban
        assert generated.account_holder(account.iban) == person.iin
        assert generated.person(person.births[0].child_iin).birth_date.year == 2026
    again = synthetic.WithSyntheticCitizens(generated.base, 50).synthetic_citizens()
    assert [p.iin for p, _pw, _ph in again] == iins  # every process generates the same people
    assert generated.person("900517401370") is not None  # the hand-written ones are still there


def test_loading_is_idempotent_and_a_generated_citizen_can_log_in(app, client, generated):
    with app.app_context():
        assert synthetic.load_synthetic_citizens(generated) == 50
        assert synthetic.load_synthetic_citizens(generated) == 50
        iins = [person.iin for person, _password, _phone in generated.synthetic_citizens()]
        assert db.session.scalar(
            db.select(db.func.count()).select_from(CitizenAccount).where(CitizenAccount.iin.in_(iins))) == 50
        assert db.session.scalar(
            db.select(db.func.count()).select_from(MobilePhone).where(MobilePhone.iin.in_(iins))) == 50
    person, password, _phone = generated.synthetic_citizens()[7]
    assert log_in(client, person.iin, password).status_code == 302
    family = client.get("/en/account")
    assert family.status_code == 200


def test_the_command_needs_the_setting(app):
    result = app.test_cli_runner().invoke(args=["sandbox", "load-synthetic"])
    assert result.exit_code != 0 and "SANDBOX_SYNTHETIC_CITIZENS" in result.output


def test_the_count_is_bounded(app):
    with pytest.raises(ValueError):
        synthetic.WithSyntheticCitizens(app.extensions["state_registries"], synthetic.MAX_COUNT + 1)
