"""Server settings, declared once. Each field is a `framing serve` flag (`--batch-size`) and an
environment variable (`FRAMING_BATCH_SIZE`); a flag beats the variable, the variable beats the
default. `cli/main.py` builds the flags from these fields, and the table in docs/service.md is
`settings_table()` (print it with `python -m framing.service.settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from framing.model.scorer import DEFAULT_BATCH_TOKENS

ENV_PREFIX = "FRAMING_"
# About 0.8 s of queued work for one 2-core server process (its measured throughput is ~20,000
# tokens/s): with the batch in hand, an accepted request's tail stays within twice the one at
# concurrency 8, which this bound never sheds (docs/service.md "Backpressure").
QUEUE_MAX_TOKENS = 16_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    model: Path = Field(Path("models/default"), description="model directory to serve")
    precision: Literal["int8", "fp32"] = Field(
        "int8", description="which ONNX graph to load; fp32 gives the same numbers whatever the batch"
    )
    host: str = Field("127.0.0.1", description="interface to bind")
    port: int = Field(8000, description="TCP port")
    workers: int = Field(1, ge=1, description="server processes, each with its own model")
    threads: int | None = Field(None, ge=1, description="cores onnxruntime may use; unset: all (at most 8)")
    parallel_calls: int | None = Field(
        None, ge=1, description="onnxruntime calls run at once, sharing the threads; unset: one per thread"
    )
    batch_size: int = Field(64, ge=1, description="most sentences per onnxruntime call")
    onnx_call_tokens: int = Field(
        DEFAULT_BATCH_TOKENS,
        ge=1,
        description="most padded tokens (rows x longest row) per onnxruntime call; "
        "small calls keep activations in cache",
    )
    max_documents: int = Field(64, ge=1, description="documents per request")
    max_chars: int = Field(100_000, ge=1, description="characters per document")
    max_body_bytes: int = Field(2_000_000, ge=1, description="bytes per request body")
    batch_wait_ms: float = Field(
        5.0, ge=0, description="when other requests are queued, how long a queued batch waits for more"
    )
    queue_batch_tokens: int = Field(
        16_384,
        ge=1,
        description="approximate tokens (characters / 4) of the requests merged into one queued batch, "
        "which the scorer then splits into onnxruntime calls",
    )
    queue_max_tokens: int = Field(
        QUEUE_MAX_TOKENS,
        ge=0,
        description="approximate tokens (characters / 4) of the requests accepted and not yet answered; "
        "past it a request is refused at once with 503 and Retry-After (a request that finds the "
        "queue empty is always taken); the default is about 0.8 s of queued work on a 2-core host, "
        "1.5 s with the batch in hand (docs/service.md); 0: no bound",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated API keys; when set, routes other than the probes need "
        "Authorization: Bearer KEY or X-API-Key: KEY (compared in constant time, never logged). "
        "Prefer the variable: a flag shows in the process list",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated allowed CORS origins"
    )
    drain_seconds: int = Field(30, ge=0, description="on SIGTERM, how long in-flight requests may finish")
    keep_alive_seconds: int = Field(
        15,
        ge=1,
        description="how long an idle keep-alive connection stays open; longer than clients' own "
        "idle expiry (httpx: 5 s), so a client never sends on a connection the server is closing",
    )
    log_level: str = Field("INFO", description="logging level; logs are JSON lines with the request id")

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def shown_default(info: FieldInfo) -> str:
    """The default as a person reads it: `unset` for None, `empty` for an empty list."""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if value == []:
        return "empty"
    return str(value)


def settings_table() -> str:
    """The Markdown table of every setting in docs/service.md."""
    rows = [
        "| flag | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        default = shown_default(info)
        default = default if default in ("unset", "empty") else f"`{default}`"
        rows.append(f"| `{flag_name(name)}` | `{env_name(name)}` | {default} | {info.description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(settings_table(), end="")
