"""The local session: one ipykernel per build, driven over jupyter_client.

The kernel is started by a launcher from sandbox.py (unconfined or bubblewrap), so
isolation wraps it without this module knowing. Layout of a session folder:

    root/work   the kernel's working folder (HOME, cwd)
    root/data   DATA_DIR: the datasets, read-only
    root/out    OUT_DIR: files written here are attached to the report
    root/run    connection file and sockets
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shutil
import socket
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from ..errors import SessionError
from .base import Output, StepResult, output_from_bundle
from .sandbox import Unconfined, release_tasks

STREAM_CAP = 1_000_000  # characters of stdout/stderr kept per step
MESSAGE_CAP = 64 * 1024**2  # bytes: a bigger output message from the session is dropped unread
LOST_IDLE_GRACE = 2.0  # seconds to wait for output after the reply, when iopub lost messages
INTERRUPT_GRACE = 3.0  # seconds a step gets to stop after an interrupt before the kernel is killed
START_TIMEOUT = 60.0
STRAY_ALLOWANCE = 32  # extra tasks a step may leave (thread pools of numpy, matplotlib…)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class LocalSession:
    """A Jupyter kernel that runs the build's steps one after another."""

    def __init__(self, data_files: dict[str, Path], launcher: Unconfined | None = None):
        self.launcher = launcher or Unconfined()
        self.data_files = data_files
        self.root = Path(tempfile.mkdtemp(prefix="reportgen-session-"))
        for sub in ("work", "data", "out", "run", "fonts"):
            (self.root / sub).mkdir()
        self.process: subprocess.Popen | None = None
        self.client = None
        self._history: list[str] = []  # code that ran successfully, replayed after a restart
        self.restarts = 0

    data_dir = property(lambda self: self.root / "data")
    fonts_dir = property(lambda self: self.root / "fonts")
    history = property(lambda self: list(self._history), doc="Code that ran successfully, setup first.")
    out_dir = property(lambda self: self.root / "out")

    # ------------------------------------------------------------ lifetime

    def start(self) -> None:
        self.launch()
        self.connect()

    def launch(self) -> None:
        """Start the kernel process. Call it from the thread that lives longest: the kernel is
        killed when the thread that started it ends (PR_SET_PDEATHSIG)."""
        run = self.root / "run"
        self._connection = run / f"kernel-{self.restarts}.json"
        transport = self.launcher.transport
        ip = str(run / f"ipc-{self.restarts}") if transport == "ipc" else "127.0.0.1"
        _write_connection_file(self._connection, ip, transport)
        with open(run / "kernel.log", "ab") as log:
            self.process = self.launcher.spawn(self.root, self._connection, self.data_files, log)
        self._idle_tasks = None

    def connect(self) -> None:
        """Wait until the launched kernel answers; may run in another thread."""
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient(context=_bounded_context())
        self.client.load_connection_file(str(self._connection))
        self.client.start_channels()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers_kernel_info():
            if not self.alive() or time.monotonic() > deadline:
                log = (self.root / "run" / "kernel.log").read_text(errors="replace")[-2000:]
                status = "died" if not self.alive() else f"did not answer within {START_TIMEOUT:g} s"
                self.close()
                raise SessionError(f"The session's Python kernel {status}.\n{log}".strip())

    def _answers_kernel_info(self) -> bool:
        """Ask for kernel_info; ready once the reply AND its idle status arrive, which proves
        the output channel is subscribed (else the first step's output could be lost).
        Faster than jupyter_client's wait_for_ready, which then idles 0.2 s on that channel."""
        msg_id = self.client.kernel_info()
        idle, replied_at = False, None
        until = time.monotonic() + 1.0
        while time.monotonic() < until and not (replied_at and idle):
            try:
                msg = self.client.get_iopub_msg(timeout=0.01)
                idle = idle or (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                                and msg["content"]["execution_state"] == "idle")
            except queue.Empty:
                pass
            if replied_at is None and self._replied(msg_id):
                replied_at = time.monotonic()
            if replied_at and not idle and time.monotonic() - replied_at > 0.05:
                return False  # the output channel was not subscribed yet: ask again
            if not self.alive():
                return False
        return bool(replied_at and idle)

    def use_fonts(self, fonts: Sequence[Path]) -> None:
        """Make these font files (a brand's) readable in the session's fonts_dir, replacing any
        earlier ones. Copied, not bound: the session may already be running."""
        for old in self.fonts_dir.iterdir():
            old.unlink()
        for font in fonts:
            shutil.copyfile(font, self.fonts_dir / font.name)

    def close(self) -> None:
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.close()
        release_tasks(self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalSession":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reset(self) -> None:
        """A fresh namespace and empty OUT_DIR, keeping the imports: the next build starts warm.

        Imported modules stay as they are, monkeypatches included; that is the price of a
        warm kernel, paid only between builds of one `reportgen build` run.
        """
        self._history = []  # a kernel that cannot be reset restarts with nothing to replay
        if not self.alive():
            self.close()
            self.start()
        elif not self._execute("_reset()", timeout=60).ok:
            self.restart()
        for entry in self.out_dir.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    def restart(self) -> None:
        """Start a fresh kernel and re-run what had succeeded, to restore the state."""
        self.close()
        self.restarts += 1
        self.start()
        for code in self._history:
            self._execute(code, timeout=max(60.0, 10 * len(code) / 1000))

    # ------------------------------------------------------------ running

    def run(self, code: str, timeout: float, *, remember: bool = True) -> StepResult:
        """Run one step's code; a failure, hang or crash fails the step, not the session."""
        if not self.alive():
            self.restart()
        before = _snapshot(self.out_dir)
        started = time.monotonic()
        result = self._execute(code, timeout)
        result.seconds = time.monotonic() - started
        result.files = _changed(before, _snapshot(self.out_dir))
        if result.ok and remember:
            self._history.append(code)
        stray = self._stray_processes()
        if stray:
            result.notes.append(f"The step left {stray} processes or threads running.")
        if result.status in ("timeout", "crashed", "oversized") or stray:
            self.restart()
            result.notes.append("The session was restarted; earlier sections were re-run to restore its state.")
        return result

    def _stray_processes(self) -> int:
        """Processes a step started and left behind (a fork bomb's survivors, say)."""
        count = self.launcher.task_count()
        if count is None or not self.alive():
            return 0
        if self._idle_tasks is None:
            self._idle_tasks = count
        return max(0, count - self._idle_tasks - STRAY_ALLOWANCE)

    def evaluate(self, expression: str, timeout: float = 30.0) -> str:
        """The text value of one expression, for the build's own queries."""
        result = self._execute(f"print({expression})", timeout)
        if not result.ok:
            raise SessionError(f"The session could not evaluate {expression!r}:\n{result.error}")
        return "".join(o.data["text"] for o in result.outputs if o.kind == "stream" and o.data["name"] == "stdout")

    def _execute(self, code: str, timeout: float) -> StepResult:
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False, stop_on_error=True)
        collector = _Collector()
        deadline = time.monotonic() + timeout
        interrupted_at = replied_at = None
        while True:
            now = time.monotonic()
            if interrupted_at is None and now >= deadline:
                self._interrupt()
                interrupted_at = now
            if interrupted_at is not None and now >= interrupted_at + INTERRUPT_GRACE:
                self.close()
                return collector.result("timeout", f"The step ran longer than its {timeout:g} s timeout and was stopped.")
            if replied_at is not None and now >= replied_at + LOST_IDLE_GRACE:
                # The reply came but the idle status never did: an oversized message made the
                # output channel drop its connection for good, so this kernel is done.
                self.close()
                return collector.result("oversized", f"The step sent an output larger than {MESSAGE_CAP // 1024**2} MiB; it was dropped.")
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
            except ValueError:  # a garbled message (e.g. under a flood of output): drop it
                collector.dropped += 1
                continue
            except queue.Empty:
                if not self.alive():
                    code_ = self.process.returncode if self.process else None
                    self.close()
                    return collector.result("crashed", f"The session's Python process died (exit status {code_}).")
                if replied_at is None and self._replied(msg_id):
                    replied_at = time.monotonic()
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            collector.add(msg)
        if replied_at is None:
            self._replied(msg_id, wait=1.0)
        if interrupted_at is not None:
            return collector.result("timeout", f"The step ran longer than its {timeout:g} s timeout and was interrupted.")
        return collector.result("error" if collector.error else "ok", collector.error)

    def _replied(self, msg_id: str, wait: float = 0.0) -> bool:
        """Whether the execute_reply for msg_id has arrived (other replies are discarded)."""
        while True:
            try:
                reply = self.client.get_shell_msg(timeout=wait)
            except queue.Empty:
                return False
            if reply["parent_header"].get("msg_id") == msg_id:
                return True

    def _interrupt(self) -> None:
        msg = self.client.session.msg("interrupt_request", content={})
        self.client.control_channel.send(msg)


