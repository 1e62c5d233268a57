"""Grade one class twice, with stock ``nbgrader autograde`` and with ``autograder grade``.

Builds a throw-away course with one real curriculum notebook, a class of N submissions
(correct, partly wrong and crashing ones, made from the solution the way the demo makes
its learners), grades it with both, checks that the scores agree, and prints seconds
per submission, their ratio, our per-submission overhead and each grader's peak memory.
Run it with:

    .venv/bin/python benchmarks/grade_benchmark.py            # 40 submissions of 04-linear-regression
    .venv/bin/python benchmarks/grade_benchmark.py -n 10 --notebook 01-python-numpy
    .venv/bin/python benchmarks/grade_benchmark.py --class-dir DIR   # your own class:
        # DIR/<learner>/<notebook>.ipynb, submissions of --notebook

Both graders run in their own process, so each is timed whole (start-up included). Ours
grades the class twice, once before and once after stock nbgrader, and the two times are
averaged (and printed), so that a shared machine's drift in speed does not favour either.
"Overhead" is everything but the notebook's own cells: wall seconds per submission minus
the cells' seconds (summed from papermill's per-cell timings) shared over the runs that
go at once. Peak memory is the grader process's own RSS (sampled every 50 ms), and, for
ours, its whole tree with the warm zygote and the kernels (forked pages are shared, so
that figure overstates).
"""

from __future__ import annotations

import argparse
import contextlib
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

from autograder.course.config import load_settings

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
    from autograder.course.demo import fill_in

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


