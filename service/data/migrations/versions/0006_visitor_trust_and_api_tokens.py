"""visitor trust and api tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:10:00.000000

A site's own rule for posts without a form token (``site.tokenless_posts``; NULL follows
PARLEY_TOKENLESS_POSTS), API tokens (stored as keyed hashes only), and the (address,
visitor key) pairs proven through a confirmation link, which "Hold first-time authors"
trusts.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokenless_posts', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_site_tokenless_posts'),
            "tokenless_posts IN ('moderate', 'policy', 'refuse')",
        )

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('last_used', sa.DateTime(), nullable=True),
    sa.Column('revoked', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderator.id'], name=op.f('fk_api_token_moderator_id_moderator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_api_token_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_site_id'), ['site_id'], unique=False)

    op.create_table('visitor_proof',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_index', sa.String(length=64), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitor_proof')),
    sa.UniqueConstraint('email_index', 'visitor', name='proof_email_visitor')
    )


def downgrade():
    op.drop_table('visitor_proof')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_site_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_site_tokenless_posts'), type_='check')
        batch_op.drop_column('tokenless_posts')
