"""Schemathesis against a live `framing serve` (not the in-process app of tests/test_schemathesis.py).

    python bench/schemathesis_live.py --model models/default --max-examples 300

Starts the server on 127.0.0.1, runs `schemathesis run` on its /openapi.json with every phase
(examples, coverage, fuzzing, stateful) and every check, with the repository's
schemathesis.toml (413 is an expected rejection of negative data), and records the number of
test cases and the outcome in bench/results/schemathesis.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.scoring import machine  # noqa: E402
from bench.server import served  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models/default")
    ap.add_argument("--max-examples", type=int, default=300, help="per operation and phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/schemathesis.json")
    args = ap.parse_args()
    with served(args.model) as (base, server):
        cmd = [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
        ]
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        alive = server.poll() is None
    out = proc.stdout
    cases = re.search(r"Test cases:\s*(\d+) generated, (\d+) passed(?:, (\d+) failed)?", out)
    summary_at = out.rfind("SUMMARY")
    report = {
        "machine": machine(),
        "command": " ".join(["python", "bench/schemathesis_live.py", *sys.argv[1:]]),
        "schemathesis_command": " ".join(
            ["schemathesis", *cmd[1:2], "http://127.0.0.1:PORT/openapi.json", *cmd[3:]]
        ),
        "exit_code": proc.returncode,
        "test_cases": int(cases.group(1)) if cases else None,
        "passed": int(cases.group(2)) if cases else None,
        "failed": int(cases.group(3) or 0) if cases else None,
        "seconds": round(seconds, 1),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "server_alive_at_end": alive,
        "summary": out[summary_at:] if summary_at >= 0 else out[-4000:],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(report["summary"])
    print({k: report[k] for k in ("exit_code", "test_cases", "passed", "failed", "seconds", "load_avg_1m")})


if __name__ == "__main__":
    main()
