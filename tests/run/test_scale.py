"""Speed without cutting corners: warm kernels grade exactly as cold ones, stay isolated,
scale out on a real Dask cluster, and write to a real PostgreSQL gradebook."""

from __future__ import annotations

import dataclasses
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook

from autograder.course.config import load_settings, make_sandbox
from autograder.course.curriculum import load_curriculum
from autograder.grading.grade import SubmissionResult, grade_assignment
from autograder.grading.gradebook import (
    GradebookError,
    ensure_assignment,
    generate_release,
    write_scores_batch,
)
from autograder.run.runners import LocalRunner
from autograder.run.sandbox import Sandbox, SandboxUnavailable
from tests.conftest import CORRECT, TINY, learner_notebook, make_course, submit_notebook

pytestmark = pytest.mark.slow

PARTLY = {**CORRECT, "predict-solution": "def predict(x):\n    return 2 * x"}
CRASHING = {**CORRECT, "mean-solution": "import os\nos._exit(3)"}
CLASS = {"ann": CORRECT, "ben": PARTLY, "cy": CRASHING, "dee": CORRECT}


def submit_class(settings) -> list[str]:
    for learner, answers in CLASS.items():
        submit_notebook(settings, learner, learner_notebook(settings, answers))
    return list(CLASS)


def outcome(result) -> dict:
    """Everything a grade decides, without timings: per notebook, per run, per cell."""
    assert isinstance(result, SubmissionResult), result
    return {
        nb.notebook: [
            (
                run.parameters.get("seed"),
                run.status,
                {
                    gid: (cell.score, bool(cell.error), [(c.name, c.passed, c.reason) for c in cell.checks])
                    for gid, cell in run.cells.items()
                },
            )
            for run in nb.runs
        ]
        for nb in result.notebooks
    }


def test_warm_kernels_grade_exactly_as_cold_ones(settings, curriculum):
    learners = submit_class(settings)
    warm = grade_assignment(settings, curriculum, TINY, learners=learners, seeds=2, rng=random.Random(5))
    cold_settings = dataclasses.replace(settings, warm_kernels=False)
    assert make_sandbox(settings).warm == (os.geteuid() == 0)
    assert not make_sandbox(cold_settings).warm
    cold = grade_assignment(
        cold_settings, curriculum, TINY, learners=learners, seeds=2, rng=random.Random(5), workers=1
    )
    assert [outcome(r) for r in warm] == [outcome(r) for r in cold]
    scores = [r.score(0) for r in warm]
    full = scores[0][1]
    assert scores[0] == scores[3] == (full, full) and scores[1][0] < full and scores[2][0] == 0
    assert warm[2].notebooks[0].runs[0].status == "crashed"
    # the evidence of both gradings tells the same story
    for learner, result_warm, result_cold in zip(learners, warm, cold, strict=True):
        assert result_warm.evidence is not None and result_cold.evidence is not None
        for record in (result_warm.evidence.data, result_cold.evidence.data):
            runs = record["notebooks"]["01-tiny"]["runs"]
            assert [run["status"] for run in runs] == [run.status for run in result_warm.notebooks[0].runs]
        assert learner in str(result_warm.evidence.path)


@pytest.mark.skipif(os.geteuid() != 0, reason="warm kernels are forked by root only")
def test_warm_kernels_share_nothing_with_each_other(settings):
    sandbox = make_sandbox(settings)
    assert sandbox is not None and sandbox.warm
    runner = LocalRunner(dataclasses.replace(sandbox, preload=("numpy",)), settings.limits, 2)
    polluter = new_notebook(
        cells=[
            new_code_cell("seed = 0", metadata={"tags": ["parameters"]}),
            new_code_cell(
                "import numpy, os, sys\n"
                "numpy.LEAKED = 'yes'\n"
                "sys.modules['leaked_module'] = numpy\n"
                "open('/tmp/leak', 'w').write('x')\n"
                "open('/dev/shm/leak', 'w').write('x')\n"
                "open('leak-in-scratch', 'w').write('x')\n"
                "os.environ['LEAKED'] = 'yes'\n"
                "print(os.getuid())"
            ),
        ]
    )
    probe = new_notebook(
        cells=[
            new_code_cell("seed = 0", metadata={"tags": ["parameters"]}),
            new_code_cell(
                "import numpy, os, sys\n"
                "print(hasattr(numpy, 'LEAKED'), 'leaked_module' in sys.modules, 'LEAKED' in os.environ)\n"
                "print(os.path.exists('/tmp/leak'), os.path.exists('/dev/shm/leak'), "
                "os.path.exists('leak-in-scratch'))\n"
                "print(os.getuid(), os.getpid(), len([p for p in os.listdir('/proc') if p.isdigit()]))\n"
                "print(sorted(os.listdir(os.path.dirname(os.getcwd()))))"
            ),
        ]
    )
    for nb in (polluter, probe):
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    empty = Path(tempfile.mkdtemp())
    first = runner.run(polluter, {"seed": 0}, empty)
    second = runner.run(probe, {"seed": 0}, empty)
    assert first.outcome.status == second.outcome.status == "completed"
    lines = second.notebook.cells[-1].outputs[0]["text"].splitlines()
    assert lines[0] == "False False False", "a module or variable leaked from one kernel into the next"
    assert lines[1] == "False False False", "a file leaked from one kernel into the next"
    uid, pid, processes = (int(v) for v in lines[2].split())
    assert uid != int(first.notebook.cells[-1].outputs[0]["text"]) and uid >= 200_000
    assert pid < 10 and processes < 10, "the kernel sees processes outside its own run"
    assert len(eval(lines[3])) <= 2, f"the kernel sees other runs' folders: {lines[3]}"


