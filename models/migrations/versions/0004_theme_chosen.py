"""theme chosen: whether a person picked a post's theme or it is Collab's suggestion, so that
rounds stop taking every guess for a choice (issue 7)

Revision ID: 0004_theme_chosen
Revises: 0003_unpaired_needs
Create Date: 2026-12-07 16:10:00

Existing posts do not say who set their theme. A post whose theme differs from what the
shipped model suggests for its text was changed by a person (in the modal or with "Change
theme"), so it is marked chosen; one that agrees is left as a suggestion, which rounds use as
bot/services/rounds.py:given_theme says (a short need's as given, a long one read again).
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_theme_chosen'
down_revision = '0003_unpaired_needs'
branch_labels = None
depends_on = None

TABLES = ("need", "offer")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('theme_chosen', sa.Boolean(), server_default=sa.false(), nullable=False))
    bind = op.get_bind()
    for table in TABLES:
        mark_changed_themes(bind, table)


def mark_changed_themes(bind, table: str) -> None:
    from matching.themes import infer_theme

    t = sa.table(table, sa.column('id', sa.Integer), sa.column('text', sa.Text), sa.column('theme', sa.String),
                 sa.column('theme_chosen', sa.Boolean))
    rows = bind.execute(sa.select(t.c.id, t.c.text, t.c.theme)).all()
    chosen = [row.id for row in rows if row.theme != infer_theme(row.text)]
    for start in range(0, len(chosen), 500):
        bind.execute(t.update().where(t.c.id.in_(chosen[start:start + 500])).values(theme_chosen=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('theme_chosen')
