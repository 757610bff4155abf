"""Must-show of the agent workspace, in Chromium: a mail arrives in the queue with a sound,
the agent answers it with a canned reply and a file, the customer gets it, and the customer's
answer appears on the open page without a reload; hostile HTML mail runs nothing; an agent
of another department gets a 404 page; the history names who did what."""
import asyncio

from tests.browser.conftest import log_in, screenshot
from tests.mail import customer_mail, send
from tests.relay import text_of
from tests.waiting import wait_until

def sounds(page):
    return int(page.evaluate("document.body.dataset.sounds || '0'"))


def test_a_mail_reaches_the_queue_is_answered_and_the_answer_comes_back_live(desk, open_page,
                                                                              tmp_path):
    page = open_page("ru")
    log_in(page, desk, "olga@isp.example")
    page.wait_for_selector("body[data-live=connected]")  # the page hears live events
    assert sounds(page) == 0

    send(desk["smtp"], customer_mail("support@isp.example", subject="Нет интернета",
                                     body="С утра нет подключения.",
                                     Message_ID="<q1@mail.example>"))
    row = page.locator("table.tickets a", has_text="Нет интернета")
    row.wait_for(timeout=10_000)  # the queue refreshed itself
    assert sounds(page) >= 1
    assert page.locator(".count[data-queue=new]").first.inner_text() == "1"
    screenshot(page, "queue-ru")
    desk["relay"].wait_for(1)  # the acknowledgement

    row.click()
    page.wait_for_selector("#conversation .message.inbound")
    assert "Анна Иванова" in page.locator(".message.inbound .author").inner_text()
    page.select_option("#canned", label="Перезагрузка роутера")
    assert wait_until(lambda: "роутер" in page.input_value("#reply-body"))
    reply_text = page.input_value("#reply-body")
    assert reply_text.startswith("Здравствуйте, Анна Иванова! Перезагрузите роутер.")
    manual = tmp_path / "Инструкция.pdf"
    manual.write_bytes(b"%PDF-1.4 router manual")
    page.set_input_files("#reply-form input[type=file]", str(manual))
    page.click("#send-reply")
    page.wait_for_selector(".message.outbound")
    assert "Ольга Смирнова" in page.locator(".message.outbound .author").inner_text()

    answer = desk["relay"].wait_for(2)[1]
    assert answer["To"] == "anna@mail.example" or "anna@mail.example" in str(answer["To"])
    assert "Перезагрузите роутер" in text_of(answer)
    [attached] = list(answer.iter_attachments())
    assert attached.get_filename() == "Инструкция.pdf"
    assert attached.get_content() == b"%PDF-1.4 router manual"

    page.evaluate("window.stillTheSamePage = true")
    heard = sounds(page)
    send(desk["smtp"], customer_mail("support@isp.example", subject=answer["Subject"],
                                     body="Перезагрузила, всё работает. Спасибо!",
                                     In_Reply_To=answer["Message-ID"],
                                     References=answer["Message-ID"]))
    page.locator(".message.inbound", has_text="всё работает").wait_for(timeout=10_000)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload
    assert sounds(page) > heard
    screenshot(page, "ticket-ru")


def test_hostile_html_mail_runs_nothing(desk, open_page):
    page = open_page("en")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message),
                                      asyncio.ensure_future(dialog.dismiss())))
    log_in(page, desk, "olga@isp.example")
    mail = customer_mail("support@isp.example", subject="Счёт")
    mail.add_alternative(
        '<p>Hello</p><script>window.pwned = "script"; alert("script")</script>'
        '<img src="x" onerror="window.pwned = \'onerror\'; alert(\'onerror\')">'
        '<a id="bad" href="javascript:window.pwned=\'link\';alert(\'link\')">open me</a>',
        subtype="html")
    send(desk["smtp"], mail)
    page.locator("table.tickets a", has_text="Счёт").click(timeout=10_000)
    frame_element = page.wait_for_selector("iframe.mail-html")
    frame = frame_element.content_frame()
    frame.wait_for_selector("text=Hello")
    assert frame.query_selector("script") is None
    assert frame.eval_on_selector("img", "img => img.getAttribute('onerror')") is None
    link = frame.query_selector("a")
    assert (link.get_attribute("href") or "").startswith("javascript:") is False
    link.click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None
    assert frame.evaluate("window.pwned") is None
    assert dialogs == []


