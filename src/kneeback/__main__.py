"""``python -m kneeback``: the same command line as ``kneeback``."""

from kneeback.cli import app

if __name__ == "__main__":
    app(prog_name="kneeback")
