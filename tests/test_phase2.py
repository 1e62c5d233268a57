"""Phase 2's competition and Flask deployment, graded for real: honest and hostile work.

The honest, complete path (full marks on both seeds, the leaderboard) is the demo's
(tests/course/test_demo.py). Here, submissions that game the competition or break the
deployment are graded in the real sandbox against the real phase-2 notebooks.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import nbformat
import pytest

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.course.demo import fill_in
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import ensure_assignment

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
PHASE2 = "phase2-ml-dl"

CONSTANT_SUBMISSION = "\nsubmission['target'] = 0.5\n"
LABEL_THIEF = """
import os
stolen = None
for path in [os.path.join(hidden_dir, 'competition_test_labels.csv'),
             '../../hidden/phase2-ml-dl/competition_test_labels.csv',
             'data/competition_test_labels.csv']:
    try:
        stolen = pd.read_csv(path).sort_values('id')['target'].to_numpy()
        print('STOLE', path)
    except OSError:
        print('no labels at', path)
submission['target'] = stolen.astype(float) if stolen is not None else 0.5
"""
CONSTANT_APP = """
_honest_predict_response = predict_response
def predict_response(model, payload):
    body, status = _honest_predict_response(model, payload)
    if status == 200:
        body = {"predictions": [0.0] * len(body["predictions"])}
    return body, status
"""
CRASHING_APP = """
_honest_create_app = create_app
def create_app(model_path):
    app = _honest_create_app(model_path)
    @app.before_request
    def _die():
        import os
        os._exit(1)
    return app
"""

LEARNERS = {
    "constant": ("04-competition", "submission-solution", CONSTANT_SUBMISSION),
    "thief": ("04-competition", "submission-solution", LABEL_THIEF),
    "constant-app": ("05-flask-deploy", "predict-response-solution", CONSTANT_APP),
    "crashing-app": ("05-flask-deploy", "create-app-solution", CRASHING_APP),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    settings = load_settings(REPO, state_dir=tmp_path_factory.mktemp("phase2") / "state")
    curriculum = load_curriculum(REPO)
    ensure_assignment(settings, PHASE2)
    for learner, (notebook, grade_id, extra) in LEARNERS.items():
        release = nbformat.read(str(REPO / "curriculum" / PHASE2 / f"{notebook}.ipynb"), as_version=4)
        source = nbformat.read(str(REPO / "solutions" / PHASE2 / f"{notebook}.ipynb"), as_version=4)
        nb = fill_in(release, source, "alice")  # an honest, complete notebook...
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                cell.source += extra  # ...with one twist
        folder = settings.submitted_dir / learner / PHASE2
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{notebook}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    results = grade_assignment(
        settings, curriculum, PHASE2, learners=list(LEARNERS), seeds=1, rng=random.Random(3)
    )
    by_learner = {r.learner: r for r in results if isinstance(r, SubmissionResult)}
    assert set(by_learner) == set(LEARNERS), results
    return by_learner


def scores(result: SubmissionResult, notebook: str) -> dict[str, float]:
    (nb,) = [n for n in result.notebooks if n.notebook == notebook]
    return {gid: cell.score for gid, cell in nb.runs[0].cells.items()}


def executed_text(result: SubmissionResult, notebook: str) -> str:
    path = result.evidence.path / "executed" / f"{notebook}.seed0.ipynb"
    return json.dumps([c.get("outputs", []) for c in nbformat.read(str(path), as_version=4).cells])


TIERS = ("comp-baseline-tests", "comp-good-tests", "comp-strong-tests")


def test_a_constant_submission_earns_no_tier(graded):
    got = scores(graded["constant"], "04-competition")
    assert all(got[t] == 0.0 for t in TIERS)
    assert got["submission-tests"] == 0.0  # its own check: "a constant ranks nobody"
    assert got["trees-tests"] == 2.0 and got["features-tests"] == 2.0  # the honest cells keep theirs


def test_the_hidden_labels_cannot_be_stolen(graded):
    got = scores(graded["thief"], "04-competition")
    assert all(got[t] == 0.0 for t in TIERS)
    text = executed_text(graded["thief"], "04-competition")
    assert "STOLE" not in text and text.count("no labels at") == 3
    assert not list((REPO / "curriculum" / PHASE2).rglob("*labels*"))


def test_a_service_that_lies_loses_its_http_points(graded):
    got = scores(graded["constant-app"], "05-flask-deploy")
    assert got["predict-response-tests"] == 0.0 and got["create-app-tests"] == 0.0
    assert got["validate-tests"] == 2.0 and got["train-save-tests"] == 1.0
    assert got["create-app-errors-tests"] == 2.0  # its error handling is still right


def test_a_service_that_kills_its_kernel_is_a_crash_of_that_run_only(graded):
    (nb,) = [n for n in graded["crashing-app"].notebooks if n.notebook == "05-flask-deploy"]
    run = nb.runs[0]
    assert run.status == "crashed" and "died" in run.reason
    got = scores(graded["crashing-app"], "05-flask-deploy")
    assert got["validate-tests"] == 2.0 and got["create-app-tests"] == 0.0 and got["smoke-test-tests"] == 0.0
    assert "not run" in run.cells["smoke-test-tests"].error
