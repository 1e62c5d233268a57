"""The warm process that forks learner kernels: heavy imports paid once, every kernel fresh.

Why: starting a kernel and importing numpy, pandas and scikit-learn costs about 2.5 s per
notebook run, which is nearly all of a small exercise's grading time. This process
imports them once and forks a kernel per run. A fork shares no state with its siblings:
each starts from this pristine process (which never runs learner code), gets its own
copy-on-write memory, and is isolated before any learner code runs.

It runs inside the sandbox's bubblewrap, in the view ``Sandbox.view`` builds from its
allow-list (the Python installation, the system folders its libraries need, nothing
else of the machine; the one list cold kernels get too), as root with its capabilities,
and each fork then builds what the per-run sandbox of ``sandbox.py`` gives a kernel:

    fork into a new PID namespace (the run's PID 1: new mount, network, IPC, UTS and
          cgroup namespaces; fresh /tmp, /var/tmp and /dev/shm; only its own run folders
          mounted back; loopback up; its own /proc; reaps, and its exit is the kernel's)
      -> fork (the kernel: rlimits, capability bounding set emptied, its own uid and
               gid, no groups, no new privileges, an environment built from nothing)
        -> ipykernel

Killing the run's PID 1 ends its namespace, so every process the run started. The zygote
puts each fork in a namespace of its own by unsharing the PID namespace for its next
child, then entering its own again (``setns``); a fork of this process costs the machine
about 13 ms, so one process fewer per run (the separate "keeper" this used to have) is
worth it. Should the zygote fail to return to its own namespace, it exits rather than
fork a later run into an earlier one's namespace.

With ``--trusted`` (for our own solution notebooks, never learner code) it runs without
bubblewrap and its forks skip the isolation: they only get a fresh process.

Protocol: one JSON object per line. Requests on stdin ``{"id", "uid", "scratch",
"sockets", "connection_file", "stderr", "env", "rlimits", "tmpfs_bytes", "runs_root", "exposed", "masked"}``
(``rlimits``: the pairs of ``Limits.rlimits``, the ones prlimit gets for a cold kernel);
on stdout ``{"ready": ...}`` once, then ``{"id", "pid"}`` (or ``{"id", "error"}``) per
request and ``{"exit": pid, "code": code}`` when a run's PID 1 ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import importlib
import json
import os
import random
import resource
import select
import signal
import socket
import struct
import sys
import traceback
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SIOCSIFFLAGS, IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40
EXIT_SETUP_FAILED = 70

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    result = _libc.mount(encode(source), target.encode(), encode(fstype), flags, encode(data))
    _check(result, f"mount {target}")


def _prctl(option: int, value: int) -> int:
    return int(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0))


NOT_PRELOADED = ("keras", "tensorflow", "tf_keras")
"""Packages a notebook configures before importing them, so a fork must import them itself.

