"""One shared encoder, one linear head per schema head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from framing.model.schema import HeadSpec

# The torch form of each head's activation (HeadSpec.activation names it).
ACTIVATIONS = {"sigmoid": torch.sigmoid, "softmax": lambda z: torch.softmax(z, dim=-1)}


class SmoothedBCE(nn.BCEWithLogitsLoss):
    """BCE against targets pulled `smoothing / 2` toward 0.5 (0 and 1 become eps/2 and 1 - eps/2)."""

    def __init__(self, smoothing: float, pos_weight: torch.Tensor | None = None) -> None:
        super().__init__(pos_weight=pos_weight)
        self.smoothing = smoothing

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return super().forward(logits, target * (1 - self.smoothing) + self.smoothing / 2)


def head_loss(
    head: HeadSpec, y: np.ndarray, class_weights: bool = True, label_smoothing: float = 0.0
) -> nn.Module:
    """The head's training loss on its targets `y` (HeadSpec.target): BCE for independent
    labels, cross-entropy for one choice; weighted against imbalance, optionally smoothed."""
    if head.activation == "sigmoid":
        pos = y.sum(0)
        # sqrt of neg/pos: lifts rare labels without swamping precision.
        w = np.sqrt((len(y) - pos) / np.maximum(pos, 1)) if class_weights else None
        return SmoothedBCE(label_smoothing, torch.tensor(w, dtype=torch.float32) if w is not None else None)
    counts = np.bincount(y, minlength=len(head.labels))
    w = len(y) / (len(head.labels) * np.maximum(counts, 1)) if class_weights else None
    weight = torch.tensor(w, dtype=torch.float32) if w is not None else None
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)


class DistilledLoss(nn.Module):
    """A head's loss against gold labels and a teacher's probabilities together:
    `(1 - w) x hard + w x soft`, where soft is the cross-entropy between the teacher's
    probabilities and the head's own (BCE per label for independent labels), averaged over
    the rows the teacher scored, and w is `weight` times the share of the batch it scored:
    rows it never saw (a user's own CSV) learn from their gold labels alone. Targets without
    a teacher part (evaluation) get the hard loss alone."""

    def __init__(self, hard: nn.Module, activation: str, weight: float) -> None:
        super().__init__()
        self.hard, self.activation, self.weight = hard, activation, weight

    def soft(self, logits: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.activation == "sigmoid":
            bce = nn.functional.binary_cross_entropy_with_logits
            per_row = bce(logits, teacher, reduction="none").mean(-1)
        else:
            per_row = -(teacher * torch.log_softmax(logits, dim=-1)).sum(-1)
        return (per_row * mask).sum() / mask.sum().clamp(min=1.0)

    def forward(self, logits: torch.Tensor, target: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
        if not isinstance(target, tuple):
            return self.hard(logits, target)
        gold, teacher, mask = target
        w = self.weight * mask.mean()
        return (1 - w) * self.hard(logits, gold) + w * self.soft(logits, teacher, mask)


def target_tensor(head: HeadSpec, y: np.ndarray) -> torch.Tensor:
    """Targets as the head's loss takes them: float multi-hot or long indices."""
    return torch.tensor(y, dtype=torch.float32 if head.activation == "sigmoid" else torch.long)


class MultiHeadClassifier(nn.Module):
    def __init__(
        self,
        encoder: nn.Module,
        heads: list[HeadSpec],
        pooling: str = "mean",
        dropout: float = 0.1,
        context_sep: int | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.specs = list(heads)
        self.pooling = pooling
        # Models that read context: the [SEP] id that ends the sentence and starts its context.
        self.context_sep = context_sep
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({h.name: nn.Linear(hidden, len(h.labels)) for h in heads})
        # Calibration (training/calibration.py): per head, the temperature(s) each logit is
        # divided by before the activation, one per label (multi-label) or one for the head
        # (single-label). Not a parameter: training never moves it, and state_dict stays as
        # it was; save_checkpoint keeps it in heads.json, and the export bakes it into the graph.
        self.temperatures: dict[str, list[float]] | None = None

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]
        # Mean over real tokens: the pooling MiniLM sentence embeddings were trained with.
        if self.context_sep is not None:
            # Pool over "[CLS] sentence" only: every token up to the first [SEP]. The context
            # after it shapes those tokens through attention but is not itself labelled.
            before = torch.cumsum((input_ids == self.context_sep).long(), dim=1) == 0
            attention_mask = attention_mask * before.long()
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1e-6)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.logits_and_embedding(input_ids, attention_mask)[0]

    def logits_and_embedding(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Each head's logits and the pooled sentence vector they are read from."""
        pooled = self.pool(input_ids, attention_mask)
        dropped = self.dropout(pooled)
        return {name: layer(dropped) for name, layer in self.heads.items()}, pooled

    def calibrated(self, logits: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """Each head's probabilities from its logits: divided by the head's temperatures
        (when calibrated), then its own activation; in head order."""
        out = []
        for h in self.specs:
            z = logits[h.name]
            if self.temperatures and h.name in self.temperatures:
                z = z / torch.tensor(self.temperatures[h.name], dtype=z.dtype)
            out.append(ACTIVATIONS[h.activation](z))
        return tuple(out)

    def probabilities(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Each head's probabilities (calibrated, its own activation), in head order."""
        return self.calibrated(self.forward(input_ids, attention_mask))


def _first_layers(encoder: nn.Module, n: int, field: str) -> nn.ModuleList:
    """The first n transformer layers of a BERT-style encoder; `field` names the config key
    that asked, for the error when the encoder has no such layers or too few."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"{field}: cannot take the layers of a {type(encoder).__name__}")
    if n > len(layers):
        raise ValueError(f"{field}: {n} asked for, the base has {len(layers)}")
    return layers[:n]


def keep_layers(encoder: nn.Module, n: int) -> nn.Module:
    """Drop every transformer layer after the first n (BERT-style encoders)."""
    encoder.encoder.layer = _first_layers(encoder, n, "model.layers")
    encoder.config.num_hidden_layers = n  # saved with the checkpoint, so it reloads as cut
    return encoder


def freeze_lower(encoder: nn.Module, n: int) -> None:
    """Keep the embeddings and the first n transformer layers (BERT-style encoders) at the
    weights they have now; the layers above them, and the heads, go on learning."""
    layers = _first_layers(encoder, n, "train.freeze_layers")
    embeddings = getattr(encoder, "embeddings", None)
    if embeddings is None:
        raise ValueError(f"train.freeze_layers: a {type(encoder).__name__} has no embeddings to freeze")
    embeddings.requires_grad_(False)
    layers.requires_grad_(False)


CHECKPOINT = "torch"  # sub-folder of the model directory holding the torch weights


def save_checkpoint(model: MultiHeadClassifier, folder: Path) -> None:
    """Torch weights beside the ONNX graphs: for benchmarks against torch and further tuning."""
    folder.mkdir(parents=True, exist_ok=True)
    model.encoder.config.save_pretrained(folder)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "heads.json").write_text(
        json.dumps(
            {
                "heads": [h.model_dump(include={"name", "type", "labels", "column"}) for h in model.specs],
                "pooling": model.pooling,
                "context_sep": model.context_sep,
                "temperatures": model.temperatures,
            }
        ),
        encoding="utf-8",
    )


def load_checkpoint(folder: Path) -> MultiHeadClassifier:
    from transformers import AutoConfig, AutoModel

    meta = json.loads((folder / "heads.json").read_text(encoding="utf-8"))
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder))
    model = MultiHeadClassifier(
        encoder, [HeadSpec(**h) for h in meta["heads"]], meta["pooling"], context_sep=meta.get("context_sep")
    )
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    model.temperatures = meta.get("temperatures")  # None in checkpoints saved before calibration
    return model.eval()


class ProbabilityModule(nn.Module):
    """What gets exported: input ids and mask in, one probability tensor per head out
    (calibrated: the temperatures are constants of the graph), then, with `embedding`, the
    pooled sentence vector (`framing suggest` spreads its picks over it)."""

    def __init__(self, model: MultiHeadClassifier, embedding: bool = True) -> None:
        super().__init__()
        self.model = model
        self.embedding = embedding

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits, pooled = self.model.logits_and_embedding(input_ids, attention_mask)
        probs = self.model.calibrated(logits)
        return (*probs, pooled) if self.embedding else probs
