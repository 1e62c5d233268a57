"""What ``autograder hub`` checks and prepares before the hub starts (fast; no hub runs here).

The hub itself, with real accounts and a browser, is ``tests/scenarios/test_hub.py``.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from autograder.course.config import load_settings
from autograder.course.learner_lab import (
    INSTRUCTOR_PLUGINS,
    INSTRUCTOR_SERVER_EXTENSIONS,
    write_learner_lab_config,
)
from autograder.hub import limits
from autograder.hub.course import (
    AUTH_PLUGIN,
    CourseGroups,
    HubCourse,
    HubError,
    check_config_file,
    check_groups,
    describe,
    learner_nbgrader_config,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_course_groups_are_the_ones_nbgraders_plugin_reads():
    groups = CourseGroups.of("ml-career")
    assert (groups.learners, groups.instructors) == ("nbgrader-ml-career", "formgrade-ml-career")


def test_missing_groups_are_named_with_the_commands_that_make_them():
    with pytest.raises(HubError) as caught:
        check_groups(CourseGroups.of("no-such-course-xyz"))
    message = str(caught.value)
    assert (
        "sudo groupadd nbgrader-no-such-course-xyz && sudo groupadd formgrade-no-such-course-xyz" in message
    )
    assert "usermod -aG nbgrader-no-such-course-xyz LEARNER" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a root-owned configuration")
def test_a_configuration_only_root_can_change_is_accepted(tmp_path):
    folder = tmp_path / "etc"
    folder.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    config = folder / "jupyterhub_config.py"
    config.write_text("c = get_config()\n")
    os.chmod(config, 0o644)
    check_config_file(config)
    os.chmod(config, 0o664)  # group-writable: someone else could change it
    with pytest.raises(HubError, match="can be changed by an account other than root"):
        check_config_file(config)
    os.chmod(config, 0o644)
    os.chmod(folder, 0o777)  # a folder anyone can write to: the file could be swapped
    with pytest.raises(
        HubError, match=r"sudo install -D -m 644 .* /etc/autograder-hub/jupyterhub_config\.py"
    ):
        check_config_file(config)


def test_a_missing_configuration_is_named(tmp_path):
    with pytest.raises(HubError, match=r"no hub configuration at .*nope\.py"):
        check_config_file(tmp_path / "nope.py")


def test_learners_see_the_courses_of_their_hub_groups_not_a_fixed_one():
    settings = load_settings(REPO)
    text = learner_nbgrader_config(settings)
    assert f"c.Authenticator.plugin_class = {AUTH_PLUGIN!r}" in text
    assert "CourseDirectory.course_id" not in text
    assert "c.ExchangeFactory.submit = 'autograder.course.exchange_plugins.OwnFolderSubmit'" in text
    compile(text, "nbgrader_config.py", "exec")  # the learners' file is valid Python
    facts = describe(REPO)
    assert facts["learner_config"] == text and facts["course_id"] == "ml-career"
    assert HubCourse.from_facts(facts).groups == CourseGroups.of("ml-career")


def test_the_learners_lab_configuration_turns_the_instructor_tools_off(tmp_path):
    folder = write_learner_lab_config(tmp_path / "learners")
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"] == dict.fromkeys(INSTRUCTOR_PLUGINS, True)
    server = json.loads((folder / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)
    for path in (folder, folder / "labconfig", folder / "labconfig" / "page_config.json"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o004, f"{path} must be readable by every learner"


def make_v1(root: Path) -> None:
    for controller in ("memory", "cpu"):
        (root / controller).mkdir(parents=True)


def make_v2(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")


def test_a_servers_cgroup_v1_gets_its_memory_and_cpu_limits(tmp_path):
    make_v1(tmp_path)
    assert limits.cgroup_kind(tmp_path) == "v1"
    procs = limits.prepare_cgroup("alice", limits.ServerLimits(512 << 20, 0.5), tmp_path)
    memory = tmp_path / "memory" / limits.GROUP / "alice"
    cpu = tmp_path / "cpu" / limits.GROUP / "alice"
    assert procs == [memory / "cgroup.procs", cpu / "cgroup.procs"]
    assert (memory / "memory.limit_in_bytes").read_text() == str(512 << 20)
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000"
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000"


def test_a_servers_cgroup_v2_gets_its_memory_and_cpu_limits(tmp_path):
    make_v2(tmp_path)
    assert limits.cgroup_kind(tmp_path) == "v2"
    (tmp_path / limits.GROUP).mkdir()
    (tmp_path / limits.GROUP / "cgroup.subtree_control").write_text("")
    (procs,) = limits.prepare_cgroup("bob", limits.ServerLimits(1 << 30, 2.0), tmp_path)
    folder = tmp_path / limits.GROUP / "bob"
    assert procs == folder / "cgroup.procs"
    assert (folder / "memory.max").read_text() == str(1 << 30)
    assert (folder / "cpu.max").read_text() == "200000 100000"
    assert "+memory +cpu" in (tmp_path / "cgroup.subtree_control").read_text()


def test_no_cgroup_means_an_address_space_limit_only(tmp_path):
    assert limits.cgroup_kind(tmp_path) is None
    assert limits.prepare_cgroup("carol", limits.ServerLimits(1 << 30, 1.0), tmp_path) == []
