"""The migrations carry data: from an empty database, each migration in turn
with realistic rows seeded on the schema of its day, to head; every row and
value survives, the constraints hold at head, and the last migration goes
down and up again with the data in place.

SQLite (a temp file) in the normal run. With DATABASE_URL naming PostgreSQL
(as on CI) a separate database on the same server is created for this test
and dropped afterwards, so the session's test database is never touched.
A migration added later with no seed of its own is still run over all the
seeded data and checked the same way.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from webapp import create_app
from webapp.config import REPO_ROOT, TestConfig

MIGRATIONS = str(REPO_ROOT / "migrations")
UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
MOTHER, OTHER = "900517401370", "831219453975"
SIGNED = b'<?xml version="1.0" encoding="UTF-8"?><application xmlns="urn:qyzmet:application:1"><ds:Signature/></application>'
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

# Rows to add right after each revision is applied: table, values (explicit ids, so later ones can refer to them).
SEEDS: dict[str, list[tuple[str, dict]]] = {
    "0001": [
        ("citizen_accounts", {"id": 1, "iin": MOTHER, "password_hash": "scrypt:32768:8:1$salt$" + "a" * 64, "created_at": T0, "last_login_at": T0}),
        ("citizen_accounts", {"id": 2, "iin": OTHER, "password_hash": None, "created_at": T0, "last_login_at": None}),
        ("mobile_phones", {"id": 1, "iin": MOTHER, "phone": "+77011234567", "registered_at": T0}),
    ],
    "0002": [
        ("web_sessions", {"id": 1, "session_id": "Uyxi-pCi5tIb_psNKHw7hrHQXUExjAt5e5RtmEY0efA", "data": b"\x81\xabcitizen_iin\xac" + MOTHER.encode(), "expiry": T0 + dt.timedelta(minutes=30)}),
    ],
    "0003": [
        ("application_drafts", {"id": 1, "iin": MOTHER, "service_slug": "child-care-under-one", "answers": {"child": "250214500123", "bank_account": "KZ86125KZT5004100100", "lang": "қазақша"}, "created_at": T0, "updated_at": T0, "expires_at": T0 + dt.timedelta(days=30)}),
        ("attachments", {"id": 1, "public_id": "att-draft-1", "draft_id": 1, "field": "birth_certificate", "stored_name": "3f2a9c0e5b7d41e8a6c1d2e3f4a5b6c7", "original_name": "туу туралы куәлік.pdf", "content_type": "application/pdf", "size": 48213, "sha256": DIGEST, "created_at": T0}),
    ],
    "0004": [
        ("applications", {"id": 1, "number": "KZ-260001-0001", "iin": MOTHER, "service_slug": "child-care-under-one", "language": "kk", "answers": {"child": "250214500123"}, "document_nonce": "n" * 32, "document": b"<application/>", "document_sha256": DIGEST, "signed_xml": SIGNED, "signed_with": "eds", "signer_name": "АХМЕТОВА АЙГҮЛ", "signer_serial": "7a3f00c1", "signer_issuer": "CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA)", "signed_at": T0, "revocation_method": "ocsp", "revocation_checked_at": T0, "revocation_response": b"\x30\x82\x01\x00", "status": "sent", "submitted_at": T0, "due_on": dt.date(2026, 12, 4)}),
        ("used_login_challenges", {"id": 1, "nonce": "c" * 32, "used_at": T0}),
        ("attachments", {"id": 2, "public_id": "att-app-1", "draft_id": None, "application_id": 1, "field": "birth_certificate", "stored_name": "9e8d7c6b5a4f43e2d1c0b9a8f7e6d5c4", "original_name": "certificate.jpg", "content_type": "image/jpeg", "size": 120044, "sha256": DIGEST, "created_at": T0}),
    ],
    "0005": [
        ("sms_messages", {"id": 1, "public_id": "sms-1", "iin": MOTHER, "phone": "+77011234567", "text": "Qyzmet: код ••••••, 5 минут.", "purpose": "sign-application", "status": "sent", "attempts": 1, "last_error": None, "created_at": T0, "sent_at": T0, "gateway_message_id": "gw-123"}),
        ("one_time_codes", {"id": 1, "public_id": "otp-1", "iin": MOTHER, "purpose": "sign-application", "document_sha256": DIGEST, "code_hash": "h" * 64, "phone": "+77011234567", "created_at": T0, "expires_at": T0 + dt.timedelta(minutes=5), "used_at": None, "failed_attempts": 2, "message_id": 1}),
        ("sms_failures", {"id": 1, "iin": MOTHER, "at": T0}),
    ],
    "0006": [
        ("proactive_offers", {"id": 1, "number": "P-0000000001", "iin": MOTHER, "service_slug": "child-care-under-one", "phone": "+77011234567", "language": "ru", "answers": {"child": "250214500123"}, "status": "accepted", "offered_at": T0, "expires_at": T0 + dt.timedelta(days=30), "answered_at": T0, "application_id": 1}),
    ],
    "0007": [
        ("provider_messages", {"id": 1, "message_id": "msg-0001", "application_id": 1, "signed_xml": SIGNED, "document_sha256": DIGEST, "signer_name": "ГОСУДАРСТВЕННАЯ КОРПОРАЦИЯ", "signer_bin": "040340000304", "signer_serial": "11aa22bb", "received_at": T0}),
        ("application_events", {"id": 1, "application_id": 1, "status": "registered", "at": T0, "data": {"by": "provider"}, "provider_message_id": 1}),
        ("notifications", {"id": 1, "public_id": "note-1", "iin": MOTHER, "application_id": 1, "kind": "registered", "data": {"number": "KZ-260001-0001"}, "provider_message_id": 1, "created_at": T0, "read_at": None}),
    ],
    "0008": [
        ("citizen_requests", {"id": 1, "public_id": "req-1", "number": "R-260001-0001", "kind": "objection", "iin": MOTHER, "application_id": 1, "language": "en", "text": "I object to the provisional refusal.", "data": {"reason": "income"}, "status": "sent", "created_at": T0, "updated_at": T0, "sent_at": T0}),
        ("attachments", {"id": 3, "public_id": "att-req-1", "request_id": 1, "field": "documents", "stored_name": "0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5", "original_name": "income.pdf", "content_type": "application/pdf", "size": 9000, "sha256": DIGEST, "created_at": T0}),
    ],
    "0012": [
        ("mobile_signings", {"id": 1, "public_id": "Uyxi-pCi5tIb_psNKHw7hrHQ", "purpose": "sign_application", "subject": "application:child-care-under-one", "iin": MOTHER, "language": "kk", "names": {"kk": "Бір жасқа дейінгі бала күтімі", "ru": "Уход за ребенком", "en": "Child care"}, "document": b"<application/>", "document_sha256": DIGEST, "challenge": None, "state": "signed", "created_at": T0, "expires_at": T0 + dt.timedelta(minutes=3), "fetched_at": T0, "signed_at": T0, "signed_xml": SIGNED, "signer_iin": MOTHER, "refusal": "another_person", "refusals": 1}),
    ],
}

# What a migration must have done to the rows already there.
AFTER = {
    "0007": [("applications", 1, {"version": 1, "delivered_at": None, "registered_at": None, "citizen_due_on": None})],
    "0010": [("applications", 1, {"delivery_attempts": 0, "delivery_claimed_at": None}), ("sms_messages", 1, {"claimed_at": None, "redact": None})],
    "0011": [("application_drafts", 1, {"document_language": None}), ("one_time_codes", 1, {"subject": None})],
}


def _migration_database_url(tmp_path):
    """A database of this test's own: a temp SQLite file, or a new PostgreSQL database beside DATABASE_URL's."""
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"qyzmet_migrations_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def migration_app(tmp_path):
    for url in _migration_database_url(tmp_path):
        app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url, "SANDBOX_PKI_DIR": str(tmp_path)})
        yield app
        with app.app_context():
            from webapp.extensions import db

            db.engine.dispose()


def _normal(value):
    """Compare across databases: datetimes as naive UTC, everything else as is."""
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _filler(column: sa.Column, row_id: int):
    """A value for a required column a seed does not name (a column added later, say)."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return T0
    if isinstance(kind, sa.Date):
        return T0.date()
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b"filler"
    length = getattr(kind, "length", None) or 32
    return f"f{row_id}-{column.name}"[:length]


