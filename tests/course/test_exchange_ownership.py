"""No learner can act for another on nbgrader's exchange (issues 12 and 20).

With two real Unix accounts and the real nbgrader commands: learner A submitting under
B's name, or tampering with what B submitted, gains nothing and costs B nothing. The
instructor's ``nbgrader collect`` refuses such a folder with one line (the folder, the
learner it names, the account that owns it), leaves it in the inbound and collects B's
own latest sound submission; the folders' permissions keep A from reading, changing or
removing B's submission or B's feedback, from renaming or removing what the instructor
released, and from creating anything in the exchange root. A learner's own nbgrader
configuration is theirs to change, so the attacks here run nbgrader's stock submit class
(``STOCK``) wherever the learners' configuration would have stopped them.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.utils import notebook_hash

from autograder.course.config import Settings, load_settings
from autograder.course.exchange import ExchangeError, setup_exchange
from tests.conftest import CORRECT, TINY, make_course
from tests.scenarios.test_class_flow import (  # noqa: F401 - `class_base` and `learners` are fixtures
    VENV_BIN,
    Course,
    Learner,
    answer,
    as_learner,
    class_base,
    install_learner_config,
    instructor,
    learner_nbgrader,
    learners,
    tiny_written_course,
)

pytestmark = pytest.mark.slow

STOCK = (
    "--ExchangeFactory.submit=nbgrader.exchange.default.submit.ExchangeSubmit",
    "--CourseDirectory.groupshared=True",
)
"""What any learner may add to their own nbgrader command line or configuration: nbgrader's
own submit, told (``groupshared``) not to insist on writing in the exchange root."""
FUTURE = "2999-01-01 00:00:00.000000 UTC"
"""A timestamp later than any real submission: the folder nbgrader's collect would prefer."""


@dataclass
class Class:
    course: Course
    state: Path
    settings: Settings
    inbound: Path
    a: Learner
    b: Learner

    @property
    def root(self) -> Path:
        return self.inbound.parent.parent


def open_class(base: Path, accounts: list[Learner]) -> Class:
    """The tiny course released to the exchange; both learners have fetched it."""
    course = tiny_written_course(base)
    state = base / "state"
    settings = load_settings(course.root, state_dir=state)
    instructor(course, state, "-m", "autograder.cli", "release", TINY)
    config = base / "learner_nbgrader_config.py"
    instructor(course, state, "-m", "autograder.cli", "exchange-setup", "--learner-config", str(config))
    instructor(course, state, "-m", "nbgrader", "release_assignment", TINY)
    for learner in accounts:
        install_learner_config(learner, config)
        learner_nbgrader(learner, "fetch_assignment", TINY)
    inbound = state / "exchange" / settings.course_id / "inbound"
    a, b = accounts
    return Class(course, state, settings, inbound, a, b)


def work(room: Class, learner: Learner, marker: str, *extra: str) -> Path:
    """The learner types an answer that carries ``marker`` and submits it; its inbound folder."""
    notebook = learner.home / room.settings.course_id / TINY / "01-tiny.ipynb"
    answer(notebook, {"mean-solution": f"# {marker}\n{CORRECT['mean-solution']}"})
    before = set(room.inbound.iterdir())
    learner_nbgrader(learner, "submit", TINY, *extra)
    (folder,) = set(room.inbound.iterdir()) - before
    return folder


def learner_nbgrader_unchecked(learner: Learner, *args: str) -> subprocess.CompletedProcess[str]:
    return as_learner(learner, str(VENV_BIN / "python"), "-m", "nbgrader", *args, check=False)


def all_refused(learner: Learner, attempts: list[tuple[str, ...]]) -> None:
    """Every command, run as the learner, fails."""
    for argv in attempts:
        done = as_learner(learner, *argv, check=False)
        assert done.returncode != 0, f"{' '.join(argv)} as {learner.name} succeeded:\n{done.stdout}"


def collect(room: Class, *args: str) -> str:
    """The instructor's ordinary ``nbgrader collect``; what it logged."""
    proc = instructor(room.course, room.state, "-m", "nbgrader", "collect", TINY, *args)
    return proc.stdout + proc.stderr


