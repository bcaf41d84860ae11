"""What the model is told: the runtime, the rules, the data's shape, and the question."""

from __future__ import annotations

import json
from typing import Any

from ..spec import Section, Spec

INSTRUCTIONS = """\
You are a data analyst writing one section of a recurring report. You answer with Python \
that runs in a shared Jupyter session, then with a short narrative.

Run code with the {tool} tool. The session already has:
- each dataset as a pandas DataFrame under its name, and the raw files in the folder DATA_DIR;
- params (a dict of this build's parameters), pd, np, plt (matplotlib, style already applied);
- fact(name, value): record a number, string or date for the narrative; returns value;
- show(obj, title=None): add a DataFrame/Series (table), a matplotlib Figure/Axes (chart) or a \
Markdown string to the section; figures left open at the end of a run are added too;
- OUT_DIR: files written there are attached to the report;
- variables left by earlier sections (listed below).

Rules:
- The code is saved and replayed every month on fresh data: no hard-coded values from the \
data (no dates, totals or category names typed in); derive everything in code; use params.
- Record every number the narrative mentions with fact(). Do not print numbers for the reader.
- Keep the spec's chart style: do not call plt.style.use or change colours and fonts; give \
every chart a title and labelled axes. At most {max_charts} charts per section.
- Do not load the datasets again, install packages or use the network.
- When a run fails, read the error and fix the code; variables from runs that succeeded remain.

When the code has run successfully, reply with ONLY the narrative: 2-4 sentences of Markdown \
that answer the question. It is a Jinja template: write every number as a placeholder over \
a recorded fact with a filter, never as a literal, e.g. "Revenue {{{{ 'rose' if growth > 0 \
else 'fell' }}}} {{{{ growth | abs | pct }}}} to {{{{ revenue | money }}}}." Filters: num \
(1,234; num(2) for decimals), pct (0.123 -> 12.3%), money (money("EUR")), date (date("%B %Y")). \
params is available as {{{{ params.name }}}}.
"""

RUN_PYTHON = {
    "name": "run_python",
    "description": "Run Python code in the report's shared Jupyter session and return its output, facts, tables, charts or traceback.",
    "parameters": {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "Python code to run."}},
        "required": ["code"],
        "additionalProperties": False,
    },
}


def instructions(spec: Spec, tool: str = "run_python") -> str:
    return INSTRUCTIONS.format(tool=tool, max_charts=spec.charts.style.max_charts)


def section_prompt(
    spec: Spec, section: Section, datasets: str, variables: str, facts: dict[str, Any], repair: tuple[str, str] | None = None
) -> str:
    """The user message for one section."""
    parts = [f"# Report: {spec.title}"]
    if spec.params:
        parts.append("Parameters (params): " + json.dumps(spec.params, default=str))
    parts.append("## Datasets\n" + datasets)
    parts.append("## Variables from earlier sections\n" + (variables or "none"))
    if facts:
        parts.append("## Facts recorded by earlier sections (usable in the narrative)\n" + ", ".join(sorted(facts)))
    style = spec.charts.style
    parts.append(
        f"## Chart style\nApplied already: palette {', '.join(style.palette)}; font {style.font}; "
        f"theme {style.theme}; figsize {list(style.figsize)}; dpi {style.dpi}."
    )
    parts.append(f"## Section: {section.heading}\nQuestion: {section.question}")
    if section.context:
        parts.append(f"Context: {section.context}")
    if section.charts:
        parts.append(f"Charts wanted: {section.charts}.")
    if section.code:
        parts.append("Start from this code:\n```python\n" + section.code.strip() + "\n```")
    if repair:
        code, error = repair
        parts.append(
            "## Repair\nThe code saved for this section no longer runs on the current data. Fix it and keep "
            f"what it computes.\n```python\n{code.strip()}\n```\nIt failed with:\n```\n{error.strip()[-3000:]}\n```"
        )
    return "\n\n".join(parts)
