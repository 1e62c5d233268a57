"""What the course's hub needs before it starts, checked and prepared by ``autograder hub``.

The hub runs as root: it checks passwords with PAM and starts each person's server as their
own account. Everything it prepares lives in the hub folder (``/var/lib/autograder-hub/<course>``
unless ``AUTOGRADER_HUB_DIR`` says otherwise), never in the instructor's state folder, whose
permissions ``autograder exchange-setup`` keeps closed:

- ``runtime/`` (root only): the hub's database, cookie secret and proxy's pid file;
- ``learners/`` (readable by all): the configuration learners' servers read, that is the
  learners' nbgrader configuration (the exchange, our submit class, and nbgrader's
  JupyterHub plugin, so that each learner sees only the courses of their hub groups) and
  the JupyterLab settings that hide the instructor's tools.

Each check that fails says what to run.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ..course.config import ConfigError, Settings, load_settings
from ..course.exchange import exchange_root, learner_config
from ..course.learner_lab import write_learner_lab_config
from .limits import have_tools
from .reach import as_account, interpreter_view

HUB_DIR_ENV = "AUTOGRADER_HUB_DIR"
COURSE_ENV = "AUTOGRADER_HUB_COURSE"
CONFIG_FILE = "jupyterhub_config.py"
DEBIAN_NODE_PATH = Path("/usr/share/nodejs")
AUTH_PLUGIN = "nbgrader.auth.JupyterHubAuthPlugin"


class HubError(ConfigError):
    """The hub cannot start as configured; the message says how to fix it."""


@dataclass(frozen=True)
class HubCourse:
    """What the hub needs to know of the course, read without running the course's code as root.

    ``jupyter_config.py`` is Python that the instructor may change; the hub runs as root, so
    ``autograder hub`` reads these facts as the course folder's owner (``read_as_owner``) and
    hands them to ``jupyterhub_config.py`` in ``AUTOGRADER_HUB_COURSE``.
    """

    root: str
    course_id: str
    state_dir: str
    owner: str

    @classmethod
    def of(cls, settings: Settings) -> HubCourse:
        owner = pwd.getpwuid(settings.root.stat().st_uid).pw_name
        return cls(str(settings.root), settings.course_id, str(settings.state_dir), owner)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_facts(cls, facts: dict[str, str | bool]) -> HubCourse:
        """The course part of what ``describe`` read."""
        return cls(*(str(facts[key]) for key in ("root", "course_id", "state_dir", "owner")))

    @classmethod
    def from_environment(cls) -> HubCourse:
        text = os.environ.get(COURSE_ENV)
        if not text:
            raise HubError(f"{COURSE_ENV} is not set: start the hub with `sudo autograder hub`")
        return cls(**json.loads(text))

    @property
    def groups(self) -> CourseGroups:
        return CourseGroups.of(self.course_id)


@dataclass(frozen=True)
class CourseGroups:
    """The course's two groups, as nbgrader's JupyterHub plugin names them."""

    learners: str
    instructors: str

    @classmethod
    def of(cls, course_id: str) -> CourseGroups:
        return cls(f"nbgrader-{course_id}", f"formgrade-{course_id}")


@dataclass(frozen=True)
class HubLayout:
    root: Path

    @classmethod
    def of(cls, course_id: str) -> HubLayout:
        default = Path("/var/lib/autograder-hub") / course_id
        return cls(Path(os.environ.get(HUB_DIR_ENV) or default).resolve())

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    @property
    def learners(self) -> Path:
        return self.root / "learners"


def unix_members(group: str) -> set[str]:
    """Accounts in a Unix group, as members or by their primary group; empty if none."""
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return set()
    primary = {user.pw_name for user in pwd.getpwall() if user.pw_gid == entry.gr_gid}
    return set(entry.gr_mem) | primary


def check_groups(groups: CourseGroups) -> None:
    missing = []
    for group in (groups.learners, groups.instructors):
        try:
            grp.getgrnam(group)
        except KeyError:
            missing.append(group)
    if missing:
        adds = " && ".join(f"sudo groupadd {g}" for g in missing)
        raise HubError(
            f"the Unix group(s) {', '.join(missing)} do not exist: the hub lets in learners of "
            f"{groups.learners} and instructors of {groups.instructors}; run: {adds}, then "
            f"sudo usermod -aG {groups.learners} LEARNER (and {groups.instructors} for instructors)"
        )


def proxy_command() -> list[str]:
    """configurable-http-proxy from npm or from Debian's node-configurable-http-proxy."""
    found = shutil.which("configurable-http-proxy")
    if found is None:
        raise HubError(
            "configurable-http-proxy is not installed: run `make system` (Debian's "
            "node-configurable-http-proxy) or `npm install -g configurable-http-proxy`"
        )
    return [found]


