"""process versions made of several files; translations and call bindings

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra_files', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        batch_op.drop_column('details')
        batch_op.drop_column('extra_files')
