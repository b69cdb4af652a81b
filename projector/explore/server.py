"""The explorer's server: a Bokeh server on 127.0.0.1 serving the page and BokehJS.

Dependency direction: ``explore.page`` -> ``server`` -> ``cli.explore``. Bokeh serves
its own JavaScript and styles from the installed package (``/static/``), so the page
works offline: nothing is fetched from a CDN (the browser test checks every request).
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

from projector.errors import InputError
from projector.explore.session import PATHS, Session

__all__ = ["make_server", "serve"]


def make_server(
    scenario: str | Path, *, port: int, paths: int = PATHS, save_dir: Path | None = None
) -> object:
    """A started-but-not-looping Bokeh ``Server`` for ``scenario`` on ``127.0.0.1:port``
    (the first run is computed first, so a bad scenario stops here with its message)."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    from projector.explore.page import Page

    first = Session(scenario, paths=paths)
    where = Path.cwd() if save_dir is None else save_dir

    def make_doc(doc: object) -> None:
        Page(first.fork(), doc, save_dir=where)  # type: ignore[arg-type]

    try:
        server = Server(
            {"/": Application(FunctionHandler(make_doc))},
            port=port,
            address="127.0.0.1",
            allow_websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"],
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"--port {port}: already in use on 127.0.0.1; choose another port"
            ) from None
        if exc.errno == errno.EACCES:
            raise InputError(
                f"--port {port}: not allowed for this user (ports below 1024 need root); "
                "choose a port from 1024 to 65535"
            ) from None
        raise
    server.start()
    return server


def serve(scenario: str | Path, *, port: int, paths: int = PATHS) -> None:
    """Serve the explorer until interrupted (Ctrl-C)."""
    server = make_server(scenario, port=port, paths=paths)
    print(
        f"projector explore: http://127.0.0.1:{port}/ ({scenario}, {paths:,} paths per "
        "change; Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    server.io_loop.start()  # type: ignore[attr-defined]