def node_path() -> str | None:
    """Debian's modules folder, which a Node.js from elsewhere does not search by itself."""
    return str(DEBIAN_NODE_PATH) if DEBIAN_NODE_PATH.is_dir() else None


def check_config_file(path: Path) -> None:
    """The hub runs its configuration as root: only root may be able to change it."""
    if not path.is_file():
        raise HubError(f"no hub configuration at {path}; copy {CONFIG_FILE} from the course repository")
    for item in (path, *path.parents):
        info = item.stat()
        open_to_others = stat.S_IMODE(info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH)
        sticky = stat.S_IMODE(info.st_mode) & stat.S_ISVTX
        if info.st_uid != 0 or (open_to_others and not (item != path and sticky)):
            raise HubError(
                f"{item} can be changed by an account other than root, and the hub runs {path.name} as "
                f"root: copy it where only root can change it, e.g. `sudo install -D -m 644 {path} "
                f"/etc/autograder-hub/{CONFIG_FILE}`, and start the hub with "
                f"`sudo autograder hub --config /etc/autograder-hub/{CONFIG_FILE}`"
            )


def check_machine(facts: dict[str, str | bool]) -> None:
    if os.geteuid() != 0:
        raise HubError(
            "the hub must run as root: it checks passwords with PAM and starts each person's "
            "server as their own account; run: sudo autograder hub"
        )
    if interpreter_view() and have_tools():
        raise HubError(
            f"this Python lives in a folder other accounts cannot enter, and {', '.join(have_tools())} "
            "is missing to let them run it: run `make system`, or install the environment under /opt"
        )
    proxy_command()
    course = Path(str(facts["exchange_root"])) / str(facts["course_id"])
    if not (course / "outbound").is_dir():
        raise HubError(
            f"the exchange {course} is not set up: run `autograder exchange-setup` as the account "
            "that grades (the owner of the course's state folder) before starting the hub"
        )


def learner_nbgrader_config(settings: Settings) -> str:
    """The learners' configuration of the one-machine flow, with nbgrader's hub plugin in place
    of a fixed course id: a learner's hub groups decide which courses they see."""
    fixed = f"c.CourseDirectory.course_id = {settings.course_id!r}\n"
    return learner_config(settings).replace(fixed, "") + (
        "# which courses a learner sees comes from their hub groups (nbgrader-<course>)\n"
        f"c.Authenticator.plugin_class = {AUTH_PLUGIN!r}\n"
    )


def prepare(course_root: Path, config_file: Path) -> tuple[HubLayout, HubCourse]:
    """Check the machine and the course, and write what the learners' servers read."""
    check_config_file(config_file)
    facts = read_as_owner(course_root)
    check_machine(facts)
    course = HubCourse.from_facts(facts)
    check_groups(course.groups)
    layout = HubLayout.of(course.course_id)
    layout.root.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.root, 0o711)
    layout.runtime.mkdir(exist_ok=True)
    os.chmod(layout.runtime, 0o700)
    write_learner_lab_config(layout.learners)
    config = layout.learners / "nbgrader_config.py"
    config.write_text(str(facts["learner_config"]))
    os.chmod(config, 0o644)
    return layout, course


def describe(course_root: Path) -> dict[str, str | bool]:
    """The course facts the hub needs, as the course's owner sees them (``read_as_owner``)."""
    settings = load_settings(course_root)
    exchange = settings.config.get("Exchange", {})
    return {
        **asdict(HubCourse.of(settings)),
        "exchange_root": str(exchange_root(settings)),
        "path_includes_course": bool(exchange.get("path_includes_course", False)),
        "learner_config": learner_nbgrader_config(settings),
    }


def read_as_owner(course_root: Path) -> dict[str, str | bool]:
    """``describe`` run as the account that owns the course folder (root's own course: here)."""
    info = course_root.stat()
    if info.st_uid == 0:
        return describe(course_root)
    argv = [sys.executable, "-m", "autograder.hub.course", str(course_root)]
    view = interpreter_view()
    user = pwd.getpwuid(info.st_uid)
    if view:
        argv = as_account(view, user.pw_uid, user.pw_gid, argv, cwd=str(course_root))
    else:
        argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--", *argv]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": user.pw_dir, "LANG": "C.UTF-8"}
    if "AUTOGRADER_STATE" in os.environ:
        env["AUTOGRADER_STATE"] = os.environ["AUTOGRADER_STATE"]
    done = subprocess.run(argv, env=env, cwd=course_root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HubError(
            f"cannot read the course {course_root} as {user.pw_name}: {done.stderr.strip()[-600:]}"
        )
    facts: dict[str, str | bool] = json.loads(done.stdout)
    return facts


if __name__ == "__main__":  # what read_as_owner runs as the course's owner
    print(json.dumps(describe(Path(sys.argv[1]))))
