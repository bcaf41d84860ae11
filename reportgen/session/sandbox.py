"""How the session's kernel is started: unconfined, or inside bubblewrap.

Model-written code is untrusted, and filtering Python never held (PandasAI, LangChain,
Vanna CVEs), so isolation lives outside the Python process: a bubblewrap sandbox with
no network, no environment from the parent, a read-only system, the datasets read-only,
one writable work folder, its own PID namespace, plus resource limits.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SessionError

KERNEL_FLAGS = [
    "--InteractiveShell.colors=nocolor",
    "--InteractiveShell.xmode=Plain",
    "--HistoryManager.enabled=False",
    "--IPKernelApp.quiet=True",
]
# ipykernel_launcher, with two changes. No debugger: a build never attaches one, and
# importing debugpy is ~70 ms of every start. And the libraries every build's runtime
# imports (~0.35 s) are imported before the kernel answers, while the host is still busy
# reading the spec and planning, instead of after.
KERNEL_MAIN = """
import sys
sys.modules["debugpy"] = None
if sys.path[0] == "":
    del sys.path[0]  # as ipykernel_launcher does; InteractiveShellApp adds it back
from ipykernel.kernelapp import IPKernelApp
app = IPKernelApp.instance()
app.initialize()
import matplotlib.pyplot, numpy, pandas
app.start()
"""
DEFAULT_SANDBOX, DEFAULT_MEMORY = "bubblewrap", "4GiB"  # a spec's `session:` defaults
MIN_MEMORY = 1536 * 1024**2  # an idle kernel maps ~740 MB; below this it cannot start
FILE_SIZE_LIMIT = 1024**3  # bytes per file written by the session
PROCESS_LIMIT = 256  # tasks (threads count) in the session
WORK_FOLDER_SIZE = 1024**3  # bytes in the sandbox's private working folder
_PR_SET_PDEATHSIG = 1
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
NO_SANDBOX_HINT = "Install bubblewrap (`apt-get install bubblewrap`), or run unconfined with --no-sandbox (or `session: {sandbox: none}`) if you trust the code."


def default_cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reportgen"


def minimal_env(home: Path, mpl_config: Path) -> dict[str, str]:
    """The kernel's whole environment: nothing inherited, so no keys or tokens leak in."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "USER": "session",
        "LOGNAME": "session",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(mpl_config),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per arena; RLIMIT_AS counts it
    }


@dataclass(frozen=True)
class Limits:
    memory: int = 4 * 1024**3  # bytes of address space
    file_size: int = FILE_SIZE_LIMIT
    processes: int = PROCESS_LIMIT
    disk: int = WORK_FOLDER_SIZE


@dataclass
class Unconfined:
    """The kernel as a plain child process: minimal environment and limits, no isolation."""

    limits: Limits = field(default_factory=Limits)
    cache: Path = field(default_factory=default_cache)
    name = "none"
    transport = "tcp"
    starts: int = 0
    tasks: Path | None = None  # the pids cgroup of the running kernel, if one could be made

    def task_count(self) -> int | None:
        """Processes and threads in the session now (None where no cgroup could be made)."""
        try:
            return int((self.tasks / "pids.current").read_text()) if self.tasks else None
        except (OSError, ValueError):
            return None

    def kernel_command(self, connection_file: Path) -> list[str]:
        return [sys.executable, "-c", KERNEL_MAIN, "-f", str(connection_file), *KERNEL_FLAGS]

    def prepare(self, root: Path) -> dict[str, str]:
        """Make the session folder ready; return the kernel's environment."""
        mpl = root / "work" / ".matplotlib"
        mpl.mkdir(parents=True, exist_ok=True)
        for cached in self._font_cache():
            shutil.copy2(cached, mpl / cached.name)
        return minimal_env(root / "work", mpl)

    def spawn(self, root: Path, connection_file: Path, data_files: dict[str, Path], log) -> subprocess.Popen:
        env = self.prepare(root)
        for path in data_files.values():
            link = root / "data" / path.name
            if not link.exists():
                link.symlink_to(path)
        return self._popen(self.kernel_command(connection_file), env, root, log)

    def _popen(self, command: list[str], env: dict[str, str], root: Path, log, pass_fds=()) -> subprocess.Popen:
        limits = self.limits
        self.starts += 1
        tasks = self.tasks = _task_group(root, self.starts, limits.processes)

        def in_child() -> None:
            _die_with_parent()
            if tasks is not None:
                (tasks / "cgroup.procs").write_text(str(os.getpid()))
            resource.setrlimit(resource.RLIMIT_AS, (max(limits.memory, MIN_MEMORY),) * 2)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size,) * 2)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if tasks is None and os.getuid() != 0:  # counts all the user's processes: a fallback only
                resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)

        process = subprocess.Popen(
            command, env=env, cwd=root / "work", stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, preexec_fn=in_child, pass_fds=pass_fds,
        )
        return process

    def _font_cache(self) -> list[Path]:
        """matplotlib's font list, built once per machine by a trusted process, copied into each session."""
        folder = self.cache / "matplotlib"
        found = sorted(folder.glob("fontlist-*.json"))
        if not found:
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [sys.executable, "-c", "import matplotlib.font_manager"],
                env={**minimal_env(folder, folder)}, capture_output=True, timeout=120,
            )
            found = sorted(folder.glob("fontlist-*.json"))
        return found


