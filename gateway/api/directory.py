"""Departments, agents and customers."""
from flask import Blueprint, request

from gateway.api import body, call, number

bp = Blueprint("directory", __name__)


@bp.get("/departments")
def list_departments():
    return call("list_departments")


@bp.post("/departments")
def create_department():
    return call("create_department", body()), 201


@bp.get("/departments/<department_id>")
def get_department(department_id):
    return call("get_department", number(department_id, "department_id"))


@bp.patch("/departments/<department_id>")
def update_department(department_id):
    return call("update_department", number(department_id, "department_id"), body())


@bp.get("/agents")
def list_agents():
    return call("list_agents")


@bp.post("/agents")
def create_agent():
    return call("create_agent", body()), 201


@bp.get("/agents/<agent_id>")
def get_agent(agent_id):
    return call("get_agent", number(agent_id, "agent_id"))


@bp.patch("/agents/<agent_id>")
def update_agent(agent_id):
    return call("update_agent", number(agent_id, "agent_id"), body())


@bp.get("/customers")
def find_customers():
    return call("find_customers", request.args.get("q", ""),
                number(request.args.get("limit", "20"), "limit"))


@bp.post("/customers")
def create_customer():
    return call("create_customer", body()), 201


@bp.get("/customers/<customer_id>")
def get_customer(customer_id):
    return call("get_customer", number(customer_id, "customer_id"))


@bp.patch("/customers/<customer_id>")
def update_customer(customer_id):
    return call("update_customer", number(customer_id, "customer_id"), body())
