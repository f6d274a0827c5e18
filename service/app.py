"""The FastAPI app: model loaded and warmed up in `lifespan`, routes in `service/routes/`."""

from __future__ import annotations

import asyncio
import logging
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from framing.model.model_metrics import ModelMetrics
from framing.model.schema import ModelSchema
from framing.model.scorer import Scorer
from framing.service import logs
from framing.service.batcher import Batcher
from framing.service.logs import request_id
from framing.service.metrics import Metrics
from framing.service.middleware import RequestMiddleware
from framing.service.routes import classify, info, page
from framing.service.settings import Settings

log = logging.getLogger("framing.service")


def _error(status: int, error: str, detail: object = None) -> JSONResponse:
    return JSONResponse(
        {"error": error, "detail": detail, "request_id": request_id.get()}, status_code=status
    )


# `framing serve --workers N` hands uvicorn an import string (a worker process cannot be handed an
# app object), so the settings the command resolved travel to the workers in this one variable.
WORKER_SETTINGS_ENV = "FRAMING_WORKER_SETTINGS"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings`; without them, settings from FRAMING_* variables and defaults."""
    settings = settings or Settings()
    logs.configure(settings.log_level)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.ready = False
        scorer = Scorer(
            settings.model,
            precision=settings.precision,
            threads=settings.threads,
            batch_size=settings.batch_size,
            max_batch_tokens=settings.onnx_call_tokens,
            parallel_calls=settings.parallel_calls,
        )
        app.state.model_metrics = ModelMetrics.load(settings.model)
        app.state.scorer = scorer
        app.state.batcher = Batcher(
            scorer, metrics, settings.batch_wait_ms, settings.queue_batch_tokens, settings.queue_max_tokens
        )
        # Warm-up at every call shape, on the threads that serve requests (Scorer.warm_up), so the
        # first requests do not pay for kernel selection and memory is grown now, not while serving.
        await asyncio.to_thread(app.state.batcher.wait_ready)
        app.state.ready = True
        log.info("model %s (%s, %s) ready", scorer.schema.name, scorer.version, settings.precision)
        yield
        app.state.ready = False
        # In-flight requests have finished (uvicorn drains them before lifespan shutdown).
        await asyncio.to_thread(app.state.batcher.close)

    app = FastAPI(
        title="framing",
        version="1",
        summary="Sentence-level framing and stance labels for news on the Russia-Ukraine war and NATO.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.include_router(classify.router)
    app.include_router(info.router)
    app.include_router(page.router)
    page.mount_static(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics)

    def openapi() -> dict:
        # The configured limits belong in the published schema, so clients can see them.
        if app.openapi_schema is None:
            spec = FastAPI.openapi(app)
            if not settings.api_keys:  # no keys, no auth: the schema should not ask for one
                spec["components"].pop("securitySchemes", None)
                for operations in spec["paths"].values():
                    for operation in operations.values():
                        operation.pop("security", None)
            schemas = spec["components"]["schemas"]
            schemas["ClassifyRequest"]["properties"]["text"]["maxLength"] = settings.max_chars
            schemas["ClassifyRequest"]["properties"]["documents"]["maxItems"] = settings.max_documents
            schemas["Document"]["properties"]["text"]["maxLength"] = settings.max_chars
            # Threshold overrides: exactly the served model's multi-label heads and labels.
            heads = ModelSchema.load(settings.model).heads
            schemas["Options"]["properties"]["thresholds"] = {
                "type": "object",
                "additionalProperties": False,
                "description": schemas["Options"]["properties"]["thresholds"].get("description", ""),
                "properties": {
                    h.name: {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            lab: {"type": "number", "minimum": 0, "maximum": 1} for lab in h.labels
                        },
                    }
                    for h in heads
                    if h.multi
                },
            }
        return app.openapi_schema or spec

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return _error(422, "request body is not valid JSON", errors)
        return _error(422, "invalid request", errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "request body could not be decoded: is it valid UTF-8 JSON?"
        response = _error(exc.status_code, str(detail))
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, "internal error")

    return app


def worker_app() -> FastAPI:
    """Factory run in each `framing serve --workers N` process: the settings serve resolved."""
    return create_app(Settings.model_validate_json(os.environ[WORKER_SETTINGS_ENV]))


def worker_environment(settings: Settings) -> dict[str, str]:
    """What `framing serve` adds to the environment for `worker_app` in its worker processes."""
    return {WORKER_SETTINGS_ENV: settings.model_dump_json()}
