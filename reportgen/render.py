"""Rendering: the theme's Jinja templates turn a finished report into HTML and PDF.

The theme is a search path: the project's own `templates/` folders first, then the
built-in theme, so a project overrides the built-in files one by one.
"""

from __future__ import annotations

import functools
import math
import traceback
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, TemplateError, TemplateNotFound, TemplateSyntaxError, select_autoescape
from markupsafe import Markup

from . import atomic, narrative
from .brand import Brand
from .inline import data_uri, file_uri
from .errors import RenderError

TABLE_ROWS_SHOWN = 200
INLINE_DOWNLOAD = 2 * 1024**2  # bytes: attached files up to this size are embedded in the HTML


def builtin_theme() -> Path:
    """The built-in theme: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


class Theme:
    """Where templates are looked up, first match wins."""

    def __init__(self, folders: list[Path], main: str = "report.html.j2"):
        unique: list[Path] = []
        for folder in folders:
            folder = folder.resolve()
            if folder.is_dir() and folder not in unique:
                unique.append(folder)
        self.folders = unique
        self.main = main
        self.brand = Brand()

    @classmethod
    def for_spec(cls, spec_folder: Path, main: str = "report.html.j2") -> "Theme":
        project = [spec_folder / "templates", spec_folder.parent / "templates"]
        return cls([*project, builtin_theme()], main)

    def find(self, name: str) -> Path | None:
        for folder in self.folders:
            if (folder / name).is_file():
                return folder / name
        return None

    def validate(self) -> None:
        """Compile every template, so a syntax error stops the build before anything runs."""
        env = self.environment
        for name in sorted({p.name for f in self.folders for p in f.glob("*.j2")}):
            try:
                env.get_template(name)
            except TemplateSyntaxError as exc:
                raise RenderError(f"{exc.filename}:{exc.lineno}: template syntax error: {exc.message}.") from None

    @functools.cached_property
    def environment(self) -> Environment:
        """One environment per theme: templates compiled by validate() are reused by render."""
        # "builtin/<name>" always reaches the built-in theme, so a project's report.html.j2
        # can {% extends "builtin/report.html.j2" %} and change one block.
        loader = ChoiceLoader([FileSystemLoader([str(f) for f in self.folders]),
                               PrefixLoader({"builtin": FileSystemLoader(str(builtin_theme()))})])
        env = Environment(
            loader=loader,
            autoescape=select_autoescape(["html", "htm", "xml", "j2"], default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(narrative.FILTERS)
        env.filters.update(markdown=narrative.to_html, cell=format_cell)
        return env


def render_html(report: dict[str, Any], theme: Theme, run_dir: Path) -> str:
    """The self-contained HTML for a finished report; images are inlined."""
    env = theme.environment
    sections = [_view(section, run_dir) for section in report["sections"]]
    try:
        template = env.get_template(theme.main)
        return template.render(report=report, sections=sections, style=report["style"], build=report["build"], brand=theme.brand)
    except TemplateNotFound as exc:
        raise RenderError(f"Template {exc.name!r} was not found in the theme folders: {_folders(theme)}.") from None
    except TemplateError as exc:
        raise RenderError(f"{_where(exc, theme)}: template error: {exc.message}. The last good report was kept.") from None
    except RecursionError:
        raise RenderError(
            f"{theme.main}: the templates include or extend each other in a loop. To extend the built-in "
            'template from a file of the same name, write {% extends "builtin/report.html.j2" %}.'
        ) from None


def write_pdf(html: str, target: Path) -> None:
    """Lay out the HTML for print; no resource outside the HTML itself is fetched."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=5)
    pdf = HTML(string=html, base_url=str(target.parent), url_fetcher=fetcher).write_pdf()
    atomic.write_bytes(target, pdf)


def _where(exc: TemplateError, theme: Theme) -> str:
    """file:line of the template that failed; Jinja puts template lines into the traceback."""
    if getattr(exc, "lineno", None) and getattr(exc, "filename", None):
        return f"{exc.filename}:{exc.lineno}"
    folders = tuple(str(f) for f in theme.folders)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(folders)]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else theme.main


def _folders(theme: Theme) -> str:
    return ", ".join(str(f) for f in theme.folders)


def _view(section: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """A section as the templates see it: narrative as HTML, figures as data URIs."""
    outputs, charts = [], 0
    for output in section["outputs"]:
        if output["kind"] == "figure":
            charts += 1
            src = data_uri((run_dir / output["file"]).read_bytes(), output["mime"])
            alt = output["title"] or f"Chart {charts} of {section['title']}"
            outputs.append({**output, "src": src, "alt": alt})
        elif output["kind"] == "table":
            outputs.append(_table_view(output))
        elif output["kind"] == "markdown":
            outputs.append({**output, "html": narrative.to_html(output["text"])})
    return {
        "landscape": False,
        **section,
        "narrative_html": narrative.to_html(section["narrative"]) if section.get("narrative") else Markup(""),
        "outputs": outputs,
        "downloads": [_download(run_dir, name) for name in section.get("attachments", []) if (run_dir / name).is_file()],
    }


def _download(run_dir: Path, name: str) -> dict[str, str]:
    """A link to an attached file: inlined while small, so the HTML stays self-contained."""
    path = run_dir / name
    size = path.stat().st_size
    href = name
    if size <= INLINE_DOWNLOAD:
        href = file_uri(path)
    shown = f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{max(1, size // 1024)} KB"
    return {"name": path.name, "href": href, "size": shown, "path": name}


def _table_view(table: dict[str, Any]) -> dict[str, Any]:
    rows = table["rows"][:TABLE_ROWS_SHOWN]
    decimals = [_decimals([r[i] for r in rows]) if numeric else None for i, numeric in enumerate(table["numeric"])]
    formatted = [[format_cell(value, decimals[i]) for i, value in enumerate(row)] for row in rows]
    hidden = table["total_rows"] - len(rows)
    return {**table, "rows": formatted, "hidden_rows": hidden}


def _decimals(values: list[Any]) -> int:
    """Decimals for a numeric column: none for whole numbers, fewer for big numbers."""
    numbers = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    if all(v.is_integer() for v in numbers):
        return 0
    biggest = max(abs(v) for v in numbers)
    return 2 if biggest < 100 else 1 if biggest < 10_000 else 0


def format_cell(value: Any, decimals: int | None = None) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if decimals is None:
        decimals = 0 if isinstance(value, int) else 2
    return f"{value:,.{decimals}f}"
