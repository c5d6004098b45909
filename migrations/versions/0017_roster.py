"""the roster's counts kept by the writes: households per building and occupancy (with how many have a steward)
and each steward's load (filled here from the existing households), and a trigram index for the households search

Revision ID: 0017_roster
Revises: 0016_fees
Create Date: 2026-12-06 20:20:00

"""
import uuid
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from saas import rls

# revision identifiers, used by Alembic.
revision = '0017_roster'
down_revision = '0016_fees'
branch_labels = None
depends_on = None

OCCUPANCIES = ('occupied', 'vacant', 'undelivered')
# Not in the models (it needs the pg_trgm extension, which SQLite and some PostgreSQL hosts lack): migrations/env.py
# leaves it out of the model/migration comparison.
SEARCH_INDEX = 'ix_households_search'


def upgrade():
    op.create_table('household_figures',
        sa.Column('company_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('building_id', sa.Uuid(), nullable=False),
        sa.Column('occupancy', sa.Enum(*OCCUPANCIES, name='household_occupancy', native_enum=False,
                                       create_constraint=True, length=20), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('with_steward', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_household_figures_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', 'id', name=op.f('pk_household_figures')),
    )
    with op.batch_alter_table('household_figures', schema=None) as batch_op:
        batch_op.create_index('uq_household_figures_key', ['company_id', 'building_id', 'occupancy'], unique=True)
    rls.enable(op, 'household_figures')
    op.create_table('steward_loads',
        sa.Column('company_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('steward_id', sa.Uuid(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_steward_loads_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', 'id', name=op.f('pk_steward_loads')),
    )
    with op.batch_alter_table('steward_loads', schema=None) as batch_op:
        batch_op.create_index('uq_steward_loads_steward', ['company_id', 'steward_id'], unique=True)
    rls.enable(op, 'steward_loads')
    _backfill()
    _search_index()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {SEARCH_INDEX}')
    rls.disable(op, 'steward_loads')
    with op.batch_alter_table('steward_loads', schema=None) as batch_op:
        batch_op.drop_index('uq_steward_loads_steward')
    op.drop_table('steward_loads')
    rls.disable(op, 'household_figures')
    with op.batch_alter_table('household_figures', schema=None) as batch_op:
        batch_op.drop_index('uq_household_figures_key')
    op.drop_table('household_figures')


def _search_index():
    """The households search (``ILIKE '%…%'`` on the room, the owner's name and phone) reads this trigram index
    instead of every household of the company. In a savepoint: where pg_trgm cannot be created, the search
    stays correct, only slower."""
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
        bind.execute(sa.text(f'CREATE INDEX {SEARCH_INDEX} ON households USING gin '
                             '(room gin_trgm_ops, owner_name gin_trgm_ops, owner_phone gin_trgm_ops) '
                             'WHERE deleted_at IS NULL'))
    except sa.exc.DBAPIError:
        savepoint.rollback()
    else:
        savepoint.commit()


def _backfill():
    """The figures of the existing households, by the rules of tenants/roster/figures.py (the tests compare)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':  # the owner is subject to the policies too (FORCE)
        bind.execute(sa.text("SELECT set_config('app.all_companies', 'on', true)"))
    now = datetime.now(UTC)
    current = ("LEFT JOIN steward_assignments sa ON sa.company_id = h.company_id AND sa.household_id = h.id "
               "AND sa.ended_at IS NULL")
    figures = sa.table('household_figures', *(sa.column(c, sa.Uuid()) for c in ('company_id', 'id', 'building_id')),
                       sa.column('occupancy', sa.String()), sa.column('households', sa.Integer()),
                       sa.column('with_steward', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)))
    rows = [{'company_id': _uuid(c), 'id': uuid.uuid4(), 'building_id': _uuid(b), 'occupancy': occ,
             'households': n, 'with_steward': w, 'created_at': now}
            for c, b, occ, n, w in bind.execute(sa.text(
                f"SELECT h.company_id, h.building_id, h.occupancy, count(*), count(sa.id) FROM households h {current} "
                "WHERE h.deleted_at IS NULL GROUP BY h.company_id, h.building_id, h.occupancy"))]
    for start in range(0, len(rows), 5000):
        bind.execute(figures.insert(), rows[start:start + 5000])
    loads = sa.table('steward_loads', *(sa.column(c, sa.Uuid()) for c in ('company_id', 'id', 'steward_id')),
                     sa.column('households', sa.Integer()), sa.column('created_at', sa.DateTime(timezone=True)))
    rows = [{'company_id': _uuid(c), 'id': uuid.uuid4(), 'steward_id': _uuid(s), 'households': n, 'created_at': now}
            for c, s, n in bind.execute(sa.text(
                "SELECT sa.company_id, sa.steward_id, count(*) FROM steward_assignments sa "
                "JOIN households h ON h.company_id = sa.company_id AND h.id = sa.household_id "
                "WHERE sa.ended_at IS NULL AND h.deleted_at IS NULL GROUP BY sa.company_id, sa.steward_id"))]
    for start in range(0, len(rows), 5000):
        bind.execute(loads.insert(), rows[start:start + 5000])


def _uuid(value):
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
