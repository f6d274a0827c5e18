"""Train the tiny model end to end: model directory contents, parity, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the train extra")


def test_model_directory_describes_itself(trained_model_dir):
    names = {p.name for p in trained_model_dir.iterdir()}
    for expected in (
        "model.onnx",
        "model.int8.onnx",
        "tokenizer.json",
        "schema.json",
        "metrics.json",
        "README.md",
        "metrics_dev.png",
        "metrics_test.png",
    ):
        assert expected in names, expected
    schema = json.loads((trained_model_dir / "schema.json").read_text())
    assert [h["name"] for h in schema["heads"]] == ["frames", "stance"]
    assert schema["max_length"] == 32
    frames = schema["heads"][0]
    assert set(frames["thresholds"]) == set(frames["labels"])
    assert all(0 < t < 1 for t in frames["thresholds"].values())


def test_recorded_parity_is_what_the_shipped_graphs_give(trained_model_dir):
    """The gate passes or fails on these figures; here: that metrics.json reports what the two
    shipped graphs really do on the same sentences (the gate cannot check its own input)."""
    from framing.model.scorer import Scorer
    from framing.training.exporters.onnx import label_agreement, onnx_probabilities
    from tests.conftest import ROWS

    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    parity = metrics["parity"]
    assert parity["sentences"] == len(ROWS)
    texts = [text for text, _, _ in ROWS]
    int8, fp32 = Scorer(trained_model_dir, precision="int8"), Scorer(trained_model_dir, precision="fp32")
    agreement = label_agreement(int8, onnx_probabilities(int8, texts), onnx_probabilities(fp32, texts))
    assert agreement == pytest.approx(parity["int8_vs_fp32_label_agreement"], abs=1e-3)
    sizes = {
        p: (trained_model_dir / f).stat().st_size
        for p, f in (("fp32", "model.onnx"), ("int8", "model.int8.onnx"))
    }
    assert (parity["fp32_bytes"], parity["int8_bytes"]) == (sizes["fp32"], sizes["int8"])
    assert set(metrics["eval"]) == {"dev", "test"}
    stance = metrics["eval"]["test"]["heads"]["stance"]
    assert np.array(stance["confusion"]["matrix"]).sum() == 6


def test_onnx_matches_torch_on_new_text(tiny_base, tmp_path):
    """Export a fresh model and compare onnxruntime with torch on text it never saw."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from framing.model.schema import ModelSchema, TrainedHead
    from framing.model.scorer import Scorer
    from framing.model.tokenize import TOKENIZER_FILE
    from framing.training.exporters.onnx import export_fp32, onnx_probabilities, torch_probabilities
    from framing.training.modeling import MultiHeadClassifier

    heads = [
        TrainedHead(name="frames", type="multi_label", labels=["a", "b"]),
        TrainedHead(name="side", type="single_label", labels=["x", "y", "z"]),
    ]
    torch.manual_seed(3)
    model = MultiHeadClassifier(AutoModel.from_pretrained(tiny_base), heads).eval()
    ModelSchema(name="t", schema_version="1", heads=heads, max_length=24).save(tmp_path)
    tok = AutoTokenizer.from_pretrained(tiny_base)
    tok.backend_tokenizer.save(str(tmp_path / TOKENIZER_FILE))
    export_fp32(model, tmp_path / "model.onnx", tok.vocab_size)
    scorer = Scorer(tmp_path, precision="fp32")
    texts = [
        "Talks resumed in Geneva.",
        "Drones hit Odesa port overnight, the governor said.",
        "x",
        "An unseen zzqx word and a long tail " * 3,
    ]
    for ref, got in zip(
        torch_probabilities(model, scorer, texts), onnx_probabilities(scorer, texts), strict=True
    ):
        assert ref.shape == got.shape
        assert np.abs(ref - got).max() <= 1e-4


def test_parity_gate_fails_loudly():
    from framing.training.config import ExportConfig
    from framing.training.exporters.onnx import ExportError, check_parity

    good = {"fp32_vs_torch_max_abs_prob_delta": 5e-5, "int8_vs_fp32_label_agreement": 0.995}
    check_parity(good, ExportConfig())
    with pytest.raises(ExportError, match="differs from torch"):
        check_parity({**good, "fp32_vs_torch_max_abs_prob_delta": 2e-4}, ExportConfig())
    with pytest.raises(ExportError, match="int8 agrees"):
        check_parity({**good, "int8_vs_fp32_label_agreement": 0.98}, ExportConfig())


