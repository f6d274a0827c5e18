"""Soak test: a real `framing serve` under mixed traffic for N minutes.

    python bench/soak.py --model models/default --minutes 5 --concurrency 32

Starts the server as a subprocess on 127.0.0.1 and keeps CONCURRENCY clients busy with a mix
of requests, each kind with the statuses it may get:

| kind | share | body | expected |
|---|---|---|---|
| valid | 70% | one ~1,000-word article (three different ones) | 200, or 503 when shed |
| invalid JSON | 10% | a cut-off JSON document | 422 |
| empty | 10% | `{"text": "   "}` | 422 |
| oversize | 10% | 2.5 MB, over the 2 MB body limit | 413 |

A shed client waits as Retry-After asks (at most 5 s). Reports the count per kind and status,
accepted latency (p50, p99) and the server's RSS over time (10-second windows; RSS every 5 s),
the load average, and two verdicts: no unexpected status (any 5xx but 503 is one, and so is a
broken connection), RSS growth at most 10% from ready (warm-up done) to the end. Writes
bench/results/soak.json and a PNG (docs/soak.png) of throughput per status, latency and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.scoring import load_sentences, machine, make_article  # noqa: E402
from bench.server import served  # noqa: E402

WINDOW = 10.0
KINDS = [("valid", 0.7), ("invalid_json", 0.1), ("empty", 0.1), ("oversize", 0.1)]
EXPECTED = {"valid": {200, 503}, "invalid_json": {422}, "empty": {422}, "oversize": {413}}


def bodies(corpus: Path) -> dict[str, list[bytes]]:
    sentences = load_sentences(corpus, "dev")
    articles = [make_article(sentences[k:] + sentences[:k]) for k in (0, 40, 80)]
    return {
        "valid": [json.dumps({"text": a}).encode() for a in articles],
        "invalid_json": [b'{"text": "Russian missiles struck Kharkiv overnight. Kyiv sa'],
        "empty": [b'{"text": "   "}'],
        "oversize": [b'{"text": "' + b"x" * (5 * 2**19) + b'"}'],
    }


async def soak(base: str, payloads: dict, concurrency: int, seconds: float, proc: psutil.Process) -> dict:
    rng = random.Random(20)
    kinds, weights = zip(*KINDS, strict=True)
    counts: Counter = Counter()
    unexpected: list[dict] = []
    events: list[tuple[float, str, int, float]] = []  # (t, kind, status, seconds)
    rss: list[tuple[float, float, float]] = []  # (t, MB, load average)
    started = time.perf_counter()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}

    async def sample_rss() -> None:
        while time.perf_counter() < deadline:
            rss.append((time.perf_counter() - started, proc.memory_info().rss / 2**20, os.getloadavg()[0]))
            await asyncio.sleep(5)
        rss.append((time.perf_counter() - started, proc.memory_info().rss / 2**20, os.getloadavg()[0]))

    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                kind = rng.choices(kinds, weights)[0]
                body = rng.choice(payloads[kind])
                t = time.perf_counter()
                retry = 0.0
                try:
                    r = await client.post(f"{base}/v1/classify", content=body, headers=headers)
                    status = r.status_code
                    if status == 503:
                        retry = float(r.headers.get("retry-after", "nan"))
                        if retry != retry:  # a 503 without Retry-After is not a shed
                            status = -503
                except httpx.HTTPError as e:
                    status = 0
                    unexpected.append({"t": round(t - started, 1), "kind": kind, "error": repr(e)[:200]})
                elapsed = time.perf_counter() - t
                counts[(kind, status)] += 1
                events.append((t - started, kind, status, elapsed))
                if status not in EXPECTED[kind] and status != 0:
                    unexpected.append({"t": round(t - started, 1), "kind": kind, "status": status})
                if retry:
                    await asyncio.sleep(max(0.0, min(retry, 5.0, deadline - time.perf_counter())))

        sampler = asyncio.create_task(sample_rss())
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        await sampler
    return {"counts": counts, "unexpected": unexpected, "events": events, "rss": rss}


def windows(events: list, seconds: float) -> list[dict]:
    out = []
    for w in range(int(np.ceil(seconds / WINDOW))):
        lo, hi = w * WINDOW, min((w + 1) * WINDOW, seconds)
        inside = [e for e in events if lo <= e[0] < hi]  # by the time each request was sent
        ok = [e[3] for e in inside if e[1] == "valid" and e[2] == 200]
        by_status = Counter(str(e[2]) for e in inside)
        out.append(
            {
                "t": round((lo + hi) / 2, 1),
                "per_s": {k: round(v / (hi - lo), 2) for k, v in sorted(by_status.items())},
                "accepted_p50_ms": round(1000 * statistics.median(ok), 1) if ok else None,
                "accepted_p99_ms": round(1000 * float(np.percentile(ok, 99)), 1) if ok else None,
            }
        )
    return out


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ws = report["windows"]
    t = [w["t"] / 60 for w in ws]
    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    statuses = sorted({s for w in ws for s in w["per_s"]})
    for s in statuses:
        axes[0].plot(t, [w["per_s"].get(s, 0) for w in ws], label=s)
    axes[0].set_ylabel("responses/s")
    axes[0].legend(title="status", ncol=len(statuses), fontsize=8)
    axes[1].plot(t, [w["accepted_p50_ms"] for w in ws], label="p50")
    axes[1].plot(t, [w["accepted_p99_ms"] for w in ws], label="p99")
    axes[1].set_ylabel("accepted latency, ms")
    axes[1].legend(fontsize=8)
    rt = [r[0] / 60 for r in report["rss_mb"]]
    axes[2].plot(rt, [r[1] for r in report["rss_mb"]], color="black")
    axes[2].axhline(report["rss"]["ready_mb"] * 1.1, color="red", linestyle=":", label="ready + 10%")
    axes[2].set_ylabel("server RSS, MB")
    axes[2].set_xlabel("minutes")
    axes[2].legend(fontsize=8)
    fig.suptitle(
        f"framing serve soak: {report['minutes']} min, concurrency {report['concurrency']} "
        f"(load avg {report['load_avg_1m']['start']}-{report['load_avg_1m']['end']})",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models/default")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data/corpus.csv")
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/soak.json")
    ap.add_argument("--png", type=Path, default=ROOT / "docs/soak.png")
    args = ap.parse_args()

    payloads = bodies(args.corpus)
    with served(args.model) as (base, server):
        proc = psutil.Process(server.pid)
        ready_mb = proc.memory_info().rss / 2**20
        load_start = os.getloadavg()[0]
        seconds = 60 * args.minutes
        result = asyncio.run(soak(base, payloads, args.concurrency, seconds, proc))
        end_mb = proc.memory_info().rss / 2**20
        shed_metric = [
            line
            for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines()
            if line.startswith("framing_shed_total ")
        ]
        alive = server.poll() is None

    counts = result["counts"]
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for (kind, status), n in sorted(counts.items()):
        by_kind[kind][str(status)] = n
    unexpected_5xx = sum(n for (_, s), n in counts.items() if (s >= 500 and s != 503) or s in (0, -503))
    growth = 100 * (end_mb - ready_mb) / ready_mb
    rss_series = [(round(t, 1), round(mb, 1), round(la, 2)) for t, mb, la in result["rss"]]
    report = {
        "machine": machine(),
        "command": " ".join(["python", "bench/soak.py", *sys.argv[1:]]),
        "minutes": args.minutes,
        "concurrency": args.concurrency,
        "mix": dict(KINDS),
        "requests": sum(counts.values()),
        "by_kind_and_status": by_kind,
        "shed_total_metric": shed_metric[0].split()[1] if shed_metric else None,
        "unexpected": result["unexpected"][:50],
        "unexpected_count": len(result["unexpected"]),
        "unexpected_5xx_or_broken": unexpected_5xx,
        "server_alive_at_end": alive,
        "rss": {
            "ready_mb": round(ready_mb, 1),
            "end_mb": round(end_mb, 1),
            "max_mb": round(max(mb for _, mb, _ in rss_series), 1),
            "growth_pct": round(growth, 1),
        },
        "load_avg_1m": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "verdict": {
            "no_unexpected_status": not result["unexpected"],
            "rss_growth_at_most_10pct": growth <= 10,
        },
        "windows": windows(result["events"], seconds),
        "rss_mb": rss_series,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot(report, args.png)
    print(
        json.dumps(
            {k: report[k] for k in ("requests", "by_kind_and_status", "rss", "verdict", "load_avg_1m")},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
