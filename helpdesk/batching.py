"""Group work that concurrent workers would each do alone into one call, as a database groups
commits: while one batch is applied, the items that arrive wait and go together in the next.
Under load this turns N round trips and N commits into one; alone, a caller goes at once, or
after `linger` seconds if given (for what arrives in twos: the events of one change).

A failed batch fails every caller in it (each caller's message is then retried), so what is
batched must be safe to apply again: the search index's refresh is (a document carries its
version), and so is handing a mail to tickets (idempotent on its Message-ID)."""
import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from prometheus_client import Histogram

BATCH_ITEMS = Histogram("helpdesk_batch_items", "Items applied together in one batch.",
                        ["service", "batch"], buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))


class _Batch:
    def __init__(self):
        self.items, self.results, self.done, self.error = [], None, False, None


class Coalescer:
    def __init__(self, max_size=100, observe=None, linger=0.0):
        self.max_size, self.observe, self.linger = max_size, observe, linger
        self.gathering = _Batch()
        self.turn = Semaphore(1)  # one batch applied at a time; the next gathers meanwhile

    def run(self, item, apply):
        """`apply(items)` gives one result per item, in order; returns this item's result
        once its batch is applied, or raises what applying the batch raised."""
        return self.run_many([item], apply)[0]

    def run_many(self, items, apply):
        """`run` for several items of one caller (at most max_size), kept in one batch."""
        if len(self.gathering.items) + len(items) > self.max_size:
            self.gathering = _Batch()
        batch = self.gathering
        position = len(batch.items)
        batch.items.extend(items)
        if position == 0 and self.linger and not self.turn.locked():
            eventlet.sleep(self.linger)  # nothing to wait for: let its fellows join it
        with self.turn:
            if not batch.done:
                self._apply(batch, apply)
        if batch.error is not None:
            raise batch.error
        return batch.results[position:position + len(items)]

    def _apply(self, batch, apply):
        if self.gathering is batch:
            self.gathering = _Batch()
        if self.observe is not None:
            self.observe(len(batch.items))
        try:
            batch.results = apply(batch.items)
        except (Exception, eventlet.Timeout) as error:
            batch.error = error
        finally:
            if batch.results is None and batch.error is None:  # the applying worker was killed
                batch.error = RuntimeError("the batch was interrupted")
            batch.done = True


class Batches(DependencyProvider):
    """One Coalescer per service container, shared by its workers:
    `self.batches(item, apply)`; the size of each batch observed as helpdesk_batch_items."""

    def __init__(self, name, max_size=100, linger=0.0):
        self.name, self.max_size, self.linger = name, max_size, linger

    def setup(self):
        self.coalescer = Coalescer(self.max_size, BATCH_ITEMS.labels(
            self.container.service_name, self.name).observe, self.linger)

    def get_dependency(self, worker_ctx):
        return _Run(self.coalescer)


class _Run:
    """`self.batches(item, apply)`: the item with those of concurrent workers;
    `self.batches.together(items, apply)`: items that came together already (one message
    carrying several events), kept together in batches of at most max_size, with those of
    concurrent workers."""

    def __init__(self, coalescer):
        self.coalescer = coalescer

    def __call__(self, item, apply):
        return self.coalescer.run(item, apply)

    def together(self, items, apply):
        results, size = [], self.coalescer.max_size
        for start in range(0, len(items), size):
            results.extend(self.coalescer.run_many(items[start:start + size], apply))
        return results
