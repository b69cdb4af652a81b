"""The explorer's Bokeh document: inputs on the left, the fan chart, P(crossed by year)
and the headline tables on the right, redrawn after each rerun.

Dependency direction: ``explore.session`` -> ``page`` -> ``explore.server``. Bokeh is
imported here only (the ``explore`` extra). Every callback goes through
:meth:`Page.guarded`: a bad value is one line in red on the page and the inputs go back
to the run's values; nothing a browser sends can stop the server.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models.annotations import Legend, LegendItem, Span
from bokeh.models.ranges import Range1d
from bokeh.models.sources import ColumnDataSource
from bokeh.models.tools import HoverTool
from bokeh.models.widgets import Button, Div, Select, Slider, TextInput
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from projector.errors import InputError
from projector.explore.session import Control, Session, headline

__all__ = ["Page"]

GROUPS = ("Growth", "Reversion", "Start", "Ceilings", "Anchors", "Run")


def _table(head: list[str], rows: list[list[str]], name: str) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table class='headline' id='{name}'><tr>{th}</tr>{body}</table>"


_STYLE = (
    "<style>table.headline{border-collapse:collapse;font:13px sans-serif;margin:4px 0 10px}"
    "table.headline td,table.headline th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:right}table.headline th{background:#f3f3f3}</style>"
)


class Page:
    """One browser session's document around a :class:`Session`."""

    def __init__(self, session: Session, doc: Document, *, save_dir: Path) -> None:
        self.session, self.doc, self.save_dir = session, doc, save_dir
        self._syncing = False
        self.widgets: dict[str, Any] = {}
        self.status = Div(text="", name="status", width=900)
        self.tables = Div(text="", name="tables", width=900)
        self._build_figures()
        inputs = self._build_inputs()
        doc.title = f"projector explore: {session.scenario.name}"
        right = column(self.status, self.fan, self.cross, self.tables)
        doc.add_root(row(inputs, right, name="layout"))
        self.redraw()

    # --- inputs -----------------------------------------------------------------------

    def _widget(self, c: Control) -> Any:
        w: Any
        if c.kind == "slider":
            w = Slider(title=c.label, start=c.low, end=c.high, step=c.step, value=c.value,
                       width=320, name=c.key)  # fmt: skip
            w.on_change("value_throttled", self._on(c.key))
        elif c.kind == "select":
            w = Select(title=c.label, options=list[Any](c.options), value=c.value, width=320,
                       name=c.key)  # fmt: skip
            w.on_change("value", self._on(c.key))
        else:
            w = TextInput(title=c.label, value=str(c.value), width=320, name=c.key)
            w.on_change("value", self._on(c.key))
        self.widgets[c.key] = w
        return w

    def _build_inputs(self) -> Any:
        parts: list[Any] = [
            Div(text=f"<b>{html.escape(self.session.scenario.name)}</b>: "
                f"{self.session.scenario.paths:,} paths per rerun", width=320),
        ]  # fmt: skip
        for group in GROUPS:
            mine = [c for c in self.session.controls if c.group == group]
            if mine:
                parts.append(Div(text=f"<h3 style='margin:8px 0 0'>{group}</h3>", width=320))
                parts += [self._widget(c) for c in mine]
        self.any_key = TextInput(title="Any key: KEY=VALUE (as --set)", width=320, name="set")
        self.any_key.on_change("value", lambda _a, _o, new: self.guarded(self._set_text, new))
        self.save_name = TextInput(
            title="Save as (a .toml file)", width=320, name="save_path",
            value=str(self.save_dir / f"{self.session.scenario.name}-explored.toml"),
        )  # fmt: skip
        self.save_button = Button(label="Save scenario", width=320, name="save")
        self.save_button.on_click(lambda: self.guarded(self._save))
        # its own line: a rerun still in flight rewrites the status, never this
        self.save_status = Div(text="", name="save_status", width=320)
        parts += [self.any_key, self.save_name, self.save_button, self.save_status]
        return column(*parts, width=340)

    def _on(self, key: str) -> Callable[[str, Any, Any], None]:
        def changed(_attr: str, _old: Any, new: Any) -> None:
            if not self._syncing:
                self.guarded(self.session.change, key, new)

        return changed

    def _set_text(self, text: str) -> None:
        if text.strip():
            self.session.set_text(text)

    def _save(self) -> None:
        path = self.session.save(self.save_name.value.strip() or "explored.toml")
        self.save_status.text = (
            f"<span id='saved' style='color:#060'>Saved {html.escape(str(path))}: "
            f"<code>projector project {html.escape(str(path))}</code> runs it</span>"
        )

    def guarded(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a callback; bad input is a message on the page, and so is any failure."""
        try:
            fn(*args)
        except InputError as exc:
            self._message(str(exc))
            self._sync()
            return
        except Exception as exc:  # the server keeps serving whatever a request does
            traceback.print_exc()
            self._message(f"internal error ({type(exc).__name__}: {exc}); please report")
            self._sync()
            return
        if fn is not self._save:
            self.redraw()

    def _message(self, text: str) -> None:
        self.status.text = f"<span id='error' style='color:#b00'>{html.escape(text)}</span>"

    def _sync(self) -> None:
        """Inputs back to the current run's values (weights shared out, bad values undone)."""
        self._syncing = True
        try:
            for key, value in self.session.values().items():
                w: Any = self.widgets.get(key)
                if w is None:
                    continue
                shown: Any = value if not isinstance(w, TextInput) else str(value)
                if w.value != shown:
                    w.value = shown
                if isinstance(w, Slider) and w.value_throttled != shown:
                    w.value_throttled = shown
        finally:
            self._syncing = False

    # --- outputs ----------------------------------------------------------------------

    def _build_figures(self) -> None:
        scen = self.session.scenario
        self.bands = ColumnDataSource(self.session.fan())
        xs, ys = self.session.samples()
        self.lines = ColumnDataSource({"xs": xs, "ys": ys})
        ds = self.session.dataset
        self.systems = ColumnDataSource(
            {"x": ds["system_year"].values, "y": ds["system_log10_compute"].values}
        )
        years = self.session.fan()["year"]
        span_x = Range1d(start=float(years[0]) - 12, end=float(years[-1]) + 1)
        fan = figure(title="log10 training compute of the largest run (FLOP)", width=900,
                     height=380, x_range=span_x, x_axis_label="year", y_axis_label="log10 FLOP",
                     tools="pan,wheel_zoom,box_zoom,reset,save", name="fan")  # fmt: skip
        fan.multi_line("xs", "ys", source=self.lines, color="#999", alpha=0.35, line_width=0.6)
        fan.varea("year", "lo95", "hi95", source=self.bands, color="#4c72b0", alpha=0.18)
        fan.varea("year", "lo50", "hi50", source=self.bands, color="#4c72b0", alpha=0.35)
        fan.line("year", "mid", source=self.bands, color="#1f3b73", line_width=2)
        fan.scatter("x", "y", source=self.systems, size=3, color="#444", alpha=0.5)
        fan.add_tools(HoverTool(tooltips=[("year", "@year{0}"), ("median", "@mid{0.00}"),
                                          ("95%", "@lo95{0.00} to @hi95{0.00}")]))  # fmt: skip
        self.anchor_lines = []
        for a in scen.anchors:
            span = Span(location=a.log10_flop, dimension="width", line_dash="dashed",
                        line_color="#c44e52", line_alpha=0.6)  # fmt: skip
            fan.add_layout(span)
            self.anchor_lines.append(span)
        self.fan = fan
        year, names, p = self.session.crossing()
        self.curves = ColumnDataSource({"year": year, **{f"a{k}": p[k] for k in range(len(names))}})
        cross = figure(title="P(crossed by year), per anchor", width=900, height=300,
                       x_axis_label="year", y_axis_label="probability",
                       y_range=Range1d(start=0, end=1.02),
                       tools="pan,wheel_zoom,box_zoom,reset,save", name="crossing")  # fmt: skip
        items: list[Any] = []
        for k, name in enumerate(names):
            r = cross.line("year", f"a{k}", source=self.curves, line_width=2,
                           color=Category10_10[k % 10])  # fmt: skip
            items.append(LegendItem(label=name, renderers=[r]))  # type: ignore[list-item]
        cross.add_layout(Legend(items=items, location="top_left"), "right")
        self.cross = cross

    def redraw(self) -> None:
        s = self.session
        self.bands.data = s.fan()
        xs, ys = s.samples()
        self.lines.data = {"xs": xs, "ys": ys}
        year, names, p = s.crossing()
        self.curves.data = {"year": year, **{f"a{k}": p[k] for k in range(len(names))}}
        for span, a in zip(self.anchor_lines, s.scenario.anchors, strict=False):
            span.location = a.log10_flop
        tables = headline(s.summary)
        self.tables.text = _STYLE + _table(
            ["anchor", "log10 FLOP", "median crossing", "95% interval", "P(never)"],
            tables["anchors"], "anchors",
        ) + _table(
            ["year", "median log10 FLOP", "95% interval"], tables["compute"], "compute"
        )  # fmt: skip
        self.status.text = (
            f"<span id='ok' data-run='{s.count}'>run {s.count}: {s.scenario.paths:,} paths "
            f"and the summary in {s.seconds * 1e3:.0f} ms</span>"
        )
        self._sync()
