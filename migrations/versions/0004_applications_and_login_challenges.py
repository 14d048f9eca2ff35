"""Signed applications and used EDS login challenges.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:12:18.640409

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('service_slug', sa.String(length=80), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('document_nonce', sa.String(length=32), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_xml', sa.LargeBinary(), nullable=False),
    sa.Column('signed_with', sa.String(length=8), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signer_serial', sa.String(length=64), nullable=False),
    sa.Column('signer_issuer', sa.String(length=300), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revocation_method', sa.String(length=8), nullable=True),
    sa.Column('revocation_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_response', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_nonce'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_iin'), ['iin'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('used_login_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nonce')
    )
    with op.batch_alter_table('used_login_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_login_challenges_used_at'), ['used_at'], unique=False)

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_application_id'), ['application_id'], unique=False)
        batch_op.create_foreign_key('fk_attachments_application_id', 'applications', ['application_id'], ['id'])



def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachments_application_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_application_id'))
        batch_op.drop_column('application_id')

    with op.batch_alter_table('used_login_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_login_challenges_used_at'))

    op.drop_table('used_login_challenges')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_applications_iin'))

    op.drop_table('applications')
