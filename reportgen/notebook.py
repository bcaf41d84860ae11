"""report.ipynb: every step as a notebook cell, with the outputs it produced."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from .plan import Step
from .session.base import StepResult


def notebook(spec, steps: list[Step], records: list[dict], results: list[StepResult], setup_source: str) -> str:
    """The build as a notebook; cell ids are stable so rebuilds diff cleanly."""
    cells = [new_markdown_cell(_title(spec), id="title"), new_code_cell(setup_source, id="setup")]
    cells[1].metadata["jupyter"] = {"source_hidden": True}
    for count, (step, record, result) in enumerate(zip(steps, records, results), start=1):
        heading = f"## {step.number}. {record['title']}"
        text = f"{heading}\n\n{record['narrative']}".strip() if record["narrative"] else heading
        cells.append(new_markdown_cell(text, id=f"{step.section.id}-text"))
        cell = new_code_cell(step.code or "", id=step.section.id, execution_count=count)
        cell.outputs = [nbformat.from_dict(o) for o in result.notebook_outputs]
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = count
        cells.append(cell)
    book = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "reportgen": {"spec": spec.path.name, "title": spec.title},
    })
    return nbformat.writes(book)


def _title(spec) -> str:
    lines = [f"# {spec.title}"]
    if spec.subtitle:
        lines.append(f"*{spec.subtitle}*")
    return "\n\n".join(lines)
