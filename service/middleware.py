"""ASGI middleware: body-size limit (413 before the body is read), request ids, metrics, logs.

A client may send its whole body before it reads anything (Python's urllib does). Were the
server to close the connection with the body unread, the kernel would answer the rest with a
reset, and such a client would see "connection reset" instead of its 413. So after a 413 the
rest of the body is read and thrown away (up to DRAIN_BYTES and DRAIN_SECONDS), then the
connection is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from framing.service.logs import request_id
from framing.service.metrics import Metrics

log = logging.getLogger("framing.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
DRAIN_BYTES = 64 * 2**20  # most of a refused body read and thrown away
DRAIN_SECONDS = 10.0  # and for how long at most


async def _send_json(
    send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]], more: bool = False
) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw, "more_body": more})


async def _drain(receive: Receive, seen: int = 0) -> None:
    """Read and discard the rest of the request body, up to DRAIN_BYTES and DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while seen <= DRAIN_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), left)
        except asyncio.TimeoutError:
            return
        if message["type"] != "http.request":
            return  # the client went away
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class RequestMiddleware:
    """Outermost layer: every request gets an id, a size check, a log line and metrics."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, metrics: Metrics) -> None:
        self.app, self.max_body, self.metrics = app, max_body_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_ID.match(given) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        rid_header = (b"x-request-id", rid.encode())
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                status["code"] = 413
                # The answer goes out first, while the body is still coming (a client that reads
                # as it sends stops sending); it is completed once the rest has been read.
                await _send_json(
                    send,
                    413,
                    {
                        "error": "request body too large",
                        "detail": f"{int(length)} bytes > limit {self.max_body}",
                        "request_id": rid,
                    },
                    [rid_header, (b"connection", b"close")],
                    more=True,
                )
                await _drain(receive)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            seen = 0

            async def receive_limited() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > self.max_body:
                        # No Content-Length (chunked): read the rest now, the 413 follows.
                        if message.get("more_body", False):
                            await _drain(receive, seen)
                        # An HTTPException passes through FastAPI's body parsing untouched.
                        raise HTTPException(
                            413,
                            f"request body too large: more than {self.max_body} bytes",
                            headers={"Connection": "close"},
                        )
                return message

            await self.app(scope, receive_limited, send_wrapped)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(path, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(path).observe(elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status["code"],
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "ms": round(elapsed * 1000, 1),
                },
            )
            request_id.reset(token)
