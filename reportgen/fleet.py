"""Many builds at once: parameter matrices, and a pool of concurrent builds.

A spec with `matrix:` builds one report per combination of values, each into its own
folder under the spec's output folder, plus an index page linking them. The lock is
shared: parameters are inputs to the code, not to the model, so the first variant of a
spec is built alone (writing any missing code once) and the others replay it in parallel.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import atomic, spec as spec_module
from .build import BuildOptions, build, output_dir
from .errors import ReportgenError, UsageError
from .outputs import RunFolder
from .session.pool import KernelPool


@dataclass
class Job:
    spec: Path
    variant: str | None  # None for a spec without a matrix
    options: BuildOptions  # options.output is always set: the folder this job writes
    matrix_root: Path | None = None  # where the variants' index page goes


@dataclass
class Outcome:
    job: Job
    status: str  # ok | failed | error
    seconds: float
    output: Path | None
    message: str = ""
    exit_code: int = 0


def jobs_for(spec_path: Path, options: BuildOptions, only: dict[str, set[str]]) -> list[Job]:
    """The builds one spec asks for: itself, or one per combination of its matrix."""
    spec = spec_module.load(spec_path, options.params)
    if not spec.matrix:
        if only:
            raise UsageError(f"{spec_path}: --only picks matrix variants, but the spec has no `matrix:`.")
        return [Job(spec_path, None, dataclasses.replace(options, output=output_dir(spec, options)))]
    root = output_dir(spec, options)
    axes = {}
    for key, source in spec.matrix.items():
        if key in options.params:  # --param fixes this axis
            values = [options.params[key]]
        else:
            values = _values(spec, source)
        if key in only:
            values = [v for v in values if str(v) in only[key]]
        axes[key] = values
    unknown = set(only) - set(axes)
    if unknown:
        raise UsageError(f"--only {sorted(unknown)[0]}: not a matrix key of {spec_path.name} ({', '.join(axes)}).")
    jobs = []
    for combo in itertools.product(*axes.values()):
        params = {**options.params, **{k: str(v) for k, v in zip(axes, combo)}}
        name = "-".join(_slug(v) for v in combo)
        jobs.append(Job(spec_path, name, dataclasses.replace(options, params=params, output=root / name), root))
    if not jobs:
        raise UsageError(f"{spec_path}: --only left no variant to build.")
    return jobs


def check_outputs(jobs: list[Job]) -> None:
    """Two builds must never write into the same folder."""
    seen: dict[Path, Job] = {}
    for job in jobs:
        folder = Path(job.options.output).resolve()
        if folder in seen:
            raise UsageError(f"{seen[folder].spec} and {job.spec} would both write to {folder}; give one of them `output: {{dir: …}}`.")
        seen[folder] = job


def _values(spec: spec_module.Spec, source: Any) -> list[Any]:
    if isinstance(source, list):
        return source
    import pandas as pd

    path = spec.dataset_path(source.dataset)
    # As session/runtime.py's _READERS, which the host cannot import (it sets matplotlib's backend).
    reader = {"csv": pd.read_csv, "tsv": lambda p, **o: pd.read_csv(p, **{"sep": "\t", **o}), "parquet": pd.read_parquet,
              "xlsx": pd.read_excel, "json": pd.read_json, "jsonl": lambda p, **o: pd.read_json(p, **{"lines": True, **o})}
    column = reader[spec.dataset_format(source.dataset)](path, **spec.datasets[source.dataset].options)[source.column]
    return sorted(column.dropna().astype(str).str.strip().unique())


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-") or "blank"


def run(
    jobs: list[Job], workers: int, progress: Callable[[Job], Any], report: Callable[[Outcome], None], warm: bool = True
) -> list[Outcome]:
    """Run the jobs, `workers` at a time; one job's failure never stops the others.

    With `warm`, builds reuse kernels from a pool (reset between builds) instead of
    starting one each.

    Each spec's first job runs before the rest of that spec's jobs, so code the model
    writes for it is in the lock file before the others replay it.
    """
    first, rest = _first_of_each_spec(jobs)
    outcomes: list[Outcome] = []
    stop = threading.Event()
    kernels = KernelPool(workers) if warm else None

    def one(job: Job) -> Outcome:
        if stop.is_set():
            return Outcome(job, "error", 0.0, None, "not started: the run was interrupted", 130)
        outcome = _build(job, progress(job), kernels)
        report(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        try:
            for future in as_completed([pool.submit(one, job) for job in first]):
                outcomes.append(future.result())
            for future in as_completed([pool.submit(one, job) for job in rest]):
                outcomes.append(future.result())
        except KeyboardInterrupt:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            if kernels:
                kernels.close()  # from a worker thread's pool: still alive here
    return _finish(jobs, outcomes)


def _first_of_each_spec(jobs: list[Job]) -> tuple[list[Job], list[Job]]:
    """Each spec's first job, and the others: the first ones write any missing lock entries."""
    first = {}
    for job in jobs:
        first.setdefault(job.spec, job)
    return list(first.values()), [job for job in jobs if job not in first.values()]


