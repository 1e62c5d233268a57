"""The curriculum manifest (``curriculum/manifest.yaml``) as typed objects.

Every mistake in the manifest is reported with the file, the key path and what is wrong,
so that an instructor can fix it without reading this code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import layout
from ..errors import AutograderError

MANIFEST_PATH = layout.MANIFEST


class ManifestError(AutograderError, ValueError):
    """The manifest is malformed; the message names the file and the key."""


class UnknownName(AutograderError, KeyError):
    """A phase or assignment that the manifest does not list."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class MasteryRule:
    min_notebook_score: float = 0.8
    core_full_marks: bool = True
    min_parameter_sets: int = 2


@dataclass(frozen=True)
class NotebookSpec:
    file: str
    title: str
    points: float | None = None
    core: tuple[str, ...] = ()
    hours: float | None = None
    """The author's estimate of the study hours the notebook takes (``autograder plan``)."""
    concept_cards: bool = False
    """Every exercise passed here becomes a review card, failed before or not (drills)."""
    portfolio: tuple[str, ...] = ()
    """Written answers (grade_ids) a learner's portfolio shows, such as a model card; a
    notebook that has any is one of the projects on it (``autograder portfolio``)."""

    @property
    def name(self) -> str:
        """The notebook's id in nbgrader: its file name without ``.ipynb``."""
        return self.file.removesuffix(".ipynb")


@dataclass(frozen=True)
class Competition:
    """A Kaggle-style task: which check carries the predictions, scored on hidden labels."""

    notebook: str
    check: str
    labels: str
    """File name under ``hidden/<assignment>/`` with columns id, target and split."""
    metric: str


@dataclass(frozen=True)
class Assignment:
    id: str
    phase_id: str
    notebooks: tuple[NotebookSpec, ...]
    track: str | None = None
    competition: Competition | None = None

    def notebook(self, name: str) -> NotebookSpec:
        for nb in self.notebooks:
            if name in (nb.name, nb.file):
                return nb
        raise UnknownName(f"assignment {self.id!r} has no notebook {name!r}")


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    order: int
    requires: tuple[str, ...]
    mastery: MasteryRule
    assignments: tuple[Assignment, ...] = ()
    tracks: tuple[Track, ...] = ()
    duration: str = ""
    status: str = "ready"

    @property
    def planned(self) -> bool:
        return self.status == "planned"

    def all_assignments(self) -> tuple[Assignment, ...]:
        return self.assignments + tuple(a for t in self.tracks for a in t.assignments)

    def track(self, track_id: str | None) -> Track | None:
        return next((t for t in self.tracks if t.id == track_id), None)

    def track_choices(self) -> str:
        """The tracks as ``start`` takes them: ``--track nlp (Natural ...) or --track cv (...)``."""
        return " or ".join(f"--track {t.id} ({t.title})" for t in self.tracks)


@dataclass(frozen=True)
class Curriculum:
    root: Path
    title: str
    phases: tuple[Phase, ...] = field(default_factory=tuple)

    def phase(self, phase_id: str) -> Phase:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        known = ", ".join(p.id for p in self.phases)
        raise UnknownName(f"unknown phase {phase_id!r}; the manifest lists: {known}")

    def assignment(self, assignment_id: str) -> Assignment:
        for phase in self.phases:
            for assignment in phase.all_assignments():
                if assignment.id == assignment_id:
                    return assignment
        known = ", ".join(a.id for p in self.phases for a in p.all_assignments())
        raise UnknownName(
            f"unknown assignment {assignment_id!r}; the manifest lists: {known or 'none'} "
            f"(see {MANIFEST_PATH})"
        )

    def assignments(self) -> list[Assignment]:
        return [a for p in self.phases for a in p.all_assignments()]

    def to_start(self, name: str, track: str | None = None) -> tuple[Assignment, ...]:
        """What ``autograder start NAME [--track T]`` copies: an assignment, or a phase's
        assignments (of the chosen track, for a phase with tracks).

        Raises ``UnknownName`` with one line that names the choices: a phase with tracks
        and no (or a wrong) track, a track where the phase has none, an unknown name.
        """
        phase = next((p for p in self.phases if p.id == name), None)
        if phase is None:
            assignment = self.assignment(name)
            if track is not None and assignment.track != track:
                raise UnknownName(f"{name} is not an assignment of the track {track!r}; leave --track out")
            return (assignment,)
        if not phase.tracks:
            if track is not None:
                raise UnknownName(f"{name} has no tracks; start it without --track")
            return phase.assignments
        chosen = phase.track(track)
        if chosen is None:
            said = "no track" if track is None else f"the track {track!r}, which it does not have"
            raise UnknownName(f"{name} has tracks; you gave {said}: choose {phase.track_choices()}")
        if not chosen.assignments:
            raise UnknownName(f"the {chosen.id} track of {name} has no notebooks yet")
        return chosen.assignments

    def source_dir(self, assignment_id: str) -> Path:
        return layout.source_dir(self.root, assignment_id)

    def release_dir(self, assignment_id: str) -> Path:
        return layout.release_dir(self.root, assignment_id)


