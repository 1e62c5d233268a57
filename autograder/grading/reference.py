"""Reference values: what the solution notebook reports under a parameter set.

The reference for (notebook, parameters) comes from running the solution notebook under
those parameters, so it is always the answer for the data the learner's run saw. Runs
are cached by a content hash of the solution notebook, the parameters and the code that
encodes values, so a changed exercise or helper never serves a stale answer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__, layout
from ..course.config import Settings
from ..errors import AutograderError
from ..run.execute import run_notebook, scratch_copy
from ..run.notebooks import read_notebook
from ..run.warmpool import notebook_imports
from .reports import collect_reports
from .storage import sha256_bytes, sha256_file, write_json_atomic

FORMAT = 1


class SolutionRunError(AutograderError, RuntimeError):
    """The solution notebook did not run cleanly, so it cannot be a reference."""


@dataclass(frozen=True)
class Reference:
    assignment: str
    notebook: str
    parameters: dict[str, Any]
    source_sha256: str
    seconds: float
    cells: dict[str, dict[str, Any]]
    """grade_id -> {"points": float, "checks": {name: {"value", "spec", "hint", "labels"?}}}"""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "assignment": self.assignment,
            "notebook": self.notebook,
            "parameters": self.parameters,
            "source_sha256": self.source_sha256,
            "seconds": self.seconds,
            "cells": self.cells,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reference:
        return cls(
            assignment=data["assignment"],
            notebook=data["notebook"],
            parameters=data["parameters"],
            source_sha256=data["source_sha256"],
            seconds=float(data["seconds"]),
            cells=data["cells"],
        )


def _code_fingerprint() -> str:
    package = Path(__file__).resolve().parent.parent
    report_code = ("checks.py", "comparators.py", "encode.py", "figures.py", "grading/reports.py")  # a report
    parts = [(package / name).read_bytes() for name in report_code]
    return sha256_bytes(b"\0".join(parts) + __version__.encode())[:16]


def cache_key(source: Path, parameters: dict[str, Any]) -> str:
    blob = json.dumps(
        {
            "format": FORMAT,
            "source": sha256_file(source),
            "parameters": parameters,
            "code": _code_fingerprint(),
        },
        sort_keys=True,
    )
    return sha256_bytes(blob.encode())[:32]


def trusted_warm(settings: Settings, source: Path) -> tuple[str, ...] | None:
    """What a trusted zygote preloads for running ``source`` warm (None: start kernels cold)."""
    if not settings.warm_kernels:
        return None
    extra = tuple(m for m in notebook_imports([source]) if m not in settings.preload)
    return settings.preload + extra


def source_notebook(settings: Settings, assignment: str, notebook: str) -> Path:
    return settings.source_notebook(assignment, notebook)


def compute_reference(
    settings: Settings, assignment: str, notebook: str, parameters: dict[str, Any]
) -> Reference:
    """Run the solution notebook under ``parameters`` and keep what its test cells report."""
    source = source_notebook(settings, assignment, notebook)
    nb = read_notebook(source)
    with scratch_copy(source.parent) as cwd:  # our own solution: no sandbox
        run = run_notebook(
            nb, parameters, cwd, limits=settings.limits, sandbox=None, warm=trusted_warm(settings, source)
        )
    if run.outcome.status != "completed":
        raise SolutionRunError(f"{source}: the solution run {run.outcome.status}: {run.outcome.reason}")
    cells: dict[str, dict[str, Any]] = {}
    for grade_id, reports in collect_reports(run.notebook).items():
        if reports.error:
            raise SolutionRunError(
                f"{source}: cell {grade_id!r} raised {reports.error} under parameters {parameters}; "
                "the solution must pass its own tests"
            )
        checks = {}
        for name, payloads in reports.checks.items():
            if len(payloads) != 1:
                raise SolutionRunError(f"{source}: cell {grade_id!r} reports check {name!r} more than once")
            payload = payloads[0]
            entry = {"value": payload["value"], "spec": payload["spec"], "hint": payload.get("hint", "")}
            if "labels" in payload:
                entry["labels"] = payload["labels"]
            checks[name] = entry
        cells[grade_id] = {"points": reports.points, "checks": checks}
    return Reference(assignment, notebook, dict(parameters), sha256_file(source), run.outcome.seconds, cells)


def get_reference(
    settings: Settings, assignment: str, notebook: str, parameters: dict[str, Any]
) -> Reference:
    """The cached reference for these parameters, computing it on a miss."""
    source = source_notebook(settings, assignment, notebook)
    path = settings.references_dir / assignment / notebook / f"{cache_key(source, parameters)}.json"
    with _locks_guard:
        lock = _locks.setdefault(path, threading.Lock())
    with lock:  # parallel submissions that need the same new reference compute it once
        try:
            return Reference.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError):
            pass
        reference = compute_reference(settings, assignment, notebook, parameters)
        write_json_atomic(path, reference.to_json())
        return reference


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


_compat_lock = threading.Lock()


def write_compat_references(
    settings: Settings, references: list[Reference], *, runs: Settings | None = None
) -> Path:
    """The default-parameter values the in-kernel helper uses when no grader collects them.

    This is what lets stock ``nbgrader autograde`` and nbval grade our notebooks; it lives
    in the instructor's state folder, which learner code under our grader cannot see. A
    check with misconceptions also carries their default-parameter values and advice, so
    that the learner's own JupyterLab names a known mistake in a visible check, as the
    grader does (at the trust level the expected values there already have). ``runs``: the
    settings whose cache the misconceptions' runs go to (``check``'s scratch state).
    """
    from .misconceptions import compat_mistakes

    path = settings.references_dir / "compat.json"
    known = [compat_mistakes(runs or settings, reference) for reference in references]  # runs: not locked
    with _compat_lock:  # read, merge, write: ``check`` writes from a thread per notebook
        try:
            checks = json.loads(path.read_text()).get("checks", {})
        except (OSError, ValueError):
            checks = {}
        for reference, mistakes in zip(references, known, strict=True):
            for cell in reference.cells.values():
                for name, entry in cell["checks"].items():
                    checks[name] = {**entry, "parameters": reference.parameters}
                    if name in mistakes:
                        checks[name]["misconceptions"] = mistakes[name]
        write_json_atomic(path, {"format": FORMAT, "checks": checks})
    return path


def default_references(settings: Settings, assignment: str, notebooks: list[str]) -> list[Reference]:
    """References for each notebook's own default parameters, the ones stock tools run."""
    from ..run.notebooks import default_parameters

    references = []
    for notebook in notebooks:
        defaults = default_parameters(read_notebook(source_notebook(settings, assignment, notebook)))
        params = with_grader_parameters(settings, assignment, defaults)
        references.append(get_reference(settings, assignment, notebook, params))
    return references


HIDDEN_DIR_PARAMETER = "hidden_dir"


def with_grader_parameters(settings: Settings, assignment: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """Defaults plus what only the grader can supply.

    A notebook that declares ``hidden_dir`` gets the assignment's folder under
    ``hidden/`` (hidden labels of a competition, say). Every run gets the same value, but
    only trusted runs can read it: the sandbox hides the whole course directory, and
    nbgrader never copies ``hidden/`` into the release.
    """
    params = dict(defaults)
    if HIDDEN_DIR_PARAMETER in params:
        params[HIDDEN_DIR_PARAMETER] = str(layout.hidden_dir(settings.root, assignment))
    return params
