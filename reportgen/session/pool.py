"""Where a build gets its session: a fresh kernel, or a warm one from a pool.

A pool serves builds that run in the same process (matrix variants, many specs): a kernel
is never shared by two builds at once, and between builds it is reset to a fresh
namespace with the same imports. Kernels are keyed by what their sandbox was started
with (datasets, fonts, sandbox, limits): a build only gets a kernel that can see its data.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .local import LocalSession
from .sandbox import Unconfined


@dataclass(frozen=True)
class SessionKey:
    data_files: tuple[tuple[str, Path], ...]
    fonts: tuple[Path, ...]
    sandbox: str
    limits: object

    @classmethod
    def of(cls, data_files: dict[str, Path], fonts: Sequence[Path], launcher: Unconfined) -> "SessionKey":
        return cls(tuple(sorted(data_files.items())), tuple(fonts), launcher.name, launcher.limits)


@contextmanager
def fresh_session(
    data_files: dict[str, Path], launcher: Unconfined, meanwhile: Callable[[], None], launched: LocalSession | None = None
) -> Iterator[LocalSession]:
    """A new kernel for this build alone (`launched`: one already started for it);
    `meanwhile` runs on the host while it boots."""
    with launched or LocalSession(data_files, launcher) as session:
        if launched is None:
            session.launch()  # from this thread: the kernel dies with the thread that started it
        with ThreadPoolExecutor(1) as pool:
            booting = pool.submit(session.connect)
            meanwhile()
            booting.result()
        yield session


class KernelPool:
    """Warm kernels for the builds of one run; at most `size` kept idle."""

    def __init__(self, size: int):
        self.size = size
        self._idle: list[tuple[SessionKey, LocalSession]] = []
        self._lock = threading.Lock()

    @contextmanager
    def session(self, data_files: dict[str, Path], launcher: Unconfined, fonts: Sequence[Path], meanwhile: Callable[[], None]) -> Iterator[LocalSession]:
        key = SessionKey.of(data_files, fonts, launcher)
        session = self._take(key)
        if session is None:
            session = LocalSession(data_files, launcher)
            session.start()
        else:
            session.reset()
        meanwhile()
        try:
            yield session
        except BaseException:
            session.cleanup()
            raise
        self._give_back(key, session)

    def _take(self, key: SessionKey) -> LocalSession | None:
        with self._lock:
            for i, (idle_key, session) in enumerate(self._idle):
                if idle_key == key:
                    del self._idle[i]
                    return session
        return None

    def _give_back(self, key: SessionKey, session: LocalSession) -> None:
        with self._lock:
            self._idle.append((key, session))
            evicted = self._idle[:-self.size] if len(self._idle) > self.size else []
            self._idle = self._idle[len(evicted):]
        for _, old in evicted:
            old.cleanup()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, session in idle:
            session.cleanup()
