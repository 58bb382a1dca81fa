"""bans blocklist addresses outbox webhooks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 22:23:07.623321

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_index', sa.String(length=64), nullable=False),
    sa.Column('email_encrypted', sa.Text(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('confirmed', sa.DateTime(), nullable=True),
    sa.Column('unsubscribed', sa.DateTime(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_address')),
    sa.UniqueConstraint('email_index', name=op.f('uq_email_address_email_index')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_address_token_hash'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('headers_json', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('send_after', sa.DateTime(), nullable=False),
    sa.Column('sent', sa.DateTime(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('mail', 'webhook')", name=op.f('ck_outbox_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('outbox_due', ['sent', 'send_after'], unique=False)

    op.create_table('ban',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('shadow', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('email', 'address', 'visitor')", name=op.f('ck_ban_kind')),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderator.id'], name=op.f('fk_ban_moderator_id_moderator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_ban_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ban')),
    sa.UniqueConstraint('site_id', 'kind', 'value', name='ban_site_kind_value')
    )
    op.create_table('blocked_word',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=100), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_blocked_word_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_word')),
    sa.UniqueConstraint('site_id', 'word', name='blocked_site_word')
    )
    op.create_table('webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_webhook_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook'))
    )
    with op.batch_alter_table('comment', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('visitor', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('by_moderator', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('shadow', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_comment_visitor'), ['visitor'], unique=False)

    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comments_closed', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_limit', sa.Integer(), server_default='2', nullable=False))
        batch_op.add_column(sa.Column('notify_moderators', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_check_constraint(op.f('ck_site_link_limit'), 'link_limit >= 0')



def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_site_link_limit'), type_='check')
        batch_op.drop_column('notify_moderators')
        batch_op.drop_column('link_limit')

    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_column('comments_closed')

    with op.batch_alter_table('comment', schema=None, table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_visitor'))
        batch_op.drop_column('shadow')
        batch_op.drop_column('by_moderator')
        batch_op.drop_column('visitor')

    op.drop_table('webhook')
    op.drop_table('blocked_word')
    op.drop_table('ban')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('outbox_due')

    op.drop_table('outbox')
    op.drop_table('email_address')
