"""Papermill runs of one notebook under one parameter set, with limits and an outcome.

We use papermill's own parameterisation (the ``parameters`` tag and the injected cell)
and register a papermill engine, ``autograder``, that differs from the stock nbclient
engine in what grading needs: errors do not stop the run (every test cell gets its
chance, as in ``nbgrader autograde``), a cell that runs too long is interrupted and
recorded as an error, a dead kernel or a whole-run wall-clock overrun ends the run with
a reason instead of an exception, and the kernel's environment is given explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from hmac import compare_digest
from pathlib import Path
from queue import Empty
from typing import Any, BinaryIO

import nbformat
import psutil
import zmq
import zmq.asyncio
from jupyter_client.adapter import adapt
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import Session
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.execute import prepare_notebook_metadata
from papermill.parameterize import parameterize_notebook

from .config import MalformedNotebook
from .evidence import RunEnd
from .jsonbudget import decoded_size
from .protocol import MIME_TYPE
from .sandbox import (
    Limits,
    Sandbox,
    SandboxUnavailable,
    allocate_uid,
    kernel_variables,
    prepare_folder,
)
from .warmpool import ForkedKernel, runs_root, trusted_zygote, zygote_for

ENGINE_NAME = "autograder"
KERNEL_NAME = "python3"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest single message the grader accepts from a kernel; ZeroMQ drops bigger ones."""
MAX_DECODED_MESSAGE = 32 * 1024 * 1024
"""The most memory one message's content may take once decoded (``jsonbudget``); a larger
one is not decoded at all, and the run stops as after an output flood."""
MAX_CHECK_BYTES = 48 * 1024 * 1024
"""Check reports one run may send in all, counted as decoded size, from test cells only (a
200,000-value report, the most ``encode`` sends for one check, counts about 10 MB)."""
IOPUB_TIMEOUT = 10
"""Seconds a cell's output may still be arriving after the kernel said the cell ended."""
DROPPED = "autograder_dropped"
"""Marks the content of a message that was too large to decode (its estimated size)."""
SIZE = "autograder_size"
"""The estimated decoded size of a message's content, kept beside the message."""
MAX_STREAM_CHARS = 100_000
"""Stream output kept per cell in a stored notebook; the rest is cut with a note."""


@dataclass
class RunOutcome:
    """How a run ended: ``completed``, ``timeout`` (wall clock) or ``crashed`` (kernel died)."""

    status: RunEnd = "completed"
    reason: str = ""
    seconds: float = 0.0
    cells_run: int = 0
    limit: str = ""
    """Which limit the run hit: ``wall-clock``, ``output``, ``memory``, ``cell-timeout`` (a cell
    was interrupted; the run may have gone on), ``output-lag`` or empty."""
    exit_code: int | None = None
    uid: int | None = None
    sandboxed: bool = False


@dataclass
class ExecutedNotebook:
    notebook: NotebookNode
    parameters: dict[str, Any]
    outcome: RunOutcome = field(default_factory=RunOutcome)


class RunStopped(Exception):
    """Raised between cells to end a run that hit a limit the grader enforces."""


