"""The least nameko service there is, for bench/floors.py: an RPC that answers with what it
got, and event handlers that do nothing: one for one kind of event, three for another (as
ticket_created goes to notify, escalation and search). What it costs is nameko and RabbitMQ alone.

    python bench/floor_service.py AMQP_URI
"""
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from nameko.events import event_handler  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from helpdesk.rpc import rpc  # noqa: E402

SOURCE = "floor_source"
ONE, THREE = "for_one", "for_three"  # handled by one service method, and by three


class Floor:
    name = "floor"

    @rpc
    def echo(self, value):
        return value

    # requeue_on_error as the help desk's handlers have it; each method has its own queue
    @event_handler(SOURCE, ONE, requeue_on_error=True)
    def on_one(self, payload):
        pass

    @event_handler(SOURCE, THREE, requeue_on_error=True)
    def on_three_first(self, payload):
        pass

    @event_handler(SOURCE, THREE, requeue_on_error=True)
    def on_three_second(self, payload):
        pass

    @event_handler(SOURCE, THREE, requeue_on_error=True)
    def on_three_third(self, payload):
        pass


if __name__ == "__main__":
    runner = ServiceRunner({"AMQP_URI": sys.argv[1], "max_workers": 10})
    runner.add_service(Floor)
    runner.start()
    runner.wait()
