"""OpenAI's Responses API with a `run_python` function tool run in our own session."""

from __future__ import annotations

from .base import OpenAIModel, SectionAnswer, SectionTask, Usage, Workbench
from .config import with_retries
from .prompts import RUN_PYTHON

TOOLS = [{"type": "function", **RUN_PYTHON}]


class ResponsesModel(OpenAIModel):
    def write_section(self, task: SectionTask, bench: Workbench) -> SectionAnswer:
        usage = Usage()
        pending: list[dict] = [{"role": "user", "content": task.prompt}]
        previous = None
        for _ in range(bench.max_attempts * 3 + 2):
            if bench.exhausted:
                break
            chained = {"previous_response_id": previous} if previous else {}
            response = with_retries(lambda: self.client.responses.create(
                model=self.name, instructions=task.instructions, input=pending, tools=TOOLS, **chained), self.note)
            usage.add(response.usage)
            previous, pending = response.id, []
            calls = [item for item in response.output if item.type == "function_call"]
            for call in calls:
                output = bench.run_tool(call.name, call.arguments)
                pending.append({"type": "function_call_output", "call_id": call.call_id, "output": output})
            if calls:
                continue
            text = response.output_text
            problem = bench.problem_with(text, task)
            if problem is None:
                return bench.answer(text, usage)
            bench.reject(problem)
            pending.append({"role": "user", "content": problem})
        return bench.failed(usage)
