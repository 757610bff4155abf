"""The customer's rating page, reached from the resolution notice as the relay received it:
tickets, ingest and notify in real containers, mail through a real SMTP server."""
import re
from urllib.parse import urlsplit

import pytest

from helpdesk import rating_links
from tests import fixtures
from tests.api.conftest import PUBLIC_URL

RUSSIAN = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
INVALID_LINK = "This rating link is not valid"


@pytest.fixture
def desk(db, notify_service):
    department = fixtures.department(db, "Техподдержка", ["support@isp.example"])
    _, token = fixtures.agent_with_token(db, "Ольга", "olga@isp.example",
                                         department_ids=[department["id"]])
    return {"agent": {"Authorization": f"Bearer {token}"}}


def rating_link(mail, score):
    """The one-click link for `score` in a resolution notice, as a path for the client."""
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    [link] = re.findall(rf"^\s*{score}: (\S+)$", text, re.M)
    assert link.startswith(f"{PUBLIC_URL}/rate/")
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def form_token_in(page):
    return re.search(r'name="form_token" value="([0-9a-f]+)"', page).group(1)


def resolved_ticket(client, desk, relay, customer_writes):
    """A ticket from a customer's mail, resolved; (ticket id, its rating link for 4)."""
    ticket_id = customer_writes("support@isp.example")
    relay.wait_for(1)  # the acknowledgement
    resolved = client.patch(f"/api/v1/tickets/{ticket_id}", headers=desk["agent"],
                            json={"status": "resolved"})
    assert resolved.status_code == 200
    notice = relay.wait_for(2)[1]
    assert notice["Subject"].startswith("Ваше обращение решено")
    return ticket_id, rating_link(notice, 4)


def test_a_customer_rates_from_the_link_in_the_resolution_mail(client, desk, relay,
                                                                customer_writes):
    ticket_id, link = resolved_ticket(client, desk, relay, customer_writes)
    page = client.get(link, headers=RUSSIAN)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert f"Обращение {ticket_id}" in html
    assert re.search(r'value="4" required checked', html)  # the score clicked in the mail
    assert page.headers["Referrer-Policy"] == "no-referrer"
    thanks = client.post(link.split("?")[0], headers=RUSSIAN, data={
        "score": "4", "comment": "Быстро помогли, спасибо!", "form_token": form_token_in(html)})
    assert thanks.status_code == 200
    assert f"Спасибо за оценку обращения {ticket_id}" in thanks.get_data(as_text=True)
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=desk["agent"]).json
    assert ticket["rating"]["score"] == 4
    assert ticket["rating"]["comment"] == "Быстро помогли, спасибо!"


def test_a_changed_link_gets_a_clear_page_not_a_traceback(client, app):
    token = rating_links.token_for(app.config["SECRET_KEY"], 1000)
    for tampered in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                     rating_links.token_for("another help desk's key", 1000), "nonsense"):
        page = client.get(f"/rate/{tampered}?score=5", headers=ENGLISH)
        assert page.status_code == 400 and page.mimetype == "text/html"
        assert INVALID_LINK in page.get_data(as_text=True)
        assert "Traceback" not in page.get_data(as_text=True)
    posted = client.post(f"/rate/{token}x", data={"score": "5"}, headers=RUSSIAN)
    assert posted.status_code == 400
    assert "Эта ссылка для оценки недействительна" in posted.get_data(as_text=True)


def test_a_post_without_the_forms_token_is_refused_and_records_nothing(client, app, desk, relay,
                                                                       customer_writes):
    ticket_id, link = resolved_ticket(client, desk, relay, customer_writes)
    path = link.split("?")[0]
    another_link = f"/rate/{rating_links.token_for(app.config['SECRET_KEY'], ticket_id + 1)}"
    other_form = client.get(another_link).get_data(as_text=True)
    for fields in ({"score": "1"}, {"score": "1", "form_token": "0" * 64},
                   {"score": "1", "form_token": form_token_in(other_form)}):
        refused = client.post(path, data=fields, headers=ENGLISH)
        assert refused.status_code == 400
        assert "This form is not valid any more" in refused.get_data(as_text=True)
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=desk["agent"]).json
    assert ticket["rating"] is None


def test_a_score_outside_1_to_5_is_named_and_the_form_kept(client, desk, relay, customer_writes):
    ticket_id, link = resolved_ticket(client, desk, relay, customer_writes)
    path = link.split("?")[0]
    form_token = form_token_in(client.get(link).get_data(as_text=True))
    for score in ("", "0", "6", "4.5", "five"):
        page = client.post(path, headers=ENGLISH, data={
            "score": score, "comment": "Kept <b>as typed</b>", "form_token": form_token})
        html = page.get_data(as_text=True)
        assert page.status_code == 400 and "Please choose a score from 1 to 5." in html
        assert "Kept &lt;b&gt;as typed&lt;/b&gt;" in html  # refilled, and escaped
    too_long = client.post(path, headers=ENGLISH, data={
        "score": "3", "comment": "x" * 5001, "form_token": form_token})
    assert too_long.status_code == 400 and "at most 5000 characters" in too_long.get_data(
        as_text=True)
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=desk["agent"]).json[
        "rating"] is None


def test_a_ticket_that_is_not_resolved_cannot_be_rated(client, app, desk, relay,
                                                       customer_writes):
    ticket_id = customer_writes("support@isp.example")
    link = f"/rate/{rating_links.token_for(app.config['SECRET_KEY'], ticket_id)}"
    form_token = form_token_in(client.get(link).get_data(as_text=True))
    page = client.post(link, headers=RUSSIAN, data={"score": "5", "form_token": form_token})
    assert page.status_code == 409
    assert f"Обращение {ticket_id} сейчас не решено" in page.get_data(as_text=True)
