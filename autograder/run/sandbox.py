"""A learner's kernel, launched inside a sandbox.

Why this design: the sandbox must hold on a stock Debian machine without a container
engine, and must not slow a kernel down. So a kernel is started as

    prlimit (memory, CPU time, processes, file size)
      -> bwrap (new PID, network, IPC and UTS namespaces; an allow-listed, read-only view)
        -> setpriv (a fresh unprivileged uid, no groups, no capabilities, no new privileges)
          -> python -m ipykernel_launcher

- **bubblewrap** (Debian's ``bubblewrap``) gives the namespaces without root inside: a
  network namespace with only its own loopback, so the kernel reaches neither the
  outside nor any service on the machine's loopback (the grader, a database); a PID
  namespace, so it cannot see or signal the grader; ``--die-with-parent``, so killing
  the launcher ends the whole tree; and a view of the machine built from an allow-list
  (below) on an empty, read-only root, never the whole root minus a list: a course copy,
  a backup or another checkout anywhere else on the machine is simply not there.
- **A separate uid per run** (via ``setpriv``) makes ``RLIMIT_NPROC`` count only that
  run's processes, so a fork loop stops at the cap (root is exempt from that limit), and
  the kernel cannot read what the grader's user owns.
- **setrlimit** (``prlimit``) caps address space, CPU seconds, processes and file size;
  the wall clock and the output volume are enforced by the grader (``execute.py``). Every
  limit is declared once, as a field of ``Limits``; ``Limits.rlimits`` is the one conversion
  to rlimits, for prlimit here and for the zygote's setrlimit alike.
- The kernel talks to the grader over ZeroMQ IPC sockets in a folder mounted into the
  sandbox, never TCP; its environment is built from scratch, so no variable of the
  grader's is visible.

As root, kernels are by default forked from a warm zygote instead (``zygote.py``,
``warmpool.py``): the zygote lives in this same bubblewrap view of the machine, and each
fork builds the rest before any learner code runs: its own mount, network, IPC, UTS, PID
and cgroup namespaces, fresh temporary folders, only its own run folders, the same
rlimits, and its own uid with no capabilities and no new privileges.

The kernel's view, one list for cold kernels and the warm zygote alike (``view``):

- the Python installation: ``sys.prefix`` (the course's virtualenv, which may sit inside
  the course checkout: only that folder is mounted, never the checkout), ``sys.base_prefix``
  (the interpreter and the standard library), the interpreter's real path, and the folder
  of this package (installed editable, so again only that folder); read-only;
- the system entries of ``SYSTEM_VIEW``, read-only, each for a reason:

  - ``/usr/bin``: ``setpriv``, which drops a cold kernel to its uid inside the sandbox,
    and the programs a notebook may start (``/bin/sh`` for ``subprocess``, ``os.system``
    and IPython's ``!`` commands);
  - ``/usr/sbin``: ``ldconfig``, which ``ctypes.util.find_library`` runs (threadpoolctl,
    which scikit-learn uses, looks libc up this way; without it the lookup compiles a
    probe with gcc: 8 ms became 75 ms);
  - ``/usr/lib``: the shared libraries every extension module links to (libc,
    libstdc++, libgomp, libz, libssl, libffi...) and the ``C.UTF-8`` locale;
  - ``/usr/lib64``: the dynamic linker that every program names
    (``/lib64/ld-linux-x86-64.so.2``);
  - ``/bin``, ``/sbin``, ``/lib``, ``/lib64``: symlinks into ``/usr`` on Debian's merged
    ``/usr`` (recreated as symlinks), the folders themselves elsewhere;
  - ``/usr/share/fonts`` and ``/etc/fonts``: the fonts matplotlib draws text with and
    fontconfig's configuration (``fc-list``), as in the reference run;
  - ``/usr/share/zoneinfo``, ``/etc/localtime`` and ``/etc/timezone``: the machine's time
    zone, so local times agree with the reference run outside the sandbox;
  - ``/etc/ld.so.cache``: the dynamic linker's index of libraries, which ``ldconfig -p``
    prints for ``find_library`` (without it: 157 ms a lookup);
  - ``/etc/alternatives``: Debian's switchboard of symlinks (``awk``, ``c++``, ``cpp``, a
    Debian numpy's ``libblas.so.3``); without it those links dangle;
  - ``/etc/hosts``: ``localhost`` resolves, for a deployment notebook's server and client
    meeting on the sandbox's own loopback (without it: "Temporary failure in name
    resolution");

  an entry missing on this machine is skipped; nothing else of ``/etc`` is there (no
  ``passwd``: the run's uid has no account anyway), and no ``/sys`` (glibc counts CPUs
  from ``/proc`` without it; numpy, torch and scikit-learn run the same);
- ``/dev`` (bubblewrap's minimal one: null, zero, random, urandom, tty, pts) and a
  ``/proc`` of the run's own PID namespace;
- fresh, private, size-capped ``/tmp``, ``/var/tmp`` and ``/dev/shm``;
- an empty, read-only ``/run`` (``EMPTY_FOLDERS``): a program that looks there for a
  socket (a database's, the grader's) finds none, rather than failing oddly;
- the run's scratch folder (its working directory) and socket folder, writable;
- the course directory and the state folder as empty folders (masked if they lie inside
  an entry above), so a path the grader uses leads nowhere.

Everything else is absent (not found). The zygote is started in this view with its runs
folder in place of one run's folders; each fork then replaces ``/tmp``, ``/var/tmp``,
``/dev/shm``, ``/proc`` and the runs folder with its own (``zygote._isolate``), so a
forked kernel sees exactly what a cold one sees.

seccomp is not added: the namespaces already remove the network and the view of other
processes, and a syscall filter would need maintenance against numpy and torch.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..errors import AutograderError
from ..protocol import COLLECT_ENV

SANDBOX_TOOLS = ("bwrap", "setpriv", "prlimit")
FIRST_UID = 200_000
TMPFS_BYTES = 256 * 1024 * 1024
"""Size cap of each empty folder the sandbox mounts (/tmp and friends live in memory)."""
SYSTEM_VIEW = (
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib64",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr/share/fonts",
    "/usr/share/zoneinfo",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/fonts",
    "/etc/alternatives",
    "/etc/hosts",
)
"""What of the system a kernel sees, read-only, besides Python; the module docstring says why."""
EMPTY_FOLDERS = ("/run",)
"""Standard folders shown empty and read-only: what looks there (a database's socket) finds nothing."""
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")
"""Fresh, empty, world-writable folders in memory: each run (each fork) gets its own."""
_uids = itertools.count()


class SandboxUnavailable(AutograderError, RuntimeError):
    """This machine cannot sandbox kernels; the message says what is missing."""


MB = 1024 * 1024
FIXED_RLIMITS: tuple[tuple[str, int], ...] = (("RLIMIT_CORE", 0),)
"""Kernel-side limits that are not settings: no core dumps (a crash must not fill the disk)."""
PER_UID_RLIMITS = frozenset({"RLIMIT_NPROC"})
"""Limits that count a uid's processes, not the kernel's: only meaningful when the run has a
uid of its own (as root); as an ordinary user they would count the instructor's processes."""


def limit(
    default: float,
    unit: str,
    doc: str,
    *,
    rlimit: str | None = None,
    scale: int = 1,
    audit: str | None = None,
) -> Any:
    """Declare one field of ``Limits``: everything about a limit lives in this one call.

    ``rlimit`` names the ``resource.RLIMIT_*`` the kernel is held to (the value times
    ``scale``), for cold kernels (prlimit) and warm ones (the zygote's setrlimit) alike;
    without it the grader enforces the limit itself. ``audit`` is its key in the audit line
    (default: the field's name). The config name is the field's name: ``c.Autograder.<name>``.
    """
    metadata = {"unit": unit, "doc": doc, "rlimit": rlimit, "scale": scale, "audit": audit}
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Limits:
    """What one notebook run may use: each limit declared once, here (see ``limit``).

    Adding a field is the whole change: ``read_limits`` reads it from ``jupyter_config.py``,
    ``rlimits`` hands it to prlimit (cold kernels) and the zygote (warm ones), ``describe``
    puts it in the audit line.
    """

    cell_timeout: float = limit(
        60.0, "s", "seconds one cell may run before it is interrupted", audit="cell_timeout_s"
    )
    run_timeout: float = limit(
        300.0, "s", "seconds for one whole notebook run, kernel start included", audit="run_timeout_s"
    )
    memory_mb: int = limit(
        4096, "MB", "address space of the kernel and its children", rlimit="RLIMIT_AS", scale=MB
    )
    cpu_seconds: int = limit(600, "s", "CPU time of the kernel process", rlimit="RLIMIT_CPU", audit="cpu_s")
    processes: int = limit(
        64, "", "processes and threads the sandbox's uid may have at once", rlimit="RLIMIT_NPROC"
    )
    file_size_mb: int = limit(
        64, "MB", "largest file the notebook may write", rlimit="RLIMIT_FSIZE", scale=MB
    )
    output_kb: int = limit(
        1024, "KB", "output the grader keeps from one run; past it outputs are dropped and the run ends"
    )

    def rlimits(self, *, own_uid: bool = True) -> list[tuple[str, int]]:
        """The kernel-side limits as (``resource.RLIMIT_*`` name, value) pairs: the one
        conversion, used by ``Sandbox.command`` (prlimit) and the zygote (setrlimit).

        ``own_uid`` is False when the run shares the instructor's uid (not root): then the
        per-uid limits (``PER_UID_RLIMITS``) are left out."""
        pairs = [
            (f.metadata["rlimit"], int(getattr(self, f.name)) * f.metadata["scale"])
            for f in fields(self)
            if f.metadata.get("rlimit")
        ]
        pairs += FIXED_RLIMITS
        return [(name, value) for name, value in pairs if own_uid or name not in PER_UID_RLIMITS]

    def kernel_side(self) -> Limits:
        """These limits with every grader-enforced one (no ``rlimit``) at its default: all a
        sandbox and its warm zygote depend on, so runs that differ only in a wall clock (a
        submission's last runs get a shorter one) share one sandbox."""
        grader_side: dict[str, Any] = {
            f.name: f.default for f in fields(self) if not f.metadata.get("rlimit")
        }
        return replace(self, **grader_side)

    def describe(self) -> dict[str, float | int]:
        """The audit line's record of these limits, keyed as the declaration says."""
        return {f.metadata.get("audit") or f.name: getattr(self, f.name) for f in fields(self)}


def read_limits(config: Mapping[str, Any], cls: type[Limits] = Limits) -> Limits:
    """Every field of ``cls`` from the ``c.Autograder`` section: a limit not set keeps its
    default; each value is converted to the field's declared type."""
    types = typing.get_type_hints(cls)
    values = {f.name: types[f.name](config[f.name]) for f in fields(cls) if f.name in config}
    return cls(**values)


def prlimit_arguments(pairs: list[tuple[str, int]]) -> list[str]:
    """prlimit's options for (``RLIMIT_*`` name, value) pairs: ``RLIMIT_AS`` is ``--as``."""
    return [f"--{name.removeprefix('RLIMIT_').lower()}={value}" for name, value in pairs]


def allocate_uid() -> int:
    """A uid no other concurrent run uses: per grader process and per run."""
    return FIRST_UID + (os.getpid() % 600) * 100 + next(_uids) % 100


def missing_tools() -> list[str]:
    return [tool for tool in SANDBOX_TOOLS if shutil.which(tool) is None]


@dataclass(frozen=True)
class Sandbox:
    limits: Limits
    hidden: tuple[Path, ...]
    """Folders shown empty: the course directory and the state folder (masked, should an
    allowed folder hold them)."""
    exposed: tuple[Path, ...] = field(default_factory=tuple)
    """The Python installation and this package's folder: with ``SYSTEM_VIEW``, the allow-list."""
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
        hidden = (course_root.resolve(), state_dir.resolve())
        warm = warm and os.geteuid() == 0  # the zygote builds namespaces with root's rights
        return cls(limits, hidden, python_folders(), warm, preload)

    def view(self, binds: tuple[Path, ...] = ()) -> list[tuple[Path, list[str]]]:
        """The kernel's whole view, as (where, bwrap options) in mount order: the allow-list.

        ``binds`` are the writable folders mounted in (the run's scratch and socket
        folders, or the zygote's runs folder). Each entry comes after the entries it lies
        in, and one that an entry above already shows is left out. A hidden folder is an
        empty folder, or an empty mount over the part of an entry it would otherwise show.
        Parents no entry provides are made world-searchable: bwrap would make them 0700,
        and the kernel's uid could not reach, say, a Python installed under ``/root``.
        """
        size = ["--size", str(TMPFS_BYTES)]
        entries: dict[Path, list[str]] = {}
        for folder in binds:
            entries[folder] = ["--bind", str(folder), str(folder)]
        entries.setdefault(Path("/dev"), ["--dev", "/dev"])
        entries.setdefault(Path("/proc"), ["--proc", "/proc"])
        for folder in map(Path, PRIVATE_TMP):
            entries.setdefault(folder, ["--perms", "1777", *size, "--tmpfs", str(folder)])
        for folder in map(Path, EMPTY_FOLDERS):
            entries.setdefault(folder, ["--perms", "0755", "--dir", str(folder)])
        read_only, links = system_view()
        for link, target in links.items():
            entries.setdefault(link, ["--symlink", target, str(link)])
        for path in (*read_only, *self.exposed):
            entries.setdefault(path, ["--ro-bind", str(path), str(path)])
        for folder in self.hidden:
            if folder.exists():
                if _kind(entries, _nearest(folder, entries)) == "bind":
                    entries[folder] = [*size, "--tmpfs", str(folder)]
                else:
                    entries[folder] = ["--perms", "0755", "--dir", str(folder)]
        shown = [p for p, opts in entries.items() if opts[0] == "--ro-bind" and _in_read_only(p, entries)]
        for path in shown:
            del entries[path]
        for path in list(entries):
            for parent in path.parents[:-1]:
                if parent not in entries and _kind(entries, _nearest(parent, entries)) != "bind":
                    entries[parent] = ["--perms", "0755", "--dir", str(parent)]
        return sorted(entries.items(), key=lambda item: item[0].parts)

    def _filesystem(self, binds: tuple[Path, ...] = ()) -> list[str]:
        """bwrap's options for ``view``, then the root and every mask made read-only, so
        not even a kernel that keeps its uid (no root) can write outside its folders."""
        view = self.view(binds)
        masks = [str(path) for path, options in view if path in self.hidden and "--tmpfs" in options]
        args = [option for _, options in view for option in options]
        return [*args, *(option for path in ("/", *masks) for option in ("--remount-ro", path))]

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
        as_root = os.geteuid() == 0  # only then has the run a uid of its own
        limits = ["prlimit", *prlimit_arguments(self.limits.rlimits(own_uid=as_root))]
        if as_root:
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

    def fork_request(
        self, *, uid: int, scratch: Path, sockets: Path, connection_file: str, env: dict[str, str]
    ) -> dict[str, Any]:
        """What the warm zygote needs to fork one kernel (``zygote.py``'s protocol): the warm
        counterpart of ``command``, with the same limits as (``RLIMIT_*`` name, value) pairs."""
        return {
            "uid": uid,
            "scratch": str(scratch),
            "sockets": str(sockets),
            "connection_file": connection_file,
            "stderr": str(sockets / "kernel-stderr.log"),
            "env": env,
            "rlimits": self.limits.rlimits(),  # a fork always has a uid of its own (root only)
            "tmpfs_bytes": TMPFS_BYTES,
            "masked": [str(folder) for folder in self.hidden],
            "exposed": [str(folder) for folder in self.exposed],
        }

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


def python_folders() -> tuple[Path, ...]:
    """The Python the kernel runs: its environment, its installation, the interpreter's real
    path and this package's folder (installed editable, it lies in the course checkout)."""
    folders = {
        Path(p).resolve()
        for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, sys.executable)
    }
    folders.add(Path(__file__).resolve().parent.parent)  # the whole autograder package
    return tuple(sorted(folders))


