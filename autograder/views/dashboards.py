"""Two self-contained HTML pages: a learner's progress page and the instructor's class report.

Both are pure functions of the manifest and the evidence records (the same ones
``mastery.phase_progress`` reads, so a page never disagrees with ``autograder progress``),
rendered to one HTML file with inline CSS and charts as embedded SVG images: no
script, no external URL, so the page opens the same in a browser, in JupyterLab's HTML
viewer (which blocks scripts) or as a mail attachment. Every string that comes from a
learner or from their code (names, error messages) is HTML-escaped.

Scores per exercise come from each learner's latest record of an assignment, under every
parameter set (seed) that record was graded with; that is the record ``mastery``
reports gaps from.
"""

from __future__ import annotations

import functools
import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import nbformat

from ..course.config import Settings
from ..course.curriculum import Assignment, Curriculum, NotebookSpec
from ..course.plan import Plan, PlannedPhase, first_plan, make_plan, saved_settings
from ..grading.evidence import (
    CellResult,
    EvidenceRecord,
    RunResult,
    iter_records,
    known_learners,
    latest_record,
)
from ..grading.reports import grade_cells
from ..grading.storage import write_bytes_atomic
from .charts import Chart, bar_chart, count_ticks, heatmap, histogram, line_chart
from .mastery import Gap, PhaseProgress, assignment_progress, mastery_days, phase_progress
from .mistakes import MistakeCount, class_mistakes, mistakes_section
from .review_queue import ReviewView, queue_rows, review_html, review_view

esc = html.escape


# ---------------------------------------------------------------- what a learner has shown


@dataclass
class ExerciseView:
    """One exercise (an autograded test cell) under every parameter set of the latest record."""

    assignment: str
    notebook: str
    exercise: str
    points: float
    core: bool
    scores: dict[str, float | None] = field(default_factory=dict)
    """Fraction of the points per seed; ``None`` where the run has no such cell."""
    problem: str = ""
    """The first thing that went wrong (an error or a failed check), as the grader worded it."""

    @property
    def full_marks(self) -> bool:
        """At full marks on every parameter set (and graded at all)."""
        return bool(self.scores) and all(v is not None and v >= 1.0 for v in self.scores.values())

    @property
    def label(self) -> str:
        return f"{self.notebook} / {self.exercise}"


@dataclass
class NotebookView:
    spec: NotebookSpec
    scores: dict[str, float] = field(default_factory=dict)
    """Fraction of the notebook's points per seed."""
    status: str = ""
    exercises: list[ExerciseView] = field(default_factory=list)


@dataclass
class AssignmentView:
    assignment: Assignment
    mastered: bool
    records: int
    graded_at: str | None
    seeds: list[str]
    notebooks: list[NotebookView]
    gaps: list[Gap]
    track_title: str = ""
    """For an assignment of a phase's track: that track's title."""


@dataclass
class PhaseView:
    progress: PhaseProgress
    threshold: float
    rule: str
    requires: list[str]
    """Titles of the prerequisites still missing."""
    assignments: list[AssignmentView]
    """The assignments that count (for a phase with tracks: the counting track's), then
    those of the other tracks the learner took."""
    tracks: dict[str, str] = field(default_factory=dict)
    """For a phase with tracks: id -> title of each track."""
    track_choices: str = ""
    """For a phase with tracks: how ``start`` takes them (``--track nlp (...) or ...``)."""

    @property
    def exercises(self) -> list[ExerciseView]:
        """The exercises that count towards the phase (not those of another track taken)."""
        counting = {a.assignment for a in self.progress.assignments}
        return [
            x
            for a in self.assignments
            if a.assignment.id in counting
            for nb in a.notebooks
            for x in nb.exercises
        ]


@dataclass
class NextStep:
    phase: str
    text: str
    exercise: ExerciseView | None = None
    notebook_title: str = ""


@dataclass
class LearnerView:
    learner: str
    course: str
    records: int
    latest: str | None
    phases: list[PhaseView]
    next_step: NextStep | None
    plan: PlanView | None = None
    """The learner's plan, when they made one (``autograder plan``)."""
    review: ReviewView | None = None
    """The learner's review queue (``autograder review``); None leaves the section out."""


@dataclass(frozen=True)
class PlanView:
    """A plan as it stands today, and the first plan it is measured against."""

    now: Plan
    first: tuple[PlannedPhase, ...]


@functools.lru_cache(maxsize=256)
def _grade_cells(path: Path, mtime_ns: int) -> tuple[tuple[str, float], ...]:
    nb = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    return tuple(
        (str(c.metadata.nbgrader["grade_id"]), float(c.metadata.nbgrader.get("points", 0) or 0))
        for c in grade_cells(nb)
    )


