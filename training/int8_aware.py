"""Int8-aware tuning: a short last phase that teaches the weights to survive int8 scoring.

onnxruntime's dynamic quantization gives every activation tensor entering a matrix product one
uint8 scale (from that tensor's min and max over the whole batch) and every weight column one
int8 scale. MiniLM's feed-forward inputs carry a channel or two about ten times larger than the
rest, so a single scale leaves ordinary channels a dozen levels and flips labels whose scores sit
near a threshold. During this phase every `nn.Linear` computes with its input and weight rounded
exactly that way (gradients pass straight through the rounding), and the loss asks the rounded
model both to get the labels right and to give the logits the unrounded model gives. The fp32
weights that come out therefore score nearly the same under int8 as in fp32, which is what lets
the export quantize every product instead of keeping the sensitive ones in fp32.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


def _round_through(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Forward the rounded value, backward as if no rounding happened (straight-through)."""
    return x + (q - x).detach()


def fake_quant_activation(x: torch.Tensor) -> torch.Tensor:
    """onnxruntime's DynamicQuantizeLinear then dequantize: uint8, one scale per tensor,
    the range widened to include zero."""
    with torch.no_grad():
        lo = x.min().clamp(max=0)
        hi = x.max().clamp(min=0)
        scale = ((hi - lo) / 255).clamp(min=1e-12)
        zero = torch.round(-lo / scale).clamp(0, 255)
        q = (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale
    return _round_through(x, q)


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 per output channel, as `quantize_dynamic(per_channel=True)` stores it."""
    with torch.no_grad():
        scale = (w.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12)
        q = torch.clamp(torch.round(w / scale), -127, 127) * scale
    return _round_through(w, q)


def _int8_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(fake_quant_activation(x), fake_quant_weight(self.weight), self.bias)


@contextmanager
def simulated_int8(model: nn.Module) -> Iterator[None]:
    """Within the block every Linear of `model` computes as int8 onnxruntime would."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for m in linears:
        m.forward = types.MethodType(_int8_forward, m)  # instance attribute shadows the class
    try:
        yield
    finally:
        for m in linears:
            del m.forward


def int8_aware_tune(
    model: nn.Module,
    make_batches: Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]]],
    losses: dict[str, nn.Module],
    epochs: int,
    lr: float,
    consistency: float,
    seed: int,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, float]]:
    """Tune `model` in place for `epochs` passes; returns the mean losses of each pass.

    `make_batches(seed)` yields (input_ids, attention_mask, targets) like the main loop.
    Dropout stays off: the rounded and unrounded passes must differ only by the rounding.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    history = []
    for epoch in range(1, epochs + 1):
        model.eval()
        sums = {"task": 0.0, "consistency": 0.0}
        n = 0
        for ids, mask, targets in make_batches(seed + 1000 + epoch):
            plain = model(ids, mask)
            with simulated_int8(model):
                rounded = model(ids, mask)
            task = sum(losses[k](plain[k], targets[k]) + losses[k](rounded[k], targets[k]) for k in losses)
            gap = sum(F.mse_loss(rounded[k], plain[k]) for k in losses)
            loss = task + consistency * gap
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad()
            sums["task"] += float(task)
            sums["consistency"] += float(gap)
            n += 1
            if progress:
                progress({"epoch": epoch, "task": float(task), "gap": float(gap)})
        row = {"epoch": epoch, **{k: round(v / max(n, 1), 5) for k, v in sums.items()}}
        log.info("int8-aware epoch %d: %s", epoch, row)
        history.append(row)
    model.eval()
    return history