def _seed(engine, revision: str, seeded: dict) -> None:
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as connection:
        for table_name, values in SEEDS.get(revision, []):
            table = meta.tables[table_name]
            row = {name: value for name, value in values.items() if name in table.c}
            assert row.keys() == values.keys(), f"{revision}: {table_name} lacks {set(values) - set(row)}"
            for column in table.columns:
                if column.name not in row and not column.nullable and column.server_default is None and not column.primary_key:
                    row[column.name] = _filler(column, values["id"])
            connection.execute(table.insert().values(**row))
            seeded.setdefault(table_name, {})[values["id"]] = values
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind: move them on, as a real import would.
            for table_name in {name for name, _ in SEEDS.get(revision, [])}:
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), (SELECT max(id) FROM {table_name}))"
                ))


def _check(engine, seeded: dict, expected_after: list[tuple[str, int, dict]]) -> None:
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as connection:
        for table_name, rows in seeded.items():
            table = meta.tables[table_name]
            count = connection.scalar(sa.select(sa.func.count()).select_from(table))
            assert count == len(rows), f"{table_name}: {count} rows, seeded {len(rows)}"
            for row_id, values in rows.items():
                stored = connection.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()
                for name, value in values.items():
                    assert _normal(stored[name]) == _normal(value), f"{table_name}[{row_id}].{name}"
        for table_name, row_id, values in expected_after:
            table = meta.tables[table_name]
            stored = connection.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()
            for name, value in values.items():
                assert _normal(stored[name]) == value, f"{table_name}[{row_id}].{name} after its migration"


