"""The grading pipeline over a batch of submissions.

For each submission: nbgrader restores locked and test cells from the gradebook, papermill
runs the notebook under every parameter set (the default, plus seeds drawn for this
submission and recorded), the values each test cell reported are compared outside the
kernel with the solution's values for the same parameters, the default-parameter scores
go to nbgrader's gradebook, and the whole story goes into an evidence record. One bad
submission (unreadable, tampered, crashing, hanging) costs only itself.

Cells a person grades (a written answer: an nbgrader grade cell that is also a solution
cell) go to the gradebook exactly as ``nbgrader autograde`` records them (see
``ManualCell``); an instructor scores them in formgrader, and no re-grade ever changes
that score.
"""

from __future__ import annotations

import contextlib
import functools
import random
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.utils import parse_utc

from . import __version__
from .compare import compare
from .config import Settings
from .curriculum import Assignment, Curriculum, UnknownName
from .evidence import EvidenceRecord, write_record
from .execute import (
    ExecutedNotebook,
    MalformedNotebook,
    default_parameters,
    read_notebook,
)
from .gradebook import (
    ensure_assignment,
    known_grade_ids,
    manual_grade_cells,
    sanitize,
    write_scores_batch,
)
from .reference import Reference, get_reference, source_notebook, with_grader_parameters
from .reports import collect_reports
from .runners import DaskRunner, LocalRunner, Runner, grading_sandbox
from .storage import append_line, sha256_bytes, sha256_file, write_notebook


@dataclass
class CheckResult:
    name: str
    passed: bool
    reason: str
    hint: str


@dataclass
class CellResult:
    grade_id: str
    points: float
    score: float
    error: str = ""
    checks: list[CheckResult] = field(default_factory=list)


@dataclass
class RunResult:
    parameters: dict[str, Any]
    status: str
    reason: str
    seconds: float
    cells: dict[str, CellResult]

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells.values())


@dataclass
class ManualCell:
    """A cell a person grades: a written answer (an nbgrader grade cell that is a solution cell).

    It is recorded as ``nbgrader autograde`` records it (``SaveAutoGrades``): an answer
    left as released gets an automatic 0 ("No response."); any other answer gets no
    automatic score and waits in formgrader for a person (``needs_manual_grade``).
    Our checks never score it, and a re-grade never touches the score an instructor
    gave (``write_scores_batch``).

    Our own scoring leaves these cells out: runs, the per-seed percentages, mastery and
    our feedback cover the autograded test cells only, while nbgrader's gradebook (and
    so formgrader and ``nbgrader export``) totals both. Why: mastery is what the
    learner's code proves when it is re-run under fresh parameters, and a written
    answer does not change with a seed; a person's score arrives later, outside any
    grading run, while progress must stay a pure function of the evidence records a
    run writes; and counting a pending answer as zero would lock a phase until someone
    has time to read it. The record keeps, per written answer, its points and whether
    it was answered, so reports can say what still waits for a person.
    """

    grade_id: str
    points: float
    answered: bool
    auto_score: float | None
    """What goes to the gradebook's ``auto_score``: 0 for no response, else None."""


@dataclass
class NotebookResult:
    notebook: str
    status: str  # graded | missing | malformed | wrong-notebook
    message: str = ""
    sha256: str = ""
    tampering: list[str] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    manual: dict[str, ManualCell] = field(default_factory=dict)
    """Written answers, graded by a person in formgrader (never part of ``runs``)."""
    comments: dict[str, str | None] = field(default_factory=dict)
    """nbgrader's automatic comment per answer cell: "No response." where left as released."""


@dataclass
class SubmissionResult:
    learner: str
    assignment: str
    notebooks: list[NotebookResult]
    errors: list[str]
    evidence: EvidenceRecord | None = None
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """Default-parameter score per notebook and grade_id: what goes to the gradebook
    (None: a written answer that waits for a person)."""
    submitted_at: datetime | None = None
    comments: dict[str, dict[str, str | None]] = field(default_factory=dict)
    """nbgrader's automatic comments per notebook and answer cell."""

    def score(self, run_index: int = 0) -> tuple[float, float]:
        got = total = 0.0
        for nb in self.notebooks:
            if len(nb.runs) > run_index:
                got += nb.runs[run_index].score
                total += nb.runs[run_index].max_score
        return got, total


class UngradableNotebook(ValueError):
    """nbgrader could not restore a submitted notebook's cells."""


class SubmissionError(ValueError):
    """A submission that cannot be graded at all; the message names it and the fix."""


