"""The runtime every step sees: datasets, params, fact(), show(), DATA_DIR, OUT_DIR.

Standalone on purpose: it is executed inside the session (and saved as
code/00-setup.py), so it imports nothing from reportgen. Results leave the session as
display data with reportgen's own MIME types, which notebooks keep as ordinary outputs.
"""

import base64
import datetime as _dt
import gc
import io
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

_FACT = "application/vnd.reportgen.fact+json"
_TABLE = "application/vnd.reportgen.table+json"
_FIGURE = "application/vnd.reportgen.figure+json"
_TABLE_ROWS = 500
_FIGURE_CAP = 32 * 1024**2  # bytes per chart
_STREAM_CAP = 1_001_000  # characters per stream and step; the host keeps 1,000,000 and notes the cut
_STATE = {"chart_format": "png", "dpi": 150}


def _emit(bundle, metadata=None):
    """Send one output: display data in a kernel, plain text elsewhere.

    In a hosted container only text and images come back, so there outputs are printed
    (and images displayed as usual).
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(bundle.get("text/plain", ""))
    elif _STATE.get("hosted"):
        print(bundle.get("text/plain", ""))
        images = {k: v for k, v in bundle.items() if k.startswith("image/")}
        if images:
            display(images, raw=True)
    else:
        display(bundle, raw=True, metadata=metadata or {})


def _plain(value):
    """A JSON-safe copy of a fact value, keeping its kind."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return {"datetime": value.isoformat()}
    if isinstance(value, _dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"fact() takes a number, string, bool or date; got {type(value).__name__}")


