"""Reading files a learner controls (``autograder.course.intake``): no link followed, no byte quoted.

Fast: real files, links, pipes and sparse files in a temporary folder; no kernel.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.config import MalformedNotebook
from autograder.course.intake import (
    MB,
    RefusedNotebook,
    copy_new_file,
    linked_part,
    max_notebook_bytes,
    read_learner_file,
    read_learner_notebook,
)
from autograder.run.notebooks import read_notebook

SECRET = "TOPSECRET-7f3a9c"
"""Text of a file the learner must never see; no error may hold any of it."""
LIMIT = max_notebook_bytes(20)


def notebook_text() -> str:
    return nbformat.writes(new_notebook(cells=[new_code_cell("x = 1", id="one")]))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A submission folder (``root/ada/tiny``) with a good notebook and a secret beside it."""
    sub = tmp_path / "root" / "ada" / "tiny"
    sub.mkdir(parents=True)
    (sub / "good.ipynb").write_text(notebook_text())
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET * 4)
    secret.chmod(0o600)
    return sub


def refused(path: Path, **kw) -> str:
    """The message of the refusal, checked for the file's name and for no secret bytes."""
    with pytest.raises(MalformedNotebook) as info:
        read_learner_notebook(path, LIMIT, **kw)
    message = str(info.value)
    assert str(path) in message and SECRET[:6] not in message and "7f3a" not in message, message
    return message


def test_a_good_notebook_reads_as_nbformat_reads_it(folder):
    path = folder / "good.ipynb"
    assert read_learner_notebook(path, LIMIT, root=folder.parent.parent) == nbformat.read(path, as_version=4)


def test_a_link_to_a_file_is_refused_and_never_read(folder, tmp_path):
    link = folder / "linked.ipynb"
    link.symlink_to(tmp_path / "secret.txt")
    message = refused(link, root=folder.parent.parent)
    assert "symbolic link" in message and "not a link" in message
    with pytest.raises(RefusedNotebook):
        read_learner_file(link, LIMIT)
    (folder / "good-link.ipynb").symlink_to(folder / "good.ipynb")  # even to a good notebook
    assert "symbolic link" in refused(folder / "good-link.ipynb")


def test_a_linked_folder_below_the_root_is_refused_one_above_it_is_trusted(folder, tmp_path):
    root = folder.parent.parent
    (root / "bob").symlink_to(root / "ada")
    message = refused(root / "bob" / "tiny" / "good.ipynb", root=root)
    assert f"its folder {root / 'bob'} is a symbolic link" in message
    trusted = tmp_path / "trusted"
    trusted.symlink_to(root)  # the grader's own folder may be reached through an instructor's link
    assert read_learner_notebook(trusted / "ada" / "tiny" / "good.ipynb", LIMIT, root=trusted).cells


def test_a_pipe_or_a_folder_is_refused_without_blocking(folder):
    os.mkfifo(folder / "pipe.ipynb")
    (folder / "dir.ipynb").mkdir()
    outcome: dict[str, str] = {}

    def read() -> None:
        outcome["pipe"] = refused(folder / "pipe.ipynb")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert "a named pipe, not a notebook file" in outcome.get("pipe", "blocked on the pipe")
    assert "a folder, not a notebook file" in refused(folder / "dir.ipynb")


def test_a_missing_file_is_file_not_found(folder):
    with pytest.raises(FileNotFoundError):
        read_learner_notebook(folder / "absent.ipynb", LIMIT)


