"""The model seam: a Model turns one section's task into code that ran and a narrative.

A model drives its own tool loop (wire formats differ), but every loop runs code through
a Workbench, which executes it in the build's session, keeps what worked, and decides
when an answer is good enough or the attempts are used up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from .. import narrative
from ..session.base import StepResult

TOOL_OUTPUT_CHARS = 4000  # of stdout or traceback sent back to the model per run


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    containers: int = 0

    def add(self, usage: Any) -> None:
        """Count one request and its token usage (Chat or Responses shape)."""
        self.requests += 1
        if usage is None:
            return
        self.input_tokens += getattr(usage, "input_tokens", None) or getattr(usage, "prompt_tokens", 0) or 0
        self.output_tokens += getattr(usage, "output_tokens", None) or getattr(usage, "completion_tokens", 0) or 0

    def merge(self, other: "Usage") -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.containers += other.containers


@dataclass
class SectionTask:
    section_id: str
    instructions: str  # the system message
    prompt: str  # the section's question with everything the model needs to know
    charts: int | None  # charts the section asks for
    facts_before: dict[str, Any]  # facts of earlier sections, usable in the narrative
    params: dict[str, Any]


@dataclass
class SectionAnswer:
    ok: bool
    code: str
    narrative: str
    result: StepResult
    attempts: int
    usage: Usage
    error: str | None = None


class Model(Protocol):
    provider: str
    name: str
    execution: str

    def write_section(self, task: SectionTask, bench: "Workbench") -> SectionAnswer: ...


class OpenAIModel:
    """What the built-in models share: settings, an `openai` client, a way to tell the user things."""

    execution = "local"

    def __init__(self, settings, client, note: Callable[[str], None] = lambda _: None):
        self.settings, self.client, self.note = settings, client, note
        self.provider, self.name = settings.provider, settings.name


class Workbench:
    """Runs the model's code in the session and keeps what worked."""

    def __init__(self, run: Callable[[str], StepResult], max_attempts: int):
        self._run = run
        self.max_attempts = max_attempts
        self.attempts = 0  # code runs and rejected answers
        self.codes: list[str] = []
        self.results: list[StepResult] = []
        self.last_error: str | None = None

    @property
    def exhausted(self) -> bool:
        return self.attempts >= self.max_attempts

    def run_tool(self, name: str, arguments: str | dict) -> str:
        """Execute one `run_python` call; the text returned goes back to the model."""
        if name != "run_python":
            return f"Unknown tool {name!r}; the only tool is run_python(code)."
        try:
            code = arguments["code"] if isinstance(arguments, dict) else json.loads(arguments)["code"]
        except (ValueError, KeyError, TypeError):
            return 'The arguments must be JSON like {"code": "print(1)"}.'
        return self.run_code(code)

    def run_code(self, code: str, attempt: bool = True) -> str:
        """Run code in the session; `attempt=False` for checks that are not the model's tries."""
        self.attempts += attempt
        result = self._run(code)
        if result.ok:
            self.codes.append(code)
            self.results.append(result)
            self.last_error = None
        else:
            self.last_error = result.error
        return tool_report(result, self.facts)

    @property
    def facts(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for result in self.results:
            found.update(result.facts)
        return found

    @property
    def charts(self) -> int:
        return sum(len(r.figures) for r in self.results)

    def problem_with(self, text: str, task: SectionTask) -> str | None:
        """Why a final answer cannot be accepted yet (sent back to the model), or None."""
        if not self.codes:
            return "No code has run successfully yet. Call run_python with code that answers the question."
        if task.charts and self.charts < task.charts:
            return f"The section needs {task.charts} chart(s) but {self.charts} were made. Make the missing chart(s) with run_python."
        try:
            narrative.render(clean_narrative(text), {**task.facts_before, **self.facts}, task.params)
        except narrative.NarrativeError as exc:
            known = ", ".join(sorted({**task.facts_before, **self.facts})) or "none"
            return f"Your narrative cannot be used: {exc}. Use only recorded facts ({known}), or record more with fact()."
        return None

    def reject(self, problem: str) -> None:
        self.attempts += 1
        self.last_error = problem

    def answer(self, text: str, usage: Usage) -> SectionAnswer:
        return SectionAnswer(True, "\n\n".join(c.strip() for c in self.codes) + "\n", clean_narrative(text),
                             merged(self.results), self.attempts, usage)

    def failed(self, usage: Usage, reason: str | None = None) -> SectionAnswer:
        error = reason or self.last_error or "The model gave no usable answer."
        message = f"No working code after {self.attempts} attempt(s). Last error:\n{error}"
        return SectionAnswer(False, "\n\n".join(self.codes), "", merged(self.results), self.attempts, usage, message)


def merged(results: list[StepResult]) -> StepResult:
    """The successful runs of a section as one step result."""
    out = StepResult("ok")
    for result in results:
        out.outputs += result.outputs
        out.notebook_outputs += result.notebook_outputs
        out.files += result.files
        out.notes += result.notes
        out.seconds += result.seconds
    return out


def tool_report(result: StepResult, facts: dict[str, Any]) -> str:
    """What a code run did, as text for the model: output, facts, tables, charts, or the error."""
    lines = []
    stdout = "".join(o.data["text"] for o in result.outputs if o.kind == "stream")
    if stdout:
        lines.append("Output:\n" + _clip(stdout))
    if result.facts:
        lines.append("Facts recorded: " + ", ".join(f"{k}={v!r}" for k, v in result.facts.items()))
    for output in result.outputs:
        if output.kind == "table":
            lines.append(f"Table shown: {output.data.get('title') or 'untitled'} ({output.data['total_rows']} rows, columns {', '.join(output.data['columns'])})")
        elif output.kind == "figure":
            lines.append(f"Chart shown: {output.data.get('title') or 'untitled'}")
    if result.files:
        lines.append("Files written to OUT_DIR: " + ", ".join(result.files))
    if not result.ok:
        lines.append(f"The code failed ({result.status}):\n" + _clip(result.error or "", tail=True))
    lines += result.notes
    return "\n".join(lines) or "The code ran and printed nothing."


def _clip(text: str, tail: bool = False) -> str:
    if len(text) <= TOOL_OUTPUT_CHARS:
        return text
    return ("…" + text[-TOOL_OUTPUT_CHARS:]) if tail else (text[:TOOL_OUTPUT_CHARS] + "…")


_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*)\n```$", re.S)


def clean_narrative(text: str) -> str:
    """The model's final message as a narrative template: no surrounding code fence."""
    text = text.strip()
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text
