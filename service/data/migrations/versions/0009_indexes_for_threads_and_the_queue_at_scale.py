"""indexes for threads and the queue at scale

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 04:30:00.000000

docs/performance.md, "Problems found" 2 and 3:

- ``comment_top_level (page_id, created, id, status) WHERE parent_id IS NULL``: a page's
  top-level comments in the order they are shown, so a thread's first page (and each cursor
  page) reads ``limit`` rows from the index instead of sorting every top-level comment of
  the page (PostgreSQL's plan was a bitmap scan and a top-N sort). Partial, because
  PostgreSQL does not take ``parent_id IS NULL`` as fixing a column's value: in an index
  that holds ``parent_id``, the columns after it would not give the order.
- ``comment_children (parent_id, created, id, status)``: one comment's replies in order
  (their cursor pages), "does this comment have replies", and the cascade of the
  ``parent_id`` foreign key, which had no index on PostgreSQL.
- ``comment_queue (status, created, id)``: the moderation queue, newest first within one
  status, and the dashboard's pending counts, without reading and sorting every comment of
  that status.
- ``comment_email_status (email_index, status, created, id)`` replaces ``comment_email_index
  (email_index)``: the queue's email filter keeps using the author's index (not the status
  one) and reads it in order.

On PostgreSQL the indexes are built ``CONCURRENTLY`` (outside the migration's transaction),
so a busy service keeps posting while they build. Should a build fail half-way, PostgreSQL
keeps an invalid index of that name: drop it (``DROP INDEX CONCURRENTLY name``) and upgrade
again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TOP_LEVEL = sa.text("parent_id IS NULL")
PARTIAL = {"sqlite_where": TOP_LEVEL, "postgresql_where": TOP_LEVEL}
NEW = {
    "comment_top_level": (["page_id", "created", "id", "status"], PARTIAL),
    "comment_children": (["parent_id", "created", "id", "status"], {}),
    "comment_queue": (["status", "created", "id"], {}),
    "comment_email_status": (["email_index", "status", "created", "id"], {}),
}
OLD = {"comment_email_index": (["email_index"], {})}


def _postgres():
    return op.get_bind().dialect.name == "postgresql"


def _swap(create, drop):
    if _postgres():
        with op.get_context().autocommit_block():
            for name, (columns, where) in create.items():
                op.create_index(
                    name,
                    "comment",
                    columns,
                    postgresql_concurrently=True,
                    if_not_exists=True,
                    **where,
                )
            for name in drop:
                op.drop_index(
                    name, table_name="comment", postgresql_concurrently=True, if_exists=True
                )
        return
    with op.batch_alter_table("comment", schema=None) as batch_op:
        for name, (columns, where) in create.items():
            batch_op.create_index(name, columns, unique=False, **where)
        for name in drop:
            batch_op.drop_index(name)


def upgrade():
    _swap(NEW, OLD)


def downgrade():
    _swap(OLD, NEW)
