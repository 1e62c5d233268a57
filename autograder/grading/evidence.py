"""Mastery evidence: one record per learner, assignment and grading, never overwritten.

A record is a folder ``evidence/<learner>/<assignment>/<graded-at>-<hash>/`` holding
``record.json`` and the executed notebooks of every parameter set. It is built in a
temporary folder beside its final place and moved there with one rename, so a reader
sees a whole record or none. A re-grade adds a record; nothing here deletes one.

The record is typed (``GradingRecord`` down to ``CheckResult``): grading builds it, every
view (mastery, feedback, dashboards, leaderboard) reads it, and the sums a view shows
(a run's score, a notebook's fraction per seed, a submission's score per parameter set)
and the choice of a learner's latest record are made here, once. ``to_json`` writes the
JSON ``record.json`` has always held, and ``from_json`` reads every record on disk.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from nbformat import NotebookNode

from ..course.config import Settings
from ..run.outcome import RunEnd
from .storage import write_notebook

FORMAT = 1

RunStatus = Literal[RunEnd, "skipped", "missing", "malformed", "wrong-notebook"]
"""How a run ended; a run not started says why (``skipped``), and a notebook that could not
run gives its runs the notebook's status."""

NotebookStatus = Literal["graded", "missing", "malformed", "wrong-notebook"]
"""Whether a submitted notebook was run at all (``graded``) or why not."""


@dataclass
class CheckResult:
    """One named check of a test cell under one parameter set."""

    name: str
    passed: bool
    reason: str
    hint: str
    misconception: str = ""
    """The known mistake the failed value matches (``misconceptions/``), if any."""
    advice: str = ""
    """What a mentor says about that mistake, and where the right way is shown."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            data["name"],
            data["passed"],
            data.get("reason", ""),
            data.get("hint", ""),
            data.get("misconception", ""),
            data.get("advice", ""),
        )


@dataclass
class CellResult:
    """One autograded test cell under one parameter set."""

    grade_id: str
    points: float
    score: float
    error: str = ""
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def full_marks(self) -> bool:
        return self.score >= self.points

    @property
    def fraction(self) -> float:
        """The share of its points it earned; a cell worth nothing counts as passed."""
        return self.score / self.points if self.points else 1.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellResult:
        checks = [CheckResult.from_json(c) for c in data.get("checks", [])]
        return cls(data["grade_id"], data["points"], data["score"], data.get("error", ""), checks)


@dataclass
class RunResult:
    """One run of a notebook under one parameter set, scored cell by cell."""

    parameters: dict[str, Any]
    status: RunStatus
    reason: str
    seconds: float
    cells: dict[str, CellResult]

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells.values())

    @property
    def fraction(self) -> float:
        """The share of the notebook's points this run earned (1.0 when it has none)."""
        total = self.max_score
        return self.score / total if total else 1.0

    @property
    def seed(self) -> Any:
        return self.parameters.get("seed")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        cells = {gid: CellResult.from_json(c) for gid, c in data.get("cells", {}).items()}
        status = cast(RunStatus, data.get("status", ""))
        parameters = data.get("parameters", {})
        return cls(parameters, status, data.get("reason", ""), data.get("seconds", 0.0), cells)


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManualCell:
        return cls(data["grade_id"], data["points"], data["answered"], data.get("auto_score"))


@dataclass
class NotebookResult:
    """One notebook of a submission: how it was read and its runs under every parameter set."""

    notebook: str
    status: NotebookStatus
    message: str = ""
    sha256: str = ""
    tampering: list[str] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    manual: dict[str, ManualCell] = field(default_factory=dict)
    """Written answers, graded by a person in formgrader (never part of ``runs``)."""
    comments: dict[str, str | None] = field(default_factory=dict)
    """nbgrader's automatic comment per answer cell: "No response." where left as released."""

    def fractions(self) -> list[float]:
        """The share of the points per run, in run order (the default parameters first)."""
        return [run.fraction for run in self.runs]

    def to_json(self) -> dict[str, Any]:
        return asdict(self, dict_factory=_without_empty_advice)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NotebookResult:
        return cls(
            data["notebook"],
            cast(NotebookStatus, data.get("status", "")),
            data.get("message", ""),
            data.get("sha256", ""),
            list(data.get("tampering", [])),
            [RunResult.from_json(r) for r in data.get("runs", [])],
            {gid: ManualCell.from_json(m) for gid, m in data.get("manual", {}).items()},
            dict(data.get("comments", {})),
        )


