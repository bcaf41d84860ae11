"""The build plan: one step per section, where its code comes from, and its input hash.

A section's input hash covers what its code was written for: the question, context,
chart budget, starting code, the chart style, the datasets' schemas (columns and dtypes,
never row values, so new data replays), the spec's model, and the hash of the section
before it. Parameters are inputs to the code, not to the model, so they are left out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .errors import LockError, UsageError
from .lock import Lock, LockEntry
from .spec import Section, Spec


@dataclass
class Step:
    number: int  # 1-based, in spec order
    section: Section
    source: str  # code | lock | model
    inputs: str
    code: str | None
    narrative: str | None
    entry: LockEntry | None = None

    @property
    def file_name(self) -> str:
        return f"{self.number:02d}-{self.section.id}.py"


def input_hashes(spec: Spec, schemas: dict[str, dict[str, str]]) -> dict[str, str]:
    hashes: dict[str, str] = {}
    previous = ""
    shared = {
        "style": spec.style.model_dump(mode="json"),
        "schemas": schemas,
        "model": spec.model.model_dump(mode="json", include={"provider", "name", "execution"}),
    }
    for section in spec.sections:
        payload = {
            **shared,
            "question": section.question,
            "context": section.context,
            "charts": section.charts,
            "code": section.code,
            "previous": previous,
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        hashes[section.id] = previous = digest
    return hashes


def plan(
    spec: Spec,
    lock: Lock,
    schemas: dict[str, dict[str, str]],
    *,
    lock_name: str,
    model: bool = False,
    refresh: set[str] | None = None,
) -> list[Step]:
    """One step per section: code sections run as written, questions replay the lock.

    With a model, a question without a matching entry (or named by refresh; "*" = all)
    is written by the model; without one, such questions stop the build before it runs.
    """
    refresh = _check_refresh(spec, refresh or set(), model)
    hashes = input_hashes(spec, schemas)
    steps, missing = [], []
    for number, section in enumerate(spec.sections, start=1):
        inputs = hashes[section.id]
        if section.question is None:
            steps.append(Step(number, section, "code", inputs, section.code, section.narrative))
            continue
        entry = lock.sections.get(section.id)
        if entry is None or entry.inputs != inputs or section.id in refresh:
            if model:
                steps.append(Step(number, section, "model", inputs, None, section.narrative))
            else:
                missing.append((section.id, "no entry" if entry is None else "its inputs changed since the entry was written"))
            continue
        narrative = section.narrative if section.narrative is not None else entry.narrative
        steps.append(Step(number, section, "lock", inputs, entry.code, narrative, entry))
    if missing:
        raise LockError(_missing_message(missing, lock_name))
    return steps


def _check_refresh(spec: Spec, refresh: set[str], model: bool) -> set[str]:
    if not refresh:
        return set()
    if not model:
        raise UsageError("--refresh asks the model to write sections again, but no model is configured (or --frozen is set). Set OPENAI_API_KEY or `model:` in the spec.")
    questions = [s.id for s in spec.sections if s.question]
    if "*" in refresh:
        return set(questions)
    for section_id in sorted(refresh):
        if section_id not in questions:
            raise UsageError(f"--refresh {section_id}: no question section with that id; question sections: {', '.join(questions) or 'none'}.")
    return refresh


def _missing_message(missing: list[tuple[str, str]], lock_name: str) -> str:
    listed = "; ".join(f"{sid} ({why})" for sid, why in missing)
    noun = "section has" if len(missing) == 1 else "sections have"
    return (
        f"{len(missing)} question {noun} no matching entry in {lock_name} and no model is configured "
        f"to write the code: {listed}. Nothing was run. To fix it, set OPENAI_API_KEY (or configure "
        "`model:` in the spec) and build without --frozen, or restore the lock file from version control."
    )
