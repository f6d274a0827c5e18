"""The torch-free scorer on the tiny trained model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from framing.model.scorer import Scorer

ARTICLE = (
    "Russia and Ukraine swap prisoners\n"
    "Kyiv said on Friday it was ready to discuss a ceasefire.\r\n"
    "Russian missiles struck Kharkiv overnight, officials said. The EU called the vote a sham."
)


@pytest.fixture(scope="module")
def scorer(served_model_dir):
    return Scorer(served_model_dir)


def test_scores_article_end_to_end(scorer):
    doc = scorer.score_text(ARTICLE)
    assert len(doc.sentences) == 4
    for s in doc.sentences:
        assert ARTICLE[s.start : s.end] == s.text
        assert set(s.scores) == {"frames", "stance"}
        assert abs(sum(s.scores["stance"].values()) - 1) < 1e-3
        assert s.labels["stance"] in ("pro_russia", "pro_ukraine", "neutral")
        assert set(s.labels["frames"]) <= {"security_threat", "legitimacy_challenge", "diplomatic_opening"}
    summary = doc.summary
    assert summary["sentences"] == 4
    assert sum(summary["stance"]["counts"].values()) == 4
    assert summary["stance"]["dominant"] in summary["stance"]["counts"]
    for label, entry in summary["frames"].items():
        carrying = [s for s in doc.sentences if label in s.labels["frames"]]
        assert entry["count"] == len(carrying)
        assert entry["share"] == pytest.approx(len(carrying) / 4, abs=1e-4)
        assert set(entry["top_sentences"]) <= {s.index for s in carrying}


def test_threshold_overrides_change_labels(scorer):
    none = scorer.score_text(
        ARTICLE,
        {"frames": {lab: 1.0 for lab in ("security_threat", "legitimacy_challenge", "diplomatic_opening")}},
    )
    every = scorer.score_text(
        ARTICLE,
        {"frames": {lab: 0.0 for lab in ("security_threat", "legitimacy_challenge", "diplomatic_opening")}},
    )
    assert all(s.labels["frames"] == [] for s in none.sentences)
    assert all(len(s.labels["frames"]) == 3 for s in every.sentences)
    with pytest.raises(ValueError, match="unknown head"):
        scorer.score_text(ARTICLE, {"nope": {"x": 0.5}})
    with pytest.raises(ValueError, match="no label"):
        scorer.score_text(ARTICLE, {"frames": {"x": 0.5}})


def test_long_sentence_is_windowed_not_dropped(served_model_dir):
    # fp32: the scorer may split the windows over several calls, which moves int8 scores.
    scorer = Scorer(served_model_dir, precision="fp32")
    long = " ".join(["Russian forces shelled the city again"] * 30) + "."
    doc = scorer.score_text(long)
    assert len(doc.sentences) == 1
    s = doc.sentences[0]
    assert s.truncated and s.text == long
    windows = scorer.tokenizer.encode([long])[0].ids
    assert len(windows) > 1 and all(len(w) <= scorer.schema.max_length for w in windows)
    # Windows are combined: max over windows for multi-label, mean for single-label.
    ids, mask = scorer.tokenizer.pad(windows)
    out = scorer.session.run(ids, mask)
    frames = scorer.schema.head("frames").labels
    stance = scorer.schema.head("stance").labels
    assert [s.scores["frames"][k] for k in frames] == pytest.approx(out["probs_frames"].max(0), abs=1e-4)
    assert [s.scores["stance"][k] for k in stance] == pytest.approx(out["probs_stance"].mean(0), abs=1e-4)


def test_batching_does_not_change_results(served_model_dir):
    # fp32: padding and batch composition change nothing. (int8 quantizes activations per
    # batch, so its probabilities move slightly with batch contents; see docs/benchmarks.md.)
    texts = [ARTICLE, "Talks resume.", "A much longer sentence about sanctions and frozen assets in Europe."]
    a = Scorer(served_model_dir, precision="fp32", batch_size=1).score_documents(texts)
    b = Scorer(served_model_dir, precision="fp32", batch_size=64).score_documents(texts)
    for da, db in zip(a, b, strict=True):
        for sa, sb in zip(da.sentences, db.sentences, strict=True):
            for head in sa.scores:
                for lab in sa.scores[head]:
                    assert sa.scores[head][lab] == pytest.approx(sb.scores[head][lab], abs=1e-4)


def test_fp32_and_int8_both_load(served_model_dir):
    a = Scorer(served_model_dir, precision="fp32").score_text(ARTICLE)
    b = Scorer(served_model_dir, precision="int8").score_text(ARTICLE)
    assert [s.text for s in a.sentences] == [s.text for s in b.sentences]


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="schema.json"):
        Scorer(tmp_path)


@pytest.mark.parametrize(
    "module",
    [
        "framing.model",
        "framing.model.scorer",
        "framing.model.batch",
        "framing.service",
        "framing.service.app",
    ],
)
def test_serving_path_imports_no_training_dependency(module):
    code = (
        f"import sys, {module}; bad = [m for m in ('torch', 'transformers', 'datasets') "
        "if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plan_batches_sorts_and_respects_both_limits():
    from framing.model.scorer import plan_batches

    lengths = [30, 5, 12, 12, 40, 7, 100, 3]
    batches = plan_batches(lengths, max_rows=3, max_tokens=60)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))  # every row exactly once
    assert [lengths[i] for i in flat] == sorted(lengths)  # shortest first
    for b in batches:
        assert len(b) <= 3
        # A call is over budget only when it holds a single row longer than the budget.
        assert len(b) * max(lengths[i] for i in b) <= 60 or len(b) == 1
    assert [lengths[i] for i in batches[-1]] == [100]
    assert plan_batches(lengths, max_rows=64, max_tokens=None) == [flat]


def test_parallel_calls_score_exactly_as_one_call_at_a_time(served_model_dir):
    import numpy as np

    texts = [f"Sentence number {i} says Kyiv and Moscow {'talk ' * (i % 7)}today." for i in range(40)]
    # A small token budget makes many calls, so the two workers really overlap.
    serial = Scorer(served_model_dir, threads=2, parallel_calls=1, max_batch_tokens=64)
    parallel = Scorer(served_model_dir, threads=2, parallel_calls=2, max_batch_tokens=64)
    assert serial.parallel_calls == 1 and parallel.parallel_calls == 2
    a, _ = serial.predict(texts)
    b, _ = parallel.predict(texts)
    for pa, pb in zip(a, b, strict=True):
        for head in pa:
            np.testing.assert_allclose(pa[head], pb[head], atol=1e-6)
    # More parallel calls than threads would only oversubscribe the cores.
    assert Scorer(served_model_dir, threads=1, parallel_calls=4).parallel_calls == 1
