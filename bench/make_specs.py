"""Generate the benchmark specs and data into bench/work/ (git-ignored).

    bench.yaml     8 sections, 6 charts, 4 tables, a ~200k-row CSV
    scale-N.yaml   N sections with one chart each (N = 10, 50, 200)
    big.yaml       one 2M-row (~250 MB) CSV, a few aggregate sections
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

WORK = Path(__file__).resolve().parent / "work"

BENCH_SECTIONS = [
    ("clean", 'orders = sales.copy()\norders["day"] = pd.to_datetime(orders["day"])\norders["revenue"] = orders["units"] * orders["price"]\nfact("rows", len(orders))', None),
    ("daily", 'daily = orders.groupby("day")["revenue"].sum()\nax = daily.plot(title="Revenue per day")\nfact("best_day", daily.idxmax().date())', None),
    ("regions", 'by_region = orders.groupby("region")["revenue"].agg(["sum", "mean", "count"])\nshow(by_region, title="By region")\nax = by_region["sum"].plot.bar(title="Revenue by region")', None),
    ("products", 'top = orders.groupby("product")["revenue"].sum().nlargest(20)\nshow(top.to_frame(), title="Top products")\nax = top.plot.barh(title="Top products")', None),
    ("weekly", 'weekly = orders.set_index("day")["revenue"].resample("W").sum()\nax = weekly.plot(title="Weekly revenue")', None),
    ("mix", 'mix = orders.pivot_table(index=orders["day"].dt.month, columns="channel", values="revenue", aggfunc="sum")\nshow(mix, title="Channel mix")\nax = mix.plot.bar(stacked=True, title="Channel mix")', None),
    ("distribution", 'ax = orders["revenue"].clip(upper=orders["revenue"].quantile(0.99)).plot.hist(bins=50, title="Order revenue")', None),
    ("summary", 'show(orders.describe(), title="Summary")\nfact("total", orders["revenue"].sum())', "{{ rows | num }} rows, {{ total | money }}."),
]


def sales(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-01", "2026-12-31", freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({
        "day": rng.choice(days, rows),
        "region": rng.choice(["EMEA", "AMER", "APAC", "LATAM"], rows),
        "channel": rng.choice(["Online", "Retail", "Partner"], rows),
        "product": rng.choice([f"P-{i:03d}" for i in range(300)], rows),
        "units": rng.integers(1, 10, rows),
        "price": rng.gamma(2.0, 40.0, rows).round(2),
        "note": rng.choice(["", "gift", "rush", "return requested"], rows),
    })


def wide_sales(rows: int, seed: int) -> pd.DataFrame:
    """About 125 bytes a row: 2M rows make the ~250 MB file of the big-data case."""
    rng = np.random.default_rng(seed)
    frame = sales(rows, seed)
    comments = [f"Customer comment {i:03d}: delivery on time, packaging fine, would order again" for i in range(500)]
    frame["comment"] = rng.choice(comments, rows)
    return frame


def spec(title: str, data: str, sections: list[tuple[str, str, str | None]]) -> str:
    lines = [f"version: 1\ntitle: {title}\ndatasets:\n  sales: {{path: {data}}}\nstyle: {{dpi: 100, figsize: [8, 4], max_charts: 2}}\nsession: {{timeout: 600}}\nsections:"]
    for section_id, code, narrative in sections:
        lines.append(f"  - id: {section_id}\n    code: |\n" + "".join(f"      {line}\n" for line in code.splitlines()))
        if narrative:
            lines.append(f"    narrative: {narrative!r}")
    return "\n".join(lines) + "\n"


def main() -> None:
    WORK.mkdir(exist_ok=True)
    sales(200_000).to_csv(WORK / "sales-200k.csv", index=False)
    (WORK / "bench.yaml").write_text(spec("Benchmark", "sales-200k.csv", BENCH_SECTIONS))
    sales(2_000, 1).to_csv(WORK / "sales-2k.csv", index=False)
    for n in (10, 50, 200):
        sections = [("load", 'frame = sales.copy()\nfact("rows", len(frame))', None)]
        sections += [(f"chart-{i:03d}", f'part = frame[frame["units"] > {i % 9}]\nax = part.groupby("region")["price"].mean().plot.bar(title="Chart {i}")\nfact("n{i}", len(part))', f"{{{{ n{i} | num }}}} rows.") for i in range(n)]
        (WORK / f"scale-{n}.yaml").write_text(spec(f"Scale {n}", "sales-2k.csv", sections[:n]))
    big = WORK / "sales-2m.csv"
    if not big.exists():
        wide_sales(2_000_000, 2).to_csv(big, index=False)
    big_sections = [("totals", 'fact("rows", len(sales))\nshow(sales.groupby("region")["price"].sum().to_frame(), title="By region")', None),
                    ("chart", 'ax = sales.groupby("channel")["units"].sum().plot.bar(title="Units by channel")', None)]
    (WORK / "big.yaml").write_text(spec("Big data", "sales-2m.csv", big_sections))


if __name__ == "__main__":
    main()
