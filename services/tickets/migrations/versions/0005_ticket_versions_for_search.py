"""Ticket versions for the search index: one sequence, stamped on every insert and update

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # One sequence for all tickets: a message moved by a split or merge is newer on the
    # ticket it went to than on the one it left, whichever of the two changed last.
    op.execute("CREATE SEQUENCE tickets.ticket_versions")
    op.add_column('tickets', sa.Column('version', sa.BigInteger(), nullable=False,
                                       server_default=sa.text("nextval('tickets.ticket_versions')")),
                  schema='tickets')
    op.execute("""
        CREATE FUNCTION tickets.stamp_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.version := nextval('tickets.ticket_versions');
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER stamp_version BEFORE INSERT OR UPDATE ON tickets.tickets "
               "FOR EACH ROW EXECUTE FUNCTION tickets.stamp_version()")


def downgrade():
    op.execute("DROP TRIGGER stamp_version ON tickets.tickets")
    op.execute("DROP FUNCTION tickets.stamp_version()")
    op.drop_column('tickets', 'version', schema='tickets')
    op.execute("DROP SEQUENCE tickets.ticket_versions")
