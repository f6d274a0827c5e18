"""A real `framing serve` for the benchmarks: started on a free loopback port, ready when
/readyz answers 200, stopped on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(
    model: Path, env: dict[str, str] | None = None, ready_s: float = 120
) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, process) of a server for `model`; `env` adds FRAMING_* settings."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "framing", "serve", "--no-build"],
        env={**os.environ, "FRAMING_MODEL": str(model), "FRAMING_PORT": str(port),
             "FRAMING_LOG_LEVEL": "WARNING", **(env or {})},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_s
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit("the server exited before it was ready")
            if time.monotonic() > deadline:
                raise SystemExit("server never became ready")
            time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        server.wait(30)
