"""payments carry their community (the household's when the payment was made, copied like a bill's), and the
payment figures (fee_payment_days) key on it instead of the household's current building; an index for the payments
list filtered by community

Revision ID: 0018_payment_community
Revises: 0017_roster
Create Date: 2026-12-07 10:00:00

Until now the figures' triggers and ``rebuild()`` joined a payment to its household's *current* building: after a
household moved to another community, a refund of an older payment was taken off the new community's row (which had
never counted it) and a rebuild moved every old payment there.

Existing payments get the community of their household's building as it is now: nothing recorded says where a
household was before a move, and it is what the figures counted those payments under so far. fee_payment_days is
then counted again from the payments (the old triggers may have left a moved household's refunds on the wrong row).

The payments' triggers are made again (``payments_fee_figures_*``; the bills' are untouched): on SQLite the batch
migration copies the table and so drops them, on PostgreSQL their functions change.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_payment_community'
down_revision = '0017_roster'
branch_labels = None
depends_on = None

_EVENTS = ('INSERT', 'UPDATE', 'DELETE')
PAID_WHERE = 'receipt_number IS NOT NULL'


def upgrade():
    _all_companies('on')
    _drop_triggers()
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.Uuid(), nullable=True))
    op.execute("UPDATE payments SET community_id = (SELECT bd.community_id FROM households h "
               "JOIN buildings bd ON bd.company_id = h.company_id AND bd.id = h.building_id "
               "WHERE h.company_id = payments.company_id AND h.id = payments.household_id)")
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.alter_column('community_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_payments_company_id_community_id_communities'), 'communities',
                                    ['company_id', 'community_id'], ['company_id', 'id'])
        batch_op.create_index('ix_payments_community_paid', ['company_id', 'community_id', 'paid_at', 'id'],
                              unique=False, postgresql_where=sa.text(PAID_WHERE), sqlite_where=sa.text(PAID_WHERE))
    _recount_payment_days(own_column=True)
    _create_triggers(own_column=True)
    _all_companies('off')


def downgrade():
    _all_companies('on')
    _drop_triggers()
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_community_paid', postgresql_where=sa.text(PAID_WHERE),
                            sqlite_where=sa.text(PAID_WHERE))
        batch_op.drop_constraint(batch_op.f('fk_payments_company_id_community_id_communities'), type_='foreignkey')
        batch_op.drop_column('community_id')
    _recount_payment_days(own_column=False)
    _create_triggers(own_column=False)
    _all_companies('off')


def _postgres() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _all_companies(value: str) -> None:
    if _postgres():  # the owner is subject to the policies too (FORCE)
        op.get_bind().execute(sa.text(f"SELECT set_config('app.all_companies', '{value}', true)"))


# A payment's community: its own column (from this revision on), or its household's current building (0016_fees).
def _community(row: str, own_column: bool) -> tuple[str, str]:
    """The community expression and the joins it needs, for a payment row named ``row``."""
    if own_column:
        return f'{row}.community_id', ''
    return ('bd.community_id', f'JOIN households h ON h.company_id = {row}.company_id AND h.id = {row}.household_id '
                               'JOIN buildings bd ON bd.company_id = h.company_id AND bd.id = h.building_id')


def _recount_payment_days(*, own_column: bool) -> None:
    day = "(p.paid_at AT TIME ZONE 'Asia/Shanghai')::date" if _postgres() else "date(p.paid_at, '+8 hours')"
    community, joins = _community('p', own_column)
    op.execute('DELETE FROM fee_payment_days')
    op.execute(
        "INSERT INTO fee_payment_days (company_id, day, community_id, method, status, payments, amount_fen, "
        f"refunded_fen) SELECT p.company_id, {day}, {community}, p.method, p.status, count(*), sum(p.amount_fen), "
        f"sum(p.refunded_fen) FROM payments p {joins} "
        "WHERE p.receipt_number IS NOT NULL AND p.paid_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5")


# --- the payments' triggers (the bills' stay as 0016_fees made them) ----------------------------------------------

def _payment_columns(own_column: bool) -> str:
    community = 'community_id, ' if own_column else ''
    return f'company_id, household_id, {community}method, status, amount_fen, refunded_fen, receipt_number, paid_at'


_PG_PAYMENTS = """
BEGIN
  INSERT INTO fee_payment_days AS f (company_id, day, community_id, method, status, payments, amount_fen,
                                     refunded_fen)
  SELECT c.company_id, (c.paid_at AT TIME ZONE 'Asia/Shanghai')::date, {community}, c.method, c.status,
         sum(c.sign), sum(c.sign * c.amount_fen), sum(c.sign * c.refunded_fen)
    FROM ({changes}) c {joins}
   WHERE c.receipt_number IS NOT NULL AND c.paid_at IS NOT NULL
   GROUP BY 1, 2, 3, 4, 5
  HAVING sum(c.sign) <> 0 OR sum(c.sign * c.amount_fen) <> 0 OR sum(c.sign * c.refunded_fen) <> 0
  ON CONFLICT (company_id, day, community_id, method, status) DO UPDATE
    SET payments = f.payments + excluded.payments, amount_fen = f.amount_fen + excluded.amount_fen,
        refunded_fen = f.refunded_fen + excluded.refunded_fen;
  RETURN NULL;
END
"""


def _pg_function(event: str, own_column: bool) -> str:
    columns = _payment_columns(own_column)
    new = f'SELECT {columns}, 1 AS sign FROM new_rows'
    old = f'SELECT {columns}, -1 AS sign FROM old_rows'
    changes = {'INSERT': new, 'DELETE': old, 'UPDATE': f'{new} UNION ALL {old}'}[event]
    community, joins = _community('c', own_column)
    return _PG_PAYMENTS.format(changes=changes, community=community, joins=joins)


def _referencing(event: str) -> str:
    return {'INSERT': 'NEW TABLE AS new_rows', 'DELETE': 'OLD TABLE AS old_rows',
            'UPDATE': 'OLD TABLE AS old_rows NEW TABLE AS new_rows'}[event]


def _sqlite_payment_day(row: str, sign: str, own_column: bool) -> str:
    qualifies = f"{row}.receipt_number IS NOT NULL AND {row}.paid_at IS NOT NULL"
    if own_column:
        community = f"{row}.community_id"
    else:
        community = (f"(SELECT bd.community_id FROM households h JOIN buildings bd ON bd.company_id = h.company_id "
                     f"AND bd.id = h.building_id WHERE h.company_id = {row}.company_id AND h.id = {row}.household_id)")
    day = f"date({row}.paid_at, '+8 hours')"  # Shanghai has no daylight saving: always UTC+8
    if sign == '-':  # the row being taken away was added before: its figure row exists
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


def _create_triggers(*, own_column: bool) -> None:
    for event in _EVENTS:
        name = f'payments_fee_figures_{event.lower()}'
        if _postgres():
            op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$"
                       f"{_pg_function(event, own_column)}$fn$")
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON payments REFERENCING {_referencing(event)} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
            continue
        body = {'INSERT': _sqlite_payment_day('NEW', '+', own_column),
                'DELETE': _sqlite_payment_day('OLD', '-', own_column),
                'UPDATE': _sqlite_payment_day('OLD', '-', own_column) + _sqlite_payment_day('NEW', '+', own_column),
                }[event]
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON payments FOR EACH ROW BEGIN {body} END")


def _drop_triggers() -> None:
    for event in _EVENTS:
        name = f'payments_fee_figures_{event.lower()}'
        if _postgres():
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON payments')
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
        else:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
