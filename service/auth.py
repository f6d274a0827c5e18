"""Optional API keys: `Authorization: Bearer KEY` or `X-API-Key: KEY`."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from framing.service.settings import Settings


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-api-key")


def require_api_key(request: Request) -> None:
    """Dependency: passes when no keys are configured or a configured key is presented."""
    settings: Settings = request.app.state.settings
    if not settings.api_keys:
        return
    key = _presented(request)
    # Compare against every key without stopping early: timing reveals nothing.
    ok = False
    if key:
        for expected in settings.api_keys:
            ok |= hmac.compare_digest(key.encode(), expected.encode())
    if not ok:
        raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})
