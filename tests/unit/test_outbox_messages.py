"""Committed events as the messages the outbox publishes: the events of a type sent together
go in one message (up to TOGETHER_MAX), where the first of them stood; a lone one goes out as
itself; every other event as it was."""
import pytest

from helpdesk import logs, outbox

TOGETHER = {"ticket_created": "tickets_created"}


@pytest.fixture(autouse=True)
def batch_worker():
    """The worker publishing is the batch's (a hand-over of several mails): its own id."""
    before = logs.current()
    logs.use("batch-1")
    yield
    logs.use(before)


def committed(*types):
    return [(f"id-{n}", event_type, {"event_id": f"id-{n}"}) for n, event_type in enumerate(types)]


def test_events_of_a_type_sent_together_go_in_one_message_where_the_first_stood():
    messages = outbox.as_messages(committed("ticket_created", "message_added", "ticket_created",
                                            "ticket_updated"), TOGETHER)
    assert messages == [
        ("tickets_created", {"events": [{"event_id": "id-0"}, {"event_id": "id-2"}],
                             logs.KEY: "batch-1"}),
        ("message_added", {"event_id": "id-1"}),
        ("ticket_updated", {"event_id": "id-3"})]


def test_a_lone_event_goes_out_as_itself():
    assert outbox.as_messages(committed("message_added", "ticket_created"), TOGETHER) == [
        ("message_added", {"event_id": "id-0"}), ("ticket_created", {"event_id": "id-1"})]
    assert outbox.as_messages(committed("ticket_created", "ticket_created"), {}) == [
        ("ticket_created", {"event_id": "id-0"}), ("ticket_created", {"event_id": "id-1"})]


def test_a_message_carries_at_most_together_max_events():
    count = outbox.TOGETHER_MAX * 2 + 1
    messages = outbox.as_messages(committed(*["ticket_created"] * count), TOGETHER)
    assert [event_type for event_type, _ in messages] == ["tickets_created", "tickets_created",
                                                          "ticket_created"]
    carried = [event["event_id"] for _, payload in messages[:2] for event in payload["events"]]
    assert carried + [messages[2][1]["event_id"]] == [f"id-{n}" for n in range(count)]
