"""page versions for cached reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:30:00.000000

Every page and every site gets a ``version``: cached public answers are keyed by it, and
every write that changes what readers see replaces it (``service.data.versions``). Pages
start at 0 (their answers were never cached); each site gets a random version, so two
databases (or a copy of one) sharing a cache never share a key.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

site = sa.table("site", sa.column("id", sa.Integer), sa.column("version", sa.BigInteger))


def upgrade():
    for table in ("site", "page"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.BigInteger(), server_default="0", nullable=False)
            )
    bind = op.get_bind()
    for (ident,) in bind.execute(sa.select(site.c.id)).all():
        bind.execute(
            site.update().where(site.c.id == ident).values(version=secrets.randbits(62) + 1)
        )


def downgrade():
    for table in ("page", "site"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
