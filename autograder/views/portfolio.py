"""A learner's portfolio: one self-contained page, built from evidence, that an employer can read.

It shows the phases mastered (with the day each was first mastered), the competition's
private-leaderboard rank, the projects (the manifest's notebooks with a ``portfolio`` list:
the phase 3 pipeline, the phase 4 evaluation, the phase 5 model card) with the learner's
own written answers and the score a person gave them, every assignment's score under
every parameter set, and the executed notebooks the learner chose, rendered by nbconvert.
Each item ends with a verification line (the evidence record, the submission's and the
notebook's SHA-256, the grader version and the time it was graded), so a reader can match
it with the grader's evidence.

Nothing hidden reaches the page: notebooks and learner markdown go through
``public_notebook.py``, and a page that would load or run anything is refused.

The learner's choice of notebooks is kept in the state folder
(``portfolios/<learner>.json``, beside ``plans/``), so that a later run reuses it.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from pygments.formatters import HtmlFormatter

from ..course.config import Settings
from ..course.curriculum import Assignment, Curriculum, NotebookSpec, UnknownName
from ..errors import AutograderError, NotFound
from ..grading.evidence import EvidenceRecord, NotebookResult, iter_records, known_learners, latest_record
from ..grading.gradebook import PersonScore, person_scores
from ..grading.storage import write_bytes_atomic, write_json_atomic
from .charts import Chart, bar_chart
from .leaderboard import LeaderboardError, leaderboard
from .mastery import assignment_progress, guide_completed, mastery_days, phase_progress
from .public_notebook import offline_problems, render_markdown, render_notebook

esc = html.escape

GENERATOR = "autograder portfolio"
"""The page's ``<meta name="generator">``: a file that has it is ours to overwrite."""


class BadPortfolio(AutograderError, ValueError):
    """A portfolio asked for with a notebook choice or a path it cannot be made with."""


# ---------------------------------------------------------------- what the page shows


@dataclass(frozen=True)
class Verification:
    """What ties an item to the grader's evidence record."""

    record: str
    """The evidence record's folder name (``<graded-at>-<submission hash>``)."""
    assignment: str
    submission_sha256: str
    files: tuple[tuple[str, str], ...]
    """(file, SHA-256) of the files the item is about."""
    grader_version: str
    graded_at: str

    @classmethod
    def of(cls, record: EvidenceRecord, notebook: str | None = None) -> Verification:
        files = record.record.submission.files
        if notebook is not None:
            shown = {f"{notebook}.ipynb": files.get(f"{notebook}.ipynb", "")}
        else:
            shown = dict(files)
        return cls(
            record.path.name,
            record.assignment,
            record.record.submission.sha256,
            tuple(sorted(shown.items())),
            record.record.grader_version,
            record.graded_at,
        )

    def line(self) -> str:
        files = "; ".join(f"{name} sha256 {digest or 'not recorded'}" for name, digest in self.files)
        return (
            f"Verification: evidence record {self.assignment}/{self.record}, graded {_when(self.graded_at)} "
            f"by autograder {self.grader_version or '(version not recorded)'}; submission sha256 "
            f"{self.submission_sha256}" + (f"; {files}" if files else "")
        )


@dataclass(frozen=True)
class PhaseLine:
    phase: str
    title: str
    state: str
    mastered_on: date | None
    track: str = ""
    """For a phase with tracks: the title of the track that counts."""


@dataclass(frozen=True)
class CompetitionLine:
    assignment: str
    metric: str
    rank: int | None
    ranked: int
    """Learners with a private score."""
    private: float | None
    public: float | None
    note: str
    verification: Verification | None

    def text(self) -> str:
        if self.rank is None or self.private is None:
            return f"{self.assignment}: {self.note}"
        return (
            f"{_ordinal(self.rank)} of {self.ranked} by private score, metric {self.metric} "
            f"(private {self.private:.4f}, public {_num(self.public)})"
        )


