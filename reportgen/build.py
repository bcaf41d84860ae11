"""One build: spec → plan → one shared session → sections → outputs.

`build()` is the library entry point behind `reportgen build`. It reports progress
through a `Progress` object and returns the run manifest (run.json).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, brand as brand_module, narrative, spec as spec_module
from .errors import ReportgenError, UsageError
from .lock import Lock
from .outputs import RunFolder
from .models import config as model_config
from .models.writer import SectionWriter
from .plan import Step, plan
from .render import Theme
from .session.base import StepResult
from .session import setup
from .session.local import LocalSession
from .session.early import EarlyKernel
from .session.pool import KernelPool, fresh_session
from .session.sandbox import Unconfined, launcher

@dataclass
class BuildOptions:
    formats: list[str] | None = None  # default: the spec's output.formats
    output: Path | None = None
    params: dict[str, str] = field(default_factory=dict)
    frozen: bool = False
    no_sandbox: bool = False
    model: str | None = None  # --model: overrides the spec's model name
    refresh: set[str] | None = None  # --refresh: section ids to write again; "*" for all
    brand: Path | None = None  # --brand: a brand file or folder instead of the spec's


class Progress:
    """Build events; the CLI prints them, a library caller may ignore them."""

    def build_started(self, spec: spec_module.Spec, steps: list[Step]) -> None: ...

    def section_started(self, step: Step) -> None: ...

    def section_finished(self, step: Step, record: dict[str, Any]) -> None: ...

    def note(self, text: str) -> None: ...


def load(spec_path: Path, options: BuildOptions) -> tuple[spec_module.Spec, Theme, Lock]:
    """Everything `check` verifies: the spec, its datasets, the theme, the brand and the lock file."""
    spec = spec_module.load(spec_path, options.params)
    if options.brand is not None:
        spec.brand = str(Path(options.brand).resolve())
    theme = Theme.for_spec(spec.folder, spec.output.template)
    theme.validate()
    theme.brand = brand_module.resolve(spec.brand, spec.folder, theme.folders)
    spec.branded = theme.brand.charts(spec.style)
    lock = Lock.read(Lock.path_for(spec.path))
    return spec, theme, lock


def build(
    spec_path: str | Path,
    options: BuildOptions | None = None,
    progress: Progress | None = None,
    pool: KernelPool | EarlyKernel | None = None,
) -> dict[str, Any]:
    """Build the report for one spec; return its run manifest. The session comes from the
    pool (a warm kernel, or one started early), else it is a fresh kernel."""
    options = options or BuildOptions()
    progress = progress or Progress()
    started_at, clock = dt.datetime.now(dt.timezone.utc), Stopwatch()
    with clock("check"):
        spec, theme, lock = load(Path(spec_path), options)
    formats = options.formats or spec.output.formats
    folder = RunFolder(output_dir(spec, options))
    isolation = session_launcher(spec, options)
    settings = None if options.frozen else model_config.resolve(spec, os.environ, options.model)

    data_files = spec.data_files
    hashes: dict[str, str] = {}

    def meanwhile() -> None:
        # While a kernel boots (~0.5 s) the host hashes the data and imports what it needs
        # later, instead of doing both one after the other.
        hashes.update({name: _sha256(path) for name, path in data_files.items()})
        _warm_up_imports()

    with ExitStack() as stack:
        with clock("session start"):
            opened = pool.session(data_files, isolation, spec.charts.fonts, meanwhile) if pool else fresh_session(data_files, isolation, meanwhile)
            session = stack.enter_context(opened)
        if "pdf" in formats:  # ~0.4 s of imports, done while the kernel works instead of after
            threading.Thread(target=_import_weasyprint, name="import-weasyprint").start()
        with clock("datasets"):
            described = _setup(session, spec)
        schemas = {name: info["columns"] for name, info in described.items()}
        steps = plan(spec, lock, schemas, lock_name=Lock.path_for(spec.path).name, model=settings is not None, refresh=options.refresh)
        writer = SectionWriter(spec, settings, lock, session, progress.note) if settings else None
        if writer and any(step.source == "model" for step in steps):
            with clock("model check"):
                writer.check()
        progress.build_started(spec, steps)
        with clock("sections"):
            records, results = _run_steps(spec, steps, session, folder, progress, writer)
        session_peak = _peak_mb(session)

    manifest = _manifest(spec, records, described, data_files, hashes, isolation.name, started_at)
    manifest["model"] = writer.totals() if writer else None
    manifest["output"] = str(folder.root)
    report = _report(spec, records, manifest)
    with clock("write"):
        folder.write(spec, steps, records, results, report, setup.saved(spec))
    folder.render(report, theme, formats, clock)
    manifest["seconds"], manifest["timings"] = clock.total(), clock.laps
    manifest["memory"] = {"host_peak_mb": round(peak_mb(), 1), "session_peak_mb": session_peak}
    folder.write_manifest(manifest)
    return manifest


def peak_mb() -> float:
    """This process's peak resident memory in MB. VmHWM, unlike ru_maxrss, is not inherited
    from the parent across fork and exec, so a build started by a big process reads true."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


