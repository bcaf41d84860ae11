"""End-to-end: the real CLI on real specs, checking what a reader and a CI job see."""

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from support import ROOT, SPECS, reportgen, run_json, write_spec

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    out = tmp_path_factory.mktemp("q3")
    done = reportgen("build", ROOT / "specs" / "q3.yaml", "--format", "html", "--format", "pdf", "--output", out, "--json")
    return out, done


def expected_q3_revenue() -> float:
    sales = pd.read_csv(ROOT / "specs" / "data" / "sales.csv", parse_dates=["order_date"])
    q3 = sales[sales["order_date"].dt.quarter == 3]
    return float((q3["units"] * q3["unit_price"] * (1 - q3["discount"].fillna(0))).sum())


def test_example_builds_with_exit_0_and_progress(example):
    out, done = example
    assert done.returncode == 0, done.stderr
    assert "Building 'Q3 2026 Sales Review' (q3.yaml): 7 sections" in done.stderr
    assert re.search(r"\[7/7\] returns ok \d+\.\d\ds \(lock\)", done.stderr)
    assert json.loads(done.stdout) == run_json(out)


def test_example_html_is_self_contained_with_every_section(example):
    out, _ = example
    html = (out / "report.html").read_text()
    ids = re.findall(r'<section class="section status-ok" id="([a-z0-9-]+)"', html)
    assert ids == ["data-quality", "headline", "revenue-trend", "regions", "products", "channels", "returns"]
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 5
    assert html.count("<table>") == 5  # four tables and the build log
    assert not re.search(r'(src|href)="(https?:|file:|/)', html)
    assert f"Net revenue reached <strong>${expected_q3_revenue():,.0f}</strong> in 2026-Q3" in html


def test_example_pdf_has_toc_page_numbers_and_running_header(example):
    out, _ = example
    text = subprocess.run(["pdftotext", "-layout", out / "report.pdf", "-"], capture_output=True, text=True, check=True).stdout
    pages = text.split("\f")
    assert "Q3 2026 Sales Review" in pages[0] and "CONTENTS" in pages[0].upper()
    assert re.search(r"Revenue trend\s*\.+\s*\d+", pages[0])
    total = len([p for p in pages if p.strip()])
    assert f"Page 2 of {total}" in pages[1]
    assert pages[1].lstrip().startswith("Q3 2026 Sales Review")
    toc_page = int(re.search(r"Returns\s*\.+\s*(\d+)", pages[0]).group(1))
    assert "7 Returns" in pages[toc_page - 1]