def test_a_file_over_the_limit_gets_one_line_before_any_byte_is_read(folder):
    big = folder / "big.ipynb"
    with big.open("wb") as handle:
        handle.truncate(61_200_000)  # sparse: size without content
    assert refused(big) == (
        f"{big}: 61.2 MB, over the 20 MB a submitted notebook may be (c.Autograder.max_notebook_mb "
        "in jupyter_config.py); clear large outputs (Edit > Clear Outputs of All Cells) and submit again"
    )
    huge = folder / "huge.ipynb"
    with huge.open("wb") as handle:
        handle.truncate(64 * 1024 * MB)  # reading this would take minutes and 64 GB
    started = time.monotonic()
    assert "over the 20 MB" in refused(huge)
    assert time.monotonic() - started < 1.0
    exact = folder / "exact.ipynb"
    exact.write_text("x" * 200)
    assert len(read_learner_file(exact, 200)) == 200
    with pytest.raises(RefusedNotebook, match=r"0\.0002 MB, over the 0\.000199 MB"):
        read_learner_file(exact, 199)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (SECRET * 4, "not JSON: Expecting value at line 1 column 1"),
        ('{"cells": "' + SECRET, "not JSON: Unterminated string"),
        ("", "not JSON: Expecting value at line 1 column 1"),
        (b"\xff\xfe" + SECRET.encode(), "not UTF-8 text: byte 0 cannot be decoded"),
        ("[" * 100_000 + "]" * 100_000, "not a readable notebook (RecursionError)"),
        ('["' + SECRET + '"]', "not a readable notebook (AttributeError)"),
        ('{"nbformat": 99, "note": "' + SECRET + '"}', "not a readable notebook (NBFormatError)"),
    ],
)
def test_unreadable_files_are_described_without_their_bytes(folder, content, expected):
    path = folder / "bad.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    message = refused(path)
    assert expected in message and "then submit again" in message


def test_schema_errors_show_where_by_schema_names_never_the_value(folder):
    nb = json.loads(notebook_text())
    nb["cells"][0]["source"] = {SECRET: SECRET}
    (folder / "source.ipynb").write_text(json.dumps(nb))
    message = refused(folder / "source.ipynb")
    assert "not a valid notebook (cells/0/source: a value of the wrong form)" in message
    nb = json.loads(notebook_text())
    output = {"output_type": "display_data", "metadata": {}, "data": {"text/x" + SECRET: 7}}
    nb["cells"][0]["outputs"] = [output]
    (folder / "output.ipynb").write_text(json.dumps(nb))
    assert "cells/0/outputs/0/data/...:" in refused(folder / "output.ipynb")
    del nb["cells"][0]["cell_type"]
    (folder / "no-type.ipynb").write_text(json.dumps(nb))
    assert "not a valid notebook (" in refused(folder / "no-type.ipynb")


def test_the_old_reader_no_longer_quotes_a_file(folder):
    """``notebooks.read_notebook`` (the grader's reader of its own files) shares the message."""
    path = folder / "bad.ipynb"
    path.write_text(SECRET * 4)
    with pytest.raises(MalformedNotebook) as info:
        read_notebook(path)
    assert SECRET[:6] not in str(info.value) and "not JSON: Expecting value" in str(info.value)


def test_linked_part_finds_the_first_link_below_the_root(folder):
    root = folder.parent.parent
    assert linked_part(root, folder / "good.ipynb") is None
    (root / "bob").symlink_to(root / "ada")
    assert linked_part(root, root / "bob" / "tiny" / "good.ipynb") == root / "bob"


def test_copy_new_file_never_writes_through_a_link_nor_over_a_file(folder, tmp_path):
    source = folder / "good.ipynb"
    os.utime(source, ns=(1_000_000_000, 2_000_000_000))
    source.chmod(0o640)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "dangling.ipynb").symlink_to(outside / "created.ipynb")
    (workspace / "data").symlink_to(outside)
    (workspace / "kept.ipynb").write_text("the learner's work")
    assert not copy_new_file(source, workspace, Path("dangling.ipynb"))
    assert not copy_new_file(source, workspace, Path("data") / "set.csv")
    assert not copy_new_file(source, workspace, Path("kept.ipynb"))
    assert list(outside.iterdir()) == [] and (workspace / "kept.ipynb").read_text() == "the learner's work"
    assert copy_new_file(source, workspace, Path("sub") / "new.ipynb")
    copied = workspace / "sub" / "new.ipynb"
    assert copied.read_bytes() == source.read_bytes()
    assert copied.stat().st_mtime_ns == 2_000_000_000 and copied.stat().st_mode & 0o777 == 0o640
