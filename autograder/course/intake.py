"""Reading and writing in folders a learner controls: never through a link, never quoting a file.

A learner fills their workspace and their submission folder; the grader reads them with
rights the learner lacks (root, or the instructor's account). A symbolic link there would
make the grader read, and hand back, what it points to: the solution notebook, or a file
only root may read. So every step below the folder the caller trusts is opened with
``O_NOFOLLOW`` (a link is refused, never followed), the file must be a regular file (a
pipe would block the grader), its size is checked with ``fstat`` on the open file before
a byte is read, and every error names the file and the fix but holds no byte of it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..run.jsonbudget import decoded_size
from .config import MalformedNotebook

MB = 1_000_000
"""What ``c.Autograder.max_notebook_mb`` counts in."""

LINK_FIX = (
    "the grader never reads what a link points to: put the notebook file itself there "
    "(a copy, not a link), then submit again"
)
SIZE_FIX = "clear large outputs (Edit > Clear Outputs of All Cells) and submit again"
VALID_FIX = "open it in JupyterLab and save it again, or restore it from the release, then submit again"

_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFLNK: "a symbolic link",
}


class RefusedNotebook(MalformedNotebook):
    """A file the grader does not read at all: a link, not a regular file, or too large."""


class _Refused(Exception):
    """A step below the trusted folder that is a link or not a folder, at ``where``."""

    def __init__(self, where: Path, kind: str) -> None:
        super().__init__(where, kind)
        self.where, self.kind = where, kind


def max_notebook_bytes(max_notebook_mb: float) -> int:
    """``c.Autograder.max_notebook_mb`` in bytes (1 MB = 10**6 bytes)."""
    return int(max_notebook_mb * MB)


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _step_kind(name: str, dir_fd: int) -> str:
    """What ``name`` is, when it could not be opened without following it."""
    try:
        mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        return "not a folder"
    return "a file, not a folder" if stat.S_ISREG(mode) else _kind(mode)


@contextmanager
def _folder(root: Path, parts: tuple[str, ...], *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``root/parts...``, each part opened without following a link.

    ``root`` is the caller's own folder and is trusted (it may itself be reached through
    an instructor's link); everything below it is the learner's. ``create`` makes
    missing folders, as ``mkdir -p`` would, but never through a link.
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        where = root
        for part in parts:
            where = where / part
            try:
                step = os.open(part, _FOLDER, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                step = os.open(part, _FOLDER, dir_fd=fd)
            except PermissionError:
                raise
            except OSError:  # ELOOP: a link; ENOTDIR: a file
                raise _Refused(where, _step_kind(part, fd)) from None
            os.close(fd)
            fd = step
        yield fd
    finally:
        os.close(fd)


def _parts(path: Path, root: Path | None) -> tuple[Path, tuple[str, ...], str]:
    """(trusted root, folders below it, file name) of ``path``."""
    root = root if root is not None else path.parent
    relative = path.relative_to(root)  # a ValueError here is the caller's mistake
    if not relative.parts or ".." in relative.parts:
        raise ValueError(f"{path} is not a file below {root}")
    return root, relative.parts[:-1], relative.name


def _megabytes(size: int, limit: int) -> str:
    """``size`` in MB, with as many decimals as it takes to differ from ``limit``."""
    for digits in range(1, 7):
        shown = f"{size / MB:.{digits}f}"
        if float(shown) > limit / MB:
            return shown
    return str(size / MB)


def read_learner_file(path: Path, max_bytes: int, *, root: Path | None = None) -> bytes:
    """The bytes of a regular file a learner controls, read without following any link.

    Nothing at or below ``root`` (by default the file's own folder) may be a link; the
    size is checked on the open file before reading. Raises ``RefusedNotebook`` (no byte
    of the file in it) or ``FileNotFoundError`` when nothing is there.
    """
    base, folders, name = _parts(path, root)
    try:
        with _folder(base, folders) as dir_fd:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError as exc:
                if not isinstance(exc, FileNotFoundError) and _step_kind(name, dir_fd) == "a symbolic link":
                    raise RefusedNotebook(path, "a symbolic link, not a notebook file", LINK_FIX) from None
                raise
    except _Refused as exc:
        raise RefusedNotebook(path, f"its folder {exc.where} is {exc.kind}", LINK_FIX) from None
    except FileNotFoundError:
        raise
    except OSError as exc:  # permissions, say: the reason, never the file
        raise RefusedNotebook(path, f"cannot be read ({exc.strerror})", VALID_FIX) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            fix = "save the notebook under this name, then submit again"
            raise RefusedNotebook(path, f"{_kind(info.st_mode)}, not a notebook file", fix)
        if info.st_size > max_bytes:
            raise RefusedNotebook(path, _too_large(info.st_size, max_bytes), SIZE_FIX)
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew after fstat
        raise RefusedNotebook(path, _too_large(len(data), max_bytes), SIZE_FIX)
    return data


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"{_megabytes(size, max_bytes)} MB, over the {max_bytes / MB:g} MB a submitted notebook may be "
        "(c.Autograder.max_notebook_mb in jupyter_config.py)"
    )


@functools.lru_cache(maxsize=1)
def _schema_keys() -> frozenset[str]:
    """Every field name nbformat's v4 schemas declare: the only names an error may show."""
    folder = Path(nbformat.v4.__file__).parent
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                keys.update(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in set(nbformat.v4.nbformat_schema.values()):
        walk(json.loads((folder / name).read_text(encoding="utf-8")))
    return frozenset(keys)


_PROBLEMS = {
    "required": "a required field is missing",
    "type": "a value of the wrong type",
    "additionalProperties": "a field the notebook format does not allow",
    "enum": "a value the notebook format does not allow",
    "const": "a value the notebook format does not allow",
    "oneOf": "a value of the wrong form",
    "anyOf": "a value of the wrong form",
    "pattern": "a value of the wrong form",
    "minimum": "a number out of range",
    "maximum": "a number out of range",
    "minLength": "a value of the wrong length",
    "maxLength": "a value of the wrong length",
    "minItems": "a list of the wrong length",
    "maxItems": "a list of the wrong length",
    "uniqueItems": "repeated values",
}


def _schema_problem(exc: Exception) -> str:
    """Where a notebook breaks nbformat's schema and how, from schema names and positions only."""
    keys = _schema_keys()
    path = getattr(exc, "absolute_path", None) or ()
    where = "/".join(str(p) if isinstance(p, int) or p in keys else "..." for p in path)
    validator = getattr(exc, "validator", None)
    what = _PROBLEMS.get(validator, "") if isinstance(validator, str) else ""
    what = what or "does not match the notebook format"
    return f"{where}: {what}" if where else what


DECODED_PER_BYTE = 4
"""How much larger than the size cap a notebook may be once decoded (``jsonbudget``): a
notebook of text, code and images decodes to about its own size; one of millions of tiny
JSON objects to some thirty times it, which is what a hostile one would use."""

_large_parses = threading.BoundedSemaphore(1)
"""Notebooks over ``LARGE_PARSE`` bytes once decoded are parsed one at a time."""
LARGE_PARSE = 16 * 2**20


def check_density(path: Path, data: bytes, max_bytes: int) -> None:
    """Refuse JSON whose decoded form would far outweigh a notebook of the allowed size."""
    if decoded_size(data) > DECODED_PER_BYTE * max_bytes:
        objects = data.count(b"{") + data.count(b"[")
        raise RefusedNotebook(
            path,
            f"its JSON holds {objects:,} objects and lists, far more than a notebook of "
            f"{max_bytes / MB:g} MB may (c.Autograder.max_notebook_mb in jupyter_config.py)",
            VALID_FIX,
        )


def parse_notebook_bytes(path: Path, data: bytes) -> NotebookNode:
    """Parse and validate a notebook as ``nbformat.read`` does (as version 4), quoting none of it.

    nbformat's own errors quote the file (its "not JSON" error, its schema errors) and its
    reader logs the schema error; here the error says where and what kind, only.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNotebook(path, exc) from None
    try:
        nb: NotebookNode = nbformat.convert(nbformat.reader.reads(text), 4)  # type: ignore[no-untyped-call]
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise MalformedNotebook(path, f"not a valid notebook ({_schema_problem(exc)})", VALID_FIX) from None
    except Exception as exc:  # NotJSONError, NBFormatError, a deeply nested RecursionError...
        raise MalformedNotebook(path, exc) from None
    return nb


def read_learner_notebook(path: Path, max_bytes: int, *, root: Path | None = None) -> NotebookNode:
    """A submitted notebook, read as ``read_notebook(path, strict=True)`` but safe to point anywhere.

    ``root`` is the folder the grader trusts (``settings.submitted_dir``); nothing below it
    may be a link. Raises ``MalformedNotebook`` (``RefusedNotebook`` for a link, a pipe or
    a file over ``max_bytes``) with a message that holds no byte of the file, or
    ``FileNotFoundError``.
    """
    return read_learner_notebook_bytes(path, read_learner_file(path, max_bytes, root=root), max_bytes)


def read_learner_notebook_bytes(path: Path, data: bytes, max_bytes: int) -> NotebookNode:
    """Parse ``data``, read from ``path`` by ``read_learner_file``, if it is not too dense."""
    check_density(path, data, max_bytes)
    if decoded_size(data) <= LARGE_PARSE:
        return parse_notebook_bytes(path, data)
    with _large_parses:  # so that several large ones never take the grader's memory at once
        return parse_notebook_bytes(path, data)


def linked_part(root: Path, path: Path) -> Path | None:
    """The first folder or file from below ``root`` down to ``path`` that is a symbolic link."""
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        if here.is_symlink():
            return here
    return None


def copy_new_file(source: Path, root: Path, relative: Path) -> bool:
    """Copy ``source`` to ``root/relative`` unless anything (a file, a link) is there already.

    Folders are made as needed; nothing is written through a link (``O_EXCL`` and
    ``O_NOFOLLOW`` at every step), so a learner's link never sends the grader's write
    elsewhere. Returns whether it copied. Mode and times are kept, as ``shutil.copy2`` does.
    """
    info = os.stat(source)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with _folder(root, relative.parts[:-1], create=True) as dir_fd:
            try:
                fd = os.open(relative.name, flags, 0o600, dir_fd=dir_fd)
            except FileExistsError:
                return False
            try:
                with open(source, "rb") as src, os.fdopen(fd, "wb") as dest:
                    shutil.copyfileobj(src, dest)
                    dest.flush()
                    os.fchmod(dest.fileno(), stat.S_IMODE(info.st_mode))
                    os.utime(dest.fileno(), ns=(info.st_atime_ns, info.st_mtime_ns))
            except BaseException:
                os.unlink(relative.name, dir_fd=dir_fd)  # never leave half a file behind
                raise
    except _Refused:
        return False
    return True
