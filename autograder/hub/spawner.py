"""How the hub starts one person's server: as their account, confined, limited, with their tools.

- A learner's server opens on their home folder and reads the learners' configuration
  folder (``learners/`` of the hub folder): their nbgrader configuration and the JupyterLab
  settings that hide the instructor's tools.
- An instructor's server opens on the course directory with the course's
  ``jupyter_config.py``, as ``autograder lab`` does, so formgrader and "Create Assignment"
  work on the course. The instructor account should own the course folder.
- Every server and everything it starts (kernels, terminals) is in a control group with
  ``mem_limit`` and ``cpu_limit`` (``limits``), and runs as the person's own account.
- Where this Python lives in a folder other accounts cannot enter (``reach``), the server
  starts inside a bubblewrap view that mounts it back, read-only.
"""

from __future__ import annotations

import os
import pwd
import time
from pathlib import Path
from typing import Any

import psutil
from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from ..course.learner_lab import with_config_path
from . import limits
from .course import CourseGroups
from .reach import as_account, interpreter_view


class CourseSpawner(LocalProcessSpawner):  # type: ignore[misc]
    course_root = Unicode(config=True, help="The course directory (instructors' servers open on it).")
    course_id = Unicode(config=True, help="The course's id; its groups tell learners from instructors.")
    state_dir = Unicode(config=True, help="The course's state folder (instructors' AUTOGRADER_STATE).")
    learner_config_dir = Unicode(config=True, help="The configuration folder learners' servers read.")
    _cgroup_procs: list[Path] = []  # noqa: RUF012 - set by start() before the process forks
    _wrapped = False

    def is_instructor(self) -> bool:
        instructors = CourseGroups.of(self.course_id).instructors
        return any(group.name == instructors for group in self.user.groups)

    def workdir(self) -> str:
        return self.course_root if self.is_instructor() else pwd.getpwnam(self.user.name).pw_dir

    def get_env(self) -> dict[str, str]:
        env: dict[str, str] = super().get_env()
        if self.is_instructor():
            env = with_config_path(env, Path(self.course_root))
            env["AUTOGRADER_STATE"] = self.state_dir
        else:
            env = with_config_path(env, Path(self.learner_config_dir))
        return env

    def server_limits(self) -> limits.ServerLimits:
        memory = int(self.mem_limit) if self.mem_limit else 2 << 30
        return limits.ServerLimits(memory, float(self.cpu_limit or 1.0))

    def make_preexec_fn(self, name: str) -> Any:
        """Join the control groups as root; drop to the account unless the view's setpriv will."""
        procs, server_limits, wrapped = self._cgroup_procs, self.server_limits(), self._wrapped
        user = pwd.getpwnam(name)
        workdir = self.workdir()

        def preexec() -> None:
            limits.enter(procs, server_limits)
            if wrapped:
                return
            os.setgid(user.pw_gid)
            os.initgroups(name, user.pw_gid)
            os.setuid(user.pw_uid)
            os.chdir(workdir)

        return preexec

    async def start(self) -> Any:
        self.notebook_dir = self.workdir()
        self.default_url = "/lab"
        self._cgroup_procs = limits.prepare_cgroup(self.user.name, self.server_limits())
        if not self._cgroup_procs:
            self.log.warning("no control group can be made here: memory is limited per process, CPU is not")
        view = interpreter_view()
        self._wrapped = bool(view)
        plain: list[str] = list(self.cmd)  # type: ignore[has-type]
        if view:
            user = pwd.getpwnam(self.user.name)
            self.cmd = as_account(view, user.pw_uid, user.pw_gid, plain, cwd=self.workdir())
        try:
            address = await super().start()
        finally:
            self.cmd = plain
        if view:
            self.pid = self._server_pid(self.proc.pid)
        return address

    @staticmethod
    def _server_pid(wrapper: int) -> int:
        """bwrap's child, which setpriv turned into the server: signals must reach it, not bwrap."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                children = psutil.Process(wrapper).children()
            except psutil.NoSuchProcess:
                return wrapper
            if children:
                return int(children[0].pid)
            time.sleep(0.05)
        return wrapper

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)
        limits.remove_cgroup(self.user.name)
