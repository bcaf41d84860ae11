"""Generate specs/data/sales.csv: order lines for Q2 and Q3 2026, seeded, with a few messy values.

    python specs/data/make_sales.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 2026
ROWS = 12_000
PRODUCTS = {  # product: (category, list price)
    "Atlas Laptop 14": ("Computers", 1299.0),
    "Atlas Laptop 16": ("Computers", 1699.0),
    "Nimbus Tablet": ("Computers", 549.0),
    "Echo Headphones": ("Audio", 199.0),
    "Echo Earbuds": ("Audio", 129.0),
    "Pulse Speaker": ("Audio", 89.0),
    "Dock Pro": ("Accessories", 249.0),
    "Sleeve 14": ("Accessories", 39.0),
    "Charger 100W": ("Accessories", 59.0),
}
REGIONS = {"EMEA": 0.34, "AMER": 0.38, "APAC": 0.22, "LATAM": 0.06}
CHANNELS = {"Online": 0.52, "Retail": 0.31, "Partner": 0.17}


def generate(rng: np.random.Generator) -> pd.DataFrame:
    days = pd.date_range("2026-04-01", "2026-09-30", freq="D")
    # Demand grows through Q3, with a back-to-school bump in late August.
    weight = np.linspace(1.0, 1.35, len(days)) + np.where((days.month == 8) & (days.day > 15), 0.35, 0.0)
    dates = rng.choice(days, size=ROWS, p=weight / weight.sum())
    products = rng.choice(list(PRODUCTS), size=ROWS, p=[0.09, 0.05, 0.1, 0.13, 0.17, 0.12, 0.08, 0.14, 0.12])
    regions = rng.choice(list(REGIONS), size=ROWS, p=list(REGIONS.values()))
    channels = rng.choice(list(CHANNELS), size=ROWS, p=list(CHANNELS.values()))
    price = np.array([PRODUCTS[p][1] for p in products])
    units = rng.poisson(1.6, ROWS) + 1
    discount = np.round(rng.choice([0, 0, 0, 0.05, 0.1, 0.15, 0.2], ROWS) + (channels == "Partner") * 0.05, 2)
    returned = rng.random(ROWS) < np.where(np.char.startswith(products.astype(str), "Echo"), 0.09, 0.04)
    frame = pd.DataFrame(
        {
            "order_id": [f"SO-{100000 + i}" for i in range(ROWS)],
            "order_date": pd.to_datetime(dates).strftime("%Y-%m-%d"),
            "region": regions,
            "channel": channels,
            "product": products,
            "category": [PRODUCTS[p][0] for p in products],
            "units": units,
            "unit_price": price,
            "discount": discount.astype(float),
            "returned": returned,
        }
    ).sort_values(["order_date", "order_id"], ignore_index=True)
    return mess_up(frame, rng)


def mess_up(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Real exports are never clean: missing discounts, stray spaces and case in regions."""
    missing = rng.choice(len(frame), 60, replace=False)
    frame.loc[missing, "discount"] = np.nan
    sloppy = rng.choice(len(frame), 40, replace=False)
    frame.loc[sloppy, "region"] = frame.loc[sloppy, "region"].str.lower() + " "
    return frame


if __name__ == "__main__":
    target = Path(__file__).with_name("sales.csv")
    generate(np.random.default_rng(SEED)).to_csv(target, index=False)
    print(f"wrote {target}")
