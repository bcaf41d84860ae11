"""The run folder: report.html/.pdf, code/, report.ipynb, run.json, report.json, assets/.

Nothing is written until the whole build has run, and every file is replaced
atomically, so an interrupted build leaves the last good report in place.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from . import atomic, brand
from .plan import Step
from .errors import RenderError
from .render import Theme, render_html, write_pdf
from .session.base import StepResult

ATTACHMENT_CAP = 50 * 1024 * 1024  # bytes per attached file
ATTACHMENTS_PER_SECTION = 100
FIGURES_PER_SECTION = 30  # more would make a report nobody reads, and a slow PDF
_EXT = {"image/png": "png", "image/svg+xml": "svg"}


class RunFolder:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._pending: dict[str, bytes] = {}  # path inside the folder -> content

    def assets_for(self, step: Step, result: StepResult, out_dir: Path) -> list[dict[str, Any]]:
        """The step's outputs as the report stores them; figures and files become pending assets."""
        stem = f"{step.number:02d}-{step.section.id}"
        outputs: list[dict[str, Any]] = []
        figures = result.figures
        if len(figures) > FIGURES_PER_SECTION:
            result.notes.append(f"The step made {len(figures)} charts; the first {FIGURES_PER_SECTION} are in the report.")
            dropped = {id(o) for o in figures[FIGURES_PER_SECTION:]}
            result.outputs = [o for o in result.outputs if id(o) not in dropped]
        figure_number = 0
        for output in result.outputs:
            if output.kind == "figure":
                figure_number += 1
                name = f"assets/{stem}-{figure_number}.{_EXT[output.data['mime']]}"
                self._pending[name] = output.data["bytes"]
                outputs.append({"kind": "figure", "file": name, "mime": output.data["mime"], "title": output.data["title"]})
            elif output.kind == "table":
                outputs.append({"kind": "table", **output.data})
            elif output.kind == "markdown":
                outputs.append({"kind": "markdown", "text": output.data["text"]})
        if len(result.files) > ATTACHMENTS_PER_SECTION:
            result.notes.append(f"The step wrote {len(result.files):,} files to OUT_DIR; only the first {ATTACHMENTS_PER_SECTION} were attached.")
        for relative in result.files[:ATTACHMENTS_PER_SECTION]:
            source = out_dir / relative
            if source.is_symlink() or not source.is_file() or source.stat().st_size > ATTACHMENT_CAP:
                continue
            name = f"assets/files/{relative}"
            self._pending[name] = source.read_bytes()
            outputs.append({"kind": "file", "file": name})
        return outputs

    def write(self, spec, steps: list[Step], records: list[dict], results: list[StepResult], report: dict, setup_source: str) -> None:
        """Write everything but the rendered report: assets, code, notebook, report.json."""
        from .notebook import notebook  # nbformat is slow to import; `check` and `render` do without
        code = {"code/00-setup.py": setup_source}
        code.update({f"code/{step.file_name}": (step.code or "").rstrip() + "\n" for step in steps})
        for name, content in {**self._pending, **{k: v.encode() for k, v in code.items()}}.items():
            atomic.write_bytes(self.root / name, content)
        self.remove_stale({*self._pending, *code})
        atomic.write_text(self.root / "report.ipynb", notebook(spec, steps, records, results, code["code/00-setup.py"]))
        atomic.write_text(self.root / "report.json", _dumps(report))

    def render(self, report: dict, theme: Theme, formats: list[str], clock=None) -> None:
        """Write the asked formats; a format not asked for is removed, so none is left stale."""
        clock = clock or (lambda phase: nullcontext())
        with clock("html"):
            html = render_html(report, theme, self.root)
            if "html" in formats:
                atomic.write_text(self.root / "report.html", html)
        if "pdf" in formats:
            with clock("pdf"):
                write_pdf(html, self.root / "report.pdf")
        for fmt in {"html", "pdf"} - set(formats):
            (self.root / f"report.{fmt}").unlink(missing_ok=True)

    def write_manifest(self, manifest: dict) -> None:
        atomic.write_text(self.root / "run.json", _dumps(manifest))

    def remove_stale(self, keep: set[str]) -> None:
        """Delete files under assets/ and code/ that are not in `keep` (a last build's leftovers)."""
        for sub in ("assets", "code"):
            for path in sorted((self.root / sub).rglob("*"), reverse=True):
                name = path.relative_to(self.root).as_posix()
                if path.is_file() and name not in keep:
                    path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def rerender(root: Path, formats: list[str] | None = None, brand_path: Path | None = None) -> list[Path]:
    """Render a finished build again from report.json, e.g. after a template edit."""
    root = Path(root)
    report = _finished(root)
    if formats is None:
        formats = ["html"] + (["pdf"] if (root / "report.pdf").exists() else [])
    theme = _theme(report, brand_path)
    theme.validate()
    RunFolder(root).render(report, theme, formats)
    return [root / f"report.{fmt}" for fmt in formats]


def watched_files(root: Path, brand_path: Path | None = None) -> list[Path]:
    """What a re-render depends on: the theme folders' files and the brand's files."""
    theme = _theme(_finished(Path(root)), brand_path)
    files = [p for folder in theme.folders for p in folder.iterdir() if p.is_file()]
    return files + [theme.brand.folder / "brand.yaml", *theme.brand.files()]


def _finished(root: Path) -> dict:
    try:
        return json.loads((root / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RenderError(f"{root} holds no finished build (report.json is missing or damaged); run `reportgen build` first.") from None


def _theme(report: dict, brand_path: Path | None) -> Theme:
    spec_folder = Path(report["build"]["spec_folder"])
    theme = Theme.for_spec(spec_folder, report["build"]["template"])
    chosen = str(Path(brand_path).resolve()) if brand_path else report["build"].get("brand")
    theme.brand = brand.resolve(chosen, spec_folder, theme.folders)
    return theme
