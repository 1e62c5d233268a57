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
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

from .client import MAX_CHECK_BYTES, GradingClient, RunStopped
from .kernels import exit_code, kernel_manager, kill_tree, last_words
from .messages import MAX_MESSAGE_BYTES, client_class, limited_context
from .notebooks import KERNEL_NAME, limit_outputs, parameterize
from .outcome import ExecutedNotebook, RunOutcome
from .sandbox import Limits, Sandbox, SandboxUnavailable, kernel_variables
from .warmpool import runs_root

ENGINE_NAME = "autograder"


class RunManager(NotebookExecutionManager):  # type: ignore[misc]  # papermill is untyped
    """papermill's execution manager, reading a cell's start time back with ``fromisoformat``.

    Why: papermill parses the ISO time it wrote itself with dateutil's general parser,
    which cost the grader about a quarter of a millisecond per cell; ``fromisoformat``
    reads that string exactly, so the recorded duration is the same.
    """

    def cell_complete(self, cell: NotebookNode, cell_index: int | None = None, **kwargs: Any) -> None:
        started = cell.metadata.papermill.pop("start_time", None)
        super().cell_complete(cell, cell_index, **kwargs)
        if started:
            cell.metadata.papermill["start_time"] = started
            ended = datetime.fromisoformat(cell.metadata.papermill["end_time"])
            cell.metadata.papermill["duration"] = (ended - datetime.fromisoformat(started)).total_seconds()


class GradingEngine(NBClientEngine):  # type: ignore[misc]  # papermill is untyped
    """papermill's nbclient engine, made to survive what learner code does."""

    @classmethod
    def execute_notebook(
        cls, nb: NotebookNode, kernel_name: str, output_path: Any = None, **kwargs: Any
    ) -> NotebookNode:
        """papermill's ``execute_notebook``, with our ``RunManager``; there is no output file."""
        kwargs.pop("progress_bar", None)
        kwargs.pop("autosave_cell_every", None)
        log_output = kwargs.pop("log_output", False)
        nb_man = RunManager(nb, output_path=output_path, progress_bar=False, log_output=log_output)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        done: NotebookNode = nb_man.nb
        return done

    @classmethod
    def execute_managed_notebook(
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
        """papermill's engine entry point: one run, whose end is recorded in ``run_outcome``."""
        outcome: RunOutcome = kwargs.pop("run_outcome")
        limits: Limits = kwargs.pop("limits")
        sandbox: Sandbox | None = kwargs.pop("sandbox")
        trusted_preload: tuple[str, ...] | None = kwargs.pop("trusted_preload")
        extra_env: dict[str, str] = kwargs.pop("kernel_env")
        cwd = Path(kwargs.pop("run_cwd"))
        kwargs.pop("input_path", None)
        # IPC sockets in a private folder: no TCP port for other local processes to reach.
        sockets = Path(tempfile.mkdtemp(prefix="kernel-", dir=runs_root()))
        context = limited_context(MAX_MESSAGE_BYTES)
        km, env = kernel_manager(
            kernel_name,
            sockets,
            context,
            cwd,
            outcome,
            sandbox=sandbox,
            trusted_preload=trusted_preload,
            extra_env=extra_env,
        )
        km.client_factory = client_class(context)
        client = _grading_client(nb_man, km, outcome, limits, kernel_name, start_timeout, cwd)
        _run_client(client, outcome, limits, env, sockets, context)
        done: NotebookNode = nb_man.nb
        return done


def _grading_client(
    nb_man: Any,
    km: AsyncKernelManager,
    outcome: RunOutcome,
    limits: Limits,
    kernel_name: str,
    start_timeout: int,
    cwd: Path,
) -> GradingClient:
    """nbclient's settings for a graded run: errors do not stop it, a long cell is interrupted."""
    client = GradingClient(
        nb_man,
        outcome=outcome,
        output_limit=limits.output_kb * 1024,
        check_limit=MAX_CHECK_BYTES,
        km=km,
        timeout=limits.cell_timeout,
        startup_timeout=start_timeout,
        kernel_name=kernel_name,
        log_output=False,
        allow_errors=True,
        shutdown_kernel="immediate",  # nothing in a finished run needs a polite goodbye
        record_timing=False,  # papermill records each cell's start, end and duration itself
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "CellTimeoutError",
            "evalue": f"the cell ran longer than {limits.cell_timeout:g} s and was interrupted",
            "traceback": [],
        },
        resources={"metadata": {"path": str(cwd)}},
    )
    client.on_limit = lambda: kill_tree(client, outcome.uid)
    return client


