"""Fleet throughput: 24 matrix variants with --jobs 1, --jobs 2 and a Dask LocalCluster,
and the per-variant cost with warm kernels vs a fresh kernel per variant.

    .venv/bin/python bench/fleet.py [--runs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import make_specs
from run import BIN, measure, table

SPEC = """\
version: 1
title: Fleet
params: {region: EMEA, month: 1}
matrix:
  region: [EMEA, AMER, APAC, LATAM]
  month: [1, 2, 3, 4, 5, 6]
datasets:
  sales: {path: sales-200k.csv}
style: {dpi: 100, figsize: [8, 4]}
sections:
  - id: month
    code: |
      sales["day"] = pd.to_datetime(sales["day"])
      mine = sales[(sales["region"] == params["region"]) & (sales["day"].dt.month == params["month"])]
      fact("revenue", (mine["units"] * mine["price"]).sum())
      show(mine.groupby("channel")["units"].sum().to_frame(), title="Units by channel")
  - id: chart
    code: |
      ax = mine.groupby(mine["day"].dt.day)["price"].mean().plot(title="Average price by day")
    narrative: "Revenue: {{ revenue | money }}."
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    runs = parser.parse_args().runs
    make_specs.main()
    spec = make_specs.WORK / "fleet.yaml"
    spec.write_text(SPEC)
    work = Path(tempfile.mkdtemp(prefix="reportgen-bench-fleet-"))
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        build = [BIN / "reportgen", "build", spec, "--output", work / "out"]
        samples = measure({
            "--jobs 1 --fresh-kernels (baseline)": build + ["--jobs", "1", "--fresh-kernels"],
            "--jobs 1 (warm kernels)": build + ["--jobs", "1"],
            "--jobs 2 (warm kernels)": build + ["--jobs", "2"],
            "--executor dask, LocalCluster of 2 workers": build + ["--executor", "dask", "--scheduler", cluster.scheduler_address],
        }, runs, work)
    table("24 matrix variants (2 sections, 1 chart, 1 table each; 200k-row CSV)", samples, {})
    fresh = statistics.median(samples["--jobs 1 --fresh-kernels (baseline)"]) / 24
    warm = statistics.median(samples["--jobs 1 (warm kernels)"]) / 24
    print(f"  per variant, one at a time: fresh kernel {fresh:.2f} s, warm kernel {warm:.2f} s ({warm / fresh:.2f}x)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
