"""Check reports a hostile kernel forges, against validation, comparison and scoring.

Issue 12, items 1 and 2: a report is JSON that learner code can shape at will (it can
call ``display`` with our MIME type itself). Whatever it sends, ``compare``,
``collect_reports`` and ``score_run`` must answer with a failed check and a reason a
learner can read, never an exception, and a report must fit its declared shape in
full before anything compares it. The property test draws thousands of values with a
seeded generator (no hypothesis), encodes honest ones, mutates them and makes junk.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest

from autograder.checks import MIME_TYPE
from autograder.compare import MAX_REASON, Outcome, compare
from autograder.encode import MAX_DEPTH, MAX_ITEMS, encode
from autograder.grading.grade import score_run
from autograder.grading.reference import Reference
from autograder.grading.reports import collect_reports
from autograder.run.outcome import ExecutedNotebook, RunOutcome

CLOSE = {"kind": "close", "atol": 1e-6, "rtol": 1e-6, "exact_type": False}
EXACT = {**CLOSE, "exact_type": True}
METRIC = {"kind": "metric", "metric": "accuracy", "threshold": 0.5}
SPECS = (CLOSE, EXACT, METRIC)
MALFORMED = "the reported value is malformed: "
LONE_SURROGATE = "x\ud800y"


# --- notebooks, outputs and references built by hand, as the grader sees them -------------


def display_output(payload: Any) -> dict[str, Any]:
    return {"output_type": "display_data", "data": {MIME_TYPE: payload, "text/plain": "•"}, "metadata": {}}


def graded_notebook(outputs: dict[str, list[Any]]) -> nbformat.NotebookNode:
    """A notebook whose grade cells (grade_id -> outputs) have run and shown ``outputs``.

    The outputs stay plain JSON data, as deep as a forger made them (nbformat's own
    conversion would recurse through them).
    """
    cells = []
    for grade_id, cell_outputs in outputs.items():
        meta = {"grade": True, "solution": False, "grade_id": grade_id, "points": 1}
        cell = nbformat.v4.new_code_cell("", id=grade_id, execution_count=1)
        cell.metadata = nbformat.from_dict({"nbgrader": meta})
        cell.outputs = cell_outputs
        cells.append(cell)
    return nbformat.NotebookNode(cells=cells, metadata=nbformat.NotebookNode(), nbformat=4, nbformat_minor=5)


def reference(checks: dict[str, dict[str, dict[str, Any]]]) -> Reference:
    """A reference whose cells (grade_id -> {check name -> entry}) are worth one point each."""
    cells = {grade_id: {"points": 1.0, "checks": entries} for grade_id, entries in checks.items()}
    return Reference("a", "nb", {}, "sha", 0.0, cells)


def score(ref: Reference, nb: nbformat.NotebookNode):
    return score_run(ref, ExecutedNotebook(nb, {}, RunOutcome()))


def storable(text: str) -> None:
    """What the grader writes to evidence and feedback must be valid UTF-8 JSON."""
    json.dumps(text, ensure_ascii=False).encode("utf-8")


# --- random honest values ------------------------------------------------------------------

FLOATS = [0.0, -0.0, 1.5, -2.25, 1e308, 5e-324, math.nan, math.inf, -math.inf, 1 / 3]
INTS = [0, 1, -7, 2**62, 2**70, -(2**80)]
TEXTS = ["", "a", "déjà vu", "数据", "🙂", LONE_SURROGATE, "\x00\n", "nan"]


def random_array(rng: random.Random) -> np.ndarray:
    shape = rng.choice([(), (0,), (1,), (4,), (2, 3), (0, 2), (2, 1, 2)])
    size = int(np.prod(shape))
    kind = rng.choice(["bool", "int", "uint", "float32", "float", "str", "object"])
    if kind == "bool":
        data: Any = [rng.random() < 0.5 for _ in range(size)]
    elif kind in ("int", "uint"):
        data = [rng.randrange(0, 2**40) for _ in range(size)]
    elif kind in ("float32", "float"):
        data = [rng.choice(FLOATS[:4] + FLOATS[6:]) for _ in range(size)]
    elif kind == "str":
        data = [rng.choice(TEXTS) for _ in range(size)]
    else:
        data = [random_value(rng, 3) for _ in range(size)]
    dtype = {"uint": np.uint64, "float32": np.float32, "object": object}.get(kind, kind)
    if kind == "object":
        array = np.empty(size, dtype=object)
        array[:] = data if size else []
        return array.reshape(shape)
    return np.array(data, dtype=dtype).reshape(shape)


def random_frame(rng: random.Random) -> pd.DataFrame:
    n = rng.randrange(0, 4)
    columns = {
        "n": pd.array([rng.randrange(-5, 5) for _ in range(n)], dtype=rng.choice(["int64", "Int64"])),
        "x": [rng.choice([0.5, np.nan, -1.0]) for _ in range(n)],
        "s": [rng.choice(["p", "q", None]) for _ in range(n)],
        "b": pd.array([rng.random() < 0.5 for _ in range(n)], dtype=rng.choice(["bool", "boolean"])),
    }
    frame = pd.DataFrame(columns, index=rng.choice([None, [f"r{i}" for i in range(n)]]))
    if rng.random() < 0.2:
        frame.columns = ["n", "n", 3, 4.5]  # repeated and numeric column names
    return frame


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A value a learner might pass to ``check``, nested at most a few levels."""
    kinds = ["none", "bool", "int", "float", "str", "npscalar"]
    if depth < 3:
        kinds += ["list", "tuple", "dict", "set", "array", "array", "series", "frame", "unsupported"]
    kind = rng.choice(kinds)
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "int":
        return rng.choice(INTS)
    if kind == "float":
        return rng.choice(FLOATS)
    if kind == "str":
        return rng.choice(TEXTS)
    if kind == "npscalar":
        return rng.choice([np.float32(0.25), np.int8(-3), np.bool_(True), np.str_("z"), np.uint64(2**63)])
    if kind in ("list", "tuple"):
        items = [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {rng.choice([*TEXTS, *INTS]): random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}
    if kind == "set":
        return {rng.choice([1, 2, 3.5, "k", None]) for _ in range(rng.randrange(0, 4))}
    if kind == "array":
        return random_array(rng)
    if kind == "series":
        values = random_array(rng).ravel()
        index = rng.choice([None, [f"i{j}" for j in range(len(values))]])
        return pd.Series(values, index=index, name=rng.choice([None, "s", 3]))
    if kind == "frame":
        return random_frame(rng)
    return object()


def reportable(encoded: Any) -> bool:
    """False for values that no check can pass (refused or unsupported types)."""
    text = json.dumps(encoded)
    return '"type": "unsupported"' not in text and '"type": "too_large"' not in text


def test_every_value_the_encoder_makes_is_valid_and_equals_itself():
    from autograder.report_schema import value_problem

    rng = random.Random(1201)
    for _ in range(1500):
        encoded = encode(random_value(rng))
        assert value_problem(encoded) is None, (encoded, value_problem(encoded))
        storable(json.dumps(encoded, ensure_ascii=False))
        round_trip = json.loads(json.dumps(encoded))  # as the grader reads it back from a notebook
        for spec in (CLOSE, EXACT):
            outcome = compare(round_trip, encoded, spec)
            assert outcome.passed is reportable(encoded), (encoded, outcome)


# --- item 2: a report must fit its declared shape -------------------------------------------

OBJECT_COLUMN = pd.DataFrame({"s": ["p", "q", "r"], "x": [1.0, 2.0, 3.0]})


def _short(encoded: dict[str, Any], *path: Any) -> dict[str, Any]:
    """``encoded`` with the data list at ``path`` cut to one entry; the shape left as it was."""
    forged = copy.deepcopy(encoded)
    node = forged
    for key in path:
        node = node[key]
    node["data"] = node["data"][:1]
    return forged


SHORT_REPORTS = {
    "object array": (np.array(["p", 1, None], dtype=object), ()),
    "str array": (np.array(["p", "q", "r"]), ()),
    "series values": (pd.Series(["p", "q", "r"]), ("values",)),
    "series index": (pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"]), ("index",)),
    "frame column": (OBJECT_COLUMN, ("values", 0)),
    "frame index": (OBJECT_COLUMN.set_index("s"), ("index",)),
}


@pytest.mark.parametrize("name", sorted(SHORT_REPORTS))
def test_a_report_with_less_data_than_its_shape_fails(name):
    value, path = SHORT_REPORTS[name]
    honest = encode(value)
    forged = _short(honest, *path)
    for spec in (CLOSE, EXACT):
        assert compare(honest, honest, spec).passed
        outcome = compare(forged, honest, spec)
        assert not outcome.passed
        assert outcome.reason.startswith(MALFORMED) and "needs 3 entries, its data has 1" in outcome.reason


# --- item 1: no report makes scoring raise --------------------------------------------------


def junk(rng: random.Random, depth: int = 0) -> Any:
    """Arbitrary JSON (and the non-JSON floats Python's parser also accepts)."""
    leaves = [None, True, False, 0, -1, 2**80, 10**400, 1.5, math.nan, math.inf, "", "nan", LONE_SURROGATE]
    if depth > 2 or rng.random() < 0.5:
        return rng.choice(leaves)
    if rng.random() < 0.5:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(0, 3))]
    keys = ["type", "value", "items", "data", "shape", "dtype", "name", LONE_SURROGATE]
    return {rng.choice(keys): junk(rng, depth + 1) for _ in range(rng.randrange(0, 3))}


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, (dict, list)):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


