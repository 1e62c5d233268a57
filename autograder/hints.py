"""Tiered hints for the exercises, as Kaggle Learn gives them: a first nudge, then more.

In a notebook, under every exercise, a cell of comments offers::

    # hint("normal-equation")      # a gentle first hint
    # hint("normal-equation", 2)   # a more specific one

The hints of an assignment live in one ``hints.yaml`` next to its notebooks
(``solutions/<assignment>/hints.yaml``; ``autograder release`` copies it into
``curriculum/<assignment>/`` with the notebooks, and ``autograder start`` into a
learner's workspace)::

    # <notebook stem>: {<exercise id>: [first hint, second hint]}
    04-linear-regression:
      normal-equation: ["...", "..."]

An exercise id is short and stable: the answer cell's ``grade_id`` without its
``-solution`` suffix. ``hint("normal-equation")`` finds the id in whichever notebook of
the assignment has it; when two notebooks share an id, the notebook a JupyterLab kernel
belongs to wins, and ``hint("04-linear-regression:normal-equation")`` names it outright.

A hint is text an instructor wrote for learners, so it may be read in full by anyone
with the release: it never holds a solution, nor anything of the hidden tests
(``tests/test_hints.py`` checks that no solution or hidden-test line is in the file).

Under the grader (``AUTOGRADER_COLLECT=1``, or ``nbgrader autograde``) ``hint`` does
nothing at all: a hint call a learner left in their notebook must not cost a graded run
anything, not even a typo in an exercise id.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Any

from .errors import AutograderError

HINTS_FILE = "hints.yaml"
COLLECT_ENV = "AUTOGRADER_COLLECT"  # the same switch as in checks.py: set by our grader


class HintError(AutograderError, LookupError):
    """A hint that cannot be shown; the message names the input and the fix."""


Hints = dict[str, dict[str, list[str]]]
"""notebook stem -> exercise id -> hints, from the gentlest to the most specific."""


def hint(exercise: str, level: int = 1) -> None:
    """Show hint ``level`` (1: a first, gentle one; 2: a more specific one) for ``exercise``.

    ``exercise`` is an id such as ``"normal-equation"``, or ``"<notebook>:<id>"`` when
    two notebooks of the assignment use the same id. Raises :class:`HintError` with what
    to do instead for an unknown exercise, a level out of range or a missing hints file.
    """
    if _under_grader():
        return
    path = find_hints_file()
    if path is None:
        raise HintError(
            f"no {HINTS_FILE} in {Path.cwd()} or the folders above it. Hints ship with each "
            f"assignment, next to its notebooks: run `autograder start <assignment> --learner <you>` "
            f"again (it copies missing files and never overwrites your work), or copy "
            f"curriculum/<assignment>/{HINTS_FILE} into this folder"
        )
    _, exercise_id, texts = lookup(load_hints(path), exercise, current=_current_notebook())
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= len(texts):
        raise HintError(
            f"hint level {level!r} for {exercise!r} is out of range: use 1 (a first hint) up to "
            f"{len(texts)} (the most specific), e.g. hint({exercise!r}, {len(texts)})"
        )
    _show(exercise, exercise_id, level, len(texts), texts[level - 1])


def find_hints_file(start: Path | None = None) -> Path | None:
    """``hints.yaml`` in ``start`` (the working directory) or the nearest folder above it.

    The search stops at a course directory (the folder with ``jupyter_config.py``) and at
    the home directory, so it never picks up an unrelated file further up.
    """
    here = (start or Path.cwd()).resolve()
    home = Path.home().resolve()
    for folder in (here, *here.parents):
        candidate = folder / HINTS_FILE
        if candidate.is_file():
            return candidate
        if folder == home or (folder / "jupyter_config.py").is_file():
            return None
    return None


def load_hints(path: Path) -> Hints:
    """Read and check a hints file; every mistake names the file and the key."""
    import yaml  # only when a hint is asked for: notebooks import this module at start-up

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise HintError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise HintError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not raw:
        raise HintError(
            f"{path}: expected a mapping of notebook names to exercises, got {type(raw).__name__}"
        )
    hints: Hints = {}
    for notebook, exercises in raw.items():
        if not isinstance(notebook, str) or not isinstance(exercises, dict) or not exercises:
            raise HintError(f"{path}: {notebook}: expected a mapping of exercise ids to lists of hints")
        hints[notebook] = {}
        for exercise_id, texts in exercises.items():
            key = f"{notebook}.{exercise_id}"
            if not isinstance(exercise_id, str) or ":" in exercise_id:
                raise HintError(f"{path}: {key}: an exercise id is a string without ':'")
            if (
                not isinstance(texts, list)
                or not texts
                or not all(isinstance(t, str) and t.strip() for t in texts)
            ):
                raise HintError(f"{path}: {key}: expected a list of non-empty hint strings")
            hints[notebook][exercise_id] = [t.strip() for t in texts]
    return hints


def lookup(hints: Hints, exercise: Any, current: str | None = None) -> tuple[str, str, list[str]]:
    """(notebook, exercise id, hints) for ``exercise``, an id or ``notebook:id``."""
    if not isinstance(exercise, str) or not exercise.strip():
        raise HintError(
            f"hint() needs an exercise id as a string, such as 'normal-equation'; got {exercise!r}"
        )
    name = exercise.strip()
    if ":" in name:
        notebook, _, exercise_id = name.partition(":")
        notebook = notebook.removesuffix(".ipynb")
        if notebook in hints and exercise_id in hints[notebook]:
            return notebook, exercise_id, hints[notebook][exercise_id]
        raise HintError(_unknown(hints, name))
    owners = [nb for nb, exercises in hints.items() if name in exercises]
    if len(owners) == 1:
        return owners[0], name, hints[owners[0]][name]
    if current is not None and current in owners:
        return current, name, hints[current][name]
    if owners:
        qualified = ", ".join(f"hint({f'{nb}:{name}'!r})" for nb in owners)
        raise HintError(f"{name!r} is an exercise of several notebooks; name the one you mean: {qualified}")
    raise HintError(_unknown(hints, name))


def exercise_names(hints: Hints) -> list[str]:
    """What ``hint`` accepts: each id alone where it is unique, else ``notebook:id``."""
    counts: dict[str, int] = {}
    for exercises in hints.values():
        for exercise_id in exercises:
            counts[exercise_id] = counts.get(exercise_id, 0) + 1
    return [
        exercise_id if counts[exercise_id] == 1 else f"{notebook}:{exercise_id}"
        for notebook, exercises in hints.items()
        for exercise_id in exercises
    ]


def _unknown(hints: Hints, name: str) -> str:
    known = exercise_names(hints)
    close = difflib.get_close_matches(name, known, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    return f"no hints for an exercise {name!r}.{suggestion} The exercises with hints are: {', '.join(known)}"


def _under_grader() -> bool:
    return os.environ.get(COLLECT_ENV) == "1" or os.environ.get("NBGRADER_EXECUTION") == "autograde"


def _current_notebook() -> str | None:
    """The stem of the notebook this kernel serves, where the front end says (JupyterLab, VS Code)."""
    main = sys.modules.get("__main__")
    for variable in ("__session__", "__vsc_ipynb_file__"):
        value = getattr(main, variable, None)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return Path(value).stem
    return None


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show(asked: str, exercise_id: str, level: int, levels: int, text: str) -> None:
    more = (
        f"Still stuck? `hint({asked!r}, {level + 1})` is more specific."
        if level < levels
        else "That was the most specific hint: reread the prompt's example, then print the shapes and "
        "values your code produces, step by step."
    )
    if _in_kernel():
        from IPython.display import Markdown, display

        shown = f"**Hint {level} of {levels} · `{exercise_id}`**\n\n{text}\n\n*{more}*"
        display(Markdown(shown))  # type: ignore[no-untyped-call]  # IPython.display is untyped
    else:
        print(f"Hint {level} of {levels} ({exercise_id}): {text}\n{more}")
