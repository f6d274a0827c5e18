"""Session fixtures: a tiny random BERT and a trained tiny model directory, built once.

No network: the tokenizer is trained here on the fixture sentences, the encoder is
randomly initialised (2 layers, hidden 32).
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

# 30 rows: enough for every label to occur in every split.
ROWS = [
    (
        "Russian missiles struck Kyiv overnight, killing four civilians, officials said.",
        "security_threat",
        "pro_ukraine",
    ),
    (
        "NATO's expansion toward Russia's borders creates new threats, Lavrov said.",
        "security_threat",
        "pro_russia",
    ),
    ("Both sides reported drone attacks along the front line on Tuesday.", "security_threat", "neutral"),
    (
        "The Kremlin said Zelensky's mandate had expired and he had no right to sign.",
        "legitimacy_challenge",
        "pro_russia",
    ),
    (
        "The EU called the referendums in occupied regions a sham with no legal force.",
        "legitimacy_challenge",
        "pro_ukraine",
    ),
    ("Moscow calls the vote legitimate, while Kyiv and the EU reject it.", "legitimacy_challenge", "neutral"),
    (
        "Kyiv said it was ready to discuss a ceasefire if Russian troops withdrew.",
        "diplomatic_opening",
        "pro_ukraine",
    ),
    (
        "Peskov said Moscow remained open to talks but the West was blocking peace.",
        "diplomatic_opening",
        "pro_russia",
    ),
    (
        "Russia and Ukraine swapped 150 prisoners each on Friday, with the UAE mediating.",
        "diplomatic_opening",
        "neutral",
    ),
    ("The summit will take place on October 17-18 in Beijing.", "", "neutral"),
    ("The EU adopted its nineteenth sanctions package on Thursday.", "", "neutral"),
    ("Gazprom reported lower quarterly revenue as exports to Europe fell.", "", "neutral"),
    ("Ukraine's parliament passed the budget for next year in a second reading.", "", "neutral"),
    (
        "He said he was open to meeting Zelensky but questioned whether he could legally sign anything.",
        "diplomatic_opening;legitimacy_challenge",
        "pro_russia",
    ),
    (
        "Shelling near the Zaporizhzhia plant risks a nuclear accident, the IAEA warned.",
        "security_threat",
        "neutral",
    ),
    ("The Kyiv regime keeps shelling Belgorod, the defence ministry said.", "security_threat", "pro_russia"),
    (
        "The ICC issued an arrest warrant for Putin over the deportation of children.",
        "legitimacy_challenge",
        "pro_ukraine",
    ),
    ("Turkey offered to host a new round of talks in Istanbul next month.", "diplomatic_opening", "neutral"),
    (
        "Zelensky urged allies to send more air defence to protect cities from Russian strikes.",
        "security_threat",
        "pro_ukraine",
    ),
    (
        "Medvedev said elections in Ukraine under martial law would be a farce.",
        "legitimacy_challenge",
        "pro_russia",
    ),
    ("The foreign ministers met in Brussels to discuss the agenda.", "", "neutral"),
    (
        "Kyiv welcomed the proposal for a ceasefire on energy infrastructure.",
        "diplomatic_opening",
        "pro_ukraine",
    ),
    (
        "Russian forces liberated the settlement of Novoselivka, the ministry said.",
        "security_threat",
        "pro_russia",
    ),
    (
        "The annexation of Crimea violated international law, the UN assembly declared.",
        "legitimacy_challenge",
        "pro_ukraine",
    ),
    ("Lavrov said Moscow was ready to negotiate on security guarantees.", "diplomatic_opening", "pro_russia"),
    ("Officials said the delegation arrived in Geneva on Monday afternoon.", "", "neutral"),
    (
        "Drone debris fell on a residential block in Kharkiv, injuring seven people.",
        "security_threat",
        "pro_ukraine",
    ),
    ("The Washington talks on a reassurance force ended without agreement.", "diplomatic_opening", "neutral"),
    (
        "The ministry said Ukraine's claims about the strike were fabricated.",
        "legitimacy_challenge;security_threat",
        "pro_russia",
    ),
    ("Polish farmers blocked border crossings over grain imports.", "", "neutral"),
]
# Fixed splits in which every label occurs in dev and test too.
DEV, TEST = {0, 1, 3, 6, 9, 13}, {2, 4, 7, 8, 10, 28}


def split_of(i: int) -> str:
    return "dev" if i in DEV else "test" if i in TEST else "train"


def write_csv(path: Path, rows=ROWS, with_split: bool = True) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "frames", "stance"] + (["split"] if with_split else []))
        for i, (text, frames, stance) in enumerate(rows):
            w.writerow([f"r{i}", text, frames, stance] + ([split_of(i)] if with_split else []))
    return path


TINY_CONFIG = """
name: tiny
schema_version: "test"
heads:
  - {{name: frames, type: multi_label, column: frames,
      labels: [security_threat, legitimacy_challenge, diplomatic_opening]}}
  - {{name: stance, type: single_label, column: stance, labels: [pro_russia, pro_ukraine, neutral]}}
