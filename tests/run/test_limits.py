"""Sandbox limits live in one place (``sandbox.Limits``): a limit declared there reaches the
config reader, prlimit's command line (cold kernels), the zygote's request and its
setrlimit loop (warm kernels), and the audit line, with no second place to edit."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.course.config import Settings, load_settings, make_sandbox
from autograder.run.execute import run_notebook, scratch_copy
from autograder.run.sandbox import MB, Limits, Sandbox, limit, read_limits
from tests.conftest import make_course
from tests.run.test_sandbox_view import MODES, in_mode

AS_ROOT = os.geteuid() == 0
FOLDERS = {"scratch": Path("/nonexistent/scratch"), "sockets": Path("/nonexistent/sockets")}
AUDIT_TODAY = {
    "cell_timeout_s": 60.0,
    "run_timeout_s": 300.0,
    "memory_mb": 4096,
    "cpu_s": 600,
    "processes": 64,
    "file_size_mb": 64,
    "output_kb": 1024,
}
"""The audit line's limits as the hand-written ``describe`` gave them: records must not change."""


def cold_command(limits: Limits) -> list[str]:
    """prlimit's part of a cold kernel's command line (before bwrap's ``--``)."""
    command = Sandbox(limits, hidden=()).command(["true"], uid=200_000, **FOLDERS)
    return command[: command.index("--")]


def zygote_request(limits: Limits) -> dict[str, Any]:
    """The request a warm kernel is forked with, as the zygote reads it (JSON on its stdin)."""
    request = Sandbox(limits, hidden=(), warm=True).fork_request(
        uid=200_000, connection_file="/nonexistent/kernel.json", env={}, **FOLDERS
    )
    decoded: dict[str, Any] = json.loads(json.dumps(request))
    return decoded


def applied_in_a_fork(request: dict[str, Any], resource_name: str) -> list[int]:
    """The (soft, hard) limit a process holds after the zygote's own code applied ``request``."""
    code = (
        "import json, resource, sys\n"
        "from autograder.run.zygote import _apply_limits\n"
        "_apply_limits(json.loads(sys.argv[1]))\n"
        f"print(json.dumps(resource.getrlimit(resource.{resource_name})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(request)], capture_output=True, text=True, check=True
    )
    pair: list[int] = json.loads(done.stdout)
    return pair


Wider = dataclasses.make_dataclass(
    "Wider",
    [("open_files", int, limit(256, "", "files a kernel may hold open", rlimit="RLIMIT_NOFILE"))],
    bases=(Limits,),
    frozen=True,
)
"""``Limits`` with one more field, declared as a maintainer adding a limit would."""


def test_a_new_limit_field_reaches_config_prlimit_zygote_and_audit_with_no_other_change() -> None:
    limits = read_limits(Config({"open_files": "100", "memory_mb": 512}), Wider)
    assert dataclasses.asdict(limits)["open_files"] == 100  # converted to the declared type
    assert limits.memory_mb == 512
    assert "--nofile=100" in cold_command(limits)
    request = zygote_request(limits)
    assert ["RLIMIT_NOFILE", 100] in request["rlimits"] and "limits" not in request
    assert applied_in_a_fork(request, "RLIMIT_NOFILE") == [100, 100]
    assert limits.describe() == {**AUDIT_TODAY, "memory_mb": 512, "open_files": 100}
    assert read_limits(Config(), Wider) == Wider()  # a limit not set keeps its default


def test_cold_and_warm_kernels_get_the_same_rlimits() -> None:
    limits = Limits(memory_mb=1000, cpu_seconds=7, processes=9, file_size_mb=3)
    expected: list[list[Any]] = [
        ["RLIMIT_AS", 1000 * MB], ["RLIMIT_CPU", 7], ["RLIMIT_NPROC", 9],
        ["RLIMIT_FSIZE", 3 * MB], ["RLIMIT_CORE", 0],
    ]  # fmt: skip
    assert zygote_request(limits)["rlimits"] == expected
    cold = [f"--{name.removeprefix('RLIMIT_').lower()}={value}" for name, value in expected]
    if not AS_ROOT:  # the run shares the instructor's uid: a process cap would count theirs
        cold.remove("--nproc=9")
    assert cold_command(limits) == ["prlimit", *cold]
    assert applied_in_a_fork(zygote_request(limits), "RLIMIT_FSIZE") == [3 * MB, 3 * MB]
    # a shorter wall clock (a submission's last runs) needs no sandbox or zygote of its own
    shorter = dataclasses.replace(limits, cell_timeout=1.0, run_timeout=2.0, output_kb=3)
    assert shorter.kernel_side() == limits.kernel_side() == limits


def test_a_limit_in_jupyter_config_reaches_the_cold_line_and_the_zygote_request(tmp_path: Path) -> None:
    root = make_course(
        tmp_path / "course", config="c.Autograder.memory_mb = 777\nc.Autograder.cpu_seconds = 33\n"
    )
    settings = load_settings(root)
    assert settings.limits.describe() == {
        **AUDIT_TODAY, "cell_timeout_s": 10.0, "run_timeout_s": 40.0, "memory_mb": 777, "cpu_s": 33
    }  # fmt: skip
    command = cold_command(settings.limits)
    assert f"--as={777 * MB}" in command and "--cpu=33" in command
    request = zygote_request(settings.limits)
    assert ["RLIMIT_AS", 777 * MB] in request["rlimits"] and ["RLIMIT_CPU", 33] in request["rlimits"]


CAP_MB = 1536
ALLOCATE = (
    "import resource\nimport numpy as np\n"
    "print('cap', resource.getrlimit(resource.RLIMIT_AS)[0] // (1024 * 1024))\n"
    "try:\n"
    f"    block = np.empty({2 * CAP_MB} * 1024 * 1024, dtype=np.uint8)  # reserved, never touched\n"
    "    print('allocated')\n"
    "except MemoryError:\n"
    "    print('MemoryError')\n"
)


@pytest.fixture(scope="module")
def capped_course(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        make_course(tmp_path_factory.mktemp("capped"), config=f"c.Autograder.memory_mb = {CAP_MB}\n")
    )


@pytest.mark.slow
@pytest.mark.parametrize("warm", MODES)
def test_a_memory_limit_in_jupyter_config_holds_warm_and_cold(capped_course: Settings, warm: bool) -> None:
    settings = in_mode(capped_course, warm)
    sandbox = make_sandbox(settings)
    assert sandbox is not None
    nb = new_notebook(cells=[new_code_cell(ALLOCATE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with scratch_copy(Path(tempfile.mkdtemp())) as cwd:
        run = run_notebook(nb, {}, cwd, limits=settings.limits, sandbox=sandbox)
    printed = "".join(out.get("text", "") for out in run.notebook.cells[0].outputs)
    assert printed == f"cap {CAP_MB}\nMemoryError\n", printed
