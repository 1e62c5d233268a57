"""Recognising a known mistake by its value, on the trusted side.

A misconception (``course/misconceptions.py``) is run as the solution is: the source
notebook with its answer cells replaced, under the same parameters as the learner's run,
never in a learner's kernel, cached by a content hash of the source, the misconception's
code and the parameters. When a learner's check fails, its value is compared, with the
check's own comparator and the solution's spec, with the value each misconception of that
exercise reported there; a misconception that matches, and that the solution itself does
not (it really is a mistake for this check), names the failure. A value that matches none
keeps the generic message. Misconceptions are only run for exercises that failed, so
honest work costs nothing.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..comparators import DEFAULT_KIND, comparator_named, expected_for
from ..compare import compare
from ..course.config import Settings
from ..course.misconceptions import (
    Misconception,
    load_misconceptions,
    misconceptions_path,
    source_fingerprint,
    variant_notebook,
)
from ..run.execute import run_notebook, scratch_copy
from ..run.notebooks import read_notebook
from .reference import Reference, _code_fingerprint, source_notebook, trusted_warm
from .reports import collect_reports
from .storage import sha256_bytes, sha256_file, write_json_atomic

FORMAT = 1


@dataclass(frozen=True)
class MistakeValues:
    """What one misconception reported under one parameter set: check name -> its payload."""

    name: str
    checks: dict[str, dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    """Test cell -> what it raised (an assert's message, say), for the author's eyes only."""


def notebook_misconceptions(settings: Settings, assignment: str, notebook: str) -> list[Misconception]:
    """The notebook's misconceptions as its file says now (read once per version of the file)."""
    path = misconceptions_path(source_notebook(settings, assignment, notebook).parent, notebook)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return []
    return list(_load(path, stamp))


@functools.lru_cache(maxsize=256)
def _load(path: Path, stamp: int) -> tuple[Misconception, ...]:
    return tuple(load_misconceptions(path))


def _cache_path(
    settings: Settings, assignment: str, notebook: str, item: Misconception, parameters: dict[str, Any]
) -> Path:
    source = source_notebook(settings, assignment, notebook)
    blob = json.dumps(
        {
            "format": FORMAT,
            "source": sha256_file(source),
            "misconception": source_fingerprint(item),
            "parameters": parameters,
            "code": _code_fingerprint(),
        },
        sort_keys=True,
    )
    key = sha256_bytes(blob.encode())[:32]
    return settings.references_dir / assignment / notebook / "misconceptions" / item.name / f"{key}.json"


def compute_mistake(
    settings: Settings, assignment: str, notebook: str, item: Misconception, parameters: dict[str, Any]
) -> MistakeValues:
    """Run the misconception's variant of the solution and keep what its test cells report.

    Unlike the solution, a variant may raise in a cell (its mistake may break what follows):
    what it reported before that is kept.
    """
    source = source_notebook(settings, assignment, notebook)
    nb = variant_notebook(read_notebook(source), item)
    with scratch_copy(source.parent) as cwd:  # the author's own code: no sandbox
        run = run_notebook(
            nb, parameters, cwd, limits=settings.limits, sandbox=None, warm=trusted_warm(settings, source)
        )
    checks: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for grade_id, reports in collect_reports(run.notebook).items():
        if reports.error:
            errors[grade_id] = str(reports.error)[:300]
        for name, payloads in reports.checks.items():
            if len(payloads) == 1:
                checks[name] = {"value": payloads[0]["value"], "spec": payloads[0]["spec"]}
    return MistakeValues(item.name, checks, errors)


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def get_mistake(
    settings: Settings, assignment: str, notebook: str, item: Misconception, parameters: dict[str, Any]
) -> MistakeValues:
    """The cached values of a misconception under these parameters, computed on a miss."""
    path = _cache_path(settings, assignment, notebook, item, parameters)
    with _locks_guard:
        lock = _locks.setdefault(path, threading.Lock())
    with lock:
        try:
            data = json.loads(path.read_text())
            return MistakeValues(data["name"], data["checks"], data.get("errors", {}))
        except (OSError, ValueError, KeyError):
            pass
        values = compute_mistake(settings, assignment, notebook, item, parameters)
        write_json_atomic(
            path, {"format": FORMAT, "name": values.name, "checks": values.checks, "errors": values.errors}
        )
        return values


def _matches(value: Any, mistake: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Whether ``value`` is the mistake's value under the check's own comparator and spec."""
    spec = entry["spec"]
    try:
        same_as_mistake = compare(value, expected_for({**entry, "value": mistake["value"]}), spec).passed
        mistake_is_right = compare(mistake["value"], expected_for(entry), spec).passed
    except Exception:  # a value the comparator cannot read is no match, never an error
        return False
    return bool(same_as_mistake and not mistake_is_right)


class Explainer:
    """Names the misconception behind a failed check of one run (lazily running misconceptions)."""

    def __init__(self, settings: Settings, reference: Reference, items: list[Misconception]) -> None:
        self.settings, self.reference = settings, reference
        self.by_exercise: dict[str, list[Misconception]] = {}
        for item in items:
            self.by_exercise.setdefault(item.exercise, []).append(item)

    def __call__(self, grade_id: str, check: str, value: Any) -> Misconception | None:
        entry = self.reference.cells.get(grade_id, {}).get("checks", {}).get(check)
        comparator = comparator_named(entry["spec"].get("kind", DEFAULT_KIND)) if entry else None
        if comparator is None or comparator.side != "value" or comparator.judge is not None:
            return None  # metrics and artifacts are judged, not matched by value
        for item in self.by_exercise.get(grade_id, []):
            r = self.reference
            mistake = get_mistake(self.settings, r.assignment, r.notebook, item, r.parameters).checks.get(
                check
            )
            if mistake is not None and _matches(value, mistake, entry):
                return item
        return None


def explainer_for(settings: Settings, reference: Reference) -> Explainer | None:
    """What names a notebook's failed checks under the reference's parameters (None: it has none)."""
    items = notebook_misconceptions(settings, reference.assignment, reference.notebook)
    return Explainer(settings, reference, items) if items else None


def compat_mistakes(settings: Settings, reference: Reference) -> dict[str, list[dict[str, Any]]]:
    """Check name -> its misconceptions' values under the reference's parameters, for the in-kernel path."""
    found: dict[str, list[dict[str, Any]]] = {}
    for item in notebook_misconceptions(settings, reference.assignment, reference.notebook):
        entries = reference.cells.get(item.exercise, {}).get("checks", {})
        values = get_mistake(settings, reference.assignment, reference.notebook, item, reference.parameters)
        for name, entry in entries.items():
            mistake = values.checks.get(name)
            if mistake is not None and _matches(mistake["value"], mistake, entry):
                found.setdefault(name, []).append(
                    {"name": item.name, "value": mistake["value"], "advice": item.advice}
                )
    return found
