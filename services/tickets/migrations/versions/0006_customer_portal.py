"""Customer portal: departments offered on the portal, and the submissions its rate limit
counts; agents' workspace language and time zone; indexes for managers' statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('agents', sa.Column('language', sa.String(length=8), nullable=True),
                  schema='tickets')
    op.add_column('agents', sa.Column('time_zone', sa.String(length=64), nullable=True),
                  schema='tickets')
    op.add_column('departments', sa.Column('on_portal', sa.Boolean(), server_default='false',
                                           nullable=False), schema='tickets')
    op.create_table('portal_submissions',
    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.tickets.id'], name=op.f('fk_portal_submissions_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_submissions')),
    schema='tickets'
    )
    op.create_index('ix_portal_submissions_client_address', 'portal_submissions', ['client_address', 'created_at'], unique=False, schema='tickets')
    # statistics over a period: tickets created, first answered, and agents' answers in it
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'], unique=False,
                    schema='tickets')
    op.create_index('ix_tickets_first_response_at', 'tickets', ['first_response_at'],
                    unique=False, schema='tickets')
    # the queues and the backlog: the tickets still being worked on, a small part of them all
    op.create_index('ix_tickets_active', 'tickets', ['department_id', 'status'], unique=False,
                    schema='tickets',
                    postgresql_where=sa.text("status IN ('new', 'open', 'pending')"))
    op.create_index('ix_messages_outbound_created_at', 'messages', ['created_at'], unique=False,
                    schema='tickets', postgresql_where=sa.text("direction = 'outbound'"))
    op.create_index('ix_portal_submissions_email', 'portal_submissions', ['email', 'created_at'], unique=False, schema='tickets')


def downgrade():
    op.drop_index('ix_portal_submissions_email', table_name='portal_submissions', schema='tickets')
    op.drop_index('ix_messages_outbound_created_at', table_name='messages', schema='tickets')
    op.drop_index('ix_tickets_active', table_name='tickets', schema='tickets')
    op.drop_index('ix_tickets_first_response_at', table_name='tickets', schema='tickets')
    op.drop_index('ix_tickets_created_at', table_name='tickets', schema='tickets')
    op.drop_index('ix_portal_submissions_client_address', table_name='portal_submissions', schema='tickets')
    op.drop_table('portal_submissions', schema='tickets')
    op.drop_column('departments', 'on_portal', schema='tickets')
    op.drop_column('agents', 'time_zone', schema='tickets')
    op.drop_column('agents', 'language', schema='tickets')