@dataclass(frozen=True)
class WrittenAnswer:
    grade_id: str
    points: float
    answered: bool
    html: str
    """The learner's answer rendered (escaped markdown, or a code block); empty if unanswered."""
    person: PersonScore | None

    def status(self) -> str:
        if not self.answered:
            return f"not answered (0 / {self.points:g})"
        if self.person is None or self.person.score is None:
            return f"awaiting a grader ({self.points:g} points)"
        review = "; the grader is asked to review it after a re-grade" if self.person.needs_review else ""
        return f"scored {self.person.score:g} / {self.points:g} by a grader{review}"


@dataclass(frozen=True)
class Project:
    phase_title: str
    assignment: str
    notebook: str
    title: str
    scores: tuple[tuple[str, float], ...]
    """(seed, fraction of the autograded points) per parameter set."""
    answers: tuple[WrittenAnswer, ...]
    verification: Verification
    note: str = ""


@dataclass(frozen=True)
class AssignmentLine:
    phase_title: str
    assignment: str
    mastered: bool
    scores: tuple[tuple[str, float, float], ...]
    """(seed, score, points) per parameter set of the latest record."""
    graded_at: str
    verification: Verification


@dataclass(frozen=True)
class RenderedNotebook:
    assignment: str
    notebook: str
    title: str
    seed: str
    html: str
    verification: Verification


@dataclass
class PortfolioView:
    learner: str
    course: str
    today: date
    phases: list[PhaseLine]
    completed: bool
    competitions: list[CompetitionLine]
    projects: list[Project]
    assignments: list[AssignmentLine]
    notebooks: list[RenderedNotebook] = field(default_factory=list)


# ---------------------------------------------------------------- the learner's choice


def choice_file(state_dir: Path, learner: str) -> Path:
    """Where a learner's choice of notebooks lives: the state folder, beside their plan."""
    return state_dir / "portfolios" / f"{learner}.json"


def saved_choice(state_dir: Path, learner: str) -> list[str]:
    """The notebooks the learner chose last time (``assignment/notebook``); none before."""
    path = choice_file(state_dir, learner)
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return [str(item) for item in data.get("notebooks", [])]


def save_choice(state_dir: Path, learner: str, notebooks: Sequence[str]) -> Path:
    path = choice_file(state_dir, learner)
    write_json_atomic(path, {"notebooks": list(notebooks)})
    return path


def resolve_choice(
    curriculum: Curriculum, records: list[EvidenceRecord], learner: str, choice: str
) -> tuple[EvidenceRecord, NotebookSpec]:
    """``assignment/notebook`` as the learner wrote it: a notebook with a graded run to show."""
    assignment_id, _, name = choice.strip().partition("/")
    if not assignment_id or not name:
        raise BadPortfolio(
            f"--notebook {choice!r}: expected ASSIGNMENT/NOTEBOOK, for instance "
            "phase1-foundations/01-python-numpy"
        )
    try:
        assignment = curriculum.assignment(assignment_id)
        spec = assignment.notebook(name.removesuffix(".ipynb"))
    except UnknownName as exc:
        known = ", ".join(
            f"{assignment_id}/{nb.name}"
            for a in curriculum.assignments()
            if a.id == assignment_id
            for nb in a.notebooks
        )
        hint = f"; its notebooks: {known}" if known else ""
        raise BadPortfolio(f"--notebook {choice!r}: {exc.args[0] if exc.args else exc}{hint}") from None
    latest = latest_record(records, assignment.id)
    nb = latest.record.notebooks.get(spec.name) if latest else None
    if latest is None or nb is None or not nb.runs or not (latest.path / _executed(spec.name, nb)).is_file():
        raise NotFound(
            f"--notebook {choice!r}: {learner} has no graded run of it to show; submit it first "
            f"(autograder submit {assignment.id} --learner {learner}) or choose another notebook"
        )
    return latest, spec


# ---------------------------------------------------------------- building the view


