"""Search at a large centre's size: N generated messages (Russian and English, in tickets of a
few messages each, over two years and a dozen departments) loaded into the PostgreSQL
backend the way a rebuild loads them, then typical agent queries timed. Prints load time and
p50/p95/p99 per query kind; appends them to bench/RESULTS.md.

    .venv/bin/python bench/search_million.py --messages 1000000
    .venv/bin/python bench/search_million.py --database-url postgresql://…/kept --skip-load

Needs PostgreSQL; makes (and drops, unless --keep) a throwaway database.
"""
import argparse
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import throwaway_database  # noqa: E402
from helpdesk import config as settings  # noqa: E402
from helpdesk.database import make_engine  # noqa: E402
from services.search.backends.postgres import PostgresBackend  # noqa: E402
from services.search.documents import ticket_document  # noqa: E402
from services.search.query import search_in, words  # noqa: E402

DEPARTMENTS = list(range(1, 13))
MINE = DEPARTMENTS[:3]  # the departments of the agent who searches
AGENTS = list(range(1, 61))
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
DAYS = 730
# Words in the forms customers and agents write them (a stemmer must join them), over the
# topics an ISP's support hears about; each ticket keeps to one topic.
RUSSIAN = {
    "internet": (["нет подключения к интернету", "пропало подключение", "не работает интернет",
                  "интернет отключается каждые полчаса", "проблема с подключением кабеля",
                  "страницы не открываются", "ошибка 651 при подключении",
                  "нет доступа к сайтам", "интернет пропадает вечером"],
                 ["проверили линию, подключение восстановлено", "авария на узле, работы ведутся",
                  "подключения восстановлены во всём доме", "перенастроили порт на коммутаторе"]),
    "speed": (["низкая скорость интернета", "скорость упала вдвое", "тормозят видео",
               "скорость не соответствует тарифу", "пинг в играх выше двухсот"],
              ["скорость на порту в норме, проверьте по кабелю", "заменили абонентский кабель",
               "перегрузка канала устранена"]),
    "billing": (["не приходит счёт", "двойное списание с карты", "прошу вернуть деньги",
                 "баланс отрицательный, хотя оплатил", "не вижу платёж в личном кабинете",
                 "нужен акт сверки для бухгалтерии"],
                ["выполнен перерасчёт", "счёт отправлен повторно", "платёж зачислен",
                 "возврат оформлен, деньги поступят за пять дней"]),
    "plan": (["хочу сменить тариф", "подключите услугу «Турбо»", "какие есть тарифы для дачи",
              "отключите платную подписку", "прошу приостановить договор на лето"],
             ["тариф изменён с завтрашнего дня", "услуга подключена", "подписка отключена",
              "договор приостановлен"]),
    "tv": (["не работает телевидение", "пропали каналы", "приставка не загружается",
            "нет звука на спортивных каналах", "пульт не отвечает"],
           ["перепрошили приставку удалённо", "каналы вернули в пакет",
            "мастер заменит приставку"]),
    "wifi": (["роутер не раздаёт wi-fi", "забыл пароль от wi-fi", "слабый сигнал в спальне",
              "роутер перезагружается сам", "лампочка на роутере мигает красным"],
             ["перезагрузите роутер", "сбросили настройки роутера", "рекомендуем репитер",
              "направили мастера для замены роутера"]),
    "move": (["переезжаю, прошу перенести подключение на новый адрес",
              "прошу перенести подключению на другой адрес", "нужен новый договор на квартиру",
              "когда проведут кабель в новый дом"],
             ["заявка на перенос принята", "мастер приедет в четверг", "дом подключат в мае"]),
    "account": (["не могу войти в личный кабинет", "ошибка авторизации PPPoE",
                 "смените номер телефона в договоре", "прошу выслать логин и пароль"],
                ["пароль сброшен, новый отправлен в СМС", "данные договора обновлены",
                 "сообщите номер договора"]),
}
RUSSIAN_DETAILS = ["с утра", "уже третий день", "после грозы", "после оплаты", "в квартире",
                   "на даче", "по договору", "в офисе", "перезагрузка не помогает",
                   "кабель проверили", "оплатил вчера", "соседи тоже без связи", "срочно",
                   "работаю из дома", "ещё на прошлой неделе", "звонил, не дозвонился",
                   "ребёнок не может учиться", "с понедельника", "после замены роутера"]