def _run_client(
    client: GradingClient,
    outcome: RunOutcome,
    limits: Limits,
    env: dict[str, str],
    sockets: Path,
    context: zmq.asyncio.Context,
) -> None:
    """Run every cell under the wall-clock timer; how the run ended goes into ``outcome``."""
    timer = threading.Timer(limits.run_timeout, _kill_kernel, args=(client, outcome, limits.run_timeout))
    timer.daemon = True
    started = time.monotonic()
    timer.start()
    kernel_log = (sockets / "kernel-stderr.log").open("wb")
    try:
        client.execute(env=env, stdout=subprocess.DEVNULL, stderr=kernel_log)
    except RunStopped:
        pass
    except DeadKernelError as exc:
        if outcome.status == "completed":
            outcome.status, outcome.reason = "crashed", f"the kernel died ({exc})"
    except CellTimeoutError:
        if outcome.status == "completed":  # an ignored interrupt, or output that kept arriving
            _record_cell_timeout(client, outcome, limits)
    except SandboxUnavailable:
        raise  # the machine's fault, not the notebook's: nothing about this run is recorded
    except Exception as exc:  # a kernel that garbles its own protocol (patched builtins...)
        if outcome.status == "completed":
            outcome.status = "crashed"
            detail = f"{type(exc).__name__}: {str(exc)[:120]}"
            outcome.reason = f"the kernel stopped answering properly ({detail})"
    finally:
        timer.cancel()
        outcome.seconds = time.monotonic() - started
        _end_run(client, outcome, kernel_log, sockets, context)


def _record_cell_timeout(client: GradingClient, outcome: RunOutcome, limits: Limits) -> None:
    """Why nbclient gave up on a cell: an interrupt the kernel ignored, or output that lagged."""
    outcome.status = "timeout"
    ignored = client.timed_out_cell == client.current_cell
    outcome.limit = "cell-timeout" if ignored else "output-lag"
    outcome.reason = client.timeout_reason(limits)


def _end_run(
    client: GradingClient,
    outcome: RunOutcome,
    kernel_log: BinaryIO,
    sockets: Path,
    context: zmq.asyncio.Context,
) -> None:
    """Leave nothing of the run behind (processes, channels, sockets) whatever way it ended."""
    outcome.exit_code = exit_code(client)
    kill_tree(client, outcome.uid)
    kernel_log.close()
    if outcome.status == "crashed":
        outcome.reason += last_words(sockets / "kernel-stderr.log")
    with contextlib.suppress(Exception):
        if client.kc is not None:  # join the heartbeat thread before its sockets go
            client.kc.stop_channels()
        context.destroy(linger=0)
    shutil.rmtree(sockets, ignore_errors=True)


def _kill_kernel(client: PapermillNotebookClient, outcome: RunOutcome, limit: float) -> None:
    outcome.status, outcome.limit = "timeout", "wall-clock"
    outcome.reason = f"the whole run exceeded its wall-clock limit of {limit:g} s and was stopped"
    kill_tree(client, outcome.uid)


papermill_engines.register(ENGINE_NAME, GradingEngine)


@contextmanager
def scratch_copy(folder: Path) -> Iterator[Path]:
    """A throw-away copy of ``folder``'s non-notebook files: the run's working directory."""
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=runs_root()))
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


def run_notebook(
    nb: NotebookNode,
    parameters: dict[str, Any],
    cwd: Path,
    *,
    limits: Limits,
    sandbox: Sandbox | None,
    warm: tuple[str, ...] | None = None,
) -> ExecutedNotebook:
    """Run ``nb`` under ``parameters`` in ``cwd``; never raises for what the code did.

    ``sandbox=None`` runs the kernel as the grader's own user: only for trusted notebooks
    (the solutions) or with the instructor's explicit ``--unsafe-no-sandbox``. Such a run
    forks its kernel from a trusted zygote with ``warm`` preloaded, when ``warm`` is given.
    """
    prepared = parameterize(nb, parameters)
    outcome = RunOutcome(sandboxed=sandbox is not None)
    executed = papermill_engines.execute_notebook_with_engine(
        ENGINE_NAME,
        prepared,
        kernel_name=KERNEL_NAME,
        output_path=None,
        progress_bar=False,
        log_output=False,
        start_timeout=60,
        execution_timeout=limits.cell_timeout,
        run_outcome=outcome,
        limits=limits,
        sandbox=sandbox,
        trusted_preload=warm if sandbox is None else None,
        kernel_env=kernel_variables(),
        run_cwd=str(cwd),
    )
    outcome.cells_run = sum(
        1 for c in executed.cells if c.cell_type == "code" and c.get("execution_count") is not None
    )
    return ExecutedNotebook(limit_outputs(executed), dict(parameters), outcome)
