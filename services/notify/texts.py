"""The texts of the mail the help desk writes itself, in Russian and English: shipped here,
changeable by admins per department and language (stored in notify.templates).

Templates are Jinja2 in a sandbox (admins write them, they must not reach Python). Every
template of a kind gets the same variables; `example_context` documents them and is what a
changed template is checked against before it is saved.
"""
import functools

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from helpdesk.errors import InvalidInput

AUTO_ACK = "auto_ack"
RESOLVED = "resolved"
SLA_BREACHED = "sla_breached"
SLA_WARNING = "sla_warning"
ASSIGNED = "assigned"
KINDS = (AUTO_ACK, RESOLVED, SLA_BREACHED, SLA_WARNING, ASSIGNED)
LANGUAGES = ("ru", "en")

SHIPPED = {
    AUTO_ACK: {
        "en": ("We have received your request: {{ ticket.subject }}",
               "Hello{% if customer.name %}, {{ customer.name }}{% endif %}.\n\n"
               "Your request has been registered as ticket {{ ticket.number }} in "
               "{{ department.name }}. An engineer will answer you by mail as soon as possible; "
               "you do not need to write again.\n\n"
               "To add anything, just reply to this mail and keep [{{ ticket.tag }}] in the "
               "subject.\n\n"
               "Follow your requests and answer them on the web: {{ portal_url }}\n"),
        "ru": ("Ваше обращение получено: {{ ticket.subject }}",
               "Здравствуйте{% if customer.name %}, {{ customer.name }}{% endif %}!\n\n"
               "Ваше обращение зарегистрировано под номером {{ ticket.number }} "
               "(отдел «{{ department.name }}»). Специалист ответит вам письмом в ближайшее "
               "время, писать повторно не нужно.\n\n"
               "Чтобы что-то добавить, просто ответьте на это письмо, сохранив "
               "[{{ ticket.tag }}] в теме.\n\n"
               "Ваши обращения и ответы на них — на сайте: {{ portal_url }}\n"),
    },
    RESOLVED: {
        "en": ("Your request has been resolved: {{ ticket.subject }}",
               "Hello{% if customer.name %}, {{ customer.name }}{% endif %}.\n\n"
               "Ticket {{ ticket.number }} has been resolved. If the problem remains, reply "
               "to this mail and the ticket will be opened again.\n\n"
               "How did we do? Rate our answer (1 is poor, 5 is excellent):\n"
               "{% for score, link in rating_links %}  {{ score }}: {{ link }}\n{% endfor %}"),
        "ru": ("Ваше обращение решено: {{ ticket.subject }}",
               "Здравствуйте{% if customer.name %}, {{ customer.name }}{% endif %}!\n\n"
               "Обращение {{ ticket.number }} решено. Если проблема осталась, ответьте на это "
               "письмо, и обращение снова откроется.\n\n"
               "Оцените, пожалуйста, нашу работу (1 — плохо, 5 — отлично):\n"
               "{% for score, link in rating_links %}  {{ score }}: {{ link }}\n{% endfor %}"),
    },
    SLA_BREACHED: {
        "en": ("SLA breached: ticket {{ ticket.number }} ({{ breach.target_name }})",
               "Ticket {{ ticket.number }} \"{{ ticket.subject }}\" in {{ department.name }} "
               "has missed its {{ breach.target_name }} target.\n\n"
               "Due: {{ breach.due_at }}\nPriority: {{ ticket.priority }}\n"
               "Assignee: {{ assignee.name if assignee else 'nobody' }}\n"
               "Customer: {{ customer.name }} <{{ customer.email }}>\n\n{{ ticket.url }}\n"),
        "ru": ("Нарушен SLA: обращение {{ ticket.number }} ({{ breach.target_name }})",
               "Обращение {{ ticket.number }} «{{ ticket.subject }}» в отделе "
               "«{{ department.name }}» вышло за срок: {{ breach.target_name }}.\n\n"
               "Срок: {{ breach.due_at }}\nПриоритет: {{ ticket.priority }}\n"
               "Исполнитель: {{ assignee.name if assignee else 'не назначен' }}\n"
               "Клиент: {{ customer.name }} <{{ customer.email }}>\n\n{{ ticket.url }}\n"),
    },
    SLA_WARNING: {
        "en": ("SLA at risk: ticket {{ ticket.number }} ({{ breach.target_name }})",
               "Ticket {{ ticket.number }} \"{{ ticket.subject }}\" in {{ department.name }} "
               "is due ({{ breach.target_name }}) at {{ breach.due_at }}.\n\n{{ ticket.url }}\n"),
        "ru": ("SLA под угрозой: обращение {{ ticket.number }} ({{ breach.target_name }})",
               "Срок обращения {{ ticket.number }} «{{ ticket.subject }}» в отделе "
               "«{{ department.name }}» ({{ breach.target_name }}) истекает "
               "{{ breach.due_at }}.\n\n{{ ticket.url }}\n"),
    },
    ASSIGNED: {
        "en": ("Ticket {{ ticket.number }} is assigned to you: {{ ticket.subject }}",
               "{{ actor }} assigned ticket {{ ticket.number }} \"{{ ticket.subject }}\" "
               "({{ department.name }}, priority {{ ticket.priority }}) to you.\n\n"
               "{{ ticket.url }}\n"),
        "ru": ("Вам назначено обращение {{ ticket.number }}: {{ ticket.subject }}",
               "{{ actor }} назначил(а) вам обращение {{ ticket.number }} "
               "«{{ ticket.subject }}» (отдел «{{ department.name }}», приоритет "
               "{{ ticket.priority }}).\n\n{{ ticket.url }}\n"),
    },
}