@dataclass
class Bubblewrap(Unconfined):
    """The kernel inside bubblewrap: new namespaces for network, PIDs, IPC, UTS and users."""

    name = "bubblewrap"
    transport = "ipc"  # TCP on 127.0.0.1 would be inside the sandbox's own network namespace
    binds: list[tuple[Path, str]] = field(default_factory=list)  # more writable folders: (host, inside)

    def spawn(self, root: Path, connection_file: Path, data_files: dict[str, Path], log) -> subprocess.Popen:
        fonts = [open(path, "rb") for path in self._font_cache()]
        try:
            env = minimal_env(root / "work", root / "work" / ".matplotlib")
            args = self.arguments(root, data_files, env, {f.fileno(): Path(f.name).name for f in fonts})
            command = [self.bwrap(), *args, "--", *self.kernel_command(connection_file)]
            # bwrap itself gets an empty environment too: /proc/1/environ inside is bwrap's.
            return self._popen(command, {}, root, log, pass_fds=[f.fileno() for f in fonts])
        finally:
            for handle in fonts:
                handle.close()

    @staticmethod
    def bwrap() -> str:
        if os.environ.get("REPORTGEN_BWRAP"):  # a bubblewrap outside PATH
            return os.environ["REPORTGEN_BWRAP"]
        found = shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/usr/local/bin/bwrap") if os.path.exists(p)), None)
        if not found:
            raise SessionError(f"The session cannot be sandboxed: bubblewrap (bwrap) is not installed. {NO_SANDBOX_HINT}")
        return found

    def arguments(self, root: Path, data_files: dict[str, Path], env: dict[str, str], fonts: dict[int, str]) -> list[str]:
        args = [
            "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr",
            "--proc", "/proc", "--dev", "/dev",
            "--tmpfs", "/tmp",  # before any bind under /tmp
        ]
        args += _usr_links()
        for path in _python_paths():
            args += ["--ro-bind", path, path]
        # The working folder (cwd, HOME) is private to the sandbox and bounded in size;
        # only OUT_DIR and the kernel's sockets are shared with the host.
        args += ["--size", str(self.limits.disk), "--tmpfs", str(root / "work"), "--dir", str(root / "work" / ".matplotlib")]
        for fd, name in fonts.items():
            args += ["--file", str(fd), str(root / "work" / ".matplotlib" / name)]
        for sub in ("out", "run"):
            args += ["--bind", str(root / sub), str(root / sub)]
        # The brand's fonts are copied in by the host when a build takes the session.
        args += ["--ro-bind", str(root / "fonts"), str(root / "fonts")]
        for host, inside in self.binds:
            args += ["--bind", str(host), inside]
        args += ["--tmpfs", str(root / "data")]
        for path in data_files.values():
            args += ["--ro-bind", str(path), str(root / "data" / path.name)]
        args += ["--remount-ro", str(root / "data"), "--remount-ro", "/", "--chdir", str(root / "work"), "--hostname", "session"]
        for name, value in env.items():
            args += ["--setenv", name, value]
        return args

    def check(self) -> None:
        """Fail early, with the reason and a fix, where bubblewrap cannot run here.

        Once per process and binary: builds of a fleet run need not ask again."""
        bwrap = self.bwrap()
        if bwrap in _WORKING_BWRAP:
            return
        command = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr", *_usr_links(), "--", "/usr/bin/true"]
        done = subprocess.run(command, env={}, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
            raise SessionError(
                f"The session cannot be sandboxed here: bubblewrap failed ({reason}). User namespaces may be disabled "
                "(e.g. Ubuntu 24.04's AppArmor restriction, or inside Docker); see docs/sandbox.md. " + NO_SANDBOX_HINT
            )
        _WORKING_BWRAP.add(bwrap)


_WORKING_BWRAP: set[str] = set()


def _usr_links() -> list[str]:
    """/bin, /lib… as the same symlinks into /usr that the host has (merged-/usr systems)."""
    args = []
    for link in ("bin", "lib", "lib32", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    return args


def launcher(sandbox: str, memory: str) -> Unconfined:
    """The launcher a spec's `session:` asks for, checked to work here before anything runs."""
    limits = Limits(memory=parse_size(memory))
    if sandbox == "none":
        return Unconfined(limits)
    chosen = Bubblewrap(limits)
    chosen.check()
    return chosen


def parse_size(text: str) -> int:
    """'4GiB' -> bytes."""
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size; use e.g. 512MiB or 4GiB")
    number, unit = float(match.group(1)), (match.group(2) or "B").upper().rstrip("B").rstrip("I")
    return int(number * 1024 ** " KMGT".index(unit or " "))


def _python_paths() -> list[str]:
    """The interpreter and its packages: the base installation and the virtual environment."""
    paths = []
    for prefix in {sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}:
        if prefix.startswith("/usr/") or prefix == "/usr":
            continue  # already there
        if not any(prefix.startswith(p + os.sep) for p in paths):
            paths.append(prefix)
    return sorted(paths)


def _die_with_parent() -> None:
    """Kill the kernel when the build process dies, so no kernel is orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def _task_group(root: Path, start: int, maximum: int) -> Path | None:
    """A pids cgroup capping the session's processes and threads, where one can be made.

    RLIMIT_NPROC does not bind root (and CI runs as root), so this is what stops a fork
    bomb. Each kernel start gets its own group: a killed kernel's processes may linger.
    """
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        group = base / f"reportgen-{root.name}-{start}"
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(maximum))
            return group
        except OSError:
            try:
                group.rmdir()
            except OSError:
                pass
    return None


def release_tasks(root: Path) -> None:
    """Remove the session's pids cgroups once their processes are gone."""
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        for group in base.glob(f"reportgen-{root.name}-*"):
            try:
                group.rmdir()
            except OSError:
                pass
