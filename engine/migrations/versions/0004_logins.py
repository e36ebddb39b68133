"""logins: password hashes, bearer tokens, failed-login counts; the simulation flag

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 05:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: users added before logins existed have no password until an admin sets one.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=200), nullable=True))
    op.create_table(
        'tokens',
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('client', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_sha256'),
    )
    op.create_index('ix_tokens_user', 'tokens', ['user_id'])
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('client', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_username', 'login_failures', ['username', 'at'])
    op.create_index('ix_login_failures_client', 'login_failures', ['client', 'at'])
    # One row: what the database is.  ``simulation``: its clock may be pinned (`onetrip demo`,
    # `onetrip init --simulation`); a real office's database keeps the machine's clock.
    op.create_table(
        'database_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('simulation', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('database_settings')
    op.drop_index('ix_login_failures_client', table_name='login_failures')
    op.drop_index('ix_login_failures_username', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_tokens_user', table_name='tokens')
    op.drop_table('tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_hash')