def score_run(reference: Reference, run: ExecutedNotebook) -> RunResult:
    """Score each test cell: full points when every reference check matches and no error."""
    reports = collect_reports(run.notebook)
    cells: dict[str, CellResult] = {}
    for grade_id, expected_cell in reference.cells.items():
        points = float(expected_cell["points"])
        learner = reports.get(grade_id)
        result = CellResult(grade_id=grade_id, points=points, score=0.0)
        if learner is None or not learner.ran:
            reason = run.outcome.reason or "the cell did not run"
            result.error = f"not run: {reason}"
        elif learner.error:
            result.error = learner.error
        for name, entry in expected_cell["checks"].items():
            hint = str(entry.get("hint", ""))
            payloads = learner.checks.get(name, []) if learner else []
            if not payloads:
                result.checks.append(
                    CheckResult(name, False, "not reported: the cell stopped before it", hint)
                )
                continue
            expected = entry["labels"] if entry["spec"].get("kind") == "metric" else entry["value"]
            outcomes = [compare(p.get("value", {}), expected, entry["spec"]) for p in payloads]
            failed = [o for o in outcomes if not o.passed]
            if failed:
                result.checks.append(CheckResult(name, False, failed[0].reason, hint))
            else:
                result.checks.append(CheckResult(name, True, outcomes[0].reason, hint))
        if expected_cell["checks"] and not result.error and all(c.passed for c in result.checks):
            result.score = points
        cells[grade_id] = result
    return RunResult(run.parameters, run.outcome.status, run.outcome.reason, run.outcome.seconds, cells)


@functools.lru_cache(maxsize=64)
def _source_defaults(source: Path, mtime_ns: int) -> dict[str, Any]:
    """A solution notebook's default parameters, read once per version of the file."""
    return default_parameters(read_notebook(source))


def draw_seeds(count: int, rng: random.Random) -> list[int]:
    """Seeds drawn for one submission; every notebook of it runs under the same ones."""
    drawn: list[int] = []
    while len(drawn) < count:
        seed = rng.randrange(1, 2**31 - 1)
        if seed not in drawn:
            drawn.append(seed)
    return drawn


def parameter_sets(default: dict[str, Any], drawn: list[int]) -> list[dict[str, Any]]:
    """A notebook's own default parameters, then the same with each drawn seed."""
    return [dict(default)] + [{**default, "seed": seed} for seed in drawn if seed != default.get("seed")]


def _submission_dir(settings: Settings, learner: str, assignment_id: str) -> Path:
    return settings.submitted_dir / learner / assignment_id


def _timestamp(folder: Path) -> datetime | None:
    path = folder / "timestamp.txt"
    try:
        return parse_utc(path.read_text().strip())
    except (OSError, ValueError, TypeError):
        return None


def _is_autograded(cell: NotebookNode) -> bool:
    """A test cell our checks score (``reports.grade_cells``); other grade cells need a person."""
    return cell.cell_type == "code" and not nbgrader_utils.is_solution(cell)


def manual_cells(nb: NotebookNode) -> dict[str, ManualCell]:
    """The written answers of a sanitised notebook, scored as nbgrader's ``determine_grade`` does.

    After ``sanitize`` every answer cell carries the checksum of its released version,
    so an answer left as released is recognised as no response.
    """
    cells = {}
    for cell in nb.cells:
        if nbgrader_utils.is_grade(cell) and not _is_autograded(cell):
            auto_score, points = nbgrader_utils.determine_grade(cell)
            grade_id = cell.metadata.nbgrader["grade_id"]
            answered = auto_score is None
            cells[grade_id] = ManualCell(grade_id, float(points), answered, auto_score)
    return cells


def answer_comments(nb: NotebookNode) -> dict[str, str | None]:
    """nbgrader's automatic comment for each answer and task cell (``SaveAutoGrades``)."""
    comments: dict[str, str | None] = {}
    for cell in nb.cells:
        if nbgrader_utils.is_solution(cell) or nbgrader_utils.is_task(cell):
            meta = cell.metadata.nbgrader
            blank = meta.get("checksum") == nbgrader_utils.compute_checksum(cell)
            blank = blank and not nbgrader_utils.is_task(cell)
            comments[meta["grade_id"]] = "No response." if blank else None
    return comments


def _zero_run(reference: Reference, status: str, reason: str) -> RunResult:
    cells = {
        gid: CellResult(gid, float(cell["points"]), 0.0, error=reason)
        for gid, cell in reference.cells.items()
    }
    return RunResult(reference.parameters, status, reason, 0.0, cells)


