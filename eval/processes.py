"""Processes the benchmarks, the soak and the tests start (``newsrag serve``, ``chroma run``, a
llama.cpp server): a free port on the loopback, waiting until one listens or answers, stopping one.
Every wait is bounded and fails with what went wrong: the process exited, or nothing answered."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(process: subprocess.Popen | None, what: str) -> None:
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"{what} exited with {process.returncode} before it answered")


def wait_for_port(port: int, *, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Until something listens on 127.0.0.1:``port`` (``process``, when given, must stay alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _alive(process, f"the server for port {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def wait_http(url: str, *, timeout: float = 180.0, process: subprocess.Popen | None = None,
              ready: Callable[[int], bool] = lambda status: status < 500) -> None:
    """Until ``url`` answers with a status ``ready`` accepts (below 500 unless told)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _alive(process, f"the server of {url}")
        with contextlib.suppress(httpx.HTTPError):
            if ready(httpx.get(url, timeout=5).status_code):
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def stop(process: subprocess.Popen, *, timeout: float = 20.0) -> float:
    """SIGTERM, then wait (SIGKILL after ``timeout`` seconds); the seconds it took to exit."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return time.monotonic() - started
