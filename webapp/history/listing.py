"""The History of Services list: filters, search, keyset pages and the ETag.

Pages are keyset pages ordered by (submitted_at desc, id desc): the page
after a row is "older than that row", found through the citizen's IIN index
and a LIMIT, so page 250 of a citizen with 5,000 applications costs what
page 1 costs (no OFFSET to skip). The cursor in the URL is the registration
number of the row at the page's edge, looked up with the citizen's IIN.

The ETag of the list (for htmx's polling, answered 304 when unchanged) is
made from the newest version of the citizen's applications (lifecycle.record
bumps it on every step), their highest id (a new application: none is ever
deleted), the unread notification count, the query, the language and the day
(an application becomes overdue by the calendar alone).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.orm import defer, raiseload

from webapp.dbapi_statements import DBAPIStatement
from webapp.extensions import db
from webapp.history import validator_cache
from webapp.history.validator_cache import ValidatorState
from webapp.history.texts import STATUS_LABELS
from webapp.models import Application, Notification
from webapp.services import catalogue

PAGE_SIZE = 20
RESULTS = "history-results"  # the list's results fragment: its element id and HX-Target (its poll's too)
# The list shows none of these: not read from the database (the signed XML and OCSP answer are kilobytes a row),
# and a template that touched one would fail loudly instead of costing a query per row.
_LIST_COLUMNS_ONLY = (
    *(defer(column, raiseload=True) for column in (
        Application.document, Application.signed_xml, Application.revocation_response, Application.answers)),
    raiseload(Application.attachments),
)
MAX_NUMBER_QUERY = 20


@dataclass(frozen=True)
class Query:
    """What the citizen asked the list for (already cleaned)."""

    status: str = ""
    service: str = ""
    number: str = ""
    after: str = ""  # older than this application (the next page)
    before: str = ""  # newer than this application (the previous page)

    @classmethod
    def from_args(cls, args) -> "Query":
        status = args.get("status", "")
        service = args.get("service", "")
        number = "".join(ch for ch in args.get("number", "").strip() if ch.isdigit() or ch == "-")[:MAX_NUMBER_QUERY]
        after = args.get("after", "")[:MAX_NUMBER_QUERY]
        before = "" if after else args.get("before", "")[:MAX_NUMBER_QUERY]
        return cls(
            status=status if status in STATUS_LABELS else "",
            service=service if service in {p.slug for p in catalogue()} else "",
            number=number,
            after=after,
            before=before,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.service or self.number)

    def args(self, **changes) -> dict:
        """URL arguments for this query with some changed; empty ones left out."""
        values = {"status": self.status, "service": self.service, "number": self.number,
                  "after": self.after, "before": self.before, **changes}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Page:
    applications: list[Application]
    unread: dict[int, int]  # application id -> unread notifications
    total: int  # applications matching the filters
    newer: str | None  # cursor for the previous page (newer applications), or None
    older: str | None  # cursor for the next page (older applications), or None


def _filters(iin: str, query: Query) -> list:
    clauses = [Application.iin == iin]
    if query.status:
        clauses.append(Application.status == query.status)
    if query.service:
        clauses.append(Application.service_slug == query.service)
    if query.number:
        clauses.append(Application.number.contains(query.number, autoescape=True))
    return clauses


def _older_than(row) -> object:
    # A row comparison: SQLite and PostgreSQL seek the (iin, submitted_at, id) index to it.
    return tuple_(Application.submitted_at, Application.id) < tuple_(row.submitted_at, row.id)


def _newer_than(row) -> object:
    return tuple_(Application.submitted_at, Application.id) > tuple_(row.submitted_at, row.id)


def _anchor(iin: str, number: str):
    if not number:
        return None
    return db.session.execute(
        select(Application.id, Application.submitted_at).where(Application.number == number, Application.iin == iin)
    ).first()


def page(iin: str, query: Query, size: int = PAGE_SIZE) -> Page:
    """One page of the citizen's applications, newest first, and how many the list holds."""
    clauses = _filters(iin, query)
    newest_first = (Application.submitted_at.desc(), Application.id.desc())
    after, before = _anchor(iin, query.after), _anchor(iin, query.before)
    if before is not None:
        rows = db.session.scalars(
            select(Application).options(*_LIST_COLUMNS_ONLY).where(*clauses, _newer_than(before))
            .order_by(Application.submitted_at.asc(), Application.id.asc()).limit(size + 1)
        ).all()
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        more_older = True
    else:
        statement = select(Application).options(*_LIST_COLUMNS_ONLY).where(*clauses)
        if after is not None:
            statement = statement.where(_older_than(after))
        rows = db.session.scalars(statement.order_by(*newest_first).limit(size + 1)).all()
        more_older = len(rows) > size
        rows = list(rows[:size])
        more_newer = after is not None
    if rows and more_newer and after is not None:
        # Only when something newer than this page still matches the filters.
        more_newer = db.session.scalar(select(Application.id).where(*clauses, _newer_than(rows[0])).limit(1)) is not None
    if rows and more_older and before is not None:
        more_older = db.session.scalar(select(Application.id).where(*clauses, _older_than(rows[-1])).limit(1)) is not None
    unread = {}
    if rows:
        unread = dict(db.session.execute(
            select(Notification.application_id, func.count())
            .where(Notification.iin == iin, Notification.read_at.is_(None),
                   Notification.application_id.in_([a.id for a in rows]))
            .group_by(Notification.application_id)
        ).all())
    total = db.session.scalar(select(func.count()).select_from(Application).where(*clauses))
    return Page(
        applications=rows,
        unread=unread,
        total=total,
        newer=rows[0].number if rows and more_newer else None,
        older=rows[-1].number if rows and more_older else None,
    )