def test_the_history_names_who_did_what_and_other_departments_get_a_404(desk, open_page):
    page = open_page("en")
    log_in(page, desk, "olga@isp.example")
    send(desk["smtp"], customer_mail("support@isp.example", subject="Тарифы и роутер",
                                     Message_ID="<t1@mail.example>"))
    page.locator("table.tickets a", has_text="Тарифы и роутер").click(timeout=10_000)
    page.wait_for_selector("#conversation")
    number = page.url.rsplit("/", 1)[1]
    send(desk["smtp"], customer_mail("support@isp.example",  # the ticket's tag threads it
                                     subject=f"Re: Тарифы и роутер [#{number}]",
                                     body="И ещё вопрос про счёт."))
    page.locator(".message.inbound", has_text="счёт").wait_for(timeout=10_000)  # live
    ticket_url = page.url

    page.fill("#note-form textarea", "Клиент звонил, ждёт ответа.")
    page.click("#note-form button[type=submit]")
    page.locator(".message.internal", has_text="ждёт ответа").wait_for()
    assert "Internal note · Ольга Смирнова" in page.locator(".message.internal .author").inner_text()
    page.select_option("#properties select[name=assignee_id]", label="Ольга Смирнова (me)")
    page.click("#properties button[type=submit]")
    page.locator(".history li", has_text="Assignee").wait_for()
    page.locator(".message.inbound", has_text="счёт").locator("button").click()  # split
    page.wait_for_url(lambda url: url != ticket_url)
    split_url = page.url
    page.select_option("#properties select[name=department_id]", label="Биллинг")
    page.click("#properties button[type=submit]")
    page.wait_for_url(f"{desk['url']}/")  # no longer hers: back to her queues
    screenshot(page, "queue-en")

    page.goto(ticket_url)
    history = " ".join(page.locator(".history").inner_text().split())
    assert "Ольга Смирнова: Assignee Ольга Смирнова" in history
    assert "Ольга Смирнова: Message split off into" in history
    screenshot(page, "ticket-en")

    stranger = open_page("en")
    log_in(stranger, desk, "boris@isp.example")
    response = stranger.goto(ticket_url)
    assert response.status == 404
    assert "Not found" in stranger.inner_text("h1")
    assert stranger.goto(split_url).status == 200  # moved to his department: he sees it now
    history = " ".join(stranger.locator(".history").inner_text().split())
    assert "Ольга Смирнова: Department Техподдержка → Биллинг" in history
    assert "Ольга Смирнова: Split off from" in history


def test_colleagues_on_the_same_ticket_see_each_other_and_who_is_writing(desk, open_page):
    send(desk["smtp"], customer_mail("support@isp.example", subject="Медленный интернет",
                                     body="Скорость упала до 1 Мбит/с."))
    olga = open_page("ru")
    log_in(olga, desk, "olga@isp.example")
    olga.locator("table.tickets a", has_text="Медленный интернет").click()
    olga.wait_for_selector("body[data-live=connected]")
    ticket_url = olga.url
    banner = olga.locator("#presence")
    assert banner.is_hidden()

    mila = open_page("ru")
    log_in(mila, desk, "mila@isp.example")
    mila.goto(ticket_url)
    mila.wait_for_selector("body[data-live=connected]")
    olga.wait_for_selector("#presence:has-text('Мила Орлова')", timeout=15_000)
    assert "Также открыли" in banner.inner_text()
    mila.wait_for_selector("#presence:has-text('Ольга Смирнова')", timeout=15_000)

    mila.fill("#reply-body", "Здравствуйте! Проверяем")
    mila.type("#reply-body", " линию")
    olga.wait_for_selector("#presence.typing:has-text('Мила Орлова')", timeout=15_000)
    assert banner.inner_text().startswith("Пишет ответ:")
    screenshot(olga, "ticket-collision-ru")

    mila.goto(desk["url"] + "/")  # leaves the ticket
    olga.wait_for_selector("#presence", state="hidden", timeout=15_000)
