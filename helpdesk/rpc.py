"""nameko RPC with transient messages, on both ends: `rpc` for the services' entrypoints and
`ClusterRpcProxy` for callers outside a service (the gateway, the CLI).

nameko publishes every RPC request and reply as a persistent message. A persistent message in
a durable queue is written to disk by RabbitMQ, and that was most of what an RPC cost the
broker (1.5 → 0.55 ms of RabbitMQ's CPU a call, bench/RESULTS.md). It bought nothing: a
caller waits for its reply on a queue that does not outlive a broker restart, so a request
kept across one can only run with nobody to answer — a write the client was already told
failed (504), and may retry. Requests keep their confirms: the caller still learns at once
that a service has never started (UnknownService) rather than waiting for its timeout.
Replies go without: a confirm cannot say the caller got its reply (a reply to a caller gone is
confirmed too), and waiting for it cost 0.4–0.8 ms of CPU a call all told (bench/RESULTS.md);
a reply lost with a broken connection is what a broker restart does to it anyway: the caller
times out.
"""
from nameko.amqp.publish import Publisher
from nameko.constants import (AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER,
                              LOGIN_METHOD_CONFIG_KEY, NON_PERSISTENT, SERIALIZER_CONFIG_KEY)
from nameko.rpc import Responder, Rpc, RpcConsumer, ServiceProxy, get_rpc_exchange
from nameko.standalone import rpc as standalone

TRANSIENT = {"delivery_mode": NON_PERSISTENT}  # RpcProxy options: its requests go transient


class TransientPublisher(Publisher):
    delivery_mode = NON_PERSISTENT


class _ReplyPublisher(TransientPublisher):
    use_confirms = False  # see above


class _Responder(Responder):
    publisher_cls = _ReplyPublisher


class _RpcConsumer(RpcConsumer):
    """nameko's, answering through the transient responder (its own names the class)."""

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _Responder(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                               config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                               ssl=config.get(AMQP_SSL_CONFIG_KEY),
                               login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class _Rpc(Rpc):
    # shared by every entrypoint of a service: all of a service's methods must use this
    # decorator, or two consumers would take turns at its one queue
    rpc_consumer = _RpcConsumer()


rpc = _Rpc.decorator


class _ClusterProxy(standalone.ClusterProxy):
    def __getattr__(self, name):
        if name not in self._proxies:
            self._proxies[name] = ServiceProxy(self._worker_ctx, name, self._reply_listener,
                                               **TRANSIENT)
        return self._proxies[name]


class ClusterRpcProxy(standalone.ClusterRpcProxy):
    """nameko's standalone proxy, its requests transient."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._proxy = _ClusterProxy(self._worker_ctx, self._reply_listener)