def unread_count(iin: str) -> int:
    """The citizen's unread notifications: one COUNT on the IIN index (every personal page's header)."""
    return db.session.scalar(_UNREAD, {"iin": iin}) or 0


def validator_state(iin: str, connection=None) -> ValidatorState:
    """The newest version and the highest id of the citizen's applications and their unread notifications,
    in one round trip: the unchanged poll's whole database work besides the session. From Redis when
    REDIS_URL is set (validator_cache). Read on the DBAPI `connection` when given (webapp/history/poll.py),
    else in the request's database session."""
    return validator_cache.cached_state(iin, lambda: _validator_state(iin, connection))


# One MAX a subquery: each is then one end of an index, whatever the number of applications (SQLite and
# PostgreSQL read a lone MIN/MAX from the index's end; MAX and MAX in one SELECT read every entry).
# No COUNT: it reads every entry too (0.1 ms for 5,000 on SQLite), and nothing deletes an application.
# Built once: building the statement cost four times what running it costs.
_IIN = bindparam("iin")
_UNREAD = select(func.count()).select_from(Notification).where(Notification.iin == _IIN, Notification.read_at.is_(None))
_VALIDATOR_STATE = select(
    select(func.max(Application.version)).where(Application.iin == _IIN).scalar_subquery(),
    select(func.max(Application.id)).where(Application.iin == _IIN).scalar_subquery(),
    _UNREAD.scalar_subquery(),
)
_VALIDATOR_STATE_ON_DBAPI = DBAPIStatement(_VALIDATOR_STATE)


def _validator_state(iin: str, connection=None) -> ValidatorState:
    if connection is not None:
        row = _VALIDATOR_STATE_ON_DBAPI.first(connection, db.engine.dialect, iin=iin)
    else:
        row = db.session.execute(_VALIDATOR_STATE, {"iin": iin}).one()
    return ValidatorState(*(int(value or 0) for value in row))


def etag(iin: str, query: Query, language: str, today, state: ValidatorState) -> str:
    """A validator for the list's results fragment: it changes whenever what the fragment shows may."""
    parts = (iin, state.versions, state.highest, state.unread, language, today, sorted(query.args().items()))
    return "h-" + hashlib.sha256("|".join(str(part) for part in parts).encode("utf-8")).hexdigest()[:32]
