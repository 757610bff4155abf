"""outbound mail details: the department's sender name, the ticket's language

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('departments', sa.Column('sender_name', sa.String(length=200), server_default='', nullable=False), schema='tickets')
    op.add_column('departments', sa.Column('agent_name_in_from', sa.Boolean(), server_default='false', nullable=False), schema='tickets')
    op.add_column('tickets', sa.Column('language', sa.String(length=8), server_default='en', nullable=False), schema='tickets')


def downgrade():
    op.drop_column('tickets', 'language', schema='tickets')
    op.drop_column('departments', 'agent_name_in_from', schema='tickets')
    op.drop_column('departments', 'sender_name', schema='tickets')
