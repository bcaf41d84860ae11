"""The command line: parse arguments, make one call, map errors to exit statuses.

Exit statuses: 0 every section ok; 1 the report was written but a section failed;
2 bad spec, input or usage (nothing ran).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import click

from .errors import ReportgenError, UsageError

EXIT_OK, EXIT_FAILED_SECTIONS, EXIT_BAD_INPUT = 0, 1, 2


def _fail(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    click.echo(f"error: {exc}", err=True)
    return exc.exit_code if isinstance(exc, ReportgenError) else EXIT_BAD_INPUT


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {pair!r}: write it as NAME=VALUE, e.g. --param quarter=2026-Q3")
        params[name.strip()] = value
    return params


def _refresh(values: tuple[str, ...]) -> set[str] | None:
    ids = {part.strip() for value in values for part in value.split(",") if part.strip()}
    return ids or None


debug_option = click.option("--debug", is_flag=True, help="Show tracebacks for errors.")


def run() -> None:
    """The `reportgen` command: main(), then an exit that skips the interpreter's teardown.

    Freeing every module and object one by one costs ~90 ms of CPU after a build, and
    nothing needs it: builds close their files and stop their kernels themselves (mypy
    exits the same way). Output streams are flushed first.
    """
    try:
        main()
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        click.echo(code, err=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or EXIT_OK)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reportgen")
def main() -> None:
    """Turn data into recurring, trustworthy reports: reportgen build specs/q3.yaml"""
    # A CI runner's TERM should unwind like Ctrl-C: the kernel stops, its folder goes away.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


class Printer:
    """Progress on stderr: one line per section with its time; prefixed when builds run side by side."""

    def __init__(self, prefix: str = "") -> None:
        self.total = 0
        self.prefix = f"{prefix}: " if prefix else ""
        self.live = sys.stderr.isatty() and not prefix

    def build_started(self, spec, steps) -> None:
        self.total = len(steps)
        click.echo(f"{self.prefix}Building {spec.title!r} ({spec.path.name}): {_count(self.total, 'section')}", err=True)

    def section_started(self, step) -> None:
        if self.live:
            click.echo(f"  [{step.number}/{self.total}] {step.section.id} …", err=True, nl=False)

    def section_finished(self, step, record) -> None:
        mark = click.style("ok", fg="green") if record["status"] == "ok" else click.style("FAILED", fg="red")
        line = f"{chr(13) if self.live else ''}  {self.prefix}[{step.number}/{self.total}] {step.section.id} {mark} {record['seconds']:.2f}s ({record['source']})"
        click.echo(line, err=True)
        if record["status"] != "ok":
            click.echo(f"        {record['error_summary']}", err=True)
        for warning in record["warnings"]:
            click.echo(f"        warning: {warning}", err=True)

    def note(self, text: str) -> None:
        click.echo(f"  {self.prefix}{text}", err=True)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf"]), help="Output format (repeatable); default: the spec's output.formats.")
@click.option("--output", type=click.Path(path_type=Path), help="Output folder; default: output/<spec name>/.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a parameter of the spec (repeatable).")
@click.option("--frozen", is_flag=True, help="Never call a model: every question must replay from the lock file (for CI).")
@click.option("--refresh", "refresh", multiple=True, is_flag=False, flag_value="*", metavar="[SECTION-ID]",
              help="Have the model write these question sections again (repeatable; alone: all of them).")
@click.option("--model", "model", metavar="NAME", help="Model name, overriding the spec's model.name.")
@click.option("--brand", type=click.Path(path_type=Path, exists=True), help="A brand file or folder to use instead of the spec's.")
@click.option("--no-sandbox", is_flag=True, help="Run the session without isolation (only for code you trust).")
@click.option("--only", "only", multiple=True, metavar="KEY=VALUE", help="Build only these matrix variants (repeatable).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None, help="Builds to run at once; default: the number of CPUs.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", help="Where builds run: here, or on a Dask cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="The Dask scheduler, e.g. tcp://host:8786 (with --executor dask).")
@click.option("--fresh-kernels", is_flag=True, help="Start a new kernel for every build instead of reusing warm ones (reset between builds).")
@click.option("--json", "as_json", is_flag=True, help="Print run.json to stdout.")
@debug_option
def build(specs, formats, output, params, frozen, refresh, model, brand, no_sandbox, only, jobs, executor, scheduler, fresh_kernels, as_json, debug) -> None:
    """Build the report for each SPEC (one per matrix variant)."""
    with _early_kernel(specs, only, executor, no_sandbox) as early:
        from .build import BuildOptions, require_one_output
        from .fleet import check_outputs, jobs_for

        try:
            require_one_output(list(specs), output)
            options = BuildOptions(formats=list(formats) or None, output=output, params=_params(params), frozen=frozen, no_sandbox=no_sandbox,
                                   model=model, refresh=_refresh(refresh), brand=brand)
            picks = _only(only)
            planned = [job for spec in specs for job in jobs_for(spec, options, picks)]
            check_outputs(planned)
            if executor == "dask" and not scheduler:
                raise UsageError("--executor dask needs --scheduler tcp://HOST:8786 (the address `dask scheduler` prints).")
        except ReportgenError as exc:
            sys.exit(_fail(exc, debug))
        if executor == "dask":
            sys.exit(_build_many(planned, jobs or os.cpu_count() or 1, not fresh_kernels, scheduler))
        if len(planned) > 1 or planned[0].variant is not None:
            sys.exit(_build_many(planned, jobs or os.cpu_count() or 1, not fresh_kernels))
        _build_each(specs, options, as_json, debug, early)


@contextmanager
def _early_kernel(specs, only, executor: str, no_sandbox: bool):
    """One spec, one report: its kernel starts now, before the imports and checks that
    follow (session/early.py says why that is safe), and stops if no build takes it."""
    early = None
    if len(specs) == 1 and not only and executor == "local":
        from .session.early import EarlyKernel

        early = EarlyKernel.start(specs[0], no_sandbox)
    try:
        yield early
    finally:
        if early is not None:
            early.close()


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _only(pairs: tuple[str, ...]) -> dict[str, set[str]]:
    picks: dict[str, set[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--only {pair!r}: write it as KEY=VALUE, e.g. --only region=EMEA")
        picks.setdefault(key.strip(), set()).add(value.strip())
    return picks


def _build_many(planned, workers: int, warm: bool, scheduler: str | None = None) -> int:
    """Several builds side by side (here, or on a Dask cluster), then a summary table; the
    worst exit status wins."""
    from .fleet import run, run_dask

    def report(outcome) -> None:
        name = _job_name(outcome.job)
        if outcome.status == "error":
            click.echo(f"{name}: error: {outcome.message}", err=True)
        else:
            click.echo(f"{name}: wrote {outcome.output} in {outcome.seconds:.1f}s ({outcome.status})", err=True)

    try:
        if scheduler:
            click.echo(f"Building {len(planned)} reports on the Dask cluster at {scheduler}", err=True)
            outcomes = run_dask(planned, scheduler, lambda job: Printer(_job_name(job)), report)
        else:
            click.echo(f"Building {len(planned)} reports, {min(workers, len(planned))} at a time", err=True)
            outcomes = run(planned, workers, lambda job: Printer(_job_name(job)), report, warm)
    except ReportgenError as exc:
        return _fail(exc, False)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished reports are intact; builds not started were skipped.", err=True)
        return 130
    click.echo(f"\n{'report':<40} {'status':<8} {'seconds':>8}  output", err=True)
    for o in outcomes:
        click.echo(f"{_job_name(o.job):<40} {o.status:<8} {o.seconds:>8.1f}  {o.output or o.message}", err=True)
    return max((o.exit_code for o in outcomes), default=EXIT_OK)


def _job_name(job) -> str:
    return f"{job.spec.stem}/{job.variant}" if job.variant else job.spec.stem


def _build_each(specs, options, as_json: bool, debug: bool, early=None) -> None:
    from .build import build as run_build

    status = EXIT_OK
    for spec in specs:
        try:
            manifest = run_build(spec, options, Printer(), pool=early)
        except (ReportgenError, KeyboardInterrupt) as exc:
            if isinstance(exc, KeyboardInterrupt):
                click.echo("\ninterrupted: the last good report was kept.", err=True)
                sys.exit(130)
            status = max(status, _fail(exc, debug))
            continue
        except Exception as exc:  # a bug: show it, but let the other specs build
            traceback.print_exception(exc)
            status = max(status, EXIT_BAD_INPUT)
            continue
        failed = [s["id"] for s in manifest["sections"] if s["status"] != "ok"]
        summary = f"{len(manifest['sections']) - len(failed)} ok, {len(failed)} failed" if failed else f"{_count(len(manifest['sections']), 'section')} ok"
        click.echo(f"Wrote {manifest['output']} in {manifest['seconds']:.1f}s: {summary}", err=True)
        if manifest.get("model"):
            click.echo(_model_summary(manifest["model"]), err=True)
        if as_json:
            click.echo(json.dumps(manifest, indent=2))
        if failed:
            status = max(status, EXIT_FAILED_SECTIONS)
    sys.exit(status)


def _model_summary(model: dict) -> str:
    tokens = model["tokens"]
    cost = f", about ${model['cost']:.4f}" if model.get("cost") is not None else ""
    return f"Model {model['name']} ({model['execution']}): {model['requests']} requests, {tokens['input']:,} input and {tokens['output']:,} output tokens{cost}"


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a parameter of the spec.")
@debug_option
def check(specs, params, debug) -> None:
    """Validate each SPEC, its datasets, template and lock file; run nothing."""
    from .build import BuildOptions, load

    status = EXIT_OK
    for path in specs:
        try:
            spec, theme, lock = load(path, BuildOptions(params=_params(params)))
        except ReportgenError as exc:
            status = max(status, _fail(exc, debug))
            continue
        counts = _count(len(spec.sections), "section"), _count(len(spec.datasets), "dataset"), _count(len(lock.sections), "lock entry", "lock entries")
        click.echo(f"{path}: ok ({', '.join(counts)})", err=True)
    sys.exit(status)


@main.command()
@click.argument("output_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf"]), help="Output format (repeatable); default: what the build wrote.")
@click.option("--brand", type=click.Path(path_type=Path, exists=True), help="A brand file or folder for the page (charts keep the build's colours).")
@click.option("--watch", is_flag=True, help="Render again whenever a template, stylesheet or brand file changes; Ctrl-C stops.")
@debug_option
def render(output_dir, formats, brand, watch, debug) -> None:
    """Re-render report.html/.pdf of a finished build from its saved results; runs no code."""
    from .outputs import rerender, watched_files

    def once() -> bool:
        started = time.monotonic()
        try:
            written = rerender(output_dir, list(formats) or None, brand)
        except ReportgenError as exc:
            _fail(exc, debug)
            return False
        click.echo(f"Rendered {', '.join(str(p) for p in written)} in {time.monotonic() - started:.2f}s", err=True)
        return True

    ok = once()
    if not watch:
        sys.exit(EXIT_OK if ok else EXIT_BAD_INPUT)
    click.echo("Watching the theme and brand files; Ctrl-C stops.", err=True)
    seen = _stamps(watched_files(output_dir, brand))
    try:
        while True:
            time.sleep(0.3)
            now = _stamps(watched_files(output_dir, brand))
            if now != seen:
                seen = now
                once()
    except KeyboardInterrupt:
        sys.exit(EXIT_OK)


def _stamps(paths: list[Path]) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in paths if p.exists()}


@main.group()
def theme() -> None:
    """Work with the report theme."""


@theme.command("export")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files already there.")
@debug_option
def theme_export(directory, force, debug) -> None:
    """Copy the built-in theme (templates, CSS, brand.yaml) into DIRECTORY to edit."""
    from .theme import export

    try:
        written = export(directory, force)
    except ReportgenError as exc:
        sys.exit(_fail(exc, debug))
    click.echo(f"Exported {len(written)} files to {directory}; a templates/ folder next to your spec overrides the built-in theme file by file.", err=True)


@main.command()
@click.argument("directory", default=".", type=click.Path(path_type=Path, file_okay=False))
@debug_option
def init(directory, debug) -> None:
    """Create a working project in DIRECTORY: specs/, templates/ and a sample dataset."""
    from .scaffold import scaffold

    try:
        created = scaffold(directory)
    except ReportgenError as exc:
        sys.exit(_fail(exc, debug))
    for path in created:
        click.echo(f"created {path}", err=True)
    spec = directory / "specs" / "example.yaml"
    click.echo(f"\nNext: reportgen build {spec}\nBrand it: edit {directory / 'templates' / 'brand.yaml'}; "
               "`reportgen theme export DIR` copies every template.", err=True)