def mutate(rng: random.Random, encoded: Any) -> Any:
    """``encoded`` changed in one random place, in one of the ways a forger would."""
    root = copy.deepcopy(encoded)
    target = rng.choice(_containers(root, []))
    how = rng.choice(
        ["drop", "add", "retype", "replace", "cut", "grow", "shape", "dtype", "deep", "huge", "surrogate"]
    )
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    if how == "drop" and keys:
        del target[rng.choice(keys)]
    elif how == "add" and isinstance(target, dict):
        target[rng.choice(["spec", "labels", "extra", "value", "items"])] = junk(rng)
    elif how == "retype" and isinstance(target, dict):
        target["type"] = rng.choice(["ndarray", "series", "dataframe", "float", "list", "dict", "evil", 3])
    elif how == "replace" and keys:
        target[rng.choice(keys)] = junk(rng)
    elif how == "cut" and isinstance(target, list) and target:
        del target[rng.randrange(len(target)) :]
    elif how == "grow" and isinstance(target, list):
        target.extend(copy.deepcopy(target[:2]) or [junk(rng)])
    elif how == "shape" and isinstance(target, dict) and "shape" in target:
        target["shape"] = rng.choice([[], [-1], [True], [2.0], [10**30, 0], [2**63, 2**63], [1] * 100, "3"])
    elif how == "dtype" and isinstance(target, dict) and "dtype" in target:
        target["dtype"] = rng.choice(["bool", "int", "float", "str", "object", "complex", None])
    elif how == "deep":
        deep: Any = copy.deepcopy(target)
        for _ in range(rng.choice([MAX_DEPTH, 1000])):
            deep = {"type": "list", "items": [deep]}
        return deep
    elif how == "huge":
        return {"type": "list", "items": [{"type": "none"}] * (MAX_ITEMS + rng.randrange(1, 5))}
    elif how == "surrogate":
        return {"type": "str", "value": LONE_SURROGATE} if rng.random() < 0.5 else {"type": LONE_SURROGATE}
    return root


