"""public page cache: the version tokens its invalidation moves (companies.public_version for a company's public
pages, the public_versions row 'ratings' for the red/black list); existing companies start at 0

Revision ID: 0014_public
Revises: 0013
Create Date: 2026-12-06 20:05:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_public'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_version', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('public_changed_at', sa.DateTime(timezone=True), nullable=True))
    # A platform table (no company_id, so no row-level security): one row per group of platform-wide pages.
    versions = op.create_table('public_versions',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_public_versions'))
    )
    op.bulk_insert(versions, [{'name': 'ratings', 'version': 0}])


def downgrade():
    op.drop_table('public_versions')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('public_changed_at')
        batch_op.drop_column('public_version')
