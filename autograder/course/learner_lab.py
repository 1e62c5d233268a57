"""A learner's JupyterLab shows the learner's nbgrader tools only.

nbgrader installs its instructor tools (formgrader, "Create Assignment", the course list)
for every server in the environment. A learner needs the Assignment List and Validate, not
those: ``write_learner_lab_config`` writes a Jupyter configuration folder that turns them
off, both the JupyterLab plugins (``labconfig/page_config.json``) and formgrader's server
extension, so that its pages are not served either. A server reads the folder when it is
on ``JUPYTER_CONFIG_PATH``; ``autograder lab --learner`` and the hub's learner servers put
it there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)


def write_learner_lab_config(folder: Path) -> Path:
    """The configuration folder that hides the instructor tools; readable by every account."""
    labconfig = folder / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    page = {"disabledExtensions": dict.fromkeys(INSTRUCTOR_PLUGINS, True)}
    server = {"ServerApp": {"jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)}}
    for path, content in (
        (labconfig / "page_config.json", page),
        (folder / "jupyter_server_config.json", server),
    ):
        path.write_text(json.dumps(content, indent=2) + "\n")
        os.chmod(path, 0o644)
    for path in (folder, labconfig):
        os.chmod(path, 0o755)
    return folder


def with_config_path(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` with ``folder`` first on ``JUPYTER_CONFIG_PATH``."""
    rest = env.get("JUPYTER_CONFIG_PATH")
    return {**env, "JUPYTER_CONFIG_PATH": os.pathsep.join([str(folder), *([rest] if rest else [])])}
