"""commenters' rights: privacy requests and retention

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:00:01.000000

A site's erasure setting (``site.erasure``: what erasing a commenter's data does to their
comments, anonymise by default) and the commenters' requests for their data or its erasure
(``privacy_request``: the blind index of the address, never the address; the time its link
was used, which makes the link single-use; the recent rows are the per-address budget).
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('erasure', sa.String(length=16), server_default='anonymize', nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_site_erasure'), "erasure IN ('anonymize', 'remove')"
        )

    op.create_table('privacy_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('email_index', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('mailed', sa.Boolean(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('used', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('export', 'erase')", name=op.f('ck_privacy_request_kind')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_privacy_request_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_request'))
    )
    with op.batch_alter_table('privacy_request', schema=None) as batch_op:
        batch_op.create_index('privacy_request_email', ['email_index', 'created'], unique=False)


def downgrade():
    with op.batch_alter_table('privacy_request', schema=None) as batch_op:
        batch_op.drop_index('privacy_request_email')

    op.drop_table('privacy_request')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_site_erasure'), type_='check')
        batch_op.drop_column('erasure')
