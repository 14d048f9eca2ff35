"""The service catalogue: each service is a data file, not code.

A passport's texts are English msgids (extracted by webapp.i18n_extract);
templates translate them with the `t` filter when they render.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from flask import current_app, has_app_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from webapp.i18n_extract import empty_texts
from webapp.services.wizard import Wizard, load_wizard

DEFINITIONS = Path(__file__).resolve().parent / "definitions"

LIFE_SITUATIONS = {
    "birth-and-children": _l("Birth and children"),
    "pregnancy-and-maternity": _l("Pregnancy and maternity"),
    "work-and-unemployment": _l("Work and unemployment"),
    "disability": _l("Disability"),
    "pension-and-old-age": _l("Pension and old age"),
    "social-support": _l("Social support"),
    "health-and-ecology": _l("Health and ecology"),
}

# How an assigned payment is paid: every month for a period, or once.
PAYMENTS = ("monthly", "one-off")

CHANNELS = {
    "portal": _l("Online, on this portal"),
    "state-corporation": _l("At a Government for Citizens service centre"),
    "provider": _l("At the service provider"),
    "proactive": _l("Proactively, by SMS, without an application"),
}


@dataclass(frozen=True)
class Document:
    name: str
    from_state_systems: bool
    when: str = ""


@dataclass(frozen=True)
class Term:
    working_days: int
    extension_working_days: int | None = None
    portal_minutes: int | None = None
    documents_request_working_days: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServicePassport:
    """What a citizen reads before pressing Request Online."""

    slug: str
    order: int
    life_situations: tuple[str, ...]
    short_name: str
    full_name: str
    summary: str
    provider: str
    cost_kzt: int
    term: Term
    places: tuple[str, ...]
    channels: tuple[str, ...]
    who_can_apply_online: tuple[str, ...]
    how_to_apply_online: tuple[str, ...]
    documents: tuple[Document, ...]
    online_documents: tuple[str, ...]
    result: str
    complaint: str
    offline_route: str
    proactive: str = ""
    result_online: str = ""
    legal_basis: str = ""
    payment: str = "monthly"  # or "one-off": the assignment is an amount paid once, without a period
    wizard: Wizard | None = None

    @classmethod
    def from_data(cls, data: dict) -> "ServicePassport":
        data = dict(data)
        application = data.pop("application", None)
        term = data["term"]
        if data.get("payment", "monthly") not in PAYMENTS:
            raise ValueError(f"{data['slug']}: payment must be one of {PAYMENTS}, not {data['payment']!r}")
        return cls(
            **{
                **data,
                "wizard": load_wizard(application, data["slug"]) if application else None,
                "life_situations": tuple(data["life_situations"]),
                "term": Term(**{**term, "notes": tuple(term.get("notes", ()))}),
                "places": tuple(data["places"]),
                "channels": tuple(data["channels"]),
                "who_can_apply_online": tuple(data["who_can_apply_online"]),
                "how_to_apply_online": tuple(data["how_to_apply_online"]),
                "documents": tuple(Document(**d) for d in data["documents"]),
                "online_documents": tuple(data.get("online_documents") or ()),
            }
        )

    @property
    def online(self) -> bool:
        return "portal" in self.channels and self.wizard is not None

    def matches(self, query: str) -> bool:
        """True when the query appears in the passport's names in this language."""
        needle = query.casefold()
        return any(
            needle in gettext(text).casefold() or needle in text.casefold()
            for text in (self.short_name, self.full_name, self.summary)
        )


def catalogue() -> tuple[ServicePassport, ...]:
    """Every service passport, in catalogue order, from the folders SERVICE_DEFINITIONS names."""
    folders = current_app.config.get("SERVICE_DEFINITIONS") if has_app_context() else None
    return _load(tuple(str(f) for f in folders or (DEFINITIONS,)))


@lru_cache(maxsize=8)
def _load(folders: tuple[str, ...]) -> tuple[ServicePassport, ...]:
    passports = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.yaml")):
            with path.open(encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            empty = list(empty_texts(data))
            if empty:
                raise ValueError(f"{path}: empty texts to translate at {', '.join(empty)}")
            passports.append(ServicePassport.from_data(data))
    return tuple(sorted(passports, key=lambda p: p.order))


def find(slug: str) -> ServicePassport | None:
    """The passport with that slug, or None."""
    return next((p for p in catalogue() if p.slug == slug), None)


def search(query: str = "", situation: str = "") -> list[ServicePassport]:
    """Passports in a life situation whose names contain the query."""
    return [
        p
        for p in catalogue()
        if (not situation or situation in p.life_situations) and (not query or p.matches(query))
    ]