def test_torch_checkpoint_reloads_to_the_same_probabilities(trained_model_dir):
    import torch

    from framing.model.scorer import Scorer
    from framing.training.exporters.onnx import onnx_probabilities
    from framing.training.modeling import load_checkpoint

    model = load_checkpoint(trained_model_dir / "torch")
    scorer = Scorer(trained_model_dir, precision="fp32")
    texts = ["Talks resumed in Geneva.", "Drones hit Odesa port overnight."]
    ids, mask = scorer.tokenizer.pad([w.ids[0] for w in scorer.tokenizer.encode(texts)])
    with torch.inference_mode():
        ref = model.probabilities(torch.from_numpy(ids), torch.from_numpy(mask))
    for r, o in zip(ref, onnx_probabilities(scorer, texts), strict=True):
        assert np.abs(r.numpy() - o).max() <= 1e-4


def test_card_lists_metrics_and_hashes(trained_model_dir):
    card = (trained_model_dir / "README.md").read_text()
    assert "Export parity" in card and "sha256" in card
    assert "| security_threat |" in card


def test_train_refuses_wrong_base_hash(tiny_config_path, tmp_path):
    from framing.training.base import BaseModelError
    from framing.training.config import load_config
    from framing.training.trainer import train

    cfg = load_config(tiny_config_path, {"model.base_sha256": "0" * 64})
    with pytest.raises(BaseModelError, match="does not match"):
        train(cfg, tmp_path / "out")


def test_train_rejects_bad_data_with_line_numbers(tiny_config_path, tmp_path):
    from framing.training.config import load_config
    from framing.training.data import DataError
    from framing.training.trainer import train

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "text,frames,stance\nA fine sentence about talks.,diplomatic_opening,neutral\n"
        "Another sentence here.,invasion,pro_russia\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"bad.csv:3 \[frames\].*unknown label"):
        train(load_config(tiny_config_path), tmp_path / "out", data=[str(bad)])


def test_batch_order_covers_every_row_once_and_groups_lengths():
    from framing.training.trainer import batch_order

    lengths = [(i * 37) % 101 for i in range(500)]
    batches = batch_order(lengths, 16, shuffle=True, seed=3)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(500))
    # Length-grouped: a batch spans far less than the whole range of lengths.
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 20
    assert batch_order(lengths, 16, shuffle=False, seed=0)[0] == list(range(16))


def test_export_fuses_attention_but_keeps_residual_add_and_layer_norm_apart(trained_model_dir, tmp_path):
    """onnxruntime's fused SkipLayerNormalization is slower on CPU than Add + LayerNormalization
    (docs/benchmarks.md): neither the exported graph nor the graph the session runs has it."""
    import onnx
    import onnxruntime as ort

    from framing.model.session import DISABLED_OPTIMIZERS

    for name in ("model.onnx", "model.int8.onnx"):
        ops = {n.op_type for n in onnx.load(str(trained_model_dir / name)).graph.node}
        assert ops & {"Attention", "QAttention"}, name
        assert "SkipLayerNormalization" not in ops, name
        assert "LayerNormalization" in ops, name
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.optimized_model_filepath = str(tmp_path / f"optimized-{name}")
        ort.InferenceSession(
            str(trained_model_dir / name),
            opts,
            ["CPUExecutionProvider"],
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )
        ran = {n.op_type for n in onnx.load(opts.optimized_model_filepath).graph.node}
        assert "SkipLayerNormalization" not in ran, name


def _tree_digest(folder):
    from framing.model.digest import sha256_file

    return {
        p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("failure", ["export gate", "interrupt"])
def test_failed_retrain_leaves_the_previous_model(model_dir, tiny_config_path, monkeypatch, failure):
    """Training builds beside the model directory and swaps it in only when every stage passed."""
    from framing.training import trainer
    from framing.training.config import load_config
    from framing.training.exporters.onnx import ExportError

    before = _tree_digest(model_dir)
    overrides = {"train.max_steps": "2"}
    if failure == "export gate":
        overrides["export.max_fp32_delta"] = "1e-12"  # no export can meet it
        expected: type[BaseException] = ExportError
    else:

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(trainer, "evaluate_model", interrupted)
        expected = KeyboardInterrupt
    with pytest.raises(expected):
        trainer.train(load_config(tiny_config_path, overrides), model_dir)
    assert _tree_digest(model_dir) == before
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]  # no staging left over


def test_retrain_replaces_the_model_when_it_succeeds(model_dir, tiny_config_path):
    from framing.training.config import load_config
    from framing.training.trainer import train

    old = json.loads((model_dir / "metrics.json").read_text())["model_version"]
    train(
        load_config(tiny_config_path, {"train.max_steps": "2", "export.min_int8_agreement": "0"}), model_dir
    )
    assert json.loads((model_dir / "metrics.json").read_text())["model_version"] != old
    assert [p.name for p in model_dir.parent.iterdir()] == [model_dir.name]


