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
import dataclasses
import functools
import random
import shutil
import sys
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.utils import parse_utc

from .. import __version__
from ..comparators import comparator_named, expected_for
from ..compare import Outcome, compare
from ..course.config import MalformedNotebook, Settings
from ..course.curriculum import Assignment, Curriculum, NotebookSpec, UnknownName
from ..course.intake import max_notebook_bytes, read_learner_file, read_learner_notebook_bytes
from ..course.misconceptions import Misconception
from ..errors import AutograderError
from ..report_schema import value_problem
from ..run.notebooks import default_parameters, read_notebook
from ..run.outcome import ExecutedNotebook
from ..run.runners import DaskRunner, LocalRunner, Runner, grading_sandbox
from ..run.sandbox import Limits, SandboxUnavailable
from .artifacts import ArtifactJudge, NoJudge
from .evidence import (
    CellResult,
    CheckResult,
    EvidenceRecord,
    EvidenceWriter,
    GradingRecord,
    ManualCell,
    NotebookResult,
    RunResult,
    RunStatus,
    Submission,
    run_score,
)
from .gradebook import (
    ensure_assignment,
    known_grade_ids,
    manual_grade_cells,
    sanitize,
    write_scores_batch,
)
from .misconceptions import explainer_for
from .reference import Reference, get_reference, source_notebook, with_grader_parameters
from .reports import collect_reports
from .storage import append_line, sha256_bytes, sha256_file, write_bytes_atomic


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
        """(score, points) over the notebooks under one parameter set (0: the default)."""
        return run_score(self.notebooks, run_index)

    def recorded_score(self) -> tuple[float, float]:
        """The autograded points the gradebook records: each test cell's lowest over the seeds."""
        got = total = 0.0
        for nb in self.notebooks:
            if nb.runs:
                scores = self.scores.get(nb.notebook, {})
                got += sum(scores.get(gid) or 0.0 for gid in nb.runs[0].cells)
                total += nb.runs[0].max_score
        return got, total


class UngradableNotebook(ValueError):
    """nbgrader could not restore a submitted notebook's cells."""


class SubmissionError(AutograderError, ValueError):
    """A submission that cannot be graded at all; the message names it and the fix."""


class GradingFailed(SubmissionError):
    """The grader failed on one submission (a bug, or a report it could not handle).

    The batch goes on without it: nothing of it is written (no scores, no evidence, no
    autograded notebook), and what it had stays. The traceback goes to stderr.
    """


MIN_RUN_SECONDS = 1.0
"""A run given less wall clock than this could not even start its kernel: it is not started."""


@dataclass
class RunBudget:
    """The wall-clock seconds one submission's runs may still take, all notebooks and seeds
    together (``c.Autograder.submission_timeout``).

    Time waiting for a free run slot does not count: only the runs themselves, so a
    submission's budget does not depend on how busy the class is.
    """

    seconds: float

    def limits(self, limits: Limits) -> Limits | None:
        """``limits`` with the run's wall clock cut to what is left; None when too little is
        left for a kernel to start and run a cell (``MIN_RUN_SECONDS``)."""
        if self.seconds < MIN_RUN_SECONDS:
            return None
        if self.seconds >= limits.run_timeout:
            return limits
        return dataclasses.replace(limits, run_timeout=self.seconds)

    def spend(self, seconds: float) -> None:
        self.seconds -= seconds


def score_run(
    reference: Reference,
    run: ExecutedNotebook,
    judge: ArtifactJudge | None = None,
    explain: Explain | None = None,
) -> RunResult:
    """Score each test cell: full points when every reference check matches and no error.

    A report the comparators cannot handle fails its check with a reason, never the run.
    ``judge`` runs the artifacts that artifact checks report (``artifacts.py``); without one,
    such a check fails, saying why. ``explain`` names the known mistake behind a failed
    check's value, if any (``misconceptions.py``).
    """
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
            expected = expected_for(entry)
            outcomes = [_compare_report(p, expected, entry["spec"], judge) for p in payloads]
            failed = [o for o in outcomes if not o.passed]
            if failed:
                result.checks.append(_failed_check(name, failed[0].reason, hint, grade_id, payloads, explain))
            else:
                result.checks.append(CheckResult(name, True, outcomes[0].reason, hint))
        if expected_cell["checks"] and not result.error and all(c.passed for c in result.checks):
            result.score = points
        cells[grade_id] = result
    status: RunStatus = run.outcome.status
    return RunResult(run.parameters, status, run.outcome.reason, run.outcome.seconds, cells)


