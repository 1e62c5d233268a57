"""A class on the course's JupyterHub: real hub, real proxy, real accounts, a real browser.

``autograder hub`` starts JupyterHub 6 and configurable-http-proxy on loopback from the
course's ``jupyterhub_config.py`` (a root-owned copy, as the docs say). Two learner accounts
and one instructor account log in with their passwords on the hub's login page (PAM).
Learners fetch and submit from the Assignment List; the instructor opens formgrader in their
own server, collects, grades with ``autograder grade``, scores the written answer by hand in
formgrader and releases feedback, which the learner fetches from the Assignment List. Every
step leaves a screenshot under ``test-artifacts/browser/hub-*``. What each must not reach is
tried over HTTP and through the file system: another learner's server, another's
submission, submitting as another, formgrader. A second test proves the memory limit, the
control group every kernel of a server is in, and the idle culler.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.course.config import load_settings
from autograder.hub.launch import HubOptions, hub_command
from autograder.hub.limits import GROUP, cgroup_kind, remove_cgroup
from autograder.hub.reach import as_account, interpreter_view
from tests.conftest import CORRECT, TINY
from tests.scenarios.browser_support import free_port
from tests.scenarios.test_browser import Shots, _run_command, browser  # noqa: F401 - `browser` is a fixture
from tests.scenarios.test_class_flow import VENV_BIN, WRITTEN, answer, written_notebook

pytestmark = pytest.mark.slow

LIST = "nbgrader:open-assignment-list"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    home: Path

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid


@dataclass
class Room:
    """One course on one hub: its accounts, folders and the hub's address."""

    base: Path
    course_id: str
    course: Path
    exchange: Path
    learners: list[Account]
    instructor: Account
    url: str = ""
    log: Path | None = None


