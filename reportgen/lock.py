"""The lock file: the code saved for question sections, replayed with no model call.

`<spec folder>/<spec stem>.lock.yaml`, committed next to the spec:

    version: 1
    sections:
      revenue-trend:
        inputs: 9c1e…          # sha256 of what the code was written for (see plan.py)
        code: |
          monthly = sales.groupby(…)
        narrative: |
          Revenue {{ "rose" if growth > 0 else "fell" }} by {{ growth | pct }}.
        facts: [growth]
        provenance: {provider: openai, model: gpt-4o, attempts: 2, requests: 3,
                     tokens: {input: 5120, output: 610}, cost: 0.0189, created: 2026-10-01T09:12:00Z}

The file is rewritten atomically after every finished section.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import atomic
from .errors import LockError

HEADER = (
    "# Code reportgen saved for the question sections of {spec}.\n"
    "# Commit it next to the spec: builds replay it with no model call.\n"
)


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    provider: str = Field(description="Who wrote the code: openai, openai-compatible, or hand.")
    model: str | None = None
    attempts: int = 1
    requests: int = 0
    tokens: dict[str, int] = Field(default_factory=lambda: {"input": 0, "output": 0})
    cost: float = 0.0
    created: str


class LockEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: str = Field(description="Hash of the inputs the code was written for.")
    code: str
    narrative: str = ""
    facts: list[str] = Field(default_factory=list)
    provenance: Provenance


class Lock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    sections: dict[str, LockEntry] = Field(default_factory=dict)

    @staticmethod
    def path_for(spec_path: Path) -> Path:
        return spec_path.with_name(f"{spec_path.stem}.lock.yaml")

    @classmethod
    def read(cls, path: Path) -> "Lock":
        if not path.exists():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return cls.model_validate(data)
        except (yaml.YAMLError, ValidationError) as exc:
            raise LockError(
                f"{path}: the lock file is damaged ({_first_line(exc)}). "
                "Restore it from version control, or delete it to have the model write every section again."
            ) from None

    def write(self, path: Path, spec_name: str) -> None:
        body = yaml.dump(self.model_dump(), Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
        atomic.write_text(path, HEADER.format(spec=spec_name) + body)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (code, narratives) as readable `|` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        value = "\n".join(line.rstrip() for line in value.splitlines()) + "\n"
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _str)
