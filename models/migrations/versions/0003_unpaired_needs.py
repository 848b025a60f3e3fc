"""unpaired needs and likely fit: each round records the needs it left and why, and each pairing
the engine's calibrated probability that it is a good fit (issue 7)

Revision ID: 0003_unpaired_needs
Revises: 0002_request_guard
Create Date: 2026-12-03 07:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003_unpaired_needs'
down_revision = '0002_request_guard'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unpairedneed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('theme', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('closest', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['need.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['matchround.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'need_id')
    )
    with op.batch_alter_table('unpairedneed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unpairedneed_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unpairedneed_round_id'), ['round_id'], unique=False)
    with op.batch_alter_table('pairing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('probability', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pairing', schema=None) as batch_op:
        batch_op.drop_column('probability')
    with op.batch_alter_table('unpairedneed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unpairedneed_round_id'))
        batch_op.drop_index(batch_op.f('ix_unpairedneed_need_id'))
    op.drop_table('unpairedneed')