def hostile_values(rng: random.Random, count: int) -> list[tuple[Any, Any]]:
    """(forged value, the honest value it was made from) pairs; a few are pure junk."""
    pairs = []
    for _ in range(count):
        honest = encode(random_value(rng))
        forged = junk(rng) if rng.random() < 0.15 else mutate(rng, honest)
        pairs.append((forged, honest))
    return pairs


def test_no_forged_value_makes_compare_raise_and_malformed_ones_fail():
    from autograder.report_schema import value_problem

    rng = random.Random(1202)
    malformed = 0
    for forged, honest in hostile_values(rng, 1200):
        problem = value_problem(forged)
        assert problem is None or isinstance(problem, str)
        for spec in SPECS:
            expected = encode(np.array([1, 0, 1])) if spec is METRIC else honest
            outcome = compare(forged, expected, spec)
            assert isinstance(outcome, Outcome) and isinstance(outcome.passed, bool)
            storable(outcome.reason)
            assert len(outcome.reason) <= MAX_REASON
            if problem is not None:
                assert not outcome.passed and outcome.reason.startswith(MALFORMED)
        malformed += problem is not None
    assert malformed > 600  # the generator does forge: most mutations break the format


def test_no_forged_report_makes_collecting_or_scoring_raise():
    rng = random.Random(1203)
    for batch in range(12):
        outputs: dict[str, list[Any]] = {}
        checks: dict[str, dict[str, dict[str, Any]]] = {}
        for i, (forged, honest) in enumerate(hostile_values(rng, 25)):
            payload: Any = {"name": f"c{i}", "value": forged, "spec": junk(rng), "labels": junk(rng)}
            if rng.random() < 0.1:
                payload = rng.choice([junk(rng), {"name": junk(rng), "value": honest}, {"value": honest}])
            cell_outputs = [display_output(payload)]
            if rng.random() < 0.1:
                cell_outputs.append(junk(rng))  # not even an output
            if rng.random() < 0.1:
                cell_outputs.append(
                    {"output_type": "error", "ename": junk(rng), "evalue": LONE_SURROGATE * 999}
                )
            outputs[f"cell{i}"] = cell_outputs
            checks[f"cell{i}"] = {f"c{i}": {"value": honest, "spec": rng.choice((CLOSE, EXACT)), "hint": "h"}}
        honest_value = encode(np.arange(3.0))
        outputs["honest"] = [display_output({"name": "ok", "value": honest_value})]
        checks["honest"] = {"ok": {"value": honest_value, "spec": CLOSE, "hint": "h"}}
        nb = graded_notebook(outputs)

        reports = collect_reports(nb)
        assert set(reports) == set(outputs)
        result = score(reference(checks), nb)
        assert result.cells["honest"].score == 1.0, batch
        for cell in result.cells.values():
            storable(cell.error)
            for check_result in cell.checks:
                storable(check_result.reason)
                if check_result.reason.startswith(MALFORMED):
                    assert cell.score == 0.0