def portfolio_view(
    settings: Settings,
    curriculum: Curriculum,
    learner: str,
    notebooks: Sequence[str] | None = None,
    *,
    today: date | None = None,
) -> PortfolioView:
    """Everything the portfolio shows, from ``learner``'s evidence and nbgrader's gradebook.

    ``notebooks``: the executed notebooks to render (``assignment/notebook``); None takes
    the learner's saved choice. Raises ``NotFound`` for an unknown learner, a learner with
    no evidence, or a chosen notebook with no graded run, and ``BadPortfolio`` for a choice
    that names no notebook of the manifest.
    """
    if learner not in known_learners(settings):
        known = ", ".join(known_learners(settings)) or "none"
        raise NotFound(f"unknown learner {learner!r}; known learners: {known}")
    records = list(iter_records(settings, learner))
    if not records:
        raise NotFound(
            f"{learner} has no graded submission yet, so there is nothing to show; submit an "
            f"assignment first: autograder submit ASSIGNMENT --learner {learner}"
        )
    chosen = list(
        dict.fromkeys(notebooks if notebooks is not None else saved_choice(settings.state_dir, learner))
    )
    resolved = [resolve_choice(curriculum, records, learner, c) for c in chosen]
    progress = phase_progress(curriculum, records)
    days = mastery_days(curriculum, records)
    phases = []
    for p in progress:
        phase = curriculum.phase(p.phase)
        track = phase.track(p.track)
        phases.append(PhaseLine(p.phase, p.title, p.state, days.get(p.phase), track.title if track else ""))
    view = PortfolioView(
        learner,
        curriculum.title,
        today or date.today(),
        phases,
        guide_completed(progress),
        _competitions(settings, curriculum, records),
        [],
        [],
    )
    _add_assignments(settings, curriculum, records, view)
    for record, spec in resolved:
        view.notebooks.append(_rendered(settings, record, spec))
    return view


def _add_assignments(
    settings: Settings, curriculum: Curriculum, records: list[EvidenceRecord], view: PortfolioView
) -> None:
    """Each assignment with a graded submission (scores per seed), and its notebooks that are
    projects (with their written answers), in curriculum order."""
    learner = view.learner
    manual_cache: dict[str, dict[tuple[str, str], PersonScore]] = {}
    for phase in curriculum.phases:
        for assignment in phase.all_assignments():
            latest = latest_record(records, assignment.id)
            if latest is None:
                continue
            mastered = assignment_progress(assignment, phase.mastery, records).mastered
            view.assignments.append(_assignment_line(phase.title, assignment, latest, mastered))
            for spec in assignment.notebooks:
                if spec.portfolio:
                    if assignment.id not in manual_cache:
                        manual_cache[assignment.id] = person_scores(settings, assignment.id, learner)
                    view.projects.append(
                        _project(settings, phase.title, latest, spec, manual_cache[assignment.id])
                    )


def _assignment_line(
    phase_title: str, assignment: Assignment, latest: EvidenceRecord, mastered: bool
) -> AssignmentLine:
    record = latest.record
    scores = []
    for index, parameters in enumerate(record.parameter_sets):
        got, total = record.score(index)
        scores.append((str(parameters.get("seed", f"set {index + 1}")), got, total))
    return AssignmentLine(
        phase_title, assignment.id, mastered, tuple(scores), latest.graded_at, Verification.of(latest)
    )


def _competitions(
    settings: Settings, curriculum: Curriculum, records: list[EvidenceRecord]
) -> list[CompetitionLine]:
    """The learner's place in each competition they entered (their latest record's predictions)."""
    lines = []
    for assignment in curriculum.assignments():
        competition = assignment.competition
        if competition is None:
            continue
        mine = latest_record(records, assignment.id)
        if mine is None:
            continue
        proof = Verification.of(mine, competition.notebook.removesuffix(".ipynb"))
        try:
            metric, entries = leaderboard(settings, assignment)
        except LeaderboardError as exc:
            lines.append(
                CompetitionLine(assignment.id, "", None, 0, None, None, f"not ranked ({exc})", proof)
            )
            continue
        ranked = [e for e in entries if e.private is not None]
        entry = next((e for e in entries if e.learner == mine.learner), None)
        if entry is None or entry.private is None:
            note = entry.note if entry is not None and entry.note else "no valid submission"
            lines.append(CompetitionLine(assignment.id, metric, None, len(ranked), None, None, note, proof))
            continue
        rank = ranked.index(entry) + 1
        lines.append(
            CompetitionLine(assignment.id, metric, rank, len(ranked), entry.private, entry.public, "", proof)
        )
    return lines


