"""GET /v1/model, /healthz, /readyz, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from framing.service.auth import require_api_key
from framing.service.schemas import HeadInfo, ModelInfo
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter()


@router.get(
    "/v1/model",
    response_model=ModelInfo,
    dependencies=[Depends(require_api_key)],
    summary="Heads, labels, thresholds and evaluation summary of the served model",
)
def model_info(request: Request) -> ModelInfo:
    scorer = request.app.state.scorer
    schema = scorer.schema
    evals = request.app.state.model_metrics.get("eval", {})
    summary = {
        split: {
            head: {"macro_f1": hm["macro_f1"], "micro_f1": hm["micro_f1"]}
            for head, hm in m.get("heads", {}).items()
        }
        for split, m in evals.items()
    }
    return ModelInfo(
        name=schema.name,
        version=scorer.version,
        schema_version=schema.schema_version,
        precision=scorer.session.precision,
        base_model=schema.base_model,
        max_length=schema.max_length,
        heads=[
            HeadInfo(name=h.name, type=h.type, labels=h.labels, thresholds=h.thresholds) for h in schema.heads
        ],
        metrics=summary,
    )


@router.get("/healthz", summary="Process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Model loaded and warmed up", responses={503: {"description": "not ready"}})
def readyz(request: Request) -> Response:
    if getattr(request.app.state, "ready", False):
        return JSONResponse({"status": "ready", "model_version": request.app.state.scorer.version})
    return JSONResponse({"status": "loading"}, status_code=503)


@router.get(
    "/metrics", dependencies=[Depends(require_api_key)], summary="Prometheus metrics", response_class=Response
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
