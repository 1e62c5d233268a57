"""Comparators and metrics are declared once, in ``autograder/comparators.py`` (issue 13).

A throw-away comparator and metric, registered here and nowhere else, reach ``check()``
(its spec and its validation), ``compare()``, scoring, the leaderboard's directions and
the docs table; the docs page holds exactly the registry's table; and no other module of
the package spells a metric's name or tests a spec's kind, so a second place cannot creep
back in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from autograder import comparators
from autograder.checks import MIME_TYPE, check
from autograder.comparators import Comparator, Metric, docs_block, docs_table, expected_for
from autograder.compare import METRICS_HIGHER_IS_BETTER, Outcome, compare, metric_value
from autograder.encode import encode
from tests.grading.test_hostile_reports import display_output, graded_notebook, reference, score

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograder"
AUTHORING = ROOT / "docs" / "AUTHORING.md"


def _max_error(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.max(np.abs(predictions.astype(float) - labels.astype(float))))


def _percent_spec(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    if options.get("percent") is None:
        raise ValueError(f"check {name!r}: a near-labels check needs percent=")
    return {"percent": float(options["percent"])}


def _within_percent(actual: Any, labels: Any, spec: Mapping[str, Any]) -> Outcome:
    if actual["type"] != "float" or labels["type"] != "float":
        return Outcome(False, "expected a float")
    close = abs(actual["value"] - labels["value"]) <= spec["percent"] / 100 * abs(labels["value"])
    return Outcome(close, "" if close else f"not within {spec['percent']:g} %")


THROWAWAY_METRIC = Metric(
    name="max_error", higher_is_better=False, doc="largest absolute error", score=_max_error
)
THROWAWAY_COMPARATOR = Comparator(
    kind="near_labels",
    label="near the labels",
    doc="within `percent` % of the labels the solution reports",
    side="labels",
    options=("percent",),
    build=_percent_spec,
    compare=_within_percent,
    keyword="percent",
)


@contextmanager
def registered() -> Iterator[None]:
    """The throw-away metric and comparator, registered only inside the block."""
    comparators.register_metric(THROWAWAY_METRIC)
    comparators.register_comparator(THROWAWAY_COMPARATOR)
    try:
        yield
    finally:
        comparators.unregister_comparator(THROWAWAY_COMPARATOR.kind)
        comparators.unregister_metric(THROWAWAY_METRIC.name)


@pytest.fixture
def throwaway() -> Iterator[None]:
    with registered():
        yield


def reported(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> dict[str, Any]:
    """The payload ``check("t", **kwargs)`` displays when our grader collects values."""
    monkeypatch.setenv("AUTOGRADER_COLLECT", "1")
    InteractiveShell.instance()
    with capture_output() as captured:
        check("t", hint="h", **kwargs)
    return captured.outputs[0].data[MIME_TYPE]


def test_docs_list_exactly_the_registry():
    block = docs_block(AUTHORING.read_text())
    assert block == docs_table(), "run: .venv/bin/python -m autograder.comparators docs/AUTHORING.md"
    listed = re.findall(r"^\| `(\w+)` \| (higher|lower) \|", block, flags=re.MULTILINE)
    expected = [(name, "higher" if up else "lower") for name, up in METRICS_HIGHER_IS_BETTER.items()]
    assert (
        listed
        == expected
        == [(n, "higher") for n in ("r2", "accuracy", "roc_auc")]
        + [
            ("rmse", "lower"),
            ("mae", "lower"),
            ("macro_f1", "higher"),
            ("spearman", "higher"),
            ("perplexity", "lower"),
        ]
    )


def test_check_refuses_an_unknown_metric_naming_the_known_ones(monkeypatch):
    with pytest.raises(ValueError, match="unknown metric 'f1'; use one of r2, accuracy, roc_auc, rmse, mae"):
        reported(monkeypatch, value=[1.0], metric="f1", threshold=0.5, labels=[1.0])
    with pytest.raises(ValueError, match="needs a threshold"):
        reported(monkeypatch, value=[1.0], metric="r2", labels=[1.0])
    with pytest.raises(TypeError, match="percent"):  # no comparator reads it
        reported(monkeypatch, value=1.0, percent=5)


def test_a_new_metric_is_one_registration(monkeypatch, throwaway):
    labels = np.array([1.0, 2.0, 3.0])
    payload = reported(monkeypatch, value=labels + 0.1, metric="max_error", threshold=0.5, labels=labels)
    assert payload["spec"] == {"kind": "metric", "metric": "max_error", "threshold": 0.5}
    assert payload["labels"] == encode(labels)
    passed = compare(encode(labels + 0.1), encode(labels), payload["spec"])
    assert passed == Outcome(True, "max_error = 0.1")
    failed = compare(encode(labels + 1.0), encode(labels), payload["spec"])
    assert failed == Outcome(False, "max_error = 1, needs at most 0.5")
    assert METRICS_HIGHER_IS_BETTER["max_error"] is False  # what the leaderboard and manifest read
    assert metric_value("max_error", labels, labels) == 0.0
    assert "| `max_error` | lower | largest absolute error |" in docs_table()
    with pytest.raises(
        ValueError,
        match="use one of r2, accuracy, roc_auc, rmse, mae, macro_f1, spearman, perplexity, max_error",
    ):
        reported(monkeypatch, value=[1.0], metric="f1", threshold=0.5, labels=[1.0])


def test_a_new_comparator_is_one_registration(monkeypatch, throwaway):
    payload = reported(monkeypatch, value=103.0, percent=5, labels=100.0)
    assert payload["spec"] == {"kind": "near_labels", "percent": 5.0}
    assert payload["labels"] == encode(100.0)
    assert reported(monkeypatch, value=1.0, kind="near_labels", percent=1, labels=1.0)["spec"]["percent"] == 1
    with pytest.raises(ValueError, match="needs percent="):
        reported(monkeypatch, value=1.0, kind="near_labels")
    with pytest.raises(
        ValueError, match=r"unknown comparator kind 'nearish'; use one of close, metric, .*near_labels"
    ):
        reported(monkeypatch, value=1.0, kind="nearish")
    entry = {"value": encode(0.0), "labels": encode(100.0), "spec": payload["spec"], "hint": "h"}
    assert expected_for(entry) == encode(100.0)  # the side the registry names
    assert compare(encode(103.0), expected_for(entry), entry["spec"]).passed
    assert compare(encode(110.0), expected_for(entry), entry["spec"]) == Outcome(False, "not within 5 %")
    ref = reference({"cell": {"t": entry}})
    assert score(ref, graded_notebook({"cell": [display_output(payload)]})).cells["cell"].score == 1.0
    assert "| `near_labels`: near the labels |" in docs_table()


def test_unregistered_means_unknown_everywhere(monkeypatch):
    spec = {"kind": "near_labels", "percent": 5.0}
    with registered():
        assert compare(encode(1.0), encode(1.0), spec).passed
    outcome = compare(encode(1.0), encode(1.0), spec)
    assert not outcome.passed and "its comparator kind is unknown" in outcome.reason
    assert "max_error" not in METRICS_HIGHER_IS_BETTER and "near_labels" not in docs_table()
    with pytest.raises(ValueError, match="unknown metric 'max_error'"):
        reported(monkeypatch, value=[1.0], metric="max_error", threshold=0.5, labels=[1.0])


def test_no_other_module_names_a_metric_or_tests_a_kind():
    """The registry is the only place: a second place (an if-chain, a list) fails here."""
    metrics = "|".join(re.escape(name) for name in comparators.metric_names())
    kinds = "|".join(re.escape(kind) for kind in comparators.comparator_kinds())
    quoted_metric = re.compile(rf"""["']({metrics})["']""")
    tested_kind = re.compile(rf"""(==|!=|["']kind["']\s*:)\s*["']({kinds})["']""")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "comparators.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if quoted_metric.search(line) or tested_kind.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "declare it in autograder/comparators.py instead"


def test_expected_for_takes_the_side_the_comparator_names():
    entry = {"value": encode(1.0), "labels": encode([1, 0]), "hint": "h"}
    assert expected_for({**entry, "spec": {"kind": "metric", "metric": "r2"}}) == encode([1, 0])
    assert expected_for({**entry, "spec": {"kind": "close"}}) == encode(1.0)
    assert expected_for({**entry, "spec": {}}) == encode(1.0)  # no kind: the default comparator
    for unusable in ({"kind": "nope"}, {"kind": ["metric"]}, "metric", None):
        assert expected_for({**entry, "spec": unusable}) == encode(1.0)  # compare() then blames the reference
    assert expected_for({"value": encode(1.0), "spec": {"kind": "metric"}}) is None
