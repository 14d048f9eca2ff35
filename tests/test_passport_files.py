"""The service-passport data files are complete and well formed.

Reads the YAML files directly (PyYAML only), so it needs neither Flask nor
the app: a broken passport is caught before the catalogue loads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

PASSPORTS = Path(__file__).parent.parent / "webapp/services/definitions"

SLUGS = [
    "child-care-under-one",
    "maternity-and-adoption",
    "social-risk-payments",
    "special-state-allowance",
    "semipalatinsk-compensation",
    "local-social-assistance",
    "home-education-disabled-children",
    "bankruptcy-harm-monthly-payments",
    "pension-guarantee-difference",
    "enpf-pension-payments",
]

LIFE_SITUATIONS = {
    "birth-and-children",
    "pregnancy-and-maternity",
    "work-and-unemployment",
    "disability",
    "pension-and-old-age",
    "social-support",
    "health-and-ecology",
}

CHANNELS = {"portal", "state-corporation", "provider", "proactive"}

REQUIRED = {
    "slug": str,
    "order": int,
    "life_situations": list,
    "short_name": str,
    "full_name": str,
    "summary": str,
    "provider": str,
    "cost_kzt": int,
    "term": dict,
    "places": list,
    "channels": list,
    "who_can_apply_online": list,
    "how_to_apply_online": list,
    "documents": list,
    "online_documents": list,
    "result": str,
    "complaint": str,
    "offline_route": str,
}
OPTIONAL = {"proactive": str, "result_online": str, "legal_basis": str, "payment": str}
WIZARD = {"application"}

TERM_OPTIONAL_INTS = {"extension_working_days", "portal_minutes", "documents_request_working_days"}
TERM_KEYS = {"working_days", "notes"} | TERM_OPTIONAL_INTS


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def passports() -> dict[str, dict]:
    return {path.stem: _load(path) for path in sorted(PASSPORTS.glob("*.yaml"))}


def test_exactly_the_ten_services(passports):
    assert sorted(passports) == sorted(SLUGS)
    assert not (PASSPORTS / "__init__.py").exists()


def test_file_name_is_the_slug(passports):
    for stem, data in passports.items():
        assert data["slug"] == stem


def test_orders_are_one_to_ten_in_catalogue_order(passports):
    orders = {stem: data["order"] for stem, data in passports.items()}
    assert sorted(orders.values()) == list(range(1, 11))
    assert [orders[slug] for slug in SLUGS] == list(range(1, 11))


@pytest.mark.parametrize("slug", SLUGS)
def test_file_starts_with_a_source_comment(slug):
    first_line = (PASSPORTS / f"{slug}.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith("# ") and "seeds/" in first_line


@pytest.mark.parametrize("slug", SLUGS)
def test_keys_and_types(slug):
    data = _load(PASSPORTS / f"{slug}.yaml")
    assert set(data) <= set(REQUIRED) | set(OPTIONAL) | WIZARD, set(data) - set(REQUIRED) - set(OPTIONAL) - WIZARD
    for key, kind in REQUIRED.items():
        assert key in data, key
        if kind is int:
            assert _is_int(data[key]), key
        else:
            assert isinstance(data[key], kind), key
    for key, kind in OPTIONAL.items():
        if key in data:
            assert isinstance(data[key], kind) and data[key].strip(), key
    assert data.get("payment", "monthly") in ("monthly", "one-off")
    if "application" in data:  # the Request Online wizard, checked by the loader itself
        assert isinstance(data["application"], dict) and data["application"]["steps"]
    for key, kind in REQUIRED.items():
        if kind is str:
            assert data[key].strip(), key
    for key in ("life_situations", "places", "channels", "who_can_apply_online",
                "how_to_apply_online", "online_documents"):
        assert all(isinstance(item, str) and item.strip() for item in data[key]), key
    assert data["cost_kzt"] >= 0


@pytest.mark.parametrize("slug", SLUGS)
def test_term(slug):
    term = _load(PASSPORTS / f"{slug}.yaml")["term"]
    assert set(term) <= TERM_KEYS, set(term) - TERM_KEYS
    assert _is_int(term["working_days"]) and term["working_days"] > 0
    for key in TERM_OPTIONAL_INTS & set(term):
        assert _is_int(term[key]) and term[key] > 0, key
    if "notes" in term:
        assert isinstance(term["notes"], list) and term["notes"]
        assert all(isinstance(note, str) and note.strip() for note in term["notes"])


@pytest.mark.parametrize("slug", SLUGS)
def test_life_situations_and_channels_are_known(slug):
    data = _load(PASSPORTS / f"{slug}.yaml")
    assert data["life_situations"] and set(data["life_situations"]) <= LIFE_SITUATIONS
    assert len(set(data["life_situations"])) == len(data["life_situations"])
    assert data["channels"] and set(data["channels"]) <= CHANNELS
    assert len(set(data["channels"])) == len(data["channels"])


@pytest.mark.parametrize("slug", SLUGS)
def test_documents(slug):
    documents = _load(PASSPORTS / f"{slug}.yaml")["documents"]
    assert documents
    for document in documents:
        assert isinstance(document, dict)
        assert set(document) <= {"name", "from_state_systems", "when"}, document
        assert isinstance(document["name"], str) and document["name"].strip()
        assert isinstance(document["from_state_systems"], bool)
        if "when" in document:
            assert isinstance(document["when"], str) and document["when"].strip()


@pytest.mark.parametrize("slug", SLUGS)
def test_channels_agree_with_the_texts(slug):
    data = _load(PASSPORTS / f"{slug}.yaml")
    # An online service explains how to apply online; an offline one does not.
    assert bool(data["how_to_apply_online"]) == ("portal" in data["channels"])
    assert ("proactive" in data) == ("proactive" in data["channels"])
