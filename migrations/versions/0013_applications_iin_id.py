"""An index on applications (iin, id): the History validator's highest id read from the index's end.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 01:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_iin_id', ['iin', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_iin_id')