def grade_notebook(
    settings: Settings,
    assignment_id: str,
    notebook: str,
    learner: str,
    submitted: NotebookNode,
    params: list[dict[str, Any]],
    cwd_source: Path,
    *,
    runner: Runner,
    submitted_hash: str,
) -> tuple[NotebookResult, list[ExecutedNotebook]]:
    """Sanitise one submitted notebook and run it under every parameter set."""
    result = NotebookResult(notebook, "graded")
    try:
        sanitized, result.tampering = sanitize(settings, submitted, assignment_id, notebook, learner)
    except Exception as exc:  # nbgrader refuses cell metadata it cannot repair, for instance
        raise UngradableNotebook(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    result.manual = manual_cells(sanitized)
    result.comments = answer_comments(sanitized)
    executed: list[ExecutedNotebook] = []
    for parameters in params:
        reference = get_reference(settings, assignment_id, notebook, parameters)
        run = runner.run(sanitized, parameters, cwd_source)  # the run works on its own copy
        executed.append(run)
        result.runs.append(score_run(reference, run))
        write_audit(settings, learner, assignment_id, notebook, submitted_hash, run)
    return result, executed


def grade_submission(
    settings: Settings,
    curriculum: Curriculum,
    assignment: Assignment,
    learner: str,
    *,
    drawn: list[int],
    runner: Runner,
) -> SubmissionResult:
    """Grade one learner's submission of ``assignment``; never raises for bad notebooks.

    The scores are returned for the caller to write (``write_scores_batch``), so that a
    batch of submissions costs one gradebook transaction.
    """
    folder = _submission_dir(settings, learner, assignment.id)
    if not folder.is_dir():
        raise SubmissionError(
            f"no submission from {learner!r} for {assignment.id!r} (looked in {folder}); "
            f"the learner submits with: autograder submit {assignment.id} --learner {learner}"
        )
    errors: list[str] = []
    expected = {nb.file for nb in assignment.notebooks}
    for extra in sorted(p.name for p in folder.glob("*.ipynb") if p.name not in expected):
        errors.append(
            f"{learner}/{assignment.id}/{extra}: not part of {assignment.id} "
            f"(its notebooks are {', '.join(sorted(expected))}); "
            "it was ignored, submit it to its own assignment"
        )
    executed_files: dict[str, NotebookNode] = {}
    results: list[NotebookResult] = []
    file_hashes: dict[str, str] = {}
    first_params: list[dict[str, Any]] | None = None
    for spec in assignment.notebooks:
        source = source_notebook(settings, assignment.id, spec.name)
        defaults = with_grader_parameters(
            settings, assignment.id, _source_defaults(source, source.stat().st_mtime_ns)
        )
        params = parameter_sets(defaults, drawn)
        first_params = first_params or params
        path = folder / spec.file
        label = f"{learner}/{assignment.id}/{spec.file}"
        if not path.is_file():
            results.append(
                _unrunnable(settings, assignment.id, spec.name, params, "missing", f"{label}: missing")
            )
            errors.append(f"{label}: not submitted; it scores zero (submit it with autograder submit)")
            continue
        file_hashes[spec.file] = sha256_file(path)
        try:
            submitted = read_notebook(path, strict=True)
        except (MalformedNotebook, nbformat.ValidationError) as exc:
            message = (
                str(exc)
                if isinstance(exc, MalformedNotebook)
                else (
                    f"{path}: not a valid notebook ({str(exc).splitlines()[0][:120]}); "
                    "restore it from the release, then submit again"
                )
            )
            results.append(_unrunnable(settings, assignment.id, spec.name, params, "malformed", message))
            errors.append(message)
            continue
        ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in submitted.cells} - {None}
        known = known_grade_ids(settings, assignment.id, spec.name)
        if ids and not ids & known:
            message = (
                f"{label}: its cells belong to another notebook (no cell id matches {spec.file}); "
                f"submit the notebook that {assignment.id} released under this name"
            )
            results.append(_unrunnable(settings, assignment.id, spec.name, params, "wrong-notebook", message))
            errors.append(message)
            continue
        try:
            result, runs = grade_notebook(
                settings,
                assignment.id,
                spec.name,
                learner,
                submitted,
                params,
                curriculum.release_dir(assignment.id),
                runner=runner,
                submitted_hash=file_hashes[spec.file],
            )
        except UngradableNotebook as exc:
            message = f"{label}: could not be graded ({exc}); restore it from the release, then submit again"
            results.append(_unrunnable(settings, assignment.id, spec.name, params, "malformed", message))
            errors.append(message)
            continue
        result.sha256 = file_hashes[spec.file]
        for change in result.tampering:
            errors.append(f"{label}: restored from the release: {change}")
        results.append(result)
        for run in runs:
            executed_files[f"executed/{spec.name}.seed{run.parameters.get('seed')}.ipynb"] = run.notebook
        _write_autograded(settings, learner, assignment.id, spec.name, runs[0].notebook)
    assert first_params is not None
    _copy_submission_files(settings, learner, assignment.id, folder)
    submission_hash = sha256_bytes(repr(sorted(file_hashes.items())).encode())
    record = {
        "learner": learner,
        "assignment": assignment.id,
        "phase": assignment.phase_id,
        "graded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "grader_version": __version__,
        "submitted_at": (_timestamp(folder) or datetime.fromtimestamp(0, UTC)).isoformat(),
        "submission": {"sha256": submission_hash, "files": file_hashes},
        "source": {
            spec.name: sha256_file(source_notebook(settings, assignment.id, spec.name))
            for spec in assignment.notebooks
        },
        "parameter_sets": first_params,  # every notebook's own runs record their full parameters
        "notebooks": {r.notebook: asdict(r) for r in results},
        "errors": errors,
    }
    evidence = write_record(settings, record, executed_files)
    scores: dict[str, dict[str, float | None]] = {}
    for r in results:
        if r.runs:
            scores[r.notebook] = {gid: cell.score for gid, cell in r.runs[0].cells.items()}
            scores[r.notebook].update({gid: cell.auto_score for gid, cell in r.manual.items()})
    return SubmissionResult(
        learner,
        assignment.id,
        results,
        errors,
        evidence,
        scores=scores,
        submitted_at=_timestamp(folder),
        comments={r.notebook: r.comments for r in results if r.comments},
    )


