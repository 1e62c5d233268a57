"""Files written atomically, so a crash mid-write never leaves half a record behind."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    ``durable`` also flushes the file to disk before the rename (a machine that loses power
    keeps the old or the new file); without it, a failing process still never leaves a
    half-written file, at no cost in disk waits. ``mode``: the file's permissions.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if mode != 0o600:  # what mkstemp made
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def append_line(path: Path, data: Any) -> None:
    """Append one JSON line; a single ``write`` on an ``O_APPEND`` file, so lines never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(data, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def write_notebook(nb: Any, path: Path) -> None:
    """Write a notebook compactly, without validating it again.

    What we write is a validated notebook plus outputs the grader already checked as they
    arrived. nbformat's own writer validates again and indents, which forces Python's
    slow JSON encoder; with check values in the outputs that was the largest single cost
    of grading a submission. Any notebook reader reads the compact form.
    Written through a temporary file and a rename, so a failure never leaves a half or
    empty notebook where formgrader or feedback would read it.
    """
    text = json.dumps(nb, ensure_ascii=False, sort_keys=True)
    write_bytes_atomic(path, text.encode("utf-8"), durable=False, mode=0o644)
