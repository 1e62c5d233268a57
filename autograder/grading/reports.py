"""Read the values that test cells reported out of an executed notebook.

A report counts only where it appears: in the outputs of the graded cell that made it.
Reports a learner's code prints anywhere else, and files it writes, are never read.

Everything in an output came from the kernel, so nothing here trusts its shape: a report
that is not a JSON object, or has no string ``name``, cannot stand for any check and
marks its cell as failed with a reason (an honest ``check()`` never sends one); a report
with a name keeps only the fields the format has, and its ``value`` is validated in full
by ``compare.compare`` before anything is compared. The ``spec`` and ``labels`` a
learner's report carries are never used: scoring takes both from the reference run
(``grade.score_run``). Error texts are cut short and made valid UTF-8, since they reach
feedback and evidence files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode

from ..compare import safe_text
from ..protocol import MIME_TYPE
from ..report_schema import has_lone_surrogate

REPORT_FIELDS = ("name", "value", "spec", "hint", "labels")
"""The fields of a check report; anything else in a payload is dropped."""
MAX_NAME = 200
"""Longest check name a report may carry (the curriculum's are far shorter)."""


@dataclass
class CellReports:
    """What one graded cell did when it ran."""

    grade_id: str
    points: float
    ran: bool
    error: str = ""
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def grade_cells(nb: NotebookNode) -> list[NotebookNode]:
    """The autograded test cells: nbgrader grade cells of type code that are not answers."""
    cells = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cells.append(cell)
    return cells


def _error_text(output: dict[str, Any]) -> str:
    name = safe_text(str(output.get("ename", "Error")), 100)
    value = str(output.get("evalue", "")).strip().splitlines()
    first = safe_text(value[0], 300) if value else ""
    return f"{name}: {first}" if first else name


def _points(meta: dict[str, Any]) -> float:
    try:
        return float(meta.get("points", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def _report(payload: Any) -> tuple[str, dict[str, Any]] | str:
    """(name, the report's known fields), or why the payload cannot be a report."""
    if not isinstance(payload, dict):
        return "a check report is not a JSON object"
    name = payload.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME or has_lone_surrogate(name):
        return "a check report has no valid name"
    return name, {key: payload[key] for key in REPORT_FIELDS if key in payload}


def collect_reports(nb: NotebookNode) -> dict[str, CellReports]:
    """Reports per grade cell id, in notebook order; never raises on what a kernel sent."""
    result: dict[str, CellReports] = {}
    for cell in grade_cells(nb):
        meta = cell.metadata.nbgrader
        reports = CellReports(
            grade_id=str(meta.get("grade_id")),
            points=_points(meta),
            ran=cell.get("execution_count") is not None or bool(cell.get("outputs")),
        )
        outputs = cell.get("outputs", [])
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type")
            if kind == "error" and not reports.error:
                reports.error = _error_text(output)
            data = output.get("data") if kind in ("display_data", "execute_result") else None
            if not isinstance(data, dict) or MIME_TYPE not in data:
                continue
            report = _report(data[MIME_TYPE])
            if isinstance(report, str):
                reports.error = reports.error or f"{report}; this cell's checks cannot be trusted"
                continue
            name, fields = report
            reports.checks.setdefault(name, []).append(fields)
        result[reports.grade_id] = reports
    return result
