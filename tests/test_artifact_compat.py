"""Under stock nbgrader (the compatibility path) an artifact check is recorded, not judged:
judging means running the artifact in the grader's sandbox, which the kernel cannot do."""

from __future__ import annotations

import json

import pytest

from autograder.checks import CheckFailed, check
from autograder.comparators import spec_for
from autograder.encode import encode
from autograder.protocol import COLLECT_ENV, STATE_ENV


@pytest.fixture
def compat(tmp_path, monkeypatch):
    """A course state whose compat references hold one value check and one artifact check."""
    folder = tmp_path / "references"
    folder.mkdir()
    checks = {
        "t.value": {
            "value": encode(1.0),
            "spec": spec_for("t.value", {"atol": 0, "rtol": 0, "exact_type": False})[1],
        },
        "t.tests": {"value": encode({}), "spec": spec_for("t.tests", {"suite": "stats"}, "catches")[1]},
    }
    (folder / "compat.json").write_text(json.dumps({"checks": checks}))
    monkeypatch.setenv(STATE_ENV, str(tmp_path))
    monkeypatch.delenv(COLLECT_ENV, raising=False)


def test_an_artifact_check_is_recorded_where_a_value_check_is_compared(compat):
    with pytest.raises(CheckFailed):  # the compatibility path is live: a wrong value fails here
        check("t.value", 2.0, hint="h")
    check(
        "t.tests",
        {"tests/test_a.py": "def test_a():\n    assert True\n"},
        kind="catches",
        suite="stats",
        hint="h",
    )
