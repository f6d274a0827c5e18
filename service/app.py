"""The FastAPI app: model loaded and warmed up in `lifespan`, routes in `service/routes/`."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from framing.model.schema import ModelSchema
from framing.model.scorer import Scorer
from framing.service import logs
from framing.service.batcher import Batcher
from framing.service.logs import request_id
from framing.service.metrics import Metrics
from framing.service.middleware import RequestMiddleware
from framing.service.routes import classify, info, page
from framing.service.settings import Settings
from starlette.exceptions import HTTPException

log = logging.getLogger("framing.service")


def _error(status: int, error: str, detail: object = None) -> JSONResponse:
    return JSONResponse(
        {"error": error, "detail": detail, "request_id": request_id.get()}, status_code=status
    )


def create_app(settings: Settings | None = None) -> FastAPI:
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
            max_batch_tokens=settings.call_max_tokens,
            parallel_calls=settings.parallel_calls,
        )
        metrics_file = settings.model / "metrics.json"
        app.state.model_metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        app.state.scorer = scorer
        app.state.batcher = Batcher(scorer, metrics, settings.batch_wait_ms, settings.batch_max_tokens)
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