class GradingClient(PapermillNotebookClient):  # type: ignore[misc]  # papermill is untyped
    """papermill's client, with the output a run may send the grader capped.

    Outputs past ``output_limit`` bytes of text (or ``check_limit`` bytes of check
    reports) are dropped as they arrive, so a flood never accumulates in the grader's
    memory, and the run ends after the cell that flooded. A ``MemoryError`` in a cell
    ends the run too: the memory cap was hit.
    """

    def __init__(self, nb_man: Any, *, outcome: RunOutcome, output_limit: int, check_limit: int, **kw: Any):
        super().__init__(nb_man, iopub_timeout=IOPUB_TIMEOUT, **kw)
        self.outcome = outcome
        self.output_limit = output_limit
        self.check_limit = check_limit
        self.text_bytes = 0
        self.check_bytes = 0
        self.test_cells = {i for i, cell in enumerate(self.nb.cells) if is_test_cell(cell)}
        """Where check reports count (``reports.py`` reads no others): the only place they are kept."""
        self.current_cell = -1
        self.timed_out_cell = -1
        self.on_limit: Callable[[], None] = lambda: None
        """Called once when an output limit is hit: the engine ends the kernel there and then,
        rather than read (and decode) the rest of a flood until the cell ends."""

    def output(self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int) -> Any:
        content = msg.get("content", {})
        if DROPPED in content:
            mb = content[DROPPED] // 2**20
            self._stop_for_output(f"one output was too large to read ({mb} MB once decoded)")
            return None
        data = content.get("data") or {}
        if isinstance(data, dict) and MIME_TYPE in data:
            if cell_index not in self.test_cells:  # never read, so never kept nor counted
                content["data"] = data = {k: v for k, v in data.items() if k != MIME_TYPE}
            else:
                self.check_bytes += int(msg.get(SIZE, 0))
        if isinstance(data, dict) and MIME_TYPE not in data:
            size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in data.values())
            size += sum(len(str(line)) for line in content.get("traceback", []) or [])
            self.text_bytes += size
        if self.check_bytes > self.check_limit:
            self._stop_for_output(f"its checks reported more than {self.check_limit // 2**20} MB of values")
            return None
        if self.text_bytes > self.output_limit:
            self._stop_for_output(f"the notebook printed more than {self.output_limit // 1024} KB")
            return None
        parent = msg["parent_header"].get("msg_id")
        if self.output_hook_stack[parent]:  # widgets' output hooks: nbclient's own path
            return super().output(outs, msg, display_id, cell_index)
        out = output_node(msg)
        if out is None:
            return None
        if self.clear_before_next_output:  # type: ignore[has-type]  # nbclient's untyped attribute
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
        if display_id:
            cell_map = self._display_id_map.setdefault(display_id, {})
            cell_map.setdefault(cell_index, []).append(len(outs))
        outs.append(out)
        return out

    def _stop_for_output(self, what: str) -> None:
        if self.outcome.limit != "output":
            self.outcome.limit = "output"
            self.outcome.status = "output-limit"
            self.outcome.reason = f"{what}; output past that was dropped and the run was stopped"
            self.on_limit()

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> Any:
        """nbclient's interrupt on a cell timeout, remembered: the run's reason depends on it."""
        self.timed_out_cell = self.current_cell
        if not self.outcome.limit:
            self.outcome.limit = "cell-timeout"
        return await super()._async_handle_timeout(timeout, cell)

    def timeout_reason(self, limits: Limits) -> str:
        """Why nbclient gave up on the current cell: an ignored interrupt, or output that lagged."""
        where = cell_label(self.nb, self.current_cell)
        if self.timed_out_cell == self.current_cell:
            return (
                f"{where} ran longer than {limits.cell_timeout:g} s, was interrupted, and did not stop "
                f"within {IOPUB_TIMEOUT} s; the run was stopped there"
            )
        return (
            f"{where} finished, but its output had not all arrived {IOPUB_TIMEOUT} s later (more "
            f"output at once than the {MAX_MESSAGE_BYTES // 2**20} MB the grader accepts in one "
            "message, or a kernel too busy to send it); the run was stopped there"
        )

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int, **kw: Any) -> NotebookNode:
        if cell.cell_type == "code" and only_comments(cell.source):
            # Nothing to run (a hint cell left as released, say); a round trip to the kernel
            # would cost the grader and the kernel about 10 ms each for nothing.
            return cell
        self.current_cell = cell_index
        result: NotebookNode = await super().async_execute_cell(cell, cell_index, **kw)
        if self.outcome.limit == "output":
            raise RunStopped
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "MemoryError":
                self.outcome.limit = "memory"
                self.outcome.status = "memory-limit"
                self.outcome.reason = "the notebook ran out of its memory allowance and the run was stopped"
                raise RunStopped
        return result

    async def _async_poll_kernel_alive(self) -> None:
        """nbclient's liveness check, without its poll every second: a crashed kernel
        (common in learner code) ends its run at once, while its slot would stand idle.

        A forked kernel's end is reported by the zygote the moment it happens; a launched
        kernel is polled every 50 ms (each poll costs the grader some CPU).
        """
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if isinstance(process, ForkedKernel):
            loop = asyncio.get_running_loop()
            ended = asyncio.Event()

            def wake() -> None:
                with contextlib.suppress(RuntimeError):  # the run is over and its loop closed
                    loop.call_soon_threadsafe(ended.set)

            cancel = process.on_exit(wake)
            try:
                await ended.wait()
            finally:
                cancel()
        else:
            while True:
                await asyncio.sleep(0.05)
                try:
                    await self._async_check_alive()
                except DeadKernelError:
                    break
        assert self.task_poll_for_reply is not None
        self.task_poll_for_reply.cancel()

    # nbclient binds its synchronous execute_cell to its own coroutine; rebind it to ours.
    execute_cell = run_sync(async_execute_cell)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs inside ``sandbox.Sandbox``."""

    def __init__(self, *, sandbox: Sandbox, scratch: Path, sockets: Path, uid: int, **kw: Any) -> None:
        super().__init__(**kw)
        self._sandbox, self._scratch, self._sockets, self._uid = sandbox, scratch, sockets, uid

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        prepare_folder(self._sockets, self._uid)  # the connection file was just written as root
        # A SIGINT to the process group would also end bwrap, and with it the kernel, so
        # interrupts travel as messages on the control channel; ipykernel signals itself.
        assert self.kernel_spec is not None
        self.kernel_spec.interrupt_mode = "message"
        argv = super().format_kernel_cmd(extra_arguments)
        if self._sandbox.warm:  # forked, not launched: the command line is never run
            return argv
        return self._sandbox.command(argv, scratch=self._scratch, sockets=self._sockets, uid=self._uid)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        """With a warm sandbox, fork the kernel from the zygote instead of running ``kernel_cmd``."""
        if not self._sandbox.warm:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        env = kw["env"]
        zygote = zygote_for(self._sandbox, self._sandbox.environment(runs_root(), kernel_variables()))
        process = zygote.spawn(
            self._sandbox.fork_request(
                uid=self._uid,
                scratch=self._scratch,
                sockets=self._sockets,
                connection_file=self.connection_file,
                env=env,
            )
        )
        assert self.provisioner is not None
        provisioner: Any = self.provisioner
        provisioner.process, provisioner.pid = process, process.pid
        self._reconcile_connection_info(provisioner.connection_info)


class TrustedForkKernelManager(AsyncKernelManager):
    """A kernel forked from a trusted zygote: for our own notebooks (the solutions) only."""

    def __init__(self, *, preload: tuple[str, ...], scratch: Path, sockets: Path, **kw: Any) -> None:
        super().__init__(**kw)
        self._preload, self._scratch, self._sockets = preload, scratch, sockets

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        zygote = trusted_zygote(self._preload, kw["env"])
        process = zygote.spawn(
            {
                "scratch": str(self._scratch),
                "connection_file": self.connection_file,
                "stderr": str(self._sockets / "kernel-stderr.log"),
                "env": kw["env"],
            }
        )
        provisioner: Any = self.provisioner
        provisioner.process, provisioner.pid = process, process.pid
        self._reconcile_connection_info(provisioner.connection_info)


class LeanSession(Session):
    """jupyter_client's session without turning every header's date strings into datetimes.

    Why: that parsing was half of the grader's cost of reading a message, and a graded
    run reads its timings from papermill, not from message headers (nbclient's
    ``record_timing`` is off and accepts either form).
    """

    def deserialize(self, msg_list: Any, content: bool = True, copy: bool = True) -> dict[str, Any]:
        if not copy or len(msg_list) < 5:  # the rare forms: jupyter_client's own path and errors
            return super().deserialize(msg_list, content=content, copy=copy)
        if self.auth is not None:
            signature = msg_list[0]
            if not signature:
                raise ValueError("Unsigned Message")
            if signature in self.digest_history:
                raise ValueError(f"Duplicate Signature: {signature!r}")
            if content:
                self._add_digest(signature)
            if not compare_digest(signature, self.sign(msg_list[1:5])):
                raise ValueError(f"Invalid Signature: {signature!r}")
        frames = [bytes(frame) for frame in msg_list[1:5]]
        if any(decoded_size(frame) > MAX_DECODED_MESSAGE for frame in frames[:3]):
            raise ValueError("a message header too large to read")
        header = self._unpack_text(frames[0])
        size = decoded_size(frames[3])
        if not content:
            body: Any = msg_list[4]
        elif size > MAX_DECODED_MESSAGE:
            body = {DROPPED: size}  # never decoded: the client stops the run (``GradingClient.output``)
        else:
            body = self._unpack_text(frames[3])
        message: dict[str, Any] = {
            "header": header,
            "msg_id": header["msg_id"],
            "msg_type": header["msg_type"],
            "parent_header": self._unpack_text(frames[1]),
            "metadata": self._unpack_text(frames[2]),
            "content": body,
            "buffers": [memoryview(buffer) for buffer in msg_list[5:]],
            SIZE: size,
        }
        return adapt(message)

    def _unpack_text(self, frame: bytes) -> Any:
        """Decode one frame; text that UTF-8 cannot hold (a lone surrogate, which JSON's
        ``\\udXXX`` escapes allow) is mended so that every file the grader writes stays valid."""
        value = self.unpack(frame)
        return mend_text(value) if LONE_SURROGATE.search(frame) else value


LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate: the only way a lone one reaches a decoded string."""


