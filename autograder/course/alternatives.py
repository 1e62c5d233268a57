"""Honest alternative solutions: what an author proves full marks for besides the solution.

A notebook's solution is one way to solve each exercise. Learners find others: loops
where the solution vectorises, a list where it returns an array, other names, helper
cells of their own, another summation order. Each of those must score full marks, so
every notebook ships some next to its source, and ``autograder check`` grades them
exactly as it grades a learner (see ``validate.check_alternatives``).

The file is ``solutions/<assignment>/alternatives/<notebook stem>.yaml``, a YAML list::

    - name: loops-and-lists            # unique in the file, [a-z0-9-]
      why: "Pure-Python loops where the solution vectorises with NumPy"
      answers:                          # answer cell grade_id -> the whole cell a learner types
        standardize-solution: |
          def standardize(X):
              ...
      extra_cells:                      # optional: plain code cells a learner adds
        - after: standardize-solution   # after the cell with this grade_id (or cell id)
          source: |
            import math

An alternative is applied to the *release* notebook, as a learner fills it in: named
answer cells get the given source, the others get the solution's own answer (the source
notebook's solution regions without their markers), and extra cells are plain code cells
without nbgrader metadata. nbgrader never releases these files
(``c.CourseDirectory.ignore`` lists ``alternatives``).

Everything here is pure (no kernels, no files but the one read), so it is unit-tested fast.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from ..errors import AutograderError

ALTERNATIVES_DIR = "alternatives"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
KEYS = ("name", "why", "answers", "extra_cells")
EXTRA_KEYS = ("after", "source")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
EXAMPLE = "- name: loops, why: '...', answers: {<answer grade_id>: '<cell source>'}"


class AlternativesError(AutograderError, ValueError):
    """A malformed alternatives file; the one-line message names the file and the fix."""


@dataclass(frozen=True)
class ExtraCell:
    after: str
    """The grade_id (or cell id) of the release cell this code cell goes after."""
    source: str


@dataclass(frozen=True)
class Alternative:
    name: str
    why: str
    answers: dict[str, str]
    """Answer cell grade_id -> the whole cell source a learner types."""
    extra_cells: tuple[ExtraCell, ...] = ()


def alternatives_path(source_dir: Path, notebook: str) -> Path:
    """Where a notebook's alternatives live: next to it, in a folder nbgrader never releases."""
    return source_dir / ALTERNATIVES_DIR / f"{notebook}.yaml"


def load_alternatives(path: Path) -> list[Alternative]:
    """Read and check one alternatives file; every mistake raises one line naming the file and fix."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AlternativesError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise AlternativesError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise AlternativesError(f"{path}: not valid YAML ({_yaml_problem(exc)}); {_FIX_YAML}") from None
    return parse_alternatives(raw, str(path))


_FIX_YAML = "fix the syntax there: write each cell source as a block (`key: |`) indented under its key"


def _yaml_problem(exc: Exception) -> str:
    """The parser's complaint and where, in one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", "") or "").strip() or type(exc).__name__
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


def parse_alternatives(raw: Any, where: str) -> list[Alternative]:
    """The alternatives of a parsed YAML document, with a one-line error for each misfit."""
    if not isinstance(raw, list) or not raw:
        raise AlternativesError(
            f"{where}: expected a non-empty YAML list of alternatives, got "
            f"{'nothing' if raw is None else type(raw).__name__}; write entries such as: {EXAMPLE}"
        )
    alternatives: list[Alternative] = []
    for index, entry in enumerate(raw, start=1):
        alternative = _parse_entry(entry, f"{where}: alternative #{index}")
        if any(a.name == alternative.name for a in alternatives):
            raise AlternativesError(
                f"{where}: alternative #{index}: the name {alternative.name!r} is used twice; "
                "give each alternative its own name"
            )
        alternatives.append(alternative)
    return alternatives


