"""Overload, against a real `framing serve`: a full queue sheds requests at once (503 with
Retry-After, counted in /metrics) while the rest are served; a body over the limit gets its
413 even from a client that sends the whole body before reading (urllib)."""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request

import httpx

from framing.service.batcher import Batcher, Overloaded
from tests.serving import framing_serve

ARTICLE = " ".join(
    f"Russian drones struck the port of Odesa overnight, officials said in statement {i}." for i in range(40)
)


def _shed_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    match = re.search(r"^framing_shed_total (\S+)$", text, re.M)
    assert match, "no framing_shed_total in /metrics"
    return float(match.group(1))


def test_a_burst_past_the_bound_is_shed_at_once(served_model_dir, tmp_path):
    # ~860 tokens a request; the queue takes 2,000: a burst of 24 cannot all be queued.
    body = {"documents": [{"id": str(i), "text": ARTICLE} for i in range(4)]}
    args = ["--model", str(served_model_dir), "--queue-max-tokens", "2000", "--threads", "1"]
    with framing_serve(args, tmp_path / "server.log") as server:
        assert _shed_count(server.base) == 0

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as client:
                url = f"{server.base}/v1/classify"
                return await asyncio.gather(*(client.post(url, json=body) for _ in range(24)))

        responses = asyncio.run(burst())
        statuses = [r.status_code for r in responses]
        assert set(statuses) == {200, 503}, statuses
        for r in responses:
            if r.status_code == 503:
                assert int(r.headers["retry-after"]) >= 1
                assert r.json()["error"].startswith("the service is busy")
            else:
                assert len(r.json()["documents"]) == 4
        assert _shed_count(server.base) == statuses.count(503)
        # Once the queue has drained, requests are taken again.
        ok = httpx.post(f"{server.base}/v1/classify", json=body, timeout=60)
        assert ok.status_code == 200


def test_admission_bound_unit():
    class FakeMetrics:
        class queued_tokens:  # noqa: N801 - stands in for a Gauge
            @staticmethod
            def set(value):
                pass

    b = Batcher.__new__(Batcher)
    b.metrics, b.max_queued, b._queued, b._rate = FakeMetrics, 100, 0, None
    b._lock = __import__("threading").Lock()
    b._admit(500)  # an empty queue takes any request, however large
    try:
        b._admit(1)
    except Overloaded as e:
        assert e.retry_after >= 1 and e.queued_tokens == 500
    else:
        raise AssertionError("a full queue took more")
    b._release(500)
    b._admit(60)
    b._admit(40)  # up to the bound exactly


def test_urllib_gets_its_413(served_model_dir, tmp_path):
    """urllib writes the whole 3 MB body before reading the answer: without the server reading
    the rest of the body, it would see a connection reset (or a broken pipe) instead."""
    body = b'{"text": "' + b"x" * (3 * 2**20) + b'"}'
    with framing_serve(["--model", str(served_model_dir)], tmp_path / "server.log") as server:
        statuses = []
        for _ in range(20):
            req = urllib.request.Request(
                f"{server.base}/v1/classify", data=body, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    statuses.append(r.status)
            except urllib.error.HTTPError as e:
                statuses.append(e.code)
                assert b"request body too large" in e.read()
        assert statuses == [413] * 20
        # and the server is serving as before
        assert httpx.post(f"{server.base}/v1/classify", json={"text": "Kyiv."}, timeout=30).status_code == 200
