"""Hostile submissions against the real grader and the real sandbox (shared/adversarial.md).

Each test submits one attack into the tiny course and asserts what must happen: the
attacked check earns nothing while honest checks keep their points, the grader and the
rest of the batch carry on, and nothing the sandbox hides is reached.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading

import nbformat
import psutil
import pytest

from autograder.course.config import load_settings
from autograder.course.curriculum import load_curriculum
from autograder.grading.grade import SubmissionResult
from autograder.grading.gradebook import generate_release
from tests.conftest import CORRECT, TINY, learner_notebook, make_course, submit_notebook
from tests.grading.test_grading import cell_scores, grade_one

pytestmark = pytest.mark.slow


def attack(settings, curriculum, learner: str, answers: dict[str, str], seeds: int = 1) -> SubmissionResult:
    submit_notebook(settings, learner, learner_notebook(settings, {**CORRECT, **answers}))
    return grade_one(settings, curriculum, learner, seeds=seeds)


def outputs_text(result: SubmissionResult) -> str:
    path = result.evidence.path / "executed" / "01-tiny.seed0.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def audit_lines(settings, learner: str) -> list[dict]:
    lines = (settings.state_dir / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if json.loads(line)["learner"] == learner]


WRONG_MEAN = "def column_mean(x):\n    return 2.0 if len(x) == 2 else -1.0\n"

EQUALITY_ATTACKS = {
    "int-subclass-equal-to-all": (
        "class Anything(int):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __float__(self):\n        return 10.0\n"
        "    __hash__ = int.__hash__\n"
        "def column_mean(x):\n    return Anything(2)\n"
    ),
    "builtins-patched": (
        "import builtins\n"
        "builtins.abs = lambda x: 0\nbuiltins.round = lambda *a: 0\nbuiltins.len = lambda x: 2\n" + WRONG_MEAN
    ),
    "exception-handler-hides-errors": (
        "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
        "def column_mean(x):\n    raise ValueError('hidden')\n"
    ),
    "detects-grading": (
        "import os\n"
        "def column_mean(x):\n"
        "    return 2.0 if len(x) == 2 else (123.0 if os.environ.get('AUTOGRADER_COLLECT') else -1.0)\n"
    ),
}


@pytest.mark.parametrize("name", sorted(EQUALITY_ATTACKS))
def test_kernel_side_tricks_earn_nothing(settings, curriculum, name):
    result = attack(settings, curriculum, f"adv-{name}", {"mean-solution": EQUALITY_ATTACKS[name]})
    scores = cell_scores(result)
    assert scores["mean-tests"] == 0.0
    if name != "builtins-patched":  # patching builtins breaks the learner's own kernel too
        assert scores == {"mean-tests": 0.0, "scale-tests": 1.0, "predict-tests": 1.0}


def test_an_input_transformer_that_blanks_later_cells(settings, curriculum):
    answers = {
        "predict-solution": (
            "def predict(x):\n    return 2 * x + 1\n"
            "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"
        )
    }
    result = attack(settings, curriculum, "adv-blanker", answers)
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 0.0}


def test_frames_and_history_hold_no_expected_values(settings, curriculum):
    snoop = textwrap.dedent(
        """
        import sys, gc
        def column_mean(x):
            found = []
            frame = sys._getframe(1)
            while frame is not None:
                found += [k for k in frame.f_globals if 'expect' in k or 'refer' in k]
                frame = frame.f_back
            found += [str(o)[:80] for o in gc.get_objects() if isinstance(o, dict) and 'expected' in o]
            print('FOUND', found, list(In)[-3:], list(Out.values())[-3:])
            return -1.0
        """
    )
    result = attack(settings, curriculum, "adv-snoop", {"mean-solution": snoop})
    assert cell_scores(result)["mean-tests"] == 0.0
    text = outputs_text(result)
    assert "FOUND [] " in text
    reference = json.loads(next((settings.references_dir / TINY / "01-tiny").glob("*.json")).read_text())
    expected = reference["cells"]["mean-tests"]["checks"]["tiny.mean"]["value"]["value"]
    assert repr(expected)[:8] not in text


def test_a_test_cell_turned_into_markdown_is_restored(settings, curriculum):
    nb = learner_notebook(settings, CORRECT)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "scale-tests":
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    submit_notebook(settings, "adv-markdown", nb)
    result = grade_one(settings, curriculum, "adv-markdown", seeds=1)
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 1.0}
    assert any("cell_type" in line for line in result.notebooks[0].tampering)


def test_ignoring_sigint_meets_the_wall_clock(settings, curriculum):
    stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
    result = attack(settings, curriculum, "adv-sigint", {"scale-solution": stubborn})
    run = result.notebooks[0].runs[0]
    stopped = "cell 'scale-solution' ran longer than 10 s, was interrupted, and did not stop"
    assert run.status == "timeout" and stopped in run.reason
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 0.0, "predict-tests": 0.0}
    assert stopped in run.cells["predict-tests"].error
    (line,) = audit_lines(settings, "adv-sigint")
    assert line["limit_hit"] == "cell-timeout" and line["sandboxed"] is True


def test_the_wall_clock_ends_a_run_that_takes_too_long(tmp_path):
    """Cells that each stay under their own limit still meet the limit for the whole run."""
    root = make_course(tmp_path / "slow", cell_timeout=30, run_timeout=6)
    settings = load_settings(root)
    generate_release(settings, TINY)
    curriculum = load_curriculum(root)
    slow = {"mean-solution": "import time\ntime.sleep(20)\n" + CORRECT["mean-solution"]}
    result = attack(settings, curriculum, "adv-slow", slow)
    run = result.notebooks[0].runs[0]
    assert run.status == "timeout" and "wall-clock limit of 6 s" in run.reason
    assert set(cell_scores(result).values()) == {0.0}
    (line,) = audit_lines(settings, "adv-slow")
    assert line["limit_hit"] == "wall-clock"


def test_a_segfault_is_a_crash_and_is_not_retried(settings, curriculum):
    result = attack(
        settings, curriculum, "adv-segv", {"scale-solution": "import ctypes\nctypes.string_at(0)\n"}
    )
    run = result.notebooks[0].runs[0]
    assert run.status == "crashed" and cell_scores(result)["mean-tests"] == 2.0
    (line,) = audit_lines(settings, "adv-segv")  # one run, no retry
    assert line["status"] == "crashed"


def test_sys_exit_does_not_stop_later_cells(settings, curriculum):
    answers = {"scale-solution": "import sys\ndef scale(x, k):\n    return np.asarray(x) * k\nsys.exit(3)\n"}
    result = attack(settings, curriculum, "adv-exit", answers)
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 1.0}


def test_memory_over_the_cap_ends_the_run_with_a_reason(settings, curriculum):
    answers = {"scale-solution": "hog = bytearray(64 * 1024 ** 3)\n"}
    result = attack(settings, curriculum, "adv-memory", answers)
    run = result.notebooks[0].runs[0]
    assert run.status == "memory-limit" and "memory" in run.reason
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 0.0, "predict-tests": 0.0}
    assert audit_lines(settings, "adv-memory")[0]["limit_hit"] == "memory"


def test_a_fork_loop_stops_at_the_process_cap_and_leaves_nothing(settings, curriculum):
    bomb = textwrap.dedent(
        """
        import os, time
        children = 0
        try:
            for _ in range(100000):
                if os.fork() == 0:
                    time.sleep(600)
                    os._exit(0)
                children += 1
        except OSError as exc:
            print('fork refused after', children, type(exc).__name__)
        def scale(x, k):
            return np.asarray(x) * k
        """
    )
    result = attack(settings, curriculum, "adv-fork", {"scale-solution": bomb})
    text = outputs_text(result)
    assert "fork refused after" in text
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 1.0}
    uid = audit_lines(settings, "adv-fork")[0]["uid"]
    mine = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
    _, alive = psutil.wait_procs(mine, timeout=10)
    assert [p for p in alive if p.status() != psutil.STATUS_ZOMBIE] == []


def test_a_file_over_the_size_cap_fails_in_the_sandbox_only(settings, curriculum):
    writer = "open('big.bin', 'wb').write(b'0' * (100 * 1024 * 1024))\n"
    result = attack(settings, curriculum, "adv-bigfile", {"scale-solution": writer})
    assert "File too large" in outputs_text(result)
    assert cell_scores(result)["mean-tests"] == 2.0 and cell_scores(result)["predict-tests"] == 1.0


def test_network_is_refused_even_on_loopback(settings, curriculum):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    accepted: list[object] = []
    listener.settimeout(0.5)

    def accept() -> None:
        for _ in range(60):
            try:
                accepted.append(listener.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    probe = textwrap.dedent(
        f"""
        import socket, os
        for target in [('127.0.0.1', {port}), ('localhost', {port}), ('pypi.org', 443)]:
            try:
                socket.create_connection(target, timeout=3)
                print('CONNECTED', target)
            except OSError as exc:
                print('refused', target, type(exc).__name__)
        print('RUN', sorted(os.listdir('/run')), os.path.exists('/var/run/postgresql'))
        """
    )
    try:
        result = attack(settings, curriculum, "adv-network", {"scale-solution": probe})
    finally:
        listener.close()
    text = outputs_text(result)
    assert "CONNECTED" not in text and text.count("refused") == 3
    assert "RUN [] False" in text
    assert accepted == []


def test_the_grader_is_invisible_and_unsignalable(settings, curriculum):
    os.environ["GRADER_SECRET_TOKEN"] = "s3cret-value"
    probe = textwrap.dedent(
        """
        import os, signal
        seen = []
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    seen.append(open(f'/proc/{pid}/cmdline').read().replace('\\0', ' ')[:60])
                    seen.append(open(f'/proc/{pid}/environ').read()[:2000])
                except OSError:
                    pass
        refused = 0
        for pid in [1, os.getppid(), *[int(p) for p in os.listdir('/proc') if p.isdigit()]]:
            if pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    refused += 1
        secret = 's3cret' in ' '.join(seen) + str(os.environ)
        print('PROCS', len(seen), 'pytest' in ' '.join(seen), secret, refused)
        def scale(x, k):
            return np.asarray(x) * k
        """
    )
    try:
        result = attack(settings, curriculum, "adv-signals", {"scale-solution": probe})
    finally:
        del os.environ["GRADER_SECRET_TOKEN"]
    text = outputs_text(result)
    assert "PROCS" in text and "True" not in text.split("PROCS", 1)[1].split("\\n")[0]
    assert cell_scores(result) == {"mean-tests": 2.0, "scale-tests": 1.0, "predict-tests": 1.0}


def test_a_background_process_dies_with_the_run(settings, curriculum):
    daemon = textwrap.dedent(
        """
        import subprocess
        subprocess.Popen(['sleep', '987'], start_new_session=True)
        subprocess.Popen(['sh', '-c', '(sleep 988 &) ; exit 0'])
        def scale(x, k):
            return np.asarray(x) * k
        """
    )
    result = attack(settings, curriculum, "adv-daemon", {"scale-solution": daemon})
    assert cell_scores(result)["scale-tests"] == 1.0
    left = [
        p
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and p.info["cmdline"][-1] in ("987", "988")
    ]
    assert left == []


def test_the_course_and_other_learners_are_out_of_reach(settings, curriculum):
    submit_notebook(settings, "victim", learner_notebook(settings, CORRECT))
    targets = [
        settings.root / "solutions" / TINY / "01-tiny.ipynb",
        settings.state_dir / "gradebook.db",
        settings.references_dir / "compat.json",
        settings.submitted_dir / "victim" / TINY / "01-tiny.ipynb",
        settings.root / "curriculum" / "manifest.yaml",
    ]
    probe = "import os\nfor path in " + repr([str(t) for t in targets]) + ":\n"
    probe += "    try:\n        open(path).read(10)\n        print('READ', path)\n"
    probe += "    except OSError as exc:\n        print('denied', type(exc).__name__)\n"
    probe += f"print('LIST', os.listdir({str(settings.state_dir)!r}), os.listdir({str(settings.root)!r}))\n"
    result = attack(settings, curriculum, "adv-reader", {"scale-solution": probe})
    text = outputs_text(result)
    assert "READ" not in text and text.count("denied") == len(targets)
    assert "LIST [] ['.autograder']" in text  # an empty course folder and the hidden state folder


def test_fake_results_files_are_ignored(settings, curriculum):
    forger = textwrap.dedent(
        f"""
        import json, os
        fake = {{'cells': {{'mean-tests': {{'score': 2}}}}, 'score': 100}}
        for folder in ['.', {str(settings.state_dir)!r}, {str(settings.evidence_dir)!r}]:
            try:
                os.makedirs(folder, exist_ok=True)
                json.dump(fake, open(os.path.join(folder, 'record.json'), 'w'))
                json.dump(fake, open(os.path.join(folder, 'results.json'), 'w'))
            except OSError as exc:
                print('write refused', folder, type(exc).__name__)
        """
    )
    result = attack(settings, curriculum, "adv-forger", {"mean-solution": forger + WRONG_MEAN})
    assert cell_scores(result)["mean-tests"] == 0.0
    assert not (settings.state_dir / "results.json").exists()
    assert not (settings.evidence_dir / "results.json").exists()


def test_output_flood_is_cut_and_the_grader_stays_small(settings, curriculum, capsys):
    """Grades a 300 MB print flood in a separate grader process and reports its peak memory."""
    flood = "for _ in range(300):\n    print('x' * 1_000_000)\n"
    big_line = "print('y' * 300_000_000)\n"
    peaks = {}
    for name, code in {"adv-flood-lines": flood, "adv-flood-one": big_line}.items():
        submit_notebook(settings, name, learner_notebook(settings, {**CORRECT, "scale-solution": code}))
        script = textwrap.dedent(
            f"""
            import json, random
            from autograder.course.config import load_settings
            from autograder.course.curriculum import load_curriculum
            from autograder.grading.grade import grade_assignment
            from pathlib import Path
            settings = load_settings(Path({str(settings.root)!r}))
            (result,) = grade_assignment(settings, load_curriculum(settings.root), {TINY!r},
                                         learners=[{name!r}], seeds=1, rng=random.Random(1))
            run = result.notebooks[0].runs[0]
            # VmHWM, this process's own peak: ru_maxrss would carry over pytest's own peak from
            # before the exec (a 200 MB notebook an earlier test held made this test fail)
            peak_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
            print(json.dumps({{"peak_kb": peak_kb,
                              "status": run.status, "reason": run.reason,
                              "scores": {{g: c.score for g, c in run.cells.items()}}}}))
            """
        )
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        peaks[name] = report["peak_kb"] / 1024
        assert report["scores"]["mean-tests"] == 2.0 and report["scores"]["scale-tests"] == 0.0
        assert report["status"] in ("output-limit", "timeout", "crashed"), report
        assert report["peak_kb"] < 400 * 1024, report  # the flood was 300 MB
    with capsys.disabled():
        for name, mb in peaks.items():
            print(f"\n[output flood] {name}: grader peak RSS {mb:.0f} MB while the notebook printed 300 MB")
