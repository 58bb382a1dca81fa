"""ratings, likes and editorial scores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:43:36.234395

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('editorial_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=1, asdecimal=False), nullable=False),
    sa.Column('scale', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('scale IN (5, 10, 100)', name=op.f('ck_editorial_score_scale')),
    sa.CheckConstraint('score >= 0 AND score <= scale', name=op.f('ck_editorial_score_score')),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], name=op.f('fk_editorial_score_page_id_page'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_editorial_score')),
    sa.UniqueConstraint('page_id', 'label', name='editorial_page_label')
    )
    op.create_table('comment_like',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_comment_like_comment_id_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_like')),
    sa.UniqueConstraint('comment_id', 'visitor', name='like_comment_visitor')
    )
    with op.batch_alter_table('comment_like', schema=None) as batch_op:
        batch_op.create_index('like_visitor', ['visitor'], unique=False)

    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('updated', sa.DateTime(), nullable=False),
    sa.CheckConstraint('value BETWEEN 1 AND 10', name=op.f('ck_rating_value')),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_rating_comment_id_comment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], name=op.f('fk_rating_page_id_page'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('comment_id', name=op.f('uq_rating_comment_id')),
    sa.UniqueConstraint('page_id', 'visitor', name='rating_page_visitor')
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('rating_visitor', ['visitor'], unique=False)

    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schema_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('rating_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rating_sum', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h1', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h2', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h3', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h4', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h5', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h6', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h7', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h8', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h9', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('h10', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('ratings_closed', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_column('ratings_closed')
        batch_op.drop_column('h10')
        batch_op.drop_column('h9')
        batch_op.drop_column('h8')
        batch_op.drop_column('h7')
        batch_op.drop_column('h6')
        batch_op.drop_column('h5')
        batch_op.drop_column('h4')
        batch_op.drop_column('h3')
        batch_op.drop_column('h2')
        batch_op.drop_column('h1')
        batch_op.drop_column('rating_sum')
        batch_op.drop_column('rating_count')
        batch_op.drop_column('schema_type')

    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('rating_visitor')

    op.drop_table('rating')
    with op.batch_alter_table('comment_like', schema=None) as batch_op:
        batch_op.drop_index('like_visitor')

    op.drop_table('comment_like')
    op.drop_table('editorial_score')
