"""Optional API keys: `Authorization: Bearer KEY` or `X-API-Key: KEY`.

Both headers are FastAPI security schemes, so /docs and /openapi.json show them (an
Authorize button); `create_app` drops them from the schema when no keys are configured."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from framing.service.deps import SettingsDep

# auto_error=False: a missing header is not an error by itself (no keys configured, or the
# other header carries the key); require_api_key decides.
bearer = HTTPBearer(scheme_name="bearer", description="Authorization: Bearer KEY", auto_error=False)
api_key_header = APIKeyHeader(
    name="X-API-Key", scheme_name="apiKey", description="X-API-Key: KEY", auto_error=False
)


def require_api_key(
    settings: SettingsDep,
    bearer_key: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_key: Annotated[str | None, Depends(api_key_header)],
) -> None:
    """Dependency: passes when no keys are configured or a configured key is presented."""
    if not settings.api_keys:
        return
    key = bearer_key.credentials if bearer_key else header_key
    # Compare against every key without stopping early: timing reveals nothing.
    ok = False
    if key:
        for expected in settings.api_keys:
            ok |= hmac.compare_digest(key.encode(), expected.encode())
    if not ok:
        raise HTTPException(401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"})
