"""Help desk processes in end-to-end tests, started as `helpdesk up` starts them."""
import subprocess
import sys
import time

from nameko.standalone.rpc import ClusterRpcProxy


def start(name, env, log=None):
    """`python -m helpdesk.runner NAME` with the test's environment; its output goes to the
    file `log` if given."""
    output = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen([sys.executable, "-m", "helpdesk.runner", name], env=env,
                                stdout=output, stderr=subprocess.STDOUT if log else output)
    finally:
        if log:
            output.close()  # the child has its own copy


def wait_until_serving(config, names, seconds=60):
    """Wait until each named service answers its `health` RPC."""
    deadline = time.monotonic() + seconds
    waiting = list(names)
    while waiting and time.monotonic() < deadline:
        try:
            with ClusterRpcProxy(config, timeout=2) as rpc:
                getattr(rpc, waiting[0]).health()
            waiting.pop(0)
        except Exception:
            time.sleep(0.3)
    assert not waiting, f"{waiting} did not start"


def stop_all(running, seconds=30):
    """Ask every process to stop first, then wait for each: they shut down side by side."""
    for process in running:
        process.terminate()
    for process in running:
        process.wait(timeout=seconds)