def _unrunnable(
    settings: Settings,
    assignment_id: str,
    notebook: str,
    params: list[dict[str, Any]],
    status: str,
    message: str,
) -> NotebookResult:
    """A notebook we could not run: every test cell scores zero, with the reason.

    Its written answers score zero too, as ``nbgrader autograde`` scores the cells of a
    notebook that was not submitted; a score an instructor already gave stays, for review.
    """
    runs = [_zero_run(get_reference(settings, assignment_id, notebook, p), status, message) for p in params]
    manual = {
        gid: ManualCell(gid, points, False, 0.0)
        for gid, points in manual_grade_cells(settings, assignment_id, notebook).items()
    }
    return NotebookResult(notebook, status, message, runs=runs, manual=manual)


def _write_autograded(
    settings: Settings, learner: str, assignment_id: str, notebook: str, nb: NotebookNode
) -> None:
    """The default-parameter run where formgrader and ``generate_feedback`` look for it."""
    target = settings.autograded_dir / learner / assignment_id
    target.mkdir(parents=True, exist_ok=True)
    write_notebook(nb, target / f"{notebook}.ipynb")


AUTOGRADED_IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.ipynb"]
"""What ``nbgrader autograde`` leaves behind when it copies a submission's other files."""


def _copy_submission_files(settings: Settings, learner: str, assignment_id: str, submitted: Path) -> None:
    """The submission's other files go next to its autograded notebooks, as ``nbgrader autograde`` does.

    ``timestamp.txt`` dates the submission, and ``submission_secret.txt`` (written by
    ``nbgrader submit``) names the feedback page that ``release_feedback`` publishes and
    the learner's ``fetch_feedback`` looks for; without it feedback cannot be released.
    """
    target = settings.autograded_dir / learner / assignment_id
    for name in nbgrader_utils.find_all_files(str(submitted), AUTOGRADED_IGNORE):
        path = Path(name)
        if path.is_symlink() or not path.is_file():
            continue
        dest = target / path.relative_to(submitted)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)


def submitted_learners(settings: Settings, assignment_id: str) -> list[str]:
    if not settings.submitted_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in settings.submitted_dir.iterdir()
        if (p / assignment_id).is_dir() and not p.name.startswith(".")
    )


GRADEBOOK_BATCH = 16
"""Submissions whose scores go to the gradebook in one transaction."""


def make_runner(
    settings: Settings,
    *,
    unsafe_no_sandbox: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    sources: list[Path] | None = None,
) -> Runner:
    """Where runs execute: here (``workers`` at once, default one more than the cores) or on a Dask cluster.

    The warm zygote preloads what the ``sources`` notebooks import.
    """
    sandbox = grading_sandbox(settings, sources or [], unsafe_no_sandbox=unsafe_no_sandbox)
    if scheduler:
        return DaskRunner(scheduler, sandbox, settings.limits)
    return LocalRunner(sandbox, settings.limits, workers or settings.parallel_runs)


