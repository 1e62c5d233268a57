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

    def commit(self, record: dict[str, Any]) -> EvidenceRecord:
        """Write ``record.json`` and move the folder to its final name, never over another."""
        data = {"format": FORMAT, **record}
        (self.folder / "record.json").write_text(json.dumps(data, indent=1, sort_keys=True))
        stamp = record["graded_at"].replace(":", "").replace("-", "")
        base = f"{stamp}-{record['submission']['sha256'][:12]}"
        for n in range(1000):
            final = self.parent / (base if n == 0 else f"{base}-{n}")
            try:
                os.rename(self.folder, final)  # fails if final exists: never replaces a record
                return EvidenceRecord(final, data)
            except OSError:
                if not final.exists():
                    raise
        raise RuntimeError(f"{self.parent}: too many records with the same time stamp")

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def write_record(
    settings: Settings,
    record: dict[str, Any],
    executed: dict[str, NotebookNode],
) -> EvidenceRecord:
    """Store ``record`` and the executed notebooks (relative path -> notebook) atomically."""
    writer = EvidenceWriter(settings, record["learner"], record["assignment"])
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
