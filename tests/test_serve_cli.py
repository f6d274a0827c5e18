"""`framing serve`: every Settings field is a flag and a FRAMING_* variable, declared once;
flag > variable > default; the values reach the app (one worker) and the workers (several)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer
import uvicorn
from typer.testing import CliRunner

from framing.cli.main import app
from framing.service.app import WORKER_SETTINGS_ENV, worker_app
from framing.service.settings import Settings, env_name, flag_name, settings_table
from tests.serving import framing_serve

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_model(tmp_path) -> Path:
    (tmp_path / "schema.json").write_text("{}")  # serve only checks that a model directory is there
    return tmp_path


@pytest.fixture
def served(monkeypatch):
    """Run `framing serve` with uvicorn.run recorded instead of serving; no FRAMING_* variable."""
    for key in [k for k in os.environ if k.startswith("FRAMING_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(WORKER_SETTINGS_ENV, "")  # so that monkeypatch removes what serve sets
    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))

    def invoke(*args: str, env: dict[str, str] | None = None):
        result = CliRunner().invoke(app, ["serve", "--no-build", *args], env=env)
        return result, calls

    return invoke


def test_every_setting_is_a_flag_naming_its_variable():
    serve = typer.main.get_command(app).commands["serve"]
    options = {p.name: p for p in serve.params}
    assert set(Settings.model_fields) | {"build"} == set(options)
    for name in Settings.model_fields:
        assert options[name].opts == [flag_name(name)]
        assert env_name(name) in options[name].help
    # What a person reads: `framing serve --help` (wide, so that no name is cut).
    env = {**os.environ, "TERMINAL_WIDTH": "400"}
    cmd = [sys.executable, "-m", "framing", "serve", "--help"]
    text = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    for name in Settings.model_fields:
        assert flag_name(name) in text and env_name(name) in text
    assert "int8|fp32" in text and "--no-build" in text


def test_flag_beats_variable_beats_default(served, fake_model):
    env = {"FRAMING_PORT": "9001", "FRAMING_MAX_CHARS": "77", "FRAMING_API_KEYS": "a, b"}
    result, calls = served(
        "--model",
        str(fake_model),
        "--port",
        "9002",
        "--precision",
        "fp32",
        "--queue-batch-tokens",
        "5",
        env=env,
    )
    assert result.exit_code == 0, result.output
    ((target, options),) = calls
    settings = target.state.settings  # one worker: the app itself, built with the settings
    assert options["port"] == 9002 and settings.port == 9002  # flag over variable
    assert settings.max_chars == 77 and settings.api_keys == ["a", "b"]  # variable over default
    assert settings.batch_size == 64 and options["host"] == "127.0.0.1"  # defaults
    assert (settings.precision, settings.queue_batch_tokens, settings.model) == ("fp32", 5, fake_model)
    assert options["timeout_graceful_shutdown"] == settings.drain_seconds == 30
    # Idle keep-alive outlives httpx's 5-second pool expiry: no request lands on a closing socket.
    assert options["timeout_keep_alive"] == settings.keep_alive_seconds == 15


def test_several_workers_get_the_resolved_settings(served, fake_model):
    result, calls = served("--model", str(fake_model), "--workers", "3", "--max-documents", "2")
    assert result.exit_code == 0, result.output
    ((target, options),) = calls
    assert target == "framing.service.app:worker_app" and options["factory"] and options["workers"] == 3
    worker = worker_app()  # what each worker process runs, from the environment serve set
    assert worker.state.settings == Settings(model=fake_model, workers=3, max_documents=2)
    assert json.loads(os.environ[WORKER_SETTINGS_ENV])["max_documents"] == 2


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--precision", "int9"], None, "int9"),
        ([], {"FRAMING_PRECISION": "int9"}, "FRAMING_PRECISION"),
        (["--workers", "0"], None, "--workers"),
        (["--port", "eighty"], None, "--port"),
    ],
)
def test_bad_values_are_usage_errors(served, fake_model, args, env, needle):
    result, calls = served("--model", str(fake_model), *args, env=env)
    assert result.exit_code == 2 and not calls
    assert needle in result.output


def test_docs_list_every_setting():
    text = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- settings-table:[^>]*-->\n(.*?)<!-- /settings-table -->", text, re.S)
    assert table, "docs/service.md lost its settings-table markers"
    assert table.group(1) == settings_table(), "regenerate it: python -m framing.service.settings"
    for name in Settings.model_fields:
        assert f"`{flag_name(name)}`" in text and f"`{env_name(name)}`" in text


def test_two_worker_processes_serve_the_flags(served_model_dir, tmp_path):
    args = ["--model", str(served_model_dir), "--workers", "2", "--max-documents", "1"]
    with framing_serve(args, tmp_path / "server.log") as server:
        body = {"documents": [{"text": "Kyiv."}, {"text": "Moscow."}]}
        # Requests spread over both workers; each one holds the limit given as a flag.
        statuses = {
            httpx.post(f"{server.base}/v1/classify", json=body, timeout=30).status_code for _ in range(6)
        }
        assert statuses == {413}
        assert httpx.post(f"{server.base}/v1/classify", json={"text": "Kyiv."}, timeout=30).status_code == 200
    assert server.output().count("Application startup complete") == 2