def grade_assignment(
    settings: Settings,
    curriculum: Curriculum,
    assignment_id: str,
    *,
    learners: Iterable[str] | None = None,
    seeds: int | None = None,
    rng: random.Random | None = None,
    on_result: Callable[[SubmissionResult | SubmissionError], None] | None = None,
    unsafe_no_sandbox: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[SubmissionResult | SubmissionError]:
    """Grade every submission of ``assignment_id`` (or the named learners'), in parallel.

    Learner code runs in the sandbox; ``unsafe_no_sandbox`` is the instructor's explicit,
    logged choice to run it with the grader's own rights. Runs execute here, ``workers``
    at a time, or on the Dask cluster at ``scheduler``; scoring, evidence and the
    gradebook stay here. Results come back in the order of ``learners``; ``on_result``
    hears of each as it finishes.
    """
    assignment = curriculum.assignment(assignment_id)
    phase = curriculum.phase(assignment.phase_id)
    if phase.planned:
        raise UnknownName(f"phase {phase.id!r} is planned and has no notebooks to grade yet")
    sources = [source_notebook(settings, assignment_id, nb.name) for nb in assignment.notebooks]
    runner = make_runner(
        settings,
        unsafe_no_sandbox=unsafe_no_sandbox,
        scheduler=scheduler,
        workers=workers,
        sources=sources,
    )
    ensure_assignment(settings, assignment_id)
    names = list(learners) if learners is not None else submitted_learners(settings, assignment_id)
    rng = rng or random.Random()
    count = seeds or settings.seeds
    drawn = [draw_seeds(max(0, count - 1), rng) for _ in names]  # in order: reproducible with a seeded rng
    results: list[SubmissionResult | SubmissionError | None] = [None] * len(names)
    pending: list[SubmissionResult] = []

    def grade_one(index: int) -> SubmissionResult | SubmissionError:
        try:
            return grade_submission(
                settings, curriculum, assignment, names[index], drawn=drawn[index], runner=runner
            )
        except SubmissionError as exc:
            return exc

    try:
        # One thread more than the runs at once: it reads and sanitises the next submission
        # while the runs are busy (and while the warm kernels' process starts).
        threads = max(1, min(runner.parallel + 1, len(names) or 1))
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = {pool.submit(grade_one, i): i for i in range(len(names))}
            unseen = set(futures)
            try:
                for future in as_completed(futures):
                    unseen.discard(future)
                    outcome = future.result()
                    results[futures[future]] = outcome
                    if isinstance(outcome, SubmissionResult):
                        pending.append(outcome)
                        if len(pending) >= GRADEBOOK_BATCH:
                            _flush_scores(settings, assignment_id, pending)
                    if on_result:
                        on_result(outcome)
            except BaseException:
                # The sandbox failed (or the grader was interrupted): start nothing more, and
                # record the submissions already being graded that finish, so the gradebook
                # matches the evidence they wrote. The rest keep what they had.
                for future in unseen:
                    future.cancel()
                for future in unseen:
                    with contextlib.suppress(BaseException):
                        outcome = future.result()
                        if isinstance(outcome, SubmissionResult):
                            pending.append(outcome)
                raise
    finally:
        _flush_scores(settings, assignment_id, pending)
        runner.close()
    return [r for r in results if r is not None]


def _flush_scores(settings: Settings, assignment_id: str, pending: list[SubmissionResult]) -> None:
    if pending:
        write_scores_batch(
            settings, assignment_id, [(r.learner, r.submitted_at, r.scores, r.comments) for r in pending]
        )
        pending.clear()


def write_audit(
    settings: Settings,
    learner: str,
    assignment_id: str,
    notebook: str,
    submitted_hash: str,
    run: ExecutedNotebook,
) -> dict[str, Any]:
    """One line per graded run in ``audit.jsonl``: what ran, under which limits, how it ended."""
    outcome = run.outcome
    line = {
        "at": datetime.now(UTC).isoformat(),
        "learner": learner,
        "assignment": assignment_id,
        "notebook": notebook,
        "submission_sha256": submitted_hash,
        "parameters": run.parameters,
        "sandboxed": outcome.sandboxed,
        "uid": outcome.uid,
        "limits": settings.limits.describe(),
        "limit_hit": outcome.limit or None,
        "status": outcome.status,
        "reason": outcome.reason,
        "kernel_exit_code": outcome.exit_code,
        "seconds": round(outcome.seconds, 3),
    }
    append_line(settings.state_dir / "audit.jsonl", line)
    return line
