"""Proactive service offers made by SMS.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:47:16.996403

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('proactive_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=12), nullable=False),
    sa.Column('iin', sa.String(length=12), nullable=False),
    sa.Column('service_slug', sa.String(length=80), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('proactive_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proactive_offers_iin'), ['iin'], unique=False)
        batch_op.create_index(batch_op.f('ix_proactive_offers_phone'), ['phone'], unique=False)



def downgrade():
    with op.batch_alter_table('proactive_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proactive_offers_phone'))
        batch_op.drop_index(batch_op.f('ix_proactive_offers_iin'))

    op.drop_table('proactive_offers')