Explain = Callable[[str, str, Any], Misconception | None]
"""(test cell, check name, the learner's reported value) -> the known mistake it matches."""


def _failed_check(
    name: str, reason: str, hint: str, grade_id: str, payloads: list[dict[str, Any]], explain: Explain | None
) -> CheckResult:
    """A failed check, naming the misconception its value matches (never the expected value)."""
    mistake = None
    if explain is not None and len(payloads) == 1:
        try:
            mistake = explain(grade_id, name, payloads[0].get("value"))
        except Exception:  # a misconception that cannot run leaves the generic message
            traceback.print_exc(file=sys.stderr)
    if mistake is None:
        return CheckResult(name, False, reason, hint)
    return CheckResult(name, False, reason, hint, mistake.name, mistake.advice)


def _compare_report(
    payload: Any, expected: Any, spec: dict[str, Any], judge: ArtifactJudge | None
) -> Outcome:
    """``compare`` on one report, which a hostile kernel wrote: any failure fails the check.

    An artifact check (its comparator names a judge, in the *reference's* spec) is compared on
    what the judge found running the reported artifact, never on anything the kernel said."""
    try:
        value = payload.get("value", {})
        comparator = comparator_named(spec.get("kind")) if isinstance(spec, dict) else None
        if comparator is not None and comparator.judge is not None:
            if judge is None:
                return Outcome(
                    False, "this check runs your work in the grader's sandbox; `autograder grade` does"
                )
            if value_problem(value) is not None:
                return compare(value, expected, spec)  # the malformed report's own reason
            value = judge.judge(spec, value)
        return compare(value, expected, spec)
    except NoJudge as exc:
        return Outcome(
            False, f"the grader's reference for this check is unusable: {exc} (an authoring error)"
        )
    except Exception as exc:  # compare validates reports; this is the last line, not the first
        return Outcome(False, f"the grader could not read this report ({type(exc).__name__})")


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
        stamp: datetime = parse_utc(path.read_text().strip())
    except (OSError, ValueError, TypeError):
        return None
    return stamp


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


