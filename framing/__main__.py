"""`python -m framing` runs the `framing` command."""

from framing.cli.main import app

if __name__ == "__main__":
    app()
