"""The command line: parsing and printing only (``projector.cli:run`` is the entry point)."""

from projector.cli.app import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
