"""Claims of background jobs, so work a killed worker left half-done is found and re-queued.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 17:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('redact', sa.String(length=32), nullable=True))

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivery_attempts', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('delivery_attempts')
        batch_op.drop_column('delivery_claimed_at')

    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_column('redact')
        batch_op.drop_column('claimed_at')
