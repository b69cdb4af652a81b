"""``projector explore [SCENARIO] [--port N]``: parsing; the page is ``projector.explore``'s.

Bokeh (the ``explore`` extra) is imported only when the command runs, never by
``projector --version`` or any other command.
"""

from __future__ import annotations

import argparse

from projector.cli.args import positive_int

DEFAULT_PORT = 5006


def port(text: str) -> int:
    """A TCP port to listen on: a whole number from 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a port number from 1 to 65535, got {text!r}"
        ) from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {value}")
    return value


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explore",
        help="a local web page with sliders for a scenario's keys (needs projector[explore])",
        description="Serve a page on 127.0.0.1 with inputs for the keys that matter (growth, "
        "the reversion story, the start compute, the ceilings, the anchors): each change "
        "reruns the paths and redraws the fan chart, P(crossed by year) and the headline "
        "table; 'Save scenario' writes a TOML file that projector project runs to the same "
        "figures. Works offline (BokehJS is served by the bokeh package).",
    )
    p.add_argument("scenario", nargs="?", default="default", help="a name in scenarios/ or a path")
    p.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument(
        "--paths", type=positive_int, default=10_000, help="paths per change (default 10,000)"
    )
    p.set_defaults(func=_cmd_explore)


def _cmd_explore(args: argparse.Namespace) -> list[str]:
    from projector.extras import require

    require("bokeh.server.server", "explore", "projector explore and its page")
    from projector.explore.server import serve

    serve(args.scenario, port=args.port, paths=args.paths)
    return []
