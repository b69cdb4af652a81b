"""Errors that the command line reports as one line with exit status 2.

Every module raises :class:`InputError` for bad input (a malformed scenario, data
file, argument); the CLI catches it, prints ``projector: <message>`` and exits 2.
The message names the file, the key or row and what was expected.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad user input: a scenario, data file or argument that cannot be used."""
