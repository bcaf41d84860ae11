"""The session's kernel, started before the spec is validated.

A kernel needs ~0.6 s to boot and import pandas and matplotlib; the host needs ~0.3 s to
import reportgen, validate the spec, hash the data and plan. Each needs one core, so
`reportgen build` starts the kernel first, from what the spec's raw YAML says about the
session (its datasets, sandbox and memory), and validates while it boots.

Validation still comes before any of the spec's code runs: an invalid spec only stops a
kernel that imported libraries. The build takes the early kernel only if the validated
spec asks for exactly the session it was started with; otherwise (a dataset path with
{{ params }}, say) it starts its own, as it would have anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import yaml

from ..errors import ReportgenError
from .local import LocalSession
from .pool import fresh_session
from .sandbox import DEFAULT_MEMORY, DEFAULT_SANDBOX, Unconfined, launcher


class EarlyKernel:
    """One launched kernel, waiting for the build that asked for it."""

    def __init__(self, data_files: dict[str, Path], launcher: Unconfined):
        session = LocalSession(data_files, launcher)
        try:
            session.launch()  # from the main thread: the kernel dies with the thread that started it
        except BaseException:
            session.cleanup()
            raise
        self.launched: LocalSession | None = session

    @classmethod
    def start(cls, spec_path: Path, no_sandbox: bool = False) -> EarlyKernel | None:
        """The kernel the spec's raw YAML asks for; None where that is unclear or fails (the
        build then reports why, after the spec's own problems)."""
        request = requested_session(spec_path)
        if request is None:
            return None
        data_files, sandbox, memory = request
        try:
            return cls(data_files, launcher("none" if no_sandbox else sandbox, memory))
        except (ReportgenError, OSError, ValueError):
            return None

    def session(self, data_files: dict[str, Path], launcher: Unconfined, fonts: Sequence[Path], meanwhile: Callable[[], None]):
        """The build's session: this kernel if it was started with what the build needs.
        (`fonts`, which a pool keys kernels by, do not matter here: none are loaded yet.)"""
        launched, self.launched = self.launched, None
        if launched is not None and not _started_with(launched, data_files, launcher):
            launched.cleanup()
            launched = None
        return fresh_session(data_files, launcher, meanwhile, launched)

    def close(self) -> None:
        """Stop the kernel if no build took it."""
        if self.launched is not None:
            self.launched.cleanup()
            self.launched = None


def _started_with(session: LocalSession, data_files: dict[str, Path], launcher: Unconfined) -> bool:
    return (session.data_files, session.launcher.name, session.launcher.limits) == (data_files, launcher.name, launcher.limits)


def requested_session(spec_path: Path) -> tuple[dict[str, Path], str, str] | None:
    """Datasets, sandbox and memory as the raw YAML states them, unvalidated; None for a
    spec that builds several reports (a matrix) or whose session is not plain to see."""
    try:
        data = yaml.load(Path(spec_path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or "matrix" in data or not isinstance(data.get("datasets"), dict):
        return None
    folder = Path(spec_path).resolve().parent
    data_files = {}
    for name, dataset in data["datasets"].items():
        path = dataset.get("path") if isinstance(dataset, dict) else None
        if not isinstance(path, str) or "{" in path or not (folder / path).is_file():
            return None
        data_files[name] = (folder / path).resolve()
    session = data.get("session") or {}
    if not isinstance(session, dict):
        return None
    sandbox, memory = session.get("sandbox", DEFAULT_SANDBOX), session.get("memory", DEFAULT_MEMORY)
    if sandbox not in ("bubblewrap", "none") or not isinstance(memory, str):
        return None
    return data_files, sandbox, memory
