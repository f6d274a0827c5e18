"""Server settings. Every one is an environment variable (prefix FRAMING_) and most are
also `framing serve` flags; docs/service.md lists them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from framing.model.scorer import DEFAULT_BATCH_TOKENS
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAMING_", extra="ignore")

    model: Path = Field(Path("models/default"), description="model directory to serve")
    precision: Literal["int8", "fp32"] = Field("int8", description="which ONNX graph to load")
    host: str = Field("127.0.0.1", description="interface to bind")
    port: int = Field(8000, description="TCP port")
    workers: int = Field(1, ge=1, description="server processes (each loads the model)")
    threads: int | None = Field(None, ge=1, description="cores onnxruntime may use; default: all (at most 8)")
    parallel_calls: int | None = Field(
        None, ge=1, description="onnxruntime calls run at once, sharing the threads; default: one per thread"
    )
    batch_size: int = Field(64, ge=1, description="most sentences per onnxruntime call")
    call_max_tokens: int = Field(
        DEFAULT_BATCH_TOKENS, ge=1, description="most padded tokens (rows x longest) per onnxruntime call"
    )
    max_documents: int = Field(64, ge=1, description="documents per request")
    max_chars: int = Field(100_000, ge=1, description="characters per document")
    max_body_bytes: int = Field(2_000_000, ge=1, description="bytes per request body")
    batch_wait_ms: float = Field(
        5.0, ge=0, description="when others are queued, how long a batch waits for more requests"
    )
    batch_max_tokens: int = Field(16_384, ge=1, description="approximate token budget of one batch")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated API keys; empty: no auth"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated allowed CORS origins"
    )
    drain_seconds: int = Field(30, ge=0, description="on SIGTERM, how long in-flight requests may finish")
    log_level: str = Field("INFO", description="logging level")

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value