def test_a_real_dask_cluster_grades_with_the_same_scores(settings, curriculum):
    distributed = pytest.importorskip("distributed")
    learners = submit_class(settings)
    here = grade_assignment(settings, curriculum, TINY, learners=learners, seeds=2, rng=random.Random(11))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        there = grade_assignment(
            settings,
            curriculum,
            TINY,
            learners=learners,
            seeds=2,
            rng=random.Random(11),
            scheduler=cluster.scheduler_address,
        )
        with distributed.Client(cluster) as client:
            ran_on = client.run(os.getpid)
    assert [outcome(r) for r in there] == [outcome(r) for r in here]
    assert len(ran_on) == 2 and os.getpid() not in ran_on.values()
    with Gradebook(settings.db_url, settings.course_id) as gb:  # writes stayed on this side
        assert gb.find_submission(TINY, "ann").score == there[0].score(0)[1]


def test_unreachable_scheduler_is_named(settings, curriculum):
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:9"):
        grade_assignment(settings, curriculum, TINY, learners=["ann"], scheduler="tcp://127.0.0.1:9")


@pytest.mark.skipif(os.geteuid() != 0, reason="warm kernels are forked by root only")
def test_a_sandbox_that_fails_mid_class_stops_the_grading_and_keeps_the_scores(
    settings, curriculum, monkeypatch
):
    """A broken sandbox is the machine's fault: it must not record a zero for anyone."""
    learners = submit_class(settings)
    grade_assignment(settings, curriculum, TINY, learners=learners, seeds=1)
    scores = _grades(settings.db_url, settings.course_id)
    records = sorted(settings.evidence_dir.rglob("record.json"))
    audit = (settings.state_dir / "audit.jsonl").read_text()
    # A new sandbox (another preload list) whose warm kernel process cannot start.
    monkeypatch.setattr(Sandbox, "zygote_command", lambda self, argv, runs_root: ["false"])
    broken = dataclasses.replace(settings, preload=("json",))
    with pytest.raises(SandboxUnavailable, match="warm kernel process did not start"):
        grade_assignment(broken, curriculum, TINY, learners=learners, seeds=1)
    assert _grades(settings.db_url, settings.course_id) == scores
    assert sorted(settings.evidence_dir.rglob("record.json")) == records
    assert (settings.state_dir / "audit.jsonl").read_text() == audit


def test_a_failing_batch_writes_nothing(settings):
    before = _grades(settings.db_url, settings.course_id)
    batch = [("eve", None, {"01-tiny": {"mean-tests": 4.0}}), ("fay", None, {"no-such-notebook": {"x": 1}})]
    with pytest.raises(Exception):  # noqa: B017 - nbgrader's own error for the unknown notebook
        write_scores_batch(settings, "no-such-assignment", batch)
    assert _grades(settings.db_url, settings.course_id) == before


def _grades(db_url: str, course_id: str) -> list[tuple]:
    with Gradebook(db_url, course_id) as gb:
        return sorted(
            (sub.student.id, g.name, g.auto_score)
            for sub in gb.assignment_submissions(TINY)
            for nb in sub.notebooks
            for g in nb.grades
        )


# -- PostgreSQL ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server from Debian's package, in a throw-away folder, on loopback."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: run `make system` (apt-get install -y postgresql)")
    bindir = bins[-1].parent
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "gradebook"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], check=False
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_grading_batch_against_a_real_postgresql_gradebook(tmp_path, postgres_url):
    root = make_course(tmp_path / "course")
    config = root / "jupyter_config.py"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    settings = load_settings(root)
    assert settings.db_url == postgres_url
    generate_release(settings, TINY)
    ensure_assignment(settings, TINY)
    learners = submit_class(settings)
    results = grade_assignment(settings, load_curriculum(root), TINY, learners=learners, seeds=1)
    got, full = [r.score(0)[0] for r in results], results[0].score(0)[1]
    assert got[0] == got[3] == full and 0 < got[1] < full and got[2] == 0
    with Gradebook(postgres_url, settings.course_id) as gb:
        scores = {sub.student.id: sub.score for sub in gb.assignment_submissions(TINY)}
    assert scores == {r.learner: r.score(0)[0] for r in results}
    assert "sqlite" not in settings.db_url and not (settings.state_dir / "gradebook.db").exists()


def test_gradebook_errors_name_the_gradebook(tmp_path):
    root = make_course(tmp_path / "course")
    config = root / "jupyter_config.py"
    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/nowhere"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {url!r}\n")
    with pytest.raises(GradebookError, match=r"127\.0\.0\.1.*db_url"):
        ensure_assignment(load_settings(root), TINY)
