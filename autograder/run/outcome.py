"""How a run of a notebook ended, and what it left: the record every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from nbformat import NotebookNode

RunEnd = Literal["completed", "crashed", "timeout", "memory-limit", "output-limit"]
"""How a run that started can end: what ``RunOutcome.status`` and an evidence record hold."""


@dataclass
class RunOutcome:
    """How a run ended: ``completed``, ``timeout`` (wall clock) or ``crashed`` (kernel died)."""

    status: RunEnd = "completed"
    reason: str = ""
    seconds: float = 0.0
    cells_run: int = 0
    limit: str = ""
    """Which limit the run hit: ``wall-clock``, ``output``, ``memory``, ``cell-timeout`` (a cell
    was interrupted; the run may have gone on), ``output-lag`` or empty."""
    exit_code: int | None = None
    uid: int | None = None
    sandboxed: bool = False


@dataclass
class ExecutedNotebook:
    notebook: NotebookNode
    parameters: dict[str, Any]
    outcome: RunOutcome = field(default_factory=RunOutcome)
