"""The sandbox's test citizens: the page and JSON that list them, and loading their accounts."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, url_for
from werkzeug.security import generate_password_hash

from webapp import proactive
from webapp.extensions import db
from webapp.i18n import best_language
from webapp.models import CitizenAccount, MobilePhone
from webapp.sandbox import pki
from webapp.sandbox.blueprint import bp


def _registries():
    return current_app.extensions["state_registries"]


@bp.route("/sandbox/citizens")
def citizens_redirect():
    """The test citizens page in the tester's language."""
    return redirect(url_for("sandbox.citizens", lang_code=best_language()))


@bp.route("/<lang_code>/sandbox/citizens")
def citizens():
    """Every test citizen with password, phone, EDS keys and what they are good for testing."""
    return render_template(
        "sandbox/citizens.html", citizens=_registries().test_citizens(), authority=pki.load(), special=pki.SPECIAL_HOLDER,
        proactive=proactive.who_can_complete(), legacy_rsa=pki.LEGACY_RSA_CITIZENS,
    )


@bp.route("/sandbox/citizens.json")
def citizens_json():
    """The same list for test scripts; `proactive`: the services an SMS offer of which they can complete."""
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
                "eds_algorithm": "rsa" if person.iin in pki.LEGACY_RSA_CITIZENS else "gost2015-512",
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
