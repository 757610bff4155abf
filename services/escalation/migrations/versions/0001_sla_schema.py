"""The sla schema: business calendars, policies, clocks, timers, escalations, event outbox

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 15:23:25.126503
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('always_open', sa.Boolean(), nullable=False),
    sa.Column('hours', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=True),
    sa.Column('subdivision', sa.String(length=16), nullable=True),
    sa.Column('holidays', postgresql.ARRAY(sa.Date()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendars')),
    sa.UniqueConstraint('name', name=op.f('uq_calendars_name')),
    schema='sla'
    )
    op.create_table('clocks',
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('facts', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('first_response_seconds', sa.Float(), nullable=True),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_clocks')),
    schema='sla'
    )
    op.create_index(op.f('ix_clocks_department_id'), 'clocks', ['department_id'], unique=False, schema='sla')
    op.create_index('ix_clocks_stale', 'clocks', ['ticket_id'], unique=False, schema='sla', postgresql_where=sa.text('stale'))
    op.create_table('escalations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('timer_id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')),
    sa.UniqueConstraint('timer_id', name=op.f('uq_escalations_timer_id')),
    schema='sla'
    )
    op.create_index(op.f('ix_escalations_ticket_id'), 'escalations', ['ticket_id'], unique=False, schema='sla')
    op.create_table('event_outbox',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_outbox')),
    schema='sla'
    )
    op.create_index(op.f('ix_event_outbox_created_at'), 'event_outbox', ['created_at'], unique=False, schema='sla')
    op.create_index(op.f('ix_event_outbox_published_at'), 'event_outbox', ['published_at'], unique=False, schema='sla')
    op.create_table('timers',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('cycle', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind in ('warning', 'breach')", name=op.f('ck_timers_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('ticket_id', 'cycle', 'kind', 'level', name=op.f('uq_timers_ticket_id_cycle_kind_level')),
    schema='sla'
    )
    op.create_index('ix_timers_department_due', 'timers', ['department_id', 'due_at'], unique=False, schema='sla')
    op.create_index('ix_timers_due', 'timers', ['due_at'], unique=False, schema='sla', postgresql_where=sa.text('fired_at IS NULL AND due_at IS NOT NULL'))
    op.create_table('policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('calendar_id', sa.Integer(), nullable=True),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('next_response_minutes', sa.Integer(), nullable=True),
    sa.Column('resolution_minutes', sa.Integer(), nullable=True),
    sa.Column('warning_percent', sa.Integer(), nullable=True),
    sa.Column('levels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['sla.calendars.id'], name=op.f('fk_policies_calendar_id_calendars')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies')),
    schema='sla'
    )
    op.create_index('uq_policies_department_priority', 'policies', ['department_id', 'priority'], unique=True, schema='sla', postgresql_nulls_not_distinct=True)


def downgrade():
    op.drop_index('uq_policies_department_priority', table_name='policies', schema='sla', postgresql_nulls_not_distinct=True)
    op.drop_table('policies', schema='sla')
    op.drop_index('ix_timers_due', table_name='timers', schema='sla', postgresql_where=sa.text('fired_at IS NULL AND due_at IS NOT NULL'))
    op.drop_index('ix_timers_department_due', table_name='timers', schema='sla')
    op.drop_table('timers', schema='sla')
    op.drop_index(op.f('ix_event_outbox_published_at'), table_name='event_outbox', schema='sla')
    op.drop_index(op.f('ix_event_outbox_created_at'), table_name='event_outbox', schema='sla')
    op.drop_table('event_outbox', schema='sla')
    op.drop_index(op.f('ix_escalations_ticket_id'), table_name='escalations', schema='sla')
    op.drop_table('escalations', schema='sla')
    op.drop_index('ix_clocks_stale', table_name='clocks', schema='sla', postgresql_where=sa.text('stale'))
    op.drop_index(op.f('ix_clocks_department_id'), table_name='clocks', schema='sla')
    op.drop_table('clocks', schema='sla')
    op.drop_table('calendars', schema='sla')