def test_deep_huge_and_unwritable_reports_each_fail_with_a_reason():
    honest = encode([1.0, 2.0])
    deep: Any = honest
    for _ in range(100_000):
        deep = {"type": "list", "items": [deep]}
    forged = {
        "deep": deep,
        "huge": {"type": "list", "items": [{"type": "int", "value": 1}] * 10_000_000},
        "huge array": {"type": "ndarray", "dtype": "float", "shape": [10**12], "data": [0.0] * 10},
        "surrogate": {"type": "list", "items": [{"type": "str", "value": LONE_SURROGATE}]},
        "surrogate type": {"type": "unsupported", "python_type": LONE_SURROGATE},
        "nan literal": {"type": "float", "value": math.nan},
        "huge int": {"type": "ndarray", "dtype": "int", "shape": [1], "data": [10**400]},
        "extra key": {**honest, "spec": {"kind": "close", "atol": 1e300}},
        "not a dict": [1.0, 2.0],
    }
    for name, value in forged.items():
        outcome = compare(value, honest, CLOSE)
        assert not outcome.passed and outcome.reason.startswith(MALFORMED), name
        storable(outcome.reason)
    assert "more than 64 levels deep" in compare(deep, honest, CLOSE).reason
    assert f"more than {MAX_ITEMS} entries" in compare(forged["huge"], honest, CLOSE).reason


def test_score_run_takes_nothing_but_a_valid_value_from_a_learners_report():
    """The learner's ``spec``, ``labels`` and extra fields are never used; the reference's are."""
    labels = encode(np.array([1, 0, 1, 1]))
    ref = reference(
        {
            "close": {"v": {"value": encode(2.0), "spec": CLOSE, "hint": "h"}},
            "metric": {"p": {"value": encode(np.zeros(4)), "labels": labels, "spec": METRIC, "hint": "h"}},
            "extra": {"e": {"value": encode([1.0]), "spec": CLOSE, "hint": "h"}},
            "nameless": {"n": {"value": encode(1.0), "spec": CLOSE, "hint": "h"}},
        }
    )
    wrong_predictions = encode(np.array([0, 1, 0, 0]))
    nb = graded_notebook(
        {
            "close": [
                display_output({"name": "v", "value": encode(9.0), "spec": {"kind": "close", "atol": 1e9}})
            ],
            "metric": [
                display_output(
                    {
                        "name": "p",
                        "value": wrong_predictions,
                        "labels": wrong_predictions,
                        "spec": {"kind": "metric", "metric": "accuracy", "threshold": 0.0},
                    }
                )
            ],
            "extra": [display_output({"name": "e", "value": {**encode([1.0]), "note": "trust me"}})],
            "nameless": [display_output(encode(1.0)), display_output({"name": "n", "value": encode(1.0)})],
        }
    )
    cells = score(ref, nb).cells
    assert [cells[g].score for g in ("close", "metric", "extra", "nameless")] == [0.0, 0.0, 0.0, 0.0]
    assert cells["close"].checks[0].reason == "the number is not the expected one"
    assert cells["metric"].checks[0].reason == "accuracy = 0, needs at least 0.5"
    assert cells["extra"].checks[0].reason.startswith(MALFORMED + "a list must have exactly the keys")
    assert cells["nameless"].error.startswith("a check report has no valid name")


# --- the real grader: a forged report in a learner's notebook -------------------------------

FORGED_SCALE = (
    "from IPython.display import display\n"
    "def scale(x, k):\n"
    "    forged = {'type': 'ndarray', 'dtype': 'float', 'shape': [len(x)], 'data': []}\n"
    f"    report = {{'name': 'tiny.scale', 'value': forged}}\n"
    f"    display({{{MIME_TYPE!r}: report, 'text/plain': '.'}}, raw=True)\n"
    "    return np.asarray(x) * k\n"
)


@pytest.mark.slow
def test_a_forged_report_in_a_submission_scores_zero_with_a_reason(settings, curriculum):
    from tests.grading.test_grading import cell_scores
    from tests.run.test_adversarial import attack

    result = attack(settings, curriculum, "forger", {"scale-solution": FORGED_SCALE})
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 0.0, "predict-tests": 1.0}
    (scale_check, *_) = result.notebooks[0].runs[0].cells["scale-tests"].checks
    assert not scale_check.passed
    assert scale_check.reason == MALFORMED + "an ndarray of shape (5,) needs 5 entries, its data has 0"
