"""A real `framing serve` process: SIGTERM lets the in-flight request finish.

No fixed sleeps: the request sends `Expect: 100-continue`, so the server's `100 Continue` says
the app has started on it (it asked for the body); SIGTERM goes then, and the body only once
the server has logged that it is waiting for that connection to close."""

from __future__ import annotations

import json
import signal
import socket
from urllib.parse import urlsplit

from tests.serving import framing_serve, wait_for

BODY = json.dumps({"text": "Drones struck Odesa. Talks resumed in Istanbul."}).encode()


def _read_until(sock: socket.socket, marker: bytes | None) -> bytes:
    """Read until `marker` arrives, or with None until the server closes the connection."""
    data = b""
    while marker is None or marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_sigterm_drains_in_flight_requests(served_model_dir, tmp_path):
    with framing_serve(
        ["--model", str(served_model_dir), "--drain-seconds", "20"], tmp_path / "server.log"
    ) as server:
        url = urlsplit(server.base)
        with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
            sock.sendall(
                b"POST /v1/classify HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(BODY)
            )
            assert _read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 100 ")  # in flight
            server.proc.send_signal(signal.SIGTERM)
            wait_for(
                lambda: "Waiting for connections to close" in server.output(), 30, "wait for the request"
            )
            assert server.proc.poll() is None
            sock.sendall(BODY)
            response = _read_until(sock, None)  # shutting down, the server closes after responding
        head, _, body = response.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), response
        assert len(json.loads(body)["documents"][0]["sentences"]) == 2
        # uvicorn re-raises the signal after a clean shutdown, so -SIGTERM is a clean exit.
        assert server.proc.wait(30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in server.output()
