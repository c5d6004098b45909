"""work-order pages at ten times a small company: per-company status counts kept by the writes
(work_order_status_counts, filled here from the existing jobs), partial indexes of the open jobs' deadlines and of
the grab pool

Revision ID: 0015_wo
Revises: 0014_public
Create Date: 2026-12-06 20:10:00

"""
import uuid
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from saas import rls


# revision identifiers, used by Alembic.
revision = '0015_wo'
down_revision = '0014_public'
branch_labels = None
depends_on = None

OPEN = ('new', 'assigned', 'accepted', 'on_the_way', 'in_progress', 'waiting_owner')  # states.OPEN
# The open jobs only (about 3 % of a busy company's): the overview's overdue and waiting counts read them from
# this index alone, whatever the length of the history.
OPEN_DUE_COLUMNS = ['company_id', 'resolution_due_at', 'response_due_at', 'accepted_at', 'paused_at', 'assignee_id']
OPEN_WHERE = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN))
# The grab pool: a technician's pool tab and its badge, without reading every new job's row.
POOL_COLUMNS = ['company_id', 'category_id', 'response_due_at']
POOL_WHERE = "status = 'new' AND in_pool"


def upgrade():
    op.create_table('work_order_status_counts',
        sa.Column('company_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_work_order_status_counts_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', 'id', name=op.f('pk_work_order_status_counts')),
    )
    with op.batch_alter_table('work_order_status_counts', schema=None) as batch_op:
        batch_op.create_index('uq_work_order_status_counts_key', ['company_id', 'status'], unique=True)
    rls.enable(op, 'work_order_status_counts')
    op.create_index('ix_work_orders_open_due', 'work_orders', OPEN_DUE_COLUMNS, unique=False,
                    postgresql_where=sa.text(OPEN_WHERE), sqlite_where=sa.text(OPEN_WHERE))
    op.create_index('ix_work_orders_pool', 'work_orders', POOL_COLUMNS, unique=False,
                    postgresql_where=sa.text(POOL_WHERE), sqlite_where=sa.text(POOL_WHERE))
    _backfill()


def downgrade():
    op.drop_index('ix_work_orders_pool', table_name='work_orders')
    op.drop_index('ix_work_orders_open_due', table_name='work_orders')
    rls.disable(op, 'work_order_status_counts')
    with op.batch_alter_table('work_order_status_counts', schema=None) as batch_op:
        batch_op.drop_index('uq_work_order_status_counts_key')
    op.drop_table('work_order_status_counts')


def _backfill():
    """Every company's jobs counted by status (the rule of tenants/work_orders/figures.py: one row per company and
    status, n the number of its jobs in that status)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':  # the owner is subject to the policies too (FORCE)
        bind.execute(sa.text("SELECT set_config('app.all_companies', 'on', true)"))
    jobs = sa.table('work_orders', sa.column('company_id', sa.Uuid()), sa.column('status', sa.String()))
    counted = bind.execute(sa.select(jobs.c.company_id, jobs.c.status, sa.func.count())
                           .group_by(jobs.c.company_id, jobs.c.status)).all()
    if not counted:
        return
    counts = sa.table('work_order_status_counts',
                      *(sa.column(c, sa.Uuid()) for c in ('company_id', 'id')), sa.column('status', sa.String()),
                      sa.column('n', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)))
    now = datetime.now(UTC)
    bind.execute(counts.insert(), [{'company_id': company_id, 'id': uuid.uuid4(), 'status': status, 'n': n,
                                    'created_at': now} for company_id, status, n in counted])
