"""A ticket's SLA clocks worked out from its story: when they run, pause, stop and restart,
and which timers remain to fire."""
from datetime import datetime, timedelta, timezone

from services.escalation import clocks
from services.escalation.assessment import assess
from services.escalation.calendars import BusinessCalendar, WEEKDAYS, from_definition

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # a Monday
ROUND_THE_CLOCK = BusinessCalendar.around_the_clock()
POLICY = {"first_response_minutes": 60, "next_response_minutes": 120,
          "resolution_minutes": 480, "warning_percent": 80,
          "levels": [{"after_minutes": 0}, {"after_minutes": 30}]}


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def facts(statuses=(), messages=(), status=None):
    timeline = [(T0, "new"), *[(at(m), s) for m, s in statuses]]
    return {"ticket_id": 1, "department_id": 1, "priority": "normal",
            "status": status or timeline[-1][1], "created_at": T0, "statuses": timeline,
            "messages": [(T0, "inbound", 1), *[(at(m), d, i) for i, (m, d) in
                                              enumerate(messages, start=2)]]}


def state_of(states, target):
    return next(state for state in states if state["target"] == target)


def timers_of(timers, target):
    return {(t.kind, t.level): t.due_at for t in timers if t.target == target}


def test_a_new_ticket_runs_the_first_response_and_resolution_clocks_with_their_timers():
    states, timers = assess(facts(), POLICY, ROUND_THE_CLOCK, at(10))
    first = state_of(states, "first_response")
    assert first["state"] == "running" and first["due_at"] == at(60)
    assert first["remaining_seconds"] == 50 * 60
    assert timers_of(timers, "first_response") == {
        ("warning", 0): at(48), ("breach", 1): at(60), ("breach", 2): at(90)}
    assert {s["target"] for s in states} == {"first_response", "resolution"}


def test_an_agents_reply_stops_the_first_response_clock_and_cancels_its_timers():
    story = facts(statuses=[(20, "open")], messages=[(20, "outbound")])
    states, timers = assess(story, POLICY, ROUND_THE_CLOCK, at(30))
    first = state_of(states, "first_response")
    assert first["state"] == "met" and first["stopped_at"] == at(20)
    assert first["elapsed_seconds"] == 20 * 60
    assert timers_of(timers, "first_response") == {}


def test_a_reply_after_the_target_leaves_the_first_response_breached():
    story = facts(statuses=[(75, "open")], messages=[(75, "outbound")])
    states, _ = assess(story, POLICY, ROUND_THE_CLOCK, at(80))
    assert state_of(states, "first_response")["state"] == "breached"


def test_pending_stops_every_clock_and_the_time_left_is_kept():
    story = facts(statuses=[(30, "pending")])
    states, timers = assess(story, POLICY, ROUND_THE_CLOCK, at(500))
    first = state_of(states, "first_response")
    assert first["state"] == "paused" and first["remaining_seconds"] == 30 * 60
    assert first["due_at"] is None
    assert all(timer.due_at is None for timer in timers)


def test_a_customer_reply_on_a_pending_ticket_restarts_the_next_response_clock():
    story = facts(statuses=[(10, "pending"), (300, "open")],
                  messages=[(10, "outbound"), (300, "inbound")])
    states, timers = assess(story, POLICY, ROUND_THE_CLOCK, at(301))
    following = state_of(states, "next_response")
    assert following["state"] == "running" and following["started_at"] == at(300)
    assert following["due_at"] == at(300 + 120)
    assert following["cycle"] == "next_response:3"  # named after the message that started it
    assert timers_of(timers, "next_response")[("breach", 1)] == at(420)
    # the resolution clock stood still while the ticket waited for the customer
    assert state_of(states, "resolution")["due_at"] == at(480 + 290)


def test_each_customer_message_after_a_reply_is_a_new_cycle_of_the_next_response_clock():
    story = facts(statuses=[(5, "open")], messages=[(5, "outbound"), (50, "inbound"),
                                                    (60, "inbound"), (70, "outbound"),
                                                    (200, "inbound")])
    states, _ = assess(story, POLICY, ROUND_THE_CLOCK, at(201))
    following = state_of(states, "next_response")
    assert following["started_at"] == at(200) and following["cycle"] == "next_response:6"


def test_resolving_stops_the_resolution_clock_and_reopening_resumes_it():
    resolved = facts(statuses=[(5, "open"), (100, "resolved")], messages=[(5, "outbound")])
    states, timers = assess(resolved, POLICY, ROUND_THE_CLOCK, at(200))
    assert state_of(states, "resolution")["state"] == "met"
    assert timers_of(timers, "resolution") == {}
    reopened = facts(statuses=[(5, "open"), (100, "resolved"), (300, "open")],
                     messages=[(5, "outbound"), (300, "inbound")])
    states, _ = assess(reopened, POLICY, ROUND_THE_CLOCK, at(301))
    assert state_of(states, "resolution")["due_at"] == at(480 + 200)


def test_a_closed_ticket_keeps_no_timers():
    story = facts(statuses=[(5, "closed")])
    _, timers = assess(story, POLICY, ROUND_THE_CLOCK, at(10))
    assert timers == []


def test_a_target_left_empty_runs_no_clock():
    states, timers = assess(facts(), {**POLICY, "resolution_minutes": None}, ROUND_THE_CLOCK,
                            at(1))
    assert {s["target"] for s in states} == {"first_response"}
    assert {t.target for t in timers} == {"first_response"}


def test_due_times_count_business_hours_of_the_departments_calendar():
    office = from_definition({"time_zone": "UTC",
                              "hours": {d: [["09:00", "18:00"]] for d in WEEKDAYS[:5]}})
    friday = datetime(2026, 11, 27, 17, 30, tzinfo=timezone.utc)
    story = {**facts(), "created_at": friday, "statuses": [(friday, "new")],
             "messages": [(friday, "inbound", 1)]}
    states, _ = assess(story, {**POLICY, "first_response_minutes": 240}, office,
                       friday + timedelta(minutes=10))
    first = state_of(states, "first_response")
    assert first["due_at"] == datetime(2026, 11, 30, 12, 30, tzinfo=timezone.utc)
    assert first["elapsed_seconds"] == 600


def test_facts_from_the_wire_are_parsed():
    wire = {"ticket_id": 1, "department_id": 2, "priority": "high", "status": "open",
            "created_at": T0.isoformat(), "statuses": [[T0.isoformat(), "new"]],
            "messages": [[T0.isoformat(), "inbound", 7]]}
    parsed = clocks.parse_facts(wire)
    assert parsed["created_at"] == T0 and parsed["messages"] == [(T0, "inbound", 7)]
