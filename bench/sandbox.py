"""The sandbox's cost: session start and per-step time, bubblewrap vs. unconfined.

    .venv/bin/python bench/sandbox.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from reportgen.session.local import LocalSession
from reportgen.session.sandbox import Bubblewrap, Unconfined

STEPS = 200


def measure(launcher) -> tuple[float, float]:
    with LocalSession({}, launcher) as session:
        begin = time.perf_counter()
        session.start()
        assert session.run("import pandas, matplotlib", 60).ok
        started = time.perf_counter() - begin
        begin = time.perf_counter()
        for i in range(STEPS):
            session.run(f"x = {i}", 10)
        per_step = (time.perf_counter() - begin) / STEPS
    return started, per_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    samples = {"unconfined": [], "bubblewrap": []}
    launchers = {"unconfined": Unconfined, "bubblewrap": Bubblewrap}
    for name, make in launchers.items():
        measure(make())  # warm-up
    for _ in range(runs):
        for name, make in launchers.items():
            samples[name].append(measure(make()))
    base_start = statistics.median(s for s, _ in samples["unconfined"])
    base_step = statistics.median(p for _, p in samples["unconfined"])
    print(f"{'session':<12} {'start+imports s':>16} {'ratio':>6} {'per step ms':>12} {'ratio':>6}")
    for name, values in samples.items():
        start = statistics.median(s for s, _ in values)
        step = statistics.median(p for _, p in values)
        print(f"{name:<12} {start:>16.3f} {start / base_start:>5.2f}x {step * 1000:>12.2f} {step / base_step:>5.2f}x")


if __name__ == "__main__":
    main()
