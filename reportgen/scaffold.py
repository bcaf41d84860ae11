"""`reportgen init`: a small working project to start from."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UsageError
from .render import builtin_theme

SPEC = """\
version: 1
title: Monthly Sales
subtitle: "A starting point: edit the questions, add datasets, run `reportgen build`."
params:
  month: "2026-09"

datasets:
  sales:
    path: data/sales.csv
    description: One row per order; amount in USD.

style:
  palette: ["#0B5FFF", "#00A389", "#FFB020", "#E5484D"]

sections:
  - id: overview
    title: Overview
    code: |
      sales["date"] = pd.to_datetime(sales["date"])
      fact("orders", len(sales))
      fact("revenue", sales["amount"].sum())
      daily = sales.groupby("date")["amount"].sum()
      ax = daily.plot()
      ax.set_title("Revenue per day")
      ax.set_ylabel("USD")
    narrative: |
      {{ orders | num }} orders brought in **{{ revenue | money }}**.

  - id: by-region
    title: By region
    code: |
      by_region = sales.groupby("region")["amount"].agg(["count", "sum"])
      by_region.columns = ["Orders", "Revenue (USD)"]
      fact("top_region", by_region["Revenue (USD)"].idxmax())
      show(by_region.sort_values("Revenue (USD)", ascending=False), title="Revenue by region")
    narrative: |
      {{ top_region }} sold the most.

  # A question section: a model writes the code on the first build (set OPENAI_API_KEY),
  # and every later build replays it from specs/example.lock.yaml.
  # - id: trend
  #   question: Is revenue growing week over week?
"""


def sample_data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    days = pd.date_range("2026-09-01", "2026-09-30", freq="D")
    n = 400
    return pd.DataFrame({
        "date": rng.choice(days, n).astype("datetime64[ns]").astype(str),
        "region": rng.choice(["North", "South", "East", "West"], n),
        "amount": rng.gamma(2.0, 60.0, n).round(2),
    }).sort_values("date", ignore_index=True)


def scaffold(directory: Path) -> list[Path]:
    """Create specs/example.yaml, its data, and templates/ with the brand and CSS to edit."""
    directory = Path(directory)
    spec = directory / "specs" / "example.yaml"
    if spec.exists():
        raise UsageError(f"{spec} already exists; choose an empty folder for `reportgen init`.")
    created = []
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(SPEC, encoding="utf-8")
    created.append(spec)
    data = directory / "specs" / "data" / "sales.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    sample_data().to_csv(data, index=False)
    created.append(data)
    templates = directory / "templates"
    templates.mkdir(exist_ok=True)
    for name in ("brand.yaml", "theme.css"):  # the two files a team edits first
        target = templates / name
        if not target.exists():
            shutil.copyfile(builtin_theme() / name, target)
            created.append(target)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("output/\n", encoding="utf-8")
        created.append(ignore)
    return created
