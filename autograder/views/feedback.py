"""HTML feedback for a learner, one page per notebook, from their latest evidence record.

The page shows scores under each parameter set and, for each failed check, what was
wrong and the hint, or, when the value is a known mistake's (``misconceptions/``), what a
mentor says about that mistake. It never includes test-cell source (hidden tests live there) and
never an expected value: the reasons come from ``compare.py``, which does not print them.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape

from ..course.config import Settings
from ..course.curriculum import Curriculum
from ..errors import NotFound
from ..grading.evidence import EvidenceRecord, iter_records, latest_record
from ..grading.storage import write_bytes_atomic
from ..layout import MASTERY_PAGE_SUFFIX, PROGRESS_PAGE
from .lms import assignment_title
from .mastery import assignment_progress

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {{ title }} ({{ learner }})</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; color: #222; }
.pass { color: #1a7f37; } .fail { color: #c62828; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
td, th { border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; }
.hint { background: #fff8e1; padding: .3rem .5rem; border-left: 3px solid #f9a825; }
.mistake { background: #e8f0fe; padding: .3rem .5rem; border-left: 3px solid #1a73e8; }
.mastery { padding: .6rem; border-radius: .3rem; background: #eef; }
</style></head><body>
<h1>{{ title }}</h1>
<p>Learner <b>{{ learner }}</b>, assignment <b>{{ assignment }}</b> ({{ phase }}), graded {{ graded_at }}.</p>
{% if message %}<p class="fail">{{ message }}</p>{% endif %}
<div class="mastery">
{% if mastered %}<b class="pass">Mastery shown</b>: this assignment counts towards unlocking the next phase.
{% else %}<b>Not mastered yet.</b> Your notebook must pass on every parameter set (seed), not only the default one.{% endif %}
</div>
{% for run in runs %}
<h2>Seed {{ run.parameters.seed }}{% if loop.first %} (default){% endif %}:
 {{ "%g"|format(run.score) }} / {{ "%g"|format(run.max_score) }}</h2>
{% if run.status != "completed" %}<p class="fail">Run {{ run.status }}: {{ run.reason }}</p>{% endif %}
<table><tr><th>Exercise</th><th>Score</th><th>What to look at</th></tr>
{% for cell in run.cells.values() %}
<tr><td>{{ cell.grade_id }}</td>
<td class="{{ 'pass' if cell.score >= cell.points else 'fail' }}">{{ "%g"|format(cell.score) }} / {{ "%g"|format(cell.points) }}</td>
<td>{% if cell.error %}<div class="fail">{{ cell.error }}</div>{% endif %}
{% for check in cell.checks if not check.passed %}
{% if check.misconception %}<div class="mistake"><b>{{ check.name }}</b>: {{ check.advice }}</div>
{% else %}<div><b>{{ check.name }}</b>: {{ check.reason }}</div>{% if check.hint %}<div class="hint">Hint: {{ check.hint }}</div>{% endif %}{% endif %}
{% endfor %}{% if cell.score >= cell.points %}<span class="pass">all checks passed</span>{% endif %}
</td></tr>
{% endfor %}</table>
{% endfor %}
</body></html>
"""

FEEDBACK_SUFFIX = MASTERY_PAGE_SUFFIX
"""Our per-notebook feedback page: mastery across parameter sets, next to nbgrader's page."""


def _render(record: EvidenceRecord, notebook: str, title: str, phase: str, mastered: bool) -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    nb = record.record.notebooks[notebook]
    return env.from_string(_TEMPLATE).render(
        title=title,
        learner=record.learner,
        assignment=record.assignment,
        phase=phase,
        graded_at=record.graded_at,
        message=nb.message,
        mastered=mastered,
        runs=nb.runs,
    )


def write_feedback(
    settings: Settings, curriculum: Curriculum, assignment_id: str, learner: str
) -> list[Path]:
    """Write ``feedback/<learner>/<assignment>/<notebook>.html`` from the latest record."""
    assignment = curriculum.assignment(assignment_id)
    records = [r for r in iter_records(settings, learner) if r.assignment == assignment_id]
    if not records:
        raise NotFound(
            f"no graded submission of {assignment_id!r} for {learner!r}; grade it first: "
            f"autograder grade {assignment_id} --learner {learner}"
        )
    latest = latest_record(records, assignment_id)
    assert latest is not None  # records holds this assignment's records only, and is not empty
    rule = curriculum.phase(assignment.phase_id).mastery
    mastered = assignment_progress(assignment, rule, records).mastered
    phase = assignment_title(curriculum, assignment_id)  # "<phase>: <track>" for a track's assignment
    written = []
    for spec in assignment.notebooks:
        if spec.name not in latest.record.notebooks:
            continue
        html = _render(latest, spec.name, spec.title, phase, mastered)
        # Beside nbgrader's own ``<notebook>.html`` (generate_feedback: scores, written answers
        # and comments), never over it; release_feedback hands the learner both.
        path = settings.feedback_dir / learner / assignment_id / f"{spec.name}{FEEDBACK_SUFFIX}"
        write_bytes_atomic(path, html.encode())
        written.append(path)
    return written


def write_progress_feedback(
    settings: Settings, curriculum: Curriculum, assignment_id: str, learner: str
) -> Path:
    """The learner's progress page as it is now, in their feedback folder for ``assignment_id``.

    Learners on a hub or on nbgrader's exchange never see the state folder; their
    feedback reaches them through the exchange. ``nbgrader release_feedback`` releases
    every page of the folder under a name only the submitting account can work out (a
    hash of their submission's secret and the page's name), and the learners' fetch class
    (``autograder.course.exchange_plugins``) fetches this page and the mastery pages with
    nbgrader's own.
    """
    from .dashboards import write_progress_page

    folder = settings.feedback_dir / learner / assignment_id
    if not folder.is_dir():
        raise NotFound(
            f"no feedback folder for {learner!r} in {assignment_id!r}: run "
            f"`nbgrader generate_feedback {assignment_id}` first"
        )
    return write_progress_page(settings, curriculum, learner, folder / PROGRESS_PAGE)
