"""Load benchmark against a real `framing serve` on 127.0.0.1.

Starts the server as a subprocess, then a bounded asyncio httpx client POSTs one
1,000-word article per request at each concurrency level for a fixed time:

    python bench/load.py --model models/default --seconds 60 --levels 1,8,32,64

Reports throughput (requests and estimated tokens, characters / 4, per second), latency
p50/p99 of the accepted requests, errors, requests shed (503 with Retry-After: the client
waits as asked, at most 5 s, then sends again), the load average, and the server's RSS once
it is ready (its warm-up done) and after each level. With 8 and 64 among the levels it checks
that the accepted p99 at 64 is at most twice the one at 8. `--burst 128` then sends 128
requests at once, each once (no retry), and reports how many were served and shed and the
slowest answer: a burst is partly served, partly shed, and never answered after 30 s.
Traffic goes to 127.0.0.1 only; every loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.scoring import load_sentences, machine, make_article  # noqa: E402
from bench.server import served  # noqa: E402

log = logging.getLogger("bench.load")
MAX_REQUESTS_PER_LEVEL = 100_000


async def level(url: str, body: dict, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = shed = 0
    sent = 0
    load_before = os.getloadavg()[0]
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors, sent, shed
            while time.perf_counter() < deadline and sent < MAX_REQUESTS_PER_LEVEL:
                sent += 1
                t = time.perf_counter()
                try:
                    r = await client.post(url, json=body)
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                if status == 200:
                    latencies.append(time.perf_counter() - t)
                elif status == 503 and "retry-after" in r.headers:
                    shed += 1
                    wait = min(float(r.headers["retry-after"]), 5.0)
                    await asyncio.sleep(max(0.0, min(wait, deadline - time.perf_counter())))
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    tokens = (len(body["text"]) // 4 + 1) * len(latencies)  # the service's own estimate
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "errors": errors,
        "shed": shed,
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "tokens_per_s": round(tokens / elapsed),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "latency_ms_p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p99": round(1000 * float(np.percentile(latencies, 99)), 1) if latencies else None,
    }


async def burst(url: str, body: dict, n: int) -> dict:
    """`n` requests at the same moment, each sent once: how many are served, shed, and how late."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one() -> tuple[int, float]:
            t = time.perf_counter()
            try:
                status = (await client.post(url, json=body)).status_code
            except httpx.HTTPError:
                status = 0
            return status, time.perf_counter() - t

        answers = await asyncio.gather(*(one() for _ in range(n)))
    served_s = [s for status, s in answers if status == 200]
    return {
        "requests": n,
        "served": len(served_s),
        "shed": sum(status == 503 for status, _ in answers),
        "other": sum(status not in (200, 503) for status, _ in answers),
        "slowest_served_ms": round(1000 * max(served_s), 1) if served_s else None,
        "slowest_any_ms": round(1000 * max(s for _, s in answers), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models/default")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data/corpus.csv")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--levels", default="1,8,32,64")
    ap.add_argument("--queue-max-tokens", type=int, help="the server's bound (default: its default)")
    ap.add_argument("--burst", type=int, default=0, help="then send this many requests at once (0: none)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/load.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    article = make_article(load_sentences(args.corpus, "dev"))
    body = {"text": article}
    with served(
        args.model,
        {"FRAMING_QUEUE_MAX_TOKENS": str(args.queue_max_tokens)}
        if args.queue_max_tokens is not None
        else None,
        ready_s=120,
    ) as (base, server):
        proc = psutil.Process(server.pid)
        rss_before = proc.memory_info().rss / 2**20
        levels = []
        for c in args.levels.split(","):
            result = asyncio.run(level(f"{base}/v1/classify", body, int(c), args.seconds))
            # RSS after each level shows whether memory settles or keeps growing.
            result["server_rss_mb_after"] = round(proc.memory_info().rss / 2**20, 1)
            levels.append(result)
        burst_result = asyncio.run(burst(f"{base}/v1/classify", body, args.burst)) if args.burst else None
        rss_after = proc.memory_info().rss / 2**20
    by_c = {lv["concurrency"]: lv for lv in levels}
    check = None
    if 8 in by_c and 64 in by_c and by_c[8]["latency_ms_p99"] and by_c[64]["latency_ms_p99"]:
        ratio = by_c[64]["latency_ms_p99"] / by_c[8]["latency_ms_p99"]
        check = {"p99_64_over_p99_8": round(ratio, 2), "at_most_2x": ratio <= 2}
    from framing.service.settings import Settings

    report = {
        "machine": machine(),
        "command": " ".join(["python", "bench/load.py", *sys.argv[1:]]),
        "article_words": len(article.split()),
        "article_tokens_estimate": len(article) // 4 + 1,
        "queue_max_tokens": args.queue_max_tokens
        if args.queue_max_tokens is not None
        else Settings.model_fields["queue_max_tokens"].default,
        "levels": levels,
        "p99_check": check,
        "burst": burst_result,
        "server_rss_mb": {
            "before": round(rss_before, 1),
            "after": round(rss_after, 1),
            "growth_pct": round(100 * (rss_after - rss_before) / rss_before, 1),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for lv in levels:
        log.info(
            "c=%-3d %7.2f req/s %6d tok/s  p50 %7.1f ms  p99 %7.1f ms  errors %d  shed %d  load %s",
            lv["concurrency"],
            lv["requests_per_s"],
            lv["tokens_per_s"],
            lv["latency_ms_p50"] or -1,
            lv["latency_ms_p99"] or -1,
            lv["errors"],
            lv["shed"],
            lv["load_avg_1m"],
        )
    if check:
        log.info("accepted p99 at 64 / at 8: %s", check)
    if burst_result:
        log.info("burst: %s", burst_result)
    log.info("server RSS %s", report["server_rss_mb"])


if __name__ == "__main__":
    main()
