"""What citizens send about an application: objections, documents, complaints and
malfunction reports, signed and numbered; their files are attachments with a request_id.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 14:57:58.162186

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('citizen_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('document_nonce', sa.String(length=32), nullable=True),
    sa.Column('document', sa.LargeBinary(), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('signed_xml', sa.LargeBinary(), nullable=True),
    sa.Column('signed_with', sa.String(length=8), nullable=True),
    sa.Column('signer_name', sa.String(length=200), nullable=True),
    sa.Column('signer_serial', sa.String(length=64), nullable=True),
    sa.Column('revocation_method', sa.String(length=8), nullable=True),
    sa.Column('revocation_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_response', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name='fk_citizen_requests_application_id'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_nonce', name='uq_citizen_requests_document_nonce'),
    sa.UniqueConstraint('number', name='uq_citizen_requests_number'),
    sa.UniqueConstraint('public_id', name='uq_citizen_requests_public_id')
    )
    with op.batch_alter_table('citizen_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_requests_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_citizen_requests_iin_created_at', ['iin', 'created_at'], unique=False)

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_request_id'), ['request_id'], unique=False)
        batch_op.create_foreign_key('fk_attachments_request_id', 'citizen_requests', ['request_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_attachments_request_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_request_id'))
        batch_op.drop_column('request_id')

    with op.batch_alter_table('citizen_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_citizen_requests_iin_created_at')
        batch_op.drop_index(batch_op.f('ix_citizen_requests_application_id'))

    op.drop_table('citizen_requests')