def _parse_entry(entry: Any, where: str) -> Alternative:
    if not isinstance(entry, dict):
        raise AlternativesError(f"{where}: expected a mapping with the keys {', '.join(KEYS)}")
    unknown = sorted(str(k) for k in entry if k not in KEYS)
    if unknown:
        raise AlternativesError(
            f"{where}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(KEYS)}"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise AlternativesError(
            f"{where}: `name` must be lower-case letters, digits and dashes (such as loops-and-lists), "
            f"got {name!r}"
        )
    where = f"{where} ({name})"
    why = entry.get("why")
    if not isinstance(why, str) or not why.strip():
        raise AlternativesError(f"{where}: `why` must say in a sentence how it differs from the solution")
    answers = _parse_answers(entry.get("answers", {}), where)
    extras = _parse_extras(entry.get("extra_cells", []), where)
    if not answers and not extras:
        raise AlternativesError(
            f"{where}: it changes nothing; give `answers` (answer grade_id -> cell source) or `extra_cells`"
        )
    return Alternative(name, why.strip(), answers, extras)


def _parse_answers(answers: Any, where: str) -> dict[str, str]:
    fix = "`answers` maps answer-cell grade_ids to the whole cell source (`grade-id: |` then the code)"
    if answers is None:
        return {}
    if not isinstance(answers, dict):
        raise AlternativesError(f"{where}: {fix}, got {type(answers).__name__}")
    parsed = {}
    for grade_id, source in answers.items():
        if not isinstance(grade_id, str) or not isinstance(source, str) or not source.strip():
            raise AlternativesError(f"{where}: answers.{grade_id}: {fix}; this entry is not text")
        parsed[grade_id] = source.rstrip("\n")
    return parsed


def _parse_extras(extras: Any, where: str) -> tuple[ExtraCell, ...]:
    fix = "`extra_cells` is a list of {after: <grade_id or cell id>, source: <code>}"
    if extras is None:
        return ()
    if not isinstance(extras, list):
        raise AlternativesError(f"{where}: {fix}, got {type(extras).__name__}")
    parsed = []
    for index, extra in enumerate(extras, start=1):
        if (
            not isinstance(extra, dict)
            or set(extra) != set(EXTRA_KEYS)
            or not all(isinstance(extra[k], str) and extra[k].strip() for k in EXTRA_KEYS)
        ):
            raise AlternativesError(f"{where}: extra_cells #{index}: {fix}, both non-empty text")
        parsed.append(ExtraCell(extra["after"], extra["source"].rstrip("\n")))
    return tuple(parsed)


def _grade_id(cell: NotebookNode) -> str | None:
    grade_id: str | None = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id


def answer_cell_ids(nb: NotebookNode) -> list[str]:
    """The grade_ids of a notebook's answer cells (nbgrader ``solution: true``), in order."""
    return [
        str(_grade_id(c))
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution") and _grade_id(c)
    ]


def target_problems(alternatives: list[Alternative], release: NotebookNode) -> list[str]:
    """``NAME: what is wrong`` for each answer or anchor an alternative names that the release lacks."""
    answers = answer_cell_ids(release)
    anchors = {str(_grade_id(c)) for c in release.cells if _grade_id(c)}
    anchors |= {str(c.get("id")) for c in release.cells if c.get("id")}
    problems = []
    for alternative in alternatives:
        for grade_id in alternative.answers:
            if grade_id not in answers:
                problems.append(
                    f"{alternative.name}: answers names {grade_id!r}, which is not an answer cell of the "
                    f"notebook; its answer cells are {', '.join(answers)}"
                )
        for extra in alternative.extra_cells:
            if extra.after not in anchors:
                problems.append(
                    f"{alternative.name}: extra_cells goes after {extra.after!r}, which is neither a "
                    "grade_id nor a cell id of the released notebook"
                )
    return problems


def solution_answers(source: NotebookNode) -> dict[str, str]:
    """Each answer cell as a learner who wrote the solution would have typed it.

    nbgrader replaces what lies between the solution markers with a stub; the learner
    types it back, so the answer is the source cell without its marker lines.
    """
    answers = {}
    for cell in source.cells:
        grade_id = _grade_id(cell)
        if grade_id and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            lines = [
                line for line in cell.source.splitlines() if not any(m in line for m in SOLUTION_MARKERS)
            ]
            answers[str(grade_id)] = "\n".join(lines)
    return answers


def apply_alternative(
    release: NotebookNode, solution: dict[str, str], alternative: Alternative
) -> NotebookNode:
    """The release as a learner following ``alternative`` fills it in; ``release`` is not changed.

    ``solution`` gives the answers the alternative does not name (``solution_answers``).
    """
    nb: NotebookNode = nbformat.from_dict(copy.deepcopy(release))  # type: ignore[no-untyped-call]
    taken = {c.get("id") for c in nb.cells}
    cells = []
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = alternative.answers.get(grade_id, solution.get(grade_id, cell.source))
        cells.append(cell)
        for extra in alternative.extra_cells:
            if extra.after in (grade_id, cell.get("id")):
                fresh = _fresh_id(alternative.name, taken)
                cells.append(new_code_cell(extra.source, id=fresh))  # type: ignore[no-untyped-call]
    nb.cells = cells
    return nb


def _fresh_id(name: str, taken: set[Any]) -> str:
    """A cell id no other cell has (nbformat: at most 64 of [a-zA-Z0-9-_])."""
    for number in range(1, 10_000):
        candidate = f"{name[:48]}-extra-{number}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise AlternativesError(f"alternative {name}: too many extra cells")


def alternative_lines(alternative: Alternative) -> list[str]:
    """The lines of an alternative that would give it away (as ``validate`` picks solution lines)."""
    lines = []
    for text in (*alternative.answers.values(), *(e.source for e in alternative.extra_cells)):
        for line in text.splitlines():
            stripped = line.strip()
            if len(stripped) >= 12 and not stripped.startswith("#"):
                lines.append(stripped)
    return list(dict.fromkeys(lines))
