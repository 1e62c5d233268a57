"""Grades that `autograder grade` writes are what nbgrader's formgrader serves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import CORRECT, TINY, learner_notebook, submit_notebook
from tests.grading.test_grading import grade_one

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_formgrader_shows_our_grades(settings, curriculum, tmp_path):
    submit_notebook(settings, "formy", learner_notebook(settings, CORRECT))
    grade_one(settings, curriculum, "formy", seeds=1)
    port, token = free_port(), "test-token"
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "server",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={settings.root}",
        "--no-browser",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(cmd, cwd=settings.root, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/formgrader/api/submissions/{TINY}"
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    submissions = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError((tmp_path / "server.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        (mine,) = [s for s in submissions if s["student"] == "formy"]
        assert mine["score"] == 4.0 and mine["max_score"] == 4.0 and mine["autograded"]
    finally:
        server.terminate()
        server.wait(timeout=20)
