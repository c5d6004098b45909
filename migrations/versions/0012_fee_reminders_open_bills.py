"""fee settings: automatic reminders (the daily job reminds homes owing more than an amount the company chooses);
an index of the open bills for the arrears pages

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('fee_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_remind_min_fen', sa.BigInteger(), nullable=True))
        batch_op.create_check_constraint('auto_remind_min_range',
                                         'auto_remind_min_fen IS NULL OR auto_remind_min_fen >= 0')
    op.create_index('ix_bills_open', 'bills', ['company_id', 'due_on'],
                    postgresql_include=['community_id', 'building_id', 'household_id', 'amount_fen', 'paid_fen',
                                        'credited_fen'],
                    postgresql_where=sa.text('amount_fen > paid_fen + credited_fen'),
                    sqlite_where=sa.text('amount_fen > paid_fen + credited_fen'))


def downgrade():
    op.drop_index('ix_bills_open', table_name='bills')
    with op.batch_alter_table('fee_settings', schema=None) as batch_op:
        batch_op.drop_constraint('auto_remind_min_range', type_='check')
        batch_op.drop_column('auto_remind_min_fen')
