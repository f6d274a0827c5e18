"""Content hashes of files: model versions, data fingerprints, base-weight checks."""

from __future__ import annotations

import hashlib
from pathlib import Path


def update_digest(digest: hashlib._Hash, path: str | Path) -> None:
    """Feed a file to `digest` in 1 MiB chunks (weights are too big to read at once)."""
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    update_digest(digest, path)
    return digest.hexdigest()
