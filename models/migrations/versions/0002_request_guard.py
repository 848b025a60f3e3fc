"""request guard: the replay store and the event_id dedupe table

Revision ID: 0002_request_guard
Revises: 0001
Create Date: 2026-12-03 06:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002_request_guard'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seenrequest',
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('signature')
    )
    with op.batch_alter_table('seenrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seenrequest_seen_at'), ['seen_at'], unique=False)

    op.create_table('seenevent',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('team_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('seenevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seenevent_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('seenevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seenevent_seen_at'))
    op.drop_table('seenevent')
    with op.batch_alter_table('seenrequest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seenrequest_seen_at'))
    op.drop_table('seenrequest')
