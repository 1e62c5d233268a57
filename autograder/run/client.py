"""papermill's notebook client, made to survive what learner code sends and does.

Output floods are dropped as they arrive, a cell that runs too long is interrupted, a
dead kernel ends the run at once; each limit hit is written into the run's ``RunOutcome``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from papermill.clientwrap import PapermillNotebookClient

from ..protocol import MIME_TYPE
from .messages import DROPPED, MAX_MESSAGE_BYTES, SIZE
from .notebooks import cell_label, is_test_cell, only_comments, output_node
from .outcome import RunOutcome
from .sandbox import Limits
from .warmpool import ForkedKernel

MAX_CHECK_BYTES = 48 * 1024 * 1024
"""Check reports one run may send in all, counted as decoded size, from test cells only (a
200,000-value report, the most ``encode`` sends for one check, counts about 10 MB)."""


IOPUB_TIMEOUT = 10
"""Seconds a cell's output may still be arriving after the kernel said the cell ended."""


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
