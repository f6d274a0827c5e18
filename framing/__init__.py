"""framing: sentence-level framing and stance labels for news.

One import namespace over the repository's top-level folders: `framing.model` (the torch-free
inference core, `model/`), `framing.training` (`training/`), `framing.service` (`service/`) and
`framing.cli` (`cli/`). pyproject.toml maps each folder into this package.
"""
