"""Must-show 4 of the web issue, in Chromium against the running help desk: a customer sends
a request with an attachment from the portal, gets the acknowledgement by mail, follows its
link to their tickets, reads the agent's answer (and not the internal note), answers from the
portal, and rates the ticket once it is resolved."""
import re

from tests.browser.conftest import as_olga, screenshot
from tests.relay import text_of
from tests.waiting import wait_until


def test_portal_request_acknowledgement_link_answer_and_rating(desk, open_page, tmp_path):
    page = open_page("ru")
    page.goto(f"{desk['url']}/portal/")
    page.fill("#name", "Мария Кузнецова")
    page.fill("#email", "maria@mail.example")
    page.select_option("#department_id", label="Техподдержка")
    page.fill("#subject", "Не работает IPTV")
    page.fill("#body", "Каналы не показывают со вчерашнего вечера.")
    photo = tmp_path / "экран.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n a photo of the screen")
    page.set_input_files("#attachments", str(photo))
    screenshot(page, "portal-request-ru")
    page.click("#send-request")
    registered = page.locator(".registered").inner_text()
    number = int(re.search(r"номером (\d+)", registered).group(1))

    [acknowledgement] = desk["relay"].wait_for(1)
    assert "maria@mail.example" in str(acknowledgement["To"])
    assert f"[#{number}]" in acknowledgement["Subject"]
    [link] = re.findall(r"http\S+/portal/enter/\S+", text_of(acknowledgement))

    as_olga(desk, "POST", f"/tickets/{number}/notes",
        json={"body": "Проверить линию, клиенту не писать."})
    as_olga(desk, "POST", f"/tickets/{number}/replies",
        json={"body": "Перезагрузите приставку, пожалуйста.", "status": "pending"})
    desk["relay"].wait_for(2)  # the answer went out by mail as well

    assert link.startswith(desk["url"])
    page.goto(link)
    page.locator("table.tickets a", has_text="Не работает IPTV").click()
    page.wait_for_selector("#conversation .message.outbound")
    assert page.locator("#status").inner_text() == "Ждём вашего ответа"
    assert "Ольга Смирнова" in page.locator(".message.outbound .author").inner_text()
    assert "экран.png" in page.locator(".message.inbound .attachments").inner_text()
    assert "клиенту не писать" not in page.content()

    page.fill("#body", "Перезагрузила, не помогло. Модель MAG-250.")
    page.click("#send-answer")
    page.locator(".message.inbound", has_text="MAG-250").wait_for()
    assert page.locator("#status").inner_text() == "В работе"
    screenshot(page, "portal-ticket-ru")
    ticket = as_olga(desk, "GET", f"/tickets/{number}")
    assert ticket["messages"][-1]["body_text"] == "Перезагрузила, не помогло. Модель MAG-250."
    assert ticket["messages"][-1]["author"]["name"] == "Мария Кузнецова"

    as_olga(desk, "PATCH", f"/tickets/{number}", json={"status": "resolved"})
    page.reload()
    page.click("#rate")
    page.check("input[name=score][value='5']")
    page.fill("#comment", "Быстро разобрались, спасибо!")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Спасибо за оценку")
    assert wait_until(lambda: (as_olga(desk, "GET", f"/tickets/{number}").get("rating") or {})
                      .get("score") == 5)
