"""Grade one class twice, with stock ``nbgrader autograde`` and with ``autograder grade``.

Builds a throw-away course with one real curriculum notebook, a class of N submissions
(correct, partly wrong and crashing ones, made from the solution the way the demo makes
its learners), grades it with both, checks that the scores agree, and prints seconds
per submission, their ratio and the grader's peak memory. Run it with:

    .venv/bin/python benchmarks/grade_benchmark.py            # 40 submissions
    .venv/bin/python benchmarks/grade_benchmark.py -n 10 --notebook 01-python-numpy

Both graders run in their own process, so each is timed whole (start-up included) and its
peak memory is its own (sampled every 50 ms; kernels are not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "bench"
MANIFEST = """\
schema_version: 1
title: "Benchmark course"
phases:
  - id: bench
    title: "Benchmark"
    requires: []
    assignments:
      - id: bench
        notebooks:
          - {{file: {notebook}.ipynb, title: "{notebook}"}}
"""

OUR_GRADER = """
import json, sys
from pathlib import Path
from autograder.config import load_settings
from autograder.curriculum import load_curriculum
from autograder.grade import SubmissionResult, grade_assignment
settings = load_settings(Path(sys.argv[1]))
results = grade_assignment(settings, load_curriculum(settings.root), "bench", seeds=1)
scores = {r.learner: {g: c.score for nb in r.notebooks for g, c in nb.runs[0].cells.items()}
          for r in results if isinstance(r, SubmissionResult)}
print(json.dumps(scores))
"""


def build_course(root: Path, notebook: str, source_assignment: str) -> None:
    root.mkdir(parents=True)
    for name in ("jupyter_config.py", "nbgrader_config.py"):
        shutil.copy(REPO / name, root / name)
    (root / "curriculum").mkdir()
    (root / "curriculum" / "manifest.yaml").write_text(MANIFEST.format(notebook=notebook))
    source = REPO / "solutions" / source_assignment
    target = root / "solutions" / ASSIGNMENT
    shutil.copytree(source, target, ignore=lambda _d, names: [n for n in names if n.endswith(".ipynb")])
    shutil.copy(source / f"{notebook}.ipynb", target / f"{notebook}.ipynb")


def make_class(root: Path, notebook: str, size: int) -> dict[str, str]:
    """Submissions under ``.autograder/submitted``: every 4th crashes, every 3rd is partly wrong."""
    from autograder.demo import fill_in

    release = nbformat.read(str(root / "curriculum" / ASSIGNMENT / f"{notebook}.ipynb"), as_version=4)
    source = nbformat.read(str(root / "solutions" / ASSIGNMENT / f"{notebook}.ipynb"), as_version=4)
    kinds = {}
    for i in range(size):
        learner = f"s{i:03d}"
        if i % 4 == 3:
            kinds[learner] = "crashing"
            nb = fill_in(release, source, "alice")
            first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
            first.source += "\nimport os\nos._exit(1)\n"
        elif i % 3 == 2:
            kinds[learner], nb = "partly wrong", fill_in(release, source, "bob")
        else:
            kinds[learner], nb = "correct", fill_in(release, source, "alice")
        folder = root / ".autograder" / "submitted" / learner / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{notebook}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    return kinds


def timed(cmd: list[str], cwd: Path, *, may_fail: bool = False) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB of the process itself, stdout).

    ``may_fail``: stock nbgrader exits 1 when any submission's kernel died, after grading
    the rest, so its exit code says nothing about the batch.
    """
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("AUTOGRADER_STATE", None)
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak = [0]

    def sample() -> None:
        with_process = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], with_process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0 and not may_fail:
        raise SystemExit(f"{cmd[:4]} failed with exit code {proc.returncode}")
    return time.monotonic() - started, peak[0] / 2**20, out


def stock_scores(root: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    from autograder.config import load_settings

    settings = load_settings(root)
    with Gradebook(settings.db_url, settings.course_id) as gb:
        return {
            sub.student.id: {g.name: float(g.auto_score or 0) for nb in sub.notebooks for g in nb.grades}
            for sub in gb.assignment_submissions(ASSIGNMENT)
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=40)
    parser.add_argument("--notebook", default="04-linear-regression")
    parser.add_argument("--assignment", default="phase1-foundations", help="where the notebook lives")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp:
        root = Path(tmp) / "course"
        build_course(root, args.notebook, args.assignment)
        autograder = str(Path(sys.executable).parent / "autograder")
        subprocess.run([autograder, "--course", str(root), "release"], check=True, capture_output=True)
        kinds = make_class(root, args.notebook, args.submissions)
        n = args.submissions
        print(
            f"class: {n} submissions of {args.notebook} "
            f"({sum(k == 'correct' for k in kinds.values())} correct, "
            f"{sum(k == 'partly wrong' for k in kinds.values())} partly wrong, "
            f"{sum(k == 'crashing' for k in kinds.values())} crashing)"
        )
        stock_cmd = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"]
        stock_s, stock_mb, _ = timed(stock_cmd, root, may_fail=True)
        stock = stock_scores(root)
        ours_s, ours_mb, out = timed([sys.executable, "-c", OUR_GRADER, str(root)], root)
        ours = json.loads(out.strip().splitlines()[-1])
        disagree = sorted(k for k in ours if ours[k] != stock.get(k))
        print(f"stock nbgrader autograde : {stock_s / n:6.2f} s/submission, peak {stock_mb:5.0f} MB")
        print(f"autograder grade --seeds 1: {ours_s / n:6.2f} s/submission, peak {ours_mb:5.0f} MB")
        print(f"ratio (stock / ours)     : {stock_s / ours_s:6.2f}x")
        print(
            f"scores agree             : {n - len(disagree)}/{n}"
            + (f" (differ: {disagree})" if disagree else "")
        )


if __name__ == "__main__":
    main()
