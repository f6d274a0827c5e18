"""The wheel installs one import package, `framing`, with the repository's folders inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("framing-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"framing"}
    for module in ("model/scorer.py", "training/trainer.py", "service/app.py", "cli/main.py", "__main__.py"):
        assert f"framing/{module}" in names
    assert "framing/service/static/index.html" in names


def test_python_dash_m_framing_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "framing", "--help"], check=True, capture_output=True, text=True
    ).stdout
    assert "score" in out and "serve" in out
