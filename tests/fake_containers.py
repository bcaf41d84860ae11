"""The Containers API and Code Interpreter for the fake server: a real kernel per container.

Each container's folder is mounted at /mnt/data inside a sandboxed kernel, where the real
service keeps its files.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from openai.types import ContainerCreateResponse
from openai.types.containers import FileCreateResponse

from reportgen.session.local import LocalSession
from reportgen.session.sandbox import Bubblewrap

DATA = "/mnt/data"


class Container:
    def __init__(self, name: str):
        self.id = f"cntr_{uuid.uuid4().hex[:20]}"
        self.name = name
        self.created = int(time.time())
        self.folder = Path(tempfile.mkdtemp(prefix="fake-container-"))
        self.files: dict[str, dict] = {}  # id -> container.file
        self.expired = False
        self.session: LocalSession | None = None

    def record(self, path: Path, source: str) -> dict:
        for entry in self.files.values():
            if entry["path"] == f"{DATA}/{path.relative_to(self.folder).as_posix()}":
                entry["bytes"] = path.stat().st_size
                return entry
        entry = FileCreateResponse(
            id=f"cfile_{uuid.uuid4().hex[:20]}", object="container.file", created_at=int(time.time()), bytes=path.stat().st_size,
            container_id=self.id, path=f"{DATA}/{path.relative_to(self.folder).as_posix()}", source=source,
        ).model_dump(mode="json")
        self.files[entry["id"]] = entry
        return entry

    def run(self, code: str) -> dict:
        """Run code as Code Interpreter does; return the code_interpreter_call item."""
        if self.session is None:
            # Like the real service: a sandboxed kernel whose files live in /mnt/data.
            self.session = LocalSession({}, Bubblewrap(binds=[(self.folder, DATA)]))
            self.session.start()
        result = self.session.run(code, 60)
        logs = "".join(o.data["text"] for o in result.outputs if o.kind == "stream")
        if result.error:
            logs += result.error
        outputs = [{"type": "logs", "logs": logs}] if logs else []
        for figure in result.figures:
            outputs.append({"type": "image", "url": f"data:image/png;base64,{base64.b64encode(figure.data['bytes']).decode()}"})
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and not any(e["path"].endswith("/" + path.relative_to(self.folder).as_posix()) for e in self.files.values()):
                self.record(path, "assistant")
        return {"type": "code_interpreter_call", "id": f"ci_{uuid.uuid4().hex[:12]}", "status": "completed",
                "container_id": self.id, "code": code, "outputs": outputs}

    def close(self) -> None:
        if self.session is not None:
            self.session.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)


def route(fake, method: str, path: str, body, handler):
    parts = path.strip("/").split("/")[2:]  # after v1/containers
    if not parts:
        container = Container(body.get("name", ""))
        fake.containers[container.id] = container
        reply = {"id": container.id, "object": "container", "created_at": container.created, "status": "running",
                 "expires_after": body.get("expires_after"), "last_active_at": container.created, "memory_limit": "1g",
                 "name": container.name}
        return 200, ContainerCreateResponse.model_validate(reply).model_dump(mode="json", exclude_none=True)
    container = fake.containers.get(parts[0])
    if container is None or container.expired:
        return 404, {"error": {"message": "Container has expired.", "type": "invalid_request_error", "param": None, "code": None}}
    if parts[1:] == ["files"] and method == "POST":
        name, data = _multipart_file(handler, body)
        target = container.folder / name
        target.write_bytes(data)
        return 200, container.record(target, "user")
    if parts[1:] == ["files"]:
        data = list(container.files.values())
        return 200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                     "last_id": data[-1]["id"] if data else None, "has_more": False}
    if len(parts) == 4 and parts[1] == "files" and parts[3] == "content":
        entry = container.files[parts[2]]
        return 200, (container.folder / entry["path"][len(DATA) + 1:]).read_bytes()
    raise LookupError(f"no route {method} {path}")


def _multipart_file(handler, body: bytes) -> tuple[str, bytes]:
    header = f"Content-Type: {handler.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(header + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_filename(), part.get_payload(decode=True)
    raise LookupError("no file part in the upload")


def hosted_output(fake, tool: dict, key: str, turn) -> tuple[int, object]:
    """Code Interpreter's turn: run every scripted code block, then say the scripted text."""
    from fake_openai import Code, Say, _message

    container = fake.containers.get(tool["container"])
    if container is None or container.expired:
        return 400, {"error": {"message": "Container is expired.", "type": "invalid_request_error", "param": None, "code": None}}
    items = []
    sync = _sync_file(fake)
    if sync:
        items.append(container.run(f"exec(open('{DATA}/{sync}').read())"))
    while isinstance(turn, Code):
        items.append(container.run(turn.code))
        turn = fake.script[key].popleft() if fake.script[key] else Say("Done.")
    items.append(_message(turn.text))
    return 200, items


def _sync_file(fake) -> str | None:
    """The model follows the instruction to run the sync file first."""
    import re

    last = fake.requests[-1][2]
    found = re.search(r"exec\(open\('/mnt/data/(reportgen_sync_\d+\.py)'\)\.read\(\)\)", str(last.get("input")))
    return found.group(1) if found else None
