"""The class ranking of a Kaggle-style competition, with a public and a private split.

Predictions come from each learner's latest evidence record: the values the
competition's check reported in the default-parameter run. They are scored here, on
the grader's side, against the hidden labels in ``hidden/<assignment>/``, which never
enter a learner's kernel or ``curriculum/``. As on Kaggle, the public score is what
learners see while the competition runs and the private score decides the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

from .. import layout
from ..compare import METRICS_HIGHER_IS_BETTER, metric_value, prediction_vector
from ..course.config import Settings
from ..course.curriculum import Assignment
from ..errors import AutograderError
from ..grading.evidence import iter_records, latest_by_learner
from ..protocol import MIME_TYPE


class LeaderboardError(AutograderError, LookupError):
    """No competition, or no hidden labels, for this assignment."""


@dataclass(frozen=True)
class Entry:
    learner: str
    public: float | None
    private: float | None
    graded_at: str
    note: str = ""


def _predictions(record_path: Path, notebook: str, check: str, seed: object) -> np.ndarray | None:
    path = record_path / "executed" / f"{notebook}.seed{seed}.ipynb"
    try:
        nb = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    except (OSError, ValueError):
        return None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(MIME_TYPE)
            if isinstance(payload, dict) and payload.get("name") == check:
                return prediction_vector(payload.get("value"))
    return None


def leaderboard(settings: Settings, assignment: Assignment) -> tuple[str, list[Entry]]:
    """(metric, entries ranked by private score, best first)."""
    competition = assignment.competition
    if competition is None:
        raise LeaderboardError(f"{assignment.id!r} has no competition in curriculum/manifest.yaml")
    labels_path = layout.hidden_dir(settings.root, assignment.id) / competition.labels
    try:
        labels = pd.read_csv(labels_path).sort_values("id")
    except OSError:
        raise LeaderboardError(
            f"hidden labels not found at {labels_path}; regenerate them (tools/)"
        ) from None
    truth = labels["target"].to_numpy()
    public = (labels["split"] == "public").to_numpy()
    notebook = competition.notebook.removesuffix(".ipynb")
    latest = latest_by_learner(iter_records(settings), assignment.id)
    entries = []
    for learner, record in sorted(latest.items()):
        seed = record.record.parameter_sets[0].get("seed")
        predictions = _predictions(record.path, notebook, competition.check, seed)
        graded_at = record.graded_at
        if predictions is None or predictions.shape != truth.shape:
            entries.append(Entry(learner, None, None, graded_at, "no valid submission frame"))
            continue
        entries.append(
            Entry(
                learner,
                metric_value(competition.metric, predictions[public], truth[public]),
                metric_value(competition.metric, predictions[~public], truth[~public]),
                graded_at,
            )
        )
    higher = METRICS_HIGHER_IS_BETTER[competition.metric]
    worst = -np.inf if higher else np.inf
    entries.sort(key=lambda e: e.private if e.private is not None else worst, reverse=higher)
    return competition.metric, entries
