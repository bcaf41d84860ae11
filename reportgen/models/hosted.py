"""OpenAI's Code Interpreter: the model writes and runs code in ONE container per build.

The container starts with the datasets and the runtime (uploaded once) and is kept in
step with the local session: before a section, code that ran only locally (hand-written
sections, lock replays) is uploaded as a sync file the model runs first. The model's
successful `code_interpreter_call`s are the section's code; it is then replayed in the
local session, which makes the report's outputs and proves next month's replay works.
An expired container is recreated and brought back to the same state.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..session import setup
from .base import OpenAIModel, SectionAnswer, SectionTask, Usage, Workbench
from .config import ModelSettings, with_retries

DATA = "/mnt/data"
EXPIRY_MINUTES = 20
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+Error: ", re.M)


class ContainerExpired(Exception):
    pass


class HostedModel(OpenAIModel):
    execution = "hosted"

    def __init__(self, settings: ModelSettings, client, note=lambda _: None):
        super().__init__(settings, client, note)
        self.container: str | None = None
        self.synced = 0  # how much of the local session's history the container has run
        self.syncs = 0
        self.usage_containers = 0

    def bind(self, spec, session) -> None:
        """The build's spec and local session, which the container mirrors."""
        self.spec, self.session = spec, session

    # ------------------------------------------------------------ one section

    def write_section(self, task: SectionTask, bench: Workbench) -> SectionAnswer:
        usage = Usage()
        calls: list[str] = []
        conversation: str | None = None
        pending: list[dict] | None = None
        for _ in range(bench.max_attempts * 2 + 2):
            if bench.exhausted:
                break
            try:
                sync = self._sync()
                prompt = pending if conversation else [{"role": "user", "content": _with_sync(task.prompt, sync)}]
                response = self._respond(task, prompt, conversation)
            except ContainerExpired:
                self._recreate()
                conversation = pending = None
                continue
            usage.add(response.usage)
            conversation = response.id
            ran = [item for item in response.output if item.type == "code_interpreter_call" and item.code]
            calls += [item.code for item in ran if not _is_sync(item.code) and _succeeded(item)]
            bench.attempts += sum(1 for item in ran if not _is_sync(item.code))
            text = response.output_text
            problem = self._check(calls, text, task, bench)
            if problem is None:
                answer = bench.answer(text, usage)
                self._download(response, answer)
                self.synced = len(self.session.history)
                usage.containers, self.usage_containers = self.usage_containers, 0
                return answer
            bench.reject(problem)
            pending = [{"role": "user", "content": problem}]
        usage.containers, self.usage_containers = self.usage_containers, 0
        return bench.failed(usage)

    def _check(self, calls: list[str], text: str, task: SectionTask, bench: Workbench) -> str | None:
        """Replay the container's working code locally; why the answer cannot be used, or None."""
        if not calls:
            return "No code ran successfully in the container. Run code that answers the question with the python tool."
        bench.codes, bench.results = [], []
        report = bench.run_code("\n\n".join(calls), attempt=False)
        if not bench.codes:
            return ("The code ran in your container but fails when replayed on its own in a fresh copy of the "
                    f"session (keep everything it needs in the code):\n{report}")
        return bench.problem_with(text, task)

    def _respond(self, task: SectionTask, prompt: list[dict], conversation: str | None):
        chained = {"previous_response_id": conversation} if conversation else {}
        with _expiry():
            return with_retries(lambda: self.client.responses.create(
                model=self.name, instructions=task.instructions, input=prompt,
                tools=[{"type": "code_interpreter", "container": self._container()}],
                include=["code_interpreter_call.outputs"], **chained), self.note)

    # ------------------------------------------------------------ the container

    def _container(self) -> str:
        if self.container is None:
            created = self.client.containers.create(
                name=f"reportgen-{self.spec.path.stem}", expires_after={"anchor": "last_active_at", "minutes": EXPIRY_MINUTES}
            )
            self.container, self.synced = created.id, 0
            self.usage_containers += 1
            for path in [*self.spec.data_files.values(), *self.spec.charts.fonts]:
                self._upload(path.name, path.read_bytes())
        return self.container

    def _recreate(self) -> None:
        finished = max(0, len(self.session.history) - 1)
        self.container = None
        self.note(f"The Code Interpreter container expired; starting a new one and replaying {finished} finished steps into it.")

    def _sync(self) -> str | None:
        """Upload what the container has not run yet; return the file the model must run first."""
        with _expiry():
            self._container()
            history = self.session.history
            if self.synced >= len(history):
                return None
            codes = history[max(self.synced, 1):]
            first = self.synced == 0
            source = setup.source(setup.config(self.spec, DATA, f"{DATA}/out", hosted=True, fonts_dir=DATA)) if first else ""
            self.syncs += 1
            name = f"reportgen_sync_{self.syncs}.py"
            self._upload(name, (source + "\n\n" + "\n\n".join(codes)).encode())
            self.synced = len(history)
            return name

    def _upload(self, name: str, data: bytes) -> None:
        self.client.containers.files.create(self.container, file=(name, data))

    def _download(self, response, answer: SectionAnswer) -> None:
        """Files the container made (cited, or written to OUT_DIR) that the local replay did not."""
        cited = {a.file_id for item in response.output if item.type == "message" for part in item.content
                 for a in getattr(part, "annotations", []) or [] if getattr(a, "type", "") == "container_file_citation"}
        made = set(answer.result.files)
        for listed in self.client.containers.files.list(self.container):
            name = Path(listed.path).name
            wanted = listed.id in cited or (listed.source == "assistant" and listed.path.startswith(f"{DATA}/out/"))
            if not wanted or name in made:
                continue
            data = self.client.containers.files.content.retrieve(listed.id, container_id=self.container).read()
            (self.session.out_dir / name).write_bytes(data)
            answer.result.files.append(name)


def _with_sync(prompt: str, sync: str | None) -> str:
    if sync is None:
        return prompt
    return (f"Before anything else, run exactly this once to bring the session up to date:\n"
            f"exec(open('{DATA}/{sync}').read())\n\n{prompt}")


def _is_sync(code: str) -> bool:
    return "reportgen_sync_" in code


def _succeeded(item: Any) -> bool:
    logs = "".join(getattr(o, "logs", "") or "" for o in (item.outputs or []) if getattr(o, "type", "") == "logs")
    return item.status == "completed" and not _TRACEBACK.search(logs)


@contextmanager
def _expiry() -> Iterator[None]:
    """An expired container's error, whatever the endpoint, as ContainerExpired."""
    import openai

    try:
        yield
    except (openai.BadRequestError, openai.NotFoundError) as exc:
        if _expired(exc):
            raise ContainerExpired() from exc
        raise


def _expired(exc: Exception) -> bool:
    """400 "Container is expired." on /responses; 404 "Container has expired." on container endpoints."""
    body = getattr(exc, "body", None) or {}
    message = str(body.get("message") if isinstance(body, dict) else exc).lower()
    return "container" in message and ("expired" in message or "not running" in message or "not found" in message)
