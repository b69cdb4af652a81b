"""``python -m projector``: the command line."""

from projector.cli import run

run()