def fact(name, value):
    """Record a value that narratives may use as {{ name }}; returns the value."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"fact name must be an identifier, got {name!r}")
    shown = value.item() if isinstance(value, np.generic) else value
    _emit({_FACT: {"name": name, "value": _plain(value)}, "text/plain": f"{name} = {shown!r}"})
    return value


def show(obj, title=None):
    """Add a table (DataFrame/Series), a chart (Figure/Axes) or Markdown text to the section."""
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, pd.DataFrame):
        return _show_table(obj, title)
    if isinstance(obj, matplotlib.axes.Axes):
        obj = obj.figure
    if isinstance(obj, matplotlib.figure.Figure):
        return _show_figure(obj, title)
    if isinstance(obj, str):
        return _emit({"text/markdown": obj, "text/plain": obj})
    raise TypeError(f"show() takes a DataFrame, Series, matplotlib Figure/Axes or Markdown string; got {type(obj).__name__}")


def _cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _show_table(df, title):
    total = len(df)
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    df = df.head(_TABLE_ROWS)
    columns = [str(c) for c in df.columns]
    numeric = [bool(pd.api.types.is_numeric_dtype(t)) and not pd.api.types.is_bool_dtype(t) for t in df.dtypes]
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    payload = {"title": title, "columns": columns, "numeric": numeric, "rows": rows, "total_rows": total}
    _emit({_TABLE: payload, "text/plain": (f"{title}\n" if title else "") + df.to_string(max_rows=20)})


def _figure_title(fig):
    if fig._suptitle is not None and fig._suptitle.get_text():
        return fig._suptitle.get_text()
    for ax in fig.axes:
        if ax.get_title():
            return ax.get_title()
    return None


def _show_figure(fig, title):
    fmt = _STATE["chart_format"]
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=_STATE["dpi"], bbox_inches="tight")
    plt.close(fig)
    data = buffer.getvalue()
    if len(data) > _FIGURE_CAP:
        raise ValueError(f"the chart is {len(data) / 1024**2:.0f} MB, more than a report can carry ({_FIGURE_CAP // 1024**2} MB); lower dpi or figsize")
    title = title or _figure_title(fig)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    encoded = data.decode("utf-8") if fmt == "svg" else base64.b64encode(data).decode("ascii")
    _emit({mime: encoded, _FIGURE: {"title": title}, "text/plain": f"<Figure: {title or 'untitled'}>"})


def _capture_open_figures(*_):
    """Show every figure still open when a step ends, as Jupyter does."""
    for number in plt.get_fignums():
        _show_figure(plt.figure(number), None)


def _apply_style(style):
    from cycler import cycler

    if style.get("theme") == "dark":
        plt.style.use("dark_background")
    else:
        plt.style.use("default")
    plt.rcParams.update(
        {
            "axes.prop_cycle": cycler(color=style["palette"]),
            "font.family": "sans-serif",
            "font.sans-serif": [style["font"], "DejaVu Sans"],
            "figure.dpi": style["dpi"],
            "savefig.dpi": style["dpi"],
            "figure.figsize": style["figsize"],
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.titleweight": "bold",
            "svg.hashsalt": "reportgen",
        }
    )
    colors = style.get("colors") or {}
    if colors:
        plt.rcParams.update(
            {
                "figure.facecolor": colors["background"],
                "axes.facecolor": colors["background"],
                "savefig.facecolor": colors["background"],
                "text.color": colors["text"],
                "axes.labelcolor": colors["text"],
                "axes.titlecolor": colors["text"],
                "axes.edgecolor": colors["muted"],
                "xtick.color": colors["muted"],
                "ytick.color": colors["muted"],
                "grid.color": colors["line"],
                "legend.facecolor": colors["background"],
                "legend.edgecolor": colors["line"],
                "legend.labelcolor": colors["text"],
            }
        )
    _STATE.update(chart_format=style["chart_format"], dpi=style["dpi"])


_READERS = {
    "csv": lambda path, **o: pd.read_csv(path, **o),
    "tsv": lambda path, **o: pd.read_csv(path, **{"sep": "\t", **o}),
    "xlsx": lambda path, **o: pd.read_excel(path, **o),
    "parquet": lambda path, **o: pd.read_parquet(path, **o),
    "json": lambda path, **o: pd.read_json(path, **o),
    "jsonl": lambda path, **o: pd.read_json(path, **{"lines": True, **o}),
}


class _CappedStream:
    """stdout/stderr that stop passing text on after a cap, so a flood never leaves the kernel."""

    def __init__(self, stream):
        self._stream, self._written = stream, 0

    def write(self, text):
        room = _STREAM_CAP - self._written
        if room > 0:
            self._stream.write(text[:room])
        self._written += len(text)
        return len(text)

    def reset(self, *_):
        self._written = 0

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _cap_output(shell):
    import sys

    for name in ("stdout", "stderr"):
        capped = _CappedStream(getattr(sys, name))
        setattr(sys, name, capped)
        shell.events.register("pre_run_cell", capped.reset)
        _STATE.setdefault("callbacks", []).append(("pre_run_cell", capped.reset))


def _setup(config, namespace):
    """Load the datasets, apply the style, define DATA_DIR/OUT_DIR/params in namespace."""
    data_dir, out_dir = Path(config["data_dir"]), Path(config["out_dir"])
    _STATE["hosted"] = config.get("hosted", False)
    out_dir.mkdir(parents=True, exist_ok=True)
    namespace.update(DATA_DIR=data_dir, OUT_DIR=out_dir, params=dict(config["params"]))
    for font in config.get("fonts", []):
        matplotlib.font_manager.fontManager.addfont(font)
    _apply_style(config["style"])
    for name, dataset in config["datasets"].items():
        path = data_dir / dataset["file"]
        try:
            namespace[name] = _READERS[dataset["format"]](path, **dataset.get("options", {}))
        except Exception as exc:
            raise RuntimeError(f"dataset {name!r} ({dataset['file']}) could not be read as {dataset['format']}: {exc}") from exc
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        shell.events.register("post_run_cell", _capture_open_figures)
        _STATE["callbacks"] = [("post_run_cell", _capture_open_figures)]
        _cap_output(shell)
        # A kernel holds ~135k long-lived objects (IPython, ZeroMQ, asyncio, the imports,
        # the datasets) that every full collection would walk again: ~70 ms at a step's first
        # chart. Frozen, the collector looks only at what the steps create.
        gc.freeze()


def _describe(names):
    """Each dataset's columns and dtypes (what the lock's input hash covers) and row count."""
    found = {n: globals()[n] for n in names}
    return json.dumps({n: {"columns": {str(c): str(t) for c, t in df.dtypes.items()}, "rows": len(df)} for n, df in found.items()})



def _schema_text(names, max_columns=40, sample_rows=3):
    """Each dataset's shape for the model: columns, dtypes, nulls, a few values; never the whole data."""
    blocks = []
    for name in names:
        df = globals()[name]
        lines = [f"{name}: {len(df):,} rows x {df.shape[1]} columns"]
        for column in list(df.columns)[:max_columns]:
            series = df[column]
            samples = [v.item() if isinstance(v, np.generic) else v for v in series.dropna().unique()[:sample_rows]]
            values = ", ".join(repr(v)[:40] for v in samples)
            nulls = int(series.isna().sum())
            lines.append(f"  {column} ({series.dtype}{f', {nulls} null' if nulls else ''}): {values}")
        if df.shape[1] > max_columns:
            rest = ", ".join(str(c) for c in list(df.columns)[max_columns:])
            lines.append(f"  … {df.shape[1] - max_columns} more columns: {rest[:1500]}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _variables(limit=40):
    """What earlier steps left in the session: names, types and shapes."""
    import types

    hidden = {"fact", "show", "pd", "np", "plt", "matplotlib", "DATA_DIR", "OUT_DIR", "params", "In", "Out", "exit", "quit", "get_ipython"}
    lines = []
    for name, value in list(globals().items()):
        if name.startswith("_") or name in hidden or isinstance(value, (types.ModuleType, type)) or callable(value):
            continue
        if isinstance(value, pd.DataFrame):
            text = f"DataFrame {value.shape[0]:,}x{value.shape[1]}: {', '.join(map(str, value.columns[:12]))}"
        elif isinstance(value, pd.Series):
            text = f"Series of {len(value):,} ({value.dtype})"
        elif isinstance(value, np.ndarray):
            text = f"ndarray {value.shape} {value.dtype}"
        elif isinstance(value, (list, dict, set, tuple)):
            text = f"{type(value).__name__} of {len(value)}"
        else:
            text = f"{type(value).__name__} = {repr(value)[:60]}"
        lines.append(f"{name}: {text}")
    return "\n".join(lines[:limit])


def _reset():
    """Back to a fresh namespace with the same imports, for the next build in a warm kernel."""
    import gc  # names local to this function outlive the %reset below
    import os
    import shutil
    import sys

    shell = get_ipython()  # noqa: F821 - defined in a kernel
    for event, callback in _STATE.get("callbacks", []):
        shell.events.unregister(event, callback)
    for name in ("stdout", "stderr"):
        while isinstance(getattr(sys, name), _CappedStream):
            setattr(sys, name, getattr(sys, name)._stream)
    plt.close("all")
    for entry in os.scandir("."):
        if entry.name != ".matplotlib":
            shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.remove(entry.path)
    shell.run_line_magic("reset", "-f")
    gc.unfreeze()  # the last build's datasets may sit in reference cycles; let them go
    gc.collect()
