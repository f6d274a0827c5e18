"""Training side: data loading, fine-tuning, evaluation, ONNX export.

Importing this package (or `training.config`, `training.checks`) pulls in no torch;
only `training.trainer`, `training.modeling`, `training.exporters` do.
"""
