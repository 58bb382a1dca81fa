"""imports: source ids and import jobs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00.000000

``imported_comment`` maps (site, source format, source id) to the comment an import made,
so a re-run after a crash, or the same file imported twice, adds nothing twice
(docs/imports.md). ``import_job`` is an upload the admin views queued for the background
worker, with its progress.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

FORMATS = "source IN ('wordpress', 'disqus', 'isso', 'remark42', 'commento')"


def upgrade():
    op.create_table('imported_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint(FORMATS, name=op.f('ck_imported_comment_source')),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_imported_comment_comment_id_comment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_imported_comment_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_comment')),
    sa.UniqueConstraint('site_id', 'source', 'source_id', name='imported_comment_source')
    )
    with op.batch_alter_table('imported_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_comment_comment_id'), ['comment_id'], unique=False)

    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('stored_name', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('prefixes', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created', sa.DateTime(), nullable=False),
    sa.Column('started', sa.DateTime(), nullable=True),
    sa.Column('finished', sa.DateTime(), nullable=True),
    sa.CheckConstraint(FORMATS, name=op.f('ck_import_job_source')),
    sa.CheckConstraint("state IN ('queued', 'validating', 'importing', 'done', 'failed')", name=op.f('ck_import_job_state')),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderator.id'], name=op.f('fk_import_job_moderator_id_moderator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_import_job_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index('import_job_state', ['state', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index('import_job_state')

    op.drop_table('import_job')
    with op.batch_alter_table('imported_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_comment_comment_id'))

    op.drop_table('imported_comment')
