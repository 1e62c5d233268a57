"""A command run in the sandbox on files a learner wrote: their tests, a patched library, a step.

Some exercises produce artifacts rather than values (tests that must catch bugs, a patch,
a workflow), and grading them means running learner code outside the kernel that wrote
it. A *job* is one such command: it runs in a folder of its own, under the same sandbox,
limits and fresh uid as a kernel, with a wall clock, and the grader reads only its exit
code and the end of its output. The exit code is observed by the grader, not reported by
anything inside, so learner code in the job cannot forge it; it can only make its own
command succeed or fail, which is what the grader asks of it.

Jobs run after the learner's own run has ended, in a folder the grader filled, so what
they are given (hidden tests, buggy variants of a library) is never in reach of the
learner's kernel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from .messages import mend_text
from .sandbox import Sandbox, allocate_uid, kernel_variables, prepare_folder
from .warmpool import runs_root

OUTPUT_TAIL = 4000
"""Characters of a job's output kept (its end: where pytest and most tools say why)."""


@dataclass(frozen=True)
class JobResult:
    """How a job ended: its exit code (None when the wall clock stopped it) and output's end."""

    exit_code: int | None
    output: str
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> None:
    """Write ``files`` (relative path -> content) under ``folder``; refuse paths that leave it.

    The paths come from a learner: an absolute path, ``..`` or a name that is not plain text
    raises ``ValueError`` before anything is written.
    """
    for name in files:
        if not is_safe_relative(name):
            raise ValueError(f"refused the file name {name!r}: use a relative path inside the folder")
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8", "replace") if isinstance(content, str) else content
        target.write_bytes(data)


def is_safe_relative(name: object) -> bool:
    """A relative POSIX path of ordinary parts: no ``..``, no leading ``/``, no control characters."""
    if not isinstance(name, str) or not name or len(name) > 200 or name.startswith("/"):
        return False
    parts = name.split("/")
    return all(part not in ("", ".", "..") and part.isprintable() for part in parts)


def run_job(
    sandbox: Sandbox | None,
    argv: list[str],
    folder: Path,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> JobResult:
    """Run ``argv`` in ``folder`` (its working directory) inside ``sandbox``; never raises for
    what the command did.

    ``sandbox=None`` runs it as the grader's own user, only where the instructor opted out
    of the sandbox (``--unsafe-no-sandbox``). Whatever way it ends, nothing it started
    outlives it: its process group and every process of its uid are killed.
    """
    uid = allocate_uid()
    sockets = Path(tempfile.mkdtemp(prefix="job-", dir=runs_root()))
    log = sockets / "output.log"
    extra = {**kernel_variables(), **(env or {})}
    if sandbox is not None:
        prepare_folder(folder, uid)
        os.chmod(sockets, 0o755)
        command = sandbox.command(argv, scratch=folder, sockets=sockets, uid=uid)
        environment = sandbox.environment(folder, extra)
    else:
        command = argv
        environment = {**{k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}, **extra}
    started = time.monotonic()
    try:
        exit_code = _wait(command, folder, environment, log, timeout, uid if sandbox else None)
        return JobResult(exit_code, _tail(log), time.monotonic() - started)
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def _wait(
    command: list[str], folder: Path, env: Mapping[str, str], log: Path, timeout: float, uid: int | None
) -> int | None:
    """Start ``command`` with its output in ``log``; its exit code, or None past ``timeout``."""
    with log.open("wb") as out:
        try:
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError:
            out.write(f"{command[0]}: command not found\n".encode())
            return 127
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            _kill(process, uid)


def _kill(process: subprocess.Popen[bytes], uid: int | None) -> None:
    """End the job's process group and anything left running as its uid."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 9)
    if uid is not None:
        for proc in psutil.process_iter(["uids"]):
            with contextlib.suppress(psutil.Error, TypeError):
                if proc.info["uids"] and proc.info["uids"].real == uid:
                    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _tail(log: Path) -> str:
    """The end of the job's output, as valid text."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - OUTPUT_TAIL))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    mended: str = mend_text(text)
    return mended