ENGLISH = {
    "internet": (["no internet connection", "the connection drops every evening",
                  "pages do not load", "connecting to the VPN fails"],
                 ["we restored your connection", "there is an outage, we are working on it"]),
    "speed": (["slow speed since yesterday", "video keeps buffering", "high ping in games"],
              ["the line is fine, please test over a cable", "we replaced the cable"]),
    "billing": (["invoice charged twice", "payment not showing", "please refund me"],
                ["the invoice was corrected", "the refund is on its way"]),
    "account": (["cannot log in to my account", "please change my phone number"],
                ["your password was reset", "the contract details were updated"]),
    "tv": (["TV channels are missing", "the set-top box does not boot"],
           ["we updated the set-top box remotely"]),
    "wifi": (["router keeps rebooting", "weak wi-fi in the bedroom", "forgot my wi-fi password"],
             ["please restart the router", "an engineer is on the way"]),
}
ENGLISH_DETAILS = ["since this morning", "for three days", "after the storm", "at the office",
                   "rebooting did not help", "my neighbours too", "urgent", "working from home"]
QUERIES = {  # kind -> a query an agent would type, given a random generator
    "word, one department": lambda r: {"text": "подключение", "department_ids": [r.choice(MINE)]},
    "word, my 3 departments, newest": lambda r: {"text": "тариф", "sort": "newest"},
    "phrase": lambda r: {"text": '"низкая скорость"', "department_ids": [r.choice(MINE)]},
    "agent's tickets about a word": lambda r: {"text": "тариф", "agent_id": r.choice(AGENTS)},
    "subject only": lambda r: {"text": "счёт", "within": "subject",
                               "department_ids": [r.choice(MINE)]},
    "recipient, last month": lambda r: {"recipient": f"dept{r.choice(MINE)}@isp.example",
                                        "created_from": _ago(r, 60), "created_to": _ago(r, 30)},
    "english word": lambda r: {"text": "connect"},
    "two words and a status": lambda r: {"text": "роутер мигает", "statuses": ["open"]},
    "a very common word, all my departments": lambda r: {"text": "интернет"},
    "contract number": lambda r: {"text": f"Д-{r.randrange(100000):05d}"},
    "word minus a word": lambda r: {"text": "подключение -кабель",
                                    "department_ids": [r.choice(MINE)]},
}


def _ago(generator, days):
    return (START + timedelta(days=DAYS - days)).isoformat()


def sentence(generator, problems, details):
    return f"{generator.choice(problems).capitalize()}, {generator.choice(details)}."


def ticket(number, generator, messages):
    """One generated ticket as tickets.search_documents hands it over."""
    russian = generator.random() < 0.8
    topics, details = (RUSSIAN, RUSSIAN_DETAILS) if russian else (ENGLISH, ENGLISH_DETAILS)
    problems, answers = topics[generator.choice(list(topics))]
    department = generator.choice(DEPARTMENTS)
    agent = generator.choice(AGENTS)
    created = START + timedelta(minutes=generator.randrange(DAYS * 24 * 60))
    customer = f"customer{generator.randrange(50000)}@mail.example"
    items = []
    for index in range(messages):
        inbound = index % 2 == 0
        text = sentence(generator, problems, details) if inbound else generator.choice(answers)
        if inbound and generator.random() < 0.3:
            text += f" Договор Д-{generator.randrange(100000):05d}."
        text += " " + " ".join(sentence(generator, problems, details)
                               for _ in range(generator.randrange(3)))
        items.append({
            "id": number * 16 + index, "ticket_id": number, "direction":
            "inbound" if inbound else "outbound",
            "author": {"kind": "customer", "id": 1, "name": "Клиент"} if inbound else
            {"kind": "agent", "id": agent, "name": f"Агент {agent}"},
            "from": customer if inbound else f"dept{department}@isp.example",
            "to": [f"dept{department}@isp.example"] if inbound else [customer], "cc": [],
            "body_text": text, "attachments": [],
            "created_at": (created + timedelta(hours=index)).isoformat()})
    updated = created + timedelta(hours=messages)
    status = generator.choice(["new", "open", "open", "pending", "resolved", "closed"])
    return {"ticket": {"id": number, "subject": sentence(generator, problems, details)[:80],
                       "channel": "mail", "department_id": department, "status": status,
                       "priority": generator.choice(["low", "normal", "normal", "high"]),
                       "assignee_id": agent, "created_at": created.isoformat(),
                       "updated_at": updated.isoformat(),
                       "resolved_at": updated.isoformat() if status in ("resolved", "closed")
                       else None, "version": 1},
            "customer": {"id": 1, "email": customer, "name": "Клиент"},
            "assignee": {"id": agent, "name": f"Агент {agent}"}, "messages": items}


