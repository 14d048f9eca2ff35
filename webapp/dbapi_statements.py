"""A SQLAlchemy Core SELECT compiled once per dialect and run on the DBAPI connection itself.

For the few statements on the hottest path (the session's row and History's validator state, read before
Flask for every unchanged poll and every cached public page): SQLAlchemy's own execution (its execution
context, result object and events) cost about 30 us a statement, six times what SQLite takes to answer it.
Hand-written: SQLAlchemy has no lighter execution path, and no library adds one. The statement stays a
Core statement, so it is the same SQL on SQLite and PostgreSQL, its columns' result processors (a
SQLite DateTime arrives as text) are applied as SQLAlchemy applies them, and a failure is raised as
SQLAlchemy's exception (the error pages expect those).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from webapp.extensions import db


class DBAPIStatement:
    """`statement.first(dbapi_connection, dialect, **parameters)`: the first row, or None.

    SQLAlchemy's events never see these statements: `observers` (functions of the SQL text) do, for
    whoever counts statements (bench/inprocess.py, the tests)."""

    observers: list[Callable[[str], None]] = []

    def __init__(self, statement):
        self.statement = statement
        self._compiled: dict[str, tuple] = {}

    def _for(self, dialect) -> tuple:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            )
            found = self._compiled[dialect.name] = (compiled, processors)
        return found

    def first(self, dbapi_connection, dialect, **parameters: Any) -> tuple | None:
        compiled, processors = self._for(dialect)
        values = compiled.construct_params(parameters)
        if compiled.positiontup is not None:  # qmark and format paramstyles (SQLite's): in order
            values = tuple(values[name] for name in compiled.positiontup)
        for observe in DBAPIStatement.observers:
            observe(compiled.string)
        cursor = None
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute(compiled.string, values)
            row = cursor.fetchone()
        except dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy raises it (its OperationalError for a server gone: the 503 page), and a lost
            # connection leaves the pool instead of going back to it.
            lost = dialect.is_disconnect(error, dbapi_connection, cursor)
            if lost and hasattr(dbapi_connection, "invalidate"):
                dbapi_connection.invalidate(error)
            raise DBAPIError.instance(compiled.string, values, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=dialect) from error
        finally:
            if cursor is not None:
                cursor.close()
        if row is None:
            return None
        return tuple(value if process is None else process(value) for value, process in zip(row, processors))


@contextmanager
def reading(app) -> Iterator[Any]:
    """A DBAPI connection for the reads made before Flask (webapp/page_cache.py, webapp/history/poll.py), from
    an engine of their own: autocommit (no transaction to end: a round trip on PostgreSQL) and without the
    pool's pre-ping (another). Whoever reads here sends the request to Flask on any failure, and Flask's
    engine pings and reconnects; a connection found lost here is dropped from this pool (`first`)."""
    engine = app.extensions.get(_READS_ENGINE)
    if engine is None:
        engine = app.extensions[_READS_ENGINE] = _reads_engine(app)
    connection = engine.raw_connection()
    try:
        yield connection
    finally:
        connection.close()


_READS_ENGINE = "qyzmet.reads_engine"


def _reads_engine(app):
    with app.app_context():
        engine = db.engine
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return engine  # another engine would open another, empty, database
    options = {k: v for k, v in (app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}).items() if k != "pool_pre_ping"}
    return create_engine(engine.url, **options, isolation_level="AUTOCOMMIT", pool_pre_ping=False)