TARGET_NAMES = {
    "en": {"first_response": "first response", "next_response": "next response",
           "resolution": "resolution"},
    "ru": {"first_response": "первый ответ", "next_response": "очередной ответ",
           "resolution": "решение"},
}

_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                    keep_trailing_newline=True)


def render(subject, body, variables):
    """(subject, body) rendered; a subject is one line whatever the template says."""
    try:
        rendered_subject = _compiled(subject).render(variables)
        rendered_body = _compiled(body).render(variables)
    except TemplateError as error:
        raise InvalidInput("INVALID_TEMPLATE", f"the template cannot be rendered: {error}",
                           "body") from None
    return " ".join(rendered_subject.split()), rendered_body


@functools.lru_cache(maxsize=512)
def _compiled(source):
    """A template compiled once per text: compiling was a tenth of an acknowledgement's CPU.
    Keyed by the text itself, so an admin's change is a new entry, never a stale one."""
    return _environment.from_string(source)


def check(kind, subject, body):
    """Refuse a template that would fail when a real mail needs it."""
    if kind not in KINDS:
        raise InvalidInput("UNKNOWN_KIND", f"kind must be one of {', '.join(KINDS)}", "kind")
    render(subject, body, example_context(kind))


def example_context(kind, language="en"):
    """The variables every template of `kind` gets, with example values."""
    variables = {
        "ticket": {"number": 1234, "tag": "#1234", "subject": "No internet since morning",
                   "priority": "normal", "status": "open", "url": "http://helpdesk/t/1234"},
        "department": {"name": "Technical support"},
        "customer": {"name": "Anna Petrova", "email": "anna@example.net"},
        "assignee": {"name": "Ivan Sidorov", "email": "ivan@isp.example"},
        "actor": "Ivan Sidorov",
        "rating_links": [(score, f"http://helpdesk/rate/TOKEN?score={score}")
                         for score in range(1, 6)],
        "rating_url": "http://helpdesk/rate/TOKEN",
        "portal_url": "http://helpdesk/portal/enter/TOKEN",
        "breach": {"target": "first_response", "target_name": TARGET_NAMES[language][
            "first_response"], "due_at": "2026-11-23 12:30 UTC", "level": 1},
    }
    return variables
