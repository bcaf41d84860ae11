import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(__file__).resolve().parent / "specs"
REPORTGEN = Path(sys.executable).with_name("reportgen")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No test may reach a real model: drop every setting that would point at one."""
    for name in list(os.environ):
        if name.startswith("OPENAI_"):
            monkeypatch.delenv(name)


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
