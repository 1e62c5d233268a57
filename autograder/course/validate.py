"""``autograder check``: everything CI proves about every notebook of every phase.

Each problem is reported as ``path: cell: what is wrong``. The checks run in a
throw-away state folder, so they never touch an instructor's gradebook.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from .. import layout
from ..grading.artifacts import ArtifactJudge
from ..grading.evidence import CheckResult, RunResult
from ..grading.grade import score_run
from ..grading.gradebook import generate_release, sanitize
from ..grading.reference import (
    Reference,
    compute_reference,
    trusted_warm,
    with_grader_parameters,
    write_compat_references,
)
from ..grading.reports import grade_cells
from ..hints import HINTS_FILE
from ..run.execute import run_notebook, scratch_copy
from ..run.notebooks import default_parameters, read_notebook
from .alternatives import (
    ALTERNATIVES_DIR,
    Alternative,
    AlternativesError,
    alternative_lines,
    alternatives_path,
    apply_alternative,
    load_alternatives,
    solution_answers,
    target_problems,
)
from .config import Settings, load_settings
from .curriculum import Assignment, Curriculum, NotebookSpec
from .misconceptions import MISCONCEPTIONS_DIR
from .rubrics import rubric_problems
from .validate_misconceptions import check_misconceptions

SOLUTION_MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
)


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")


def committed_outputs(path: Path, nb: NotebookNode) -> Iterator[str]:
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            yield f"{path}: cell {cell.get('id', '?')}: committed outputs or execution count; clear them"


def _region_lines(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
            continue
        if end in line:
            inside = False
            continue
        if inside and len(line.strip()) >= 12 and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def _public_text(source: str) -> str:
    """A source cell without its solution and hidden-test regions: what the author shows."""
    kept, inside = [], False
    for line in source.splitlines():
        if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def leaked_text(source: NotebookNode, release: NotebookNode) -> list[tuple[str, str]]:
    """(cell id, leaked line) for solution or hidden-test code that appears in the release.

    A line the author also shows outside the secret regions (in a worked example, a
    visible test, a prompt) is public, not a leak.
    """
    release_cells = [(c.get("id", "?"), c.source) for c in release.cells]
    public = "\n".join(_public_text(c.source) for c in source.cells)
    leaks = []
    for cell in source.cells:
        secret = _region_lines(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
        secret += _region_lines(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        for line in dict.fromkeys(secret):
            if line in public:
                continue
            for cell_id, text in release_cells:
                if line in text:
                    leaks.append((cell_id, line))
    for cell_id, text in release_cells:
        for marker in SOLUTION_MARKERS:
            if marker in text:
                leaks.append((cell_id, marker))
    return leaks


def _comparable(nb: NotebookNode) -> list[tuple[str, str, str]]:
    return [
        (c.cell_type, c.source, json.dumps(c.get("metadata", {}).get("nbgrader", {}), sort_keys=True))
        for c in nb.cells
    ]


def check_assignment(
    settings: Settings,
    curriculum: Curriculum,
    assignment: Assignment,
    report: CheckReport,
    *,
    log: Callable[[str], None] = print,
    step: Callable[[str], None] = lambda _: None,
) -> None:
    """All notebook checks for one assignment, in a throw-away state folder.

    Two notebooks are checked at a time: one notebook's single runs (the untouched release,
    judging, a straggling seed) leave a core idle that the next notebook's runs fill. What
    each finds, its log lines and ``step`` (a progress bar) still come in manifest order,
    and check names are compared across notebooks once all are known.
    """
    check_names: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        scratch = load_settings(settings.root, state_dir=Path(tmp) / "state")
        generated = Path(tmp) / "release"
        generate_release(scratch, assignment.id, generated)

        def one(spec: NotebookSpec) -> tuple[CheckReport, list[str], dict[str, str]]:
            found, lines, names = CheckReport(), list[str](), dict[str, str]()
            _check_notebook(
                settings,
                scratch,
                curriculum,
                assignment.id,
                spec,
                generated=generated / assignment.id,
                check_names=names,
                report=found,
                log=lines.append,
            )
            return found, lines, names

        at_once = max(1, min(2, scratch.parallel_runs, len(assignment.notebooks)))
        with ThreadPoolExecutor(max_workers=at_once) as pool:
            futures = [pool.submit(one, spec) for spec in assignment.notebooks]
            for spec, future in zip(assignment.notebooks, futures):
                found, lines, names = future.result()
                report.problems.extend(found.problems)
                report.timings.update(found.timings)
                for line in lines:
                    log(line)
                _merge_check_names(check_names, names, report)
                step(spec.file)
        check_released_folders(settings.root, generated / assignment.id, assignment.id, report)


def _merge_check_names(seen: dict[str, str], names: dict[str, str], report: CheckReport) -> None:
    """Check names must be unique across an assignment's notebooks (``names``: one notebook's)."""
    for name, owner in names.items():
        if name in seen and seen[name] != owner:
            report.fail(owner, f"check name {name!r} is also used in {seen[name]}")
        seen.setdefault(name, owner)


def _check_notebook(
    settings: Settings,
    scratch: Settings,
    curriculum: Curriculum,
    assignment_id: str,
    spec: NotebookSpec,
    *,
    generated: Path,
    check_names: dict[str, str],
    report: CheckReport,
    log: Callable[[str], None],
) -> None:
    """One notebook's checks in the order an author fixes them: files, manifest, solution, release."""
    source_dir = curriculum.source_dir(assignment_id)
    release_dir = curriculum.release_dir(assignment_id)
    source_path = source_dir / spec.file
    where = str(source_path.relative_to(settings.root))
    if not source_path.is_file():
        report.fail(where, "missing: the manifest lists it but solutions/ does not have it")
        return
    source = read_notebook(source_path)
    report.problems.extend(committed_outputs(source_path.relative_to(settings.root), source))
    release = _checked_release(settings.root, release_dir / spec.file, generated / spec.file, source, report)
    if release is None:
        return
    _check_manifest_entry(where, spec, source, report)
    defaults = with_grader_parameters(settings, assignment_id, default_parameters(source))
    if "seed" not in defaults:
        report.fail(where, "no `seed` in a cell tagged `parameters`")
        return
    warm = trusted_warm(settings, source_path)
    run = _SolutionRun(settings, scratch, assignment_id, spec.name, source, source_dir, warm, where)
    references = _solution_references(run, defaults, check_names, report)
    if not references:
        return
    write_compat_references(settings, references[:1], runs=scratch)  # misconceptions' runs: reused below
    where_release = str((release_dir / spec.file).relative_to(settings.root))
    _check_untouched_release(run, release, release_dir, references[0], where_release, report)
    check_alternatives(scratch, source, release, references, warm=warm, report=report, log=log)
    check_misconceptions(scratch, source, release, references, warm=warm, report=report, log=log)
    log(f"checked {where} ({len(references)} seeds)")


