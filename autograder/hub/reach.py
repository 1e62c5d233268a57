"""Letting another account run this Python when it lives in a folder closed to them.

On a shared server the environment lives somewhere every account may read (``/opt``), and
nothing here is needed. On CI machines and containers the interpreter often sits under
``/root`` (mode 0700): a learner's process then runs in a mount namespace (bubblewrap, started
as root) where that folder is an empty one with only the Python installation mounted back,
read-only. Nothing on the machine changes.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path


def interpreter_view() -> list[str]:
    """bwrap options that make this interpreter reachable by any account; [] if it already is."""
    args: list[str] = []
    covered: set[Path] = set()
    for prefix in sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}):
        closed = [p for p in reversed(prefix.parents) if not p.stat().st_mode & stat.S_IXOTH]
        if not closed:
            continue
        top = closed[0]
        if top not in covered:
            args += ["--tmpfs", str(top)]
            covered.add(top)
        for parent in reversed(prefix.parents):
            if parent.is_relative_to(top) and parent != top:
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(prefix), str(prefix)]
    return args


def as_account(view: list[str], uid: int, gid: int, argv: list[str], *, cwd: str) -> list[str]:
    """``argv`` run as ``uid``/``gid`` (with their groups) inside ``view``; started as root.

    setpriv replaces itself with ``argv``, so the process bwrap starts is the server itself
    and a signal sent to it reaches the server, not a wrapper.
    """
    drop = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"]
    return ["bwrap", "--dev-bind", "/", "/", *view, "--cap-add", "ALL", "--chdir", cwd, "--", *drop, *argv]