def _zero_run(
    reference: Reference, status: RunStatus, reason: str, parameters: dict[str, Any] | None = None
) -> RunResult:
    cells = {
        gid: CellResult(gid, float(cell["points"]), 0.0, error=reason)
        for gid, cell in reference.cells.items()
    }
    return RunResult(dict(parameters or reference.parameters), status, reason, 0.0, cells)


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
    budget: RunBudget,
    evidence: EvidenceWriter,
) -> NotebookResult:
    """Sanitise one submitted notebook and run it under every parameter set.

    Each run is scored, then written to the evidence folder (and the first to where
    formgrader looks) and let go, so only one run's notebook is held at a time. Once a
    run hits a limit, or the submission's budget is spent, later parameter sets are not
    run: they score zero with the reason, as the run that hit the limit would again.
    """
    result = NotebookResult(notebook, "graded")
    try:
        sanitized, result.tampering = sanitize(settings, submitted, assignment_id, notebook, learner)
    except Exception as exc:  # nbgrader refuses cell metadata it cannot repair, for instance
        raise UngradableNotebook(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    result.manual = manual_cells(sanitized)
    result.comments = answer_comments(sanitized)
    skipped = ""
    for parameters in params:
        reference = get_reference(settings, assignment_id, notebook, parameters)
        limits = budget.limits(settings.limits)
        if not skipped and limits is None:
            skipped = (
                f"not run: the submission's runs used up the {settings.submission_timeout:g} s they may "
                "take in all (c.Autograder.submission_timeout)"
            )
        if skipped:
            result.runs.append(_zero_run(reference, "skipped", skipped, parameters))
            continue
        assert limits is not None
        run = runner.run(sanitized, parameters, cwd_source, limits)  # the run works on its own copy
        budget.spend(run.outcome.seconds)
        if run.outcome.limit == "wall-clock" and limits.run_timeout < settings.limits.run_timeout:
            run.outcome.reason = (
                f"the submission's runs used up the {settings.submission_timeout:g} s they may take "
                "in all (c.Autograder.submission_timeout); this run was stopped"
            )
        judge = ArtifactJudge.for_course(settings.root, assignment_id, runner.sandbox)
        result.runs.append(score_run(reference, run, judge, explainer_for(settings, reference)))
        write_audit(settings, learner, assignment_id, notebook, submitted_hash, run)
        evidence.add_notebook(executed_path(notebook, parameters), run.notebook)
        if run.outcome.limit:
            skipped = (
                f"not run: the run under seed {parameters.get('seed')} hit a limit "
                f"({run.outcome.reason or run.outcome.limit}), so the later seeds were not run"
            )
    return result


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
    batch of submissions costs one gradebook transaction. A test cell's score there is
    its lowest under the parameter sets it ran under: points for work that passes under
    the default seed only would be points for answers copied from one run.
    """
    folder = _submission_dir(settings, learner, assignment.id)
    if not folder.is_dir():
        raise SubmissionError(
            f"no submission from {learner!r} for {assignment.id!r} (looked in {folder}); "
            f"the learner submits with: autograder submit {assignment.id} --learner {learner}"
        )
    evidence = EvidenceWriter(settings, learner, assignment.id)
    try:
        release = curriculum.release_dir(assignment.id)
        return _grade_submission(settings, assignment, learner, folder, release, drawn, runner, evidence)
    except BaseException:
        evidence.abort()
        raise


def _notebook_parameter_sets(
    settings: Settings, assignment_id: str, notebook: str, drawn: list[int]
) -> list[dict[str, Any]]:
    """The parameter sets one notebook runs under: its source's defaults first, then the drawn seeds."""
    return parameter_sets(notebook_defaults(settings, assignment_id, notebook), drawn)


def notebook_defaults(settings: Settings, assignment_id: str, notebook: str) -> dict[str, Any]:
    """A notebook's default parameters: its solution's, with the grader's own added."""
    source = source_notebook(settings, assignment_id, notebook)
    return with_grader_parameters(
        settings, assignment_id, _source_defaults(source, source.stat().st_mtime_ns)
    )


def _grade_submitted_notebook(
    settings: Settings,
    assignment: Assignment,
    spec: NotebookSpec,
    learner: str,
    folder: Path,
    release: Path,
    params: list[dict[str, Any]],
    runner: Runner,
    budget: RunBudget,
    evidence: EvidenceWriter,
    file_hashes: dict[str, str],
    errors: list[str],
) -> NotebookResult:
    """One notebook of a submission, scored zero with the reason added to ``errors`` if it cannot run."""
    label = f"{learner}/{assignment.id}/{spec.file}"
    submitted = read_submitted(settings, assignment.id, spec.name, folder / spec.file, label)
    if submitted.sha256:
        file_hashes[spec.file] = submitted.sha256
    if submitted.notebook is None:
        assert submitted.status is not None  # read_submitted names why there is no notebook
        message = submitted.message
        unrunnable = _unrunnable(settings, assignment.id, spec.name, params, submitted.status, message)
        errors.append(message if submitted.status != "missing" else _not_submitted(label))
        return unrunnable
    try:
        result = grade_notebook(
            settings,
            assignment.id,
            spec.name,
            learner,
            submitted.notebook,
            params,
            release,
            runner=runner,
            submitted_hash=submitted.sha256,
            budget=budget,
            evidence=evidence,
        )
    except UngradableNotebook as exc:
        message = f"{label}: could not be graded ({exc}); restore it from the release, then submit again"
        unrunnable = _unrunnable(settings, assignment.id, spec.name, params, "malformed", message)
        errors.append(message)
        return unrunnable
    result.sha256 = file_hashes[spec.file]
    errors.extend(f"{label}: restored from the release: {change}" for change in result.tampering)
    return result


def _publish_default_runs(
    settings: Settings, learner: str, assignment_id: str, committed: Path, results: list[NotebookResult]
) -> None:
    """Copy each default-parameter run to formgrader's place, only once the whole grading is stored."""
    for r in results:  # formgrader's copies change only once the whole grading is stored
        default_run = committed / executed_path(r.notebook, r.runs[0].parameters) if r.runs else None
        if default_run is not None and default_run.is_file():
            _write_autograded(settings, learner, assignment_id, r.notebook, default_run)


def _grade_submission(
    settings: Settings,
    assignment: Assignment,
    learner: str,
    folder: Path,
    release: Path,
    drawn: list[int],
    runner: Runner,
    evidence: EvidenceWriter,
) -> SubmissionResult:
    """Grade every notebook of a submission, commit its evidence, then hand formgrader its copies."""
    errors = _extra_notebooks(learner, assignment, folder)
    results: list[NotebookResult] = []
    file_hashes: dict[str, str] = {}
    first_params: list[dict[str, Any]] | None = None
    budget = RunBudget(settings.submission_timeout)
    for spec in assignment.notebooks:
        params = _notebook_parameter_sets(settings, assignment.id, spec.name, drawn)
        first_params = first_params or params
        results.append(
            _grade_submitted_notebook(
                settings,
                assignment,
                spec,
                learner,
                folder,
                release,
                params,
                runner,
                budget,
                evidence,
                file_hashes,
                errors,
            )
        )
    assert first_params is not None
    _copy_submission_files(settings, learner, assignment.id, folder)
    record = _grading_record(
        settings, assignment, learner, folder, results, file_hashes, first_params, errors
    )
    committed = evidence.commit(record)
    _publish_default_runs(settings, learner, assignment.id, committed.path, results)
    return SubmissionResult(
        learner,
        assignment.id,
        results,
        errors,
        committed,
        scores={r.notebook: gradebook_scores(r) for r in results if r.runs},
        submitted_at=_timestamp(folder),
        comments={r.notebook: r.comments for r in results if r.comments},
    )


def _grading_record(
    settings: Settings,
    assignment: Assignment,
    learner: str,
    folder: Path,
    results: list[NotebookResult],
    file_hashes: dict[str, str],
    parameter_sets: list[dict[str, Any]],
    errors: list[str],
) -> GradingRecord:
    """The evidence record of one grading: what was submitted, against which source, how it scored."""
    submission_hash = sha256_bytes(repr(sorted(file_hashes.items())).encode())
    return GradingRecord(
        learner=learner,
        assignment=assignment.id,
        phase=assignment.phase_id,
        graded_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        grader_version=__version__,
        submitted_at=(_timestamp(folder) or datetime.fromtimestamp(0, UTC)).isoformat(),
        submission=Submission(submission_hash, file_hashes),
        source={
            spec.name: sha256_file(source_notebook(settings, assignment.id, spec.name))
            for spec in assignment.notebooks
        },
        parameter_sets=parameter_sets,  # every notebook's own runs record their full parameters
        notebooks={r.notebook: r for r in results},
        errors=errors,
    )


def gradebook_scores(result: NotebookResult) -> dict[str, float | None]:
    """What the gradebook records per cell: a test cell's lowest score over its runs (it earns
    its points only by passing under every parameter set), a written answer's automatic score."""
    scores: dict[str, float | None] = {
        gid: min(run.cells[gid].score if gid in run.cells else 0.0 for run in result.runs)
        for gid in result.runs[0].cells
    }
    scores.update({gid: cell.auto_score for gid, cell in result.manual.items()})
    return scores


Unrunnable = Literal["missing", "malformed", "wrong-notebook"]
"""Why a submitted notebook could not be run (its ``NotebookResult`` and runs say so)."""


@dataclass
class Submitted:
    """One submitted notebook as read, or why it cannot be run (``status``, ``message``)."""

    notebook: NotebookNode | None
    sha256: str = ""
    status: Unrunnable | None = None
    """``missing``, ``malformed`` or ``wrong-notebook`` when there is no notebook to run."""
    message: str = ""


def read_submitted(
    settings: Settings, assignment_id: str, notebook: str, path: Path, label: str
) -> Submitted:
    """Read one submitted notebook, refusing what cannot be graded with a message that says why."""
    limit = max_notebook_bytes(settings.max_notebook_mb)
    try:  # never through a link, never over the size limit, no byte of it in a message
        data = read_learner_file(path, limit, root=settings.submitted_dir)
    except FileNotFoundError:
        return Submitted(None, status="missing", message=f"{label}: missing")
    except MalformedNotebook as exc:
        return Submitted(None, status="malformed", message=str(exc))
    digest = sha256_bytes(data)
    try:
        nb = read_learner_notebook_bytes(path, data, limit)
    except MalformedNotebook as exc:
        return Submitted(None, digest, "malformed", str(exc))
    del data
    metas = [c.metadata.get("nbgrader") for c in nb.cells]
    ids = {m.get("grade_id") for m in metas if isinstance(m, dict) and isinstance(m.get("grade_id"), str)}
    if ids and not ids & known_grade_ids(settings, assignment_id, notebook):
        message = (
            f"{label}: its cells belong to another notebook (no cell id matches {path.name}); "
            f"submit the notebook that {assignment_id} released under this name"
        )
        return Submitted(None, digest, "wrong-notebook", message)
    return Submitted(nb, digest)


def _not_submitted(label: str) -> str:
    return f"{label}: not submitted; it scores zero (submit it with autograder submit)"


def _extra_notebooks(learner: str, assignment: Assignment, folder: Path) -> list[str]:
    expected = {nb.file for nb in assignment.notebooks}
    return [
        f"{learner}/{assignment.id}/{extra}: not part of {assignment.id} "
        f"(its notebooks are {', '.join(sorted(expected))}); "
        "it was ignored, submit it to its own assignment"
        for extra in sorted(p.name for p in folder.glob("*.ipynb") if p.name not in expected)
    ]


def _unrunnable(
    settings: Settings,
    assignment_id: str,
    notebook: str,
    params: list[dict[str, Any]],
    status: Unrunnable,
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


def executed_path(notebook: str, parameters: dict[str, Any]) -> str:
    """Where a run's executed notebook lies in its evidence record."""
    return f"executed/{notebook}.seed{parameters.get('seed')}.ipynb"


def _write_autograded(settings: Settings, learner: str, assignment_id: str, notebook: str, run: Path) -> None:
    """The default-parameter run where formgrader and ``generate_feedback`` look for it."""
    target = settings.autograded_dir / learner / assignment_id / f"{notebook}.ipynb"
    write_bytes_atomic(target, run.read_bytes(), durable=False, mode=0o644)


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


def _gradable_assignment(curriculum: Curriculum, assignment_id: str) -> Assignment:
    """The assignment to grade; a planned phase has no notebooks yet, so grading it is refused."""
    assignment = curriculum.assignment(assignment_id)
    phase = curriculum.phase(assignment.phase_id)
    if phase.planned:
        raise UnknownName(f"phase {phase.id!r} is planned and has no notebooks to grade yet")
    return assignment


def _grade_or_report(
    settings: Settings,
    curriculum: Curriculum,
    assignment: Assignment,
    learner: str,
    drawn: list[int],
    runner: Runner,
) -> SubmissionResult | SubmissionError:
    """One submission's grading, where a failure becomes that submission's error, not the batch's."""
    try:
        return grade_submission(settings, curriculum, assignment, learner, drawn=drawn, runner=runner)
    except SubmissionError as exc:
        return exc
    except SandboxUnavailable:
        raise  # the machine's fault: every later run would fail the same way
    except Exception as exc:  # one submission's failure never stops the others
        traceback.print_exc(file=sys.stderr)
        return GradingFailed(
            f"{learner}/{assignment.id}: the grader failed on this submission "
            f"({type(exc).__name__}); nothing of it was recorded and earlier grades stand. "
            "This is a bug in the grader: please report it with the traceback above"
        )


def _keep_for_gradebook(
    settings: Settings,
    assignment_id: str,
    outcome: SubmissionResult | SubmissionError,
    pending: list[SubmissionResult],
) -> None:
    """Queue a graded submission's scores, writing them once a gradebook batch is full."""
    if isinstance(outcome, SubmissionResult):
        pending.append(outcome)
        if len(pending) >= GRADEBOOK_BATCH:
            _flush_scores(settings, assignment_id, pending)


def _finish_started(
    unseen: set[Future[SubmissionResult | SubmissionError]], pending: list[SubmissionResult]
) -> None:
    """After a broken sandbox or an interrupt: start nothing more, keep what was already being graded."""
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


def _grade_in_threads(
    settings: Settings,
    assignment_id: str,
    runner: Runner,
    grade_one: Callable[[int], SubmissionResult | SubmissionError],
    results: list[SubmissionResult | SubmissionError | None],
    pending: list[SubmissionResult],
    on_result: Callable[[SubmissionResult | SubmissionError], None] | None,
) -> None:
    """Grade submissions ``0 .. len(results) - 1`` in threads, filling ``results`` in their order."""
    # One thread more than the runs at once: it reads and sanitises the next submission
    # while the runs are busy (and while the warm kernels' process starts).
    threads = max(1, min(runner.parallel + 1, len(results) or 1))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(grade_one, i): i for i in range(len(results))}
        unseen = set(futures)
        try:
            for future in as_completed(futures):
                unseen.discard(future)
                outcome = future.result()
                results[futures[future]] = outcome
                _keep_for_gradebook(settings, assignment_id, outcome, pending)
                if on_result:
                    on_result(outcome)
        except BaseException:
            _finish_started(unseen, pending)
            raise


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
    assignment = _gradable_assignment(curriculum, assignment_id)
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
        return _grade_or_report(settings, curriculum, assignment, names[index], drawn[index], runner)

    try:
        _grade_in_threads(settings, assignment_id, runner, grade_one, results, pending, on_result)
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