def _without_empty_advice(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """A check that names no misconception is stored as checks always were (no empty keys)."""
    return {k: v for k, v in items if not (k in ("misconception", "advice") and v == "")}


def run_score(notebooks: Iterable[NotebookResult], run_index: int = 0) -> tuple[float, float]:
    """(score, points) over the notebooks under one parameter set (0: the default)."""
    got = total = 0.0
    for nb in notebooks:
        if len(nb.runs) > run_index:
            got += nb.runs[run_index].score
            total += nb.runs[run_index].max_score
    return got, total


@dataclass
class Submission:
    """What was graded: a hash over the files, and each notebook file's own hash."""

    sha256: str
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class GradingRecord:
    """The content of ``record.json``: one grading of one learner's submission."""

    learner: str
    assignment: str
    phase: str
    graded_at: str
    grader_version: str
    submitted_at: str
    submission: Submission
    source: dict[str, str]
    """Hash of each notebook's solution source (the reference)."""
    parameter_sets: list[dict[str, Any]]
    """The first notebook's parameter sets; every notebook's runs record their own."""
    notebooks: dict[str, NotebookResult]
    errors: list[str]
    format: int = FORMAT

    def score(self, run_index: int = 0) -> tuple[float, float]:
        """(score, points) over every notebook under one parameter set (0: the default)."""
        return run_score(self.notebooks.values(), run_index)

    def default_fraction(self) -> float | None:
        """The share of the points under the default parameters; None when nothing was scored."""
        got, total = self.score(0)
        return got / total if total else None

    def to_json(self) -> dict[str, Any]:
        """The dict ``record.json`` holds, exactly as grading has always written it."""
        return {
            "format": self.format,
            "learner": self.learner,
            "assignment": self.assignment,
            "phase": self.phase,
            "graded_at": self.graded_at,
            "grader_version": self.grader_version,
            "submitted_at": self.submitted_at,
            "submission": asdict(self.submission),
            "source": dict(self.source),
            "parameter_sets": [dict(p) for p in self.parameter_sets],
            "notebooks": {name: nb.to_json() for name, nb in self.notebooks.items()},
            "errors": list(self.errors),
        }

    def dumps(self) -> str:
        """``record.json``'s text."""
        return json.dumps(self.to_json(), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradingRecord:
        """A record as stored; keys a record of this format may lack get their empty value."""
        submission = data.get("submission", {})
        return cls(
            learner=data["learner"],
            assignment=data["assignment"],
            phase=data.get("phase", ""),
            graded_at=data["graded_at"],
            grader_version=data.get("grader_version", ""),
            submitted_at=data.get("submitted_at", ""),
            submission=Submission(submission.get("sha256", ""), dict(submission.get("files", {}))),
            source=dict(data.get("source", {})),
            parameter_sets=list(data.get("parameter_sets", [])),
            notebooks={name: NotebookResult.from_json(nb) for name, nb in data.get("notebooks", {}).items()},
            errors=list(data.get("errors", [])),
            format=data.get("format", FORMAT),
        )


@dataclass(frozen=True)
class EvidenceRecord:
    """A stored record: its folder (with the executed notebooks) and its typed content."""

    path: Path
    record: GradingRecord

    @property
    def learner(self) -> str:
        return self.record.learner

    @property
    def assignment(self) -> str:
        return self.record.assignment

    @property
    def graded_at(self) -> str:
        return self.record.graded_at

    @functools.cached_property
    def data(self) -> dict[str, Any]:
        """The record as JSON (what ``record.json`` holds), for readers of the raw form."""
        return self.record.to_json()


def latest_record(records: Iterable[EvidenceRecord], assignment: str) -> EvidenceRecord | None:
    """A learner's latest record of ``assignment``: the last graded (the later folder on a tie).

    Every view (mastery gaps, feedback, progress pages, leaderboard) reports this one.
    """
    mine = [r for r in records if r.assignment == assignment]
    return max(mine, key=lambda r: (r.graded_at, r.path.name)) if mine else None


def latest_by_learner(records: Iterable[EvidenceRecord], assignment: str) -> dict[str, EvidenceRecord]:
    """Each learner's latest record of ``assignment`` (``latest_record`` per learner)."""
    by_learner: dict[str, list[EvidenceRecord]] = {}
    for record in records:
        by_learner.setdefault(record.learner, []).append(record)
    found = {name: latest_record(recs, assignment) for name, recs in by_learner.items()}
    return {name: r for name, r in found.items() if r is not None}


class EvidenceWriter:
    """A record being built: each executed notebook goes to disk as its run is scored.

    Why: a grading that held every run's executed notebook until the end held every
    check report of the submission in memory at once; written as they come, the grader
    keeps one run's notebook at a time. The folder is hidden (``.incoming-``) until
    ``commit`` renames it, and a grading that fails leaves nothing behind.
    """

    def __init__(self, settings: Settings, learner: str, assignment: str) -> None:
        self.parent = settings.evidence_dir / learner / assignment
        self.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.parent))

    def add_notebook(self, relative: str, nb: NotebookNode) -> None:
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_notebook(nb, target)

    def commit(self, record: GradingRecord) -> EvidenceRecord:
        """Write ``record.json`` and move the folder to its final name, never over another."""
        (self.folder / "record.json").write_text(record.dumps())
        stamp = record.graded_at.replace(":", "").replace("-", "")
        base = f"{stamp}-{record.submission.sha256[:12]}"
        for n in range(1000):
            final = self.parent / (base if n == 0 else f"{base}-{n}")
            try:
                os.rename(self.folder, final)  # fails if final exists: never replaces a record
                return EvidenceRecord(final, record)
            except OSError:
                if not final.exists():
                    raise
        raise RuntimeError(f"{self.parent}: too many records with the same time stamp")

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def write_record(
    settings: Settings,
    record: GradingRecord,
    executed: dict[str, NotebookNode],
) -> EvidenceRecord:
    """Store ``record`` and the executed notebooks (relative path -> notebook) atomically."""
    writer = EvidenceWriter(settings, record.learner, record.assignment)
    try:
        for relative, nb in executed.items():
            writer.add_notebook(relative, nb)
        return writer.commit(record)
    except BaseException:
        writer.abort()
        raise


def iter_records(settings: Settings, learner: str | None = None) -> Iterator[EvidenceRecord]:
    """Every whole record, oldest first per learner and assignment."""
    root = settings.evidence_dir
    if not root.is_dir():
        return
    learners = [root / learner] if learner else sorted(p for p in root.iterdir() if p.is_dir())
    for learner_dir in learners:
        if not learner_dir.is_dir():
            continue
        for assignment_dir in sorted(p for p in learner_dir.iterdir() if p.is_dir()):
            for folder in sorted(p for p in assignment_dir.iterdir() if not p.name.startswith(".")):
                record = _read_record(folder)
                if record is not None:
                    yield EvidenceRecord(folder, record)


def _read_record(folder: Path) -> GradingRecord | None:
    """A folder's ``record.json`` of this format; None for one that cannot be read or parsed.

    A record of this format with a key missing is a bug (the grader writes records whole,
    with one rename): it raises, with its traceback, as it did before records were typed.
    """
    try:
        data = json.loads((folder / "record.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return GradingRecord.from_json(data)


def known_learners(settings: Settings) -> list[str]:
    names: set[str] = set()
    for folder in (settings.evidence_dir, settings.submitted_dir, settings.workspaces_dir):
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(names)