def run_as(
    account: Account, argv: list[str], *, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` as ``account`` (their uid, groups and home); ``env``: a terminal of their server's."""
    user = pwd.getpwnam(account.name)
    env = env or {
        "HOME": str(account.home), "USER": account.name, "LOGNAME": account.name,
        "PATH": f"{VENV_BIN}:/usr/bin:/bin", "LANG": "C.UTF-8",
    }  # fmt: skip
    view = interpreter_view()
    cmd = (
        as_account(view, user.pw_uid, user.pw_gid, argv, cwd=str(cwd))
        if view
        else ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--", *argv]
    )
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert done.returncode == 0, (
            f"{' '.join(argv)} as {account.name}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done


def _make_account(name: str, home: Path, groups: list[str]) -> Account:
    password = secrets.token_urlsafe(12)
    subprocess.run(
        ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh",
         "-G", ",".join(groups), name],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(["chpasswd"], input=f"{name}:{password}", text=True, check=True, capture_output=True)
    home.mkdir(mode=0o711)
    user = pwd.getpwnam(name)
    os.chown(home, user.pw_uid, user.pw_gid)
    news = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    for path in [home / ".jupyter", *(home / ".jupyter").rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    return Account(name, password, home)


@pytest.fixture
def room() -> Iterator[Room]:
    """A tiny course with a written answer, owned by its instructor account; two learners."""
    if os.geteuid() != 0:
        pytest.skip("the hub runs as root (PAM, and each server as its own account)")
    assert shutil.which("configurable-http-proxy"), "configurable-http-proxy is missing: run `make system`"
    tag = f"{os.getpid() % 100000}"
    course_id = f"aghub{tag}"
    groups = [f"nbgrader-{course_id}", f"formgrade-{course_id}"]
    base = Path(tempfile.mkdtemp(prefix="agl-hub-"))
    os.chmod(base, 0o711)
    made: list[str] = []
    try:
        for group in groups:
            subprocess.run(["groupadd", group], check=True, capture_output=True)
        (base / "homes").mkdir(mode=0o755)
        learners = []
        for i in (1, 2):
            name = f"aghl{i}-{tag}"
            learners.append(_make_account(name, base / "homes" / name, [groups[0]]))
            made.append(name)
        teacher = _make_account(f"aghi-{tag}", base / "homes" / f"aghi-{tag}", [groups[1]])
        made.append(teacher.name)
        exchange = base / "exchange"
        exchange.mkdir()
        os.chown(exchange, teacher.uid, pwd.getpwnam(teacher.name).pw_gid)
        from tests.conftest import make_course

        course = make_course(
            teacher.home / "course",
            notebook=written_notebook(),
            config=f"\nc.CourseDirectory.course_id = {course_id!r}\nc.Exchange.root = {str(exchange)!r}\n",
        )
        for path in [course, *course.rglob("*")]:
            os.chown(path, teacher.uid, pwd.getpwnam(teacher.name).pw_gid, follow_symlinks=False)
        yield Room(base, course_id, course, exchange, learners, teacher)
    finally:
        for name in made:
            subprocess.run(["pkill", "-KILL", "-u", name], check=False, capture_output=True)
        time.sleep(0.5)
        for name in made:
            remove_cgroup(name)  # what a failed test's servers left
            subprocess.run(["userdel", name], check=False, capture_output=True)
        for group in groups:
            subprocess.run(["groupdel", group], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _instructor(room: Room, *argv: str) -> subprocess.CompletedProcess[str]:
    return run_as(room.instructor, [str(VENV_BIN / "python"), "-m", *argv], cwd=room.course)


def _open_class(room: Room) -> None:
    """The instructor releases the tiny assignment and opens the exchange, as themselves."""
    _instructor(room, "autograder.cli", "release", TINY)
    _instructor(room, "autograder.cli", "exchange-setup")
    _instructor(room, "nbgrader", "release_assignment", TINY)


@contextlib.contextmanager
def running_hub(room: Room, **options: object) -> Iterator[str]:
    """``autograder hub`` from a root-owned copy of the course's hub configuration."""
    etc = room.base / "etc"
    etc.mkdir(mode=0o755, exist_ok=True)
    config = etc / "jupyterhub_config.py"
    shutil.copy(REPO / "jupyterhub_config.py", config)
    os.chmod(config, 0o644)
    port = free_port()
    os.environ["AUTOGRADER_HUB_DIR"] = str(room.base / "hub")
    try:
        hub = hub_command(room.course, HubOptions(url=f"http://127.0.0.1:{port}", config=config, **options))  # type: ignore[arg-type]
    finally:
        del os.environ["AUTOGRADER_HUB_DIR"]
    env = {
        **hub.env,
        "AUTOGRADER_HUB_API_PORT": str(free_port()),
        "AUTOGRADER_PROXY_API_PORT": str(free_port()),
    }
    room.log = room.base / "hub.log"
    with room.log.open("w") as out:
        process = subprocess.Popen(hub.argv, env=env, cwd=hub.cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/login", timeout=5) as page:
                    assert page.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"the hub did not start:\n{room.log.read_text()[-4000:]}") from None
                time.sleep(0.5)
        room.url = f"http://127.0.0.1:{port}"
        yield room.url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def log_in(chromium, room: Room, account: Account, shots: Shots):  # type: ignore[no-untyped-def]
    """The hub's login page, then the account's own JupyterLab; returns the page."""
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    shots.page = page
    page.goto(f"{room.url}/hub/login")
    page.fill("input[name=username]", account.name)
    page.fill("input[name=password]", account.password)
    shots("login")
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{account.name}/lab**", timeout=180_000)
    page.wait_for_selector(".lm-MenuBar-itemLabel:text-is('Nbgrader')", timeout=180_000)
    shots("lab")
    return page


def nbgrader_menu(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    items = page.locator(".lm-Menu-item:visible").evaluate_all(
        "items => items.map(i => i.getAttribute('data-command'))"
    )
    page.keyboard.press("Escape")
    return [str(i) for i in items]


def fetch_and_submit(
    page, room: Room, learner: Account, shots: Shots, answers: dict[str, str] | None
) -> None:  # type: ignore[no-untyped-def]
    _run_command(page, "Nbgrader", LIST)
    released = page.locator("#released_assignments_list .list_item", has_text=TINY)
    released.wait_for(timeout=60_000)
    # the learner sees this course only (nbgrader's hub plugin reads their hub groups)
    courses = page.locator("ul#course_list li").all_text_contents()
    assert [c.strip() for c in courses] == [room.course_id], courses
    assert page.locator("#course_list_default").inner_text().strip() == room.course_id
    assert "secret-assignment" not in page.locator("#released_assignments_list").inner_text()
    shots("released")
    released.locator("button", has_text="Fetch").click()
    fetched = page.locator("#fetched_assignments_list > .list_item", has_text=TINY)
    fetched.locator("button", has_text="Submit").wait_for(timeout=60_000)
    notebook = learner.home / room.course_id / TINY / "01-tiny.ipynb"
    assert notebook.stat().st_uid == learner.uid
    if answers:
        answer(notebook, answers)  # what the learner typed; the file stays theirs
        os.chown(notebook, learner.uid, pwd.getpwnam(learner.name).pw_gid)
    shots("fetched")
    fetched.locator("button", has_text="Submit").click()
    submitted = page.locator("#submitted_assignments_list > .list_item", has_text=TINY)
    submitted.locator(".nested_list_item .item_name").first.wait_for(timeout=60_000)
    shots("submitted")


def status(page, url: str) -> int:  # type: ignore[no-untyped-def]
    """The final HTTP status of ``url`` with the page's own cookies (that is, as its account)."""
    return int(page.request.get(url).status)


def test_a_class_through_the_hub(room, browser):  # noqa: F811
    _open_class(room)
    # another course on the same exchange, which these learners are not in
    other = room.exchange / f"other{room.course_id}" / "outbound" / "secret-assignment"
    run_as(room.instructor, ["mkdir", "-p", str(other)], cwd=room.base)
    first, second = room.learners
    with running_hub(room) as url:
        # learner 1: logs in, sees the learner's tools only, fetches, answers, submits
        shots = Shots(None, "hub-learner1")
        page = log_in(browser, room, first, shots)
        menu = nbgrader_menu(page)
        assert LIST in menu and "nbgrader:open-formgrader" not in menu, menu
        assert "nbgrader:open-create-assignment" not in menu, menu
        answers = {"mean-solution": CORRECT["mean-solution"], WRITTEN: "It adds to the sum."}
        fetch_and_submit(page, room, first, shots, answers)

        # learner 2 logs in, fetches and submits nothing of their own
        shots2 = Shots(None, "hub-learner2")
        page2 = log_in(browser, room, second, shots2)
        fetch_and_submit(page2, room, second, shots2, None)
        page_of_second = page2

        # what learner 1 must not reach, over HTTP with their own login: formgrader, and
        # learner 2's running server (its API and its JupyterLab)
        assert status(page, f"{url}/user/{first.name}/formgrader") == 404
        assert status(page, f"{url}/user/{second.name}/api/contents") == 403
        assert status(page, f"{url}/user/{second.name}/lab") == 403
        page.goto(f"{url}/user/{second.name}/lab")
        shots("other-learners-server-refused")
        page.close()

        # ... and through the file system, as learner 2: no submission of learner 1 can be
        # read, and nbgrader refuses to submit under learner 1's name
        inbound = room.exchange / room.course_id / "inbound"
        terminal = server_env(second)  # what a terminal in learner 2's JupyterLab has
        assert (
            run_as(second, ["ls", str(inbound)], cwd=second.home, check=False, env=terminal).returncode != 0
        )
        (submitted,) = inbound.glob(f"{first.name}+{TINY}+*")  # the test tells learner 2 its name
        for target in (submitted, submitted / "01-tiny.ipynb", submitted / "submission_secret.txt"):
            done = run_as(second, ["cat", str(target)], cwd=second.home, check=False, env=terminal)
            assert done.returncode != 0 and "Permission denied" in done.stderr, (target, done.stderr)
        # nor over HTTP through learner 2's own server: its API serves their home folder only
        hop = os.path.relpath(submitted / "01-tiny.ipynb", second.home)
        assert status(page_of_second, f"{url}/user/{second.name}/api/contents/{hop}") in (403, 404)
        theirs = run_as(
            second,
            [str(VENV_BIN / "python"), "-m", "nbgrader", "submit", TINY,
             "--course", room.course_id, "--student", first.name],
            cwd=second.home, check=False, env=server_env(second),
        )  # fmt: skip
        assert (
            theirs.returncode != 0 and f"cannot be submitted as {first.name}" in theirs.stdout + theirs.stderr
        )
        page_of_second.close()

        # the instructor: formgrader in their own server, collect and grade as themselves
        shots3 = Shots(None, "hub-instructor")
        page3 = log_in(browser, room, room.instructor, shots3)
        assert "nbgrader:open-formgrader" in nbgrader_menu(page3)
        _instructor(room, "nbgrader", "collect", TINY)
        _instructor(room, "autograder.cli", "grade", TINY, "--seeds", "1", "-q")
        settings = load_settings(room.course, state_dir=room.course / ".autograder")
        from nbgrader.api import Gradebook

        with Gradebook(settings.db_url, settings.course_id) as gb:
            notebook_id = gb.find_submission_notebook("01-tiny", TINY, first.name).id
        page3.goto(f"{url}/user/{room.instructor.name}/formgrader/submissions/{notebook_id}/")
        score = page3.locator(f"input.score#{WRITTEN}")
        score.wait_for(timeout=60_000)
        page3.wait_for_load_state("networkidle")  # formgrader binds its inputs once its data came
        score.scroll_into_view_if_needed()
        score.fill("1.5")
        score.press("Tab")  # formgrader saves a score when its input changes
        deadline = time.monotonic() + 30
        while True:
            with Gradebook(settings.db_url, settings.course_id) as gb:
                manual = gb.find_grade(WRITTEN, "01-tiny", TINY, first.name).manual_score
            if manual is not None or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert manual == 1.5
        shots3("written-answer-graded")
        _instructor(room, "nbgrader", "generate_feedback", TINY)
        _instructor(room, "autograder.cli", "feedback", TINY)  # mastery and progress pages beside nbgrader's
        _instructor(room, "nbgrader", "release_feedback", TINY)
        page3.close()

        # learner 1 fetches the feedback from the Assignment List
        shots4 = Shots(None, "hub-learner1-feedback")
        page4 = log_in(browser, room, first, shots4)
        _run_command(page4, "Nbgrader", LIST)
        submitted = page4.locator("#submitted_assignments_list > .list_item", has_text=TINY)
        submitted.locator("button", has_text="Fetch Feedback").click()
        feedback = first.home / room.course_id / TINY / "feedback"
        deadline = time.monotonic() + 60
        while not list(feedback.glob("*/01-tiny.html")) and time.monotonic() < deadline:
            time.sleep(0.5)
        (html,) = feedback.glob("*/01-tiny.html")
        assert "(Score: 1.5 / 2.0)" in html.read_text()
        shots4("feedback-fetched")
        # with it, the course's own pages: mastery across seeds, and the learner's progress page
        folder = html.parent
        assert "Not mastered yet" in (folder / "01-tiny.mastery.html").read_text()
        assert first.name in (folder / "progress.html").read_text()
        page4.goto(f"{url}/user/{first.name}/lab/tree/{folder.relative_to(first.home)}/progress.html")
        page4.wait_for_selector("iframe", timeout=60_000)
        shots4("progress-page")
        page4.close()


def test_each_server_is_limited_and_culled_when_idle(room):
    """A learner's server and its kernels are in one control group with the limits; idle, it stops."""
    if cgroup_kind() is None:
        pytest.skip("no control group can be made here (the hub logs that CPU is not limited)")
    _open_class(room)
    learner = room.learners[0]
    with running_hub(room, idle_seconds=20, mem_limit="512M", cpu_limit=0.5) as url:
        import requests

        session = requests.Session()
        session.get(f"{url}/hub/login")
        login = {
            "username": learner.name,
            "password": learner.password,
            "_xsrf": session.cookies.get("_xsrf"),
        }
        session.post(f"{url}/hub/login", data=login, timeout=180)
        server = server_pid(learner, timeout=120)
        cgroups = Path(f"/proc/{server}/cgroup").read_text()
        assert f"/{GROUP}/{learner.name}" in cgroups, cgroups
        kind = cgroup_kind()
        if kind == "v1":
            memory = Path("/sys/fs/cgroup/memory") / GROUP / learner.name
            assert int((memory / "memory.limit_in_bytes").read_text()) == 512 << 20
            quota = Path("/sys/fs/cgroup/cpu") / GROUP / learner.name / "cpu.cfs_quota_us"
            assert int(quota.read_text()) == 50_000
        # a program in the learner's memory group that grows past the limit is killed; the
        # server in the same group lives on
        procs = memory_procs(cgroups, kind)
        hog = "b = bytearray(1 << 30)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('grew')"
        probe = subprocess.run(
            ["sh", "-c", f'echo $$ > {procs} && exec "$0" -c "$1"', str(VENV_BIN / "python"), hog],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert probe.returncode == -signal.SIGKILL or probe.returncode == 128 + signal.SIGKILL, probe
        assert "grew" not in probe.stdout
        assert _alive(server)
        # idle for longer than --idle-seconds: the culler stops it
        deadline = time.monotonic() + 120
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(2)
        assert not _alive(server), "the idle culler did not stop the idle server"
        assert room.log is not None and f"Culling server {learner.name}" in room.log.read_text()


def memory_procs(cgroups: str, kind: str | None) -> Path:
    """The ``cgroup.procs`` file of the memory group named in a ``/proc/PID/cgroup`` text."""
    for line in cgroups.splitlines():
        _, controllers, path = line.split(":", 2)
        if kind == "v1" and controllers == "memory":
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "cgroup.procs"
        if kind == "v2" and controllers == "":
            return Path("/sys/fs/cgroup") / path.lstrip("/") / "cgroup.procs"
    raise AssertionError(f"no memory group in {cgroups}")


def server_env(account: Account) -> dict[str, str]:
    """The environment of the account's running server: what a terminal in their JupyterLab has."""
    raw = Path(f"/proc/{server_pid(account, timeout=10)}/environ").read_bytes()
    pairs = (item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    return dict(pairs)  # type: ignore[arg-type]


def server_pid(account: Account, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ps = subprocess.run(
            ["pgrep", "-u", str(account.uid), "-f", "jupyterhub.singleuser"], capture_output=True, text=True
        )
        if ps.stdout.split():
            return int(ps.stdout.split()[0])
        time.sleep(1)
    raise AssertionError(f"no server of {account.name} started")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_line = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return bool(stat_line) and stat_line.split()[2] != "Z"


def test_the_hub_refuses_a_configuration_others_can_change(room):
    """The hub runs its configuration as root: one the instructor could edit is refused."""
    from autograder.hub.course import HubError

    config = room.course / "jupyterhub_config.py"
    shutil.copy(REPO / "jupyterhub_config.py", config)
    os.chown(config, room.instructor.uid, -1)
    with pytest.raises(
        HubError, match=r"can be changed by an account other than root.*sudo autograder hub --config"
    ):
        hub_command(room.course, HubOptions(config=config))
