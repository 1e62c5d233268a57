"""Two learner accounts fetch and submit phase 1 from JupyterLab's Assignment List.

The class flow of ``test_class_flow.py``, but each learner works in a browser: their own
JupyterLab runs as their own Unix account, rooted in their home, and they use nbgrader's
Assignment List panel (Nbgrader > Assignment List: "Fetch", then "Submit"). The
instructor's ``nbgrader collect`` then finds both submissions. Every step saves a
screenshot under ``test-artifacts/browser/`` (``exchange-learner1-*``, ``exchange-learner2-*``).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.course.config import load_settings
from tests.scenarios.browser_support import free_port, jupyter_server
from tests.scenarios.test_browser import Shots, _run_command, browser  # noqa: F401 - `browser` is a fixture
from tests.scenarios.test_class_flow import (  # noqa: F401 - `class_base` and `learners` are fixtures
    PHASE1,
    VENV_BIN,
    Learner,
    class_base,
    instructor,
    interpreter_view,
    learners,
    phase1_course,
)

pytestmark = pytest.mark.slow

LIST = "nbgrader:open-assignment-list"


def give(learner: Learner, path: Path) -> None:
    user = pwd.getpwnam(learner.name)
    os.chown(path, user.pw_uid, user.pw_gid)


def prepare_home(learner: Learner, config: Path) -> None:
    """The learners' nbgrader configuration, and JupyterLab's news pop-up off, in their home."""
    jupyter = learner.home / ".jupyter"
    news = jupyter / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    shutil.copy(config, jupyter / "nbgrader_config.py")
    for path in [jupyter, *jupyter.rglob("*")]:
        give(learner, path)


def learner_lab(learner: Learner, port: int, token: str) -> list[str]:
    """``jupyter lab`` as the learner (``runuser``), rooted in their home, as in ``as_learner``.

    No course ``--config``: the learner's nbgrader reads ``~/.jupyter/nbgrader_config.py``
    (course id and exchange), and the course folder is the instructor's.
    """
    env = [
        "env", "-i", f"HOME={learner.home}", f"USER={learner.name}", f"LOGNAME={learner.name}",
        f"PATH={VENV_BIN}:/usr/bin:/bin", "LANG=C.UTF-8",
    ]  # fmt: skip
    lab = [
        str(VENV_BIN / "python"), "-m", "jupyter", "lab", f"--ServerApp.root_dir={learner.home}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--no-browser",
    ]  # fmt: skip
    cmd = ["runuser", "-u", learner.name, "--", *env, *lab]
    view = interpreter_view()
    if view:
        home = str(learner.home)
        cmd = ["bwrap", "--dev-bind", "/", "/", *view, "--cap-add", "ALL", "--chdir", home, "--", *cmd]
    return cmd


def stop_lab(base: str, token: str, learner: Learner) -> None:
    """Shut the learner's server down through its API, then end whatever of theirs is left.

    ``jupyter_server`` ends the process it started (``bwrap``), which does not pass the
    signal on; the server itself runs as the learner, so it is asked to stop.
    """
    request = urllib.request.Request(
        f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
    )
    with contextlib.suppress(OSError):
        urllib.request.urlopen(request, timeout=10).close()
    uid = pwd.getpwnam(learner.name).pw_uid
    deadline = time.monotonic() + 20
    while True:
        ps = subprocess.run(["ps", "-o", "pid=", "-u", str(uid)], capture_output=True, text=True, check=False)
        pids = [int(p) for p in ps.stdout.split()]
        if not pids:
            return
        if time.monotonic() > deadline:
            for pid in pids:  # processes this test started as its own throw-away account
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.3)


def test_learners_fetch_and_submit_from_the_assignment_list(class_base, learners, browser):  # noqa: F811
    course = phase1_course(class_base)
    state = class_base / "state"
    settings = load_settings(course.root, state_dir=state)
    a = PHASE1
    instructor(course, state, "-m", "autograder.cli", "release", a)
    config = class_base / "learner_nbgrader_config.py"
    instructor(course, state, "-m", "autograder.cli", "exchange-setup", "--learner-config", str(config))
    instructor(course, state, "-m", "nbgrader", "release_assignment", a)
    expected = sorted(p.name for p in (course.root / "curriculum" / a).glob("*.ipynb"))
    assert expected

    for number, learner in enumerate(learners, start=1):
        prepare_home(learner, config)
        port, token = free_port(), os.urandom(16).hex()
        log = class_base / f"lab-{learner.name}.log"
        with jupyter_server(
            learner_lab(learner, port, token), cwd=learner.home, env=dict(os.environ), port=port,
            token=token, log=log,
        ) as base:  # fmt: skip
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                shot = Shots(page, f"exchange-learner{number}")
                page.goto(f"{base}/lab?token={token}")  # logs in: the panel's own calls need the cookie
                page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')", timeout=120_000)
                _run_command(page, "Nbgrader", LIST)

                released = page.locator("#released_assignments_list .list_item", has_text=a)
                released.wait_for(timeout=60_000)
                shot("released")
                released.locator("button", has_text="Fetch").click()
                fetched = page.locator("#fetched_assignments_list > .list_item", has_text=a)
                fetched.locator("button", has_text="Submit").wait_for(timeout=60_000)
                home = learner.home / settings.course_id / a
                assert sorted(p.name for p in home.glob("*.ipynb")) == expected
                assert all(p.stat().st_uid == pwd.getpwnam(learner.name).pw_uid for p in home.iterdir())
                fetched.locator(".assignment-notebooks-link").click()  # show the fetched notebooks
                shot("fetched")

                fetched.locator("button", has_text="Submit").click()
                submitted = page.locator("#submitted_assignments_list > .list_item", has_text=a)
                stamp = submitted.locator(".nested_list_item .item_name").first
                stamp.wait_for(timeout=60_000)
                assert (stamp.text_content() or "").strip()[:2] == "20", stamp.text_content()
                shot("submitted")
                page.close()
            except BaseException:
                print(log.read_text()[-3000:])
                raise
            finally:
                stop_lab(base, token, learner)

    instructor(course, state, "-m", "nbgrader", "collect", a)
    for learner in learners:
        got = sorted(p.name for p in (settings.submitted_dir / learner.name / a).glob("*.ipynb"))
        assert got == expected, (learner.name, got)
