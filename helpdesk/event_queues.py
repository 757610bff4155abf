"""Declares every service's event-handler queues ahead of the services (`helpdesk migrate`
and `helpdesk up` do it). nameko publishes events with mandatory=False: an event sent before
its handler's queue exists is dropped without a word — say, a ticket_created while notify is
still starting, and the customer never gets an acknowledgement. Declared here first, the
queue (durable) holds such events until the handler comes."""
import inspect

from kombu import Connection, Queue
from nameko.events import SERVICE_POOL, EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.standalone.events import get_event_exchange


def handler_queues(service_cls, config):
    """The queues nameko declares for the service's (service-pool) event handlers."""
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler) and entrypoint.handler_type == SERVICE_POOL:
                source, event_type = entrypoint.source_service, entrypoint.event_type
                yield Queue(f"evt-{source}-{event_type}--{service_cls.name}.{method_name}",
                            exchange=get_event_exchange(source, config), routing_key=event_type,
                            durable=True, auto_delete=not entrypoint.reliable_delivery)


def declare_all(config, service_classes=None):
    """Declare the handler queues of the given services (default: every service)."""
    if service_classes is None:
        from helpdesk.runner import SERVICES, service_class
        service_classes = [service_class(name) for name in SERVICES]
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.channel()
        declared = []
        for service_cls in service_classes:
            for queue in handler_queues(service_cls, config):
                queue.bind(channel).declare()
                declared.append(queue.name)
        return declared
