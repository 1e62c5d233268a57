"""The grader's memory stays bounded whatever a batch sends it (issue 12, item 3).

A batch of floods (check reports by the hundred megabytes, reports made of millions of
tiny objects, from test cells and from elsewhere, printed output, and notebooks that are
too large or too dense to parse) is graded by ``autograder grade`` in a process of its
own, three runs at once, beside an honest learner; the test prints that process's peak
resident memory and requires it below 600 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

from tests.conftest import CORRECT, learner_notebook, submit_notebook
from tests.grading.test_hostile_batch import with_answer_prelude

pytestmark = pytest.mark.slow

PEAK_RSS_MB = 600

SEND_REPORTS = """
import numpy as _np
import autograder.checks as _checks
from autograder.encode import encode as _encode
_shown = _checks._display
def _flood(payload, summary):
    payload = dict(payload)
    payload["value"] = {value}
    for _ in range({times}):
        _shown(payload, summary)
_checks._display = _flood
"""
"""An answer cell that makes every later check report ``value`` ``times`` times over."""

SEND_ELSEWHERE = """
from IPython.display import display as _display
from autograder.checks import MIME_TYPE as _MIME
for _ in range(5):
    _display({_MIME: {"name": "tiny.mean", "value": {"type": "list", "items": [{}] * 3_000_000}}}, raw=True)
"""
"""Reports of three million empty objects each (12 MB of JSON), from an answer cell."""

FLOODS = {
    "large-reports": with_answer_prelude(
        SEND_REPORTS.format(value="_encode(_np.zeros(150_000))", times=60)  # 60 x 0.9 MB of JSON
    ),
    "tiny-objects-in-a-test-cell": with_answer_prelude(
        SEND_REPORTS.format(value='{"type": "list", "items": [{}] * 3_000_000}', times=5)
    ),
    "tiny-objects-elsewhere": with_answer_prelude(SEND_ELSEWHERE),
    "printing": with_answer_prelude("for _ in range(400):\n    print('x' * 250_000)"),
}


def dense_notebook(settings, objects: int) -> bytes:
    """The correct notebook with ``objects`` empty JSON objects in its metadata."""
    text = nbformat.writes(learner_notebook(settings, CORRECT))
    junk = '"metadata": {"junk": [' + "{}," * (objects - 1) + "{}],"
    return text.replace('"metadata": {', junk, 1).encode()


def huge_markdown(settings, megabytes: int) -> bytes:
    """The correct notebook with a markdown cell of ``megabytes`` at its top."""
    text = nbformat.writes(learner_notebook(settings, CORRECT))
    cell = '{"cell_type": "markdown", "id": "huge", "metadata": {}, "source": "' + "m" * (megabytes * 2**20)
    return text.replace('"cells": [', '"cells": [' + cell + '"},', 1).encode()


GRADE = textwrap.dedent(
    """
    import json, random, sys
    from pathlib import Path
    from autograder.course.config import load_settings
    from autograder.course.curriculum import load_curriculum
    from autograder.grading.grade import SubmissionResult, grade_assignment

    settings = load_settings(Path(sys.argv[1]))
    learners = sys.argv[2:]
    results = grade_assignment(
        settings, load_curriculum(settings.root), "tiny", learners=learners, seeds=2,
        rng=random.Random(5), workers=3,
    )
    summary = {}
    for learner, result in zip(learners, results):
        if isinstance(result, SubmissionResult):
            nb = result.notebooks[0]
            summary[learner] = [nb.status, [run.score for run in nb.runs], [run.status for run in nb.runs]]
        else:
            summary[learner] = ["error", str(result)]
    # VmHWM: this process's own peak since it started (ru_maxrss would carry its parent's over exec)
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    peak_mb = int(status.split()[0]) / 1024
    print(json.dumps({"peak_mb": peak_mb, "results": summary}))
    """
)


def test_the_graders_memory_stays_bounded_under_every_flood(settings):
    learners = []
    for name, answers in FLOODS.items():
        submit_notebook(settings, f"mem-{name}", learner_notebook(settings, answers))
        learners.append(f"mem-{name}")
    files = {
        "mem-60mb-notebook": dense_notebook(settings, 20_000_000),  # 60 MB of "{},"
        "mem-dense-notebook": dense_notebook(settings, 6_000_000),  # 18 MB: under the size cap
        "mem-200mb-markdown": huge_markdown(settings, 200),
    }
    for learner, data in files.items():
        submit_notebook(settings, learner, data)
        learners.append(learner)
    submit_notebook(settings, "mem-honest", learner_notebook(settings, CORRECT))
    learners.append("mem-honest")
    proc = subprocess.run(
        [sys.executable, "-c", GRADE, str(settings.root), *learners],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    results = report["results"]
    print(f"\ngrader peak RSS under every flood, three runs at once: {report['peak_mb']:.0f} MB")
    for learner, outcome in results.items():
        print(f"  {learner}: {outcome}")
    assert report["peak_mb"] < PEAK_RSS_MB
    assert results["mem-honest"] == ["graded", [4.0, 4.0], ["completed", "completed"]]
    for learner in files:
        assert results[learner][0] == "malformed", results[learner]
    for name in FLOODS:
        status, scores, _ = results[f"mem-{name}"]
        assert status == "graded" and scores[0] < 4.0, (name, results[f"mem-{name}"])
    kept = [settings.autograded_dir / "mem-200mb-markdown", settings.evidence_dir / "mem-200mb-markdown"]
    disk = sum(f.stat().st_size for folder in kept for f in folder.rglob("*") if f.is_file())
    assert disk < 2**20, f"{disk} bytes written for a refused notebook"