def _executed(notebook: str, nb: NotebookResult) -> str:
    """The default-parameter run's executed notebook, relative to its evidence record."""
    return f"executed/{notebook}.seed{nb.runs[0].parameters.get('seed')}.ipynb"


def _read(path: Path) -> NotebookNode | None:
    try:
        nb: NotebookNode = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, KeyError):
        return None
    return nb


def _graded_copy(settings: Settings, record: EvidenceRecord, notebook: str) -> NotebookNode | None:
    """The notebook as graded: its default run, else the submitted copy if it still has the hash."""
    nb = record.record.notebooks.get(notebook)
    if nb is not None and nb.runs:
        executed = _read(record.path / _executed(notebook, nb))
        if executed is not None:
            return executed
    expected = record.record.submission.files.get(f"{notebook}.ipynb")
    submitted = settings.submitted_dir / record.learner / record.assignment / f"{notebook}.ipynb"
    try:
        data = submitted.read_bytes()
    except OSError:
        return None
    if not expected or hashlib.sha256(data).hexdigest() != expected:
        return None  # submitted again since: not the text that was graded
    return _read(submitted)


def _project(
    settings: Settings,
    phase_title: str,
    latest: EvidenceRecord,
    spec: NotebookSpec,
    manual: dict[tuple[str, str], PersonScore],
) -> Project:
    nb = latest.record.notebooks.get(spec.name)
    scores = tuple(
        (str(run.seed), run.fraction) for run in (nb.runs if nb is not None and nb.status == "graded" else [])
    )
    proof = Verification.of(latest, spec.name)
    if nb is None or nb.status != "graded":
        reason = nb.message or nb.status if nb is not None else "not in this submission"
        return Project(phase_title, latest.assignment, spec.name, spec.title, scores, (), proof, reason)
    graded = _graded_copy(settings, latest, spec.name)
    sources = {}
    if graded is not None:
        for cell in graded.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and meta.get("solution"):
                sources[str(meta.get("grade_id"))] = (cell.cell_type, str(cell.source))
    answers = []
    for grade_id in spec.portfolio:
        cell = nb.manual.get(grade_id)
        points = cell.points if cell else 0.0
        answered = bool(cell and cell.answered and grade_id in sources)
        text = ""
        if answered:
            kind, source = sources[grade_id]
            text = render_markdown(source) if kind == "markdown" else f"<pre><code>{esc(source)}</code></pre>"
        answers.append(WrittenAnswer(grade_id, points, answered, text, manual.get((spec.name, grade_id))))
    note = "" if graded is not None else "the graded copy of this notebook could not be read"
    return Project(phase_title, latest.assignment, spec.name, spec.title, scores, tuple(answers), proof, note)


def _rendered(settings: Settings, record: EvidenceRecord, spec: NotebookSpec) -> RenderedNotebook:
    nb = record.record.notebooks[spec.name]
    seed = str(nb.runs[0].seed)
    executed = _read(record.path / _executed(spec.name, nb))
    if executed is None:
        body = '<p class="fail">The executed notebook in the evidence record could not be read.</p>'
    else:
        body = render_notebook(executed)
    return RenderedNotebook(
        record.assignment, spec.name, spec.title, seed, body, Verification.of(record, spec.name)
    )


