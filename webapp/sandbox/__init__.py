"""The testers' sandbox: test citizens and their registry records.

Registered only when SANDBOX is on: in production these routes do not exist.
"""

from __future__ import annotations

import click
from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, url_for
from werkzeug.security import generate_password_hash

from webapp import clock
from webapp.extensions import db
from webapp.i18n import best_language
from webapp.models import CitizenAccount, MobilePhone

bp = Blueprint("sandbox", __name__)


def _registries():
    return current_app.extensions["state_registries"]


@bp.route("/sandbox/citizens")
def citizens_redirect():
    """The test citizens page in the tester's language."""
    return redirect(url_for("sandbox.citizens", lang_code=best_language()))


@bp.route("/<lang_code>/sandbox/citizens")
def citizens():
    """Every test citizen with password, phone, EDS keys and what they are good for testing."""
    from webapp import proactive

    return render_template(
        "sandbox/citizens.html", citizens=_registries().test_citizens(), authority=pki.load(), special=pki.SPECIAL_HOLDER,
        proactive=proactive.who_can_complete(),
    )


@bp.route("/sandbox/citizens.json")
def citizens_json():
    """The same list for test scripts; `proactive`: the services an SMS offer of which they can complete."""
    from webapp import proactive

    offers: dict[str, list[str]] = {}
    for service, people in proactive.who_can_complete():
        for eligible in people:
            offers.setdefault(eligible.person.iin, []).append(service.slug)
    return jsonify(
        [
            {
                "iin": person.iin,
                "password": password,
                "phone": phone,
                "name": {lang: name.full for lang, name in person.names.items()},
                "birth_date": person.birth_date.isoformat(),
                "sex": person.sex,
                "good_for": list(person.good_for),
                "proactive": offers.get(person.iin, []),
                "eds_keys": {
                    kind: url_for("sandbox.key_file", holder_id=person.iin, kind=kind, variant="normal", _external=True)
                    for kind in ("auth", "sign")
                },
            }
            for person, password, phone in _registries().test_citizens()
        ]
    )


_hash_cache: dict[str, str] = {}


def load_test_citizens() -> int:
    """Create or reset every test citizen's account and registered phone."""
    count = 0
    for person, password, phone in _registries().test_citizens():
        account = db.session.scalar(db.select(CitizenAccount).filter_by(iin=person.iin))
        if account is None:
            account = CitizenAccount(iin=person.iin)
            db.session.add(account)
        # Hashing is deliberately slow; reloads (as in tests) reuse the hash.
        cached = _hash_cache.get(password)
        if account.password_hash is None or account.password_hash != cached:
            if not account.check_password(password):
                account.password_hash = cached or generate_password_hash(password)
            _hash_cache[password] = account.password_hash
        registered = db.session.scalar(db.select(MobilePhone).filter_by(iin=person.iin))
        if phone and registered is None:
            db.session.add(MobilePhone(iin=person.iin, phone=phone))
        elif phone:
            registered.phone = phone
        elif registered is not None:
            db.session.delete(registered)
        count += 1
    db.session.commit()
    return count


def init_app(app: Flask) -> None:
    """Add the `flask sandbox` commands; add the generated citizens to the registries if asked."""
    if app.config.get("SANDBOX_SYNTHETIC_CITIZENS"):
        app.extensions["state_registries"] = synthetic.WithSyntheticCitizens(
            app.extensions["state_registries"], app.config["SANDBOX_SYNTHETIC_CITIZENS"]
        )
        # Generated now (a second or two per thousand), not in some citizen's first request.
        app.extensions["state_registries"].synthetic_citizens()

    @app.cli.group("sandbox")
    def sandbox_cli():
        """Sandbox data for testers."""

    @sandbox_cli.command("load")
    def load():
        """Load (or reset) the test citizens' accounts and phones."""
        click.echo(f"Loaded {load_test_citizens()} test citizens.")

    @sandbox_cli.command("load-synthetic")
    def load_synthetic():
        """Create the accounts and phones of the SANDBOX_SYNTHETIC_CITIZENS generated citizens (load runs)."""
        registries = app.extensions["state_registries"]
        if not isinstance(registries, synthetic.WithSyntheticCitizens):
            raise click.UsageError("Set SANDBOX_SYNTHETIC_CITIZENS to how many generated citizens you need.")
        click.echo(f"Loaded {synthetic.load_synthetic_citizens(registries)} generated test citizens.")

    @sandbox_cli.command("pki")
    @click.option("--if-missing", is_flag=True, help="Keep the sandbox CA when it already exists with every key.")
    def make_pki(if_missing: bool):
        """Make the sandbox CA and every test citizen's EDS keys."""
        directory = pki.pki_dir(app)
        if if_missing and pki.complete(app):
            click.echo(f"The sandbox CA is in {directory}.")
            moment, keys = clock.now(), pki.load().all_keys()
            if keys and not all(k.not_before <= moment <= k.not_after for k in keys if k.variant == "normal"):
                # Made on another day than the one pinned now (QYZMET_TODAY): EDS would be refused.
                click.echo(f"Its keys are not valid on {moment:%Y-%m-%d}: make it again with "
                           "`flask --app webapp sandbox pki`.", err=True)
            return
        pki.create(app)
        click.echo(f"Made the sandbox CA and the test citizens' keys in {directory}.")


from webapp.sandbox import pki  # noqa: E402  (its routes join the sandbox blueprint)
from webapp.sandbox import sms  # noqa: E402  (its routes join the sandbox blueprint)
from webapp.sandbox import operator  # noqa: E402  (its routes join the sandbox blueprint)
from webapp.sandbox import synthetic  # noqa: E402
