"""fee figures kept by the database: per community and month billed and paid (the collection rate), per household
and building what is owed past due by age (the arrears pages), per day the payments with a receipt (the payments
list), all kept exact by triggers on bills and payments; an index of the payments list's order

Revision ID: 0016_fees
Revises: 0015_wo
Create Date: 2026-12-06 20:30:00

The triggers are statement-level with transition tables on PostgreSQL (one bill run's INSERT of 5,000 bills moves
the figures once) and row-level on SQLite. CAREFUL: a later SQLite batch migration (``op.batch_alter_table``) on
bills or payments copies the table into a new one and DROPS ITS TRIGGERS; such a migration must call
``create_triggers`` of this file again (tests/test_fee_figures.py checks the triggers exist at head).

The arrears figures depend on the day (what is overdue, how old): ``fee_arrears_state`` holds the day they are
counted for, and tenants/fees/figures.py ``ensure_fresh`` recounts them when the day changes (the first arrears page
of the day, or the daily job). So they start empty here: the first look counts them.
"""
from alembic import op
import sqlalchemy as sa

from saas import rls


# revision identifiers, used by Alembic.
revision = '0016_fees'
down_revision = '0015_wo'
branch_labels = None
depends_on = None

TABLES = ('fee_month_figures', 'fee_arrears_state', 'fee_household_arrears', 'fee_building_arrears',
          'fee_payment_days')
BUCKETS = ('d30', 'd90', 'd365', 'older', 'total')


def _company():
    return sa.Column('company_id', sa.Uuid(), sa.ForeignKey('companies.id', name=None), nullable=False)


