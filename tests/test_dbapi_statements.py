"""Statements run on the DBAPI connection (webapp/dbapi_statements.py): the rows SQLAlchemy gives, its
exceptions, and who sees them. On the suite's database: SQLite, or PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError, OperationalError

from webapp.dbapi_statements import DBAPIStatement
from webapp.extensions import db
from webapp.models import WebSession

READ = select(WebSession.data, WebSession.expiry, WebSession.session_id).where(
    WebSession.session_id == bindparam("session_id"))


@pytest.fixture
def stored(app):
    expiry = dt.datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=dt.timezone.utc)
    with app.app_context():
        db.session.add(WebSession(session_id="dbapi-test", data=b"\x81\xa1a\x01", expiry=expiry))
        db.session.commit()
    return expiry


def _first(app, statement, **parameters):
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            return statement.first(connection, db.engine.dialect, **parameters)
        finally:
            connection.close()


def test_the_row_is_the_one_sqlalchemy_reads_with_its_types(app, stored):
    row = _first(app, DBAPIStatement(READ), session_id="dbapi-test")
    with app.app_context():
        expected = tuple(db.session.execute(READ, {"session_id": "dbapi-test"}).one())
    assert row == expected
    data, expiry, session_id = row
    assert bytes(data) == b"\x81\xa1a\x01" and session_id == "dbapi-test"
    assert isinstance(expiry, dt.datetime) and expiry.replace(tzinfo=dt.timezone.utc) == stored


def test_no_row_is_none(app, stored):
    assert _first(app, DBAPIStatement(READ), session_id="nobody") is None


def test_a_parameter_used_twice_is_bound_twice(app, stored):
    twice = select(WebSession.session_id).where(
        WebSession.session_id == bindparam("sid"), WebSession.session_id.in_([bindparam("sid")]))
    assert _first(app, DBAPIStatement(twice), sid="dbapi-test") == ("dbapi-test",)


def test_a_failure_is_sqlalchemys_exception(app):
    missing = select(text("x")).select_from(text("no_such_table"))
    with pytest.raises(DBAPIError) as raised:
        _first(app, DBAPIStatement(missing))
    assert isinstance(raised.value, (OperationalError, ProgrammingError))  # SQLite's, PostgreSQL's
    assert "no_such_table" in str(raised.value)


def test_observers_see_each_statement_before_it_runs(app, stored):
    seen = []
    DBAPIStatement.observers.append(seen.append)
    try:
        _first(app, DBAPIStatement(READ), session_id="dbapi-test")
    finally:
        DBAPIStatement.observers.remove(seen.append)
    assert len(seen) == 1 and "web_sessions" in seen[0]


def test_reads_before_flask_have_an_engine_of_their_own_in_autocommit_without_pings(app, stored):
    from webapp.dbapi_statements import reading

    with app.app_context():
        dialect = db.engine.dialect
        with reading(app) as connection:
            assert DBAPIStatement(READ).first(connection, dialect, session_id="dbapi-test")[2] == "dbapi-test"
            cursor = connection.cursor()
            cursor.execute("DELETE FROM web_sessions WHERE session_id = 'dbapi-test'")
            cursor.close()
        # Back in the pool, which rolls back what a transaction left: gone all the same, as autocommit.
        assert db.session.scalar(select(WebSession).filter_by(session_id="dbapi-test")) is None
        engine = app.extensions["qyzmet.reads_engine"]
        assert engine is not db.engine and engine.url == db.engine.url
    assert engine.pool._pre_ping is False


def test_an_in_memory_database_is_read_on_the_portals_own_engine(tmp_path):
    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.dbapi_statements import reading

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with reading(app):
        pass
    with app.app_context():
        assert app.extensions["qyzmet.reads_engine"] is db.engine


def test_a_lost_connection_leaves_the_pool(app, stored):
    from webapp.dbapi_statements import reading

    with app.app_context():
        dialect = db.engine.dialect
        with reading(app) as connection:
            connection.dbapi_connection.close()  # as a server gone under an idle connection
            with pytest.raises(DBAPIError) as raised:
                DBAPIStatement(READ).first(connection, dialect, session_id="dbapi-test")
            assert raised.value.connection_invalidated and not connection.is_valid
        with reading(app) as connection:  # the pool's next one works
            assert DBAPIStatement(READ).first(connection, dialect, session_id="dbapi-test")[2] == "dbapi-test"
