"""eGov Mobile's one-time signing sessions: the document offered to the app,
its digest, whose signature it must be, its expiry and what became of it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mobile_signings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('subject', sa.String(length=80), nullable=False),
        sa.Column('iin', sa.String(length=12), nullable=True),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('names', sa.JSON(), nullable=False),
        sa.Column('document', sa.LargeBinary(), nullable=False),
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('challenge', sa.String(length=300), nullable=True),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('signed_xml', sa.LargeBinary(), nullable=True),
        sa.Column('signer_iin', sa.String(length=12), nullable=True),
        sa.Column('refusal', sa.String(length=40), nullable=True),
        sa.Column('refusals', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('public_id', name='uq_mobile_signings_public_id'),
    )
    with op.batch_alter_table('mobile_signings', schema=None) as batch_op:
        batch_op.create_index('ix_mobile_signings_iin_created_at', ['iin', 'created_at'], unique=False)
        batch_op.create_index('ix_mobile_signings_expires_at', ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mobile_signings', schema=None) as batch_op:
        batch_op.drop_index('ix_mobile_signings_expires_at')
        batch_op.drop_index('ix_mobile_signings_iin_created_at')
    op.drop_table('mobile_signings')
