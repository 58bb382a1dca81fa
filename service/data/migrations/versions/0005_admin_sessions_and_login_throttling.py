"""admin sessions and login throttling

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:10:00.000000

Each moderator gets a session version (checked on every admin request; bumped by logging
out, a new password or a removal) and a "disabled" time for accounts whose last role was
removed. The per-account lock goes: failed logins are throttled per address now, outside
the database. Sessions made before this revision carry no version and are logged out.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('disabled', sa.DateTime(), nullable=True))
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    # 0004 knows no disabled accounts: keep them out by a password hash that never matches.
    moderator = sa.table('moderator', sa.column('password_hash'), sa.column('disabled'))
    op.execute(
        moderator.update()
        .where(moderator.c.disabled.isnot(None))
        .values(password_hash='!disabled')
    )
    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.drop_column('disabled')
        batch_op.drop_column('session_version')

    # 0004's schema has no server default on failed_logins: it was needed only to fill
    # the existing rows.
    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.alter_column('failed_logins', existing_type=sa.Integer(), server_default=None)
