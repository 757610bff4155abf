"""A demo support centre of an internet provider: departments, agents, customers and a few
hundred tickets in Russian and English, made through the tickets domain like real work."""
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.database import make_engine
from services.escalation import policies
from services.tickets import access, agents, conversation, departments, inbound, lifecycle
from services.tickets.models import Agent, Department

SYSTEM = access.Actor(label="system:demo", system="demo")
DEMO_PASSWORD = "demo-password"

DEPARTMENTS = [
    ("First line", ["support@isp.example"], None),
    ("Billing", ["billing@isp.example"], "First line"),
    ("Network (2nd line)", ["noc@isp.example"], "First line"),
    ("TV", ["tv@isp.example"], "First line"),
]
DEPARTMENTS_BY_NAME = {name: addresses[0] for name, addresses, _ in DEPARTMENTS}
AGENTS = [
    ("Ирина Соколова", "irina@isp.example", "agent", ["First line"]),
    ("Дмитрий Волков", "dmitry@isp.example", "agent", ["First line", "TV"]),
    ("Olga Smirnova", "olga@isp.example", "agent", ["Billing"]),
    ("Сергей Кузнецов", "sergey@isp.example", "agent", ["Network (2nd line)"]),
    ("Anna Manager", "manager@isp.example", "manager",
     ["First line", "Billing", "Network (2nd line)", "TV"]),
]
FIRST_NAMES = ["Алексей", "Мария", "Павел", "Елена", "Николай", "Татьяна", "John", "Emma",
               "Oliver", "Sophie"]
LAST_NAMES = ["Иванов", "Петрова", "Смирнов", "Орлова", "Фёдоров", "Brown", "Taylor", "Clark"]
REQUESTS = {
    "First line": [("Нет интернета", "С утра не работает интернет, роутер мигает красным."),
                   ("No connection since yesterday", "My internet has been down since 9 pm.")],
    "Billing": [("Двойное списание", "С карты списали оплату за ноябрь два раза."),
                ("Invoice question", "Why is my invoice higher than my tariff?")],
    "Network (2nd line)": [("Низкая скорость", "По тарифу 100 Мбит/с, а измерение даёт 8."),
                           ("Packet loss", "Traceroute shows 30% loss after the second hop.")],
    "TV": [("Не показывают каналы", "Пропали все каналы кроме первых пяти."),
           ("TV box reboots", "The set-top box restarts every ten minutes.")],
}
REPLIES = ["Здравствуйте! Проверили линию, перезагрузите, пожалуйста, роутер.",
           "Hello, we have restarted your port. Please check again.",
           "Заявка передана инженерам второй линии."]


def load(config, tickets=300, seed=7):
    engine = make_engine(config["DATABASE_URL"], pool_size=1)
    rng = random.Random(seed)
    try:
        with Session(engine, expire_on_commit=False) as session:
            by_name = _departments(session)
            staff = _agents(session, by_name)
            _service_levels(session, by_name)
            for number in range(tickets):
                _ticket(session, rng, number, by_name, staff)
    finally:
        engine.dispose()
    return (f"{len(by_name)} departments, {len(staff)} agents (password {DEMO_PASSWORD!r}), "
            f"{tickets} tickets")


def _departments(session):
    by_name = {d.name: d.id for d in session.scalars(select(Department))}
    for name, addresses, parent in DEPARTMENTS:
        if name not in by_name:
            created = departments.create(session, SYSTEM, {
                "name": name, "addresses": addresses, "parent_id": by_name.get(parent),
                "signature": f"--\n{{agent_name}}\n{name}, ISP Example"})
            by_name[name] = created["id"]
    return by_name


OFFICE_HOURS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
# department: (first response, next response, resolution) in business minutes, calendar
SERVICE_LEVELS = {"First line": (60, 120, 1440, None),
                  "Billing": (240, 480, 2400, "Moscow office"),
                  "Network (2nd line)": (120, 240, 2880, None),
                  "TV": (240, 480, 2400, "Moscow office")}


def _service_levels(session, by_name):
    """SLA policies: the first line and the network around the clock, the rest in office
    hours; a breach in the first line goes to the second line an hour later."""
    if policies.list_policies(session):
        return
    office = policies.save_calendar(session, {"name": "Moscow office", "country": "RU",
                                              "time_zone": "Europe/Moscow",
                                              "hours": OFFICE_HOURS})
    for name, (first, following, resolution, calendar) in SERVICE_LEVELS.items():
        levels = [{"after_minutes": 0}]
        if name == "First line":
            levels.append({"after_minutes": 60, "priority": "high",
                           "department_id": by_name["Network (2nd line)"]})
        policies.save_policy(session, {
            "name": name, "department_id": by_name[name], "first_response_minutes": first,
            "next_response_minutes": following, "resolution_minutes": resolution,
            "warning_percent": 80, "calendar_id": office["id"] if calendar else None,
            "levels": levels})


def _agents(session, by_name):
    existing = {a.email: a for a in session.scalars(select(Agent))}
    staff = []
    for name, email, role, departments_of in AGENTS:
        if email not in existing:
            agents.create(session, SYSTEM, {"name": name, "email": email, "role": role,
                                            "password": DEMO_PASSWORD,
                                            "department_ids": [by_name[d] for d in departments_of]})
        agent = session.scalar(select(Agent).where(Agent.email == email))
        staff.append(access.resolve(session, {"agent_id": agent.id}))
    return staff


def _ticket(session, rng, number, by_name, staff):
    department = rng.choice(list(REQUESTS))
    subject, body = rng.choice(REQUESTS[department])
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    result = inbound.ingest(session, SYSTEM, {
        "message_id": f"<demo-{number}-{rng.random()}@mail.example>",
        "from_address": f"customer{rng.randrange(80)}@mail.example",
        "from_name": f"{first} {last}", "to": [DEPARTMENTS_BY_NAME[department]],
        "department_id": by_name[department],
        "subject": subject, "body_text": body})
    agent = rng.choice([a for a in staff if a.can_see(by_name[department])])
    roll = rng.random()
    if roll < 0.6:
        conversation.reply(session, agent, result["ticket_id"], {"body": rng.choice(REPLIES)})
    if roll < 0.3:
        lifecycle.update(session, agent, result["ticket_id"], {"status": "resolved"})
    elif roll < 0.4:
        conversation.note(session, agent, result["ticket_id"], {"body": "Проверить порт на коммутаторе"})
