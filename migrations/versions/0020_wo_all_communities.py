"""the dashboard's weekly figures added up over every community: rows of work_order_weeks with community_key ALL,
filled here from the existing rows (from then on the writes keep them, tenants/work_orders/figures.py)

Revision ID: 0020_wo_all_communities
Revises: 0019_rating_reviews
Create Date: 2026-12-07 04:00:00

The dashboard for all communities (the usual one) summed every community's rows: 2,800 at 26 weeks and four
communities, 2.9 ms in PostgreSQL. It now reads these rows alone, about 780. The unique index puts community_key
before the week, so that either page reads the index entries of its own rows only (not every community's rows of
the period); it still names the same columns, so the writes' upserts (ON CONFLICT) find it as before.
"""
import uuid
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_wo_all_communities'
down_revision = '0019_rating_reviews'
branch_labels = None
depends_on = None

COUNTS = ('opened', 'accepted', 'response_on_time', 'completed', 'on_time', 'rated',
          'rating_sum_overall', 'rating_sum_speed', 'rating_sum_attitude',
          'rating_count_overall', 'rating_count_speed', 'rating_count_attitude')
ALL = uuid.UUID(int=(1 << 128) - 1)  # figures.ALL

weeks = sa.table('work_order_weeks',
                 *(sa.column(c, sa.Uuid()) for c in ('company_id', 'id', 'key_id', 'community_key')),
                 sa.column('week', sa.Date()), sa.column('kind', sa.String()),
                 *(sa.column(c, sa.Integer()) for c in (*COUNTS, 'revision')),
                 sa.column('created_at', sa.DateTime(timezone=True)))
median_cache = sa.table('work_order_median_cache', sa.column('community_key', sa.Uuid()))
OLD_KEY = ['company_id', 'week', 'kind', 'key_id', 'community_key']
NEW_KEY = ['company_id', 'community_key', 'week', 'kind', 'key_id']


def _key(columns):
    with op.batch_alter_table('work_order_weeks', schema=None) as batch_op:
        batch_op.drop_index('uq_work_order_weeks_key')
        batch_op.create_index('uq_work_order_weeks_key', columns, unique=True)


def upgrade():
    """One ALL row per company, week, kind and key: the sums of its communities' rows. Its revision is the sum of
    theirs too, so the fingerprint of a period (the sum of the revisions the dashboard reads) is the one its
    medians were cached under, and grows from there with every change: the cache stays valid across the upgrade."""
    bind = _all_companies()
    summed = bind.execute(
        sa.select(weeks.c.company_id, weeks.c.week, weeks.c.kind, weeks.c.key_id,
                  *(sa.func.sum(weeks.c[name]) for name in (*COUNTS, 'revision')))
        .where(weeks.c.community_key != ALL)
        .group_by(weeks.c.company_id, weeks.c.week, weeks.c.kind, weeks.c.key_id)).all()
    now = datetime.now(UTC)
    rows = [{'company_id': company_id, 'id': uuid.uuid4(), 'created_at': now, 'week': week, 'kind': kind,
             'key_id': key_id, 'community_key': ALL, **dict(zip((*COUNTS, 'revision'), map(int, sums), strict=True))}
            for company_id, week, kind, key_id, *sums in summed]
    for start in range(0, len(rows), 5000):
        bind.execute(weeks.insert(), rows[start:start + 5000])
    _key(NEW_KEY)


def downgrade():
    """The ALL rows go; so do the medians cached for every community (NIL there), under fingerprints that were
    sums of the ALL rows' revisions: the dashboard computes them again once."""
    bind = _all_companies()
    bind.execute(weeks.delete().where(weeks.c.community_key == ALL))
    bind.execute(median_cache.delete().where(median_cache.c.community_key == uuid.UUID(int=0)))
    _key(OLD_KEY)


def _all_companies():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':  # the owner is subject to the policies too (FORCE)
        bind.execute(sa.text("SELECT set_config('app.all_companies', 'on', true)"))
    return bind
