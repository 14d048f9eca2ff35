"""With REDIS_URL, the unchanged poll's validator state is read from Redis instead of the database.

History of Services polls every 10 seconds from every open tab; unchanged,
it answers 304, and its database work is one statement (listing.
validator_state). With Redis configured, that state is cached per citizen,
labelled with two generation counters: the citizen's, bumped after every
commit that flushed one of their applications or notifications through the
ORM, and a global one, bumped after every bulk INSERT/UPDATE/DELETE statement
on those tables (whose citizens are unknown). A reader takes the counters and
the cached state in one MGET and uses the state only if its label is the
current one; on a miss it reads the counters first, then the database, and
stores the state under the counters it read, so a change committed meanwhile
leaves a label nobody will ask for again (never a stale answer). A TTL bounds
what a lost INCR (Redis briefly unreachable at commit) could leave behind.
Without REDIS_URL nothing here runs: the database answers, as before.

Hand-written: Flask-Caching and the like cache by key and time only; this
needs invalidation on commit, which SQLAlchemy's session events give.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.models import Application, Notification

log = logging.getLogger(__name__)

PREFIX = "qyzmet:history:"
GLOBAL_GENERATION = PREFIX + "gen"
STATE_TTL_SECONDS = 60  # the safety net for a lost INCR: never older than this
GENERATION_TTL_SECONDS = 24 * 3600  # far longer than any state's, so a reset counter meets no old label
TABLES = {"applications", "notifications"}
_PENDING = "history_validator_iins"  # session.info key: citizens whose rows this transaction flushed
_PENDING_ALL = "history_validator_all"


class ValidatorState(NamedTuple):
    """What the list's validator depends on, read in one statement (history/listing.py reads it)."""

    versions: int
    highest: int
    unread: int


def _citizen_generation(iin: str) -> str:
    return f"{PREFIX}gen:{iin}"


def _state_key(iin: str) -> str:
    return f"{PREFIX}state:{iin}"


def _client():
    """The Redis client when REDIS_URL is set (the sessions' own connection pool), else None."""
    if not has_app_context() or not current_app.config.get("REDIS_URL"):
        return None
    return current_app.config.get("SESSION_REDIS")


def cached_state(iin: str, compute: Callable[[], ValidatorState]) -> ValidatorState:
    """The validator state for iin: from Redis when current there, else compute() (and store it)."""
    client = _client()
    if client is None:
        return compute()
    try:
        everyone, citizen, stored = client.mget(GLOBAL_GENERATION, _citizen_generation(iin), _state_key(iin))
    except RedisError as error:
        log.warning("History validator cache unavailable: %s", error)
        return compute()
    label = f"{int(everyone or 0)}.{int(citizen or 0)}"
    if stored:
        stored_label, _, values = stored.decode().partition("|")
        if stored_label == label and (state := _parse(values)) is not None:
            return state
    state = compute()
    try:
        client.set(_state_key(iin), f"{label}|{','.join(str(int(v)) for v in state)}", ex=STATE_TTL_SECONDS)
    except RedisError as error:
        log.warning("History validator cache unavailable: %s", error)
    return state


def _parse(values: str) -> ValidatorState | None:
    parts = values.split(",")
    # A state stored by an earlier release, with other fields: a miss.
    return ValidatorState(*(int(v) for v in parts)) if len(parts) == len(ValidatorState._fields) else None


# Invalidation: SQLAlchemy session events, for every session of every app (each checks REDIS_URL).


@event.listens_for(Session, "after_flush")
def _remember_flushed(session: Session, flush_context) -> None:
    iins = session.info.setdefault(_PENDING, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, (Application, Notification)) and instance.iin:
            iins.add(instance.iin)


@event.listens_for(Session, "do_orm_execute")
def _remember_bulk(orm_execute_state) -> None:
    if not (orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    if getattr(table, "name", None) in TABLES:
        orm_execute_state.session.info[_PENDING_ALL] = True


@event.listens_for(Session, "after_commit")
def _bump(session: Session) -> None:
    iins = session.info.pop(_PENDING, None)
    everyone = session.info.pop(_PENDING_ALL, False)
    if not iins and not everyone:
        return
    client = _client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        if everyone:
            pipe.incr(GLOBAL_GENERATION)
            pipe.expire(GLOBAL_GENERATION, GENERATION_TTL_SECONDS)
        for iin in iins or ():
            pipe.incr(_citizen_generation(iin))
            pipe.expire(_citizen_generation(iin), GENERATION_TTL_SECONDS)
        pipe.execute()
    except RedisError as error:  # the state's TTL bounds what this leaves behind
        log.warning("History validator cache not invalidated: %s", error)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_ALL, None)