def _checked_release(
    root: Path, release_path: Path, fresh_path: Path, source: NotebookNode, report: CheckReport
) -> NotebookNode | None:
    """The committed release copy, checked for outputs, drift from solutions/ and leaks (None if absent)."""
    if not release_path.is_file():
        report.fail(str(release_path.relative_to(root)), "missing; run: autograder release")
        return None
    release = read_notebook(release_path)
    report.problems.extend(committed_outputs(release_path.relative_to(root), release))
    fresh = read_notebook(fresh_path)
    if _comparable(fresh) != _comparable(release):
        report.fail(
            str(release_path.relative_to(root)),
            "out of sync with solutions/ (nbgrader generate_assignment makes something else); "
            "run: autograder release",
        )
    for cell_id, line in leaked_text(source, release):
        report.fail(f"{release_path.relative_to(root)}: cell {cell_id}", f"leaks {line!r}")
    return release


def _check_manifest_entry(where: str, spec: NotebookSpec, source: NotebookNode, report: CheckReport) -> None:
    """The manifest's points and core exercises must match the notebook's graded cells."""
    # Every graded cell counts, written answers graded by hand included: the manifest's
    # points are the notebook's total, as nbgrader's gradebook and exports show it.
    points = sum(
        float(c.metadata.nbgrader.get("points", 0))
        for c in source.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    )
    if spec.points is not None and points != spec.points:
        report.fail(
            where,
            f"its graded cells (written answers included) carry {points:g} points; "
            f"the manifest says {spec.points:g}",
        )
    for grade_id, problem in rubric_problems(source):
        report.fail(f"{where}: cell {grade_id}", problem)
    graded = {c.metadata.nbgrader["grade_id"] for c in grade_cells(source)}
    for core in spec.core:
        if core not in graded:
            report.fail(where, f"core exercise {core!r} in the manifest is not a graded cell here")
    written = {
        c.metadata.nbgrader["grade_id"]
        for c in source.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c.metadata.nbgrader.get("solution")
    }
    for answer in spec.portfolio:
        if answer not in written:
            report.fail(
                where, f"portfolio answer {answer!r} in the manifest is not a written answer cell here"
            )


