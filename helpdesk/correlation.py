"""Correlation ids in nameko services (see helpdesk.logs): every worker learns the id of the
work it continues — from nameko's context data (an RPC call), an event's payload, or else
the first entry of nameko's call id stack — and hands it on."""
from nameko.extensions import DependencyProvider

from helpdesk import logs


class Correlation(DependencyProvider):
    """Every worker of a service knows its correlation id (logs, RPC calls and events carry
    it on); `self.correlation(value)` names a new one, as a parse worker does for its mail."""

    def worker_setup(self, worker_ctx):
        value = worker_ctx.data.get(logs.KEY) or _from_event(worker_ctx.args) \
            or (worker_ctx.call_id_stack or [None])[0]
        self._use(worker_ctx, value)

    def get_dependency(self, worker_ctx):
        return lambda value: self._use(worker_ctx, value)

    @staticmethod
    def _use(worker_ctx, value):
        worker_ctx.data[logs.KEY] = value  # nameko sends context data along with every RPC call
        logs.use(value)


def _from_event(args):
    payload = args[0] if args else None
    return payload.get(logs.KEY) if isinstance(payload, dict) else None