Keras picks its backend once, when it is imported, from ``KERAS_BACKEND``, which a notebook
sets in its first cell (03-keras wants ``torch``, 07-tensorflow ``tensorflow``); importing
TensorFlow imports Keras too. Preloaded here, Keras would have the default backend
(TensorFlow) in every kernel, whatever the notebook then asks for."""


def preloadable(name: str) -> bool:
    return name.split(".", 1)[0] not in NOT_PRELOADED


def preload(modules: list[str]) -> list[str]:
    """Import what kernels will import; a module that fails is simply not preloaded."""
    loaded = []
    for name in modules:
        if not preloadable(name):
            continue
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception as exc:
            print(f"zygote: not preloading {name}: {exc}", file=sys.stderr)
    return loaded


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))


def _isolate(request: dict[str, Any]) -> None:
    """In the run's PID 1: new namespaces, fresh temporary folders, only this run's folders.

    Everything else of the view is the zygote's, which is already the allow-list's: this
    replaces only what differs between runs, so a fork stays as cheap as it was.

    The run's folders, and the read-only folders the kernel needs that lie under ``/tmp``
    or ``/var/tmp`` (a Python installed in a clone under ``/tmp``), are bound to a staging
    place in the fresh ``/dev/shm`` while they are still visible, then moved back into
    the fresh, empty copies.
    """
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP  # PID: see spawn
    _check(_libc.unshare(flags), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    size = int(request["tmpfs_bytes"])
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    covered = ("/tmp/", "/var/tmp/", request["runs_root"].rstrip("/") + "/")
    keep = [(path, True) for path in request.get("exposed", ()) if path.startswith(covered)]
    keep += [(request["scratch"], False), (request["sockets"], False)]
    staged = {}
    for index, (path, read_only) in enumerate(keep):
        stage = f"/dev/shm/.stage{index}"
        os.mkdir(stage)
        _mount(path, stage, None, MS_BIND | MS_REC)
        staged[stage] = (path, read_only)
    for folder in ("/tmp", "/var/tmp"):
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    for folder in request.get("masked", ()):  # empty, as the per-run sandbox shows them
        if not os.path.isdir(folder):
            os.makedirs(folder, mode=0o755)
    runs_root = request["runs_root"]
    os.makedirs(runs_root, exist_ok=True)
    _mount("tmpfs", runs_root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=755")
    for stage, (path, read_only) in staged.items():
        os.makedirs(path, exist_ok=True)
        _mount(stage, path, None, MS_MOVE)
        if read_only:  # a bind starts writable whatever its source was; make it read-only again
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.rmdir(stage)
    _loopback_up()
    socket.sethostname("sandbox")


def _apply_limits(request: dict[str, Any]) -> None:
    """The run's rlimits, as ``Limits.rlimits`` converted them: (``RLIMIT_*`` name, value)."""
    for name, value in request["rlimits"]:
        resource.setrlimit(getattr(resource, name), (value, value))


def _drop_privileges(request: dict[str, Any]) -> None:
    """In the kernel process: limits, then the run's own uid with no way back."""
    _apply_limits(request)
    for cap in range(64):
        if _prctl(PR_CAPBSET_DROP, cap) != 0:
            break  # past the last capability this kernel knows
    uid = int(request["uid"])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears every capability: the saved uid is not root either
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")


def _reseed() -> None:
    """Forks share the zygote's generator states; give each kernel its own, as a fresh process has."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


def _run_kernel(request: dict[str, Any]) -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _drop_privileges(request)
    os.environ.clear()
    os.environ.update(request["env"])
    scratch = request["scratch"]
    os.chdir(scratch)
    sys.path[0] = scratch  # what ``python -m ipykernel_launcher`` started in ``scratch`` has
    _reseed()
    launch_kernel(request["connection_file"])


def launch_kernel(connection_file: str) -> None:
    """Become the kernel: ipykernel, as ``kernelapp.py`` runs it (preloaded here)."""
    from .kernelapp import launch

    launch(connection_file)


def _reaper(kernel: int) -> int:
    """PID 1 of the run: wait for the kernel (and reap orphans); its exit is the run's."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return EXIT_SETUP_FAILED
        if pid == kernel:
            return os.waitstatus_to_exitcode(status) % 256


def _run_init(request: dict[str, Any]) -> int:
    """PID 1 of the run's PID namespace: build the run's sandbox, fork the kernel, reap."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()
    _isolate(request)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    kernel = os.fork()
    if kernel == 0:
        _run_kernel(request)
        os._exit(0)
    return _reaper(kernel)


def _redirect_stdio(stderr_path: str) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    log = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 2)
    for fd in (null, log):
        if fd > 2:
            os.close(fd)


def _close_inherited_fds() -> None:
    """Nothing of the zygote's (its request pipe above all) reaches learner code."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
                os.close(fd)


def _trusted_kernel(request: dict[str, Any]) -> int:
    """A kernel for our own notebooks (the solutions): a fresh fork, with no sandbox to build."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["scratch"])
    sys.path[0] = request["scratch"]
    _reseed()
    launch_kernel(request["connection_file"])
    return 0


_own_pid_namespace: int | None = None
"""This process's PID namespace (an open ``/proc/self/ns/pid``), to return to after a fork."""


