"""`training.config`: strict loading, dotted overrides, head checks, `model.layers`."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from framing.training.config import ConfigError, TrainConfig, load_config, parse_override_args

ROOT = Path(__file__).parents[1]
DEFAULT = ROOT / "configs" / "default.yaml"

BASE = {
    "name": "cfg-test",
    "heads": [
        {"name": "topics", "type": "multi_label", "labels": ["a", "b"]},
        {"name": "tone", "type": "single_label", "labels": ["x", "y"]},
    ],
    "model": {"base": "some/base"},
    "train": {"epochs": 3, "lr": 1.0e-4},
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def with_changes(**sections) -> dict:
    data = copy.deepcopy(BASE)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def test_base_config_loads(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert [h.name for h in cfg.heads] == ["topics", "tone"]
    assert cfg.heads[0].column == "topics"  # defaults to the head's name
    assert cfg.train.epochs == 3 and cfg.model.layers is None


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"colour": "blue"}, "colour"),
        ({"train": {"learning_rate": 1e-4}}, "train.learning_rate"),
        ({"model": {"layer": 2}}, "model.layer"),
        ({"export": {"min_agreement": 0.9}}, "export.min_agreement"),
    ],
)
def test_unknown_key_is_named_by_its_path(tmp_path, changes, where):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, with_changes(**changes)))
    lines = str(e.value).splitlines()
    assert any(line.strip().startswith(f"{where}:") for line in lines[1:]), str(e.value)


def test_unknown_key_inside_a_head_is_named(tmp_path):
    data = copy.deepcopy(BASE)
    data["heads"][1]["colour"] = "red"
    with pytest.raises(ConfigError, match=r"heads\.1\.colour"):
        load_config(write(tmp_path, data))


def test_dotted_overrides_are_typed(tmp_path):
    cfg = load_config(write(tmp_path, BASE), {"train.lr": "3e-5", "train.epochs": "2"})
    assert isinstance(cfg.train.lr, float) and cfg.train.lr == pytest.approx(3e-5)
    assert isinstance(cfg.train.epochs, int) and cfg.train.epochs == 2
    # Keys the override does not touch keep the file's values.
    assert cfg.model.base == "some/base"


def test_override_into_a_section_the_file_leaves_out(tmp_path):
    data = copy.deepcopy(BASE)
    del data["train"]
    assert "export" not in data
    cfg = load_config(write(tmp_path, data), {"export.min_int8_agreement": "0.9", "train.max_steps": "4"})
    assert cfg.export.min_int8_agreement == pytest.approx(0.9)
    assert cfg.train.max_steps == 4
    assert cfg.train.epochs == TrainConfig().epochs  # the rest of the section keeps its defaults


def test_override_of_an_unknown_key_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.learning_rate"):
        load_config(write(tmp_path, BASE), {"train.learning_rate": "1e-3"})
    with pytest.raises(ConfigError, match=r"nosuch"):
        load_config(write(tmp_path, BASE), {"nosuch.key": "1"})


def test_override_with_a_bad_value_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        load_config(write(tmp_path, BASE), {"train.epochs": "many"})


@pytest.mark.parametrize("dotted", ["train.lr.x", "name.x", "heads.x"])
def test_override_whose_parent_is_not_a_section(tmp_path, dotted):
    with pytest.raises(ConfigError, match="is not a section"):
        load_config(write(tmp_path, BASE), {dotted: "1"})


def test_parse_override_args_both_forms():
    got = parse_override_args(["--train.lr", "3e-5", "--train.epochs=2", "--data.text-column", "body"])
    assert got == {"train.lr": "3e-5", "train.epochs": "2", "data.text_column": "body"}
    assert parse_override_args([]) == {}
    # Only the first "=" separates the key from the value.
    assert parse_override_args(["--data.separator=a=b"]) == {"data.separator": "a=b"}


@pytest.mark.parametrize(
    "args",
    [
        ["--train"],  # no dot
        ["--train", "3"],
        ["--train=1.5"],  # the dot in the value does not make a dotted key
        ["train.lr", "3e-5"],  # no leading --
        ["--train.lr"],  # value missing at the end
        ["--data.text_column", "--train.epochs=2"],  # value missing before the next override
        ["--train.lr", "3e-5", "stray"],
    ],
)
def test_bad_override_args(args):
    with pytest.raises(ConfigError):
        parse_override_args(args)


def test_bad_override_args_are_named():
    with pytest.raises(ConfigError, match=r"--train\.lr has no value"):
        parse_override_args(["--train.lr"])
    with pytest.raises(ConfigError, match=r"'--train'"):
        parse_override_args(["--train", "3"])


def test_heads_with_the_same_name_are_rejected(tmp_path):
    data = copy.deepcopy(BASE)
    data["heads"][1].update(name="topics", column="tone")
    with pytest.raises(ConfigError, match="head names repeat"):
        load_config(write(tmp_path, data))


def test_heads_reading_the_same_column_are_rejected(tmp_path):
    data = copy.deepcopy(BASE)
    data["heads"][1]["column"] = "topics"
    with pytest.raises(ConfigError, match="same column"):
        load_config(write(tmp_path, data))
    # The default column is the head's name, so this clash counts too.
    data = copy.deepcopy(BASE)
    data["heads"][0]["column"] = "tone"
    with pytest.raises(ConfigError, match="same column"):
        load_config(write(tmp_path, data))


def test_default_config_heads_match_the_file():
    raw = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    cfg = load_config(DEFAULT)
    by_name = {h.name: h for h in cfg.heads}
    assert by_name["frames"].type == "multi_label" and by_name["frames"].multi
    assert by_name["stance"].type == "single_label" and not by_name["stance"].multi
    assert [(h.name, h.type, h.column, h.labels) for h in cfg.heads] == [
        (h["name"], h["type"], h.get("column", h["name"]), h["labels"]) for h in raw["heads"]
    ]


@pytest.mark.parametrize("bad", [0, -1])
def test_model_layers_must_be_positive(tmp_path, bad):
    with pytest.raises(ConfigError, match=r"model\.layers"):
        load_config(write(tmp_path, with_changes(model={"layers": bad})))


def test_model_layers_accepted_from_file_and_override(tmp_path):
    assert load_config(write(tmp_path, with_changes(model={"layers": 1}))).model.layers == 1
    assert load_config(write(tmp_path, BASE), {"model.layers": "3"}).model.layers == 3
    with pytest.raises(ConfigError, match=r"model\.layers"):
        load_config(write(tmp_path, BASE), {"model.layers": "0"})


def test_keep_layers_cuts_the_encoder(tiny_base):
    torch = pytest.importorskip("torch")
    from transformers import AutoModel

    from framing.training.modeling import keep_layers

    encoder = AutoModel.from_pretrained(tiny_base)
    assert len(encoder.encoder.layer) == 2
    first = encoder.encoder.layer[0]
    out = keep_layers(encoder, 1)
    assert out is encoder
    assert len(encoder.encoder.layer) == 1
    assert encoder.encoder.layer[0] is first
    assert encoder.config.num_hidden_layers == 1
    # Still runs, and no longer matches the full encoder's output.
    ids = torch.tensor([[2, 10, 11, 3]])
    mask = torch.ones_like(ids)
    full = AutoModel.from_pretrained(tiny_base).eval()
    with torch.inference_mode():
        cut = encoder.eval()(input_ids=ids, attention_mask=mask).last_hidden_state
        ref = full(input_ids=ids, attention_mask=mask).last_hidden_state
    assert cut.shape == ref.shape
    assert not torch.allclose(cut, ref)


def test_keep_layers_all_is_a_no_op(tiny_base):
    pytest.importorskip("torch")
    from transformers import AutoModel

    from framing.training.modeling import keep_layers

    encoder = AutoModel.from_pretrained(tiny_base)
    keep_layers(encoder, 2)
    assert len(encoder.encoder.layer) == 2 and encoder.config.num_hidden_layers == 2


def test_keep_layers_refuses_more_than_the_base_has(tiny_base):
    pytest.importorskip("torch")
    from transformers import AutoModel

    from framing.training.modeling import keep_layers

    encoder = AutoModel.from_pretrained(tiny_base)
    with pytest.raises(ValueError, match="3 asked for, the base has 2"):
        keep_layers(encoder, 3)
    assert len(encoder.encoder.layer) == 2  # left as it was


def test_config_defaults_are_the_default_yaml():
    """Each default lives in configs/default.yaml: a setting the config model defaults must
    default to the same value there, so a config that leaves it out trains the same way."""
    from framing.training.config import Config

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs/default.yaml").read_text())
    # What the default model is called and trains on is its identity, not a default setting.
    identity = {("data", "files"), ("model", "base"), ("model", "base_sha256")}
    checked = 0
    for section, model in Config.model_fields.items():
        sub = getattr(model.annotation, "model_fields", None)
        if not sub or section not in raw:
            continue
        for key, field in sub.items():
            if (section, key) in identity or field.is_required() or key not in raw[section]:
                continue
            default = field.get_default(call_default_factory=True)
            assert raw[section][key] == default, (
                f"{section}.{key}: yaml {raw[section][key]!r}, model {default!r}"
            )
            checked += 1
    assert checked >= 20
