"""pending reviews' ratings beside the vote

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00.000000

A review waiting for moderation no longer takes its author's earlier vote out of the page's
aggregate: the rating row keeps the vote (``value``, counted) and, beside it, the pending
review's rating (``pending_value``) and the review (``pending_comment_id``); approval makes
the pending rating the vote, spam or deletion drops it and leaves the vote as it was.

Upgrading moves the rating of every review now pending (a row not counted, linked to a
pending comment) to the pending side; the earlier vote such a review replaced was not kept,
so there is none to count again. Downgrading moves a pending rating back where the earlier
schema kept it when the row has no vote of its own; a row that has one keeps its vote, and
the pending review's rating is dropped (one value per row). The aggregates hold counted
votes only, so neither way changes them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

rating = sa.table(
    'rating',
    sa.column('id', sa.Integer()),
    sa.column('value', sa.Integer()),
    sa.column('counted', sa.Boolean()),
    sa.column('comment_id', sa.Integer()),
    sa.column('pending_value', sa.Integer()),
    sa.column('pending_comment_id', sa.Integer()),
)
comment = sa.table('comment', sa.column('id', sa.Integer()), sa.column('status', sa.String()))


def upgrade():
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_value', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pending_comment_id', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_rating_pending_value'), 'pending_value BETWEEN 1 AND 10'
        )
        batch_op.create_foreign_key(
            op.f('fk_rating_pending_comment_id_comment'),
            'comment',
            ['pending_comment_id'],
            ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_unique_constraint(
            op.f('uq_rating_pending_comment_id'), ['pending_comment_id']
        )

    # Both SET expressions read the row as it was: the link moves, it is not lost.
    pending = sa.select(comment.c.id).where(comment.c.status == 'pending')
    op.execute(
        rating.update()
        .where(rating.c.counted.is_(sa.false()), rating.c.comment_id.in_(pending))
        .values(
            pending_value=rating.c.value,
            pending_comment_id=rating.c.comment_id,
            comment_id=None,
        )
    )


def downgrade():
    op.execute(
        rating.update()
        .where(
            rating.c.pending_comment_id.is_not(None),
            rating.c.counted.is_(sa.false()),
            rating.c.comment_id.is_(None),
        )
        .values(value=rating.c.pending_value, comment_id=rating.c.pending_comment_id)
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_rating_pending_comment_id'), type_='unique')
        batch_op.drop_constraint(op.f('fk_rating_pending_comment_id_comment'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_rating_pending_value'), type_='check')
        batch_op.drop_column('pending_comment_id')
        batch_op.drop_column('pending_value')
