"""The code that prepares a session: the runtime, then the datasets, params and style."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..spec import Spec

RUNTIME = Path(__file__).parent / "runtime.py"


def config(
    spec: Spec,
    data_dir: Path | str,
    out_dir: Path | str,
    *,
    relative_to: Path | None = None,
    hosted: bool = False,
    fonts_dir: Path | str | None = None,
) -> dict[str, Any]:
    """What the runtime's _setup() needs. Files are named inside data_dir: by their own
    name (the session's DATA_DIR holds each one), or relative to `relative_to`."""

    def file(name: str) -> str:
        path = spec.dataset_path(name)
        return os.path.relpath(path, relative_to) if relative_to else path.name

    datasets = {
        name: {"file": file(name), "format": spec.dataset_format(name), "options": d.options}
        for name, d in spec.datasets.items()
    }
    return {
        "data_dir": str(data_dir),
        "out_dir": str(out_dir),
        "params": spec.params,
        "style": {**spec.charts.style.model_dump(mode="json"), "colors": spec.charts.colors},
        "datasets": datasets,
        "fonts": [str(Path(fonts_dir) / f.name) if fonts_dir else str(f) for f in spec.charts.fonts],
        "hosted": hosted,
    }


def source(setup_config: dict[str, Any]) -> str:
    """The runtime followed by the call that sets the session up."""
    call = f"_setup(__import__('json').loads({json.dumps(json.dumps(setup_config))}), globals())\n"
    return RUNTIME.read_text() + "\n" + call


def saved(spec: Spec) -> str:
    """code/00-setup.py: the runtime and the dataset loading, runnable outside reportgen."""
    folder = Path(os.path.commonpath([str(path.parent) for path in spec.data_files.values()]))
    return source(config(spec, folder, "out", relative_to=folder))