def collected(room: Class, learner: Learner) -> str | None:
    """The notebook collected for a learner, as text, or None if nothing was collected."""
    path = room.settings.submitted_dir / learner.name / TINY / "01-tiny.ipynb"
    return path.read_text() if path.is_file() else None


def refusals(log: str) -> list[str]:
    return [line for line in log.splitlines() if "refused " in line]


def assert_refused(log: str, folder: Path, claimed: str, owner: str, reason: str) -> None:
    """One line names the folder, the learner it claims and its owner, and says why."""
    lines = [line for line in refusals(log) if f"refused {folder} " in line]
    assert len(lines) == 1, log
    assert f"(named for {claimed}, owned by {owner})" in lines[0], lines[0]
    assert re.search(reason, lines[0]), lines[0]
    assert "stays in the inbound" in lines[0], lines[0]
    assert os.path.lexists(folder), f"{folder} was removed from the inbound"


def test_a_submission_under_another_learners_name_counts_for_no_one(class_base, learners):  # noqa: F811
    room = open_class(class_base, learners)
    a, b = room.a, room.b

    # A submits as B with nbgrader's stock submit class (the learners' own configuration,
    # which A may change, refuses it: see the end): collect refuses the folder
    mine = work(room, b, "work of B")
    forged = work(room, a, "work of A", "--student", b.name, *STOCK)
    assert forged.name.startswith(f"{b.name}+") and forged.lstat().st_uid == pwd.getpwnam(a.name).pw_uid
    log = collect(room)
    assert "work of B" in (collected(room, b) or ""), "A's work was collected as B's"
    assert collected(room, a) is None  # it counts for A neither
    assert_refused(log, forged, b.name, a.name, "counts only for the account that made it")
    assert "cheating attempt" not in log
    assert (mine / "01-tiny.ipynb").is_file()

    # later again, collected with --update over B's real submission: B's stays
    forged_again = work(room, a, "work of A again", "--student", b.name, *STOCK)
    log = collect(room, "--update")
    text = collected(room, b) or ""
    assert "work of B" in text and "work of A" not in text
    assert_refused(log, forged_again, b.name, a.name, "counts only for the account that made it")
    assert_refused(log, forged, b.name, a.name, "counts only for the account that made it")

    # with only a forged folder, nothing at all is collected for B
    shutil.rmtree(room.settings.submitted_dir / b.name)
    os.rename(mine, room.state / "set-aside")  # as if B had never submitted
    log = collect(room)
    assert collected(room, b) is None and collected(room, a) is None
    assert len(refusals(log)) == 2

    # the learners' configuration refuses it outright, before anything is written, and says why
    before = set(room.inbound.iterdir())
    refused = learner_nbgrader_unchecked(a, "submit", TINY, "--student", b.name)
    assert refused.returncode != 0
    assert f"cannot be submitted as {b.name}" in refused.stdout + refused.stderr
    assert set(room.inbound.iterdir()) == before


def test_no_learner_can_change_or_remove_another_learners_submission(class_base, learners):  # noqa: F811
    room = open_class(class_base, learners)
    a, b = room.a, room.b
    folder = work(room, b, "work of B")
    notebook = folder / "01-tiny.ipynb"
    content = notebook.read_bytes()

    # A knows the folder's name (the test tells them): still nothing A does changes it
    attempts = [
        ("touch", str(folder / "planted.py")),
        ("mkdir", str(folder / "planted")),
        ("rm", "-f", str(notebook)),
        ("mv", str(notebook), str(folder / "moved.ipynb")),
        ("rm", "-rf", str(folder)),
        ("mv", str(folder), str(room.inbound / f"{a.name}+{TINY}+{FUTURE}+stolen")),
        ("chmod", "777", str(folder)),
    ]
    for argv in attempts:
        done = as_learner(a, *argv, check=False)
        assert done.returncode != 0, f"{' '.join(argv)} as {a.name} succeeded"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["01-tiny.ipynb", "submission_secret.txt", "timestamp.txt"]
    assert notebook.read_bytes() == content
    assert stat.S_IMODE(room.inbound.stat().st_mode) == 0o3733  # sticky: entries are their owners'
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750  # nbgrader's own submit leaves it 0777
    assert refusals(collect(room)) == []
    assert "work of B" in (collected(room, b) or "")