def test_every_migration_carries_the_data_to_head(migration_app):
    from flask_migrate import downgrade, upgrade

    from webapp.extensions import db

    with migration_app.app_context():
        script = ScriptDirectory.from_config(migration_app.extensions["migrate"].migrate.get_config(MIGRATIONS))
        revisions = [revision.revision for revision in reversed(list(script.walk_revisions()))]
        assert revisions[0] == "0001" and revisions == sorted(revisions)
        engine = db.engine
        on_postgresql = (os.environ.get("DATABASE_URL") or "").startswith("postgres")
        assert engine.dialect.name == ("postgresql" if on_postgresql else "sqlite")
        assert engine.url.database != make_url(os.environ.get("DATABASE_URL") or "sqlite://").database
        seeded: dict = {}
        checks: list = []
        for revision in revisions:
            upgrade(directory=MIGRATIONS, revision=revision)
            checks += AFTER.get(revision, [])
            _check(engine, seeded, checks)  # what earlier revisions seeded survived this one
            _seed(engine, revision, seeded)
        assert set(SEEDS) <= set(revisions)
        _check(engine, seeded, checks)

        # The constraints hold at head, on the data carried there.
        duplicates = [
            ("citizen_accounts", {"iin": MOTHER, "created_at": T0}),
            ("mobile_phones", {"iin": MOTHER, "phone": "+77019999999", "registered_at": T0}),
        ]
        meta = sa.MetaData()
        meta.reflect(engine)
        for table_name, values in duplicates:
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(meta.tables[table_name].insert().values(**values))
        with pytest.raises(IntegrityError), engine.begin() as connection:
            application = dict(SEEDS["0004"][0][1], id=99, document_nonce="z" * 32)  # the same number again
            connection.execute(meta.tables["applications"].insert().values(**application))
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(meta.tables["sms_messages"].insert().values(public_id="sms-2", phone="+77011234567"))  # NOT NULL text
        # A new row takes the next id after the carried ones.
        with engine.begin() as connection:
            new_id = connection.execute(
                meta.tables["used_login_challenges"].insert().values(nonce="d" * 32, used_at=T0)
            ).inserted_primary_key[0]
        assert new_id == 2
        seeded["used_login_challenges"][2] = {"id": 2, "nonce": "d" * 32, "used_at": T0}

        # The last migration goes down and up again with the data in place.
        head, previous = revisions[-1], revisions[-2]
        downgrade(directory=MIGRATIONS, revision=previous)
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == previous
        # A table the last migration created goes down with it, rows and all; every other row stays.
        tables = set(sa.inspect(engine).get_table_names())
        kept = {name: rows for name, rows in seeded.items() if name in tables}
        assert set(seeded) - set(kept) <= {name for name, _ in SEEDS.get(head, [])}
        _check(engine, kept, [c for c in checks if c not in AFTER.get(head, [])])
        upgrade(directory=MIGRATIONS, revision=head)
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == head
        _check(engine, kept, [c for c in checks if c[0] in kept])
