"""Mastery evidence: one record per learner, assignment and grading, never overwritten.

A record is a folder ``evidence/<learner>/<assignment>/<graded-at>-<hash>/`` holding
``record.json`` and the executed notebooks of every parameter set. It is built in a
temporary folder beside its final place and moved there with one rename, so a reader
sees a whole record or none. A re-grade adds a record; nothing here deletes one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

from .config import Settings
from .storage import write_notebook

FORMAT = 1


@dataclass(frozen=True)
class EvidenceRecord:
    path: Path
    data: dict[str, Any]

    @property
    def learner(self) -> str:
        return str(self.data["learner"])

    @property
    def assignment(self) -> str:
        return str(self.data["assignment"])

    @property
    def graded_at(self) -> str:
        return str(self.data["graded_at"])


def write_record(
    settings: Settings,
    record: dict[str, Any],
    executed: dict[str, NotebookNode],
) -> EvidenceRecord:
    """Store ``record`` and the executed notebooks (relative path -> notebook) atomically."""
    parent = settings.evidence_dir / record["learner"] / record["assignment"]
    parent.mkdir(parents=True, exist_ok=True)
    stamp = record["graded_at"].replace(":", "").replace("-", "")
    base = f"{stamp}-{record['submission']['sha256'][:12]}"
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=parent))
    try:
        for relative, nb in executed.items():
            target = tmp / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            write_notebook(nb, target)
        (tmp / "record.json").write_text(json.dumps({"format": FORMAT, **record}, indent=1, sort_keys=True))
        for n in range(1000):
            final = parent / (base if n == 0 else f"{base}-{n}")
            try:
                os.rename(tmp, final)  # fails if final exists: never replaces a record
                return EvidenceRecord(final, {"format": FORMAT, **record})
            except OSError:
                if not final.exists():
                    raise
        raise RuntimeError(f"{parent}: too many records with the same time stamp")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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
                try:
                    data = json.loads((folder / "record.json").read_text())
                except (OSError, ValueError):
                    continue
                if data.get("format") == FORMAT:
                    yield EvidenceRecord(folder, data)


def known_learners(settings: Settings) -> list[str]:
    names: set[str] = set()
    for folder in (settings.evidence_dir, settings.submitted_dir, settings.workspaces_dir):
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(names)
