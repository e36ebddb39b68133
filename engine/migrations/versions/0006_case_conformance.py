"""case_conformance, conformance_counts: each case's conformance, checked once (SpiffWorkflow replay
and the promises), and per version, acceptance day and outcome how many ended cases — so that
`compare --stored` reads its conformance figures from tables

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 08:30:00

No backfill: the results need the replay (SpiffWorkflow), so the worker's pass or the first report
that finds a case without a current result computes and stores it (engine.service.mining).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_conformance',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('sync', sa.Integer(), nullable=False),
    sa.Column('moves', sa.Integer(), nullable=False),
    sa.Column('replay_ok', sa.Boolean(), nullable=False),
    sa.Column('promises_ok', sa.Boolean(), nullable=False),
    sa.Column('late_after', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('case_conformance', schema=None) as batch_op:
        batch_op.create_index('ix_conformance_group', ['version_id', 'day'], unique=False)
    op.create_table('conformance_counts',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sync', sa.Integer(), nullable=False),
    sa.Column('moves', sa.Integer(), nullable=False),
    sa.Column('replay_ok', sa.Boolean(), nullable=False),
    sa.Column('promises_ok', sa.Boolean(), nullable=False),
    sa.Column('late_after', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'], ),
    sa.PrimaryKeyConstraint('version_id', 'day', 'sync', 'moves', 'replay_ok', 'promises_ok', 'late_after')
    )


def downgrade() -> None:
    op.drop_table('conformance_counts')
    with op.batch_alter_table('case_conformance', schema=None) as batch_op:
        batch_op.drop_index('ix_conformance_group')
    op.drop_table('case_conformance')
