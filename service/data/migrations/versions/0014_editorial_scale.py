"""the Final Summary's own scale

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00.000000

- ``page.editorial_scale``: the scale of a page's "Final Summary" box (5, 10 or 100) where its
  editorial scores are on different scales, chosen by the site's owner; null until one is
  chosen (the box then takes the largest of its scores' scales). Where every score has the
  same scale, the box is on that scale whatever is stored here.

Existing pages choose nothing: their boxes come out on their scores' own scale (or the
largest of them), no longer on the site's rating scale.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('editorial_scale', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_page_editorial_scale'), 'editorial_scale IN (5, 10, 100)'
        )


def downgrade():
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_page_editorial_scale'), type_='check')
        batch_op.drop_column('editorial_scale')
