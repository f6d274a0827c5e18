"""What the app holds, as typed dependencies: routes declare `settings: SettingsDep` and so on,
and never read `request.app.state` themselves. `create_app` sets settings and metrics; the
lifespan sets the rest once the model is loaded and warmed up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from framing.model.model_metrics import ModelMetrics
from framing.model.scorer import Scorer
from framing.service.batcher import Batcher
from framing.service.metrics import Metrics
from framing.service.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def _loaded(request: Request, name: str) -> Any:
    value = getattr(request.app.state, name, None)
    if value is None:
        raise HTTPException(503, "the model is still loading")
    return value


def get_scorer(request: Request) -> Scorer:
    return _loaded(request, "scorer")


def get_batcher(request: Request) -> Batcher:
    return _loaded(request, "batcher")


def get_model_metrics(request: Request) -> ModelMetrics | None:
    """The served model directory's metrics.json (None when it has none)."""
    _loaded(request, "scorer")  # loaded together with the scorer
    return request.app.state.model_metrics


def get_ready_scorer(request: Request) -> Scorer | None:
    """The scorer once it is loaded and warmed up; None before (and while shutting down)."""
    state = request.app.state
    return state.scorer if getattr(state, "ready", False) else None


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
BatcherDep = Annotated[Batcher, Depends(get_batcher)]
ModelMetricsDep = Annotated[ModelMetrics | None, Depends(get_model_metrics)]
ReadyScorerDep = Annotated[Scorer | None, Depends(get_ready_scorer)]
