"""Benchmarks: reportgen against plain Python and papermill, in one run, on this machine.

    .venv/bin/python bench/run.py [--runs 5] [--only replay,pdf,scale,bigdata,render,startup]

Every case runs its candidates alternately, after one warm-up each, and reports medians
and the ratio to the case's baseline. bench/results.json keeps every sample. Needs the
`bench` extra (papermill, nbconvert): `.venv/bin/pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import make_specs

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORK = make_specs.WORK

# The plain baseline: the same section code as one script that writes the same figures
# and tables into an HTML file, with no session, no kernel and no templates.
PLAIN_PRELUDE = '''
import base64 as _b64
_PARTS = []
def _emit(bundle, metadata=None):
    if "image/png" in bundle:
        _PARTS.append('<img src="data:image/png;base64,' + bundle["image/png"] + '">')
    elif _TABLE in bundle:
        t = bundle[_TABLE]
        _PARTS.append(pd.DataFrame(t["rows"], columns=t["columns"]).to_html())
    elif "text/markdown" in bundle:
        _PARTS.append("<p>" + bundle["text/markdown"] + "</p>")
'''
PLAIN_AFTER_SECTION = "\n_capture_open_figures()\n"
PLAIN_END = '\nopen("plain.html", "w").write("<html><body>" + "".join(_PARTS) + "</body></html>")\n'


def run(command: list, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stderr[-3000:]}")
    return elapsed


def sequence(*commands: list):
    """Candidates that are several commands run one after another."""
    return lambda cwd: sum(run(c, cwd) for c in commands)


def measure(candidates: dict, runs: int, cwd: Path) -> dict[str, list[float]]:
    samples = {name: [] for name in candidates}
    as_callable = {n: (c if callable(c) else (lambda cwd, c=c: run(c, cwd))) for n, c in candidates.items()}
    for call in as_callable.values():
        call(cwd)  # warm-up: page cache, font cache, .pyc files
    for _ in range(runs):
        for name, call in as_callable.items():
            samples[name].append(call(cwd))
    return samples


def table(title: str, samples: dict[str, list[float]], results: dict) -> None:
    names = list(samples)
    base = statistics.median(samples[names[0]])
    print(f"\n{title}\n  {'candidate':<52} {'median s':>9} {'ratio':>7}")
    rows = []
    for name in names:
        median = statistics.median(samples[name])
        rows.append({"candidate": name, "median": round(median, 3), "ratio": round(median / base, 2), "samples": [round(s, 3) for s in samples[name]]})
        print(f"  {name:<52} {median:>9.3f} {median / base:>6.2f}x")
    results[title] = rows


def reportgen(*args) -> list:
    return [BIN / "reportgen", *args]


def prepare(work: Path) -> dict[str, Path]:
    """Reference build of the benchmark spec: its code files make the baselines."""
    run(reportgen("build", WORK / "bench.yaml", "--output", work / "ref"), work)
    files = sorted((work / "ref" / "code").glob("*.py"))
    script = files[0].read_text() + PLAIN_PRELUDE + "".join(f.read_text() + PLAIN_AFTER_SECTION for f in files[1:]) + PLAIN_END
    (work / "plain.py").write_text(script)
    import nbformat

    book = nbformat.read(work / "ref" / "report.ipynb", as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    book.cells[1].source = book.cells[1].source.replace("\n_setup(__import__", "\nget_ipython().run_line_magic('matplotlib', 'inline')\n_setup(__import__")
    nbformat.write(book, work / "bench.ipynb")
    (work / "pdf.py").write_text(
        "import sys, weasyprint\nweasyprint.HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])\n"
    )
    return {"plain": work / "plain.py", "notebook": work / "bench.ipynb"}


def case_replay(work: Path, runs: int, results: dict) -> None:
    files = prepare(work)
    papermill = sequence(
        [BIN / "papermill", files["notebook"], work / "executed.ipynb", "--no-progress-bar"],
        [BIN / "jupyter", "nbconvert", "--to", "html", work / "executed.ipynb", "--output", work / "executed.html"],
    )
    samples = measure({
        "plain python script (baseline)": [BIN / "python", files["plain"]],
        "reportgen build --frozen --format html": reportgen("build", WORK / "bench.yaml", "--frozen", "--format", "html", "--output", work / "out"),
        "papermill + jupyter nbconvert --to html": papermill,
    }, runs, work)
    table("1. replay build, HTML (8 sections, 6 charts, 4 tables, 200k rows)", samples, results)


def case_pdf(work: Path, runs: int, results: dict) -> None:
    prepare(work)
    baseline = sequence([BIN / "python", work / "plain.py"], [BIN / "python", work / "pdf.py", work / "ref" / "report.html", work / "direct.pdf"])
    samples = measure({
        "plain script + WeasyPrint on the same HTML (baseline)": baseline,
        "reportgen build --frozen --format html --format pdf": reportgen("build", WORK / "bench.yaml", "--frozen", "--format", "html", "--format", "pdf", "--output", work / "out-pdf"),
    }, runs, work)
    table("2. replay build, HTML + PDF", samples, results)


def case_scale(work: Path, runs: int, results: dict) -> None:
    candidates = {f"{n} sections": reportgen("build", WORK / f"scale-{n}.yaml", "--output", work / f"scale-{n}") for n in (10, 50, 200)}
    samples = measure(candidates, runs, work)
    table("3. scale: sections with one chart each", samples, results)
    t = {n: statistics.median(samples[f"{n} sections"]) for n in (10, 50, 200)}
    low, high = (t[50] - t[10]) / 40, (t[200] - t[50]) / 150
    memory = {n: json.loads((work / f"scale-{n}" / "run.json").read_text())["memory"] for n in (10, 50, 200)}
    print(f"  marginal cost per section: 10->50 {low * 1000:.1f} ms, 50->200 {high * 1000:.1f} ms ({high / low:.2f}x)")
    for n, m in memory.items():
        print(f"  {n:>3} sections: host peak {m['host_peak_mb']:.0f} MB, session peak {m['session_peak_mb']:.0f} MB")
    results["3. marginal"] = {"10_50_ms": round(low * 1000, 2), "50_200_ms": round(high * 1000, 2), "memory": memory}


def case_bigdata(work: Path, runs: int, results: dict) -> None:
    csv = WORK / "sales-2m.csv"
    pandas_alone = subprocess.run(
        [BIN / "python", "-c", f"import pandas as pd; from reportgen.build import peak_mb; pd.read_csv({str(csv)!r}); print(peak_mb())"],
        capture_output=True, text=True, check=True,
    )
    alone = float(pandas_alone.stdout)
    samples = measure({"reportgen build big.yaml": reportgen("build", WORK / "big.yaml", "--output", work / "big")}, runs, work)
    memory = json.loads((work / "big" / "run.json").read_text())["memory"]
    print(f"\n4. big data ({csv.stat().st_size / 1e6:.0f} MB CSV, 2M rows): build {statistics.median(samples['reportgen build big.yaml']):.2f} s")
    print(f"  host peak {memory['host_peak_mb']:.0f} MB; session peak {memory['session_peak_mb']:.0f} MB vs pandas alone {alone:.0f} MB ({memory['session_peak_mb'] / alone:.2f}x)")
    results["4. big data"] = {"memory": memory, "pandas_alone_mb": round(alone, 1), "samples": samples}


def case_render(work: Path, runs: int, results: dict) -> None:
    out = work / "render"
    project = work / "project"
    shutil.copytree(ROOT / "specs", project / "specs", dirs_exist_ok=True)
    (project / "templates").mkdir(exist_ok=True)
    css = project / "templates" / "theme.css"
    css.write_text((ROOT / "templates" / "theme.css").read_text())
    spec = project / "specs" / "q3.yaml"
    run(reportgen("build", spec, "--format", "html", "--format", "pdf", "--output", out), work)

    def edit_and_render(cwd: Path) -> float:
        css.write_text(css.read_text() + f"\n/* edit {time.time()} */\n")
        return run(reportgen("render", out), cwd)

    samples = measure({
        "full build, HTML + PDF (baseline)": reportgen("build", spec, "--format", "html", "--format", "pdf", "--output", out),
        "reportgen render after a CSS edit": edit_and_render,
    }, runs, work)
    table("5. render loop (the example spec)", samples, results)


def case_startup(work: Path, runs: int, results: dict) -> None:
    samples = measure({
        "python -c pass (floor)": [BIN / "python", "-c", "pass"],
        "reportgen --help": reportgen("--help"),
        "reportgen check specs/q3.yaml": reportgen("check", ROOT / "specs" / "q3.yaml"),
    }, runs, work)
    table("6. start-up", samples, results)


CASES = {"replay": case_replay, "pdf": case_pdf, "scale": case_scale, "bigdata": case_bigdata, "render": case_render, "startup": case_startup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    make_specs.main()
    results: dict = {"machine": platform.platform(), "python": platform.python_version(), "runs": args.runs}
    work = Path(tempfile.mkdtemp(prefix="reportgen-bench-"))
    try:
        for name in args.only.split(","):
            CASES[name](work, args.runs, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
