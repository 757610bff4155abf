"""The first line's quick paths in Chromium: a phone call registered in a few keystrokes for a
caller found by contract number (who gets the ticket number by mail) or a new caller; and the
search page — Russian stems, highlights, a saved search that becomes a workspace beside the
queues."""
from tests.browser.conftest import as_olga, log_in, screenshot
from tests.mail import customer_mail, send
from tests.relay import text_of
from tests.waiting import wait_until


def test_a_phone_call_is_registered_in_a_few_keystrokes(desk, open_page):
    ivan = as_olga(desk, "POST", "/customers", json={
        "email": "ivan@mail.example", "name": "Иван Петров", "phones": ["+7 916 123-45-67"],
        "contract_number": "D-100200"})
    page = open_page("ru")
    log_in(page, desk, "olga@isp.example")
    page.keyboard.press("c")
    page.wait_for_selector("#caller:focus")
    page.keyboard.type("D-100200")
    page.keyboard.press("Enter")
    caller = page.locator("label.caller", has_text="Иван Петров")
    caller.wait_for()
    assert caller.locator("input").is_checked()
    page.wait_for_selector("#subject:focus")
    page.keyboard.type("Нет интернета после грозы")
    page.keyboard.press("Tab")
    page.keyboard.type("Роутер горит красным, звонит с мобильного.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#conversation .message.inbound")
    number = int(page.url.rstrip("/").rsplit("/", 1)[1])
    ticket = as_olga(desk, "GET", f"/tickets/{number}")
    assert ticket["channel"] == "phone" and ticket["customer_id"] == ivan["id"]
    assert ticket["messages"][0]["body_text"] == "Роутер горит красным, звонит с мобильного."
    [acknowledgement] = desk["relay"].wait_for(1)
    assert "ivan@mail.example" in str(acknowledgement["To"])
    assert str(number) in text_of(acknowledgement)

    page.goto(f"{desk['url']}/calls/new?caller=maria%40mail.example")
    assert page.locator("#new-caller").is_checked()
    assert page.input_value("input[name=email]") == "maria@mail.example"
    page.fill("input[name=name]", "Мария Кузнецова")
    page.fill("#subject", "Смена тарифа")
    page.fill("#call-notes", "Хочет тариф побыстрее.")
    page.uncheck("#acknowledge")
    page.click("#register-call")
    page.wait_for_selector("#conversation .message.inbound")
    created = as_olga(desk, "GET", f"/tickets/{int(page.url.rstrip('/').rsplit('/', 1)[1])}")
    [maria] = as_olga(desk, "GET", "/customers", params={"q": "maria@mail.example"})
    assert created["customer_id"] == maria["id"] and maria["name"] == "Мария Кузнецова"


def test_search_finds_by_stem_highlights_and_saves_a_workspace(desk, open_page):
    send(desk["smtp"], customer_mail("support@isp.example", subject="Нет подключения",
                                     body="Пропало подключение к интернету в квартире."))
    send(desk["smtp"], customer_mail("support@isp.example", subject="Вопрос по счёту",
                                     body="Почему счёт вырос?"))
    page = open_page("ru")
    log_in(page, desk, "olga@isp.example")
    page.click("header nav a[href='/search']")
    page.fill("#search-text", "подключению")
    page.click("#run-search")
    page.wait_for_selector(".found")  # the results page, whatever it found yet

    def found():  # the mails may still be on their way to the index: ask again
        page.reload()  # (waits for the page to load; a click would not)
        return page.locator("#hits .hit").count() == 1
    assert wait_until(found), page.locator("main").inner_text()
    hit = page.locator("#hits .hit")
    assert "Нет подключения" in hit.locator(".subject").inner_text()
    assert hit.locator(".subject mark").inner_text() == "подключения"
    assert "подключение" in hit.locator(".snippet mark").first.inner_text()
    screenshot(page, "search-ru")

    page.fill("#save-search input[name=name]", "Подключения")
    page.click("#save-workspace")
    page.wait_for_selector("h1:text('Подключения')")
    assert page.locator("#hits .hit").count() == 1
    page.click("header nav a[href='/']")
    page.locator("#workspaces a", has_text="Подключения").click()
    assert "Нет подключения" in page.locator("#hits .hit .subject").inner_text()
