"""groundwork: a per-user session generation (signing out and changing the password revoke every copied session
and remember cookie), the company's service phone (shown to owners beside the complaint phone)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_phone', sa.String(length=20), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('service_phone')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
