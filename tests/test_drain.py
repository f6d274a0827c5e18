"""A real `framing serve` process: SIGTERM lets the in-flight request finish."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_drains_in_flight_requests(trained_model_dir):
    port = _free_port()
    env = {
        **os.environ,
        "FRAMING_MODEL": str(trained_model_dir),
        "FRAMING_PORT": str(port),
        "FRAMING_DRAIN_SECONDS": "20",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "framing", "serve", "--no-build"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("server did not become ready")

        result: dict = {}

        def slow_body():
            # The body arrives in two parts 1.5 s apart: the request is in flight at SIGTERM.
            yield b'{"text": "Drones struck Odesa. '
            time.sleep(1.5)
            yield b'Talks resumed in Istanbul."}'

        def call() -> None:
            result["response"] = httpx.post(
                f"{base}/v1/classify",
                timeout=30,
                content=slow_body(),
                headers={"content-type": "application/json"},
            )

        t = threading.Thread(target=call)
        started = time.perf_counter()
        t.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        t.join(30)
        response = result["response"]
        assert response.status_code == 200
        assert len(response.json()["documents"][0]["sentences"]) == 2
        assert time.perf_counter() - started >= 1.4  # it really was in flight during SIGTERM
        # uvicorn re-raises the signal after a clean shutdown, so -SIGTERM is a clean exit.
        assert proc.wait(30) in (0, -signal.SIGTERM)
        assert b"Application shutdown complete" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
