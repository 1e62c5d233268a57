"""Papermill runs of one notebook under one parameter set, with limits and an outcome.

We use papermill's own parameterisation (the ``parameters`` tag and the injected cell)
and register a papermill engine, ``autograder``, that differs from the stock nbclient
engine in what grading needs: errors do not stop the run (every test cell gets its
chance, as in ``nbgrader autograde``), a cell that runs too long is interrupted and
recorded as an error, a dead kernel or a whole-run wall-clock overrun ends the run with
a reason instead of an exception, and the kernel's environment is given explicitly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.execute import prepare_notebook_metadata
from papermill.parameterize import parameterize_notebook

from .checks import COLLECT_ENV

ENGINE_NAME = "autograder"
KERNEL_NAME = "python3"
MAX_STREAM_CHARS = 100_000
"""Stream output kept per cell in a stored notebook; the rest is cut with a note."""


@dataclass
class RunOutcome:
    """How a run ended: ``completed``, ``timeout`` (wall clock) or ``crashed`` (kernel died)."""

    status: str = "completed"
    reason: str = ""
    seconds: float = 0.0
    cells_run: int = 0


@dataclass
class ExecutedNotebook:
    notebook: NotebookNode
    parameters: dict[str, Any]
    outcome: RunOutcome = field(default_factory=RunOutcome)


class GradingEngine(NBClientEngine):
    """papermill's nbclient engine, made to survive what learner code does."""

    @classmethod
    def execute_managed_notebook(  # type: ignore[override]
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> NotebookNode:
        outcome: RunOutcome = kwargs.pop("run_outcome")
        run_timeout: float = kwargs.pop("run_timeout")
        env: dict[str, str] = kwargs.pop("kernel_env")
        cwd: str = kwargs.pop("run_cwd")
        kwargs.pop("input_path", None)
        # IPC sockets in a private folder: no TCP port for other local processes to reach.
        sockets = tempfile.mkdtemp(prefix="autograder-kernel-")
        km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(sockets, "k"))
        client = PapermillNotebookClient(
            nb_man,
            km=km,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log_output=False,
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={
                "ename": "CellTimeoutError",
                "evalue": f"the cell ran longer than {execution_timeout:g} s and was interrupted",
                "traceback": [],
            },
            resources={"metadata": {"path": cwd}},
        )
        timer = threading.Timer(run_timeout, _kill_kernel, args=(client, outcome, run_timeout))
        timer.daemon = True
        started = time.monotonic()
        timer.start()
        try:
            client.execute(env=env)
        except DeadKernelError as exc:
            if outcome.status != "timeout":
                outcome.status, outcome.reason = "crashed", f"the kernel died ({exc})"
        except CellTimeoutError as exc:  # pragma: no cover - interrupt_on_timeout avoids it
            outcome.status, outcome.reason = "timeout", str(exc)
        except RuntimeError as exc:
            if outcome.status != "timeout":
                outcome.status, outcome.reason = "crashed", f"the kernel stopped answering ({exc})"
        finally:
            timer.cancel()
            outcome.seconds = time.monotonic() - started
            _kill_tree(client)
            shutil.rmtree(sockets, ignore_errors=True)
        return nb_man.nb


def _kernel_process(client: PapermillNotebookClient) -> psutil.Process | None:
    km = getattr(client, "km", None)
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    try:
        return psutil.Process(pid) if pid else None
    except psutil.Error:
        return None


def _kill_tree(client: PapermillNotebookClient) -> None:
    """Kill the kernel and everything it started, so nothing outlives the run."""
    root = _kernel_process(client)
    if root is None:
        return
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = [root]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _kill_kernel(client: PapermillNotebookClient, outcome: RunOutcome, limit: float) -> None:
    outcome.status = "timeout"
    outcome.reason = f"the whole run exceeded its wall-clock limit of {limit:g} s and was stopped"
    _kill_tree(client)


papermill_engines.register(ENGINE_NAME, GradingEngine)


def parameterize(nb: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """papermill's injected-parameters cell, placed after the ``parameters`` cell."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # papermill's loader, from a node
    nb.metadata.setdefault(
        "papermill", {"default_parameters": {}, "parameters": {}, "environment_variables": {}}
    )
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    if parameters:
        nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL_NAME, language="python")
    return prepare_notebook_metadata(nb, "", "")


def default_parameters(nb: NotebookNode) -> dict[str, Any]:
    """The values the notebook's ``parameters`` cell assigns (simple literals only)."""
    import ast

    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            values: dict[str, Any] = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name):
                        try:
                            values[target.id] = ast.literal_eval(node.value)
                        except ValueError:
                            continue
            return values
    return {}


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: the grader's, told that values are collected outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env[COLLECT_ENV] = "1"
    env.setdefault("PYTHONHASHSEED", "0")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["MPLBACKEND"] = "Agg"
    env.update(extra or {})
    return env


@contextmanager
def scratch_copy(folder: Path) -> Iterator[Path]:
    """A throw-away copy of ``folder``'s non-notebook files: the run's working directory."""
    scratch = Path(tempfile.mkdtemp(prefix="autograder-run-"))
    try:
        if folder.is_dir():
            for item in folder.iterdir():
                if item.suffix == ".ipynb" or item.name.startswith("."):
                    continue
                target = scratch / item.name
                if item.is_dir():
                    shutil.copytree(item, target)
                else:
                    shutil.copy2(item, target)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def limit_outputs(nb: NotebookNode, max_chars: int = MAX_STREAM_CHARS) -> NotebookNode:
    """Cut long stream outputs, so a flood cannot bloat stored notebooks or reports."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.get("text", "")) > max_chars:
                cut = len(output["text"]) - max_chars
                output["text"] = output["text"][:max_chars] + f"\n... [{cut} characters cut]\n"
    return nb


def run_notebook(
    nb: NotebookNode,
    parameters: dict[str, Any],
    cwd: Path,
    *,
    cell_timeout: float,
    run_timeout: float,
    env: dict[str, str] | None = None,
) -> ExecutedNotebook:
    """Run ``nb`` under ``parameters`` in ``cwd``; never raises for what the code did."""
    prepared = parameterize(nb, parameters)
    outcome = RunOutcome()
    executed = papermill_engines.execute_notebook_with_engine(
        ENGINE_NAME,
        prepared,
        kernel_name=KERNEL_NAME,
        output_path=None,
        progress_bar=False,
        log_output=False,
        start_timeout=60,
        execution_timeout=cell_timeout,
        run_outcome=outcome,
        run_timeout=run_timeout,
        kernel_env=env if env is not None else kernel_environment(),
        run_cwd=str(cwd),
    )
    outcome.cells_run = sum(
        1 for c in executed.cells if c.cell_type == "code" and c.get("execution_count") is not None
    )
    return ExecutedNotebook(limit_outputs(executed), dict(parameters), outcome)


def read_notebook(path: Path) -> NotebookNode:
    """Read a notebook file, with an error that names it when it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise MalformedNotebook(path, exc) from None


class MalformedNotebook(ValueError):
    """A notebook file that is not valid notebook JSON (truncated, edited by hand...)."""

    def __init__(self, path: Path, cause: Exception) -> None:
        self.path = path
        super().__init__(
            f"{path}: not a readable notebook ({type(cause).__name__}: {str(cause)[:120]}); "
            "restore it from the release or re-download it, then submit again"
        )