class _Reader:
    """Reads typed values out of the parsed YAML, naming the key path on every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ManifestError:
        return ManifestError(f"{self.path}: {key}: {problem}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__}")
        return value

    def sequence(self, value: Any, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {type(value).__name__}")
        return value

    def string(self, data: dict[str, Any], name: str, key: str, default: str | None = None) -> str:
        value = data.get(name, default)
        if value is None:
            raise self.fail(f"{key}.{name}", "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.{name}", f"expected a non-empty string, got {value!r}")
        return value

    def number(self, data: dict[str, Any], name: str, key: str, default: float) -> float:
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{key}.{name}", f"expected a number, got {value!r}")
        return float(value)


def _mastery(reader: _Reader, data: Any, key: str, base: MasteryRule) -> MasteryRule:
    if data is None:
        return base
    data = reader.mapping(data, key)
    unknown = set(data) - {"min_notebook_score", "core_full_marks", "min_parameter_sets"}
    if unknown:
        raise reader.fail(f"{key}.{sorted(unknown)[0]}", "unknown key")
    score = reader.number(data, "min_notebook_score", key, base.min_notebook_score)
    if not 0.0 <= score <= 1.0:
        raise reader.fail(f"{key}.min_notebook_score", f"must be between 0 and 1, got {score}")
    core = data.get("core_full_marks", base.core_full_marks)
    if not isinstance(core, bool):
        raise reader.fail(f"{key}.core_full_marks", f"expected true or false, got {core!r}")
    sets = int(reader.number(data, "min_parameter_sets", key, base.min_parameter_sets))
    if sets < 1:
        raise reader.fail(f"{key}.min_parameter_sets", "must be at least 1")
    return MasteryRule(score, core, sets)


def _notebook(reader: _Reader, data: Any, key: str) -> NotebookSpec:
    """One entry of an assignment's ``notebooks`` list, checked before nbgrader ever sees it."""
    nb = reader.mapping(data, key)
    file = reader.string(nb, "file", key)
    if not file.endswith(".ipynb"):
        raise reader.fail(f"{key}.file", f"expected a .ipynb file name, got {file!r}")
    core = reader.sequence(nb.get("core"), f"{key}.core")
    if not all(isinstance(c, str) for c in core):
        raise reader.fail(f"{key}.core", "expected a list of grade_id strings")
    points = nb.get("points")
    if points is not None and (isinstance(points, bool) or not isinstance(points, int | float)):
        raise reader.fail(f"{key}.points", f"expected a number, got {points!r}")
    hours = nb.get("hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0):
        raise reader.fail(f"{key}.hours", f"expected a positive number of study hours, got {hours!r}")
    concept_cards = nb.get("concept_cards", False)
    if not isinstance(concept_cards, bool):
        raise reader.fail(f"{key}.concept_cards", f"expected true or false, got {concept_cards!r}")
    portfolio = reader.sequence(nb.get("portfolio"), f"{key}.portfolio")
    if not all(isinstance(p, str) for p in portfolio):
        raise reader.fail(f"{key}.portfolio", "expected a list of written answers' grade_id strings")
    return NotebookSpec(
        file,
        reader.string(nb, "title", key, file),
        points,
        tuple(core),
        None if hours is None else float(hours),
        concept_cards,
        tuple(portfolio),
    )


def _competition(reader: _Reader, data: Any, key: str, notebooks: list[NotebookSpec]) -> Competition:
    """An assignment's competition, whose notebook and metric must be ones the grader knows."""
    c = reader.mapping(data, key)
    competition = Competition(
        notebook=reader.string(c, "notebook", key),
        check=reader.string(c, "check", key),
        labels=reader.string(c, "labels", key),
        metric=reader.string(c, "metric", key),
    )
    if competition.notebook not in {nb.file for nb in notebooks}:
        raise reader.fail(
            f"{key}.notebook", f"{competition.notebook!r} is not one of the assignment's notebooks"
        )
    from ..compare import METRICS_HIGHER_IS_BETTER

    if competition.metric not in METRICS_HIGHER_IS_BETTER:
        raise reader.fail(f"{key}.metric", f"unknown metric; use one of {sorted(METRICS_HIGHER_IS_BETTER)}")
    return competition


def _assignment(reader: _Reader, data: Any, key: str, phase_id: str, track: str | None) -> Assignment:
    """One assignment: its id, its notebooks and, if it has one, its competition."""
    data = reader.mapping(data, key)
    assignment_id = reader.string(data, "id", key)
    notebooks = [
        _notebook(reader, nb, f"{key}.notebooks[{i}]")
        for i, nb in enumerate(reader.sequence(data.get("notebooks"), f"{key}.notebooks"))
    ]
    competition = None
    if data.get("competition") is not None:
        competition = _competition(reader, data["competition"], f"{key}.competition", notebooks)
    return Assignment(assignment_id, phase_id, tuple(notebooks), track, competition)


def _assignments(
    reader: _Reader, data: dict[str, Any], key: str, phase_id: str, track: str | None
) -> tuple[Assignment, ...]:
    """The ``assignments`` list of a phase or of one of its tracks."""
    return tuple(
        _assignment(reader, a, f"{key}.assignments[{i}]", phase_id, track)
        for i, a in enumerate(reader.sequence(data.get("assignments"), f"{key}.assignments"))
    )


def _tracks(reader: _Reader, data: dict[str, Any], key: str, phase_id: str) -> tuple[Track, ...]:
    """A phase's ``tracks``: alternative routes through it, each with its own assignments."""
    tracks = []
    for i, t in enumerate(reader.sequence(data.get("tracks"), f"{key}.tracks")):
        t_key = f"{key}.tracks[{i}]"
        t = reader.mapping(t, t_key)
        track_id = reader.string(t, "id", t_key)
        track_assignments = _assignments(reader, t, t_key, phase_id, track_id)
        tracks.append(Track(track_id, reader.string(t, "title", t_key, track_id), track_assignments))
    return tuple(tracks)


def _phase(reader: _Reader, data: Any, order: int, known: set[str], base_rule: MasteryRule) -> Phase:
    """One entry of ``phases``; ``known`` holds the ids of the phases before it, which it may require."""
    key = f"phases[{order - 1}]"
    data = reader.mapping(data, key)
    phase_id = reader.string(data, "id", key)
    key = f"phases[{phase_id}]"
    requires = reader.sequence(data.get("requires"), f"{key}.requires")
    for req in requires:
        if req not in known:
            raise reader.fail(f"{key}.requires", f"{req!r} is not an earlier phase")
    status = data.get("status", "ready")
    if status not in ("ready", "planned"):
        raise reader.fail(f"{key}.status", f"expected 'ready' or 'planned', got {status!r}")
    assignments = _assignments(reader, data, key, phase_id, None)
    tracks = _tracks(reader, data, key, phase_id)
    return Phase(
        id=phase_id,
        title=reader.string(data, "title", key),
        order=order,
        requires=tuple(requires),
        mastery=_mastery(reader, data.get("mastery"), f"{key}.mastery", base_rule),
        assignments=assignments,
        tracks=tracks,
        duration=str(data.get("duration", "")),
        status=status,
    )


def _check_phase(reader: _Reader, phase: Phase, known: set[str], seen_assignments: set[str]) -> None:
    """What one phase cannot tell alone: repeated ids, and ready work with nothing in it."""
    key = f"phases[{phase.id}]"
    if phase.id in known:
        raise reader.fail(key, "duplicate phase id")
    if not phase.planned and not phase.all_assignments():
        raise reader.fail(f"{key}.assignments", "a ready phase needs at least one assignment")
    for assignment in phase.all_assignments():
        if assignment.id in seen_assignments:
            raise reader.fail(key, f"assignment {assignment.id!r} appears twice")
        seen_assignments.add(assignment.id)
        if not phase.planned and not assignment.notebooks:
            raise reader.fail(f"{key}.{assignment.id}", "a ready assignment needs notebooks")


def _read_yaml(path: Path) -> Any:
    """The manifest's parsed YAML; a missing or unparsable file is a ManifestError, not a traceback."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found; run autograder from the course directory") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None


def load_curriculum(root: Path | str = ".") -> Curriculum:
    """Load and validate ``curriculum/manifest.yaml`` under the course directory ``root``."""
    root = Path(root).resolve()
    path = root / MANIFEST_PATH
    reader = _Reader(path)
    raw = reader.mapping(_read_yaml(path), "(top level)")
    if raw.get("schema_version") != 1:
        raise reader.fail("schema_version", f"expected 1, got {raw.get('schema_version')!r}")
    defaults = reader.mapping(raw.get("defaults") or {}, "defaults")
    base_rule = _mastery(reader, defaults.get("mastery"), "defaults.mastery", MasteryRule())
    phases: list[Phase] = []
    seen_assignments: set[str] = set()
    for order, data in enumerate(reader.sequence(raw.get("phases"), "phases"), start=1):
        known = {p.id for p in phases}
        phase = _phase(reader, data, order, known, base_rule)
        _check_phase(reader, phase, known, seen_assignments)
        phases.append(phase)
    if not phases:
        raise reader.fail("phases", "the manifest lists no phases")
    return Curriculum(root=root, title=reader.string(raw, "title", "(top level)"), phases=tuple(phases))
