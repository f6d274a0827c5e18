"""The `framing` command line: thin typer commands over plain functions."""