def load_class(root: Path, notebook: str, class_dir: Path) -> dict[str, str]:
    """Submissions from ``class_dir/<learner>/<notebook>.ipynb``, placed as nbgrader collects them."""
    kinds = {}
    for learner_dir in sorted(p for p in class_dir.iterdir() if p.is_dir()):
        source = learner_dir / f"{notebook}.ipynb"
        if not source.is_file():
            continue
        folder = root / ".autograder" / "submitted" / learner_dir.name / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(source, folder / source.name)
        (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
        kinds[learner_dir.name] = "given"
    if not kinds:
        raise SystemExit(f"{class_dir}: no <learner>/{notebook}.ipynb submissions in it")
    return kinds


def timed(cmd: list[str], cwd: Path, *, may_fail: bool = False) -> tuple[float, float, float, str]:
    """(seconds, peak RSS in MB of the process itself, of its whole tree, stdout).

    ``may_fail``: stock nbgrader exits 1 when any submission's kernel died, after grading
    the rest, so its exit code says nothing about the batch.
    """
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("AUTOGRADER_STATE", None)
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    peak, tree = [0], [0]

    def sample() -> None:
        """The process's RSS every 50 ms; its whole tree once a second (walking every
        process of the machine is costly, and the measurement must not slow the grader)."""
        with_process = psutil.Process(proc.pid)
        tick = 0
        while proc.poll() is None:
            try:
                own = with_process.memory_info().rss
                children = with_process.children(recursive=True) if tick % 20 == 0 else []
            except psutil.Error:
                return
            total = own
            for child in children:
                with contextlib.suppress(psutil.Error):  # a kernel that just ended
                    total += child.memory_info().rss
            peak[0], tree[0] = max(peak[0], own), max(tree[0], total)
            tick += 1
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0 and not may_fail:
        raise SystemExit(f"{cmd[:4]} failed with exit code {proc.returncode}")
    return time.monotonic() - started, peak[0] / 2**20, tree[0] / 2**20, out


def own_cell_seconds(root: Path) -> float:
    """The notebook's own cells in our runs: papermill's per-cell durations, from the evidence."""
    total = 0.0
    for path in (root / ".autograder" / "evidence").glob(f"*/{ASSIGNMENT}/*/executed/*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        total += sum(c.metadata.get("papermill", {}).get("duration") or 0 for c in nb.cells)
    return total


def stock_scores(root: Path) -> dict[str, dict[str, float]]:
    """Scores per learner and grade cell, from the course's gradebook."""
    from nbgrader.api import Gradebook

    settings = load_settings(root)
    with Gradebook(settings.db_url, settings.course_id) as gb:
        return {
            sub.student.id: {g.name: float(g.auto_score or 0) for nb in sub.notebooks for g in nb.grades}
            for sub in gb.assignment_submissions(ASSIGNMENT)
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=40)
    parser.add_argument("--notebook", default="04-linear-regression", help="the scikit-learn exercise")
    parser.add_argument("--assignment", default="phase1-foundations", help="where the notebook lives")
    parser.add_argument("--class-dir", type=Path, help="grade this class instead of a generated one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp:
        root = Path(tmp) / "course"
        build_course(root, args.notebook, args.assignment)
        autograder = str(Path(sys.executable).parent / "autograder")
        subprocess.run([autograder, "--course", str(root), "release"], check=True, capture_output=True)
        if args.class_dir:
            kinds = load_class(root, args.notebook, args.class_dir.resolve())
        else:
            kinds = make_class(root, args.notebook, args.submissions)
        n = len(kinds)
        mix = ", ".join(
            f"{sum(k == kind for k in kinds.values())} {kind}" for kind in dict.fromkeys(kinds.values())
        )
        print(f"class: {n} submissions of {args.notebook} ({mix}); {os.cpu_count()} cores")
        # Each grading starts from the same, ungraded state. Ours runs once before and once
        # after stock nbgrader and the two are averaged: a shared machine's speed drifts over
        # the minutes stock nbgrader takes, and this centres both measurements on the same time.
        before, after = Path(tmp) / "before", Path(tmp) / "after"
        for copy in (before, after):
            shutil.copytree(root, copy, symlinks=True)
        ours_runs = []

        def grade_with_ours(course: Path) -> None:
            cmd = [autograder, "--course", str(course), "grade", ASSIGNMENT, "--seeds", "1", "-q"]
            seconds, peak_mb, tree_mb, _ = timed(cmd, course)
            ours_runs.append((seconds, peak_mb, tree_mb, stock_scores(course), own_cell_seconds(course)))

        grade_with_ours(before)
        stock_cmd = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"]
        stock_s, stock_mb, _, _ = timed(stock_cmd, root, may_fail=True)
        stock = stock_scores(root)
        grade_with_ours(after)
        ours_s = sum(run[0] for run in ours_runs) / len(ours_runs)
        ours_mb = max(run[1] for run in ours_runs)
        ours_tree_mb = max(run[2] for run in ours_runs)
        own = sum(run[4] for run in ours_runs) / len(ours_runs)
        workers = load_settings(root).parallel_runs
        disagree = sorted(
            {k for run in ours_runs for k in set(run[3]) | set(stock) if run[3].get(k) != stock.get(k)}
        )
        overhead = ours_s / n - own / n / workers
        print(f"stock nbgrader autograde  : {stock_s / n:6.2f} s/submission, peak {stock_mb:5.0f} MB")
        print(
            f"autograder grade --seeds 1: {ours_s / n:6.2f} s/submission (before stock "
            f"{ours_runs[0][0] / n:.2f}, after {ours_runs[1][0] / n:.2f}), peak {ours_mb:5.0f} MB "
            f"(with zygote and kernels {ours_tree_mb:.0f} MB), {workers} runs at once"
        )
        print(f"ratio (stock / ours)      : {stock_s / ours_s:6.2f}x")
        print(f"notebook's own cells      : {own / n:6.3f} s/submission (kernel time, summed per run)")
        print(f"our overhead              : {overhead:6.3f} s/submission (wall minus own cells / {workers})")
        print(
            f"scores agree              : {n - len(disagree)}/{n}, both gradings"
            + (f" (differ: {disagree})" if disagree else "")
        )
        if disagree:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
