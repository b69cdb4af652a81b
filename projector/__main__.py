"""``python -m projector``: the command line."""

from projector.cli import main

raise SystemExit(main())
