"""Agents' replies and notes remember the key of the request that made them, so a request
made twice (a client's retry, an RPC redelivered after a broker restart) makes one message

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 04:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('messages', sa.Column('request_key', sa.String(length=64), nullable=True),
                  schema='tickets')
    op.create_unique_constraint(op.f('uq_messages_request_key'), 'messages', ['request_key'],
                                schema='tickets')


def downgrade():
    op.drop_constraint(op.f('uq_messages_request_key'), 'messages', schema='tickets',
                       type_='unique')
    op.drop_column('messages', 'request_key', schema='tickets')