def system_view() -> tuple[list[Path], dict[Path, str]]:
    """``SYSTEM_VIEW`` on this machine: what to mount read-only, and which entries are
    symlinks to recreate (``/bin`` -> ``usr/bin``), whose targets are then mounted."""
    read_only: list[Path] = []
    links: dict[Path, str] = {}
    for path in map(Path, SYSTEM_VIEW):
        if path.is_symlink():
            links[path] = os.readlink(path)
            path = path.resolve()
        if path.exists():
            read_only.append(path)
    return read_only, links


def _nearest(path: Path, entries: dict[Path, list[str]]) -> Path | None:
    """The entry ``path`` lies in (the nearest above it), or None: the bare root."""
    return next((parent for parent in path.parents if parent in entries), None)


def _kind(entries: dict[Path, list[str]], path: Path | None) -> str:
    """``bind`` for a folder of the machine mounted in, ``empty`` for one the view makes."""
    if path is None:
        return "empty"
    return "bind" if entries[path][0] in ("--ro-bind", "--bind", "--dev", "--proc") else "empty"


def _in_read_only(path: Path, entries: dict[Path, list[str]]) -> bool:
    """Whether an entry above ``path``, with nothing between, already shows it read-only."""
    nearest = _nearest(path, entries)
    return nearest is not None and entries[nearest][0] == "--ro-bind"


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
        "MLFLOW_DISABLE_TELEMETRY": "true",  # mlflow's usage telemetry would try the network
        "DO_NOT_TRACK": "true",
    }
