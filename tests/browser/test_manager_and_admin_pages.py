"""The manager's statistics and the admin pages in Chromium against the running help desk,
in Russian and English (screenshots kept): figures of real traffic with CSV export; an admin
creates a department through the form, sees a mail to an address nobody receives at in the
quarantine with its reason and raw text, and reprocesses it into a ticket once the department
receives that address."""
import csv
import io

from tests.browser.conftest import as_olga, log_in, screenshot
from tests.mail import customer_mail, send
from tests.waiting import wait_until


def switch_language(page, language):
    page.select_option("header select[name=language]", language)
    page.click("header .preferences button[type=submit]")
    page.wait_for_selector(f"html[lang={language}]")


def test_statistics_show_real_traffic_and_export_csv(desk, open_page):
    send(desk["smtp"], customer_mail("support@isp.example", subject="Нет интернета",
                                     body="С утра нет подключения."))
    found = wait_until(lambda: as_olga(desk, "GET", "/tickets")["items"])
    as_olga(desk, "POST", f"/tickets/{found[0]['id']}/replies", json={"body": "Проверяем линию."})

    page = open_page("ru")
    log_in(page, desk, "mila@isp.example")
    page.click("header nav a[href='/statistics']")
    page.wait_for_selector("#agents")
    row = page.locator("#agents tbody tr", has_text="Ольга Смирнова")
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["1", "1", "1"]  # handled, replies, first responses
    assert page.locator("#incoming").inner_text() == "1"
    assert page.locator(".backlog[data-state=open]").inner_text() == "1"
    assert page.locator("svg.chart").count() == 3
    screenshot(page, "statistics-ru")

    exported = page.context.request.get(f"{desk['url']}/statistics/agents.csv")
    table = list(csv.reader(io.StringIO(exported.text().lstrip("\ufeff"))))
    assert table[0][:3] == ["agent", "tickets handled", "replies"]
    assert table[1][:4] == ["Ольга Смирнова", "1", "1", "1"]
    hours = list(csv.reader(io.StringIO(
        page.context.request.get(f"{desk['url']}/statistics/hours.csv").text().lstrip("\ufeff"))))
    assert len(hours) == 25 and sum(int(count) for _, count in hours[1:]) == 1

    switch_language(page, "en")
    assert page.locator("h1").first.inner_text() == "Statistics"
    screenshot(page, "statistics-en")
    elsewhere = open_page("ru")  # another browser: the choice went with the agent
    log_in(elsewhere, desk, "mila@isp.example")
    assert elsewhere.locator("html").get_attribute("lang") == "en"

    olga = open_page("ru")
    log_in(olga, desk, "olga@isp.example")
    assert olga.locator("header nav a[href='/statistics']").count() == 0
    refused = olga.goto(f"{desk['url']}/statistics")
    assert refused.status == 403
    assert "manager" in olga.locator(".problem").inner_text()


def test_an_admin_adds_a_department_and_brings_a_quarantined_mail_back(desk, open_page):
    send(desk["smtp"], customer_mail("sales@isp.example", subject="Хочу подключиться",
                                     body="Какие тарифы есть в Химках?"))
    page = open_page("ru")
    log_in(page, desk, "ada@isp.example")
    page.click("header nav a[href='/admin']")
    page.wait_for_selector("#admin-departments")
    assert "Техподдержка" in page.locator(".admin-list").inner_text()
    screenshot(page, "admin-ru")

    page.click("a[href='/admin/quarantine']")
    row = page.locator("#quarantine tbody tr", has_text="sales@isp.example")
    assert wait_until(lambda: (page.reload(), row.count() == 1)[1])
    assert "department" in row.locator(".reason").inner_text().lower()
    row.locator("a").first.click()
    quarantined = page.url
    raw = page.locator("pre.raw-mail").inner_text()
    assert "Subject:" in raw and "sales@isp.example" in raw

    page.click("a[href='/admin/departments']")
    page.click("#add")
    page.fill("#field-name", "Продажи")
    page.fill("#field-addresses", "sales@isp.example")
    page.fill("#field-signature", "Отдел продаж")
    page.check("#field-on_portal")
    page.click("#save")
    page.wait_for_selector(".saved")
    page.click("a[href='/admin/departments']")
    assert "sales@isp.example" in page.locator(".admin-list").inner_text()

    page.click("#add")
    page.fill("#field-name", "Продажи")  # the name is taken: the form comes back, filled in
    page.click("#save")
    page.wait_for_selector(".problem")
    assert page.input_value("#field-name") == "Продажи"

    page.goto(quarantined)
    page.click("#reprocess")
    page.wait_for_selector(".saved")

    def made_a_ticket():
        page.goto(quarantined)
        return page.locator("#ticket-link").count() == 1
    assert wait_until(made_a_ticket)
    page.click("#ticket-link")
    assert "Хочу подключиться" in page.locator("h1").first.inner_text()

    switch_language(page, "en")
    page.click("header nav a[href='/admin']")
    page.click("a[href='/admin/agents']")
    page.wait_for_selector("#admin-agents")
    assert "Ольга Смирнова" in page.locator(".admin-list").inner_text()
    screenshot(page, "admin-en")