def exercise_order(curriculum: Curriculum, assignment_id: str, spec: NotebookSpec) -> list[tuple[str, float]]:
    """(grade_id, points) of a notebook's exercises in notebook order, from the release.

    The release (or else the source) fixes the curriculum order, and lists exercises a
    learner has no evidence for yet.
    """
    for folder in (curriculum.release_dir(assignment_id), curriculum.source_dir(assignment_id)):
        path = folder / spec.file
        try:
            return list(_grade_cells(path, path.stat().st_mtime_ns))
        except (OSError, ValueError, KeyError):
            continue
    return []


def _seed(run: RunResult, index: int) -> str:
    seed = run.seed
    return str(seed) if seed is not None else f"set {index + 1}"


def _problem(cell: CellResult) -> str:
    if cell.error:
        return str(cell.error)
    failed = [c for c in cell.checks if not c.passed]
    for check in sorted(failed, key=lambda c: not c.misconception):  # a named mistake says the most
        if check.misconception:
            return f"{check.name}: {check.advice}"
        hint = f" Hint: {check.hint}" if check.hint else ""
        return f"{check.name}: {check.reason}.{hint}"
    return ""


def _notebook_view(
    curriculum: Curriculum, assignment: Assignment, spec: NotebookSpec, latest: EvidenceRecord | None
) -> NotebookView:
    nb = latest.record.notebooks.get(spec.name) if latest else None
    runs = nb.runs if nb else []
    seeds = [_seed(run, i) for i, run in enumerate(runs)]
    view = NotebookView(spec, status=(nb.message or nb.status) if nb else "")
    for seed, run in zip(seeds, runs):
        view.scores[seed] = run.fraction
    order = exercise_order(curriculum, assignment.id, spec)
    known = {gid for gid, _ in order}
    for run in runs:  # an exercise the release no longer has still shows, after the others
        order += [(gid, float(c.points)) for gid, c in run.cells.items() if gid not in known]
        known |= set(run.cells)
    for grade_id, points in order:
        exercise = ExerciseView(assignment.id, spec.name, grade_id, points, grade_id in spec.core)
        for seed, run in zip(seeds, runs):
            cell = run.cells.get(grade_id)
            if cell is None:
                exercise.scores[seed] = None
                continue
            exercise.scores[seed] = cell.fraction
            if not exercise.problem and not cell.full_marks:
                exercise.problem = _problem(cell)
        view.exercises.append(exercise)
    return view


def learner_view(curriculum: Curriculum, learner: str, records: list[EvidenceRecord]) -> LearnerView:
    """Everything the progress page shows, from one learner's records."""
    phases = []
    titles = {p.id: p.title for p in curriculum.phases}
    for progress in phase_progress(curriculum, records):
        phase = curriculum.phase(progress.phase)
        rule = phase.mastery
        views = []
        others = [
            assignment_progress(a, rule, records)
            for t in phase.tracks
            if t.id in progress.tracks_taken and t.id != progress.track
            for a in t.assignments
        ]
        for item in [*progress.assignments, *others]:
            assignment = curriculum.assignment(item.assignment)
            track = phase.track(assignment.track)
            latest = latest_record(records, assignment.id)
            notebooks = [
                _notebook_view(curriculum, assignment, spec, latest) for spec in assignment.notebooks
            ]
            seeds = list(dict.fromkeys(s for nb in notebooks for s in nb.scores))
            graded_at = latest.graded_at if latest else None
            views.append(
                AssignmentView(
                    assignment,
                    item.mastered,
                    item.records,
                    graded_at,
                    seeds,
                    notebooks,
                    item.gaps,
                    track.title if track else "",
                )
            )
        text = (
            f"every notebook at {rule.min_notebook_score:.0%} or more on every parameter set"
            + (", core exercises at full marks on every parameter set" if rule.core_full_marks else "")
            + f", graded under at least {rule.min_parameter_sets} parameter sets"
        )
        missing = [titles.get(p, p) for p in progress.missing_prerequisites]
        tracks = {t.id: t.title for t in phase.tracks}
        view = PhaseView(
            progress, rule.min_notebook_score, text, missing, views, tracks, phase.track_choices()
        )
        phases.append(view)
    last_graded = max((r.graded_at for r in records), default=None)
    return LearnerView(learner, curriculum.title, len(records), last_graded, phases, next_step(phases))