def load_slice(url, first, last, seed, batch=500):
    """Tickets first..last-1 into the backend, as a rebuild stores them; returns messages."""
    engine = make_engine(url, pool_size=1)
    backend, generator, stored = PostgresBackend(engine), random.Random(seed), 0
    for start in range(first, last, batch):
        page = [ticket(n, generator, generator.choice([1, 2, 3, 4, 5, 6, 8, 10]))
                for n in range(start, min(last, start + batch))]
        backend.store([ticket_document(item) for item in page], rebuilding=True)
        stored += sum(len(item["messages"]) for item in page)
    engine.dispose()
    return stored


def load(url, messages, processes):
    tickets = messages * 10 // 48  # 4.8 messages a ticket on average
    slices = [(i * tickets // processes + 1, (i + 1) * tickets // processes + 1)
              for i in range(processes)]
    started = time.monotonic()
    with ProcessPoolExecutor(processes) as pool:
        stored = sum(pool.map(load_slice, [url] * processes, [a for a, _ in slices],
                              [b for _, b in slices], range(processes)))
    took = time.monotonic() - started
    engine = make_engine(url, pool_size=1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE search.tickets")
        connection.exec_driver_sql("VACUUM ANALYZE search.messages")
    engine.dispose()
    return tickets, stored, took


def time_queries(url, rounds, visible):
    engine = make_engine(url, pool_size=1)
    backend, generator, timings = PostgresBackend(engine), random.Random(7), {}
    for kind, make in QUERIES.items():
        for _ in range(3):  # warm the caches the way a running desk has them warm
            request = search_in(make(generator))
            backend.search(request, words(request.text), visible)
        spent, totals = [], []
        for _ in range(rounds):
            request = search_in(make(generator))
            started = time.perf_counter()
            result = backend.search(request, words(request.text), visible)
            spent.append(time.perf_counter() - started)
            totals.append(result["total"])
        timings[kind] = (spent, statistics.median(totals))
    engine.dispose()
    return timings


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(tickets, stored, took, timings, visible):
    everything = [value for spent, _ in timings.values() for value in spent]
    lines = [f"- loaded {stored:,} messages in {tickets:,} tickets in {took:.0f} s "
             f"({stored / took:,.0f} messages/s) through the backend's store (a rebuild's path)"
             if took else f"- {stored:,} messages in {tickets:,} tickets (already loaded)",
             f"- queries as an agent of {len(visible)} departments; per kind p50 / p95 / p99 "
             "(median matches):"]
    for kind, (spent, matches) in timings.items():
        lines.append(f"  - {kind}: {percentile(spent, .5) * 1000:.1f} / "
                     f"{percentile(spent, .95) * 1000:.1f} / {percentile(spent, .99) * 1000:.1f} "
                     f"ms ({matches:,.0f})")
    lines.append(f"- all queries: p50 {percentile(everything, .5) * 1000:.1f} ms, p95 "
                 f"{percentile(everything, .95) * 1000:.1f} ms, p99 "
                 f"{percentile(everything, .99) * 1000:.1f} ms")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100, help="timed queries per kind")
    parser.add_argument("--processes", type=int, default=2, help="loading processes")
    parser.add_argument("--database-url", help="use this database instead of a throwaway one")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args()
    config = settings.load()
    url, drop = (args.database_url, None) if args.database_url else \
        throwaway_database(config[settings.DATABASE_URL])
    print(f"database: {url}", flush=True)
    visible = frozenset(MINE)
    try:
        if args.skip_load:
            tickets, stored, took = _counts(url) + (0,)
        else:
            tickets, stored, took = load(url, args.messages, args.processes)
        print(f"loaded {stored:,} messages in {took:.0f} s", flush=True)
        lines = report(tickets, stored, took, time_queries(url, args.rounds, visible), visible)
        print("\n".join(lines), flush=True)
        machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        with (ROOT / "bench" / "RESULTS.md").open("a") as results:
            results.write(f"\n## Search: PostgreSQL backend — {datetime.now():%Y-%m-%d %H:%M} "
                          f"({machine})\n\n" + "\n".join(lines) + "\n")
    finally:
        if drop and not args.keep:
            drop()


def _counts(url):
    engine = make_engine(url, pool_size=1)
    with engine.connect() as connection:
        counts = (connection.exec_driver_sql("SELECT count(*) FROM search.tickets").scalar(),
                  connection.exec_driver_sql("SELECT count(*) FROM search.messages").scalar())
    engine.dispose()
    return counts


if __name__ == "__main__":
    main()