def mend_text(value: Any) -> Any:
    """``value`` with every string UTF-8-encodable: lone surrogates become ``?``."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [mend_text(item) for item in value]
    if isinstance(value, dict):
        return {mend_text(key): mend_text(item) for key, item in value.items()}
    return value


def _client_class(context: zmq.asyncio.Context) -> type[AsyncKernelClient]:
    """A kernel client class whose sockets come from ``context`` (and so share its limits)."""

    class LimitedKernelClient(AsyncKernelClient):
        def __init__(self, **kwargs: Any) -> None:
            kwargs["context"] = context
            super().__init__(**kwargs)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """jupyter_client's wait, without its fixed 0.2 s of listening for stray IOPub messages.

            Execution only reads messages whose parent is its own request, so a late status
            message from the handshake is ignored anyway.
            """
            deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=0.5)
                except Empty:
                    pass
                else:
                    if msg["msg_type"] == "kernel_info_reply":
                        try:  # IOPub is connected once the kernel's status messages arrive
                            await self.iopub_channel.get_msg(timeout=0.5)
                        except Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(msg)
                            break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} s")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.005)
                except Empty:
                    break

    return LimitedKernelClient


def _limited_context(max_message: int) -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets refuse any single message over ``max_message`` bytes."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, max_message)
    context.setsockopt(zmq.RECONNECT_IVL, 10)  # reach a kernel that binds its sockets a moment later
    return context


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
        context = _limited_context(MAX_MESSAGE_BYTES)
        km, env = _kernel_manager(
            kernel_name,
            sockets,
            context,
            cwd,
            outcome,
            sandbox=sandbox,
            trusted_preload=trusted_preload,
            extra_env=extra_env,
        )
        km.client_factory = _client_class(context)
        client = _grading_client(nb_man, km, outcome, limits, kernel_name, start_timeout, cwd)
        _run_client(client, outcome, limits, env, sockets, context)
        done: NotebookNode = nb_man.nb
        return done


def _kernel_manager(
    kernel_name: str,
    sockets: Path,
    context: zmq.asyncio.Context,
    cwd: Path,
    outcome: RunOutcome,
    *,
    sandbox: Sandbox | None,
    trusted_preload: tuple[str, ...] | None,
    extra_env: dict[str, str],
) -> tuple[AsyncKernelManager, dict[str, str]]:
    """The run's kernel manager (sandboxed, trusted fork or plain) and its kernel's environment."""
    manager_args: dict[str, Any] = {
        "kernel_name": kernel_name,
        "transport": "ipc",
        "ip": str(sockets / "k"),
        "connection_file": str(sockets / "kernel.json"),
        "context": context,
        "session": LeanSession(),
    }
    if sandbox is not None:
        uid = allocate_uid()
        outcome.uid = uid
        prepare_folder(cwd, uid)
        os.chmod(sockets, 0o755)
        km: AsyncKernelManager = SandboxedKernelManager(
            sandbox=sandbox, scratch=cwd, sockets=sockets, uid=uid, **manager_args
        )
        env = sandbox.environment(cwd, extra_env)
    else:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}, **extra_env}
        if trusted_preload is not None:
            km = TrustedForkKernelManager(
                preload=trusted_preload, scratch=cwd, sockets=sockets, **manager_args
            )
        else:
            km = AsyncKernelManager(**manager_args)
    return km, env


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
    client.on_limit = lambda: _kill_tree(client, outcome.uid)
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
    outcome.exit_code = _exit_code(client)
    _kill_tree(client, outcome.uid)
    kernel_log.close()
    if outcome.status == "crashed":
        outcome.reason += _last_words(sockets / "kernel-stderr.log")
    with contextlib.suppress(Exception):
        if client.kc is not None:  # join the heartbeat thread before its sockets go
            client.kc.stop_channels()
        context.destroy(linger=0)
    shutil.rmtree(sockets, ignore_errors=True)


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: an nbgrader grade cell of type code that is not an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def cell_label(nb: NotebookNode, index: int) -> str:
    """How a learner finds a cell: its nbgrader id, else its place among the cells they see."""
    if not 0 <= index < len(nb.cells):
        return "a cell"
    grade_id = nb.cells[index].get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return f"cell {grade_id!r}"
    injected = sum(
        1 for cell in nb.cells[:index] if "injected-parameters" in cell.get("metadata", {}).get("tags", [])
    )
    return f"cell {index + 1 - injected}"


def only_comments(source: str) -> bool:
    """Whether a code cell holds nothing but comments and blank lines (nbclient skips blank ones).

    Such a cell cannot change the kernel's state: a line of code anywhere, even one that
    starts a string holding ``#`` lines, makes the cell run.
    """
    return all(not line.strip() or line.lstrip().startswith("#") for line in source.splitlines())


def output_node(msg: dict[str, Any]) -> NotebookNode | None:
    """nbformat's ``output_from_msg`` with a structural check instead of a JSON-schema run.

    The schema run cost more than the rest of handling a message. A message whose shape
    is wrong (a hostile kernel's) is dropped, where nbformat would have raised.
    """
    kind = msg["header"]["msg_type"]
    content = msg.get("content") or {}
    try:
        if kind == "stream":
            out = {"output_type": kind, "name": str(content["name"]), "text": content["text"]}
            valid = isinstance(out["text"], str) and out["name"] in ("stdout", "stderr")
        elif kind in ("display_data", "execute_result"):
            out = {"output_type": kind, "metadata": content["metadata"], "data": content["data"]}
            valid = isinstance(out["metadata"], dict) and _mime_bundle(out["data"])
            if kind == "execute_result":
                out["execution_count"] = content["execution_count"]
                valid = valid and (out["execution_count"] is None or isinstance(out["execution_count"], int))
        elif kind == "error":
            out = {
                "output_type": kind,
                "ename": content["ename"],
                "evalue": content["evalue"],
                "traceback": content["traceback"],
            }
            valid = (
                isinstance(out["ename"], str)
                and isinstance(out["evalue"], str)
                and isinstance(out["traceback"], list)
                and all(isinstance(line, str) for line in out["traceback"])
            )
        else:
            return None
    except (KeyError, TypeError):
        return None
    return nbformat.from_dict(out) if valid else None  # type: ignore[no-untyped-call]


def _mime_bundle(data: Any) -> bool:
    """A display's data: MIME type -> text, list of text lines, or (for JSON types) any JSON."""
    if not isinstance(data, dict):
        return False
    for mime, value in data.items():
        if not isinstance(mime, str) or "/" not in mime:
            return False
        if isinstance(value, str) or mime.endswith("json"):
            continue
        if not (isinstance(value, list) and all(isinstance(line, str) for line in value)):
            return False
    return True


def _last_words(log: Path) -> str:
    """The end of a dead kernel's stderr: often the reason (a segfault, a memory error)."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 400))
            tail = handle.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f"; its last words: {tail[-1][:200]}" if tail else ""


def _exit_code(client: PapermillNotebookClient) -> int | None:
    process = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
    return process.poll() if process is not None else None


def _kernel_process(client: PapermillNotebookClient) -> psutil.Process | None:
    km = getattr(client, "km", None)
    provisioner = getattr(km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    try:
        return psutil.Process(pid) if pid else None
    except psutil.Error:
        return None


def _kill_tree(client: PapermillNotebookClient, uid: int | None = None) -> None:
    """Kill the kernel, everything it started, and anything left running as its uid.

    A forked kernel's run is a PID namespace, and the process the grader holds is its
    init: killing it takes every process of the namespace with it, and nothing of the
    run can leave that namespace, so killing that one process is enough. That
    saves walking every process of the machine twice per run.
    """
    process = getattr(getattr(getattr(client, "km", None), "provisioner", None), "process", None)
    if isinstance(process, ForkedKernel) and process.isolated:
        process.kill()
        return
    root = _kernel_process(client)
    procs: list[psutil.Process] = []
    if root is not None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            procs = [root]
    if uid is not None:
        for proc in psutil.process_iter(["uids"]):
            with contextlib.suppress(psutil.Error, TypeError):
                if proc.info["uids"] and proc.info["uids"].real == uid:
                    procs.append(proc)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _kill_kernel(client: PapermillNotebookClient, outcome: RunOutcome, limit: float) -> None:
    outcome.status, outcome.limit = "timeout", "wall-clock"
    outcome.reason = f"the whole run exceeded its wall-clock limit of {limit:g} s and was stopped"
    _kill_tree(client, outcome.uid)


papermill_engines.register(ENGINE_NAME, GradingEngine)


def parameterize(nb: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """papermill's injected-parameters cell, placed after the ``parameters`` cell."""
    # A private copy, as papermill's loader makes.
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # type: ignore[no-untyped-call]
    nb.metadata.setdefault(
        "papermill", {"default_parameters": {}, "parameters": {}, "environment_variables": {}}
    )
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    if parameters:
        nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL_NAME, language="python")
    prepared: NotebookNode = prepare_notebook_metadata(nb, "", "")
    return prepared


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


def read_notebook(path: Path, *, strict: bool = False) -> NotebookNode:
    """Read a notebook file, with an error that names it when it is not one.

    ``strict`` also raises nbformat's ``ValidationError`` for readable JSON that is not a
    valid notebook (nbformat validates while reading; this keeps it to one validation).
    """
    problems: dict[str, Any] = {}
    try:
        nb: NotebookNode = nbformat.read(str(path), as_version=4, capture_validation_error=problems)  # type: ignore[no-untyped-call]
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise MalformedNotebook(path, exc) from None
    if strict and "ValidationError" in problems:
        raise problems["ValidationError"]
    return nb
