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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from ..errors import AutograderError
from .authored_cells import (
    ExtraCell,
    entry_name,
    parse_answers,
    parse_extra_cells,
    parse_named_list,
    read_yaml,
)
from .authored_cells import grade_id as _grade_id

ALTERNATIVES_DIR = "alternatives"
KEYS = ("name", "why", "answers", "extra_cells")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
EXAMPLE = "- name: loops, why: '...', answers: {<answer grade_id>: '<cell source>'}"
_FIX_YAML = "fix the syntax there: write each cell source as a block (`key: |`) indented under its key"


class AlternativesError(AutograderError, ValueError):
    """A malformed alternatives file; the one-line message names the file and the fix."""


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
    return parse_alternatives(read_yaml(path, AlternativesError, _FIX_YAML), str(path))


def parse_alternatives(raw: Any, where: str) -> list[Alternative]:
    """The alternatives of a parsed YAML document, with a one-line error for each misfit."""
    got = "nothing" if raw is None else type(raw).__name__
    return parse_named_list(
        raw,
        where,
        kind="alternative",
        empty=f"expected a non-empty YAML list of alternatives, got {got}; write entries such as: {EXAMPLE}",
        parse_entry=_parse_entry,
        name_of=lambda a: a.name,
        error=AlternativesError,
        reuse_fix="; give each alternative its own name",
    )


def _parse_entry(entry: Any, where: str) -> Alternative:
    name = entry_name(entry, where, KEYS, AlternativesError, " (such as loops-and-lists)")
    where = f"{where} ({name})"
    why = entry.get("why")
    if not isinstance(why, str) or not why.strip():
        raise AlternativesError(f"{where}: `why` must say in a sentence how it differs from the solution")
    answers = parse_answers(entry.get("answers", {}), where, AlternativesError)
    extras = parse_extra_cells(entry.get("extra_cells", []), where, AlternativesError)
    if not answers and not extras:
        raise AlternativesError(
            f"{where}: it changes nothing; give `answers` (answer grade_id -> cell source) or `extra_cells`"
        )
    return Alternative(name, why.strip(), answers, extras)


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
