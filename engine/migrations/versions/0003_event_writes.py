"""audit events carry a digest of the state their step wrote

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 03:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: events recorded before carry no digest and verify as before.
    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('writes', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('task_events', schema=None) as batch_op:
        batch_op.drop_column('writes')