TAMPERING = {
    "file-planted-by-another": r"planted\.py in it is owned by {a}",
    "symlink-inside": r"01-tiny\.ipynb in it is a symlink",
    "symlink-folder": r"it is a symlink",
    "fifo-inside": r"pipe in it is neither a folder nor a regular file",
    "unreadable-name": r"no timestamp nbgrader can read",
    "too-large": r"it holds more than 1000 kB \(c\.CourseDirectory\.max_dir_size\)",
}


@pytest.mark.parametrize("attack", list(TAMPERING))
def test_collect_refuses_a_tampered_submission_and_keeps_the_learners_own(attack, class_base, learners):  # noqa: F811
    """B's latest folder is not wholly B's: it is refused, and B's earlier one counts."""
    room = open_class(class_base, learners)
    a, b = room.a, room.b
    solution = room.course.root / "solutions" / TINY
    os.chmod(room.course.root / "solutions", 0o700)  # the instructor's: no learner reads it
    first = work(room, b, "B's first")
    if attack == "file-planted-by-another":
        # B's own nbgrader left the folder 0777 (B dropped our class); A learns its name
        tampered = work(room, b, "B's second", *STOCK)
        as_learner(a, "sh", "-c", f"echo 'print(1)' > '{tampered}/planted.py'")
    elif attack == "symlink-inside":
        # B points the notebook at the instructor's solution, for the instructor to copy
        tampered = work(room, b, "B's second")
        as_learner(b, "ln", "-sf", str(solution / "01-tiny.ipynb"), str(tampered / "01-tiny.ipynb"))
    elif attack == "symlink-folder":
        tampered = room.inbound / f"{b.name}+{TINY}+{FUTURE}+link"
        as_learner(b, "ln", "-s", str(solution), str(tampered))
    elif attack == "fifo-inside":
        tampered = work(room, b, "B's second")
        as_learner(b, "mkfifo", str(tampered / "pipe"))
    elif attack == "unreadable-name":
        tampered = room.inbound / f"{b.name}+{TINY}+not-a-time+x"
        as_learner(b, "mkdir", str(tampered))
    else:  # nbgrader's own collect stops the whole class's collect over it
        tampered = work(room, b, "B's second")
        as_learner(b, "dd", "if=/dev/zero", f"of={tampered}/data.bin", "bs=1M", "count=2")
    limit = ["--CourseDirectory.max_dir_size=1000"] if attack == "too-large" else []
    log = collect(room, *limit)
    text = collected(room, b) or ""
    assert "BEGIN SOLUTION" not in text, "the instructor's solution was collected as B's"
    assert not (room.settings.submitted_dir / b.name / TINY / "planted.py").exists()
    assert "B's first" in text and "B's second" not in text
    assert_refused(log, tampered, b.name, b.name, TAMPERING[attack].format(a=re.escape(a.name)))
    assert (first / "01-tiny.ipynb").is_file()
    leftovers = [p for p in room.state.iterdir() if p.name.startswith(".autograder-collect-")]
    assert leftovers == []


def test_no_learner_can_read_another_learners_submission(class_base, learners):  # noqa: F811
    room = open_class(class_base, learners)
    a, b = room.a, room.b
    folder = work(room, b, "work of B")

    # A knows the folder's name (the test tells them): A reads nothing in it, not even the
    # secret that names B's feedback page
    all_refused(
        a,
        [
            ("ls", str(folder)),
            ("cat", str(folder / "01-tiny.ipynb")),
            ("cat", str(folder / "submission_secret.txt")),
            ("cp", "-r", str(folder), str(a.home / "copied")),
        ],
    )
    # readable by the inbound's group, the instructor's own (set-group-id inbound), and B
    group = room.inbound.stat().st_gid
    for path in [folder, *folder.rglob("*")]:
        assert path.stat().st_gid == group, path
        assert stat.S_IMODE(path.stat().st_mode) == (0o750 if path.is_dir() else 0o640), path
    assert as_learner(b, "cat", str(folder / "01-tiny.ipynb"), check=False).returncode == 0
    assert refusals(collect(room)) == []
    assert "work of B" in (collected(room, b) or "")


