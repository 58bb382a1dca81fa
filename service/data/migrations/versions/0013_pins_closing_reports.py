"""pins, closing by time, readers' reports

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:00:00.000000

- ``comment.pinned``: moderators pin a few top-level comments of a page, shown first; the
  partial index ``comment_pinned (page_id) WHERE pinned`` finds a page's pinned comments
  without reading its thread. On PostgreSQL it is built ``CONCURRENTLY`` (outside the
  migration's transaction), as 0009's were; should the build fail half-way, drop the
  invalid index (``DROP INDEX CONCURRENTLY comment_pinned``) and upgrade again.
- ``page.comments_close_at`` (when comments close by themselves) and
  ``page.close_after_days`` (the page's own delay: null follows the site, 0 never);
  ``site.close_after_days`` (null: never) and ``site.report_threshold`` (readers' reports
  that put a published comment back in the queue, 3 by default).
- ``comment_report``: one visitor's report of one comment (a keyed hash of the visitor key,
  the reason, when), unique per comment and visitor.

Existing sites never close comments by themselves and take 3 reports; nothing is pinned.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PINNED = sa.text("pinned")


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_after_days', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('report_threshold', sa.Integer(), server_default='3', nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_site_threads'), 'close_after_days >= 1 AND report_threshold >= 1'
        )

    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comments_close_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('close_after_days', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_page_close_after_days'), 'close_after_days >= 0'
        )

    with op.batch_alter_table(
        'comment', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.add_column(
            sa.Column('pinned', sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    op.create_table('comment_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('visitor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_comment_report_comment_id_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_report')),
    sa.UniqueConstraint('comment_id', 'visitor', name='report_comment_visitor')
    )
    with op.batch_alter_table('comment_report', schema=None) as batch_op:
        batch_op.create_index('report_visitor', ['visitor'], unique=False)

    if _postgres():
        with op.get_context().autocommit_block():
            op.create_index(
                'comment_pinned',
                'comment',
                ['page_id'],
                postgresql_where=PINNED,
                postgresql_concurrently=True,
                if_not_exists=True,
            )
    else:
        with op.batch_alter_table('comment', schema=None) as batch_op:
            batch_op.create_index('comment_pinned', ['page_id'], unique=False, sqlite_where=PINNED)


def downgrade():
    if _postgres():
        with op.get_context().autocommit_block():
            op.drop_index(
                'comment_pinned',
                table_name='comment',
                postgresql_concurrently=True,
                if_exists=True,
            )
    else:
        with op.batch_alter_table('comment', schema=None) as batch_op:
            batch_op.drop_index('comment_pinned')

    with op.batch_alter_table('comment_report', schema=None) as batch_op:
        batch_op.drop_index('report_visitor')
    op.drop_table('comment_report')

    with op.batch_alter_table(
        'comment', schema=None, table_kwargs={'sqlite_autoincrement': True}
    ) as batch_op:
        batch_op.drop_column('pinned')

    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_page_close_after_days'), type_='check')
        batch_op.drop_column('close_after_days')
        batch_op.drop_column('comments_close_at')

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_site_threads'), type_='check')
        batch_op.drop_column('report_threshold')
        batch_op.drop_column('close_after_days')
