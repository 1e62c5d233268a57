"""Where learner notebook runs execute: on this machine, or on a Dask cluster.

The grading pipeline (``grade.py``) stays on the instructor's side: it sanitises, scores,
writes evidence and the gradebook. Only the run itself, one notebook under one parameter
set in the sandbox, is handed to a runner. A run is self-contained (the notebook, the
parameters, the files of its folder, the limits), so a Dask worker needs nothing of the
instructor's state, and each worker sandboxes it exactly as a local run is sandboxed.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..course.config import Settings, make_sandbox
from .sandbox import Limits, Sandbox, SandboxUnavailable, kernel_variables, probe
from .warmpool import notebook_imports, runs_root, start_zygote

if TYPE_CHECKING:  # the run machinery (papermill, nbclient) is imported when a run starts
    from nbformat import NotebookNode

    from .outcome import ExecutedNotebook


def grading_sandbox(
    settings: Settings, sources: list[Path], *, unsafe_no_sandbox: bool = False
) -> Sandbox | None:
    """The sandbox runs of these notebooks go in, its zygote preloading what they import."""
    sandbox = make_sandbox(settings, unsafe_no_sandbox=unsafe_no_sandbox)
    if sandbox is None:
        return None
    extra = tuple(m for m in notebook_imports(sources) if m not in sandbox.preload)
    return dataclasses.replace(sandbox, preload=sandbox.preload + extra) if extra else sandbox


def prestart(sandbox: Sandbox | None) -> None:
    """Start the sandbox's warm zygote now, in the background, if it has one."""
    if sandbox is not None and sandbox.warm:
        start_zygote(sandbox, sandbox.environment(runs_root(), kernel_variables()))


class Runner(Protocol):
    parallel: int
    """How many runs this runner executes at once."""
    sandbox: Sandbox | None
    """Where learner code runs (None only where the instructor opted out); artifact jobs too."""

    def run(
        self, nb: NotebookNode, parameters: dict[str, Any], folder: Path, limits: Limits | None = None
    ) -> ExecutedNotebook:
        """Run ``nb``; ``limits`` replaces the runner's own for this run (a shorter wall clock)."""
        ...

    def close(self) -> None: ...


class LocalRunner:
    """Runs on this machine, at most ``parallel`` at a time.

    Callers may use more threads than that: a thread beyond ``parallel`` prepares the
    next submission (reading and sanitising it) while the runs are busy, and waits here
    for a slot.
    """

    def __init__(self, sandbox: Sandbox | None, limits: Limits, parallel: int) -> None:
        self.sandbox, self.limits, self.parallel = sandbox, limits, parallel
        self._slots = threading.BoundedSemaphore(parallel)
        prestart(sandbox)  # its imports overlap the grader's own set-up

    def run(
        self, nb: NotebookNode, parameters: dict[str, Any], folder: Path, limits: Limits | None = None
    ) -> ExecutedNotebook:
        from .execute import run_notebook, scratch_copy

        with self._slots, scratch_copy(folder) as cwd:
            return run_notebook(nb, parameters, cwd, limits=limits or self.limits, sandbox=self.sandbox)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class RunJob:
    """One run, as shipped to a Dask worker."""

    notebook: dict[str, Any]
    parameters: dict[str, Any]
    files: dict[str, bytes]
    """The run folder's other files (data sets), by path relative to the folder."""
    limits: Limits
    hidden: tuple[str, ...]
    """Folders the worker's sandbox empties (the course and state folders, where they exist)."""
    sandboxed: bool
    warm: bool
    preload: tuple[str, ...]


def folder_files(folder: Path) -> dict[str, bytes]:
    """What ``scratch_copy`` would copy, as bytes: every non-notebook, non-hidden file."""
    files: dict[str, bytes] = {}
    if folder.is_dir():
        for item in sorted(folder.rglob("*")):
            relative = item.relative_to(folder)
            if (
                item.is_file()
                and item.suffix != ".ipynb"
                and not any(p.startswith(".") for p in relative.parts)
            ):
                files[str(relative)] = item.read_bytes()
    return files


_worker_sandboxes: dict[tuple[Any, ...], Sandbox] = {}
_worker_lock = threading.Lock()


def _worker_sandbox(job: RunJob) -> Sandbox:
    """The worker's own sandbox for these limits: its own Python, probed once per process."""
    # Timeouts are the grader's to enforce (``run_notebook``), and a submission's last runs get
    # a shorter wall clock: they must not start another sandbox and warm process.
    limits = job.limits.kernel_side()
    key = (limits, job.hidden, job.warm, job.preload)
    with _worker_lock:
        if key not in _worker_sandboxes:
            hidden = [Path(p) for p in job.hidden]
            sandbox = Sandbox.for_course(limits, *hidden[:2], warm=job.warm, preload=job.preload)
            try:
                probe(sandbox)
            except SandboxUnavailable as exc:
                raise SandboxUnavailable(f"this Dask worker cannot sandbox learner code: {exc}") from None
            _worker_sandboxes[key] = sandbox
        return _worker_sandboxes[key]


def execute_job(job: RunJob) -> ExecutedNotebook:
    """Run one job on a Dask worker, in the worker's sandbox; never raises for learner code."""
    import tempfile

    import nbformat

    from .execute import run_notebook, scratch_copy

    sandbox = _worker_sandbox(job) if job.sandboxed else None
    with tempfile.TemporaryDirectory(prefix="job-", dir=runs_root()) as tmp:
        folder = Path(tmp)
        for name, data in job.files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        nb = nbformat.from_dict(job.notebook)  # type: ignore[no-untyped-call]
        with scratch_copy(folder) as cwd:
            return run_notebook(nb, job.parameters, cwd, limits=job.limits, sandbox=sandbox)


class DaskRunner:
    """Runs on a Dask distributed cluster; the scheduler's address is ``tcp://host:port``."""

    def __init__(self, address: str, sandbox: Sandbox | None, limits: Limits) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise SandboxUnavailable(f"--scheduler needs Dask's distributed package: {exc}") from None
        try:
            self.client = Client(address, timeout=10)  # type: ignore[no-untyped-call]  # distributed is untyped
        except OSError as exc:
            raise ConnectionError(
                f"cannot reach the Dask scheduler at {address!r} ({exc}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or drop --scheduler to grade here"
            ) from None
        self.sandbox, self.limits = sandbox, limits
        self.parallel = max(1, sum(self.client.nthreads().values()))  # type: ignore[no-untyped-call]
        self._files: dict[Path, dict[str, bytes]] = {}
        self._lock = threading.Lock()

    def _folder_files(self, folder: Path) -> dict[str, bytes]:
        with self._lock:
            if folder not in self._files:
                self._files[folder] = folder_files(folder)
            return self._files[folder]

    def run(
        self, nb: NotebookNode, parameters: dict[str, Any], folder: Path, limits: Limits | None = None
    ) -> ExecutedNotebook:
        sandbox = self.sandbox
        job = RunJob(
            notebook=dict(nb),
            parameters=dict(parameters),
            files=self._folder_files(folder),
            limits=limits or self.limits,
            hidden=tuple(str(p) for p in sandbox.hidden) if sandbox else (),
            sandboxed=sandbox is not None,
            warm=bool(sandbox and sandbox.warm),
            preload=sandbox.preload if sandbox else (),
        )
        future = self.client.submit(execute_job, job, pure=False)
        result: ExecutedNotebook = future.result()
        return result

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]
