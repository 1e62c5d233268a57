"""A learner's kernel, launched inside a sandbox.

Why this design: the sandbox must hold on a stock Debian machine without a container
engine, and must not slow a kernel down. So a kernel is started as

    prlimit (memory, CPU time, processes, file size)
      -> bwrap (new PID, network, IPC and UTS namespaces; read-only system)
        -> setpriv (a fresh unprivileged uid, no groups, no capabilities, no new privileges)
          -> python -m ipykernel_launcher

- **bubblewrap** (Debian's ``bubblewrap``) gives the namespaces without root inside: a
  network namespace with only its own loopback, so the kernel reaches neither the
  outside nor any service on the machine's loopback (the grader, a database); a PID
  namespace, so it cannot see or signal the grader; ``--die-with-parent``, so killing
  the launcher ends the whole tree; a read-only view of ``/`` with the course
  directory, the state folder, ``/tmp``, ``/run``, ``/home`` and ``/root`` replaced by
  empty folders, and only the Python installation, our helper package, a private
  scratch folder and the kernel's socket folder mounted back.
- **A separate uid per run** (via ``setpriv``) makes ``RLIMIT_NPROC`` count only that
  run's processes, so a fork loop stops at the cap (root is exempt from that limit), and
  the kernel cannot read what the grader's user owns.
- **setrlimit** (``prlimit``) caps address space, CPU seconds, processes and file size;
  the wall clock and the output volume are enforced by the grader (``execute.py``).
- The kernel talks to the grader over ZeroMQ IPC sockets in a folder mounted into the
  sandbox, never TCP; its environment is built from scratch, so no variable of the
  grader's is visible.

As root, kernels are by default forked from a warm zygote instead (``zygote.py``,
``warmpool.py``): the zygote lives in this same bubblewrap view of the machine, and each
fork builds the rest before any learner code runs: its own mount, network, IPC, UTS, PID
and cgroup namespaces, fresh temporary folders, only its own run folders, the same
rlimits, and its own uid with no capabilities and no new privileges.

seccomp is not added: the namespaces already remove the network and the view of other
processes, and a syscall filter would need maintenance against numpy and torch.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .checks import COLLECT_ENV

SANDBOX_TOOLS = ("bwrap", "setpriv", "prlimit")
FIRST_UID = 200_000
TMPFS_BYTES = 256 * 1024 * 1024
"""Size cap of each empty folder the sandbox mounts (/tmp and friends live in memory)."""
_uids = itertools.count()


class SandboxUnavailable(RuntimeError):
    """This machine cannot sandbox kernels; the message says what is missing."""


@dataclass(frozen=True)
class Limits:
    """What one notebook run may use. Defaults suit the curriculum; see jupyter_config.py."""

    cell_timeout: float = 60.0
    run_timeout: float = 300.0
    memory_mb: int = 4096
    cpu_seconds: int = 600
    processes: int = 64
    file_size_mb: int = 64
    output_kb: int = 1024
    """Output the grader keeps from one run; past it outputs are dropped and the run ends."""

    def describe(self) -> dict[str, float | int]:
        return {
            "cell_timeout_s": self.cell_timeout,
            "run_timeout_s": self.run_timeout,
            "memory_mb": self.memory_mb,
            "cpu_s": self.cpu_seconds,
            "processes": self.processes,
            "file_size_mb": self.file_size_mb,
            "output_kb": self.output_kb,
        }


def allocate_uid() -> int:
    """A uid no other concurrent run uses: per grader process and per run."""
    return FIRST_UID + (os.getpid() % 600) * 100 + next(_uids) % 100


def missing_tools() -> list[str]:
    return [tool for tool in SANDBOX_TOOLS if shutil.which(tool) is None]


@dataclass(frozen=True)
class Sandbox:
    limits: Limits
    hidden: tuple[Path, ...]
    """Folders replaced by empty ones: the course directory and the state folder."""
    exposed: tuple[Path, ...] = field(default_factory=tuple)
    """Folders mounted back read-only (the Python installation, our package)."""
    warm: bool = False
    """Fork kernels from a warm zygote (``zygote.py``) instead of starting each one; root only."""
    preload: tuple[str, ...] = ()
    """Modules the zygote imports once for every kernel it forks."""

    @classmethod
    def for_course(
        cls,
        limits: Limits,
        course_root: Path,
        state_dir: Path,
        *,
        warm: bool = False,
        preload: tuple[str, ...] = (),
    ) -> Sandbox:
        package = Path(__file__).resolve().parent
        exposed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), package}
        hidden = (course_root.resolve(), state_dir.resolve())
        warm = warm and os.geteuid() == 0  # the zygote builds namespaces with root's rights
        return cls(limits, hidden, tuple(sorted(exposed)), warm, preload)

    def _filesystem(self, binds: tuple[Path, ...] = ()) -> list[str]:
        """bwrap's view of the machine: read-only system, private temporary and hidden folders.

        ``binds`` are the writable folders mounted back (the run's, or the zygote's runs
        folder). Their parents inside an emptied folder are made world-searchable: bwrap
        would create them mode 0700, and the kernel's uid could not reach, say, a Python
        installed under ``/root``.
        """
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        masked = [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm")]
        for folder in masked:
            args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", str(folder)]
        for folder in (Path("/run"), Path("/home"), Path("/root"), *self.hidden):
            if folder.exists():
                args += ["--size", str(TMPFS_BYTES), "--tmpfs", str(folder)]
                masked.append(folder)
        made: set[Path] = set()
        for folder, option in [*((f, "--ro-bind") for f in self.exposed), *((b, "--bind") for b in binds)]:
            for parent in reversed(folder.parents):
                inside = any(parent != m and parent.is_relative_to(m) for m in masked)
                if inside and parent not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            args += [option, str(folder), str(folder)]
        return args

    def zygote_command(self, argv: list[str], runs_root: Path) -> list[str]:
        """The zygote's command line: the same view of the machine, root's capabilities kept
        (each fork builds its own namespaces and drops them before learner code runs), and
        only ``runs_root`` of the grader's temporary files mounted in."""
        return [
            "bwrap", "--die-with-parent", "--cap-add", "ALL", *self._filesystem((runs_root,)),
            "--unsetenv", "JPY_PARENT_PID", "--chdir", str(runs_root), "--", *argv,
        ]  # fmt: skip

    def command(self, argv: list[str], *, scratch: Path, sockets: Path, uid: int) -> list[str]:
        """The full command line that runs ``argv`` inside the sandbox.

        As root (a grading server, CI), bwrap builds the namespaces with root's rights,
        so it can mount the Python installation wherever it lives, and ``setpriv`` inside
        drops to the run's own uid before the kernel starts. As an ordinary user, bwrap
        makes a user namespace and the kernel keeps the user's uid.
        """
        mb = 1024 * 1024
        limits = [
            "prlimit",
            f"--as={self.limits.memory_mb * mb}",
            f"--cpu={self.limits.cpu_seconds}",
            f"--fsize={self.limits.file_size_mb * mb}",
            "--core=0",
        ]
        as_root = os.geteuid() == 0
        if as_root:
            limits.append(f"--nproc={self.limits.processes}")  # counts the run's uid only
            namespaces = [
                "--unshare-ipc",
                "--unshare-pid",
                "--unshare-net",
                "--unshare-uts",
                "--unshare-cgroup-try",
            ]
            drop = [
                "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
            ]  # fmt: skip
        else:
            namespaces = ["--unshare-all", "--cap-drop", "ALL"]
            drop = []
        bwrap = ["bwrap", *namespaces, "--die-with-parent", *self._filesystem((scratch, sockets))]
        # ipykernel would watch JPY_PARENT_PID, a pid it cannot see from its own PID
        # namespace, and quit; --die-with-parent does that job instead.
        bwrap += ["--unsetenv", "JPY_PARENT_PID", "--chdir", str(scratch), "--"]
        return [*limits, "--", *bwrap, *drop, *argv]

    def environment(self, scratch: Path, extra: dict[str, str]) -> dict[str, str]:
        """The kernel's whole environment, built from nothing."""
        env = {
            "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(scratch),
            "LANG": "C.UTF-8",
            "IPYTHONDIR": str(scratch / ".ipython"),
            "MPLCONFIGDIR": str(scratch / ".matplotlib"),
            "JUPYTER_RUNTIME_DIR": str(scratch / ".jupyter"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # machine quirks numpy needs
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(extra)
        return env


def prepare_folder(path: Path, uid: int) -> None:
    """Hand a folder (and what is in it) to the sandbox's uid."""
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def probe(sandbox: Sandbox) -> None:
    """Start a trivial program in the sandbox; raise ``SandboxUnavailable`` if it fails."""
    missing = missing_tools()
    if missing:
        raise SandboxUnavailable(
            f"missing {', '.join(missing)}: install Debian's bubblewrap and util-linux "
            "(sudo apt-get install -y bubblewrap util-linux)"
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as tmp:
        scratch, sockets = Path(tmp) / "scratch", Path(tmp) / "sockets"
        scratch.mkdir()
        sockets.mkdir()
        uid = allocate_uid()
        prepare_folder(Path(tmp), uid)
        os.chmod(tmp, 0o755)
        cmd = sandbox.command(
            [sys.executable, "-c", "print('ok')"], scratch=scratch, sockets=sockets, uid=uid
        )
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=60,
                env=sandbox.environment(scratch, {}),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"the sandbox did not start: {exc}") from None
    if proc.returncode != 0 or proc.stdout.strip() != "ok":
        raise SandboxUnavailable(
            "the sandbox did not start (are user namespaces enabled? "
            f"sysctl kernel.unprivileged_userns_clone=1): {proc.stderr.strip()[:300]}"
        )


def kernel_variables() -> dict[str, str]:
    """What every kernel is told: values are collected outside; one thread; fixed hashing."""
    return {
        COLLECT_ENV: "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