@dataclass(frozen=True)
class _SolutionRun:
    """What every run of one notebook's solution needs, so the helpers below stay short."""

    settings: Settings
    scratch: Settings
    assignment_id: str
    notebook: str
    source: NotebookNode
    source_dir: Path
    warm: tuple[str, ...] | None
    where: str

    @property
    def judge(self) -> ArtifactJudge:
        """Artifact checks of our own notebooks are judged outside the sandbox: trusted code."""
        return ArtifactJudge.for_course(self.settings.root, self.assignment_id, None)


def _solution_references(
    run: _SolutionRun, defaults: dict[str, Any], check_names: dict[str, str], report: CheckReport
) -> list[Reference]:
    """The solution's reference under each check seed; stops at the first seed it cannot run.

    Each seed's two runs (the reference, then a second run graded against it) go on side
    by side with the other seeds' (``parallel_runs`` at once): the notebooks' kernels are
    single-threaded, and sequential runs left a core idle for most of ``check``. What each
    seed finds is reported in seed order, as before.
    """
    seeds = [
        defaults["seed"],
        *[defaults["seed"] + 1000 + i for i in range(run.settings.check_seeds - 1)],
    ]
    workers = max(1, min(run.scratch.parallel_runs, len(seeds)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = [pool.submit(_checked_seed, run, {**defaults, "seed": seed}) for seed in seeds]
        outcomes = [future.result() for future in found]
    references = []
    for seed, (reference, seed_report) in zip(seeds, outcomes):
        report.problems.extend(seed_report.problems)
        report.timings.update(seed_report.timings)
        if reference is None:
            break
        references.append(reference)
        _check_reference_cells(
            run.where, reference, check_names if seed == defaults["seed"] else None, report
        )
    return references


def _checked_seed(run: _SolutionRun, params: dict[str, Any]) -> tuple[Reference | None, CheckReport]:
    """One seed's reference and its determinism check, with what they found kept apart."""
    found = CheckReport()
    reference = _timed_reference(run, params, found)
    if reference is not None:
        _check_second_run(run, reference, params, found)
    return reference, found


def _timed_reference(run: _SolutionRun, params: dict[str, Any], report: CheckReport) -> Reference | None:
    """The reference for one seed, timed against the notebook limit (None if the solution fails)."""
    seed = params["seed"]
    started = time.monotonic()
    try:
        reference = compute_reference(run.scratch, run.assignment_id, run.notebook, params)
    except Exception as exc:
        report.fail(run.where, f"the solution does not run cleanly with seed {seed}: {exc}")
        return None
    seconds = time.monotonic() - started
    report.timings[f"{run.where} seed {seed}"] = seconds
    if seconds > run.settings.max_notebook_seconds:
        report.fail(
            run.where,
            f"took {seconds:.0f} s with seed {seed}; the limit is {run.settings.max_notebook_seconds:.0f} s",
        )
    return reference


def _check_reference_cells(
    where: str, reference: Reference, check_names: dict[str, str] | None, report: CheckReport
) -> None:
    """Every graded cell needs a check; check names (first seed only, when given) must be unique."""
    for grade_id, cell in reference.cells.items():
        if not cell["checks"]:
            report.fail(f"{where}: cell {grade_id}", "graded cell reports no out-of-kernel check")
        if check_names is not None:
            for name in cell["checks"]:
                owner = f"{where}: cell {grade_id}"
                if name in check_names and check_names[name] != owner:
                    report.fail(owner, f"check name {name!r} is also used in {check_names[name]}")
                check_names[name] = owner


def _check_second_run(
    run: _SolutionRun, reference: Reference, params: dict[str, Any], report: CheckReport
) -> None:
    """A second run of the solution, graded against the first, must score full marks (determinism)."""
    with scratch_copy(run.source_dir) as cwd:
        again = run_notebook(run.source, params, cwd, limits=run.scratch.limits, sandbox=None, warm=run.warm)
    for grade_id, text in stderr_of_graded_cells(again.notebook).items():
        report.fail(
            f"{run.where}: cell {grade_id}",
            f"writes to stderr with seed {params['seed']} ({text!r}); stock nbgrader (JupyterLab's "
            "Validate button) scores such a cell 0: silence the warning or log in the setup cell",
        )
    for grade_id, result in score_run(reference, again, run.judge).cells.items():
        if result.score < result.points:
            failed = [c.name for c in result.checks if not c.passed]
            report.fail(
                f"{run.where}: cell {grade_id}",
                f"the solution scores {result.score:g}/{result.points:g} with seed {params['seed']} "
                f"({result.error or 'checks ' + ', '.join(failed)}); is it deterministic?",
            )


def stderr_of_graded_cells(executed: NotebookNode) -> dict[str, str]:
    """grade_id -> the start of what each graded cell wrote to stderr (nbgrader's partial-credit
    rule gives such a cell no points, whatever our own checks say)."""
    found = {}
    for cell in executed.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade"):
            continue
        text = "".join(str(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stderr")
        if text.strip():
            found[str(meta.get("grade_id"))] = text.strip()[:120]
    return found


def _check_untouched_release(
    run: _SolutionRun,
    release: NotebookNode,
    release_dir: Path,
    reference: Reference,
    where_release: str,
    report: CheckReport,
) -> None:
    """The untouched release, graded as a submission, must score zero on every graded cell."""
    sanitized, _ = sanitize(run.scratch, release, run.assignment_id, run.notebook, "untouched-release")
    with scratch_copy(release_dir) as cwd:
        result = run_notebook(
            sanitized, reference.parameters, cwd, limits=run.scratch.limits, sandbox=None, warm=run.warm
        )
    for grade_id, cell in score_run(reference, result, run.judge).cells.items():
        if cell.score > 0:
            report.fail(
                f"{where_release}: cell {grade_id}",
                f"the untouched release scores {cell.score:g}; a test must fail before "
                "the learner writes anything",
            )


def check_alternatives(
    scratch: Settings,
    source: NotebookNode,
    release: NotebookNode,
    references: list[Reference],
    *,
    warm: tuple[str, ...] | None,
    report: CheckReport,
    log: Callable[[str], None] = print,
) -> None:
    """Every honest alternative of a notebook, graded as a learner's submission: full marks.

    Each is applied to the release as a learner would type it in, restored by nbgrader's
    sanitising chain and run under each of the solution's parameter sets (``check_seeds``)
    in the trusted warm kernels the solutions use, its runs side by side. Written answers,
    graded by a person, are not part of a run's score. ``references`` (one per seed, at
    least one) name the notebook; ``scratch`` holds the gradebook that knows its release.
    """
    root, assignment_id, notebook = scratch.root, references[0].assignment, references[0].notebook
    path = alternatives_path(layout.source_dir(root, assignment_id), notebook)
    where = str(path.relative_to(root))
    alternatives = _usable_alternatives(path, where, release, report)
    if alternatives is None:
        return
    started = time.monotonic()
    jobs = _alternative_jobs(scratch, source, release, references, alternatives, where, report)
    results = _grade_alternative_jobs(scratch, layout.release_dir(root, assignment_id), jobs, warm)
    for (alternative, _, reference), result in zip(jobs, results, strict=True):
        seed = reference.parameters.get("seed")
        for grade_id, cell in result.cells.items():
            if cell.score < cell.points:
                report.problems.append(
                    f"{where}: alternative {alternative.name}: cell {grade_id} scored "
                    f"{cell.score:g}/{cell.points:g} under seed {seed}: {_why_not(cell.error, cell.checks)}"
                )
    seconds = time.monotonic() - started
    report.timings[f"{where} ({len(alternatives)} x {len(references)} seeds)"] = seconds
    log(f"graded {len(alternatives)} alternative(s) of {notebook}, {len(references)} seeds: {seconds:.1f} s")


def _usable_alternatives(
    path: Path, where: str, release: NotebookNode, report: CheckReport
) -> list[Alternative] | None:
    """The notebook's alternatives, or None (reported) when missing, unreadable or mistargeted."""
    if not path.is_file():
        report.fail(
            where,
            "missing: every notebook ships at least one honest alternative solution that must score "
            "full marks; write one (see 'Honest alternatives' in docs/AUTHORING.md)",
        )
        return None
    try:
        alternatives = load_alternatives(path)
    except AlternativesError as exc:
        report.problems.append(str(exc))
        return None
    problems = target_problems(alternatives, release)
    for problem in problems:
        report.fail(where, f"alternative {problem}")
    return None if problems else alternatives


_AlternativeJob = tuple[Alternative, NotebookNode, Reference]


def _alternative_jobs(
    scratch: Settings,
    source: NotebookNode,
    release: NotebookNode,
    references: list[Reference],
    alternatives: list[Alternative],
    where: str,
    report: CheckReport,
) -> list[_AlternativeJob]:
    """Each alternative typed into the release and sanitised as nbgrader would, once per seed."""
    assignment_id, notebook = references[0].assignment, references[0].notebook
    answers = solution_answers(source)
    jobs: list[_AlternativeJob] = []
    for alternative in alternatives:
        filled = apply_alternative(release, answers, alternative)
        try:
            sanitized, _ = sanitize(scratch, filled, assignment_id, notebook, f"alt-{alternative.name}")
        except Exception as exc:  # nbgrader refuses what it cannot restore, as for a learner
            report.fail(where, f"alternative {alternative.name}: nbgrader cannot restore it: {exc}")
            continue
        jobs.extend((alternative, sanitized, reference) for reference in references)
    return jobs


def _grade_alternative_jobs(
    scratch: Settings, release_dir: Path, jobs: list[_AlternativeJob], warm: tuple[str, ...] | None
) -> list[RunResult]:
    """The jobs run side by side (``parallel_runs`` at once), each scored against its seed's reference."""

    def grade(job: _AlternativeJob) -> RunResult:
        _, nb, reference = job
        with scratch_copy(release_dir) as cwd:
            run = run_notebook(nb, reference.parameters, cwd, limits=scratch.limits, sandbox=None, warm=warm)
        return score_run(reference, run, ArtifactJudge.for_course(scratch.root, reference.assignment, None))

    with ThreadPoolExecutor(max_workers=max(1, min(scratch.parallel_runs, len(jobs)))) as pool:
        return list(pool.map(grade, jobs))


def _why_not(error: str, checks: list[CheckResult]) -> str:
    """What cost a cell its points: its error, else the first failed check and its reason."""
    if error:
        return error
    failed = [c for c in checks if not c.passed]
    if not failed:
        return "no check reported"
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"check {failed[0].name}: {failed[0].reason}{more}"


def check_released_folders(root: Path, generated: Path, assignment_id: str, report: CheckReport) -> None:
    """No alternatives or misconceptions in the committed release, nor in what nbgrader generates now."""
    committed = layout.release_dir(root, assignment_id)
    for kept in (ALTERNATIVES_DIR, MISCONCEPTIONS_DIR):
        for folder in sorted(committed.rglob(kept)) if committed.is_dir() else []:
            report.fail(
                str(folder.relative_to(root)),
                f"{kept} (the author's variants of the solution) in the release; delete the folder, "
                "then run: autograder release",
            )
        if generated.is_dir() and any(generated.rglob(kept)):
            report.fail(
                "jupyter_config.py",
                f"nbgrader generate_assignment copies solutions/{assignment_id}/{kept}/ into the "
                f"release; list {kept!r} in c.CourseDirectory.ignore",
            )


RELEASED_TEXT = {".ipynb", ".yaml", ".yml", ".md", ".txt", ".py", ".json"}
"""Files of a release an alternative's code could be pasted into (data files are not read)."""


def check_alternative_leaks(settings: Settings, assignment: Assignment, report: CheckReport) -> None:
    """No line of an honest alternative appears in the release (notebooks, hints, other text).

    As for solution lines, a line the author also shows outside the secret regions of a
    notebook (a prompt, a visible test) is public, not a leak; so is a line of a file the
    author ships on purpose (a helper module in ``data/``: ``for step in steps:`` there is
    not an alternative's), everything in the source folder but notebooks and hints.
    """
    source_dir = layout.source_dir(settings.root, assignment.id)
    release_dir = layout.release_dir(settings.root, assignment.id)
    lines: dict[str, str] = {}
    for path in sorted((source_dir / ALTERNATIVES_DIR).glob("*.yaml")):
        try:
            alternatives = load_alternatives(path)
        except AlternativesError:
            continue  # check_alternatives reports it
        for alternative in alternatives:
            for line in alternative_lines(alternative):
                lines.setdefault(line, f"{path.stem}/{alternative.name}")
    if not lines or not release_dir.is_dir():
        return
    public = "\n".join(
        _public_text(cell.source)
        for path in sorted(source_dir.glob("*.ipynb"))
        for cell in read_notebook(path).cells
    )
    shipped = [
        p
        for p in sorted(source_dir.rglob("*"))
        if p.is_file()
        and p.suffix in RELEASED_TEXT - {".ipynb"}
        and p.name != HINTS_FILE
        and ALTERNATIVES_DIR not in p.relative_to(source_dir).parts
    ]
    public += "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in shipped)
    secret = {line: owner for line, owner in lines.items() if line not in public}
    for path in sorted(p for p in release_dir.rglob("*") if p.is_file() and p.suffix in RELEASED_TEXT):
        where = str(path.relative_to(settings.root))
        if path.suffix == ".ipynb":
            texts = [(f"{where}: cell {c.get('id', '?')}", c.source) for c in read_notebook(path).cells]
        else:
            texts = [(where, re.sub(r"\s+", "", path.read_text(encoding="utf-8", errors="replace")))]
        for line, owner in secret.items():
            for label, text in texts:
                needle = line if path.suffix == ".ipynb" else re.sub(r"\s+", "", line)
                if needle in text:
                    report.fail(label, f"leaks {line!r} of the honest alternative {owner}")


def check_hidden_files(settings: Settings, assignment: Assignment, report: CheckReport) -> None:
    """Files under ``hidden/<assignment>/`` (competition labels) must not reach the release.

    nbgrader copies every file of the source folder into the release, so a hidden file
    there, or its rows inside a data file, is a leak.
    """
    hidden = layout.hidden_dir(settings.root, assignment.id)
    if not hidden.is_dir():
        return
    public_files = [
        p
        for folder in (
            layout.release_dir(settings.root, assignment.id),
            layout.source_dir(settings.root, assignment.id),
        )
        for p in folder.rglob("*")
        if p.is_file()
    ]
    public_text = {p: p.read_bytes() for p in public_files}
    for secret in sorted(p for p in hidden.rglob("*") if p.is_file()):
        data = secret.read_bytes()
        rows = [line for line in data.splitlines()[1:] if len(line) > 8][:50]
        for path, text in public_text.items():
            if text == data or (rows and sum(row in text for row in rows) > len(rows) // 2):
                report.fail(str(path.relative_to(settings.root)), f"holds the hidden file {secret.name}")


def run_nbval(settings: Settings, assignment: Assignment, report: CheckReport) -> None:
    """``pytest --nbval-lax`` over a copy of the solution notebooks, as a separate process.

    A copy, because notebooks write files (a saved model, say) into their working folder,
    and nbgrader would ship anything left in ``solutions/`` with the release.
    """
    folder = layout.source_dir(settings.root, assignment.id)
    with tempfile.TemporaryDirectory(prefix="autograder-nbval-") as tmp:
        copy = Path(tmp) / assignment.id
        shutil.copytree(folder, copy)
        cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(copy)]
        env = {**os.environ, "AUTOGRADER_STATE": str(settings.state_dir)}  # where the compat references are
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        report.fail(str(folder.relative_to(settings.root)), f"pytest --nbval-lax failed:\n{tail}")


def _nbval_report(settings: Settings, assignment: Assignment) -> CheckReport:
    """``run_nbval``'s problems in a report of their own (it runs beside the main one)."""
    found = CheckReport()
    run_nbval(settings, assignment, found)
    return found


def checked_assignments(curriculum: Curriculum, assignments: list[str] | None) -> list[Assignment]:
    """The assignments ``autograder check`` covers: the named ones, or all, planned phases skipped.

    A name the manifest does not list raises ``UnknownName`` (checking nothing would pass)."""
    for name in assignments or []:
        curriculum.assignment(name)
    return [
        a
        for a in curriculum.assignments()
        if (not assignments or a.id in assignments) and not curriculum.phase(a.phase_id).planned
    ]


def check_steps(curriculum: Curriculum, assignments: list[str] | None, nbval: bool) -> int:
    """How many steps ``check_curriculum`` reports: one per notebook, one per nbval run."""
    targets = checked_assignments(curriculum, assignments)
    return sum(len(a.notebooks) for a in targets) + (len(targets) if nbval else 0)


def check_curriculum(
    settings: Settings,
    curriculum: Curriculum,
    *,
    assignments: list[str] | None = None,
    nbval: bool = True,
    log: Callable[[str], None] = print,
    step: Callable[[str], None] = lambda _: None,
) -> CheckReport:
    report = CheckReport()
    for folder in (layout.SOURCE, layout.RELEASE):
        for path in sorted((settings.root / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            try:
                nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
            except Exception as exc:
                report.fail(str(path.relative_to(settings.root)), f"not a readable notebook: {exc}")
    # Each assignment's nbval run (a separate process) goes on in the background while the
    # next assignment is checked: it needs only that assignment's compat references, already
    # written (later ones are merged in), and check's own kernels leave a core idle at times.
    pending: list[tuple[Assignment, Future[CheckReport]]] = []
    with ThreadPoolExecutor(max_workers=1) as nbval_runs:
        for assignment in checked_assignments(curriculum, assignments):
            check_assignment(settings, curriculum, assignment, report, log=log, step=step)
            check_hidden_files(settings, assignment, report)
            check_alternative_leaks(settings, assignment, report)
            if nbval:
                pending.append((assignment, nbval_runs.submit(_nbval_report, settings, assignment)))
        for assignment, future in pending:
            found = future.result()
            report.problems.extend(found.problems)
            log(f"pytest --nbval-lax solutions/{assignment.id}: {'FAILED' if found.problems else 'ok'}")
            step(f"nbval {assignment.id}")
    names = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")
    for assignment in curriculum.assignments():
        for spec in assignment.notebooks:
            if not names.match(spec.file):
                report.fail(
                    f"curriculum/manifest.yaml: {assignment.id}",
                    f"notebook name {spec.file!r} should look like NN-topic.ipynb",
                )
    return report