def _return_to_own_pid_namespace() -> None:
    assert _own_pid_namespace is not None
    if _libc.setns(_own_pid_namespace, CLONE_NEWPID) != 0:
        errno = ctypes.get_errno()
        reason = os.strerror(errno)
        print(f"zygote: cannot return to its own PID namespace ({reason}); ending", file=sys.stderr)
        os._exit(EXIT_SETUP_FAILED)  # never fork a later run into this run's namespace


def spawn(request: dict[str, Any], trusted: bool = False) -> int:
    if not trusted:  # the next child is PID 1 of a new PID namespace
        _check(_libc.unshare(CLONE_NEWPID), "unshare")
    try:
        pid = os.fork()
    except OSError:
        if not trusted:
            _return_to_own_pid_namespace()
        raise
    if pid:
        if not trusted:
            _return_to_own_pid_namespace()
        return pid
    code = EXIT_SETUP_FAILED
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _redirect_stdio(request["stderr"])
        _close_inherited_fds()
        code = _trusted_kernel(request) if trusted else _run_init(request)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _send(message: dict[str, Any]) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


def serve(trusted: bool = False) -> None:
    """Answer requests until stdin closes; report the end of each run's PID 1.

    Each child is watched through a pidfd, so its end is reported the moment it happens
    (a crashed kernel's run ends at once) and nothing polls while runs are busy.
    """
    children: dict[int, int] = {}  # pidfd -> pid
    buffer = b""
    while True:
        ready, _, _ = select.select([0, *children], [], [])
        for pidfd in ready:
            if pidfd == 0 or pidfd not in children:
                continue
            pid = children.pop(pidfd)
            os.close(pidfd)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            _send({"exit": pid, "code": code if code >= 0 else 128 - code})
        if 0 not in ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            try:
                pid = spawn(request, trusted)
            except OSError as exc:
                _send({"id": request.get("id"), "error": str(exc)})
                continue
            children[os.pidfd_open(pid)] = pid
            _send({"id": request.get("id"), "pid": pid})


KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "autograder.run.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "ipykernel.comm",
    "ipykernel.eventloops",
    "ipykernel.pylab.backend_inline",
    "matplotlib_inline.backend_inline",
    "IPython.core.completer",
    "IPython.core.history",
    "IPython.core.magics",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "pdb",
    "tornado.platform.asyncio",
    "jedi",
    "autograder.checks",
    "IPython.core.logger",
    "stack_data",
    "pygments.formatters.terminal256",
    "pygments.styles",
)
"""What ``IPKernelApp.initialize`` would import in every kernel (debugpy alone costs 0.15 s;
the rest were found by comparing ``sys.modules`` before and after it), and what its first
cell and first traceback import (``stack_data`` and pygments' terminal formatter)."""


def main() -> None:
    global _own_pid_namespace
    trusted = sys.argv[1:2] == ["--trusted"]
    if trusted:  # no bubblewrap around us to end us with the grader
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        _own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    # Importing scikit-learn and the rest makes millions of objects, and the collector's
    # passes over them took 0.4 s of the 2.9 s this start took. Nothing imported here is
    # garbage to collect later: the collector is off while importing, and what was
    # imported is then frozen (the collector's own advice before forking), so a kernel's
    # collections look only at what the kernel itself makes.
    gc.disable()
    preload(list(KERNEL_MODULES))
    loaded = preload(sys.argv[2:] if trusted else sys.argv[1:])
    try:
        from .kernelapp import warm_caches

        warm_caches()
    except Exception as exc:  # a cold cache costs time, never correctness
        print(f"zygote: caches not warmed: {exc}", file=sys.stderr)
    gc.freeze()
    gc.enable()

    threads = len(os.listdir("/proc/self/task"))
    _send({"ready": True, "preloaded": loaded, "threads": threads})
    serve(trusted)


if __name__ == "__main__":
    main()
