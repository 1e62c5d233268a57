"""Memory and CPU limits for one person's server and everything it starts (kernels included).

A control group caps the sum over all the server's processes: ``memory`` (the kernel kills
what allocates past it, not the hub or anyone else's server) and ``cpu`` (a quota of CPU
time per period, so ``cpu_limit = 1.0`` is one core's worth however many processes run).
Both cgroup v1 (one hierarchy per controller) and v2 (one unified tree) are handled. Where
no cgroup can be written (an unprivileged container), only the per-process address-space
limit (RLIMIT_AS) is set, and the hub's log says that CPU is not limited.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "autograder-hub"
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class ServerLimits:
    memory_bytes: int
    cpus: float

    def cpu_quota_us(self) -> int:
        return max(1000, int(self.cpus * CPU_PERIOD_US))


def _v2_ready(root: Path) -> bool:
    controllers = root / "cgroup.controllers"
    if not controllers.is_file():
        return False
    available = set(controllers.read_text().split())
    return {"memory", "cpu"} <= available and os.access(root, os.W_OK)


def _v1_ready(root: Path) -> bool:
    return all(os.access(root / name, os.W_OK) for name in ("memory", "cpu"))


def cgroup_kind(root: Path = CGROUP_ROOT) -> str | None:
    """``"v2"``, ``"v1"`` or None when this process cannot make control groups."""
    if _v2_ready(root):
        return "v2"
    if _v1_ready(root):
        return "v1"
    return None


def _enable_v2_controllers(folder: Path) -> None:
    control = folder / "cgroup.subtree_control"
    if not {"memory", "cpu"} <= set(control.read_text().split()):
        control.write_text("+memory +cpu")


def prepare_cgroup(name: str, limits: ServerLimits, root: Path = CGROUP_ROOT) -> list[Path]:
    """Make (or reset) the control group(s) for server ``name``; the files to write a pid to."""
    kind = cgroup_kind(root)
    if kind == "v2":
        parent = root / GROUP
        parent.mkdir(exist_ok=True)
        _enable_v2_controllers(root)
        _enable_v2_controllers(parent)
        folder = parent / name
        folder.mkdir(exist_ok=True)
        (folder / "memory.max").write_text(str(limits.memory_bytes))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
        (folder / "cpu.max").write_text(f"{limits.cpu_quota_us()} {CPU_PERIOD_US}")
        return [folder / "cgroup.procs"]
    if kind == "v1":
        memory = root / "memory" / GROUP / name
        cpu = root / "cpu" / GROUP / name
        memory.mkdir(parents=True, exist_ok=True)
        cpu.mkdir(parents=True, exist_ok=True)
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
        (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(limits.cpu_quota_us()))
        return [memory / "cgroup.procs", cpu / "cgroup.procs"]
    return []


def remove_cgroup(name: str, root: Path = CGROUP_ROOT) -> None:
    """Remove a stopped server's control groups (only empty ones can be removed)."""
    for folder in (root / GROUP / name, root / "memory" / GROUP / name, root / "cpu" / GROUP / name):
        if folder.is_dir():
            with contextlib.suppress(OSError):  # a process is still in it; the next start reuses it
                folder.rmdir()


def enter(procs_files: list[Path], limits: ServerLimits) -> None:
    """In the new server process, before it drops root: join its groups, cap its address space.

    Runs between fork and exec (``preexec_fn``), so only simple calls are made here.
    """
    pid = str(os.getpid())
    for procs in procs_files:
        with open(procs, "w") as handle:
            handle.write(pid)
    if not procs_files:  # no control group: at least no single process grows past the limit
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))


def have_tools() -> list[str]:
    """Commands the confined start needs that this machine lacks."""
    return [tool for tool in ("bwrap", "setpriv") if shutil.which(tool) is None]
