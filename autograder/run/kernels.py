"""Starting and ending a run's kernel: sandboxed, forked from a zygote, or plain.

Whatever way a run ends, everything it started is killed here (``kill_tree``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import psutil
import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from papermill.clientwrap import PapermillNotebookClient

from .messages import LeanSession
from .outcome import RunOutcome
from .sandbox import Sandbox, allocate_uid, kernel_variables, prepare_folder
from .warmpool import ForkedKernel, runs_root, trusted_zygote, zygote_for


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


def kernel_manager(
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


def last_words(log: Path) -> str:
    """The end of a dead kernel's stderr: often the reason (a segfault, a memory error)."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 400))
            tail = handle.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f"; its last words: {tail[-1][:200]}" if tail else ""


def exit_code(client: PapermillNotebookClient) -> int | None:
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


def kill_tree(client: PapermillNotebookClient, uid: int | None = None) -> None:
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
