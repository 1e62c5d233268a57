"""What the browser tests share: a course copy, real Jupyter servers, Debian's Chromium.

Playwright's own browser download does not work on our machines, so Playwright drives
the system Chromium (Debian's ``chromium`` package, installed by ``make system``).
Screenshots of every step are kept as test artifacts under ``test-artifacts/browser``
(or ``$AUTOGRADER_ARTIFACTS``) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("AUTOGRADER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    # As root in a container Chromium's own sandbox cannot start; the machine has no GPU
    # and no network beyond loopback, so background fetches are turned off.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COURSE_PARTS = ("solutions", "curriculum", "hidden", "jupyter_config.py", "nbgrader_config.py")


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("AUTOGRADER_ARTIFACTS") or REPO / "test-artifacts") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def copy_course(target: Path) -> Path:
    """This repository's course (notebooks, manifest, configuration) in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for part in COURSE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        elif source.is_file():
            shutil.copy2(source, target / part)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def jupyter_server(
    argv: list[str], *, cwd: Path, env: dict[str, str], port: int, token: str, log: Path
) -> Iterator[str]:
    """Run a Jupyter server until the block ends; yields its base URL once it answers."""
    with log.open("w") as out:
        server = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            request = urllib.request.Request(
                f"{base}/api/status", headers={"Authorization": f"token {token}"}
            )
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=5):
                        break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise AssertionError(
                            f"the Jupyter server did not start:\n{log.read_text()[-3000:]}"
                        ) from None
                    time.sleep(0.3)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