def next_step(phases: list[PhaseView]) -> NextStep | None:
    """The first exercise, in curriculum order, of the first unlocked phase not yet mastered,
    that is not at full marks on every parameter set; ``None`` once every phase is mastered.
    """
    for phase in phases:
        if phase.progress.mastered:
            continue
        title = phase.progress.title
        if phase.progress.locked:
            return NextStep(
                phase.progress.phase, f"{title} is locked until {', '.join(phase.requires)} is mastered"
            )
        if phase.progress.planned:
            return NextStep(phase.progress.phase, f"{title} is unlocked; its notebooks are coming")
        if phase.tracks and phase.progress.track is None:
            return NextStep(
                phase.progress.phase,
                f"{title} is unlocked; choose a track: autograder start {phase.progress.phase} "
                f"{phase.track_choices}",
            )
        counting = {a.assignment for a in phase.progress.assignments}
        for assignment in (a for a in phase.assignments if a.assignment.id in counting):
            for nb in assignment.notebooks:
                for exercise in nb.exercises:
                    if not exercise.full_marks:
                        if not exercise.scores:  # never graded, or the notebook could not be
                            why = nb.status if nb.status not in ("", "graded") else "not graded yet"
                        else:
                            got = ", ".join(
                                f"{'-' if v is None else f'{v:.0%}'} with seed {s}"
                                for s, v in exercise.scores.items()
                            )
                            why = f"scored {got}; it needs full marks on every seed"
                        return NextStep(phase.progress.phase, why, exercise, nb.spec.title)
        gaps = [g.problem for a in phase.assignments if a.assignment.id in counting for g in a.gaps]
        return NextStep(phase.progress.phase, "; ".join(gaps) or f"submit {title} again to show mastery")
    return None


