"""Known mistakes: short variants of a solution that make one typical error, and what a mentor says.

A notebook's misconceptions live next to its source, in a folder nbgrader never releases
(``c.CourseDirectory.ignore`` lists ``misconceptions``)::

    solutions/<assignment>/misconceptions/<notebook stem>.yaml

    - name: sample-std                  # unique in the file, [a-z0-9-]
      exercise: standardize-tests       # the test cell whose failure it explains
      answers:                          # answer cell grade_id -> the whole cell, as typed by
        standardize-solution: |         # a learner who makes this mistake
          def standardize(X):
              ...
      message: >-                       # what a mentor would say; never the expected value
        You divided by the sample standard deviation (ddof=1) ...
      see: "the worked example: standardising one column"   # where the right way is shown
      origin: >-                        # where the mistake comes from (forums, texts, submissions)
        pandas' .std() defaults to ddof=1 and NumPy's to ddof=0 ...
      extra_cells: []                   # optional, as in alternatives

The grader runs a misconception as it runs the solution: the source notebook with those
answer cells replaced, under the learner's parameters, on the trusted side
(``grading/misconceptions.py``). Everything here is pure, so it is unit-tested fast.
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

MISCONCEPTIONS_DIR = "misconceptions"
KEYS = ("name", "exercise", "answers", "message", "see", "origin", "extra_cells")
REQUIRED_TEXT = ("message", "see", "origin")
EXAMPLE = "- {name: sample-std, exercise: <test cell grade_id>, answers: {...}, message, see, origin}"


class MisconceptionsError(AutograderError, ValueError):
    """A malformed misconceptions file; the one-line message names the file and the fix."""


@dataclass(frozen=True)
class Misconception:
    name: str
    exercise: str
    """The test cell (grade_id) whose failure this mistake explains."""
    answers: dict[str, str]
    message: str
    see: str
    origin: str
    extra_cells: tuple[ExtraCell, ...] = ()

    @property
    def advice(self) -> str:
        """What the learner reads: the mentor's message and where the right way is shown."""
        return f"{self.message} See {self.see}."


def misconceptions_path(source_dir: Path, notebook: str) -> Path:
    return source_dir / MISCONCEPTIONS_DIR / f"{notebook}.yaml"


def load_misconceptions(path: Path) -> list[Misconception]:
    """The notebook's misconceptions ([] when it has no file); a malformed file raises one line."""
    if not path.exists():
        return []
    fix = "write each cell source as a block (`key: |`)"
    return parse_misconceptions(read_yaml(path, MisconceptionsError, fix), str(path))


def parse_misconceptions(raw: Any, where: str) -> list[Misconception]:
    return parse_named_list(
        raw,
        where,
        kind="misconception",
        empty=f"expected a non-empty YAML list of misconceptions, such as: {EXAMPLE}",
        parse_entry=_parse_entry,
        name_of=lambda m: m.name,
        error=MisconceptionsError,
    )


def _parse_entry(entry: Any, where: str) -> Misconception:
    name = entry_name(entry, where, KEYS, MisconceptionsError, "")
    where = f"{where} ({name})"
    exercise = entry.get("exercise")
    if not isinstance(exercise, str) or not exercise.strip():
        raise MisconceptionsError(
            f"{where}: `exercise` must name the test cell (its grade_id) the mistake fails"
        )
    texts = {}
    for key in REQUIRED_TEXT:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise MisconceptionsError(f"{where}: `{key}` must be text: {_WHY[key]}")
        texts[key] = " ".join(value.split()).rstrip(".")
    answers = parse_answers(entry.get("answers", {}), where, MisconceptionsError)
    extras = parse_extra_cells(entry.get("extra_cells", []), where, MisconceptionsError)
    if not answers and not extras:
        raise MisconceptionsError(
            f"{where}: it changes nothing; give `answers` (answer grade_id -> cell source)"
        )
    return Misconception(
        name, exercise.strip(), answers, texts["message"] + ".", texts["see"], texts["origin"] + ".", extras
    )


_WHY = {
    "message": "what a mentor would say about this mistake (never the expected value)",
    "see": "where the notebook shows the right way (a worked example's heading)",
    "origin": "where the mistake comes from: our graded submissions, a course forum, a textbook",
}


def target_problems(items: list[Misconception], source: NotebookNode) -> list[str]:
    """``NAME: what is wrong`` for each cell a misconception names that the notebook lacks."""
    meta = [(c.get("metadata", {}).get("nbgrader", {}), c) for c in source.cells]
    answers = [m["grade_id"] for m, _ in meta if m.get("solution") and m.get("grade_id")]
    tests = [m["grade_id"] for m, _ in meta if m.get("grade") and not m.get("solution") and m.get("grade_id")]
    anchors = {str(_grade_id(c)) for c in source.cells if _grade_id(c)} | {
        str(c.get("id")) for c in source.cells
    }
    problems = []
    for item in items:
        if item.exercise not in tests:
            problems.append(
                f"{item.name}: exercise {item.exercise!r} is not a test cell; they are {', '.join(tests)}"
            )
        problems += [
            f"{item.name}: answers names {g!r}, not an answer cell; they are {', '.join(answers)}"
            for g in item.answers
            if g not in answers
        ]
        problems += [
            f"{item.name}: extra_cells goes after {e.after!r}, not a grade_id or cell id of the notebook"
            for e in item.extra_cells
            if e.after not in anchors
        ]
    return problems


def variant_notebook(source: NotebookNode, item: Misconception) -> NotebookNode:
    """The solution notebook with the misconception's answer cells, up to its exercise's test cell.

    Hidden tests are kept (it runs trusted). What follows the exercise is left out: only the
    exercise's checks are ever matched against the misconception, and the rest would cost
    time in every run (a later exercise may train a network).
    """
    nb: NotebookNode = nbformat.from_dict(copy.deepcopy(source))  # type: ignore[no-untyped-call]
    ids = [_grade_id(c) for c in nb.cells]
    if item.exercise in ids:
        nb.cells = nb.cells[: ids.index(item.exercise) + 1]
    cells = []
    for index, cell in enumerate(nb.cells):
        grade_id = _grade_id(cell)
        if grade_id in item.answers and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = item.answers[grade_id]
        cells.append(cell)
        for number, extra in enumerate(item.extra_cells):
            if extra.after in (grade_id, cell.get("id")):
                extra_id = f"{item.name[:40]}-mistake-{index}-{number}"
                cells.append(new_code_cell(extra.source, id=extra_id))  # type: ignore[no-untyped-call]
    nb.cells = cells
    return nb


def source_fingerprint(item: Misconception) -> str:
    """The text a cached run of this misconception depends on (its answers and extra cells)."""
    import json

    return json.dumps(
        {"answers": item.answers, "extra": [(e.after, e.source) for e in item.extra_cells]}, sort_keys=True
    )
