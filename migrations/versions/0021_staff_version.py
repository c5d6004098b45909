"""a company's staff version token, for the assignee lists kept per company

Revision ID: 0021_staff_version
Revises: 0020_wo_all_communities
Create Date: 2026-12-07 05:00:00

The work-order pages offer every staff member as an assignee (420 in a company of 20,000 homes); the drawn list is
kept in the app's process under this token, which every write to who the staff are moves (saas/staff_version.py).
Existing companies start at 0: no process has a list kept yet.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021_staff_version'
down_revision = '0020_wo_all_communities'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_version', sa.BigInteger(), server_default=sa.text('0'), nullable=False))


def downgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('staff_version')
