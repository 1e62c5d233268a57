"""The grader's side of the warm zygote (``zygote.py``): start it, ask it for kernels.

One zygote per grader process and sandbox, started on first use and ended with the
grader (bubblewrap's ``--die-with-parent``). ``ForkedKernel`` stands in for the
``subprocess.Popen`` that jupyter_client's local provisioner keeps, so nbclient drives a
forked kernel exactly as it drives a launched one: poll, wait, signal, kill.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .sandbox import Sandbox, SandboxUnavailable

START_TIMEOUT = 180.0
"""Seconds the zygote may take to import what it preloads (torch is the slow one)."""


class ForkedKernel:
    """A kernel the zygote forked, with the part of ``Popen``'s interface jupyter_client uses."""

    stdin: IO[bytes] | None = None
    stdout: IO[bytes] | None = None
    stderr: IO[bytes] | None = None

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self._zygote = zygote
        self.pid = pid
        self.returncode: int | None = None
        self.isolated = zygote.isolated
        """In its own PID namespace: killing this process ends everything the run started."""

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._zygote.exit_code(self.pid)
        return self.returncode

    def on_exit(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from another thread) when this kernel's run ends, or now if it
        has; returns the function that cancels it. Lets a run learn of a crash at once
        instead of polling for it."""
        return self._zygote.on_exit(self.pid, callback)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            self._zygote.wait_for_exit(self.pid, 0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # once reaped, the pid may belong to someone else
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class Zygote:
    """A running ``autograder.run.zygote`` inside ``sandbox``'s bubblewrap."""

    def __init__(
        self, sandbox: Sandbox | None, runs_root: Path, preload: tuple[str, ...], env: dict[str, str]
    ) -> None:
        """``sandbox=None``: a trusted zygote, for our own solution notebooks only."""
        self.runs_root = runs_root
        self.isolated = sandbox is not None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the zygote's stderr while it lives
        argv = [sys.executable, "-m", "autograder.run.zygote"]
        if sandbox is None:
            command = [*argv, "--trusted", *preload]
        else:
            command = sandbox.zygote_command([*argv, *preload], runs_root)
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._replies: dict[int, dict[str, Any]] = {}
        self._exits: dict[int, int] = {}
        self._exit_callbacks: dict[int, list[Callable[[], None]]] = {}
        self._next_id = 0
        self.info = self._read_ready()
        threading.Thread(target=self._read_events, name="zygote-events", daemon=True).start()

    def _read_ready(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        timer = threading.Timer(START_TIMEOUT, self._process.kill)
        timer.start()
        try:
            line = self._process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            self._log.seek(0)
            tail = self._log.read().decode(errors="replace").strip().splitlines()[-3:]
            raise SandboxUnavailable(f"the warm kernel process did not start: {' / '.join(tail)[:400]}")
        ready: dict[str, Any] = json.loads(line)
        return ready

    def _read_events(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            event = json.loads(line)
            callbacks: list[Callable[[], None]] = []
            with self._changed:
                if "exit" in event:
                    pid = int(event["exit"])
                    self._exits[pid] = int(event["code"])
                    callbacks = self._exit_callbacks.pop(pid, [])
                else:
                    self._replies[int(event["id"])] = event
                self._changed.notify_all()
            for callback in callbacks:
                callback()
        with self._changed:  # the zygote is gone: so is every kernel it kept
            self._closed = True
            self._changed.notify_all()
            callbacks = [callback for waiting in self._exit_callbacks.values() for callback in waiting]
            self._exit_callbacks.clear()
        for callback in callbacks:
            callback()

    _closed = False

    def on_exit(self, pid: int, callback: Callable[[], None]) -> Callable[[], None]:
        with self._changed:
            ended = pid in self._exits or self._closed
            if not ended:
                self._exit_callbacks.setdefault(pid, []).append(callback)
        if ended:
            callback()

        def cancel() -> None:
            with self._changed:
                waiting = self._exit_callbacks.get(pid, [])
                if callback in waiting:
                    waiting.remove(callback)

        return cancel

    def spawn(self, request: dict[str, Any]) -> ForkedKernel:
        """Fork one isolated kernel; ``request`` carries its uid, folders, environment and limits."""
        assert self._process.stdin is not None
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            message = {**request, "id": ident, "runs_root": str(self.runs_root)}
            self._process.stdin.write((json.dumps(message) + "\n").encode())
            self._process.stdin.flush()
        with self._changed:
            while ident not in self._replies:
                if self._closed:
                    raise SandboxUnavailable("the warm kernel process ended; see its log")
                self._changed.wait(1.0)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise SandboxUnavailable(f"the warm kernel process could not fork a kernel: {reply['error']}")
        return ForkedKernel(self, int(reply["pid"]))

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            if pid in self._exits:
                return self._exits.pop(pid)
            return -signal.SIGKILL if self._closed else None

    def wait_for_exit(self, pid: int, timeout: float) -> None:
        with self._changed:
            if pid not in self._exits and not self._closed:
                self._changed.wait(timeout)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


_zygotes: dict[object, Future[Zygote]] = {}
_zygotes_lock = threading.Lock()
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zygote-launcher")
"""Zygotes are started from this one long-lived thread: they end when the thread that
started them ends (a parent-death signal), and grading threads come and go."""


def zygote_for(sandbox: Sandbox, env: dict[str, str]) -> Zygote:
    """This process's zygote for ``sandbox``, started on first use."""
    return _zygote(sandbox, sandbox, sandbox.preload, env).result()


def start_zygote(sandbox: Sandbox, env: dict[str, str]) -> None:
    """Start ``sandbox``'s zygote now, in the background: its imports overlap the grader's set-up."""
    _zygote(sandbox, sandbox, sandbox.preload, env)


def trusted_zygote(preload: tuple[str, ...], env: dict[str, str]) -> Zygote:
    """This process's zygote for trusted runs (the solutions) with these modules preloaded."""
    return _zygote(("trusted", preload), None, preload, env).result()


def _zygote(
    key: object, sandbox: Sandbox | None, preload: tuple[str, ...], env: dict[str, str]
) -> Future[Zygote]:
    with _zygotes_lock:
        future = _zygotes.get(key)
        alive = future is not None and not (future.done() and (future.exception() or future.result()._closed))
        if not alive:
            future = _launcher.submit(Zygote, sandbox, runs_root(), preload, env)
            _zygotes[key] = future
        assert future is not None
        return future


def notebook_imports(notebooks: list[Path]) -> tuple[str, ...]:
    """The modules these notebooks import (``import a.b``, ``from a.b import c``), in order.

    The zygote preloads them, so a kernel finds what its notebook needs already imported.
    """
    import ast

    from autograder.pyast import parse_python

    found: dict[str, None] = {}
    for path in notebooks:
        try:  # plain JSON: nbformat's import would delay the zygote's start
            cells = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for cell in cells if isinstance(cells, list) else []:
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            try:
                tree = parse_python("".join(source) if isinstance(source, list) else str(source))
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update((alias.name, None) for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found[node.module] = None
    return tuple(found)


def runs_root() -> Path:
    """This grader process's folder for run folders; the zygote sees only this of /tmp."""
    root = Path(tempfile.gettempdir()) / f"autograder-runs-{os.getpid()}"
    root.mkdir(mode=0o755, exist_ok=True)
    return root


@atexit.register
def _close_all() -> None:
    for future in _zygotes.values():
        if future.done() and not future.exception():
            future.result().close()
    root = Path(tempfile.gettempdir()) / f"autograder-runs-{os.getpid()}"
    if root.is_dir():
        import shutil

        shutil.rmtree(root, ignore_errors=True)
