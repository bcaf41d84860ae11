"""A local HTTP server speaking OpenAI's wire format, scripted per test.

Replies are built from the `openai` SDK's own pydantic types, so they are schema-true.
A script says, per question, what the model does turn by turn: run this code, then say
this. Hosted (Code Interpreter) code really runs, in a Jupyter kernel per container.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai.types import Model
from openai.types.chat import ChatCompletion
from openai.types.responses import Response


@dataclass
class Code:
    code: str


@dataclass
class Say:
    text: str


@dataclass
class Fault:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None


class FakeOpenAI:
    def __init__(self, models=("gpt-4o", "local-model"), key="test-key"):
        self.models, self.key = list(models), key
        self.script: dict[str, deque] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.faults: deque[Fault] = deque()
        self.conversations: dict[str, str] = {}  # response id -> script key
        self.containers: dict[str, Any] = {}  # id -> fake_containers.Container
        self.expire_at = 0
        self.responses_seen = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ---------------------------------------------------------------- test API

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        for container in self.containers.values():
            container.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def env(self, **extra) -> dict[str, str]:
        return {"OPENAI_BASE_URL": self.url, "OPENAI_API_KEY": self.key, **extra}

    def on(self, question: str, *turns) -> None:
        """For the section whose question contains `question`: these turns, in order."""
        self.script.setdefault(question, deque()).extend(turns)

    def expire_before_response(self, number: int) -> None:
        """Let every container expire just before the number-th Responses request."""
        self.expire_at = number

    def model_requests(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[1].endswith(("/responses", "/chat/completions"))]

    # ---------------------------------------------------------------- serving

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._serve(self, "GET")

            def do_POST(self):
                fake._serve(self, "POST")

            def do_DELETE(self):
                fake._serve(self, "DELETE")

        return Handler

    def _serve(self, handler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path.split("?")[0]
        body = json.loads(raw) if raw and handler.headers.get("content-type", "").startswith("application/json") else raw
        with self.lock:
            self.requests.append((method, path, body))
        if handler.headers.get("authorization") != f"Bearer {self.key}":
            return _send(handler, 401, _error("Incorrect API key provided.", "invalid_api_key"))
        if method == "POST" and path.endswith(("/responses", "/chat/completions")) and self.faults:
            fault = self.faults.popleft()
            return _send(handler, fault.status, _error(fault.message, fault.code), fault.headers)
        try:
            status, reply = self._route(method, path, body, handler)
        except LookupError as exc:
            status, reply = 404, _error(str(exc), "not_found")
        if isinstance(reply, bytes):
            return _send(handler, status, reply, {"content-type": "application/octet-stream"})
        _send(handler, status, reply)

    def _route(self, method: str, path: str, body: Any, handler) -> tuple[int, Any]:
        if path == "/v1/models":
            data = [Model(id=m, created=0, object="model", owned_by="fake").model_dump() for m in self.models]
            return 200, {"object": "list", "data": data}
        if path == "/v1/chat/completions":
            return 200, self._chat(body)
        if path == "/v1/responses":
            return self._responses(body)
        if path.startswith("/v1/containers"):
            from fake_containers import route

            return route(self, method, path, body, handler)
        raise LookupError(f"no route {method} {path}")

    def _check_model(self, name: str) -> None:
        if name not in self.models:
            raise LookupError(f"The model `{name}` does not exist.")

    def _next_turn(self, text: str):
        for key, turns in self.script.items():
            if key in text:
                return key, (turns.popleft() if turns else Say("I have nothing more to add."))
        raise LookupError(f"the fake model has no script for this request: {text[:300]}")

    # ---------------------------------------------------------------- Chat Completions

    def _chat(self, body: dict) -> dict:
        self._check_model(body["model"])
        prompt = json.dumps([m for m in body["messages"] if m["role"] == "user"][:1])
        _, turn = self._next_turn(prompt)
        if isinstance(turn, Code):
            call = {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                    "function": {"name": "run_python", "arguments": json.dumps({"code": turn.code})}}
            message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": turn.text}, "stop"
        reply = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": _tokens(json.dumps(body), json.dumps(message), chat=True),
        }
        return ChatCompletion.model_validate(reply).model_dump(mode="json", exclude_none=True)

    # ---------------------------------------------------------------- Responses

    def _responses(self, body: dict) -> tuple[int, dict]:
        self._check_model(body["model"])
        self.responses_seen += 1
        if self.responses_seen == self.expire_at:
            for container in self.containers.values():
                container.expired = True
        previous = body.get("previous_response_id")
        key = self.conversations.get(previous) if previous else None
        tools = body.get("tools") or []
        hosted = next((t for t in tools if t["type"] == "code_interpreter"), None)
        if key is None:
            key, turn = self._next_turn(json.dumps(body["input"]))
        else:
            turn = self.script[key].popleft() if self.script[key] else Say("Done.")
        if hosted is not None:
            from fake_containers import hosted_output

            status, output = hosted_output(self, hosted, key, turn)
            if status != 200:
                return status, output
        elif isinstance(turn, Code):
            output = [{"type": "function_call", "id": f"fc_{uuid.uuid4().hex[:12]}", "call_id": f"call_{uuid.uuid4().hex[:12]}",
                       "name": "run_python", "arguments": json.dumps({"code": turn.code}), "status": "completed"}]
        else:
            output = [_message(turn.text)]
        response_id = f"resp_{uuid.uuid4().hex[:16]}"
        self.conversations[response_id] = key
        reply = {
            "id": response_id, "object": "response", "created_at": time.time(), "model": body["model"],
            "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": tools, "status": "completed",
            "usage": _tokens(json.dumps(body), json.dumps(output)),
        }
        return 200, Response.model_validate(reply).model_dump(mode="json", exclude_none=True)


def _message(text: str, annotations: list | None = None) -> dict:
    return {"type": "message", "id": f"msg_{uuid.uuid4().hex[:12]}", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": annotations or []}]}


def _tokens(sent: str, received: str, chat: bool = False) -> dict:
    """A stable stand-in for token counts: about four characters per token."""
    prompt, completion = len(sent) // 4, max(1, len(received) // 4)
    if chat:
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": prompt + completion}


def _error(message: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


def _send(handler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    headers = {"content-type": "application/json", **(headers or {})}
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(data)))
    handler.send_header("x-request-id", f"req_{uuid.uuid4().hex[:12]}")
    handler.end_headers()
    handler.wfile.write(data)
