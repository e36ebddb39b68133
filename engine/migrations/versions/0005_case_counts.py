"""case_counts: per version, acceptance day, metric and value, how many ended cases (metrics at scale);
on PostgreSQL task_events partitioned by month

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 05:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counts',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('n', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['process_versions.id'], ),
    sa.PrimaryKeyConstraint('version_id', 'day', 'metric', 'value')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_accepted', ['accepted_at'], unique=False)
    # Backfill from the cases that have ended (their counters are what `audit verify` checks against
    # the events), under the calendar as imported.
    from engine import measure
    bind = op.get_bind()
    measure.rebuild_counts(bind, measure.load_calendar(bind))
    if bind.dialect.name == "postgresql":
        _partition_events(bind)


#: Monthly partitions made around the migration's month (events outside land in the default partition;
#: events already stored get theirs however old).
MONTHS_BACK, MONTHS_AHEAD = 24, 36


def _months(first, last):
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _partition_events(bind) -> None:
    """task_events becomes a table partitioned by month of ``at`` (PostgreSQL; SQLite is unchanged).

    A partitioned table's keys must hold the partition column: the primary key is (id, at) and
    uq_event_seq is (case_id, seq, at).  Two events of a case with one seq are still refused where
    it matters: a step writes its events under the case's revision guard, one writer per revision.
    """
    from datetime import date
    x = bind.exec_driver_sql
    first = x("SELECT min(at) FROM task_events").scalar()
    today = date.today()

    def shifted(months: int) -> date:
        k = today.year * 12 + today.month - 1 + months
        return date(k // 12, k % 12 + 1, 1)
    first = min(first.date(), shifted(-MONTHS_BACK)) if first is not None else shifted(-MONTHS_BACK)
    last = shifted(MONTHS_AHEAD)
    x("ALTER SEQUENCE task_events_id_seq OWNED BY NONE")
    x("CREATE TABLE task_events_new (LIKE task_events INCLUDING DEFAULTS) PARTITION BY RANGE (at)")
    for y, m in _months(first, last):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        x(f"CREATE TABLE task_events_p{y:04d}{m:02d} PARTITION OF task_events_new "
          f"FOR VALUES FROM ('{y:04d}-{m:02d}-01') TO ('{ny:04d}-{nm:02d}-01')")
    x("CREATE TABLE task_events_default PARTITION OF task_events_new DEFAULT")
    x("INSERT INTO task_events_new SELECT * FROM task_events")
    x("DROP TABLE task_events")
    x("ALTER TABLE task_events_new RENAME TO task_events")
    x("ALTER SEQUENCE task_events_id_seq OWNED BY task_events.id")
    x("ALTER TABLE task_events ADD CONSTRAINT task_events_pkey PRIMARY KEY (id, at)")
    x("ALTER TABLE task_events ADD CONSTRAINT uq_event_seq UNIQUE (case_id, seq, at)")
    x("ALTER TABLE task_events ADD CONSTRAINT task_events_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id)")
    x("CREATE INDEX ix_events_at ON task_events (at)")


def _unpartition_events(bind) -> None:
    x = bind.exec_driver_sql
    x("ALTER SEQUENCE task_events_id_seq OWNED BY NONE")
    x("CREATE TABLE task_events_new (LIKE task_events INCLUDING DEFAULTS)")
    x("INSERT INTO task_events_new SELECT * FROM task_events")
    x("DROP TABLE task_events")
    x("ALTER TABLE task_events_new RENAME TO task_events")
    x("ALTER SEQUENCE task_events_id_seq OWNED BY task_events.id")
    x("ALTER TABLE task_events ADD CONSTRAINT task_events_pkey PRIMARY KEY (id)")
    x("ALTER TABLE task_events ADD CONSTRAINT uq_event_seq UNIQUE (case_id, seq)")
    x("ALTER TABLE task_events ADD CONSTRAINT task_events_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases (id)")
    x("CREATE INDEX ix_events_at ON task_events (at)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _unpartition_events(bind)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_accepted')
    op.drop_table('case_counts')