# ---------------------------------------------------------------- HTML


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
body { color: #222; }
h1 { margin-bottom: .2rem; } section { margin: 2rem 0; } img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .8rem 0; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left; vertical-align: top; }
.badge { font-size: .8rem; padding: .1rem .5rem; border-radius: .8rem; vertical-align: middle; }
.mastered { background: #d8f0dd; color: #145c2a; } .unlocked { background: #dde8f8; color: #0b3c7d; }
.locked { background: #eee; color: #555; }
.pass { color: #1a7f37; } .fail { color: #c62828; } .muted { color: #666; }
.next { padding: .8rem 1rem; border-left: 4px solid #0072B2; background: #f2f7fc; }
.next.done { border-left-color: #009E73; background: #eef8f3; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def _table(head: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A table from already-escaped cells."""
    top = "".join(f"<th>{h}</th>" for h in head)
    lines = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{lines}</table>"


def _badge(state: str) -> str:
    css = "mastered" if state == "mastered" else "locked" if state == "locked" else "unlocked"
    return f'<span class="badge {css}">{esc(state)}</span>'


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") + " UTC" if stamp else "never"


def _notebook_chart(phase: PhaseView) -> Chart | None:
    notebooks = [nb for a in phase.assignments for nb in a.notebooks]
    if not any(nb.scores for nb in notebooks):
        return None
    default = [next(iter(nb.scores.values()), None) for nb in notebooks]
    series: dict[str, list[float | None]] = {"default seed": default}
    if any(len(nb.scores) > 1 for nb in notebooks):
        series["lowest other seed"] = [min(list(nb.scores.values())[1:], default=None) for nb in notebooks]
    return bar_chart(
        [nb.spec.name for nb in notebooks],
        series,
        title=f"{phase.progress.title}: notebook scores",
        threshold=phase.threshold,
        threshold_label=f"mastery needs {phase.threshold:.0%}",
    )


def _exercise_heatmap(assignment: AssignmentView) -> Chart | None:
    exercises = [x for nb in assignment.notebooks for x in nb.exercises]
    if not assignment.seeds or not exercises:
        return None
    return heatmap(
        [x.label + (" (core)" if x.core else "") for x in exercises],
        [f"seed {s}" for s in assignment.seeds],
        [[x.scores.get(s) for s in assignment.seeds] for x in exercises],
        title=f"{assignment.assignment.id}: exercises x parameter sets",
    )


def _assignment_html(view: AssignmentView) -> str:
    state = "mastered" if view.mastered else "not mastered yet"
    track = f" ({view.track_title} track)" if view.track_title else ""
    parts = [
        f"<h3>{esc(view.assignment.id)}{esc(track)}: {esc(state)}</h3>",
        f'<p class="muted">{view.records} graded submission(s); '
        f"latest graded {esc(_when(view.graded_at))}.</p>",
    ]
    chart = _exercise_heatmap(view)
    if chart:
        parts.append(f'<div class="charts">{chart.img()}</div>')
    seeds = view.seeds
    head = ["Exercise", "Points", *(f"seed {esc(s)}" for s in seeds), "Full marks on every seed", "Look at"]
    for nb in view.notebooks:
        rows = []
        for x in nb.exercises:
            mark = '<b class="pass">yes</b>' if x.full_marks else '<b class="fail">no</b>'
            rows.append(
                [esc(x.exercise) + (" (core)" if x.core else ""), f"{x.points:g}"]
                + [_pct(x.scores.get(s)) for s in seeds]
                + [mark, esc(x.problem)]
            )
        parts.append(f'<h4>{esc(nb.spec.title)} <span class="muted">({esc(nb.spec.file)})</span></h4>')
        parts.append(_table(head, rows))
    if view.gaps:
        items = "".join(
            f"<li>{esc(g.notebook if g.notebook != '*' else view.assignment.id)}"
            f"{'' if g.exercise == '*' else ' / ' + esc(g.exercise)}: {esc(g.problem)}</li>"
            for g in view.gaps
        )
        parts.append(f"<p>What stands in the way of mastery:</p><ul>{items}</ul>")
    return "\n".join(parts)


def _tracks_html(phase: PhaseView) -> list[str]:
    """For a phase with tracks: which one counts, which others were taken, or how to choose."""
    p = phase.progress
    if not phase.tracks or p.locked or p.planned:
        return []
    if p.track is None:
        return [
            f"<p>Choose a track: <code>autograder start {esc(p.phase)} --track ID</code>, "
            f"with {esc(phase.track_choices)}. Mastering either track masters the phase.</p>"
        ]
    others = [phase.tracks[t] for t in p.tracks_taken if t != p.track]
    also = f" You also took: {esc(', '.join(others))}." if others else ""
    verb = "Mastered with" if p.mastered else "Your track:"
    return [f"<p>{verb} <b>{esc(phase.tracks[p.track])}</b>.{also}</p>"]


def _phase_html(phase: PhaseView) -> str:
    p = phase.progress
    parts = [f'<section id="{esc(p.phase)}"><h2>{esc(p.title)} {_badge(p.state)}</h2>']
    if p.locked:
        parts.append(f"<p>Locked: it needs <b>{esc(', '.join(phase.requires))}</b> mastered first.</p>")
    elif p.planned:
        parts.append("<p>Unlocked; its notebooks are coming.</p>")
    parts += _tracks_html(phase)
    parts.append(f'<p class="muted">Mastery means {esc(phase.rule)}.</p>')
    chart = _notebook_chart(phase)
    if chart:
        parts.append(f'<div class="charts">{chart.img()}</div>')
        rows = []
        for a in phase.assignments:
            for nb in a.notebooks:
                values = list(nb.scores.values())
                ok = bool(values) and min(values) >= phase.threshold
                mark = '<b class="pass">yes</b>' if ok else '<b class="fail">no</b>'
                scores = ", ".join(f"{_pct(v)} (seed {esc(s)})" for s, v in nb.scores.items()) or "-"
                rows.append([esc(nb.spec.title), scores, f"{phase.threshold:.0%}", mark, esc(nb.status)])
        parts.append(_table(["Notebook", "Score per seed", "Needs", "Above on every seed", "Note"], rows))
    for a in phase.assignments:
        if a.records:
            parts.append(_assignment_html(a))
        elif not p.locked:
            parts.append(f"<p>{esc(a.assignment.id)}: no graded submission yet.</p>")
    if p.locked and not any(a.records for a in phase.assignments):
        titles = [nb.spec.title for a in phase.assignments for nb in a.notebooks]
        if titles:
            parts.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in titles) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _completed_html(view: LearnerView) -> str:
    """The end of the path: every phase mastered, with the track that counted where there was one."""
    items = "".join(
        f"<li>{esc(p.progress.title)}"
        f"{f' ({esc(p.tracks[p.progress.track])} track)' if p.progress.track else ''}</li>"
        for p in view.phases
    )
    return (
        '<div class="next done"><b>You have completed the guide.</b> Every phase of '
        f"{esc(view.course)} is mastered, on every parameter set the grader ran:<ul>{items}</ul>"
        "Your graded notebooks are the evidence: keep them, and keep practising.</div>"
    )


def render_progress_page(view: LearnerView) -> str:
    parts = [
        f"<h1>Progress of {esc(view.learner)}</h1>",
        f'<p class="muted">{esc(view.course)}. {view.records} graded submission(s); '
        f"the latest graded {esc(_when(view.latest))}.</p>",
    ]
    step = view.next_step
    if step is None:
        parts.append(_completed_html(view))
    elif step.exercise is not None:
        x = step.exercise
        look = f"<br>Look at: {esc(x.problem)}" if x.problem else ""
        parts.append(
            f'<div class="next"><b>Next exercise:</b> <code>{esc(x.exercise)}</code> in '
            f"<b>{esc(step.notebook_title)}</b> ({esc(x.assignment)}/{esc(x.notebook)}.ipynb): "
            f"{esc(step.text)}.{look}</div>"
        )
    else:
        parts.append(f'<div class="next"><b>Next:</b> {esc(step.text)}.</div>')
    rows = []
    for phase in view.phases:
        p = phase.progress
        why = f"needs {', '.join(phase.requires)} mastered" if p.locked else ""
        rows.append([f'<a href="#{esc(p.phase)}">{esc(p.title)}</a>', _badge(p.state), esc(why)])
    parts.append(_table(["Phase", "State", "Why"], rows))
    if view.plan is not None:
        parts.append(_plan_html(view.plan))
    if view.review is not None:
        parts.append(review_html(view.learner, view.review))
    parts += [_phase_html(phase) for phase in view.phases]
    return _page(f"Progress of {view.learner}", "\n".join(parts))


def write_progress_page(settings: Settings, curriculum: Curriculum, learner: str, path: Path) -> Path:
    """Write ``learner``'s progress page to ``path`` (atomically) and return ``path``."""
    records = list(iter_records(settings, learner))
    view = learner_view(curriculum, learner, records)
    view.plan = plan_view(settings, curriculum, learner, records, today=date.today())
    queue = review_view(settings, curriculum, learner, records, now=datetime.now(UTC))
    view.review = queue if queue.cards else None  # no cards yet: no section (LEARNING.md says how they come)
    write_bytes_atomic(path, render_progress_page(view).encode())
    return path


def plan_view(
    settings: Settings, curriculum: Curriculum, learner: str, records: list[EvidenceRecord], *, today: date
) -> PlanView | None:
    """The learner's saved plan re-made from their evidence on ``today`` (None without one)."""
    chosen = saved_settings(settings.state_dir, learner)
    if chosen is None:
        return None
    tracks = {p.phase: p.track for p in phase_progress(curriculum, records) if p.track}
    now = make_plan(
        curriculum, learner, chosen, today=today, mastered_on=mastery_days(curriculum, records), tracks=tracks
    )
    return PlanView(now, tuple(first_plan(curriculum, chosen)))


def _weeks_between(start: date, end: date) -> float:
    return max(0.0, (end - start).days / 7)


def _plan_html(plan: PlanView) -> str:
    """The plan in a sentence, and per phase the weeks the first plan gave against now's."""
    now, s = plan.now, plan.now.settings
    current = now.current
    parts = [
        f"<h2>Your plan</h2><p>{s.hours_per_week:g} hours a week from {esc(s.start.isoformat())}"
        + (f", for {esc(s.goal)}" if s.goal else "")
        + f". Target end: <b>{esc(now.finish.isoformat())}</b> (the rest planned at {now.pace:g} h a week, "
        f"{esc(now.pace_source)}).</p>"
    ]
    if current is not None:
        late = (
            f", {current.behind_weeks:g} weeks behind the first plan" if current.behind_weeks else ", on time"
        )
        parts.append(
            f"<p>Now: <b>{esc(current.title)}</b>, planned to {esc(current.end.isoformat())}{late}. "
            "Re-plan with <code>autograder plan --learner "
            f"{esc(now.learner)}</code>; add <code>--ics PATH</code> for your calendar.</p>"
        )
    titles = [p.title for p in now.phases]
    first = [_weeks_between(p.start, p.end) for p in plan.first]
    actual = [_weeks_between(p.start, p.end) for p in now.phases]
    peak = max([*first, *actual, 1.0])
    chart = bar_chart(
        titles,
        {"first plan (weeks)": first, "now: done or planned (weeks)": actual},
        title="Weeks per phase: the first plan against now",
        max_value=peak,
        ticks=count_ticks(peak),
        fmt=lambda v: f"{v:.0f}",
    )
    parts.append(f'<div class="charts">{chart.img()}</div>')
    return "\n".join(parts)


# ---------------------------------------------------------------- the class


@dataclass
class ExerciseStats:
    assignment: str
    notebook: str
    exercise: str
    core: bool
    values: list[float]
    """Per graded learner: the mean fraction of the points over the parameter sets."""
    full_marks: int
    """Learners at full marks on every parameter set."""

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None

    @property
    def label(self) -> str:
        return f"{self.notebook} / {self.exercise}"


@dataclass
class PhaseStats:
    phase: str
    title: str
    locked: int
    unlocked: int
    """Unlocked but not mastered."""
    mastered: int
    blockers: list[tuple[str, int]]
    """(exercise, learners stuck in this phase without full marks on it), most first."""
    tracks: list[tuple[str, str, int]] = field(default_factory=list)
    """For a phase with tracks: (id, title, learners who took it); a learner may take both."""


@dataclass
class ClassView:
    course: str
    learners: list[str]
    records: int
    latest: str | None
    phases: list[PhaseStats]
    exercises: list[ExerciseStats]
    dates: list[str]
    mastered_by_date: dict[str, list[int]]
    """Phase title -> learners who had mastered it by the end of each date."""
    plans: dict[str, PlanView] = field(default_factory=dict)
    """Learner -> their plan as it stands, for the learners who made one."""
    queues: dict[str, ReviewView] = field(default_factory=dict)
    """Learner -> their review queue today."""
    mistakes: list[MistakeCount] = field(default_factory=list)
    """The known mistakes the class's latest submissions were told, most learners first."""

    def hardest(self, limit: int = 10) -> list[ExerciseStats]:
        graded = [x for x in self.exercises if x.values]
        return sorted(graded, key=lambda x: (x.mean, -len(x.values)))[:limit]


def _phase_blockers(states: list[PhaseView]) -> list[tuple[str, int]]:
    """Exercises not at full marks among learners stuck in a phase, most first: what blocks them."""
    stuck: Counter[str] = Counter()
    for state in states:
        if state.progress.state == "unlocked":  # open and ready, not mastered
            stuck.update(x.label for x in state.exercises if not x.full_marks)
    order = {x.label: k for state in states for k, x in enumerate(state.exercises)}
    return sorted(stuck.items(), key=lambda kv: (-kv[1], order.get(kv[0], 0)))


def _phase_stats(curriculum: Curriculum, views: dict[str, LearnerView], keep: set[str]) -> list[PhaseStats]:
    """Per kept phase, how many learners are locked, stuck or done, in curriculum order."""
    phases = []
    for i, phase in enumerate(curriculum.phases):
        if phase.id not in keep:
            continue
        states = [v.phases[i] for v in views.values()]
        phases.append(
            PhaseStats(
                phase.id,
                phase.title,
                sum(s.progress.locked for s in states),
                sum(s.progress.unlocked for s in states),
                sum(s.progress.mastered for s in states),
                _phase_blockers(states),
                [(t.id, t.title, sum(t.id in s.progress.tracks_taken for s in states)) for t in phase.tracks],
            )
        )
    return phases


def _empty_exercise_stats(
    curriculum: Curriculum, only: Assignment | None
) -> dict[tuple[str, str, str], ExerciseStats]:
    """Every gradable exercise in curriculum order, so an exercise nobody tried still shows up."""
    exercises: dict[tuple[str, str, str], ExerciseStats] = {}
    for item in curriculum.assignments():
        if (only and item.id != only.id) or curriculum.phase(item.phase_id).planned:
            continue
        for spec in item.notebooks:
            for grade_id, _ in exercise_order(curriculum, item.id, spec):
                key = (item.id, spec.name, grade_id)
                exercises[key] = ExerciseStats(item.id, spec.name, grade_id, grade_id in spec.core, [], 0)
    return exercises


def _add_exercise_scores(
    exercises: dict[tuple[str, str, str], ExerciseStats], views: dict[str, LearnerView]
) -> None:
    """Add each learner's mean score over seeds; exercises not in ``exercises`` are out of scope."""
    for view in views.values():
        for phase_view in view.phases:
            for a in phase_view.assignments:
                if not a.records:
                    continue
                for x in (x for nb in a.notebooks for x in nb.exercises):
                    stats = exercises.get((x.assignment, x.notebook, x.exercise))
                    values = [v for v in x.scores.values() if v is not None]
                    if stats is None or not values:
                        continue
                    stats.values.append(sum(values) / len(values))
                    stats.full_marks += x.full_marks


def class_view(
    curriculum: Curriculum,
    records_by_learner: dict[str, list[EvidenceRecord]],
    assignment: str | None = None,
) -> ClassView:
    """The class report's numbers; ``assignment`` narrows it to that assignment and its phase."""
    only = curriculum.assignment(assignment) if assignment else None
    keep = {only.phase_id} if only else {p.id for p in curriculum.phases}
    views = {n: learner_view(curriculum, n, recs) for n, recs in records_by_learner.items()}
    phases = _phase_stats(curriculum, views, keep)
    exercises = _empty_exercise_stats(curriculum, only)
    _add_exercise_scores(exercises, views)
    all_records = [r for recs in records_by_learner.values() for r in recs]
    dates, by_date = mastery_over_time(curriculum, records_by_learner, keep)
    return ClassView(
        curriculum.title,
        sorted(records_by_learner),
        len(all_records),
        max((r.graded_at for r in all_records), default=None),
        phases,
        list(exercises.values()),
        dates,
        by_date,
        mistakes=class_mistakes(records_by_learner, assignment),
    )


def mastery_over_time(
    curriculum: Curriculum, records_by_learner: dict[str, list[EvidenceRecord]], phases: set[str]
) -> tuple[list[str], dict[str, list[int]]]:
    """(dates of evidence, phase title -> learners who had mastered it by each date).

    Each count is ``phase_progress`` of the records graded up to that day, so it agrees
    with what a learner saw then; mastery once shown stays shown.
    """
    dates = sorted({r.graded_at[:10] for recs in records_by_learner.values() for r in recs})
    titled = [p for p in curriculum.phases if p.id in phases and not p.planned]
    counts = {p.title: [0] * len(dates) for p in titled}
    for recs in records_by_learner.values():
        mastered: set[str] = set()
        own = {r.graded_at[:10] for r in recs}
        for i, day in enumerate(dates):
            if day in own:
                upto = [r for r in recs if r.graded_at[:10] <= day]
                mastered = {p.phase for p in phase_progress(curriculum, upto) if p.mastered}
            for p in titled:
                counts[p.title][i] += p.id in mastered
    return dates, counts


def _count(value: float) -> str:
    return f"{value:g}"


def _blocked_section(view: ClassView, n: int) -> list[str]:
    """Where learners are blocked: phase states as a chart and a table naming the worst blocker."""
    parts = ["<section><h2>Where learners are blocked</h2>"]
    if view.phases and n:
        chart = bar_chart(
            [p.phase for p in view.phases],
            {
                "locked": [p.locked for p in view.phases],
                "unlocked, not mastered": [p.unlocked for p in view.phases],
                "mastered": [p.mastered for p in view.phases],
            },
            title="Learners per phase state",
            max_value=max(n, 1),
            ticks=count_ticks(n),
            fmt=_count,
        )
        parts.append(f'<div class="charts">{chart.img()}</div>')
    rows = []
    with_tracks = any(p.tracks for p in view.phases)  # a column only for a course with tracks
    for p in view.phases:
        top = p.blockers[0] if p.blockers else None
        blocker = f"{esc(top[0])} ({top[1]} learner(s))" if top else "-"
        tracks = [esc(", ".join(f"{title}: {n}" for _, title, n in p.tracks) or "-")] if with_tracks else []
        rows.append([esc(p.title), str(p.locked), str(p.unlocked), str(p.mastered), *tracks, blocker])
    head = [
        "Phase",
        "Locked",
        "Unlocked, not mastered",
        "Mastered",
        *(["Tracks taken (learners)"] if with_tracks else []),
        "Blocks most (no full marks on every seed)",
    ]
    parts.append(_table(head, rows) + "</section>")
    return parts


def _mastery_section(view: ClassView) -> list[str]:
    """Mastery over time, so an instructor sees whether the class is moving."""
    parts = ["<section><h2>Mastery over time</h2>"]
    if view.dates and view.mastered_by_date:
        chart = line_chart(
            view.dates,
            view.mastered_by_date,
            title="Learners who have mastered each phase",
            y_label="learners",
        )
        parts.append(f'<div class="charts">{chart.img()}</div>')
        rows = [
            [esc(d)] + [str(c[i]) for c in view.mastered_by_date.values()] for i, d in enumerate(view.dates)
        ]
        parts.append(_table(["Date", *(esc(t) for t in view.mastered_by_date)], rows))
    else:
        parts.append("<p>No evidence yet.</p>")
    parts.append("</section>")
    return parts


def _hardest_section(view: ClassView) -> list[str]:
    """The exercises with the lowest mean score, where teaching time pays off most."""
    hardest = view.hardest()
    parts = ["<section><h2>Hardest exercises</h2>"]
    if hardest:
        chart = bar_chart(
            [x.label for x in hardest],
            {"mean score": [x.mean for x in hardest]},
            title="Lowest mean fraction of the points",
        )
        parts.append(f'<div class="charts">{chart.img()}</div>')
        rows = [
            [
                str(i),
                esc(x.exercise) + (" (core)" if x.core else ""),
                esc(x.notebook),
                esc(x.assignment),
                _pct(x.mean),
                f"{x.full_marks} of {len(x.values)}",
            ]
            for i, x in enumerate(hardest, start=1)
        ]
        head = ["#", "Exercise", "Notebook", "Assignment", "Mean score", "Full marks on every seed"]
        parts.append(_table(head, rows))
    else:
        parts.append("<p>No graded exercise yet.</p>")
    parts.append("</section>")
    return parts


def _distribution_section(view: ClassView) -> list[str]:
    """One histogram per graded exercise, since a mean hides a split class."""
    parts = ["<section><h2>Score distribution per exercise</h2>"]
    graded = [x for x in view.exercises if x.values]
    if graded:
        edges = [i / 10 for i in range(11)]
        charts = [
            histogram(x.values, edges, title=x.label, x_label=f"score ({len(x.values)} learners)").img()
            for x in graded
        ]
        parts.append(f'<div class="charts">{"".join(charts)}</div>')
    else:
        parts.append("<p>No graded exercise yet.</p>")
    parts.append("</section>")
    return parts


def render_class_report(view: ClassView, assignment: str | None = None) -> str:
    """The instructor's class report as one self-contained HTML page."""
    n = len(view.learners)
    scope = f" ({assignment})" if assignment else ""
    parts = [
        f"<h1>Class report{esc(scope)}</h1>",
        f'<p class="muted">{esc(view.course)}. {n} learner(s), {view.records} evidence record(s), '
        f"the latest graded {esc(_when(view.latest))}. Exercise scores are each learner's latest graded "
        "submission, as a fraction of the points averaged over the parameter sets it was graded under.</p>",
        *_blocked_section(view, n),
        *_mastery_section(view),
        *_hardest_section(view),
        *mistakes_section(view.mistakes, n),
        *_distribution_section(view),
        *_plans_section(view),
        *_queues_section(view),
    ]
    return _page(f"Class report{scope}", "\n".join(parts))


def _plans_section(view: ClassView) -> list[str]:
    """Who is behind the plan they made, most behind first (learners without a plan left out)."""
    if not view.plans:
        return []
    rows = []
    ordered = sorted(view.plans.items(), key=lambda item: (-_behind(item[1]), item[0]))
    for learner, plan in ordered:
        current = plan.now.current
        rows.append(
            [
                esc(learner),
                f"{plan.now.settings.hours_per_week:g}",
                esc(current.title) if current else "every phase mastered",
                esc(current.end.isoformat()) if current else "-",
                f"{_behind(plan):g}" if current else "-",
                esc(plan.now.finish.isoformat()),
            ]
        )
    header = ["Learner", "Hours a week", "Phase now", "Planned to", "Weeks behind", "Target end"]
    return [
        "<h2>Plans</h2>",
        f"<p>{len(view.plans)} of {len(view.learners)} learner(s) made a plan "
        "(<code>autograder plan</code>); behind means today is past the end their first plan "
        "gave the phase they are in.</p>",
        _table(header, rows),
    ]


def _queues_section(view: ClassView) -> list[str]:
    """Each learner's review queue: its size, what is due today, the retention their reviews show."""
    rows = queue_rows(view.queues)
    if not rows:
        return []
    return [
        "<h2>Review queues</h2>",
        f"<p>{len(rows)} of {len(view.learners)} learner(s) have review cards (exercises they got right "
        "after getting them wrong, and phase 5's drills); most due first.</p>",
        _table(["Learner", "Cards", "Due today", "Retention"], rows),
    ]


def _behind(plan: PlanView) -> float:
    current = plan.now.current
    return current.behind_weeks if current else 0.0


def class_records(settings: Settings) -> dict[str, list[EvidenceRecord]]:
    """Every known learner's records, oldest first; a learner without any has an empty list."""
    records: dict[str, list[EvidenceRecord]] = {n: [] for n in known_learners(settings)}
    for record in iter_records(settings):
        records.setdefault(record.learner, []).append(record)
    return records


def write_class_report(
    settings: Settings, curriculum: Curriculum, path: Path, assignment: str | None = None
) -> ClassView:
    """Write the class report of every known learner to ``path``; return its numbers."""
    records = class_records(settings)
    view = class_view(curriculum, records, assignment)
    now = datetime.now(UTC)
    today = now.date()
    for learner, mine in records.items():
        plan = plan_view(settings, curriculum, learner, mine, today=today)
        if plan is not None:
            view.plans[learner] = plan
        view.queues[learner] = review_view(settings, curriculum, learner, mine, now=now)
    write_bytes_atomic(path, render_class_report(view, assignment).encode())
    return view
