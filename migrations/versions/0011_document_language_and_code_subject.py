"""The language an application's document was issued in, and what a one-time code was sent for.

A draft keeps the language of the page that first issued its document, so the
same document is signed whichever language's page the citizen signs on. A
one-time code names what it confirms ("application:<service>", "request:<id>"),
so a code entered for something else is told as that, not as a changed document.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_language', sa.String(length=5), nullable=True))

    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_column('subject')

    with op.batch_alter_table('application_drafts', schema=None) as batch_op:
        batch_op.drop_column('document_language')
