"""The comparators and metrics a check can use, each declared once, here.

A *comparator* is what a check's ``spec["kind"]`` names: how ``check()`` builds the spec
from its keyword arguments (in the learner's kernel), which side of the reference it
compares against (the solution's ``value``, or the ``labels`` the solution reports), how
the grader compares, and the label and doc line the docs show. A *metric* is what a
``metric`` check scores: its direction and doc line. Everything else reads this registry:

- ``checks.check`` builds its spec with :func:`spec_for`, which refuses an unknown metric
  or comparator with the list of known ones;
- ``compare.compare`` dispatches with :func:`comparator_named`;
- scoring (``grade.score_run``) and the in-kernel compatibility path take the reference
  side with :func:`expected_for`;
- ``docs/AUTHORING.md`` holds :func:`docs_table`, written by ``python -m
  autograder.comparators docs/AUTHORING.md`` and kept equal by
  ``tests/test_comparator_registry.py``.

So adding a comparator or a metric is one :func:`register_comparator` or
:func:`register_metric` call below, and a regenerated docs table.

The learner's kernel imports this module (through ``checks.py``), so importing it needs
only the standard library: the functions that compare or score import the trusted
side's machinery (``compare.py``, NumPy, SciPy) when the grader calls them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

if TYPE_CHECKING:
    import numpy as np

    from .compare import Outcome

Side = Literal["value", "labels"]
SIDES: tuple[Side, ...] = ("value", "labels")
DEFAULT_KIND = "close"
"""The comparator of a check that names none (and of a spec without ``kind``)."""


@dataclass(frozen=True)
class Metric:
    """A score of predictions against labels, with the direction that counts as better."""

    name: str
    higher_is_better: bool
    doc: str
    score: Callable[[np.ndarray, np.ndarray], float]
    numbers_only: bool = True
    """False where predictions and labels may be of any kind (accuracy compares strings)."""
    scores_per_class: bool = False
    """True where the predictions are one row of class scores per label, shape (n, k), and
    the labels class indices 0..k-1 (perplexity); False for one prediction per label."""


@dataclass(frozen=True)
class Comparator:
    """One ``spec["kind"]``: how ``check()`` builds its spec, and how the grader compares."""

    kind: str
    label: str
    doc: str
    side: Side
    """The reference's key the learner's value is compared against."""
    options: tuple[str, ...]
    """The ``check()`` keyword arguments its spec is built from."""
    build: Callable[[str, Mapping[str, Any]], dict[str, Any]]
    """(check name, check()'s keyword arguments) -> the spec's fields; ValueError if unusable."""
    compare: Callable[[Any, Any, Mapping[str, Any]], Outcome]
    """(learner's validated value, reference side, spec) -> Outcome; see ``compare.compare``."""
    keyword: str | None = None
    """``check()`` picks this comparator when this keyword argument is given (not None)."""
    judge: str | None = None
    """For an artifact check: the name of the grader's judge (``grading/artifacts.py``'s
    ``JUDGES``) that runs the reported artifact in the sandbox; its finding is what
    ``compare`` then gets. None: the reported value is compared as it is."""
    prepare: Callable[[Any], Any] | None = None
    """In the learner's kernel, before encoding: what ``check()`` reports of the object it is
    given (a figure's summary). None: the value itself."""


_COMPARATORS: dict[str, Comparator] = {}
_METRICS: dict[str, Metric] = {}


def register_comparator(comparator: Comparator) -> Comparator:
    """Make ``comparator`` known to ``check()``, the grader and the docs."""
    if comparator.kind in _COMPARATORS:
        raise ValueError(f"a comparator {comparator.kind!r} is already registered")
    if comparator.side not in SIDES:
        raise ValueError(f"comparator {comparator.kind!r}: side must be one of {', '.join(SIDES)}")
    _COMPARATORS[comparator.kind] = comparator
    return comparator


def unregister_comparator(kind: str) -> None:
    """Forget a comparator (tests register throw-away ones)."""
    del _COMPARATORS[kind]


def register_metric(metric: Metric) -> Metric:
    """Make ``metric`` known to ``check()``, the grader, the leaderboard and the docs."""
    if metric.name in _METRICS:
        raise ValueError(f"a metric {metric.name!r} is already registered")
    _METRICS[metric.name] = metric
    return metric


def unregister_metric(name: str) -> None:
    """Forget a metric (tests register throw-away ones)."""
    del _METRICS[name]


def comparator_named(kind: object) -> Comparator | None:
    """The comparator a spec's ``kind`` names; None when it names none (or is not a string)."""
    return _COMPARATORS.get(kind) if isinstance(kind, str) else None


def metric_named(name: object) -> Metric | None:
    """The metric called ``name``; None when there is none (or it is not a string)."""
    return _METRICS.get(name) if isinstance(name, str) else None


def comparator_kinds() -> list[str]:
    return list(_COMPARATORS)


def metric_names() -> list[str]:
    return list(_METRICS)


def is_metric(name: object) -> TypeGuard[str]:
    """``name in`` the metrics, as a dict answers it (an unhashable name raises TypeError)."""
    return name in _METRICS


class _HigherIsBetter(Mapping[str, bool]):
    """metric name -> higher is better, read live from the registry (for older callers)."""

    def __getitem__(self, name: str) -> bool:
        return _METRICS[name].higher_is_better

    def __iter__(self) -> Iterator[str]:
        return iter(list(_METRICS))

    def __len__(self) -> int:
        return len(_METRICS)


METRICS_HIGHER_IS_BETTER: Mapping[str, bool] = _HigherIsBetter()


# --- what check() reports, and what the grader compares it with ---------------------------


def spec_for(
    name: str, options: Mapping[str, Any], kind: str | None = None
) -> tuple[Comparator, dict[str, Any]]:
    """The comparator ``check(name, ..., **options)`` uses, and the spec it reports.

    ``kind`` names the comparator; without it, the one whose keyword is given, else
    :data:`DEFAULT_KIND`. An authoring mistake raises ValueError naming the fix.
    """
    comparator = _choose(name, options, kind)
    return comparator, {"kind": comparator.kind, **comparator.build(name, options)}


def _choose(name: str, options: Mapping[str, Any], kind: str | None) -> Comparator:
    if kind is not None:
        found = comparator_named(kind)
        if found is None:
            known = ", ".join(comparator_kinds())
            raise ValueError(f"check {name!r}: unknown comparator kind {kind!r}; use one of {known}")
        return found
    chosen = [c for c in _COMPARATORS.values() if c.keyword and options.get(c.keyword) is not None]
    if len(chosen) > 1:
        given = ", ".join(f"{c.keyword}=" for c in chosen)
        raise ValueError(f"check {name!r}: {given} choose different comparators; pass only one")
    return chosen[0] if chosen else _COMPARATORS[DEFAULT_KIND]


def check_options() -> set[str]:
    """Every keyword argument some comparator reads (``check()`` refuses any other)."""
    return {option for c in _COMPARATORS.values() for option in c.options}


def expected_for(entry: Mapping[str, Any]) -> Any:
    """The side of a reference entry its comparator compares against (None if it is missing).

    A spec that is not a JSON object, or names no known comparator, gets the ``value``
    side: ``compare`` then fails the check with an authoring error.
    """
    spec = entry.get("spec")
    kind = spec.get("kind", DEFAULT_KIND) if isinstance(spec, dict) else None
    comparator = comparator_named(kind)
    return entry.get(comparator.side if comparator else "value")


# --- the comparators -------------------------------------------------------------------------


def _close_spec(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "atol": float(options["atol"]),
        "rtol": float(options["rtol"]),
        "exact_type": bool(options["exact_type"]),
    }


def _close(actual: Any, expected: Any, spec: Mapping[str, Any]) -> Outcome:
    from .compare import authoring_error, compare_close, tolerance

    atol, rtol = tolerance(spec.get("atol", 1e-6)), tolerance(spec.get("rtol", 1e-6))
    if atol is None or rtol is None:
        return authoring_error("its tolerance is not a non-negative number")
    return compare_close(actual, expected, atol, rtol, exact_type=spec.get("exact_type") is True)


def _metric_spec(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    metric, threshold = options["metric"], options["threshold"]
    if metric_named(metric) is None:
        raise ValueError(f"check {name!r}: unknown metric {metric!r}; use one of {', '.join(metric_names())}")
    if threshold is None:
        raise ValueError(f"check {name!r}: a metric check needs a threshold")
    return {"metric": metric, "threshold": float(threshold)}


def _metric(actual: Any, labels: Any, spec: Mapping[str, Any]) -> Outcome:
    from .compare import authoring_error, compare_metric, tolerance

    metric, threshold = spec.get("metric"), tolerance(spec.get("threshold"), signed=True)
    if not is_metric(metric) or threshold is None:
        return authoring_error("its metric or threshold is not one the grader knows")
    return compare_metric(actual, labels, metric, threshold)


register_comparator(
    Comparator(
        kind="close",
        label="equal within tolerance",
        doc="equal to the solution's value within `atol` + `rtol` × its size, entry by entry; "
        "equivalent containers count as the same unless `exact_type=True`",
        side="value",
        options=("atol", "rtol", "exact_type"),
        build=_close_spec,
        compare=_close,
    )
)
register_comparator(
    Comparator(
        kind="metric",
        label="metric reaches a threshold",
        doc="a vector of predictions whose `metric` against the labels the solution reports "
        "is at least (or, lower being better, at most) `threshold`; the learner's `labels` are never used",
        side="labels",
        options=("metric", "threshold", "labels"),
        build=_metric_spec,
        compare=_metric,
        keyword="metric",
    )
)


def _catches_spec(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    suite = options.get("suite")
    if not isinstance(suite, str) or not suite or "/" in suite:
        raise ValueError(
            f"check {name!r}: kind='catches' needs suite='<a folder of hidden/<assignment>/suites>'"
        )
    return {"suite": suite}


def _catches(finding: Any, expected: Any, spec: Mapping[str, Any]) -> Outcome:
    """Every correct version passed the learner's tests, and every buggy one was caught."""
    from .compare import Outcome, authoring_error, plain

    found = plain(finding)
    if isinstance(found, dict) and isinstance(found.get("refused"), str):
        return Outcome(False, f"your tests were not run: {found['refused']}")
    if not isinstance(found, dict) or not found.get("correct") or not found.get("buggy"):
        return authoring_error("its suite has no correct or no buggy versions")
    broken = [word for word in found["correct"].values() if word != "passed"]
    if broken:
        return Outcome(False, f"your tests do not pass on a correct version of the library ({broken[0]})")
    missed = [word for word in found["buggy"].values() if word != "failed"]
    if missed:
        total = len(found["buggy"])
        return Outcome(
            False, f"your tests let {len(missed)} of {total} buggy versions of the library through"
        )
    return Outcome(
        True, f"your tests pass on every correct version and catch all {len(found['buggy'])} buggy ones"
    )


register_comparator(
    Comparator(
        kind="catches",
        label="tests catch seeded bugs",
        doc="the learner's test files (`{'tests/test_x.py': text}`), run by the grader with pytest in the "
        "sandbox, pass on every correct version of a library and fail on every buggy one "
        "(`hidden/<assignment>/suites/<suite>/correct/*`, `buggy/*`)",
        side="value",
        options=("suite",),
        build=_catches_spec,
        compare=_catches,
        judge="tests_catch_bugs",
    )
)


def _passes_spec(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    suite = options.get("suite")
    if not isinstance(suite, str) or not suite or "/" in suite:
        raise ValueError(
            f"check {name!r}: kind='passes' needs suite='<a folder of hidden/<assignment>/suites>'"
        )
    return {"suite": suite}


def _passes(finding: Any, expected: Any, spec: Mapping[str, Any]) -> Outcome:
    """Every stage of the suite did what it expects of the learner's files."""
    from .compare import Outcome, authoring_error, plain

    found = plain(finding)
    if isinstance(found, dict) and isinstance(found.get("refused"), str):
        return Outcome(False, f"your files were not run: {found['refused']}")
    stages = found.get("stages") if isinstance(found, dict) else None
    if not isinstance(stages, list) or not stages:
        return authoring_error("its suite has no stage that takes the learner's files")
    for stage in stages:
        if not stage.get("met"):
            why = f"stage '{stage.get('name')}' ({stage.get('ended')}): {stage.get('says')}"
            output = stage.get("output")
            return Outcome(False, f"{why}\n{output}" if output else why)
    return Outcome(True, f"all {len(stages)} stages did what they should with your files")


register_comparator(
    Comparator(
        kind="passes",
        label="files pass the grader's stages",
        doc="the learner's files (`{'Dockerfile': text, ...}`), put by the grader through the stages of "
        "`hidden/<assignment>/suites/<suite>/suite.yaml` (linters, schema validators, a workflow's steps, "
        "`git am` and hidden tests), each command a job in the sandbox whose exit code the grader observes",
        side="value",
        options=("suite",),
        build=_passes_spec,
        compare=_passes,
        judge="stages_pass",
    )
)


def _figure_prepare(value: Any) -> Any:
    from .figures import figure_summary

    return figure_summary(value)


def _figure_data(series: Any, key: str) -> list[Any]:
    values = series.get(key) if isinstance(series, dict) else None
    return values if isinstance(values, list) else []


def _same_series(actual: Any, expected: Any, atol: float, rtol: float) -> bool:
    """Same kind, and x and y equal within tolerance (numbers) or exactly (category names)."""
    import numpy as np

    if not isinstance(actual, dict) or actual.get("kind") != expected.get("kind"):
        return False
    for key in ("x", "y"):
        a, e = _figure_data(actual, key), _figure_data(expected, key)
        if len(a) != len(e):
            return False
        pairs = list(zip(a, e, strict=True))
        if any((isinstance(x, str) or isinstance(y, str)) and x != y for x, y in pairs):
            return False  # category names must be the same names
        numeric = [(x, y) for x, y in pairs if not isinstance(y, str)]
        if numeric:
            left = np.array([float(x) for x, _ in numeric])
            right = np.array([float(y) for _, y in numeric])
            if not np.allclose(left, right, atol=atol, rtol=rtol, equal_nan=True):
                return False
    return True


def _merged_bars(bars: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars drawn one ``bar()`` call at a time (to colour each, say) as one bar plot, by position."""
    pairs = sorted(
        (x, y)
        for s in bars
        for x, y in zip(_figure_data(s, "x"), _figure_data(s, "y"), strict=False)
        if isinstance(x, int | float)
    )
    return {"kind": "bar", "x": [x for x, _ in pairs], "y": [y for _, y in pairs]}


_LABELS = (("title", "title"), ("xlabel", "x-axis label"), ("ylabel", "y-axis label"))


def _figure_axes(number: int, actual: Any, expected: Any, atol: float, rtol: float) -> str | None:
    """What axes ``number`` (from 1) lacks against the solution's, or None."""
    if not isinstance(actual, dict):
        return f"axes {number} could not be read"
    for key, what in _LABELS:
        if str(expected.get(key) or "").strip() and not str(actual.get(key) or "").strip():
            return f"axes {number} has no {what}; give it one that says what is shown"
    unused = [s for s in _figure_data(actual, "series")]
    for wanted in _figure_data(expected, "series"):
        kind = wanted.get("kind") if isinstance(wanted, dict) else None
        match = next((s for s in unused if _same_series(s, wanted, atol, rtol)), None)
        if match is None and kind == "bar":
            bars = [s for s in unused if isinstance(s, dict) and s.get("kind") == "bar"]
            if len(bars) > 1 and _same_series(_merged_bars(bars), wanted, atol, rtol):
                unused = [s for s in unused if not any(s is b for b in bars)]
                continue
        if match is None:
            same_kind = any(isinstance(s, dict) and s.get("kind") == kind for s in unused)
            if not same_kind:
                return f"axes {number} has no {kind} plot where the exercise asks for one"
            return f"axes {number}: no {kind} shows the data the exercise asks for (its values differ)"
        unused.remove(match)
    return None


def _figure(actual: Any, expected: Any, spec: Mapping[str, Any]) -> Outcome:
    """The solution's axes, series and labels are all in the learner's figure (extras are allowed)."""
    from .compare import Outcome, authoring_error, plain, tolerance

    atol, rtol = tolerance(spec.get("atol", 1e-6)), tolerance(spec.get("rtol", 1e-6))
    mine, theirs = plain(actual), plain(expected)
    if atol is None or rtol is None or not isinstance(theirs, dict):
        return authoring_error("its figure or tolerance is not one the grader can read")
    if not isinstance(mine, dict) or not isinstance(mine.get("axes"), list):
        return Outcome(False, "this is not a figure's summary: pass the matplotlib figure to check()")
    axes, wanted = mine["axes"], theirs.get("axes", [])
    if len(axes) != len(wanted):
        return Outcome(False, f"the figure has {len(axes)} axes; the exercise asks for {len(wanted)}")
    for number, (a, e) in enumerate(zip(axes, wanted, strict=True), start=1):
        problem = _figure_axes(number, a, e, atol, rtol)
        if problem:
            return Outcome(False, problem)
    return Outcome(True, "the figure's plots, data and labels are the ones asked for")


register_comparator(
    Comparator(
        kind="figure",
        label="a figure with the solution's plots",
        doc="a matplotlib figure (or axes): as many axes as the solution's, each with every plot of "
        "the solution's (line, bar or hist, scatter, image) of the same kind and data within `atol` + "
        "`rtol`, and a title or axis label wherever the solution has one, in any words; extra plots "
        "and styles are free",
        side="value",
        options=("atol", "rtol"),
        build=lambda name, options: {"atol": float(options["atol"]), "rtol": float(options["rtol"])},
        compare=_figure,
        prepare=_figure_prepare,
    )
)


# --- the metrics: NumPy and SciPy are imported on the grader's side only ---------------------


def _r2(predictions: np.ndarray, labels: np.ndarray) -> float:
    import numpy as np

    diff = predictions.astype(float) - labels.astype(float)
    total = float(np.sum((labels - labels.mean()) ** 2))
    return 1.0 - float(np.sum(diff**2)) / total if total else 0.0


def _accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    import numpy as np

    return float(np.mean(predictions == labels))


def _roc_auc(predictions: np.ndarray, labels: np.ndarray) -> float:
    """The Mann-Whitney statistic: P(score of a positive > score of a negative)."""
    from scipy.stats import rankdata

    positive = labels.astype(float) == 1.0
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return 0.5
    ranks = rankdata(predictions.astype(float))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _rmse(predictions: np.ndarray, labels: np.ndarray) -> float:
    import numpy as np

    diff = predictions.astype(float) - labels.astype(float)
    return float(np.sqrt(np.mean(diff**2)))


def _mae(predictions: np.ndarray, labels: np.ndarray) -> float:
    import numpy as np

    diff = predictions.astype(float) - labels.astype(float)
    return float(np.mean(np.abs(diff)))


def _macro_f1(predictions: np.ndarray, labels: np.ndarray) -> float:
    """F1 per class, averaged with equal weight, over the classes of labels and predictions."""
    import numpy as np

    scores = []
    for value in sorted(set(labels.tolist()) | set(predictions.tolist()), key=repr):
        predicted, actual = predictions == value, labels == value
        hits = float(np.sum(predicted & actual))
        total = float(np.sum(predicted) + np.sum(actual))
        scores.append(2 * hits / total if total else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def _perplexity(scores: np.ndarray, labels: np.ndarray) -> float:
    """exp(mean negative log probability of each label), each row normalised to sum to 1, so
    that scores which are not probabilities gain nothing; inf for a label out of range, a
    negative score or a row of zeros."""
    import numpy as np

    n, k = scores.shape
    index = labels.astype(float)
    if np.any(index != np.round(index)) or np.any(index < 0) or np.any(index >= k) or np.any(scores < 0):
        return float("inf")
    totals = scores.sum(axis=1)
    if np.any(totals <= 0):
        return float("inf")
    chosen = scores[np.arange(n), index.astype(int)] / totals
    with np.errstate(divide="ignore"):
        return float(np.exp(-np.mean(np.log(chosen))))


def _spearman(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); 0 where it is undefined."""
    import numpy as np
    from scipy.stats import spearmanr

    if len(labels) < 2 or np.ptp(predictions.astype(float)) == 0 or np.ptp(labels.astype(float)) == 0:
        return 0.0  # a constant has no ranks to correlate (scipy would warn and give NaN)
    value = float(spearmanr(predictions.astype(float), labels.astype(float)).statistic)
    return value if np.isfinite(value) else 0.0


_R2_DOC = "coefficient of determination, 1 − SSE/SST (0 if the labels are constant)"
_AUC_DOC = "chance that a positive (label 1) outranks a negative (0.5 if a class is absent)"
register_metric(Metric(name="r2", higher_is_better=True, doc=_R2_DOC, score=_r2))
register_metric(
    Metric(
        name="accuracy",
        higher_is_better=True,
        doc="share of predictions equal to their label (labels of any kind)",
        score=_accuracy,
        numbers_only=False,
    )
)
register_metric(Metric(name="roc_auc", higher_is_better=True, doc=_AUC_DOC, score=_roc_auc))
register_metric(Metric(name="rmse", higher_is_better=False, doc="root mean squared error", score=_rmse))
register_metric(Metric(name="mae", higher_is_better=False, doc="mean absolute error", score=_mae))
register_metric(
    Metric(
        name="macro_f1",
        higher_is_better=True,
        doc="F1 of each class (of labels and predictions), averaged with equal weight (labels of any kind)",
        score=_macro_f1,
        numbers_only=False,
    )
)
register_metric(
    Metric(
        name="spearman",
        higher_is_better=True,
        doc="Spearman's rank correlation of predictions and labels (0 where undefined, as for constants)",
        score=_spearman,
    )
)
register_metric(
    Metric(
        name="perplexity",
        higher_is_better=False,
        doc="exp of the mean negative log probability of the label; the predictions are a row of "
        "non-negative class scores per label (shape (n, k), each row normalised), the labels 0..k-1",
        score=_perplexity,
        scores_per_class=True,
    )
)


# --- the docs ----------------------------------------------------------------------------------

DOCS_BEGIN = "<!-- BEGIN comparators: generated from autograder/comparators.py, do not edit -->"
DOCS_END = "<!-- END comparators -->"


def docs_table() -> str:
    """The comparators and metrics as the Markdown tables ``docs/AUTHORING.md`` shows."""
    lines = [
        "| comparator | what passes | chosen by | `check()` keywords | compared with |",
        "|---|---|---|---|---|",
    ]
    for c in _COMPARATORS.values():
        chosen = f"`{c.keyword}=`" if c.keyword else ("default" if c.kind == DEFAULT_KIND else "")
        chosen = ", ".join(x for x in (chosen, f'`kind="{c.kind}"`') if x)
        keywords = ", ".join(f"`{o}`" for o in c.options)
        lines.append(f"| `{c.kind}`: {c.label} | {c.doc} | {chosen} | {keywords} | the solution's {c.side} |")
    lines += ["", "| metric | better | what it measures |", "|---|---|---|"]
    for m in _METRICS.values():
        lines.append(f"| `{m.name}` | {'higher' if m.higher_is_better else 'lower'} | {m.doc} |")
    return "\n".join(lines)


def docs_block(text: str) -> str:
    """The generated part of a docs page (between the markers); ValueError if it has none."""
    start, end = text.find(DOCS_BEGIN), text.find(DOCS_END)
    if start < 0 or end < start:
        raise ValueError(f"no comparators block: put {DOCS_BEGIN!r} and {DOCS_END!r} lines in the page")
    return text[start + len(DOCS_BEGIN) : end].strip("\n")


def write_docs(path: Path) -> bool:
    """Rewrite the generated block of ``path`` from the registry; True if it changed."""
    text = path.read_text()
    if docs_block(text) == docs_table():
        return False
    start = text.index(DOCS_BEGIN) + len(DOCS_BEGIN)
    path.write_text(text[:start] + "\n" + docs_table() + "\n" + text[text.index(DOCS_END, start) :])
    return True


if __name__ == "__main__":  # python -m autograder.comparators [docs/AUTHORING.md]
    if len(sys.argv) > 1:
        print("updated" if write_docs(Path(sys.argv[1])) else "up to date", sys.argv[1])
    else:
        print(docs_table())
