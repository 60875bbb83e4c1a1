"""Locks: many readers or one writer in a process, and one writer per store directory across processes; and
the number of cores this process may run its threads or processes on."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from claimcluster.errors import StorageError, StoreLockedError

LOCK_FILE = "lock"


def cpu_threads(threads: int | None = None) -> int:
    """``threads``, or the cores this process may run on (Linux's affinity; elsewhere every core counts)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, threads or (len(affinity(0)) if affinity else os.cpu_count() or 1))


class RWLock:
    """Many readers or one writer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@contextmanager
def directory_write_lock(directory: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory/lock``; StoreLockedError after ``timeout`` seconds."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # never outside it
    except OSError as exc:
        raise StorageError(f"cannot use {directory} as a claimcluster directory: {exc.strerror or exc}") from None
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"{directory} is being written by another process (waited {timeout:g} s); "
                        "try again when it has finished, or raise lock_timeout"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock
