"""What a step produces, and the Session protocol every backend implements."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

FACT_MIME = "application/vnd.reportgen.fact+json"
TABLE_MIME = "application/vnd.reportgen.table+json"
FIGURE_MIME = "application/vnd.reportgen.figure+json"


@dataclass
class Output:
    """One thing a step showed: kind is fact | table | figure | markdown | stream | error."""

    kind: str
    data: dict[str, Any]


@dataclass
class StepResult:
    status: str  # ok | error | timeout | crashed | oversized
    outputs: list[Output] = field(default_factory=list)
    notebook_outputs: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)  # names written to OUT_DIR by this step
    notes: list[str] = field(default_factory=list)  # e.g. "output truncated"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def facts(self) -> dict[str, Any]:
        return {o.data["name"]: fact_value(o.data["value"]) for o in self.outputs if o.kind == "fact"}

    @property
    def figures(self) -> list[Output]:
        return [o for o in self.outputs if o.kind == "figure"]


class Session(Protocol):
    """One shared Python session for a whole build."""

    def run(self, code: str, timeout: float) -> StepResult: ...

    def close(self) -> None: ...


def fact_value(raw: Any) -> Any:
    """Undo the runtime's JSON encoding of dates."""
    if isinstance(raw, dict) and "datetime" in raw:
        return dt.datetime.fromisoformat(raw["datetime"])
    if isinstance(raw, dict) and "date" in raw:
        return dt.date.fromisoformat(raw["date"])
    return raw


def output_from_bundle(bundle: dict[str, Any], metadata: dict[str, Any]) -> Output | None:
    """Classify one display bundle coming out of the session."""
    if FACT_MIME in bundle:
        return Output("fact", bundle[FACT_MIME])
    if TABLE_MIME in bundle:
        return Output("table", bundle[TABLE_MIME])
    title = (bundle.get(FIGURE_MIME) or {}).get("title")
    if "image/png" in bundle:
        return Output("figure", {"mime": "image/png", "bytes": base64.b64decode(bundle["image/png"]), "title": title})
    if "image/svg+xml" in bundle:
        svg = bundle["image/svg+xml"]
        svg = "".join(svg) if isinstance(svg, list) else svg
        return Output("figure", {"mime": "image/svg+xml", "bytes": svg.encode("utf-8"), "title": title})
    if "text/markdown" in bundle:
        return Output("markdown", {"text": bundle["text/markdown"]})
    return None
