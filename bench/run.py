"""Benchmarks: a replayed build of the example vs. the same code as one plain Python script.

    .venv/bin/python bench/run.py [--runs 5]

Candidates run alternately in the same run, after one warm-up each; the table shows
medians and the ratio to the baseline, and bench/results.json keeps every sample.
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

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "q3.yaml"
BIN = Path(sys.executable).parent
SAVE_FIGURES = (
    "\nfor _n in plt.get_fignums():\n"
    "    plt.figure(_n).savefig(f'fig-{{_n}}-{index}.png', dpi=plt.rcParams['savefig.dpi'], bbox_inches='tight')\n"
    "plt.close('all')\n"
)


def plain_script(work: Path) -> Path:
    """The example's section code as one script that saves the same figures (the floor)."""
    done = subprocess.run([BIN / "reportgen", "build", SPEC, "--output", work / "ref"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the reference build failed:\n{done.stderr}")
    files = sorted((work / "ref" / "code").glob("*.py"))
    parts = [files[0].read_text()] + [f.read_text() + SAVE_FIGURES.format(index=i) for i, f in enumerate(files[1:], 1)]
    script = work / "plain.py"
    script.write_text("\n".join(parts))
    return script


def candidates(work: Path) -> dict[str, list]:
    script = plain_script(work)
    build = [BIN / "reportgen", "build", SPEC, "--frozen", "--output", work / "out"]
    return {
        "plain python script (baseline)": [BIN / "python", script],
        "reportgen build --format html": build + ["--format", "html"],
        "reportgen build --format html --format pdf": build + ["--format", "html", "--format", "pdf"],
        "reportgen render (html + pdf, no build)": [BIN / "reportgen", "render", work / "out", "--format", "html", "--format", "pdf"],
    }


def time_once(command: list, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{command} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="reportgen-bench-"))
    try:
        cases = candidates(work)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for command in cases.values():
            time_once(command, work)  # warm-up: page cache, font cache, .pyc files
        for _ in range(args.runs):
            for name, command in cases.items():
                samples[name].append(time_once(command, work))
        timings = json.loads((work / "out" / "run.json").read_text())["timings"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(samples, timings)


def report(samples: dict[str, list[float]], timings: dict[str, float]) -> None:
    names = list(samples)
    baseline = statistics.median(samples[names[0]])
    print(f"{'case':<46} {'median s':>9} {'ratio':>7}")
    rows = []
    for name in names:
        median = statistics.median(samples[name])
        rows.append({"case": name, "median": round(median, 3), "ratio": round(median / baseline, 2), "samples": samples[name]})
        print(f"{name:<46} {median:>9.3f} {median / baseline:>6.2f}x")
    print("\nwhere the last build's time went (run.json timings, s):", ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    result = {"machine": platform.platform(), "python": platform.python_version(), "cases": rows, "last_build_timings": timings}
    (ROOT / "bench" / "results.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
