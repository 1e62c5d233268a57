"""Tiered hints and nbgrader's Validate button, on every notebook of the real curriculum.

* Every exercise (every answer cell) is followed by an ordinary cell offering
  ``hint("<id>")`` and ``hint("<id>", 2)``, and ``hints.yaml`` has two non-empty hints
  for each; nothing in the hints file comes from a solution or a hidden test.
* ``hint`` shows both levels in a real kernel, and its errors name the input and the fix.
* ``hints.yaml`` ships: ``autograder release`` puts it in ``curriculum/<assignment>/``,
  ``autograder start`` puts it in a learner's workspace.
* nbgrader's validator (what JupyterLab's Validate button runs, through the
  ``validate_assignment`` server extension) completes on every untouched release
  notebook and reports every graded cell as failing, and passes the release once the
  solutions are typed in.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.validate import _public_text, _region_lines
from autograder.hints import HINTS_FILE, HintError, hint, load_hints, lookup
from tests.conftest import TINY, make_course

REPO = Path(__file__).resolve().parent.parent
CURRICULUM = load_curriculum(REPO)
ASSIGNMENTS = [a for a in CURRICULUM.assignments() if not CURRICULUM.phase(a.phase_id).planned]
NOTEBOOKS = [(a.id, spec.name) for a in ASSIGNMENTS for spec in a.notebooks]
NOTEBOOK_IDS = [f"{a}/{nb}" for a, nb in NOTEBOOKS]

HINT_CALL = re.compile(r'^# hint\("([^"]+)"\)$')
HINT_CALL_2 = re.compile(r'^# hint\("([^"]+)", 2\)$')
# The speed benchmark's notebooks are frozen apart from their hint cells; some of their
# visible messages give the fix without a "Hint:" label. Every other notebook labels it.
FROZEN = {"01-python-numpy", "04-linear-regression"}


def source(assignment: str, notebook: str) -> NotebookNode:
    return nbformat.read(str(REPO / "solutions" / assignment / f"{notebook}.ipynb"), as_version=4)


def release(assignment: str, notebook: str) -> NotebookNode:
    return nbformat.read(str(REPO / "curriculum" / assignment / f"{notebook}.ipynb"), as_version=4)


def nbgrader_meta(cell: NotebookNode) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def hint_cell_name(cell: NotebookNode) -> str | None:
    """The exercise a hint cell offers, or None when ``cell`` is not one."""
    if cell.cell_type != "code":
        return None
    lines = cell.source.strip().splitlines()
    if len(lines) != 3 or not lines[0].startswith("# Stuck?"):
        return None
    first, second = HINT_CALL.match(lines[1]), HINT_CALL_2.match(lines[2])
    if not first or not second or first.group(1) != second.group(1):
        return None
    return first.group(1)


# --- the hint cells and the hints file --------------------------------------------------


@pytest.mark.parametrize(("assignment", "notebook"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_every_exercise_offers_two_hints(assignment, notebook):
    hints = load_hints(REPO / "solutions" / assignment / HINTS_FILE)
    both = ((source(assignment, notebook), "solutions"), (release(assignment, notebook), "curriculum"))
    for nb, where in both:
        label = f"{where}/{assignment}/{notebook}.ipynb"
        setup = [c for c in nb.cells if "from autograder.checks import check" in c.source]
        assert setup and "from autograder.hints import hint" in setup[0].source, (
            f"{label}: the setup cell should import hint next to check"
        )
        offered = []
        for i, cell in enumerate(nb.cells):
            name = hint_cell_name(cell)
            if name is not None:
                # an ordinary cell: not graded, not locked, only comments
                assert not any(nbgrader_meta(cell).get(k) for k in ("grade", "solution", "locked")), (
                    f"{label}: hint cell {cell.get('id')} should be an ordinary, unlocked cell"
                )
                assert all(line.startswith("#") for line in cell.source.strip().splitlines())
                offered.append(name)
            if not nbgrader_meta(cell).get("solution"):
                continue
            after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
            exercise = nbgrader_meta(cell)["grade_id"].removesuffix("-solution")
            assert after is not None and hint_cell_name(after) in (exercise, f"{notebook}:{exercise}"), (
                f"{label}: answer cell {cell.get('id')} should be followed by a hint cell for {exercise!r}"
            )
        for name in offered:
            owner, exercise_id, texts = lookup(hints, name)
            assert owner == notebook, f"{label}: hint({name!r}) finds {owner}, not this notebook"
            assert len(texts) == 2 and all(len(t.split()) >= 8 for t in texts), (
                f"{label}: {exercise_id} needs a first and a second hint, each a real sentence or more"
            )
            assert texts[0] != texts[1]
        assert set(hints[notebook]) == {name.rpartition(":")[2] for name in offered}, (
            f"{HINTS_FILE}: the exercises of {notebook} and its hint cells disagree"
        )
        ids = [c.get("id") for c in nb.cells]
        assert len(ids) == len(set(ids)) and None not in ids, f"{label}: cell ids must be unique and set"


@pytest.mark.parametrize("assignment", [a.id for a in ASSIGNMENTS])
def test_the_hints_file_names_real_notebooks_and_ships_with_the_release(assignment):
    path = REPO / "solutions" / assignment / HINTS_FILE
    hints = load_hints(path)
    assert set(hints) == {spec.name for spec in CURRICULUM.assignment(assignment).notebooks}
    shipped = REPO / "curriculum" / assignment / HINTS_FILE
    assert shipped.is_file(), f"{shipped} is missing; run: autograder release"
    assert shipped.read_bytes() == path.read_bytes(), f"{shipped} is out of date; run: autograder release"


@pytest.mark.parametrize("assignment", [a.id for a in ASSIGNMENTS])
def test_hints_leak_no_solution_and_no_hidden_test(assignment):
    """No line of a solution or hidden-test region is in the hints file, spaces aside.

    A line the author also shows outside those regions (in a prompt, a visible test) is
    public, as in ``autograder check``'s leak check.
    """
    text = (REPO / "solutions" / assignment / HINTS_FILE).read_text()

    def squeezed(s: str) -> str:
        return re.sub(r"\s+", "", s)

    flat = squeezed(text)
    leaks = []
    every_public = ""
    for spec in CURRICULUM.assignment(assignment).notebooks:
        nb = source(assignment, spec.name)
        public = "\n".join(_public_text(c.source) for c in nb.cells)
        every_public += public
        for cell in nb.cells:
            secret = _region_lines(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
            secret += _region_lines(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
            leaks += [(spec.name, cell.get("id"), line) for line in secret if line not in public]
    leaks = [leak for leak in leaks if squeezed(leak[2]) in flat]
    assert leaks == []
    for marker in ("### BEGIN", "### END"):
        assert marker not in text
    hidden = REPO / "hidden" / assignment
    for secret_file in sorted(p for p in hidden.rglob("*") if p.is_file()) if hidden.is_dir() else []:
        judged = "suites" in secret_file.relative_to(hidden).parts  # the graders' suites
        assert judged or secret_file.name not in text  # a suite's file names (README.md) may be common
        lines = secret_file.read_bytes().decode("utf-8", "replace").splitlines()[1:]
        rows = [row for row in lines if len(row.strip()) > 8 and row.strip() not in every_public]
        assert not [row for row in rows if row.strip() in text], secret_file


@pytest.mark.parametrize(("assignment", "notebook"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_visible_test_messages_say_what_is_wrong_and_hint(assignment, notebook):
    nb = source(assignment, notebook)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        visible = _public_text(cell.source)
        for node in ast.walk(ast.parse(visible)):
            if not isinstance(node, ast.Assert):
                continue
            where = f"{notebook}: cell {cell.get('id')}, line {node.lineno}"
            assert node.msg is not None, f"{where}: an assert without a message"
            message = ast.get_source_segment(visible, node.msg) or ""
            assert len(message) > 25, f"{where}: the message says too little: {message}"
            if notebook not in FROZEN:
                assert "Hint" in message, f"{where}: the message gives no hint: {message}"


# --- hint() itself ----------------------------------------------------------------------


@pytest.fixture
def phase1(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_COLLECT", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.chdir(REPO / "curriculum" / "phase1-foundations")
    return load_hints(REPO / "curriculum" / "phase1-foundations" / HINTS_FILE)


def test_hint_prints_each_level_outside_a_kernel(phase1, capsys):
    first, second = phase1["04-linear-regression"]["normal-equation"]
    hint("normal-equation")
    out = capsys.readouterr().out
    assert "Hint 1 of 2 (normal-equation)" in out and first in out and second not in out
    assert "hint('normal-equation', 2)" in out  # where to go next
    hint("04-linear-regression:normal-equation", 2)
    out = capsys.readouterr().out
    assert "Hint 2 of 2" in out and second in out


def test_an_unknown_exercise_lists_the_known_ones(phase1):
    with pytest.raises(HintError) as info:
        hint("normal-equations")
    message = str(info.value)
    assert "'normal-equations'" in message and "Did you mean 'normal-equation'?" in message
    assert "count-tokens" in message and "sklearn-check" in message  # the known ones
    with pytest.raises(HintError, match="no hints for an exercise '02-pandas:normal-equation'"):
        hint("02-pandas:normal-equation")
    with pytest.raises(HintError, match="needs an exercise id as a string"):
        hint(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", [0, 3, -1, "2", True, 1.0])
def test_a_level_out_of_range_says_which_levels_exist(phase1, level):
    with pytest.raises(HintError, match=r"out of range: use 1 \(a first hint\) up to 2"):
        hint("rmse", level)  # type: ignore[arg-type]


def test_a_missing_hints_file_says_how_to_get_it_back(monkeypatch, tmp_path):
    monkeypatch.delenv("AUTOGRADER_COLLECT", raising=False)
    (tmp_path / "jupyter_config.py").write_text("")  # a course directory: the search stops here
    workspace = tmp_path / "ws" / "phase1-foundations"
    workspace.mkdir(parents=True)
    monkeypatch.chdir(workspace)
    with pytest.raises(HintError) as info:
        hint("rmse")
    message = str(info.value)
    assert str(workspace) in message and "autograder start" in message and HINTS_FILE in message


def test_the_file_is_found_in_a_parent_folder(phase1, monkeypatch, tmp_path, capsys):
    sub = tmp_path / "phase1-foundations" / "scratch"
    sub.mkdir(parents=True)
    shutil.copy(REPO / "curriculum" / "phase1-foundations" / HINTS_FILE, sub.parent / HINTS_FILE)
    monkeypatch.chdir(sub)
    hint("rmse")
    assert phase1["04-linear-regression"]["rmse"][0] in capsys.readouterr().out


def test_an_id_of_two_notebooks_needs_the_notebook_unless_the_kernel_knows_it(monkeypatch, capsys):
    monkeypatch.delenv("AUTOGRADER_COLLECT", raising=False)
    monkeypatch.chdir(REPO / "curriculum" / "phase2-ml-dl")
    phase2 = load_hints(Path(HINTS_FILE))
    with pytest.raises(HintError) as info:
        hint("save-load")
    assert "hint('02-pytorch:save-load')" in str(info.value)
    assert "hint('03-keras:save-load')" in str(info.value)
    # JupyterLab tells the kernel its notebook in __session__: then the short id is enough
    monkeypatch.setattr(sys.modules["__main__"], "__session__", "work/03-keras.ipynb", raising=False)
    hint("save-load", 2)
    assert phase2["03-keras"]["save-load"][1] in capsys.readouterr().out


def test_hint_does_nothing_under_the_grader(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # no hints file anywhere near
    monkeypatch.setenv("AUTOGRADER_COLLECT", "1")
    hint("no-such-exercise", 7)
    monkeypatch.delenv("AUTOGRADER_COLLECT")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    hint("no-such-exercise", 7)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: [\n", "not valid YAML"),
        ("- just a list\n", "expected a mapping of notebook names"),
        ("01-x:\n  ex: first and only as a string\n", "01-x.ex: expected a list of non-empty hint strings"),
        ("01-x:\n  ex: ['', 'second']\n", "01-x.ex: expected a list of non-empty hint strings"),
        ("01-x:\n  'a:b': [one, two]\n", "an exercise id is a string without ':'"),
    ],
)
def test_a_malformed_hints_file_names_the_file_and_the_key(tmp_path, text, problem):
    path = tmp_path / HINTS_FILE
    path.write_text(text)
    with pytest.raises(HintError) as info:
        load_hints(path)
    assert str(path) in str(info.value) and problem in str(info.value)


@pytest.mark.slow
def test_hint_shows_markdown_in_a_real_kernel_in_the_release_folder():
    from nbclient import NotebookClient

    folder = REPO / "curriculum" / "phase1-foundations"
    first, second = load_hints(folder / HINTS_FILE)["04-linear-regression"]["normal-equation"]
    nb = new_notebook(
        cells=[
            new_code_cell("from autograder.hints import hint"),
            new_code_cell('hint("normal-equation")'),
            new_code_cell('hint("04-linear-regression:normal-equation", 2)'),
            new_code_cell('hint("normal-equaton")'),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(folder)}})
    client.execute()

    def markdown(cell: NotebookNode) -> str:
        return "".join(o.get("data", {}).get("text/markdown", "") for o in cell.outputs)

    assert "**Hint 1 of 2 · `normal-equation`**" in markdown(nb.cells[1])
    assert first in markdown(nb.cells[1]) and second not in markdown(nb.cells[1])
    assert "**Hint 2 of 2" in markdown(nb.cells[2]) and second in markdown(nb.cells[2])
    errors = [o for o in nb.cells[3].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "HintError"
    assert "Did you mean 'normal-equation'?" in errors[0].evalue
    assert not any(o.output_type == "error" for c in nb.cells[:3] for o in c.outputs)


@pytest.mark.slow
def test_release_ships_the_hints_file_and_start_copies_it(tmp_path):
    from autograder.cli import main

    root = make_course(tmp_path / "course")
    text = "01-tiny:\n  mean: [Average all the values of x., Try np.mean of the array you receive.]\n"
    (root / "solutions" / TINY / HINTS_FILE).write_text(text)
    assert main(["--course", str(root), "release"]) == 0
    assert (root / "curriculum" / TINY / HINTS_FILE).read_text() == text
    assert main(["--course", str(root), "start", TINY, "--learner", "ada"]) == 0
    workspace = load_settings(root).workspaces_dir / "ada" / TINY
    assert (workspace / HINTS_FILE).read_text() == text
    assert (workspace / "01-tiny.ipynb").is_file()


# --- nbgrader's Validate button ----------------------------------------------------------


def _graded_sources(nb: NotebookNode) -> set[str]:
    return {c.source.strip() for c in nb.cells if nbgrader_meta(c).get("grade")}


def _typed_in_solutions(assignment: str, notebook: str, nb: NotebookNode) -> NotebookNode:
    """The release with every answer cell holding the solution, as a learner would type it."""
    answers = {}
    for cell in source(assignment, notebook).cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if "### BEGIN SOLUTION" not in line]
            answers[meta["grade_id"]] = "\n".join(line for line in lines if "### END SOLUTION" not in line)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "notebook"), NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_validate_reports_failures_on_the_release_and_passes_the_solutions(
    assignment, notebook, tmp_path, monkeypatch
):
    """What JupyterLab's Validate button runs (nbgrader's ``Validator``), on a copy of the release."""
    from nbgrader.validator import Validator

    for variable in ("AUTOGRADER_COLLECT", "AUTOGRADER_STATE"):  # a learner's own JupyterLab
        monkeypatch.delenv(variable, raising=False)
    folder = tmp_path / assignment
    shutil.copytree(REPO / "curriculum" / assignment, folder)  # notebooks write files (models)
    path = folder / f"{notebook}.ipynb"
    config = load_settings(REPO).config  # the course's jupyter_config.py, as the server extension loads it
    untouched = nbformat.read(str(path), as_version=4)

    results = Validator(config=config).validate(str(path))
    assert set(results) == {"failed"}, f"the validator reported {sorted(results)} on the untouched release"
    failed = {entry["source"] for entry in results["failed"]}
    assert failed == _graded_sources(untouched), "every graded cell must fail before the learner answers"
    assert all(entry["raw_error"].strip() for entry in results["failed"])

    nbformat.write(_typed_in_solutions(assignment, notebook, untouched), str(path))
    results = Validator(config=config).validate(str(path))
    failures = [entry.get("raw_error", "")[-500:] for entry in results.get("failed", [])]
    assert results == {}, f"the solutions do not validate: {sorted(results)} {failures}"
