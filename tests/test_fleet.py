"""Recurring reports at scale: matrices, builds side by side, stable output."""

import pytest
import yaml

from fake_openai import Code, FakeOpenAI, Say
from support import reportgen, run_json, write_spec

pytestmark = pytest.mark.e2e

MATRIX = """\
version: 1
title: Region report
params: {region: North, year: 2026}
matrix:
  region: [North, South, East]
  year: [2025, 2026]
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: totals
    code: |
      mine = tiny[tiny["region"] == params["region"]]
      fact("total", mine["amount"].sum() * (2 if params["year"] == 2026 else 1))
      ax = mine.plot.bar(x="day", y="amount", title=params["region"])
    narrative: "{{ params.region }} in {{ params.year }}: {{ total | money }}."
"""


def test_matrix_builds_every_variant_side_by_side_with_an_index(tmp_path):
    spec = write_spec(tmp_path, MATRIX)
    done = reportgen("build", spec, "--jobs", "2", "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert "Building 6 reports, 2 at a time" in done.stderr
    expected = {"North-2025": "$220.00", "North-2026": "$440.00", "South-2025": "$125.25", "South-2026": "$250.50",
                "East-2025": "$310.00", "East-2026": "$620.00"}
    for variant, money in expected.items():
        region, year = variant.split("-")
        html = (tmp_path / "out" / variant / "report.html").read_text()
        assert f"{region} in {year}: {money}." in html
        assert run_json(tmp_path / "out" / variant)["params"] == {"region": region, "year": int(year)}
    index = (tmp_path / "out" / "index.html").read_text()
    assert all(f'<a href="{v}/report.html">{v}</a>' in index for v in expected)
    assert "spec: 6 reports" in index


def test_only_and_param_pick_variants(tmp_path):
    spec = write_spec(tmp_path, MATRIX)
    done = reportgen("build", spec, "--only", "region=East", "--param", "year=2025", "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["East-2025", "index.html"]
    bad = reportgen("build", spec, "--only", "country=FR", "--output", tmp_path / "out")
    assert bad.returncode == 2 and "--only country: not a matrix key of spec.yaml (region, year)." in bad.stderr


def test_matrix_values_from_a_dataset_column(tmp_path):
    text = MATRIX.replace("  region: [North, South, East]\n  year: [2025, 2026]\n", "  region: {dataset: tiny, column: region}\n")
    spec = write_spec(tmp_path, text)
    done = reportgen("build", spec, "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["East", "North", "South", "index.html"]


def test_a_failing_variant_does_not_stop_the_others(tmp_path):
    text = MATRIX.replace('      mine = tiny[', '      assert params["region"] != "South", "no data for South"\n      mine = tiny[')
    spec = write_spec(tmp_path, text)
    done = reportgen("build", spec, "--jobs", "2", "--output", tmp_path / "out")
    assert done.returncode == 1
    statuses = {p.name: run_json(p)["status"] for p in (tmp_path / "out").iterdir() if p.is_dir()}
    assert statuses == {"North-2025": "ok", "North-2026": "ok", "South-2025": "failed", "South-2026": "failed",
                        "East-2025": "ok", "East-2026": "ok"}
    summary = done.stderr.split("\nreport ")[1]
    assert "spec/South-2025" in summary and "failed" in summary


def test_variants_share_the_lock_so_the_model_writes_once(tmp_path):
    spec = write_spec(tmp_path, """\
version: 1
title: Region report
params: {region: North}
matrix: {region: [North, South, East]}
model: {provider: openai-compatible, name: local-model}
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: total
    question: What did this region sell?
""")
    with FakeOpenAI() as fake:
        fake.on("What did this region sell?",
                Code('fact("total", tiny.loc[tiny["region"] == params["region"], "amount"].sum())'),
                Say("{{ params.region }} sold {{ total | money }}."))
        done = reportgen("build", spec, "--jobs", "2", "--output", tmp_path / "out", env=fake.env())
        assert done.returncode == 0, done.stderr
        assert len(fake.model_requests()) == 2
    assert list(yaml.safe_load((tmp_path / "spec.lock.yaml").read_text())["sections"]) == ["total"]
    assert "South sold $125.25." in (tmp_path / "out" / "South" / "report.html").read_text()


def test_rebuild_with_identical_inputs_is_byte_identical(tmp_path):
    spec = write_spec(tmp_path, MATRIX)
    first = tmp_path / "first"
    second = tmp_path / "second"
    assert reportgen("build", spec, "--only", "region=North", "--param", "year=2026", "--output", first).returncode == 0
    assert reportgen("build", spec, "--only", "region=North", "--param", "year=2026", "--output", second).returncode == 0
    a, b = first / "North-2026", second / "North-2026"
    for name in ["report.html", "report.ipynb", "code/00-setup.py", "code/01-totals.py", "assets/01-totals-1.png"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_warm_kernels_start_each_build_with_a_fresh_namespace_and_empty_out_dir(tmp_path):
    spec = write_spec(tmp_path, """\
version: 1
title: Reuse
params: {region: North}
matrix: {region: [North, South, East]}
datasets: {tiny: {path: data/tiny.csv}}
sections:
  - id: leak
    code: |
      fact("leaked", "marker" in globals())
      fact("files", len(list(OUT_DIR.iterdir())))
      marker = params["region"]
      (OUT_DIR / f"{marker}.txt").write_text(marker)
""")
    done = reportgen("build", spec, "--jobs", "1", "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    for region in ("North", "South", "East"):
        run = run_json(tmp_path / "out" / region)
        assert run["sections"][0]["facts"] == {"leaked": False, "files": 0}
        assert [p.name for p in (tmp_path / "out" / region / "assets" / "files").iterdir()] == [f"{region}.txt"]


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_workers_build_variants_and_send_the_files_back(tmp_path, dask_cluster):
    spec = write_spec(tmp_path, MATRIX)
    done = reportgen("build", spec, "--executor", "dask", "--scheduler", dask_cluster, "--output", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert f"Building 6 reports on the Dask cluster at {dask_cluster}" in done.stderr
    for variant, money in {"South-2025": "$125.25", "East-2026": "$620.00"}.items():
        region, year = variant.split("-")
        assert f"{region} in {year}: {money}." in (tmp_path / "out" / variant / "report.html").read_text()
        run = run_json(tmp_path / "out" / variant)
        assert run["output"] == str(tmp_path / "out" / variant) and run["status"] == "ok"
    assert "East-2026/report.html" in (tmp_path / "out" / "index.html").read_text()


def test_a_variant_that_fails_on_a_dask_worker_keeps_its_last_report(tmp_path, dask_cluster):
    text = MATRIX.replace("datasets: {tiny: {path: data/tiny.csv}}", "datasets: {tiny: {path: 'data/{{ params.region }}.csv'}}")
    spec = write_spec(tmp_path, text.replace("region: [North, South, East]", "region: [North, South]"))
    for region in ("North", "South"):
        (tmp_path / "data" / f"{region}.csv").write_text((tmp_path / "data" / "tiny.csv").read_text())
    build = ("build", spec, "--executor", "dask", "--scheduler", dask_cluster, "--output", tmp_path / "out")
    assert reportgen(*build).returncode == 0
    (tmp_path / "data" / "South.csv").unlink()
    again = reportgen(*build)
    assert again.returncode == 2 and "South-2025: error:" in again.stderr
    kept = tmp_path / "out" / "South-2025"
    assert (kept / "assets" / "01-totals-1.png").is_file() and (kept / "code" / "01-totals.py").is_file()
    assert "South in 2025: $125.25." in (kept / "report.html").read_text()


def test_dask_without_a_reachable_scheduler_is_bad_usage(tmp_path):
    spec = write_spec(tmp_path, MATRIX)
    missing = reportgen("build", spec, "--executor", "dask", "--output", tmp_path / "out")
    assert missing.returncode == 2 and "--executor dask needs --scheduler tcp://HOST:8786" in missing.stderr


def test_ctrl_c_stops_the_run_and_keeps_finished_reports(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    text = MATRIX.replace('      mine = tiny[', '      import time; time.sleep(0 if params["region"] == "North" else 6)\n      mine = tiny[')
    spec = write_spec(tmp_path, text)
    run = subprocess.Popen([sys.executable, "-m", "reportgen", "build", spec, "--jobs", "1", "--output", tmp_path / "out"],
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp_path / "out" / "North-2025" / "report.html").exists():
        time.sleep(0.2)
    time.sleep(1)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130
    assert "interrupted: finished reports are intact; builds not started were skipped." in stderr
    assert "North in 2025: $220.00." in (tmp_path / "out" / "North-2025" / "report.html").read_text()
    assert not (tmp_path / "out" / "East-2026").exists()


def test_two_specs_may_not_share_an_output_folder(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_spec(tmp_path / name, MATRIX.replace("matrix:\n  region: [North, South, East]\n  year: [2025, 2026]\n", ""), "q.yaml")
    done = reportgen("build", "a/q.yaml", "b/q.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert f"a/q.yaml and b/q.yaml would both write to {tmp_path / 'output' / 'q'}; give one of them `output: {{dir: …}}`." in done.stderr
    assert not (tmp_path / "output").exists()


def test_several_specs_build_side_by_side(tmp_path):
    for name in ("east", "west"):
        write_spec(tmp_path, MATRIX.replace("matrix:\n  region: [North, South, East]\n  year: [2025, 2026]\n", ""), f"{name}.yaml")
    done = reportgen("build", "east.yaml", "west.yaml", "--jobs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "output" / "east" / "report.html").exists() and (tmp_path / "output" / "west" / "report.html").exists()
