"""Question sections: the model writes the code in the build's session; the lock keeps it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..lock import Lock, LockEntry, Provenance
from ..plan import Step
from ..session.base import StepResult
from ..spec import Spec
from .base import Model, SectionTask, Usage, Workbench
from .config import ModelSettings, check, client, explain
from .prompts import instructions, section_prompt


def make_model(settings: ModelSettings, note=lambda _: None) -> Model:
    """The model for these settings, after one request proving the server, key and name work."""
    openai_client = client(settings)
    check(openai_client, settings)
    if settings.execution == "hosted":
        from .hosted import HostedModel

        return HostedModel(settings, openai_client, note)
    if settings.api == "chat":
        from .openai_chat import ChatModel

        return ChatModel(settings, openai_client, note)
    from .openai_responses import ResponsesModel

    return ResponsesModel(settings, openai_client, note)


class SectionWriter:
    """Gets code for question sections from the model and records it in the lock file."""

    def __init__(self, spec: Spec, settings: ModelSettings, lock: Lock, session, note=lambda _: None):
        self.spec, self.settings, self.lock, self.session, self.note = spec, settings, lock, session, note
        self._model: Model | None = None
        self.usage = Usage()

    @property
    def model(self) -> Model:
        """The model, made (and checked with one request) on first use."""
        if self._model is None:
            self._model = make_model(self.settings, self.note)
            if hasattr(self._model, "bind"):
                self._model.bind(self.spec, self.session)
        return self._model

    def check(self) -> None:
        """Fail now on a bad key, model name or server, before any section runs."""
        self.model  # noqa: B018 - making the model is the check

    def write(self, step: Step, facts: dict[str, Any], repair: tuple[str, str] | None = None) -> tuple[StepResult, dict]:
        """Have the model answer the step's question; on success the lock entry is saved at once."""
        import openai

        model = self.model
        task = self._task(step, facts, repair)
        timeout = step.section.timeout or self.spec.session.timeout
        bench = Workbench(lambda code: self.session.run(code, timeout), self.settings.max_attempts)
        try:
            answer = model.write_section(task, bench)
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.APIConnectionError) as exc:
            raise explain(exc, self.settings) from None
        except openai.APIError as exc:
            answer = bench.failed(Usage(), f"The model request failed: {explain(exc, self.settings)}")
        self.usage.merge(answer.usage)
        meta = self._accounting(answer)
        if not answer.ok:
            result = answer.result
            result.status, result.error = "error", answer.error
            return result, meta
        step.code = answer.code
        step.narrative = step.section.narrative if step.section.narrative is not None else answer.narrative
        self._save(step, answer, meta)
        return answer.result, meta

    def _task(self, step: Step, facts: dict[str, Any], repair) -> SectionTask:
        names = list(self.spec.datasets)
        datasets = json.loads(self.session.evaluate(f"__import__('json').dumps(_schema_text({names!r}))"))
        variables = json.loads(self.session.evaluate("__import__('json').dumps(_variables())"))
        prompt = section_prompt(self.spec, step.section, datasets, variables, facts, repair)
        tool = "code_interpreter" if self.settings.execution == "hosted" else "run_python"
        return SectionTask(step.section.id, instructions(self.spec, tool), prompt, step.section.charts, dict(facts), self.spec.params)

    def _accounting(self, answer) -> dict:
        usage = answer.usage
        return {
            "source": "model",
            "attempts": answer.attempts,
            "requests": usage.requests,
            "tokens": {"input": usage.input_tokens, "output": usage.output_tokens},
            "cost": self.settings.cost(usage.input_tokens, usage.output_tokens, usage.containers),
        }

    def _save(self, step: Step, answer, meta: dict) -> None:
        provenance = Provenance(
            provider=self.settings.provider, model=self.settings.name, attempts=answer.attempts,
            requests=meta["requests"], tokens=meta["tokens"], cost=meta["cost"] or 0.0,
            created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), execution=self.settings.execution,
        )
        facts = sorted(answer.result.facts)
        self.lock.sections[step.section.id] = LockEntry(
            inputs=step.inputs, code=answer.code, narrative=answer.narrative, facts=facts, provenance=provenance
        )
        self.lock.write(Lock.path_for(self.spec.path), self.spec.path.name)

    def totals(self) -> dict:
        usage = self.usage
        return {
            "provider": self.settings.provider, "name": self.settings.name, "execution": self.settings.execution,
            "api": self.settings.api if self.settings.execution == "local" else "responses",
            "requests": usage.requests, "tokens": {"input": usage.input_tokens, "output": usage.output_tokens},
            "containers": usage.containers,
            "cost": self.settings.cost(usage.input_tokens, usage.output_tokens, usage.containers),
        }
