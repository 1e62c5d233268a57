"""The YAML files that replace a notebook's answer cells: shared reading and checking.

Honest alternatives (``alternatives.py``) and known mistakes (``misconceptions.py``) are
both lists of named entries whose ``answers`` map answer-cell grade_ids to the cell a
learner types and whose optional ``extra_cells`` add plain code cells. They differ only
in their other keys, so reading the file, the list, the names and those two keys lives
here, once, and each kind raises its own error class with the same one-line messages.

Everything here is pure (no kernels, no files but the one read).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from nbformat import NotebookNode

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EXTRA_KEYS = ("after", "source")

Entry = TypeVar("Entry")


@dataclass(frozen=True)
class ExtraCell:
    after: str
    """The grade_id (or cell id) of the cell this code cell goes after."""
    source: str


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader grade_id, if it has one."""
    found: str | None = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return found


def yaml_problem(exc: Exception) -> str:
    """The parser's complaint and where, in one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", "") or "").strip() or type(exc).__name__
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


def read_yaml(path: Path, error: type[Exception], fix_yaml: str) -> Any:
    """The parsed document; a file that cannot be read or parsed raises ``error`` naming it."""
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({yaml_problem(exc)}); {fix_yaml}") from None


def parse_named_list(
    raw: Any,
    where: str,
    *,
    kind: str,
    empty: str,
    parse_entry: Callable[[Any, str], Entry],
    name_of: Callable[[Entry], str],
    error: type[Exception],
    reuse_fix: str = "",
) -> list[Entry]:
    """Each entry of a non-empty YAML list parsed by ``parse_entry``, names unique.

    ``kind`` names one entry in messages ("alternative"), ``empty`` ends the message for a
    document that is no list, ``reuse_fix`` ends the one for a name used twice.
    """
    if not isinstance(raw, list) or not raw:
        raise error(f"{where}: {empty}")
    entries: list[Entry] = []
    for index, item in enumerate(raw, start=1):
        entry = parse_entry(item, f"{where}: {kind} #{index}")
        if any(name_of(e) == name_of(entry) for e in entries):
            raise error(f"{where}: {kind} #{index}: the name {name_of(entry)!r} is used twice{reuse_fix}")
        entries.append(entry)
    return entries


def entry_name(entry: Any, where: str, keys: tuple[str, ...], error: type[Exception], example: str) -> str:
    """The entry's ``name`` once it is a mapping of known keys; ``example`` shows a good name."""
    if not isinstance(entry, dict):
        raise error(f"{where}: expected a mapping with the keys {', '.join(keys)}")
    unknown = sorted(str(k) for k in entry if k not in keys)
    if unknown:
        raise error(f"{where}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(keys)}")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise error(f"{where}: `name` must be lower-case letters, digits and dashes{example}, got {name!r}")
    return name


def parse_answers(answers: Any, where: str, error: type[Exception]) -> dict[str, str]:
    """``answers``: answer-cell grade_id -> the whole cell source, trailing newlines dropped."""
    fix = "`answers` maps answer-cell grade_ids to the whole cell source (`grade-id: |` then the code)"
    if answers is None:
        return {}
    if not isinstance(answers, dict):
        raise error(f"{where}: {fix}, got {type(answers).__name__}")
    parsed = {}
    for key, source in answers.items():
        if not isinstance(key, str) or not isinstance(source, str) or not source.strip():
            raise error(f"{where}: answers.{key}: {fix}; this entry is not text")
        parsed[key] = source.rstrip("\n")
    return parsed


def parse_extra_cells(extras: Any, where: str, error: type[Exception]) -> tuple[ExtraCell, ...]:
    """``extra_cells``: a list of {after, source}, both non-empty text."""
    fix = "`extra_cells` is a list of {after: <grade_id or cell id>, source: <code>}"
    if extras is None:
        return ()
    if not isinstance(extras, list):
        raise error(f"{where}: {fix}, got {type(extras).__name__}")
    parsed = []
    for index, extra in enumerate(extras, start=1):
        if (
            not isinstance(extra, dict)
            or set(extra) != set(EXTRA_KEYS)
            or not all(isinstance(extra[k], str) and extra[k].strip() for k in EXTRA_KEYS)
        ):
            raise error(f"{where}: extra_cells #{index}: {fix}, both non-empty text")
        parsed.append(ExtraCell(extra["after"], extra["source"].rstrip("\n")))
    return tuple(parsed)
