"""A TCP relay to RabbitMQ, run as its own process: `python -m tests.broker_link PORT`.
Killing the process cuts every connection with a reset (linger 0), as when a broker dies.
Plain OS threads, no eventlet: the relay must not share a hub with the test that cuts it."""
import socket
import sys
import threading
from contextlib import suppress

BROKER = ("127.0.0.1", 5672)
RESET_ON_CLOSE = b"\x01\0\0\0\0\0\0\0"  # struct linger {on, 0 seconds}


def relay(port):
    listener = socket.create_server(("127.0.0.1", port))
    print("listening", flush=True)
    while True:
        client, _ = listener.accept()
        broker = socket.create_connection(BROKER)
        for sock in (client, broker):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        for source, target in ((client, broker), (broker, client)):
            threading.Thread(target=pump, args=(source, target), daemon=True).start()


def pump(source, target):
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


if __name__ == "__main__":
    relay(int(sys.argv[1]))
