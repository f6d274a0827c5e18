"""Inference core: reads a model directory and scores text with onnxruntime alone.

Nothing in this package imports torch or transformers.
"""

from framing.model.schema import HeadSpec, ModelSchema

__all__ = ["HeadSpec", "ModelSchema"]
