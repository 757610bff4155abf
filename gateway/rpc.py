"""A pool of nameko RPC proxies for the gateway's concurrent requests.

A standalone proxy is not safe to share between concurrent requests, so each request borrows
one for the length of its call. Every call has a timeout (a reply queue that never answers
must not hang a request); a proxy whose connection broke is thrown away and replaced.
"""
import queue
import threading

from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout

from helpdesk.config import AMQP_URI
from helpdesk.rpc import ClusterRpcProxy


class ServiceUnavailable(Exception):
    """The broker could not be reached, or a service did not answer in time."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code, self.message = code, message


class RpcPool:
    def __init__(self, config, size=8, timeout=10.0):
        self.config = {"AMQP_URI": config[AMQP_URI]}
        self.timeout = timeout
        self.idle = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(size)

    def call(self, service, method, *args, **kwargs):
        with self.slots:
            proxy, cluster = self._borrow()
            try:
                result = getattr(getattr(cluster, service), method)(*args, **kwargs)
            except RpcTimeout:
                # its reply may still arrive later and confuse the next caller
                self._discard(proxy)
                raise ServiceUnavailable("SERVICE_TIMEOUT",
                                         f"the {service} service did not answer in time") from None
            except (OperationalError, OSError, ConnectionError) as error:
                self._discard(proxy)
                raise ServiceUnavailable("BROKER_UNAVAILABLE",
                                         f"the message broker cannot be reached: {error}") from None
            except BaseException:
                self.idle.put((proxy, cluster))
                raise
            self.idle.put((proxy, cluster))
            return result

    def _borrow(self):
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            try:
                return proxy, proxy.start()
            except (OperationalError, OSError, ConnectionError) as error:
                raise ServiceUnavailable("BROKER_UNAVAILABLE",
                                         f"the message broker cannot be reached: {error}") from None

    def _discard(self, proxy):
        try:
            proxy.stop()
        except Exception:  # the connection is already broken; nothing more to close
            pass

    def close(self):
        while True:
            try:
                proxy, _ = self.idle.get_nowait()
            except queue.Empty:
                return
            self._discard(proxy)