CHANNELS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


def _write_connection_file(path: Path, ip: str, transport: str) -> None:
    """The kernel's connection file, written here rather than with jupyter_client so the
    kernel can start before that (slow to import) library is loaded."""
    if transport == "ipc":
        ports = list(range(1, len(CHANNELS) + 1))  # ipc "ports" only name the socket files
    else:
        sockets = [socket.socket() for _ in CHANNELS]
        for sock in sockets:
            sock.bind((ip, 0))
        ports = [sock.getsockname()[1] for sock in sockets]
        for sock in sockets:
            sock.close()
    info = {**dict(zip(CHANNELS, ports)), "ip": ip, "key": secrets.token_hex(32), "transport": transport,
            "signature_scheme": "hmac-sha256", "kernel_name": ""}
    path.write_text(json.dumps(info))
    path.chmod(0o600)


def _bounded_context():
    """A ZeroMQ context whose sockets refuse messages over MESSAGE_CAP, to bound host memory."""
    import zmq

    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_CAP)
    return context


class _Collector:
    """Turns iopub messages into outputs for the report and the notebook."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []
        self.notebook: list[dict] = []
        self.error: str | None = None
        self.stream_chars = 0
        self.dropped = 0
        self.notes: list[str] = []

    def add(self, msg: dict) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            self._stream(content["name"], content["text"])
        elif kind in ("display_data", "execute_result"):
            output = output_from_bundle(content["data"], content.get("metadata", {}))
            if output is not None:
                self.outputs.append(output)
            self.notebook.append(_notebook_output(msg))
        elif kind == "error":
            self.error = _ANSI.sub("", "\n".join(content["traceback"])) or f"{content['ename']}: {content['evalue']}"
            self.outputs.append(Output("error", {"ename": content["ename"], "evalue": content["evalue"]}))
            self.notebook.append(_notebook_output(msg))

    def _stream(self, name: str, text: str) -> None:
        room = STREAM_CAP - self.stream_chars
        if room <= 0:
            return
        if len(text) > room:
            text = text[:room] + "\n[output truncated]\n"
            self.notes.append(f"Output was truncated after {STREAM_CAP:,} characters.")
        self.stream_chars += len(text)
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last.kind == "stream" and last.data["name"] == name:
            last.data["text"] += text
            self.notebook[-1]["text"] += text
        else:
            self.outputs.append(Output("stream", {"name": name, "text": text}))
            self.notebook.append({"output_type": "stream", "name": name, "text": text})

    def result(self, status: str, error: str | None) -> StepResult:
        if self.dropped:
            self.notes.append(f"{self.dropped} output messages could not be read and were dropped.")
        return StepResult(status, self.outputs, self.notebook, error, notes=self.notes)


def _notebook_output(msg: dict) -> dict:
    from nbformat.v4 import output_from_msg

    output = output_from_msg(msg)
    if output.get("output_type") == "error":
        output["traceback"] = [_ANSI.sub("", line) for line in output["traceback"]]
    text = output.get("data", {}).get("text/plain")
    if isinstance(text, str):  # "<Legend at 0x7f…>" differs every run; rebuilds should diff clean
        output["data"]["text/plain"] = _ADDRESS.sub("", text)
    return json.loads(json.dumps(output))


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            stat = path.lstat()
            found[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name, stamp in after.items() if before.get(name) != stamp)
