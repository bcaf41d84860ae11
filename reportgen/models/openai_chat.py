"""OpenAI-compatible Chat Completions with a `run_python` function tool (local execution).

For servers without the Responses API: Ollama, vLLM, llama.cpp server, Azure and others.
"""

from __future__ import annotations

from .base import OpenAIModel, SectionAnswer, SectionTask, Usage, Workbench
from .config import with_retries
from .prompts import RUN_PYTHON

TOOLS = [{"type": "function", "function": RUN_PYTHON}]


class ChatModel(OpenAIModel):
    def write_section(self, task: SectionTask, bench: Workbench) -> SectionAnswer:
        usage = Usage()
        messages: list[dict] = [{"role": "system", "content": task.instructions}, {"role": "user", "content": task.prompt}]
        for _ in range(bench.max_attempts * 3 + 2):  # a model that only talks still stops
            if bench.exhausted:
                break
            response = with_retries(lambda: self.client.chat.completions.create(
                model=self.name, messages=messages, tools=TOOLS, tool_choice="auto"), self.note)
            usage.add(response.usage)
            message = response.choices[0].message
            if message.tool_calls:
                messages.append(message.model_dump(exclude_none=True, include={"role", "content", "tool_calls"}))
                for call in message.tool_calls:
                    output = bench.run_tool(call.function.name, call.function.arguments)
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": output})
                continue
            text = message.content or ""
            problem = bench.problem_with(text, task)
            if problem is None:
                return bench.answer(text, usage)
            bench.reject(problem)
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": problem}]
        return bench.failed(usage)
