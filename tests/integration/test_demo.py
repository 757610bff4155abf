"""`helpdesk demo` loads a working support centre, and loading it twice adds no duplicates."""
from sqlalchemy import func, select

from helpdesk import demo
from services.tickets.models import Agent, Department, Message, Ticket


def test_demo_loads_departments_agents_and_tickets(database_url, db):
    summary = demo.load({"DATABASE_URL": database_url}, tickets=25)
    demo.load({"DATABASE_URL": database_url}, tickets=5, seed=8)
    assert "4 departments" in summary
    assert db.scalar(select(func.count()).select_from(Department)) == 4
    assert db.scalar(select(func.count()).select_from(Agent)) == 5
    assert db.scalar(select(func.count()).select_from(Ticket)) == 30
    replies = db.scalar(select(func.count()).select_from(Message)
                        .where(Message.direction == "outbound"))
    assert 0 < replies < 30
    network = db.scalar(select(Department).where(Department.name == "Network (2nd line)"))
    assert network.parent_id is not None
