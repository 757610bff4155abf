"""Waiting for something another thread or process does, without a fixed sleep."""
import time


def wait_until(condition, seconds=10, interval=0.05):
    """Poll `condition` until it holds or `seconds` pass; returns its last value."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(interval)  # eventlet's, under the test suite's monkey patch
    return condition()
