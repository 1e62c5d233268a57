"""Notebook documents as a run sees them: read, parameterised, their test cells and outputs.

Nothing here talks to a kernel; these are the pure steps before and after a run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from papermill.execute import prepare_notebook_metadata
from papermill.parameterize import parameterize_notebook

from ..course.config import MalformedNotebook

KERNEL_NAME = "python3"


MAX_STREAM_CHARS = 100_000
"""Stream output kept per cell in a stored notebook; the rest is cut with a note."""


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: an nbgrader grade cell of type code that is not an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def cell_label(nb: NotebookNode, index: int) -> str:
    """How a learner finds a cell: its nbgrader id, else its place among the cells they see."""
    if not 0 <= index < len(nb.cells):
        return "a cell"
    grade_id = nb.cells[index].get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return f"cell {grade_id!r}"
    injected = sum(
        1 for cell in nb.cells[:index] if "injected-parameters" in cell.get("metadata", {}).get("tags", [])
    )
    return f"cell {index + 1 - injected}"


def only_comments(source: str) -> bool:
    """Whether a code cell holds nothing but comments and blank lines (nbclient skips blank ones).

    Such a cell cannot change the kernel's state: a line of code anywhere, even one that
    starts a string holding ``#`` lines, makes the cell run.
    """
    return all(not line.strip() or line.lstrip().startswith("#") for line in source.splitlines())


def output_node(msg: dict[str, Any]) -> NotebookNode | None:
    """nbformat's ``output_from_msg`` with a structural check instead of a JSON-schema run.

    The schema run cost more than the rest of handling a message. A message whose shape
    is wrong (a hostile kernel's) is dropped, where nbformat would have raised.
    """
    kind = msg["header"]["msg_type"]
    content = msg.get("content") or {}
    try:
        if kind == "stream":
            out = {"output_type": kind, "name": str(content["name"]), "text": content["text"]}
            valid = isinstance(out["text"], str) and out["name"] in ("stdout", "stderr")
        elif kind in ("display_data", "execute_result"):
            out = {"output_type": kind, "metadata": content["metadata"], "data": content["data"]}
            valid = isinstance(out["metadata"], dict) and _mime_bundle(out["data"])
            if kind == "execute_result":
                out["execution_count"] = content["execution_count"]
                valid = valid and (out["execution_count"] is None or isinstance(out["execution_count"], int))
        elif kind == "error":
            out = {
                "output_type": kind,
                "ename": content["ename"],
                "evalue": content["evalue"],
                "traceback": content["traceback"],
            }
            valid = (
                isinstance(out["ename"], str)
                and isinstance(out["evalue"], str)
                and isinstance(out["traceback"], list)
                and all(isinstance(line, str) for line in out["traceback"])
            )
        else:
            return None
    except (KeyError, TypeError):
        return None
    return nbformat.from_dict(out) if valid else None  # type: ignore[no-untyped-call]


def _mime_bundle(data: Any) -> bool:
    """A display's data: MIME type -> text, list of text lines, or (for JSON types) any JSON."""
    if not isinstance(data, dict):
        return False
    for mime, value in data.items():
        if not isinstance(mime, str) or "/" not in mime:
            return False
        if isinstance(value, str) or mime.endswith("json"):
            continue
        if not (isinstance(value, list) and all(isinstance(line, str) for line in value)):
            return False
    return True


def parameterize(nb: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """papermill's injected-parameters cell, placed after the ``parameters`` cell."""
    # A private copy, as papermill's loader makes.
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # type: ignore[no-untyped-call]
    nb.metadata.setdefault(
        "papermill", {"default_parameters": {}, "parameters": {}, "environment_variables": {}}
    )
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    if parameters:
        nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL_NAME, language="python")
    prepared: NotebookNode = prepare_notebook_metadata(nb, "", "")
    return prepared


def default_parameters(nb: NotebookNode) -> dict[str, Any]:
    """The values the notebook's ``parameters`` cell assigns (simple literals only)."""
    import ast

    from autograder.pyast import parse_python

    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            values: dict[str, Any] = {}
            for node in parse_python(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name):
                        try:
                            values[target.id] = ast.literal_eval(node.value)
                        except ValueError:
                            continue
            return values
    return {}


def limit_outputs(nb: NotebookNode, max_chars: int = MAX_STREAM_CHARS) -> NotebookNode:
    """Cut long stream outputs, so a flood cannot bloat stored notebooks or reports."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.get("text", "")) > max_chars:
                cut = len(output["text"]) - max_chars
                output["text"] = output["text"][:max_chars] + f"\n... [{cut} characters cut]\n"
    return nb


def read_notebook(path: Path, *, strict: bool = False) -> NotebookNode:
    """Read a notebook file, with an error that names it when it is not one.

    ``strict`` also raises nbformat's ``ValidationError`` for readable JSON that is not a
    valid notebook (nbformat validates while reading; this keeps it to one validation).
    """
    problems: dict[str, Any] = {}
    try:
        nb: NotebookNode = nbformat.read(str(path), as_version=4, capture_validation_error=problems)  # type: ignore[no-untyped-call]
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise MalformedNotebook(path, exc) from None
    if strict and "ValidationError" in problems:
        raise problems["ValidationError"]
    return nb
