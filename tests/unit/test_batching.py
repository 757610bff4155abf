"""The coalescer: what concurrent workers hand in while a batch is applied goes together in
the next batch, each caller gets its own result, and a failed batch fails each of its callers."""
import eventlet
import pytest

from helpdesk.batching import Coalescer


def slow_double(calls, seconds=0.05):
    def apply(items):
        calls.append(list(items))
        eventlet.sleep(seconds)
        return [item * 2 for item in items]
    return apply


def test_a_caller_alone_goes_at_once_with_its_own_item():
    calls = []
    assert Coalescer().run(21, slow_double(calls)) == 42
    assert calls == [[21]]


def test_items_that_arrive_during_a_batch_go_together_in_the_next():
    calls, coalescer = [], Coalescer()
    pool = eventlet.GreenPool()
    results = [pool.spawn(coalescer.run, n, slow_double(calls)) for n in range(10)]
    assert [thread.wait() for thread in results] == [n * 2 for n in range(10)]
    assert calls == [[0], list(range(1, 10))]


def test_a_batch_is_never_larger_than_its_limit():
    calls, coalescer = [], Coalescer(max_size=4)
    pool = eventlet.GreenPool()
    results = [pool.spawn(coalescer.run, n, slow_double(calls)) for n in range(10)]
    assert [thread.wait() for thread in results] == [n * 2 for n in range(10)]
    assert sorted(n for call in calls for n in call) == list(range(10))
    assert max(len(call) for call in calls) == 4


def test_a_failed_batch_fails_every_caller_in_it_and_not_the_next():
    coalescer, calls = Coalescer(), []

    def apply(items):
        calls.append(list(items))
        eventlet.sleep(0.05)
        if 3 in items:
            raise RuntimeError("tickets is away")
        return items

    pool = eventlet.GreenPool()
    first = pool.spawn(coalescer.run, 1, apply)
    eventlet.sleep(0)
    failing = [pool.spawn(coalescer.run, n, apply) for n in (2, 3)]
    for thread in failing:
        with pytest.raises(RuntimeError, match="tickets is away"):
            thread.wait()
    assert first.wait() == 1
    assert coalescer.run(4, apply) == 4
    assert calls == [[1], [2, 3], [4]]


def test_items_that_came_together_stay_together_in_batches_of_at_most_max_size():
    from helpdesk.batching import _Run
    calls, observed = [], []
    run = _Run(Coalescer(max_size=2, observe=observed.append))
    assert run.together([1, 2, 3, 4, 5], slow_double(calls, 0)) == [2, 4, 6, 8, 10]
    assert calls == [[1, 2], [3, 4], [5]] and observed == [2, 2, 1]


def test_items_that_came_together_join_those_of_concurrent_workers():
    from helpdesk.batching import _Run
    calls = []
    run = _Run(Coalescer(max_size=10))
    pool = eventlet.GreenPool()
    first = pool.spawn(run, 0, slow_double(calls))  # applied alone; the rest gather meanwhile
    eventlet.sleep(0)
    pairs = [pool.spawn(run.together, [n, n + 1], slow_double(calls)) for n in (1, 3, 5)]
    assert first.wait() == 0 and [pair.wait() for pair in pairs] == [[2, 4], [6, 8], [10, 12]]
    assert calls == [[0], [1, 2, 3, 4, 5, 6]]


@pytest.mark.parametrize("linger, expected", [(0.0, [[1], [2]]), (0.02, [[1, 2]])])
def test_a_lingering_batch_takes_in_what_arrives_just_after_its_first_item(linger, expected):
    """The events of one change come a moment apart: a batch that lingers applies them at once."""
    calls, coalescer = [], Coalescer(linger=linger)
    pool = eventlet.GreenPool()
    first = pool.spawn(coalescer.run, 1, slow_double(calls, seconds=0.01))
    eventlet.sleep(0.002)
    second = pool.spawn(coalescer.run, 2, slow_double(calls, seconds=0.01))
    assert (first.wait(), second.wait()) == (2, 4)
    assert calls == expected
