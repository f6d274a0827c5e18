"""A real `framing serve` process for tests: on a free port, its log lines in a file, and
waited on by condition (with a timeout), never by sleeping a fixed time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.05)


@dataclass
class Server:
    proc: subprocess.Popen
    base: str
    log: Path

    def output(self) -> str:
        """Everything the server has written to stdout and stderr so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited ({self.proc.returncode}):\n{self.output()}")
        try:
            return httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def framing_serve(args: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`framing serve --no-build --port FREE ARGS`, with no FRAMING_* variable but `env`'s."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FRAMING_")}
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "framing", "serve", "--no-build", "--port", str(port), *args],
            env={**environ, **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_for(server.ready, 120, "ready server")
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
