"""Customers: found by email, phone or contract number; created on first contact."""
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert

from helpdesk.database import per_transaction
from helpdesk.errors import Conflict, NotFound
from helpdesk.payloads import CustomerIn, CustomerPatch, parse
from services.tickets import serialise
from services.tickets.models import Customer

# cached, the new people its parameters (one INSERT: see make_engine in
# helpdesk.database); `.values([...])` compiled it anew each time
_CREATE_MANY = insert(Customer.__table__).values(created_at=func.now()).on_conflict_do_nothing() \
    .returning(Customer.__table__.c.id)


def find(session, text, limit=20):
    """Customers whose email, name, phone or contract number matches `text` (what the first
    line types while the caller is on the phone)."""
    text = (text or "").strip()
    query = select(Customer).order_by(Customer.name, Customer.id).limit(min(limit, 100))
    if text:
        like = f"%{text.lower()}%"
        query = query.where(or_(func.lower(Customer.email).like(like),
                                func.lower(Customer.name).like(like),
                                Customer.contract_number == text,
                                Customer.phones.any(text)))
    return [serialise.customer(row) for row in session.scalars(query)]


def get(session, customer_id):
    customer = session.get(Customer, customer_id) if isinstance(customer_id, int) else None
    if customer is None:
        raise NotFound("CUSTOMER_NOT_FOUND", f"customer {customer_id} does not exist")
    return customer


def create(session, data):
    payload = parse(CustomerIn, data)
    if _by_email(session, payload.email) is not None:
        raise Conflict("CUSTOMER_EXISTS", f"a customer with email {payload.email} exists")
    customer = Customer(**payload.model_dump())
    session.add(customer)
    session.commit()
    return serialise.customer(customer)


def update(session, customer_id, data):
    payload = parse(CustomerPatch, data)
    customer = get(session, customer_id)
    for name, value in payload.model_dump(exclude_unset=True).items():
        setattr(customer, name, value if value is not None or name != "phones" else [])
    session.commit()
    return serialise.customer(customer)


def find_or_create(session, email, name="", **details):
    """The customer with this email (case-insensitive), created if new; safe under concurrency."""
    read = per_transaction(session, "customers_read_ahead")
    customer = read[email.lower()] if email.lower() in read else _by_email(session, email)
    if customer is not None:
        if name and not customer.name:
            customer.name = name
        return customer
    values = {"phones": [], **details, "email": email, "name": name or "", "created_at": func.now()}
    created = session.scalar(insert(Customer).values(**values).on_conflict_do_nothing()
                             .returning(Customer))
    # nothing returned: another caller created them meanwhile
    customer = created if created is not None else _by_email(session, email)
    if email.lower() in read:
        read[email.lower()] = customer
    return customer


def read_ahead(session, emails, create=()):
    """The customers of these addresses (None for the new ones), read in one statement and kept
    for the rest of the transaction: find_or_create asks them of this instead. The new ones
    among `create` ([(email, name)]) are created first, in one statement too. The caller
    takes no savepoint that could undo a customer created meanwhile."""
    wanted = {email.lower() for email in emails}
    _create_missing(session, create)
    read = per_transaction(session, "customers_read_ahead")
    read.update(dict.fromkeys(wanted))
    query = select(func.lower(Customer.email), Customer) \
        .where(func.lower(Customer.email).in_(wanted))
    read.update({lowered: customer for lowered, customer in session.execute(query)})


def _create_missing(session, people):
    """Insert the customers not there yet (in one order, so that two batches creating the same
    people never wait for each other in a circle); a flush of whatever else is pending first
    is avoided: it is the batch's own new rows, inserted together at its commit."""
    first = {}
    for email, name in people:
        first.setdefault(email.lower(), {"email": email, "name": name or "", "phones": []})
    if first:
        with session.no_autoflush:
            session.execute(_CREATE_MANY, [first[key] for key in sorted(first)])


def _by_email(session, email):
    return session.scalar(select(Customer).where(func.lower(Customer.email) == email.lower()))
