"""Errors a user can meet. Each says what happened, where, and what to do next.

    ReportgenError              exit 2 unless said otherwise
     ├── UsageError             bad command-line arguments
     ├── SpecError              the spec (or its datasets/template) does not resolve; lists every problem
     ├── LockError              the lock file cannot be read, or has no entry for a section that needs one
     ├── SessionError           the session (kernel) could not start
     └── RenderError            a template failed; the last good report is kept
"""

from __future__ import annotations

from dataclasses import dataclass


class ReportgenError(Exception):
    """An error shown to the user as one clear paragraph."""

    exit_code = 2


class UsageError(ReportgenError):
    pass


@dataclass(frozen=True)
class Problem:
    """One problem in a spec file, with its position."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(ReportgenError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        lines = [str(p) for p in problems]
        super().__init__("\n".join(lines + [f"{len(problems)} {noun} in the spec; nothing was run."]))


class LockError(ReportgenError):
    pass


class SessionError(ReportgenError):
    pass


class RenderError(ReportgenError):
    pass