# ---------------------------------------------------------------- HTML


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; padding: 0 1rem; }
body { color: #222; }
h1 { margin-bottom: .2rem; } section { margin: 2rem 0; } img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .8rem 0; }
td, th { border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left; vertical-align: top; }
.pass { color: #1a7f37; } .fail { color: #c62828; } .muted { color: #666; }
.verify { font-size: .8rem; color: #555; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.answer { border-left: 4px solid #0072B2; background: #f7fafd; padding: .2rem 1rem; margin: .6rem 0; }
.done { padding: .8rem 1rem; border-left: 4px solid #009E73; background: #eef8f3; }
.notebook { border: 1px solid #ddd; border-radius: .3rem; padding: .5rem 1rem; margin: 1rem 0; }
.notebook pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.input_area { background: #f7f7f7; border-radius: .2rem; padding: 0 .5rem; }
.prompt { color: #888; font-size: .8rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
"""


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") + " UTC" if stamp else "never"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table from already-escaped cells."""
    top = "".join(f"<th>{h}</th>" for h in head)
    lines = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{lines}</table>"


def _verify(proof: Verification) -> str:
    return f'<p class="verify">{esc(proof.line())}</p>'


def _phases_html(view: PortfolioView) -> str:
    rows = []
    for p in view.phases:
        track = f" ({esc(p.track)} track)" if p.track else ""
        if p.mastered_on is not None:
            state = f'<b class="pass">mastered</b> on {esc(p.mastered_on.isoformat())}'
        else:
            state = esc("not yet mastered" if p.state != "locked" else "not started")
        rows.append([esc(p.title) + track, state])
    done = ""
    if view.completed:
        done = (
            '<p class="done"><b>Completed the guide:</b> every phase mastered, each on every '
            "parameter set the grader ran.</p>"
        )
    return (
        "<section><h2>Phases mastered</h2>"
        '<p class="muted">A phase is mastered when the learner\'s own notebooks, re-run from a clean '
        "kernel under several parameter sets (seeds), pass the grader's checks; the date is the "
        f"grading that first showed it.</p>{done}{_table(['Phase', 'Mastery'], rows)}</section>"
    )


def _competition_html(view: PortfolioView) -> str:
    parts = ["<section><h2>Competition</h2>"]
    if not view.competitions:
        parts.append("<p>No competition entry.</p>")
    for line in view.competitions:
        parts.append(
            f"<p><b>{esc(line.assignment)}</b>: {esc(line.text())}. "
            '<span class="muted">Ranked by the private split of hidden labels, which no learner '
            "sees, as on Kaggle.</span></p>"
        )
        if line.verification is not None:
            parts.append(_verify(line.verification))
    parts.append("</section>")
    return "\n".join(parts)


def _projects_html(view: PortfolioView) -> str:
    parts = ["<section><h2>Projects</h2>"]
    if not view.projects:
        parts.append("<p>No project graded yet.</p>")
    for project in view.projects:
        scores = ", ".join(f"{f:.0%} with seed {esc(s)}" for s, f in project.scores) or "-"
        parts.append(
            f"<h3>{esc(project.title)}</h3>"
            f'<p class="muted">{esc(project.phase_title)}: '
            f"{esc(project.assignment)}/{esc(project.notebook)}.ipynb. Autograded checks: {scores}.</p>"
        )
        if project.note:
            parts.append(f'<p class="fail">{esc(project.note)}</p>')
        for answer in project.answers:
            parts.append(
                f"<p><b>Written answer <code>{esc(answer.grade_id)}</code></b>: {esc(answer.status())}.</p>"
            )
            if answer.html:
                parts.append(f'<div class="answer">{answer.html}</div>')
        parts.append(_verify(project.verification))
    parts.append("</section>")
    return "\n".join(parts)


def _scores_chart(view: PortfolioView) -> Chart | None:
    lines = [a for a in view.assignments if a.scores]
    if not lines:
        return None
    default = [a.scores[0][1] / a.scores[0][2] if a.scores[0][2] else None for a in lines]
    lowest = [min((s / t for _, s, t in a.scores if t), default=None) for a in lines]
    return bar_chart(
        [a.assignment for a in lines],
        {"default seed": default, "lowest seed": lowest},
        title="Share of the autograded points, latest graded submission",
    )


def _assignments_html(view: PortfolioView) -> str:
    parts = ["<section><h2>Scores</h2>"]
    chart = _scores_chart(view)
    if chart is not None:
        parts.append(f'<div class="charts">{chart.img()}</div>')
    for line in view.assignments:
        state = '<b class="pass">mastered</b>' if line.mastered else "not mastered yet"
        rows = [
            [esc(s), f"{got:g} / {total:g}", f"{got / total:.0%}" if total else "-"]
            for s, got, total in line.scores
        ]
        parts.append(
            f'<h3>{esc(line.assignment)} <span class="muted">({esc(line.phase_title)})</span></h3>'
            f"<p>{state}; latest graded {esc(_when(line.graded_at))}. Autograded points under every "
            "parameter set:</p>" + _table(["Seed", "Score", "Share"], rows)
        )
        parts.append(_verify(line.verification))
    parts.append("</section>")
    return "\n".join(parts)


def _notebooks_html(view: PortfolioView) -> str:
    if not view.notebooks:
        return ""
    parts = ["<section><h2>Selected notebooks</h2>"]
    for nb in view.notebooks:
        parts.append(
            f'<div class="notebook"><h3>{esc(nb.title)}</h3>'
            f'<p class="muted">{esc(nb.assignment)}/{esc(nb.notebook)}.ipynb as the grader ran it '
            f"(seed {esc(nb.seed)}); the grader's test cells are left out.</p>"
            f"{_verify(nb.verification)}{nb.html}</div>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def portfolio_html(view: PortfolioView) -> str:
    """The portfolio as one self-contained HTML page (checked by ``offline_problems``)."""
    body = "\n".join(
        [
            f"<h1>Portfolio of {esc(view.learner)}</h1>",
            f'<p class="muted">{esc(view.course)}. Built on {esc(view.today.isoformat())} from the grader\'s '
            "evidence: every score below comes from the learner's own notebooks re-run by the grader, "
            "and each item ends with the record it comes from.</p>",
            _phases_html(view),
            _competition_html(view),
            _projects_html(view),
            _assignments_html(view),
            _notebooks_html(view),
        ]
    )
    pygments_css = HtmlFormatter(style="default").get_style_defs(".highlight")
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{GENERATOR}">'
        f"<title>Portfolio of {esc(view.learner)}</title><style>{_STYLE}\n{pygments_css}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
    problems = offline_problems(page)
    if problems:  # a bug of ours: something came through that the rules above should have removed
        raise RuntimeError(f"the portfolio of {view.learner} would load or run something: {problems[:3]}")
    return page


def _ours_or_absent(path: Path) -> bool:
    """Whether ``path`` may be written: nothing there, or a portfolio page an earlier run wrote."""
    if not path.exists() and not path.is_symlink():
        return True
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">'.encode() in head


def write_portfolio(
    settings: Settings,
    curriculum: Curriculum,
    learner: str,
    path: Path,
    notebooks: Sequence[str] | None = None,
    *,
    today: date | None = None,
) -> Path:
    """Write ``learner``'s portfolio to ``path`` (atomically) and return ``path``.

    ``notebooks`` (``assignment/notebook``, repeated) replaces the learner's saved choice,
    which is kept for the next run once the page is written; None reuses it. A file at
    ``path`` that is not a portfolio page is never overwritten.
    """
    if not _ours_or_absent(path):
        raise BadPortfolio(
            f"--html {path}: there is already something there that is not a portfolio page; "
            "choose another path, or move that file away"
        )
    view = portfolio_view(settings, curriculum, learner, notebooks, today=today)
    try:
        write_bytes_atomic(path, portfolio_html(view).encode(), mode=0o644)
    except OSError as exc:
        raise BadPortfolio(
            f"--html {path}: cannot write there ({exc.strerror or type(exc).__name__}); "
            "choose a path in a folder you can write to"
        ) from None
    if notebooks is not None:
        save_choice(settings.state_dir, learner, list(dict.fromkeys(notebooks)))
    return path
