"""Indexes for History of Services: paging a citizen's applications, counting unread notifications.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:21:58.698045

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_iin_submitted_at_id', ['iin', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_applications_iin_version', ['iin', 'version'], unique=False)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_iin_read_at', ['iin', 'read_at'], unique=False)



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_iin_read_at')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_iin_version')
        batch_op.drop_index('ix_applications_iin_submitted_at_id')