@pytest.mark.parametrize("multi", [True, False])
def test_label_smoothing_keeps_a_loss_on_confident_right_answers(multi):
    import torch

    from framing.model.schema import HeadSpec
    from framing.training.modeling import head_loss, target_tensor

    labels = ["a", "b", "c"]
    head = HeadSpec(name="h", type="multi_label" if multi else "single_label", column="h", labels=labels)
    y = np.array([[1, 0, 0], [0, 1, 0]]) if multi else np.array([0, 1])
    # Confident and right: a huge margin toward the gold labels.
    gold = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    logits = 30 * (2 * gold - 1)
    plain = head_loss(head, y, class_weights=False)(logits, target_tensor(head, y))
    smoothed = head_loss(head, y, class_weights=False, label_smoothing=0.1)(logits, target_tensor(head, y))
    assert float(plain) < 1e-6
    assert float(smoothed) > 0.1  # the smoothed target is not met by ever larger logits


def test_linear_probe_moves_the_heads_and_leaves_the_encoder(tiny_config_path, tiny_base):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from framing.model.tokenize import SentenceTokenizer
    from framing.training.config import load_config
    from framing.training.data import load_splits
    from framing.training.modeling import MultiHeadClassifier
    from framing.training.trainer import linear_probe, loss_functions

    config = load_config(tiny_config_path, {"train.probe_epochs": "1", "train.max_steps": "3"})
    train = load_splits(config)["train"]
    hf = AutoTokenizer.from_pretrained(tiny_base)
    tokenizer = SentenceTokenizer(hf.backend_tokenizer, config.model.max_length)
    torch.manual_seed(0)
    model = MultiHeadClassifier(AutoModel.from_pretrained(tiny_base), config.heads)
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    heads_before = {k: v.clone() for k, v in model.heads.state_dict().items()}
    linear_probe(model, train, tokenizer, config, loss_functions(config, train))
    assert all(torch.equal(v, encoder_before[k]) for k, v in model.encoder.state_dict().items())
    assert any(not torch.equal(v, heads_before[k]) for k, v in model.heads.state_dict().items())
    # The fine-tuning that follows trains the encoder again.
    assert all(p.requires_grad for p in model.encoder.parameters())


def test_freeze_layers_keeps_the_embeddings_and_lower_layers_pretrained(tiny_config_path, tiny_base):
    import torch
    from transformers import AutoModel

    from framing.training.config import load_config
    from framing.training.data import load_splits
    from framing.training.trainer import fit

    overrides = {"train.freeze_layers": "1", "train.max_steps": "4", "train.epochs": "1"}
    config = load_config(tiny_config_path, overrides | {"train.int8_aware_epochs": "1"})
    fitted = fit(config, load_splits(config))
    assert fitted.int8_aware is not None
    base = AutoModel.from_pretrained(tiny_base).state_dict()
    tuned = fitted.model.encoder.state_dict()
    frozen = [k for k in tuned if k.startswith(("embeddings.", "encoder.layer.0."))]
    above = [k for k in tuned if k.startswith("encoder.layer.1.")]
    assert frozen and above
    # Pretrained weights survive both the fine-tuning and the int8-aware passes after it.
    assert all(torch.equal(tuned[k], base[k]) for k in frozen)
    assert any(not torch.equal(tuned[k], base[k]) for k in above)


def test_freeze_layers_refuses_more_layers_than_the_base_has(tiny_base):
    from transformers import AutoModel

    from framing.training.modeling import freeze_lower

    encoder = AutoModel.from_pretrained(tiny_base)
    with pytest.raises(ValueError, match="train.freeze_layers: 99 asked for"):
        freeze_lower(encoder, 99)


def test_average_from_keeps_the_mean_of_the_weights_after_each_step(tiny_config_path, monkeypatch):
    import torch
    from torch.optim.swa_utils import AveragedModel

    from framing.training import trainer
    from framing.training.config import load_config
    from framing.training.data import load_splits

    seen: list[dict[str, torch.Tensor]] = []

    class Recording(AveragedModel):
        def update_parameters(self, model):
            seen.append({k: v.detach().clone() for k, v in model.named_parameters()})
            super().update_parameters(model)

    monkeypatch.setattr(trainer, "AveragedModel", Recording)
    overrides = {"train.average_from": "1", "train.max_steps": "3", "train.epochs": "1"}
    config = load_config(tiny_config_path, overrides | {"train.int8_aware_epochs": "0"})
    fitted = trainer.fit(config, load_splits(config))
    assert len(seen) == 3
    kept = dict(fitted.model.named_parameters())
    for name in (
        f"heads.{config.heads[0].name}.weight",
        "encoder.encoder.layer.0.attention.self.query.weight",
    ):
        mean = torch.stack([s[name] for s in seen]).mean(0)
        assert torch.allclose(kept[name], mean, atol=1e-6)
        assert not torch.allclose(kept[name], seen[-1][name], atol=1e-6)  # not the last step's
