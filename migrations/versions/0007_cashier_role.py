"""the cashier role (收费员): memberships and invitations may hold 'cashier'

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 00:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD = ('admin', 'steward', 'technician', 'owner')
NEW = (*OLD, 'cashier')
CHECKS = (('memberships', 'membership_role'), ('invitations', 'invitation_role'))


def _condition(values) -> str:
    return "role IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _widen(values):
    # The naming convention makes the CHECK of an Enum column ck_<table>_<enum name>.
    for table, name in CHECKS:
        constraint = f"ck_{table}_{name}"
        if op.get_bind().dialect.name == "sqlite":
            # SQLite cannot alter a constraint: the table is copied with the new CHECK.
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.drop_constraint(op.f(constraint), type_="check")
                batch_op.create_check_constraint(op.f(constraint), _condition(values))
        else:
            op.drop_constraint(op.f(constraint), table, type_="check")
            op.create_check_constraint(op.f(constraint), table, _condition(values))


def upgrade():
    _widen(NEW)


def downgrade():
    op.execute("DELETE FROM invitations WHERE role = 'cashier'")
    op.execute("UPDATE memberships SET ended_at = COALESCE(ended_at, CURRENT_TIMESTAMP), role = 'steward' "
               "WHERE role = 'cashier'")
    _widen(OLD)
