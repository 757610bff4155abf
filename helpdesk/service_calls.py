"""RPC from one service to another, with a deadline. nameko's RpcProxy waits for its answer
for ever: a notify worker asking tickets for a mail's context while tickets stops at the same
moment (a deploy, `helpdesk down`) would hold notify's own stop until tickets came back. With a
deadline the call raises nameko's RpcTimeout, an ordinary failure each caller already handles
(the event stays pending, or goes back to the queue), and the worker ends."""
import eventlet
from nameko.exceptions import RpcTimeout
from nameko.rpc import RpcProxy

from helpdesk.config import RPC_TIMEOUT
from helpdesk.rpc import TRANSIENT

# Between services the deadline is a multiple of the gateway's: it bounds a stop, it is not
# a verdict on a service that is merely busy (a batch of a hundred mails takes its time).
DEADLINE_TIMES_RPC_TIMEOUT = 3


class ServiceCalls(RpcProxy):
    """`RpcProxy(target)` whose calls give up after `seconds` (default: 3 × RPC_TIMEOUT), its
    requests transient (helpdesk.rpc)."""

    def __init__(self, target_service, seconds=None, **options):
        super().__init__(target_service, **{**TRANSIENT, **options})
        self.seconds = seconds

    def setup(self):
        super().setup()
        if self.seconds is None:
            self.seconds = DEADLINE_TIMES_RPC_TIMEOUT * float(
                self.container.config.get(RPC_TIMEOUT) or 10)

    def get_dependency(self, worker_ctx):
        return _WithDeadline(super().get_dependency(worker_ctx), self.seconds)


class _WithDeadline:
    def __init__(self, service_proxy, seconds):
        self.service_proxy, self.seconds = service_proxy, seconds

    def __getattr__(self, method_name):
        method = getattr(self.service_proxy, method_name)
        seconds, target = self.seconds, self.service_proxy.service_name

        def call(*args, **kwargs):
            late = RpcTimeout(f"{target}.{method_name} did not answer in {seconds:g} s")
            with eventlet.Timeout(seconds, late):
                return method(*args, **kwargs)
        return call
