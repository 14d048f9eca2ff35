"""One-time codes and the SMS outbox.

sms_messages: the outbox a background job sends through the SMS gateway
(queued → sending → sent | failed, attempts, last error); its public_id is
the idempotency key the gateway sees. one_time_codes: SMS codes (an HMAC,
never the code) bound to a citizen, a purpose and a document digest.
sms_failures: wrong codes entered, for the daily lock.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:31:52.552673

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=True),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gateway_message_id', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id', name='uq_sms_messages_public_id')
    )
    op.create_index('ix_sms_messages_created_at', 'sms_messages', ['created_at'], unique=False)
    op.create_index('ix_sms_messages_iin', 'sms_messages', ['iin'], unique=False)
    op.create_index('ix_sms_messages_phone', 'sms_messages', ['phone'], unique=False)

    op.create_table('one_time_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['sms_messages.id'], name='fk_one_time_codes_message_id', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id', name='uq_one_time_codes_public_id')
    )
    op.create_index('ix_one_time_codes_iin_created_at', 'one_time_codes', ['iin', 'created_at'], unique=False)
    op.create_index('ix_one_time_codes_message_id', 'one_time_codes', ['message_id'], unique=False)

    op.create_table('sms_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sms_failures_iin_at', 'sms_failures', ['iin', 'at'], unique=False)


def downgrade():
    # Dropping a table drops its indexes; one_time_codes refers to sms_messages.
    op.drop_table('sms_failures')
    op.drop_table('one_time_codes')
    op.drop_table('sms_messages')
