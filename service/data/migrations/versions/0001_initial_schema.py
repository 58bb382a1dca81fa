"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 21:36:04.592691

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('origins', sa.Text(), nullable=False),
    sa.Column('moderation', sa.String(length=16), nullable=False),
    sa.Column('rating_scale', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('theme', sa.String(length=16), nullable=False),
    sa.Column('edit_window', sa.Integer(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.CheckConstraint("moderation IN ('none', 'all', 'first-time', 'links')", name=op.f('ck_site_moderation')),
    sa.CheckConstraint('edit_window >= 0', name=op.f('ck_site_edit_window')),
    sa.CheckConstraint('rating_scale IN (5, 10)', name=op.f('ck_site_rating_scale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('key', name=op.f('uq_site_key'))
    )
    op.create_table('page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.CheckConstraint('comment_count >= 0', name=op.f('ck_page_comment_count')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_page_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page')),
    sa.UniqueConstraint('site_id', 'key', name='page_site_key')
    )
    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=80), nullable=True),
    sa.Column('email_encrypted', sa.Text(), nullable=True),
    sa.Column('email_index', sa.String(length=64), nullable=True),
    sa.Column('avatar', sa.String(length=32), nullable=False),
    sa.Column('website', sa.String(length=512), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('edited', sa.DateTime(), nullable=True),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('edit_token_hash', sa.String(length=64), nullable=True),
    sa.Column('likes', sa.Integer(), nullable=False),
    sa.Column('notify', sa.Boolean(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'spam', 'deleted')", name=op.f('ck_comment_status')),
    sa.CheckConstraint('depth >= 0', name=op.f('ck_comment_depth')),
    sa.CheckConstraint('likes >= 0', name=op.f('ck_comment_likes')),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], name=op.f('fk_comment_page_id_page'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['comment.id'], name=op.f('fk_comment_parent_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['root_id'], ['comment.id'], name=op.f('fk_comment_root_id_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index('comment_email_index', ['email_index'], unique=False)
        batch_op.create_index('comment_root', ['root_id', 'status'], unique=False)
        batch_op.create_index('comment_thread', ['page_id', 'status', 'parent_id', 'created', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('comment_thread')
        batch_op.drop_index('comment_root')
        batch_op.drop_index('comment_email_index')

    op.drop_table('comment')
    op.drop_table('page')
    op.drop_table('site')