def test_example_run_json_describes_the_run(example):
    out, _ = example
    run = run_json(out)
    assert run["status"] == "ok"
    assert run["params"] == {"quarter": "2026-Q3"}
    data = ROOT / "specs" / "data" / "sales.csv"
    assert run["datasets"]["sales"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert run["datasets"]["sales"]["rows"] == 12000
    assert [(s["id"], s["status"], s["source"]) for s in run["sections"]] == [
        ("data-quality", "ok", "code"), ("headline", "ok", "lock"), ("revenue-trend", "ok", "lock"), ("regions", "ok", "code"),
        ("products", "ok", "lock"), ("channels", "ok", "code"), ("returns", "ok", "lock"),
    ]
    headline = run["sections"][1]
    assert headline["facts"]["revenue"] == pytest.approx(expected_q3_revenue())
    assert headline["warnings"] == [] and headline["error"] is None
    assert run["sandbox"] in ("none", "bubblewrap")


def test_example_code_files_replay_in_plain_python(example, tmp_path):
    out, _ = example
    files = sorted((out / "code").glob("*.py"))
    assert [f.name for f in files] == [
        "00-setup.py", "01-data-quality.py", "02-headline.py", "03-revenue-trend.py", "04-regions.py",
        "05-products.py", "06-channels.py", "07-returns.py",
    ]
    script = tmp_path / "all.py"
    script.write_text("\n".join(f.read_text() for f in files))
    done = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"revenue = {expected_q3_revenue():.0f}"[:14] in done.stdout


def test_example_notebook_is_valid_with_outputs(example):
    out, _ = example
    book = nbformat.read(out / "report.ipynb", as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert [c.id for c in code] == ["setup", "data-quality", "headline", "revenue-trend", "regions", "products", "channels", "returns"]
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5


def test_failures_hangs_and_crashes_fail_only_their_section(tmp_path):
    spec = write_spec(tmp_path, """\
version: 1
title: Trouble
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: first
    code: base = len(tiny)
  - id: raises
    code: "1 / 0"
  - id: hangs
    timeout: 1
    code: |
      import time
      while True: time.sleep(0.1)
  - id: dies
    code: |
      import os
      os._exit(1)
  - id: bad-narrative
    code: fact("x", 1)
    narrative: "{{ y }}"
  - id: last
    code: fact("base", base)
    narrative: "Still {{ base }} rows."
""")
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 1, done.stderr
    run = run_json(tmp_path / "out")
    assert run["status"] == "failed"
    assert [s["status"] for s in run["sections"]] == ["ok", "failed", "failed", "failed", "failed", "ok"]
    errors = [s["error"] for s in run["sections"]]
    assert "ZeroDivisionError: division by zero" in errors[1]
    assert errors[2] == "The step ran longer than its 1 s timeout and was interrupted."
    assert errors[3] == "The session's Python process died (exit status 1)."
    assert errors[4] == "the narrative uses 'y' is undefined; facts recorded: x"
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("This section failed.") == 4
    assert "ZeroDivisionError" in html and "Still 5 rows." in html
    assert "4 of 6 sections failed in this build" in html
    assert "[2/6] raises FAILED" in done.stderr and "ZeroDivisionError: division by zero" in done.stderr


def test_question_without_lock_or_model_stops_before_running(tmp_path):
    spec = write_spec(tmp_path, """\
version: 1
title: Needs a model
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: first
    code: (OUT_DIR / "ran.txt").write_text("ran")
  - id: ask
    question: What is the total?
""")
    done = reportgen("build", spec, "--frozen", "--output", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.startswith("error: 1 question section has no matching entry in spec.lock.yaml and no model is configured")
    assert "ask (no entry)" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_spec_exits_2_with_positions_and_nothing_written(tmp_path):
    done = reportgen("build", SPECS / "bad" / "several_problems.yaml", "--output", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "5 problems in the spec; nothing was run."
    assert not (tmp_path / "out").exists()


def test_check_validates_without_running(tmp_path):
    ok = reportgen("check", ROOT / "specs" / "q3.yaml")
    assert ok.returncode == 0 and "q3.yaml: ok (7 sections, 1 dataset, 4 lock entries)" in ok.stderr
    bad = reportgen("check", SPECS / "bad" / "unknown_key.yaml")
    assert bad.returncode == 2 and "unknown key 'titel' (did you mean 'title'?)" in bad.stderr


def test_param_override_changes_the_numbers(tmp_path):
    spec = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text())
    done = reportgen("build", spec, "--param", "region=South", "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    assert "5 rows add up to $655.25; South made $125.25." in html
    assert run_json(tmp_path / "out")["params"] == {"region": "South"}


def test_render_reuses_results_and_picks_up_template_edits(tmp_path):
    spec = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text())
    out = tmp_path / "out"
    assert reportgen("build", spec, "--output", out).returncode == 0
    built = (out / "report.html").read_text()
    assert reportgen("render", out).returncode == 0
    assert (out / "report.html").read_text() == built
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "build-log.html.j2").write_text("<footer>Made by ACME</footer>\n")
    done = reportgen("render", out, "--format", "html", "--format", "pdf")
    assert done.returncode == 0, done.stderr
    assert "<footer>Made by ACME</footer>" in (out / "report.html").read_text()
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_template_error_keeps_the_last_good_report(tmp_path):
    spec = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text())
    out = tmp_path / "out"
    assert reportgen("build", spec, "--output", out).returncode == 0
    good = (out / "report.html").read_bytes()
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "build-log.html.j2").write_text("{{ build.missing.value }}")
    done = reportgen("build", spec, "--output", out)
    assert done.returncode == 2
    assert f"{tmp_path / 'templates' / 'build-log.html.j2'}:1: template error" in done.stderr
    assert (out / "report.html").read_bytes() == good


