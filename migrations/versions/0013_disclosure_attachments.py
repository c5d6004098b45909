"""disclosure attachments: scanned PDFs and re-encoded images on statements, immutable with their publication

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:30:00

"""
from alembic import op
import sqlalchemy as sa

from saas import rls

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('disclosure_attachments',
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('publication_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=100), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.String(length=300), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id', 'publication_id'], ['disclosure_publications.company_id', 'disclosure_publications.id'], name=op.f('fk_disclosure_attachments_company_id_publication_id_disclosure_publications')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_disclosure_attachments_company_id_companies')),
    sa.PrimaryKeyConstraint('company_id', 'id', name=op.f('pk_disclosure_attachments'))
    )
    with op.batch_alter_table('disclosure_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_disclosure_attachments_publication', ['company_id', 'publication_id', 'position'], unique=False)
    rls.enable(op, 'disclosure_attachments')


def downgrade():
    rls.disable(op, 'disclosure_attachments')
    with op.batch_alter_table('disclosure_attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_disclosure_attachments_publication')
    op.drop_table('disclosure_attachments')