def upgrade():
    op.create_table('fee_month_figures',
        _company(),
        sa.Column('community_id', sa.Uuid(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('billed_fen', sa.BigInteger(), nullable=False),
        sa.Column('paid_fen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'community_id', 'month', name=op.f('pk_fee_month_figures')),
    )
    op.create_table('fee_arrears_state',
        _company(),
        *(sa.Column(name, sa.Date(), nullable=False)
          for name in ('as_of', 'd30_from', 'd90_from', 'd365_from', 'flag_cutoff')),
        sa.PrimaryKeyConstraint('company_id', name=op.f('pk_fee_arrears_state')),
    )
    op.create_table('fee_household_arrears',
        _company(),
        sa.Column('household_id', sa.Uuid(), nullable=False),
        sa.Column('community_id', sa.Uuid(), nullable=False),
        sa.Column('building_id', sa.Uuid(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in BUCKETS),
        sa.Column('oldest_due', sa.Date(), nullable=True),  # NULL: owes nothing now (a row of zeros)
        sa.PrimaryKeyConstraint('company_id', 'household_id', name=op.f('pk_fee_household_arrears')),
    )
    op.create_index('ix_fee_household_arrears_total', 'fee_household_arrears',
                    ['company_id', 'total', 'household_id'])
    op.create_index('ix_fee_household_arrears_community', 'fee_household_arrears',
                    ['company_id', 'community_id', 'total', 'household_id'])
    op.create_index('ix_fee_household_arrears_building', 'fee_household_arrears',
                    ['company_id', 'building_id', 'total', 'household_id'])
    op.create_index('ix_fee_household_arrears_oldest', 'fee_household_arrears',
                    ['company_id', 'oldest_due', 'household_id'])
    op.create_table('fee_building_arrears',
        _company(),
        sa.Column('building_id', sa.Uuid(), nullable=False),
        sa.Column('community_id', sa.Uuid(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in BUCKETS),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('flagged', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'building_id', name=op.f('pk_fee_building_arrears')),
    )
    op.create_index('ix_fee_building_arrears_community', 'fee_building_arrears', ['company_id', 'community_id'])
    op.create_table('fee_payment_days',
        _company(),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('community_id', sa.Uuid(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('payments', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('company_id', 'day', 'community_id', 'method', 'status',
                                name=op.f('pk_fee_payment_days')),
    )
    for table in TABLES:
        rls.enable(op, table)
    # The payments list: newest first, only payments with a receipt (its filter), read in index order.
    op.create_index('ix_payments_paid', 'payments', ['company_id', 'paid_at', 'id'],
                    postgresql_where=sa.text('receipt_number IS NOT NULL'),
                    sqlite_where=sa.text('receipt_number IS NOT NULL'))
    _backfill()
    create_triggers()


def downgrade():
    drop_triggers()
    op.drop_index('ix_payments_paid', table_name='payments')
    for table in reversed(TABLES):
        rls.disable(op, table)
        op.drop_table(table)


# --- the triggers -------------------------------------------------------------------------------------------------

# The columns of a bill the figures read, as the "changes" relation: one row per new row (+1) and old row (−1).
_BILL_COLUMNS = 'company_id, household_id, community_id, building_id, kind, period_start, amount_fen, paid_fen, credited_fen'
_PAYMENT_COLUMNS = 'company_id, household_id, method, status, amount_fen, refunded_fen, receipt_number, paid_at'

# PostgreSQL: the body of each function, over {changes} (the transition tables with a sign) and {keys} (the
# households they touch).
_PG_BILLS = """
BEGIN
  INSERT INTO fee_month_figures AS f (company_id, community_id, month, billed_fen, paid_fen)
  SELECT company_id, community_id, date_trunc('month', period_start)::date,
         sum(sign * (amount_fen - credited_fen)), sum(sign * paid_fen)
  FROM ({changes}) c WHERE kind <> 'late_fee'
  GROUP BY 1, 2, 3
  HAVING sum(sign * (amount_fen - credited_fen)) <> 0 OR sum(sign * paid_fen) <> 0
  ON CONFLICT (company_id, community_id, month) DO UPDATE
    SET billed_fen = f.billed_fen + excluded.billed_fen, paid_fen = f.paid_fen + excluded.paid_fen;

  -- The arrears: only once counted for a day (else ensure_fresh counts them all). A recount waits for this
  -- write and this write for a recount (the state row); two writes to one household wait for each other (its
  -- row), so each recount below sees the other's bills.
  PERFORM 1 FROM fee_arrears_state s
   WHERE s.company_id IN (SELECT DISTINCT company_id FROM ({keys}) k) FOR SHARE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM households h WHERE (h.company_id, h.id) IN (SELECT company_id, household_id FROM ({keys}) k)
   ORDER BY h.id FOR NO KEY UPDATE;
  -- The buildings lose what their touched households counted, the households are counted again, and the
  -- buildings gain what they count now (increments: writes to two homes of one building add up). Nothing is
  -- deleted (the app's role may not delete): a household that no longer owes keeps a row of zeros.
  UPDATE fee_building_arrears b
     SET d30 = b.d30 - x.d30, d90 = b.d90 - x.d90, d365 = b.d365 - x.d365, older = b.older - x.older,
         total = b.total - x.total, households = b.households - x.n, flagged = b.flagged - x.flagged
    FROM (SELECT a.company_id, a.building_id, sum(a.d30) AS d30, sum(a.d90) AS d90, sum(a.d365) AS d365,
                 sum(a.older) AS older, sum(a.total) AS total, count(*) AS n,
                 sum(CASE WHEN a.oldest_due <= s.flag_cutoff THEN 1 ELSE 0 END) AS flagged
            FROM fee_household_arrears a JOIN fee_arrears_state s ON s.company_id = a.company_id
           WHERE (a.company_id, a.household_id) IN (SELECT company_id, household_id FROM ({keys}) k)
             AND a.total > 0
           GROUP BY 1, 2) x
   WHERE b.company_id = x.company_id AND b.building_id = x.building_id;
  UPDATE fee_household_arrears a SET d30 = 0, d90 = 0, d365 = 0, older = 0, total = 0, oldest_due = NULL
   WHERE (a.company_id, a.household_id) IN (SELECT company_id, household_id FROM ({keys}) k) AND a.total > 0;
  INSERT INTO fee_household_arrears AS f (company_id, household_id, community_id, building_id, d30, d90, d365,
                                          older, total, oldest_due)
  SELECT b.company_id, b.household_id, b.community_id, b.building_id,
         sum(CASE WHEN b.due_on >= s.d30_from THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
         sum(CASE WHEN b.due_on < s.d30_from AND b.due_on >= s.d90_from
                  THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
         sum(CASE WHEN b.due_on < s.d90_from AND b.due_on >= s.d365_from
                  THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
         sum(CASE WHEN b.due_on < s.d365_from THEN b.amount_fen - b.paid_fen - b.credited_fen ELSE 0 END),
         sum(b.amount_fen - b.paid_fen - b.credited_fen), min(b.due_on)
    FROM bills b JOIN fee_arrears_state s ON s.company_id = b.company_id
   WHERE (b.company_id, b.household_id) IN (SELECT company_id, household_id FROM ({keys}) k)
     AND b.amount_fen > b.paid_fen + b.credited_fen AND b.due_on < s.as_of
   GROUP BY b.company_id, b.household_id, b.community_id, b.building_id
  ON CONFLICT (company_id, household_id) DO UPDATE
    SET community_id = excluded.community_id, building_id = excluded.building_id, d30 = excluded.d30,
        d90 = excluded.d90, d365 = excluded.d365, older = excluded.older, total = excluded.total,
        oldest_due = excluded.oldest_due;
  INSERT INTO fee_building_arrears AS f (company_id, building_id, community_id, d30, d90, d365, older, total,
                                         households, flagged)
  SELECT a.company_id, a.building_id, a.community_id, sum(a.d30), sum(a.d90), sum(a.d365), sum(a.older),
         sum(a.total), count(*), sum(CASE WHEN a.oldest_due <= s.flag_cutoff THEN 1 ELSE 0 END)
    FROM fee_household_arrears a JOIN fee_arrears_state s ON s.company_id = a.company_id
   WHERE (a.company_id, a.household_id) IN (SELECT company_id, household_id FROM ({keys}) k) AND a.total > 0
   GROUP BY 1, 2, 3
  ON CONFLICT (company_id, building_id) DO UPDATE
    SET d30 = f.d30 + excluded.d30, d90 = f.d90 + excluded.d90, d365 = f.d365 + excluded.d365,
        older = f.older + excluded.older, total = f.total + excluded.total,
        households = f.households + excluded.households, flagged = f.flagged + excluded.flagged;
  RETURN NULL;
END
"""

_PG_PAYMENTS = """
BEGIN
  INSERT INTO fee_payment_days AS f (company_id, day, community_id, method, status, payments, amount_fen,
                                     refunded_fen)
  SELECT c.company_id, (c.paid_at AT TIME ZONE 'Asia/Shanghai')::date, bd.community_id, c.method, c.status,
         sum(c.sign), sum(c.sign * c.amount_fen), sum(c.sign * c.refunded_fen)
    FROM ({changes}) c
    JOIN households h ON h.company_id = c.company_id AND h.id = c.household_id
    JOIN buildings bd ON bd.company_id = h.company_id AND bd.id = h.building_id
   WHERE c.receipt_number IS NOT NULL AND c.paid_at IS NOT NULL
   GROUP BY 1, 2, 3, 4, 5
  HAVING sum(c.sign) <> 0 OR sum(c.sign * c.amount_fen) <> 0 OR sum(c.sign * c.refunded_fen) <> 0
  ON CONFLICT (company_id, day, community_id, method, status) DO UPDATE
    SET payments = f.payments + excluded.payments, amount_fen = f.amount_fen + excluded.amount_fen,
        refunded_fen = f.refunded_fen + excluded.refunded_fen;
  RETURN NULL;
END
"""


def _pg_changes(columns: str, event: str) -> tuple[str, str]:
    new = f'SELECT {columns}, 1 AS sign FROM new_rows'
    old = f'SELECT {columns}, -1 AS sign FROM old_rows'
    changes = {'INSERT': new, 'DELETE': old, 'UPDATE': f'{new} UNION ALL {old}'}[event]
    keys = {'INSERT': 'SELECT company_id, household_id FROM new_rows',
            'DELETE': 'SELECT company_id, household_id FROM old_rows',
            'UPDATE': 'SELECT company_id, household_id FROM new_rows UNION SELECT company_id, household_id '
                      'FROM old_rows'}[event]
    return changes, keys


def _referencing(event: str) -> str:
    return {'INSERT': 'NEW TABLE AS new_rows', 'DELETE': 'OLD TABLE AS old_rows',
            'UPDATE': 'OLD TABLE AS old_rows NEW TABLE AS new_rows'}[event]


# SQLite: one trigger per table and event, per row. Its statements cannot use WITH, and an INSERT … SELECT with an
# upsert needs a WHERE (the parser's rule). A household's and a building's arrears are simply counted again (one
# writer at a time on SQLite).
def _sqlite_month(row: str, sign: str) -> str:
    if sign == '-':  # the row being taken away was added before: its figure row exists
        return (f"UPDATE fee_month_figures SET billed_fen = billed_fen - ({row}.amount_fen - {row}.credited_fen), "
                f"paid_fen = paid_fen - {row}.paid_fen WHERE company_id = {row}.company_id "
                f"AND community_id = {row}.community_id AND month = strftime('%Y-%m-01', {row}.period_start) "
                f"AND {row}.kind <> 'late_fee';")
    return ("INSERT INTO fee_month_figures (company_id, community_id, month, billed_fen, paid_fen) "
            f"SELECT {row}.company_id, {row}.community_id, strftime('%Y-%m-01', {row}.period_start), "
            f"{row}.amount_fen - {row}.credited_fen, {row}.paid_fen WHERE {row}.kind <> 'late_fee' "
            "ON CONFLICT (company_id, community_id, month) DO UPDATE SET "
            "billed_fen = billed_fen + excluded.billed_fen, paid_fen = paid_fen + excluded.paid_fen;")


def _sqlite_arrears(row: str) -> str:
    owed = 'b.amount_fen - b.paid_fen - b.credited_fen'
    return f"""
  DELETE FROM fee_household_arrears WHERE company_id = {row}.company_id AND household_id = {row}.household_id;
  INSERT INTO fee_household_arrears (company_id, household_id, community_id, building_id, d30, d90, d365, older,
                                     total, oldest_due)
  SELECT b.company_id, b.household_id, b.community_id, b.building_id,
         sum(CASE WHEN b.due_on >= s.d30_from THEN {owed} ELSE 0 END),
         sum(CASE WHEN b.due_on < s.d30_from AND b.due_on >= s.d90_from THEN {owed} ELSE 0 END),
         sum(CASE WHEN b.due_on < s.d90_from AND b.due_on >= s.d365_from THEN {owed} ELSE 0 END),
         sum(CASE WHEN b.due_on < s.d365_from THEN {owed} ELSE 0 END), sum({owed}), min(b.due_on)
    FROM bills b JOIN fee_arrears_state s ON s.company_id = b.company_id
   WHERE b.company_id = {row}.company_id AND b.household_id = {row}.household_id
     AND b.amount_fen > b.paid_fen + b.credited_fen AND b.due_on < s.as_of
   GROUP BY b.company_id, b.household_id, b.community_id, b.building_id;
  DELETE FROM fee_building_arrears WHERE company_id = {row}.company_id AND building_id = {row}.building_id;
  INSERT INTO fee_building_arrears (company_id, building_id, community_id, d30, d90, d365, older, total,
                                    households, flagged)
  SELECT a.company_id, a.building_id, a.community_id, sum(a.d30), sum(a.d90), sum(a.d365), sum(a.older),
         sum(a.total), count(*), sum(CASE WHEN a.oldest_due <= s.flag_cutoff THEN 1 ELSE 0 END)
    FROM fee_household_arrears a JOIN fee_arrears_state s ON s.company_id = a.company_id
   WHERE a.company_id = {row}.company_id AND a.building_id = {row}.building_id AND a.total > 0
   GROUP BY a.company_id, a.building_id, a.community_id;"""


def _sqlite_payment_day(row: str, sign: str) -> str:
    qualifies = f"{row}.receipt_number IS NOT NULL AND {row}.paid_at IS NOT NULL"
    community = (f"(SELECT bd.community_id FROM households h JOIN buildings bd ON bd.company_id = h.company_id "
                 f"AND bd.id = h.building_id WHERE h.company_id = {row}.company_id AND h.id = {row}.household_id)")
    day = f"date({row}.paid_at, '+8 hours')"  # Shanghai has no daylight saving: always UTC+8
    if sign == '-':
        return (f"UPDATE fee_payment_days SET payments = payments - 1, amount_fen = amount_fen - {row}.amount_fen, "
                f"refunded_fen = refunded_fen - {row}.refunded_fen WHERE {qualifies} "
                f"AND company_id = {row}.company_id AND day = {day} AND community_id = {community} "
                f"AND method = {row}.method AND status = {row}.status;")
    return ("INSERT INTO fee_payment_days (company_id, day, community_id, method, status, payments, amount_fen, "
            f"refunded_fen) SELECT {row}.company_id, {day}, {community}, {row}.method, {row}.status, 1, "
            f"{row}.amount_fen, {row}.refunded_fen WHERE {qualifies} "
            "ON CONFLICT (company_id, day, community_id, method, status) DO UPDATE SET "
            "payments = payments + 1, amount_fen = amount_fen + excluded.amount_fen, "
            "refunded_fen = refunded_fen + excluded.refunded_fen;")


_EVENTS = ('INSERT', 'UPDATE', 'DELETE')


def create_triggers():
    if op.get_bind().dialect.name == 'postgresql':
        for table, columns, body in (('bills', _BILL_COLUMNS, _PG_BILLS), ('payments', _PAYMENT_COLUMNS, _PG_PAYMENTS)):
            for event in _EVENTS:
                name = f'{table}_fee_figures_{event.lower()}'
                changes, keys = _pg_changes(columns, event)
                op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$"
                           f"{body.format(changes=changes, keys=keys)}$fn$")
                op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {_referencing(event)} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
        return
    bodies = {
        ('bills', 'INSERT'): _sqlite_month('NEW', '+') + _sqlite_arrears('NEW'),
        ('bills', 'DELETE'): _sqlite_month('OLD', '-') + _sqlite_arrears('OLD'),
        ('bills', 'UPDATE'): _sqlite_month('OLD', '-') + _sqlite_month('NEW', '+') + _sqlite_arrears('OLD')
        + _sqlite_arrears('NEW'),
        ('payments', 'INSERT'): _sqlite_payment_day('NEW', '+'),
        ('payments', 'DELETE'): _sqlite_payment_day('OLD', '-'),
        ('payments', 'UPDATE'): _sqlite_payment_day('OLD', '-') + _sqlite_payment_day('NEW', '+'),
    }
    for (table, event), body in bodies.items():
        op.execute(f"CREATE TRIGGER {table}_fee_figures_{event.lower()} AFTER {event} ON {table} FOR EACH ROW "
                   f"BEGIN {body} END")


def drop_triggers():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table in ('bills', 'payments'):
        for event in _EVENTS:
            name = f'{table}_fee_figures_{event.lower()}'
            if postgres:
                op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
                op.execute(f'DROP FUNCTION IF EXISTS {name}()')
            else:
                op.execute(f'DROP TRIGGER IF EXISTS {name}')


def _backfill():
    """The month and payment figures of the existing bills and payments (the arrears: see the docstring)."""
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:  # the owner is subject to the policies too (FORCE)
        bind.execute(sa.text("SELECT set_config('app.all_companies', 'on', true)"))
    month = "date_trunc('month', period_start)::date" if postgres else "strftime('%Y-%m-01', period_start)"
    op.execute(
        "INSERT INTO fee_month_figures (company_id, community_id, month, billed_fen, paid_fen) "
        f"SELECT company_id, community_id, {month}, sum(amount_fen - credited_fen), sum(paid_fen) FROM bills "
        "WHERE kind <> 'late_fee' GROUP BY 1, 2, 3")
    day = "(p.paid_at AT TIME ZONE 'Asia/Shanghai')::date" if postgres else "date(p.paid_at, '+8 hours')"
    op.execute(
        "INSERT INTO fee_payment_days (company_id, day, community_id, method, status, payments, amount_fen, "
        f"refunded_fen) SELECT p.company_id, {day}, bd.community_id, p.method, p.status, count(*), "
        "sum(p.amount_fen), sum(p.refunded_fen) FROM payments p "
        "JOIN households h ON h.company_id = p.company_id AND h.id = p.household_id "
        "JOIN buildings bd ON bd.company_id = h.company_id AND bd.id = h.building_id "
        "WHERE p.receipt_number IS NOT NULL AND p.paid_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5")
    if postgres:
        bind.execute(sa.text("SELECT set_config('app.all_companies', 'off', true)"))
