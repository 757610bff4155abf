"""Departments: their receiving addresses, signature and place in the first/second/third line."""
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.errors import Conflict, InvalidInput, NotFound
from helpdesk.payloads import DepartmentIn, DepartmentPatch, parse
from services.tickets import access, serialise
from services.tickets.models import Department, DepartmentAddress


def list_all(session):
    rows = session.scalars(select(Department).order_by(Department.name)).all()
    return [serialise.department(row) for row in rows]


def get(session, department_id):
    department = session.get(Department, department_id) if isinstance(department_id, int) else None
    if department is None:
        raise NotFound("DEPARTMENT_NOT_FOUND", f"department {department_id} does not exist")
    return department


def create(session, actor, data):
    access.require_admin(actor)
    payload = parse(DepartmentIn, data)
    department = Department(name=payload.name, signature=payload.signature,
                            sender_name=payload.sender_name,
                            agent_name_in_from=payload.agent_name_in_from,
                            on_portal=payload.on_portal)
    _set_parent(session, department, payload.parent_id)
    _set_addresses(session, department, payload.addresses)
    session.add(department)
    _commit(session, payload.name)
    return serialise.department(department)


def update(session, actor, department_id, data):
    access.require_admin(actor)
    payload = parse(DepartmentPatch, data)
    department = get(session, department_id)
    fields = payload.model_dump(exclude_unset=True)
    for name in ("name", "signature", "sender_name", "agent_name_in_from", "on_portal"):
        if fields.get(name) is not None:
            setattr(department, name, fields[name])
    if "parent_id" in fields:
        _set_parent(session, department, payload.parent_id)
    if payload.addresses is not None:
        _set_addresses(session, department, payload.addresses)
    _commit(session, department.name)
    return serialise.department(department)


def by_address(session, address):
    """The department that receives mail at `address`, or None."""
    row = session.get(DepartmentAddress, address.strip().lower())
    return session.get(Department, row.department_id) if row else None


def _set_parent(session, department, parent_id):
    if parent_id is None:
        department.parent_id = None
        return
    access.existing_department(session, parent_id, field="parent_id")
    if department.id is not None and _is_descendant_or_self(session, parent_id, department.id):
        raise InvalidInput("INVALID_PARENT", "a department cannot be its own ancestor",
                           "parent_id")
    department.parent_id = parent_id


def _is_descendant_or_self(session, candidate_id, department_id):
    seen = set()
    while candidate_id is not None and candidate_id not in seen:
        if candidate_id == department_id:
            return True
        seen.add(candidate_id)
        candidate_id = session.scalar(select(Department.parent_id)
                                      .where(Department.id == candidate_id))
    return False


def _set_addresses(session, department, addresses):
    wanted = [address.lower() for address in addresses]
    if len(set(wanted)) != len(wanted):
        raise InvalidInput("DUPLICATE_ADDRESS", "an address is listed twice", "addresses")
    taken = session.scalars(select(DepartmentAddress).where(
        func.lower(DepartmentAddress.address).in_(wanted))).all()
    for row in taken:
        if row.department_id != department.id:
            raise Conflict("ADDRESS_TAKEN",
                           f"{row.address} already receives mail for another department")
    department.addresses = [
        DepartmentAddress(address=address, position=position)
        for position, address in enumerate(wanted)]


def _commit(session, name):
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("DEPARTMENT_EXISTS", f"a department named {name!r} exists already") from None
