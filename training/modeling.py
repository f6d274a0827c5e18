"""One shared encoder, one linear head per schema head."""

from __future__ import annotations

import torch
from torch import nn

from model.schema import HeadSpec


class MultiHeadClassifier(nn.Module):
    def __init__(
        self, encoder: nn.Module, heads: list[HeadSpec], pooling: str = "mean", dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.specs = list(heads)
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({h.name: nn.Linear(hidden, len(h.labels)) for h in heads})

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return states[:, 0]
        # Mean over real tokens: the pooling MiniLM sentence embeddings were trained with.
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1e-6)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.dropout(self.pool(input_ids, attention_mask))
        return {name: layer(pooled) for name, layer in self.heads.items()}

    def probabilities(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Sigmoid for multi-label heads, softmax for single-label; in head order."""
        logits = self.forward(input_ids, attention_mask)
        return tuple(
            torch.sigmoid(logits[h.name]) if h.multi else torch.softmax(logits[h.name], dim=-1)
            for h in self.specs
        )


class ProbabilityModule(nn.Module):
    """What gets exported: input ids and mask in, one probability tensor per head out."""

    def __init__(self, model: MultiHeadClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.model.probabilities(input_ids, attention_mask)