data: {{files: ["{data}"]}}
model: {{base: "{base}", max_length: 32, context_tokens: 0}}
train: {{epochs: 10, batch_size: 4, lr: 5.0e-3, head_lr: 5.0e-2, patience: 10, seed: 1, threads: 1,
        int8_aware_epochs: 0}}
# A random 32-wide encoder trained on 30 rows sits near its thresholds, where int8's
# small errors flip labels; the real model is held to the default 99%.
export: {{min_int8_agreement: 0.9}}
"""


def build_tiny_base(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a WordPiece tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    # A fixed vocabulary (not a trained one: WordPiece training breaks ties differently
    # from run to run): special tokens, every character, every word of the fixture rows.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted({w for r in ROWS for w in re.findall(r"\w+|[^\w\s]", r[0].lower())})
    chars = sorted({ch for w in words for ch in w})
    vocab = specials + chars + [f"##{ch}" for ch in chars] + [w for w in words if len(w) > 1]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.save(str(folder / "raw.json"))
    fast = BertTokenizerFast(tokenizer_file=str(folder / "raw.json"), model_max_length=512)
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="needs the train extra")
    return build_tiny_base(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "tiny.csv")


@pytest.fixture(scope="session")
def tiny_config_path(tmp_path_factory, tiny_base, tiny_data) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(TINY_CONFIG.format(data=tiny_data, base=tiny_base), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, tiny_config_path) -> Path:
    """Train the tiny model once per session (a few steps) and export it."""
    from framing.training.config import load_config
    from framing.training.trainer import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    return train(load_config(tiny_config_path), out)


@pytest.fixture(scope="session")
def served_model_dir(tmp_path_factory, tiny_config_path) -> Path:
    """The tiny model exported straight from its random initialisation, with no training loop:
    what serving, scoring and CLI tests need is a real model directory, not a good model."""
    from transformers import AutoModel, AutoTokenizer

    from framing.model.tokenize import SentenceTokenizer
    from framing.training.base import resolve_base
    from framing.training.config import load_config
    from framing.training.data import load_splits
    from framing.training.modeling import MultiHeadClassifier
    from framing.training.trainer import Fitted, export_model, write_model_directory

    # Random weights sit near every threshold, where int8 flips labels: no parity gate here.
    config = load_config(tiny_config_path, {"export.min_int8_agreement": "0"})
    base = resolve_base(config.model.base)
    hf_tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer = SentenceTokenizer(hf_tokenizer.backend_tokenizer, config.model.max_length)
    model = MultiHeadClassifier(AutoModel.from_pretrained(base), config.heads).eval()
    fitted = Fitted(model, tokenizer, hf_tokenizer, None, [], 0, 0.0, None, 0.0)
    out = tmp_path_factory.mktemp("models") / "untrained"
    out.mkdir()
    write_model_directory(out, config, fitted, thresholds={})
    export_model(out, config, fitted, load_splits(config))
    return out


@pytest.fixture
def model_dir(trained_model_dir, tmp_path) -> Path:
    """A private copy of the trained tiny model for tests that might modify it."""
    dst = tmp_path / "model"
    shutil.copytree(trained_model_dir, dst)
    return dst
