"""Tickets as the tickets service hands them to search (tickets.search_documents), for the
backend suite: a small support centre's worth, in Russian and English."""
from datetime import datetime, timedelta, timezone

BILLING, NETWORK, SECRET = 11, 12, 13
IVANOV, PETROVA = 101, 102
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def message(number, ticket_id, body, *, direction="inbound", author=None, sender=None,
            to=("support@isp.example",), cc=(), attachments=(), at=T0):
    author = author or {"kind": "customer", "id": 1, "name": "Анна Кузнецова"}
    return {"id": number, "ticket_id": ticket_id, "direction": direction, "author": author,
            "from": sender or "anna@mail.example", "to": list(to), "cc": list(cc),
            "subject": "", "body_text": body, "created_at": at.isoformat(),
            "attachments": [{"filename": name} for name in attachments]}


def ticket(number, subject, messages, *, department=BILLING, status="open", priority="normal",
           assignee=None, version=1, created=T0, updated=None, resolved=None,
           customer=("anna@mail.example", "Анна Кузнецова")):
    return {"ticket": {"id": number, "number": number, "subject": subject, "channel": "mail",
                       "department_id": department, "status": status, "priority": priority,
                       "assignee_id": assignee[0] if assignee else None,
                       "customer_id": 1, "created_at": created.isoformat(),
                       "updated_at": (updated or created).isoformat(),
                       "resolved_at": resolved.isoformat() if resolved else None,
                       "version": version},
            "customer": {"id": 1, "email": customer[0], "name": customer[1]},
            "assignee": {"id": assignee[0], "name": assignee[1]} if assignee else None,
            "messages": messages}


def agent(agent_id, name):
    return {"kind": "agent", "id": agent_id, "name": name}


def seed():
    """Every ticket of the suite; each test names the numbers it expects."""
    ivanov, petrova = agent(IVANOV, "Иван Иванов"), agent(PETROVA, "Мария Петрова")
    day = timedelta(days=1)
    return [
        ticket(1, "Нет подключения к интернету", [
            message(11, 1, "Здравствуйте! С утра нет подключения, роутер мигает."),
            message(12, 1, "Проверили линию, подключение восстановлено.", direction="outbound",
                    author=ivanov, sender="support@isp.example", to=["anna@mail.example"],
                    at=T0 + timedelta(hours=1))],
            assignee=(IVANOV, "Иван Иванов"), updated=T0 + timedelta(hours=1)),
        ticket(2, "Счёт за март", [
            message(21, 2, "Прошу помочь с подключению услуги «Турбо»: счёт пришёл дважды.",
                    sender="boris@corp.example", to=["billing@isp.example"],
                    cc=["accounting@corp.example"], attachments=["счёт-март.pdf"])],
            created=T0 + 2 * day, customer=("boris@corp.example", "Борис Орлов")),
        ticket(3, "Connection drops every evening", [
            message(31, 3, "My connection drops at 8 pm. The modem shows a red light.",
                    sender="john@mail.example", to=["support@isp.example"])],
            department=NETWORK, priority="high", created=T0 + 3 * day,
            customer=("john@mail.example", "John Smith")),
        ticket(4, "Ещё один вопрос по тарифу", [
            message(41, 4, "Хочу сменить тариф, и ещё подключить ТВ.",
                    sender="anna@mail.example"),
            message(42, 4, "Тариф сменён.", direction="outbound", author=petrova,
                    sender="billing@isp.example", to=["anna@mail.example"]),
            message(43, 4, "Клиент просил перезвонить после обеда", direction="internal",
                    author=ivanov, sender="", to=[])],
            status="resolved", assignee=(PETROVA, "Мария Петрова"), created=T0 + 5 * day,
            resolved=T0 + 6 * day, updated=T0 + 6 * day),
        ticket(5, "Секретный инцидент: подключение", [
            message(51, 5, "Подключения в серверной нет, подключению мешает авария.",
                    sender="noc@isp.example", to=["secret@isp.example"])],
            department=SECRET, created=T0 + 7 * day),
        ticket(6, "Invoice <script>alert(1)</script>", [
            message(61, 6, "Please connect me & send the invoice <b>today</b>.",
                    sender="eve@mail.example", to=["billing@isp.example"])],
            status="new", created=T0 + 8 * day, customer=("eve@mail.example", "Eve")),
    ]