def _build(job: Job, progress, kernels: KernelPool | None = None) -> Outcome:
    started = time.monotonic()
    try:
        manifest = build(job.spec, job.options, progress, kernels)
    except ReportgenError as exc:
        return Outcome(job, "error", time.monotonic() - started, None, str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug in one build must not stop the others
        return Outcome(job, "error", time.monotonic() - started, None, f"{type(exc).__name__}: {exc}", 2)
    failed = [s["id"] for s in manifest["sections"] if s["status"] != "ok"]
    message = f"{len(failed)} section(s) failed: {', '.join(failed)}" if failed else ""
    return Outcome(job, manifest["status"], time.monotonic() - started, Path(manifest["output"]), message, 1 if failed else 0)


def _finish(jobs: list[Job], outcomes: list[Outcome]) -> list[Outcome]:
    """Outcomes in the order the jobs were asked for, and each matrix's index page."""
    order = {id(job): i for i, job in enumerate(jobs)}
    outcomes.sort(key=lambda o: order[id(o.job)])
    for root in {job.matrix_root for job in jobs if job.matrix_root is not None}:
        write_index(root, [o for o in outcomes if o.job.matrix_root == root])
    return outcomes


def write_index(root: Path, outcomes: list[Outcome]) -> None:
    """index.html beside a matrix's variants, linking each report."""
    from markupsafe import escape

    rows = []
    for o in outcomes:
        link = f'<a href="{escape(o.job.variant)}/report.html">{escape(o.job.variant)}</a>' if o.output else escape(o.job.variant)
        params = ", ".join(f"{escape(k)}={escape(v)}" for k, v in o.job.options.params.items())
        rows.append(f"<tr><td>{link}</td><td>{params}</td><td>{escape(o.status)}</td><td>{escape(o.message)}</td></tr>")
    title = escape(f"{o.job.spec.stem}: {len(outcomes)} reports")
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>body{{font-family:'DejaVu Sans',sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}}"
        "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #d9dee5}</style>"
        f"</head><body><h1>{title}</h1><table><thead><tr><th>Report</th><th>Parameters</th><th>Status</th><th>Notes</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )
    atomic.write_text(root / "index.html", html)


# ---------------------------------------------------------------- Dask


def run_dask(jobs: list[Job], scheduler: str, progress: Callable[[Job], Any], report: Callable[[Outcome], None]) -> list[Outcome]:
    """Send builds to a Dask cluster; each worker builds in its own sandbox and sends the files back.

    Each spec's first build runs here, so any code the model must write is in the lock
    file before the workers replay it (they never call a model: they build --frozen).
    Workers need the project at the same path (a shared file system or a checkout).
    """
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise UsageError("--executor dask needs Dask: pip install 'dask[distributed]'.") from None
    first, rest = _first_of_each_spec(jobs)
    outcomes = run(first, len(first), progress, report)
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"Cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        futures = {client.submit(remote_build, job, pure=False): job for job in rest}
        for future in dask_completed(futures):
            job = futures[future]
            try:
                outcome = _unpack(job, *future.result())
            except Exception as exc:  # noqa: BLE001 - a lost worker fails that build only
                outcome = Outcome(job, "error", 0.0, None, f"the Dask worker failed: {type(exc).__name__}: {exc}", 2)
            report(outcome)
            outcomes.append(outcome)
    return _finish(jobs, outcomes)


_WORKER_KERNELS: KernelPool | None = None


def remote_build(job: Job) -> tuple[Outcome, dict[str, bytes]]:
    """On a Dask worker: build into a scratch folder, return the outcome and the files."""
    import shutil
    import tempfile

    global _WORKER_KERNELS
    if _WORKER_KERNELS is None:
        _WORKER_KERNELS = KernelPool(1)  # warm kernels, reused by this worker's builds
    scratch = Path(tempfile.mkdtemp(prefix="reportgen-dask-"))
    try:
        local = dataclasses.replace(job, options=dataclasses.replace(job.options, output=scratch, frozen=True))
        outcome = _build(local, None, _WORKER_KERNELS)
        files = {p.relative_to(scratch).as_posix(): p.read_bytes() for p in scratch.rglob("*") if p.is_file()}
        return outcome, files
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _unpack(job: Job, outcome: Outcome, files: dict[str, bytes]) -> Outcome:
    """Write a worker's files into the job's output folder, replacing the last build's.
    A build that wrote nothing (it stopped before running) leaves the last report alone."""
    folder = RunFolder(Path(job.options.output))
    if "run.json" not in files:
        return dataclasses.replace(outcome, job=job, output=None)
    for name, data in files.items():
        if name != "run.json":
            atomic.write_bytes(folder.root / name, data)
    folder.remove_stale(set(files))
    manifest = json.loads(files["run.json"])
    manifest["output"] = str(folder.root)
    folder.write_manifest(manifest)
    return dataclasses.replace(outcome, job=job, output=folder.root if outcome.output else None)