def test_no_learner_can_list_change_or_remove_another_learners_feedback(class_base, learners):  # noqa: F811
    room = open_class(class_base, learners)
    a, b = room.a, room.b
    mine = work(room, a, "work of A")
    work(room, b, "work of B")
    collect(room)
    instructor(room.course, room.state, "-m", "autograder.cli", "grade", TINY, "--seeds", "1", "-q")
    instructor(room.course, room.state, "-m", "nbgrader", "generate_feedback", TINY)
    instructor(room.course, room.state, "-m", "nbgrader", "release_feedback", TINY)
    feedback = room.inbound.parent / "feedback"
    secret = (room.settings.submitted_dir / a.name / TINY / "submission_secret.txt").read_text()
    page = feedback / f"{notebook_hash(secret=secret, notebook_id='01-tiny')}.html"
    content = page.read_bytes()
    assert stat.S_IMODE(feedback.stat().st_mode) == 0o711
    names = sorted(p.name for p in feedback.iterdir())
    assert page.name in names and len(names) == 2

    # B cannot list the feedback, learn the name of A's page from A's submission, nor,
    # told its name, change, replace or remove it
    all_refused(
        b,
        [
            ("ls", str(feedback)),
            ("cat", str(mine / "submission_secret.txt")),
            ("touch", str(feedback / "planted.html")),
            ("sh", "-c", f"echo forged > '{page}'"),
            ("rm", "-f", str(page)),
            ("mv", str(page), str(feedback / "moved.html")),
            ("chmod", "666", str(page)),
        ],
    )
    assert page.read_bytes() == content
    assert sorted(p.name for p in feedback.iterdir()) == names

    # each fetches their own page, and only theirs
    for learner in (a, b):
        learner_nbgrader(learner, "fetch_feedback", TINY)
    (fetched_a,) = (a.home / room.settings.course_id / TINY / "feedback").glob("*/01-tiny.html")
    (fetched_b,) = (b.home / room.settings.course_id / TINY / "feedback").glob("*/01-tiny.html")
    assert fetched_a.read_bytes() == content and fetched_b.read_bytes() != content


def test_no_learner_can_rename_or_remove_what_the_instructor_released(class_base, learners):  # noqa: F811
    room = open_class(class_base, learners)
    a = room.a
    course = room.inbound.parent
    outbound = course / "outbound"
    released = outbound / TINY
    notebook = released / "01-tiny.ipynb"
    before = {p: p.read_bytes() for p in released.rglob("*") if p.is_file()}
    all_refused(
        a,
        [
            ("mv", str(course), str(room.root / "moved")),
            ("rm", "-rf", str(course)),
            ("mv", str(outbound), str(course / "moved")),
            ("rm", "-rf", str(outbound)),
            ("mv", str(released), str(outbound / "moved")),
            ("rm", "-rf", str(released)),
            ("mv", str(notebook), str(released / "moved.ipynb")),
            ("rm", "-f", str(notebook)),
            ("sh", "-c", f"echo forged > '{notebook}'"),
            ("touch", str(released / "planted.py")),
            ("mkdir", str(outbound / "planted")),
            ("chmod", "777", str(released)),
        ],
    )
    assert {p: p.read_bytes() for p in released.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in course.iterdir()) == ["feedback", "inbound", "outbound"]


