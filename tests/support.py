"""Helpers shared by the tests: the real CLI, spec fixtures, session outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(__file__).resolve().parent / "specs"
REPORTGEN = Path(sys.executable).with_name("reportgen")
CANARY = "sk-canary-0123456789"


def reportgen(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the real `reportgen` command line."""
    return subprocess.run(
        [str(REPORTGEN), *map(str, args)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_spec(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    """A spec in folder, next to a copy of the tiny dataset."""
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "tiny.csv").write_text((SPECS / "data" / "tiny.csv").read_text())
    path = folder / name
    path.write_text(text)
    return path


def run_json(out: Path) -> dict:
    """The run.json a build wrote into `out`."""
    return json.loads((out / "run.json").read_text())


def stdout(result) -> str:
    """What a step printed to stdout."""
    return "".join(o.data["text"] for o in result.outputs if o.kind == "stream" and o.data["name"] == "stdout")