def test_killed_build_keeps_the_last_report_and_leaves_no_kernel(tmp_path):
    spec = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text())
    out = tmp_path / "out"
    assert reportgen("build", spec, "--output", out).returncode == 0
    good = (out / "report.html").read_bytes()
    slow = write_spec(tmp_path, (SPECS / "tiny.yaml").read_text().replace('fact("rows", len(tiny))', 'fact("rows", len(tiny)); import time; time.sleep(60)'), "slow.yaml")
    build = subprocess.Popen([sys.executable, "-m", "reportgen", "build", slow, "--output", out], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _kernels_for(build.pid):
        time.sleep(0.2)
    kernels = _kernels_for(build.pid)
    assert kernels, "the build never started its kernel"
    time.sleep(1)
    build.send_signal(signal.SIGKILL)
    build.wait()
    time.sleep(1)
    assert not [k for k in kernels if _running(k)], "the kernel outlived the build"
    assert (out / "report.html").read_bytes() == good
    assert not list(out.glob(".*.tmp"))


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _kernels_for(parent: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"kernelapp" in cmdline:
                found.append(int(proc.name))
    return found


def test_init_creates_a_project_that_builds(tmp_path):
    done = reportgen("init", tmp_path / "project")
    assert done.returncode == 0, done.stderr
    build = reportgen("build", "specs/example.yaml", cwd=tmp_path / "project")
    assert build.returncode == 0, build.stderr
    html = (tmp_path / "project" / "output" / "example" / "report.html").read_text()
    assert "Revenue per day" in html and "sold the most." in html
    again = reportgen("init", tmp_path / "project")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_every_dataset_format_loads_as_a_dataframe(tmp_path):
    frame = pd.DataFrame({"name": ["a", "b", "c"], "value": [1.5, 2.0, 3.25]})
    data = tmp_path / "data"
    data.mkdir()
    frame.to_csv(data / "f.csv", index=False)
    frame.to_csv(data / "f.tsv", sep="\t", index=False)
    frame.to_excel(data / "f.xlsx", index=False)
    frame.to_parquet(data / "f.parquet", index=False)
    frame.to_json(data / "f.json", orient="records")
    frame.to_json(data / "f.jsonl", orient="records", lines=True)
    (data / "semi.txt").write_text("name;value\na;1\n")
    spec = tmp_path / "formats.yaml"
    spec.write_text("""\
version: 1
title: Formats
datasets:
  csv_data: {path: data/f.csv}
  tsv_data: {path: data/f.tsv}
  xlsx_data: {path: data/f.xlsx}
  parquet_data: {path: data/f.parquet}
  json_data: {path: data/f.json}
  jsonl_data: {path: data/f.jsonl}
  semi: {path: data/semi.txt, format: csv, options: {sep: ";"}}
sections:
  - id: sums
    code: |
      for name in ["csv_data", "tsv_data", "xlsx_data", "parquet_data", "json_data", "jsonl_data"]:
          fact(name, float(globals()[name]["value"].sum()))
      fact("semi", list(semi.columns) == ["name", "value"])
      fact("raw", sorted(p.name for p in DATA_DIR.iterdir()) == ["f.csv", "f.json", "f.jsonl", "f.parquet", "f.tsv", "f.xlsx", "semi.txt"])
""")
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    facts = run_json(tmp_path / "out")["sections"][0]["facts"]
    assert facts == {"csv_data": 6.75, "tsv_data": 6.75, "xlsx_data": 6.75, "parquet_data": 6.75, "json_data": 6.75,
                     "jsonl_data": 6.75, "semi": True, "raw": True}


def test_unreadable_dataset_is_bad_input(tmp_path):
    spec = write_spec(tmp_path, "version: 1\ntitle: T\ndatasets: {t: {path: data/bad.parquet}}\nsections: [{id: a, code: x = 1}]\n")
    (tmp_path / "data" / "bad.parquet").write_text("not parquet")
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 2
    assert done.stderr.startswith("error: The datasets could not be loaded into the session: RuntimeError: dataset 't' (bad.parquet) could not be read as parquet:")
    assert not (tmp_path / "out").exists()