PEAK_MB = "next(int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:'))"


def _peak_mb(session: LocalSession) -> float | None:
    """The session's peak memory so far (None if it cannot tell, e.g. after a crash)."""
    try:
        return round(float(session.evaluate(PEAK_MB)), 1)
    except (ReportgenError, ValueError):
        return None


def _run_steps(spec, steps: list[Step], session: LocalSession, folder: RunFolder, progress: Progress, writer: SectionWriter | None):
    records, results, all_facts = [], [], {}
    for step in steps:
        progress.section_started(step)
        result, meta = _run_step(spec, step, session, writer, all_facts)
        record = _section_record(spec, step, result, all_facts, folder.assets_for(step, result, session.out_dir))
        record.update(meta)
        records.append(record)
        results.append(result)
        progress.section_finished(step, record)
    return records, results


def _run_step(spec, step: Step, session: LocalSession, writer: SectionWriter | None, facts: dict) -> tuple[StepResult, dict]:
    """Run a step's code, or have the model write it; a saved answer that now fails is repaired."""
    if step.source == "model":
        return writer.write(step, facts)
    result = session.run(step.code or "", step.section.timeout or spec.session.timeout)
    if step.source == "lock" and not result.ok and writer is not None:
        writer.note(f"{step.section.id}: the saved code failed on this data; asking the model to repair it")
        return writer.write(step, facts, repair=(step.code or "", result.error or result.status))
    return result, {}


class Stopwatch:
    """Seconds spent in each phase of a build, for run.json's `timings`."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.laps: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str):
        begin = time.monotonic()
        try:
            yield
        finally:
            self.laps[phase] = round(self.laps.get(phase, 0.0) + time.monotonic() - begin, 3)

    def total(self) -> float:
        return round(time.monotonic() - self.started, 3)


def output_dir(spec: spec_module.Spec, options: BuildOptions) -> Path:
    if options.output is not None:
        return Path(options.output)
    if spec.output.dir is not None:
        return spec.folder / spec.output.dir
    return Path("output") / spec.path.stem


def session_launcher(spec: spec_module.Spec, options: BuildOptions) -> Unconfined:
    """The spec's sandbox, unless --no-sandbox; checked to work before anything runs."""
    return launcher("none" if options.no_sandbox else spec.session.sandbox, spec.session.memory)


def describe_datasets(spec: spec_module.Spec, options: BuildOptions | None = None) -> dict[str, Any]:
    """Each dataset's columns, dtypes and rows, as the session loads them."""
    isolation = session_launcher(spec, options or BuildOptions())
    with LocalSession(spec.data_files, isolation) as session:
        session.start()
        return _setup(session, spec)


def _setup(session: LocalSession, spec: spec_module.Spec) -> dict[str, Any]:
    """Load the runtime and the datasets into the session; return each dataset's columns and rows."""
    session.use_fonts(spec.charts.fonts)
    config = setup.config(spec, session.data_dir, session.out_dir, fonts_dir=session.fonts_dir)
    result = session.run(setup.source(config), timeout=max(spec.session.timeout, 120))
    if not result.ok:
        last = (result.error or "").strip().splitlines()[-1:] or ["unknown error"]
        raise ReportgenError(f"The datasets could not be loaded into the session: {last[0]}")
    names = list(spec.datasets)
    return json.loads(session.evaluate(f"_describe({names!r})"))


