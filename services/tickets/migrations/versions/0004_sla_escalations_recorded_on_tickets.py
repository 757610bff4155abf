"""SLA breaches recorded on tickets (escalation.sla_breached, once per event)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:21:36.687775
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('escalations',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.tickets.id'], name=op.f('fk_escalations_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_escalations')),
    schema='tickets'
    )
    op.create_index(op.f('ix_escalations_department_id'), 'escalations', ['department_id'], unique=False, schema='tickets')
    op.create_index(op.f('ix_escalations_ticket_id'), 'escalations', ['ticket_id'], unique=False, schema='tickets')


def downgrade():
    op.drop_index(op.f('ix_escalations_ticket_id'), table_name='escalations', schema='tickets')
    op.drop_index(op.f('ix_escalations_department_id'), table_name='escalations', schema='tickets')
    op.drop_table('escalations', schema='tickets')
