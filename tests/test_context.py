"""Models that read the sentence before: encoding, training from article-shaped CSVs,
scoring with context, and torch/ONNX parity on context inputs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from framing.model.scorer import Scorer, model_inputs
from framing.model.segment import split_sentences
from framing.model.tokenize import TOKENIZER_FILE, SentenceTokenizer
from framing.training.checks import check_file
from framing.training.config import load_config
from tests.conftest import ROWS, split_of

ARTICLE = (
    "Home | World | Europe\n"
    "Putin said NATO expansion threatens Russia. He said the talks in Geneva could resume.\n"
)


def test_context_follows_the_sentence_as_a_pair(trained_model_dir):
    plain = SentenceTokenizer(trained_model_dir / TOKENIZER_FILE, 32)
    reader = SentenceTokenizer(trained_model_dir / TOKENIZER_FILE, 32, context_tokens=3)
    sentence, context = "the talks ended", "putin said nato expansion threatens russia"
    (alone,) = plain.encode([sentence])
    (paired,) = reader.encode([sentence], [context])
    (tail,) = plain.encode([context])
    # [CLS] sentence [SEP] + the last 3 tokens of the context (its own specials stripped) + [SEP]
    assert paired.ids[0] == alone.ids[0] + tail.ids[0][-4:-1] + [reader.sep_id]
    # No context, or a model that reads none: the sentence alone.
    assert reader.encode([sentence], [""])[0].ids == alone.ids
    assert plain.encode([sentence], [context])[0].ids == alone.ids


def test_context_never_pushes_a_window_past_max_length(trained_model_dir):
    reader = SentenceTokenizer(trained_model_dir / TOKENIZER_FILE, 16, context_tokens=64)
    (w,) = reader.encode(["the talks in geneva ended"], ["putin said " * 20])
    assert len(w.ids[0]) <= 16


def _article_csv(path: Path) -> Path:
    """The fixture rows as articles of three sentences each, with a furniture line."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "doc", "text", "frames", "stance", "split", "content"])
        for i, (text, frames, stance) in enumerate(ROWS):
            doc = f"d{i // 3}"
            w.writerow([f"r{i}", doc, text, frames, stance, split_of(i), 1])
            if i % 3 == 0:
                w.writerow([f"f{i}", doc, "Share | Reply | Back to top", "", "neutral", split_of(i), 0])
    return path


def test_article_rows_carry_their_context_and_skip_furniture(tmp_path, tiny_config_path):
    cfg = load_config(tiny_config_path)
    result = check_file(_article_csv(tmp_path / "articles.csv"), cfg)
    assert result.ok, result.problems
    assert len(result.examples) == len(ROWS)  # furniture rows are not examples
    assert result.examples[0].context == ""
    assert result.examples[1].context == ROWS[0][0]
    assert result.examples[3].context == ""  # a new document starts without context


@pytest.fixture(scope="module")
def context_model(tmp_path_factory, tiny_config_path) -> Path:
    from framing.training.trainer import train

    data = _article_csv(tmp_path_factory.mktemp("articles") / "articles.csv")
    cfg = load_config(tiny_config_path, {"model.context_tokens": "8", "data.files": f"[{data}]"})
    return train(cfg, tmp_path_factory.mktemp("models") / "context")


def test_context_model_reads_the_sentence_before(context_model):
    scorer = Scorer(context_model, precision="fp32")
    assert scorer.schema.context_tokens == 8
    texts, contexts = model_inputs([split_sentences(ARTICLE)])
    assert contexts == ["", texts[0]]  # furniture is neither scored nor context
    with_context, _ = scorer.predict(texts, contexts)
    alone, _ = scorer.predict(texts)
    assert np.allclose(with_context[0]["stance"], alone[0]["stance"])
    assert not np.allclose(with_context[1]["stance"], alone[1]["stance"])
    # Scoring an article gives the second sentence its context.
    doc = scorer.score_text(ARTICLE)
    labels = scorer.schema.head("stance").labels
    expected = {k: round(float(v), 5) for k, v in zip(labels, with_context[1]["stance"], strict=True)}
    assert doc.sentences[2].scores["stance"] == expected


def test_plain_model_ignores_contexts(trained_model_dir):
    scorer = Scorer(trained_model_dir, precision="fp32")
    texts = ["Putin said NATO expansion threatens Russia.", "He said talks could resume."]
    a, _ = scorer.predict(texts, ["", texts[0]])
    b, _ = scorer.predict(texts)
    for x, y in zip(a, b, strict=True):
        assert all(np.array_equal(x[h], y[h]) for h in x)


def test_onnx_matches_torch_on_context_inputs(context_model):
    from framing.training.modeling import CHECKPOINT, load_checkpoint

    scorer = Scorer(context_model, precision="fp32")
    model = load_checkpoint(context_model / CHECKPOINT)
    texts = ["He said the talks in Geneva could resume.", "Officials said the delegation arrived."]
    contexts = ["Putin said NATO expansion threatens Russia.", "Lavrov said Moscow was ready to negotiate."]
    rows = [w.ids[0] for w in scorer.tokenizer.encode(texts, contexts)]
    ids, mask = scorer.tokenizer.pad(rows)
    onnx = scorer.session.run(ids, mask)
    with torch.inference_mode():
        ref = model.probabilities(torch.from_numpy(ids), torch.from_numpy(mask))
    for h, p in zip(scorer.schema.heads, ref, strict=True):
        assert np.abs(onnx[f"probs_{h.name}"] - p.numpy()).max() < 1e-4


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("He added that Moscow would respond to any attack.", True),
        ("'We were deceived, brazenly deceived,' he said.", True),
        ("The minister said the talks would resume on Monday.", True),
        ("Talks must resume, the head of state added.", True),
        ("Putin said NATO expansion threatens Russia.", False),
        ("Russian missiles struck Kharkiv overnight, officials in Kyiv said.", False),
    ],
)
def test_needs_context_when_the_speaker_is_left_to_the_sentence_before(text, needed):
    from framing.model.context import needs_context

    assert needs_context(text) is needed


def test_context_modes(context_model):
    texts = ["Putin said NATO expansion threatens Russia.", "Putin said talks could resume."]
    contexts = ["", "He said it before."]
    always, _ = Scorer(context_model, precision="fp32", context_mode="always").predict(texts, contexts)
    needed, _ = Scorer(context_model, precision="fp32", context_mode="needed").predict(texts, contexts)
    never, _ = Scorer(context_model, precision="fp32", context_mode="never").predict(texts, contexts)
    alone, _ = Scorer(context_model, precision="fp32").predict(texts)
    # The second sentence names its speaker: "needed" scores it alone, as "never" does.
    assert np.array_equal(needed[1]["stance"], never[1]["stance"])
    assert np.array_equal(never[1]["stance"], alone[1]["stance"])
    assert not np.array_equal(always[1]["stance"], never[1]["stance"])