def _section_record(
    spec: spec_module.Spec, step: Step, result: StepResult, all_facts: dict, outputs: list[dict]
) -> dict[str, Any]:
    section = step.section
    facts = result.facts
    all_facts.update(facts)
    warnings = list(result.notes)
    error, text = result.error, ""
    if result.ok and step.narrative:
        try:
            text = narrative.render(step.narrative, all_facts, spec.params)
            warnings += [f"the narrative states {n} but no fact backs it" for n in narrative.unbacked_numbers(step.narrative, all_facts)]
        except narrative.NarrativeError as exc:
            error = str(exc)
    figures = sum(1 for o in outputs if o["kind"] == "figure")
    if figures > spec.charts.style.max_charts:
        warnings.append(f"{figures} charts; the style allows {spec.charts.style.max_charts} per section")
    if section.charts is not None and result.ok and figures < section.charts:
        warnings.append(f"{section.charts} charts were asked for, {figures} made")
    status = "ok" if error is None else "failed"
    return {
        "id": section.id,
        "number": step.number,
        "title": section.heading,
        "landscape": section.landscape,
        "status": status,
        "source": step.source,
        "attempts": 1,
        "requests": 0,
        "seconds": round(result.seconds, 3),
        "tokens": {"input": 0, "output": 0},
        "cost": 0.0,
        "error": error,
        "error_summary": _summary(result, error),
        "warnings": warnings,
        "facts": {k: _json_safe(v) for k, v in facts.items()},
        "narrative": text,
        "outputs": outputs,
        "attachments": [o["file"] for o in outputs if o["kind"] == "file"],
        "stdout": "".join(o.data["text"] for o in result.outputs if o.kind == "stream"),
    }


def _summary(result: StepResult, error: str | None) -> str:
    if error is None:
        return ""
    if result.status in ("timeout", "crashed", "oversized") or result.ok:
        return error.splitlines()[0]
    errors = [o.data for o in result.outputs if o.kind == "error"]
    return f"{errors[-1]['ename']}: {errors[-1]['evalue']}" if errors else error.strip().splitlines()[-1]


def _json_safe(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _warm_up_imports() -> None:
    """Import what writing and rendering need (jupyter_client, nbformat, markdown-it) now, in
    the shadow of the kernel's start, rather than later on the critical path."""
    import jupyter_client  # noqa: F401
    import nbformat  # noqa: F401
    import markdown_it  # noqa: F401


def _import_weasyprint() -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        pass  # write_pdf reports it, where the user can act on it


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(spec, records, described, data_files, hashes, sandbox, started_at) -> dict[str, Any]:
    failed = [r["id"] for r in records if r["status"] != "ok"]
    keep = ("id", "title", "status", "source", "attempts", "requests", "seconds", "tokens", "cost", "error", "warnings", "facts")
    return {
        "status": "failed" if failed else "ok",
        "spec": os.path.relpath(spec.path),
        "params": spec.params,
        "datasets": {
            name: {"path": os.path.relpath(path), "sha256": hashes[name], "rows": described[name]["rows"]}
            for name, path in data_files.items()
        },
        "sections": [{k: r[k] for k in keep} for r in records],
        "model": None,
        "sandbox": sandbox,
        "started": started_at.isoformat(timespec="seconds"),
        "seconds": None,
        "reportgen": __version__,
    }


def _report(spec: spec_module.Spec, records: list[dict], manifest: dict) -> dict[str, Any]:
    """What the templates render; saved as report.json so `reportgen render` needs no session."""
    return {
        "title": spec.title,
        "subtitle": spec.subtitle,
        "author": spec.author,
        "date": spec.date,
        "style": spec.charts.style.model_dump(mode="json"),
        "sections": records,
        "build": {
            "status": manifest["status"],
            "failed": [r["id"] for r in records if r["status"] != "ok"],
            "spec": manifest["spec"],
            "params": spec.params,
            "sandbox": manifest["sandbox"],
            "spec_folder": str(spec.folder),
            "brand": spec.brand,  # re-read by `render`, so brand edits show without a build
            "template": spec.output.template,
        },
    }


def require_one_output(specs: list[Path], output: Path | None) -> None:
    if output is not None and len(specs) > 1:
        raise UsageError("--output names one folder, so it works with one spec at a time; drop it to build each spec into output/<spec name>/.")
