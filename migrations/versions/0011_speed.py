"""speed at ten times a small company: the dashboard's weekly figures kept by the writes (work_order_weeks, filled
here from the existing jobs) and its medians' cache, and indexes that match the busy pages' filters and orders (company_id first)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:30:00

"""
import uuid
from collections import defaultdict
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

from saas import rls


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COUNTS = ('opened', 'accepted', 'response_on_time', 'completed', 'on_time', 'rated',
          'rating_sum_overall', 'rating_sum_speed', 'rating_sum_attitude',
          'rating_count_overall', 'rating_count_speed', 'rating_count_attitude')
FIELDS = ('created_at', 'accepted_at', 'response_due_at', 'completed_at', 'resolution_due_at', 'rated_at',
          'category_id', 'assignee_id', 'community_id', 'rating_overall', 'rating_speed', 'rating_attitude')
NIL = uuid.UUID(int=0)
SHANGHAI = ZoneInfo('Asia/Shanghai')

# (name, columns): each serves a page whose filter and order it matches.
INDEXES = (
    # The dashboard's medians read the period's jobs from the index alone (no heap visit per job).
    ('ix_work_orders_opened_cover', ['company_id', 'created_at', 'accepted_at', 'category_id', 'assignee_id',
                                     'community_id']),
    ('ix_work_orders_completed_cover', ['company_id', 'completed_at', 'created_at', 'category_id', 'assignee_id',
                                        'community_id']),
)


def upgrade():
    op.create_table('work_order_weeks',
        sa.Column('company_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=1), nullable=False),
        sa.Column('key_id', sa.Uuid(), nullable=False),
        sa.Column('community_key', sa.Uuid(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_work_order_weeks_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', 'id', name=op.f('pk_work_order_weeks')),
    )
    with op.batch_alter_table('work_order_weeks', schema=None) as batch_op:
        batch_op.create_index('uq_work_order_weeks_key', ['company_id', 'week', 'kind', 'key_id', 'community_key'],
                              unique=True)
    rls.enable(op, 'work_order_weeks')
    op.create_table('work_order_median_cache',
        sa.Column('company_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('first_week', sa.Date(), nullable=False),
        sa.Column('weeks', sa.Integer(), nullable=False),
        sa.Column('community_key', sa.Uuid(), nullable=False),
        sa.Column('fingerprint', sa.BigInteger(), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_work_order_median_cache_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', 'id', name=op.f('pk_work_order_median_cache')),
    )
    with op.batch_alter_table('work_order_median_cache', schema=None) as batch_op:
        batch_op.create_index('uq_work_order_median_cache_key', ['company_id', 'first_week', 'weeks', 'community_key'],
                              unique=True)
    rls.enable(op, 'work_order_median_cache')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)
        batch_op.drop_index('ix_work_orders_completed')  # a prefix of ix_work_orders_completed_cover
    _backfill()


def downgrade():
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index('ix_work_orders_completed', ['company_id', 'completed_at'], unique=False)
        for name, _columns in INDEXES:
            batch_op.drop_index(name)
    rls.disable(op, 'work_order_median_cache')
    with op.batch_alter_table('work_order_median_cache', schema=None) as batch_op:
        batch_op.drop_index('uq_work_order_median_cache_key')
    op.drop_table('work_order_median_cache')
    rls.disable(op, 'work_order_weeks')
    with op.batch_alter_table('work_order_weeks', schema=None) as batch_op:
        batch_op.drop_index('uq_work_order_weeks_key')
    op.drop_table('work_order_weeks')


def _aware(moment):
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite without type information
        from datetime import datetime

        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _week(moment):
    day = moment.astimezone(SHANGHAI).date()
    return day - timedelta(days=day.weekday())


def _uuid(value):
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _backfill():
    """The existing jobs' figures, by the rules of tenants/work_orders/figures.py (kept in step with it; the
    tests compare the two on the same jobs)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':  # the owner is subject to the policies too (FORCE)
        bind.execute(sa.text("SELECT set_config('app.all_companies', 'on', true)"))
    jobs = sa.table('work_orders', sa.column('company_id'), *(sa.column(f) for f in FIELDS))
    totals = defaultdict(lambda: defaultdict(int))
    for row in bind.execute(sa.select(jobs).execution_options(yield_per=5000)):
        v = dict(zip(('company_id', *FIELDS), row, strict=True))
        created, accepted, completed, rated = (_aware(v[k]) for k in
                                               ('created_at', 'accepted_at', 'completed_at', 'rated_at'))
        if created is None:
            continue
        company, community = _uuid(v['company_id']), _uuid(v['community_id']) or NIL
        for kind, key in (('c', _uuid(v['category_id'])), ('a', _uuid(v['assignee_id']) or NIL)):
            opened = totals[(company, _week(created), kind, key, community)]
            opened['opened'] += 1
            if accepted is not None:
                opened['accepted'] += 1
                opened['response_on_time'] += int(accepted <= _aware(v['response_due_at']))
            if completed is not None:
                done = totals[(company, _week(completed), kind, key, community)]
                done['completed'] += 1
                done['on_time'] += int(completed <= _aware(v['resolution_due_at']))
            if rated is not None:
                r = totals[(company, _week(rated), kind, key, community)]
                r['rated'] += 1
                for name in ('overall', 'speed', 'attitude'):
                    if v[f'rating_{name}'] is not None:
                        r[f'rating_sum_{name}'] += v[f'rating_{name}']
                        r[f'rating_count_{name}'] += 1
    if not totals:
        return
    from datetime import datetime

    now = datetime.now(UTC)
    weeks = sa.table('work_order_weeks',
                     *(sa.column(c, sa.Uuid()) for c in ('company_id', 'id', 'key_id', 'community_key')),
                     sa.column('week', sa.Date()), sa.column('kind', sa.String()), *(sa.column(c, sa.Integer()) for c in (*COUNTS, 'revision')),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    rows = [{'company_id': company_id, 'id': uuid.uuid4(), 'week': week, 'kind': kind, 'key_id': key,
             'community_key': community, 'revision': 1, 'created_at': now,
             **{name: counts.get(name, 0) for name in COUNTS}}
            for (company_id, week, kind, key, community), counts in totals.items()]
    for start in range(0, len(rows), 5000):
        bind.execute(weeks.insert(), rows[start:start + 5000])
