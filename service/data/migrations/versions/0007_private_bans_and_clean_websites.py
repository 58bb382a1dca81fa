"""private bans and clean websites

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:10:00.000000

Email bans keep the banned address encrypted (``ban.email_encrypted``, as comments keep
theirs) instead of in plain text in ``ban.label``: existing labels of email bans are
encrypted and blanked. Comment websites are cleaned again with the service's own rule
(normalised URLs; one that cannot be cleaned is dropped, its comment kept), and names
lose the bidi controls and invisible characters the service now removes. On SQLite the
file is then vacuumed and its WAL truncated, so no plain address lingers in free pages.

The data key: a migration runs inside the app (``flask db upgrade``; env.py reads the app
through Flask's ``current_app``), so the addresses are encrypted by
``service.rules.privacy`` with the app's configured PARLEY_DATA_KEY, exactly as the
running service will decrypt them. The cleaning rules are the service's too
(``service.rules.text``), so old rows end up as new ones would be stored.
"""
from alembic import context, op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 500
LABEL_MAX = 300  # ban.label at this revision

ban = sa.table(
    "ban",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("label", sa.String),
    sa.column("email_encrypted", sa.Text),
)
comment = sa.table(
    "comment",
    sa.column("id", sa.Integer),
    sa.column("author", sa.String),
    sa.column("website", sa.String),
)


def _has_column(bind, table, column):
    return column in {c["name"] for c in sa.inspect(bind).get_columns(table)}


def upgrade():
    if context.is_offline_mode():
        raise RuntimeError("0007 encrypts and cleans rows: run it against the database")
    bind = op.get_bind()
    # Idempotent: VACUUM commits this revision's work before Alembic records it.
    if not _has_column(bind, "ban", "email_encrypted"):
        with op.batch_alter_table("ban", schema=None) as batch_op:
            batch_op.add_column(sa.Column("email_encrypted", sa.Text(), nullable=True))
    _encrypt_ban_labels(bind)
    _clean_comments(bind)
    if bind.dialect.name == "sqlite":
        _vacuum(bind)


def _encrypt_ban_labels(bind):
    from service.rules.privacy import encrypt_email

    rows = bind.execute(
        sa.select(ban.c.id, ban.c.label).where(ban.c.kind == "email", ban.c.label != "")
    ).all()
    for ban_id, label in rows:
        if "@" not in label:
            continue  # not an address: nothing personal to hide
        bind.execute(
            ban.update()
            .where(ban.c.id == ban_id)
            .values(label="", email_encrypted=encrypt_email(label.strip()))
        )


def _clean_comments(bind):
    from service.data.bounds import NAME_MAX
    from service.rules.text import display_name
    from service.rules.validation import clean_website

    last = 0
    while True:
        rows = bind.execute(
            sa.select(comment.c.id, comment.c.author, comment.c.website)
            .where(comment.c.id > last)
            .order_by(comment.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for comment_id, author, website in rows:
            changes = {}
            if website is not None:
                cleaned = clean_website(website, {})  # None: it cannot be one, so it goes
                if cleaned != website:
                    changes["website"] = cleaned
            if author:
                name = display_name(author)
                if name != author and name.strip() and len(name) <= NAME_MAX:
                    changes["author"] = name
            if changes:
                bind.execute(comment.update().where(comment.c.id == comment_id).values(**changes))
        last = rows[-1][0]


def _vacuum(bind):
    """Rewrite the file without its free pages, then empty the WAL into it.

    VACUUM cannot run inside a transaction: this revision's (complete by now) is committed
    on the driver's connection, and a new one begun for Alembic to record the revision in.
    """
    raw = bind.connection.driver_connection
    if raw.in_transaction:
        raw.execute("COMMIT")
    try:
        raw.execute("VACUUM")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.execute("BEGIN")


def downgrade():
    from service.rules.privacy import DataKeyError, decrypt_email

    bind = op.get_bind()
    # The previous revision's code shows a ban's label: give email bans their address back.
    rows = bind.execute(
        sa.select(ban.c.id, ban.c.email_encrypted).where(ban.c.email_encrypted.is_not(None))
    ).all()
    for ban_id, encrypted in rows:
        try:
            label = decrypt_email(encrypted)[:LABEL_MAX]
        except DataKeyError:
            label = ""
        bind.execute(ban.update().where(ban.c.id == ban_id).values(label=label))
    with op.batch_alter_table("ban", schema=None) as batch_op:
        batch_op.drop_column("email_encrypted")
