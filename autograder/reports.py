"""Read the values that test cells reported out of an executed notebook.

A report counts only where it appears: in the outputs of the graded cell that made it.
Reports a learner's code prints anywhere else, and files it writes, are never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nbformat import NotebookNode

from .checks import MIME_TYPE


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


def _error_text(output: NotebookNode) -> str:
    name = str(output.get("ename", "Error"))
    value = str(output.get("evalue", "")).strip().splitlines()
    first = value[0] if value else ""
    return f"{name}: {first[:300]}" if first else name


def collect_reports(nb: NotebookNode) -> dict[str, CellReports]:
    """Reports per grade cell id, in notebook order."""
    result: dict[str, CellReports] = {}
    for cell in grade_cells(nb):
        meta = cell.metadata.nbgrader
        reports = CellReports(
            grade_id=str(meta.get("grade_id")),
            points=float(meta.get("points", 0) or 0),
            ran=cell.get("execution_count") is not None or bool(cell.get("outputs")),
        )
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error" and not reports.error:
                reports.error = _error_text(output)
            if kind in ("display_data", "execute_result"):
                payload = output.get("data", {}).get(MIME_TYPE)
                if isinstance(payload, dict) and isinstance(payload.get("name"), str):
                    reports.checks.setdefault(payload["name"], []).append(dict(payload))
        result[reports.grade_id] = reports
    return result