def test_no_learner_can_create_anything_in_the_exchange_root(class_base, learners):  # noqa: F811
    room = open_class(class_base, learners)
    a, b = room.a, room.b
    all_refused(
        a,
        [
            ("mkdir", str(room.root / "another-course")),  # squatting a course id
            ("touch", str(room.root / "planted")),
            ("ln", "-s", str(a.home), str(room.root / "link")),
        ],
    )
    assert stat.S_IMODE(room.root.stat().st_mode) == 0o755  # release_assignment left it closed
    assert sorted(p.name for p in room.root.iterdir()) == [room.settings.course_id]

    # what learners do still works: list, (fetch, in open_class) and submit
    listed = learner_nbgrader(b, "list")
    assert f"{room.settings.course_id} {TINY}" in listed.stdout + listed.stderr
    assert work(room, b, "work of B").is_dir()

    # and the instructor's release refuses a root opened again, until exchange-setup closes it
    os.chmod(room.root, 0o1777)
    env = {**os.environ, "AUTOGRADER_STATE": str(room.state)}
    release = [str(VENV_BIN / "python"), "-m", "nbgrader", "release_assignment", TINY, "--force"]
    refused = subprocess.run(
        release, cwd=room.course.root, env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "run `autograder exchange-setup` to close it" in refused.stderr
    instructor(room.course, room.state, "-m", "autograder.cli", "exchange-setup")
    assert stat.S_IMODE(room.root.stat().st_mode) == 0o755


def test_exchange_setup_refuses_an_inbound_group_a_learner_shares(class_base, learners):  # noqa: F811
    """The inbound's group reads every submission: a learner in it could read them all."""
    settings = load_settings(make_course(class_base / "course"), state_dir=class_base / "state")
    inbound = setup_exchange(settings).root / settings.course_id / "inbound"
    learner = learners[0]
    own = pwd.getpwnam(learner.name).pw_gid
    os.chown(inbound, -1, own)  # the learner's primary group
    with pytest.raises(
        ExchangeError, match=rf"group {grp.getgrgid(own).gr_name}, which {learner.name} also share"
    ):
        setup_exchange(settings)
    shared = f"agl-shared-{os.getpid() % 100000}"
    subprocess.run(["groupadd", shared], check=True, capture_output=True)
    try:
        subprocess.run(["usermod", "-aG", shared, learner.name], check=True, capture_output=True)
        os.chown(inbound, -1, grp.getgrnam(shared).gr_gid)  # a group the learner is a member of
        with pytest.raises(
            ExchangeError, match=rf"group {shared}, which {learner.name} also share: .*\(sudo groupadd"
        ):
            setup_exchange(settings)
    finally:
        subprocess.run(["groupdel", shared], check=False, capture_output=True)
    os.chown(inbound, -1, os.getegid())
    setup_exchange(settings)


def test_exchange_setup_under_a_root_owned_exchange_says_the_sudo_command(class_base, learners):  # noqa: F811
    """A grading account that is not root (a learner account stands in) and an exchange root owns."""
    teacher = learners[0]
    user = pwd.getpwnam(teacher.name)
    group = grp.getgrgid(user.pw_gid).gr_name
    course, state = make_course(class_base / "teacher-course"), class_base / "teacher-state"
    state.mkdir()
    for path in [course, *course.rglob("*"), state]:
        os.chown(path, user.pw_uid, user.pw_gid)
    exchange = state / "exchange"
    exchange.mkdir(mode=0o755)  # as `sudo install -d -m 755` makes it
    folder = exchange / load_settings(course, state_dir=state).course_id
    setup = f"cd '{course}' && AUTOGRADER_STATE='{state}' exec python -m autograder.cli exchange-setup"

    refused = as_learner(teacher, "sh", "-c", setup, check=False)
    assert refused.returncode != 0
    command = f"sudo install -d -o {teacher.name} -g {group} -m 755 {folder}"
    assert command in refused.stderr, refused.stderr
    subprocess.run(command.split()[1:], check=True)  # what the instructor then runs
    as_learner(teacher, "sh", "-c", setup)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == {"outbound": 0o755, "inbound": 0o3733, "feedback": 0o711}

    os.chmod(exchange, 0o1777)  # a root opened again by root: the fix is root's too
    refused = as_learner(teacher, "sh", "-c", setup, check=False)
    assert refused.returncode != 0 and f"`sudo chmod 755 {exchange}`" in refused.stderr, refused.stderr


def test_exchange_setup_refuses_a_course_configuration_without_our_exchange_classes(class_base):  # noqa: F811
    """nbgrader's own release_assignment would make the root writable by everyone again."""
    stock = 'c.ExchangeFactory.release_assignment = "nbgrader.exchange.default.ExchangeReleaseAssignment"\n'
    settings = load_settings(make_course(class_base / "course", config=stock), state_dir=class_base / "state")
    with pytest.raises(
        ExchangeError, match=r"lacks our exchange classes .* add c\.ExchangeFactory\.release_assignment"
    ):
        setup_exchange(settings)
