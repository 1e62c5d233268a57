"""The JupyterLab a learner works in: their workspace, this course's configuration, nbgrader's tools.

``autograder lab`` is a thin wrapper over ``jupyter lab``; this module builds its command
line so that tests start exactly what a learner starts. What matters:

- the server's root is the learner's workspace, so the file browser opens on their work;
- the server runs from the course directory with ``jupyter_config.py`` passed in, so
  nbgrader's server extensions (the Validate button, the assignment list) read this
  course's configuration, as they look for it in the working directory;
- a login token is always set and shown in the URL the command prints, so the learner
  can open it (Jupyter's own random token would only be shown in its log);
- a learner's JupyterLab has the learner's nbgrader tools only (Assignment List, Validate),
  not formgrader, "Create Assignment" or the course list (``learner_lab``);
- each learner's JupyterLab settings live in the state folder, not in the account's home
  (several learners share one machine account in a one-machine class), and start with
  JupyterLab's news pop-up off: the machines have no network for it, and it covers the
  notebook.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .learner_lab import with_config_path, write_learner_lab_config
from .workspace import WorkspaceError


@dataclass(frozen=True)
class LabCommand:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    url: str
    token: str
    root: Path


def lab_command(
    settings: Settings, learner: str | None, *, port: int = 8888, token: str | None = None
) -> LabCommand:
    """The ``jupyter lab`` command line, environment and URL for ``learner``'s workspace.

    ``learner=None``: the instructor's JupyterLab, on the course directory itself, where
    nbgrader's formgrader and "Create Assignment" tools work on this course.
    """
    if learner is None:
        folder, name = settings.root, "instructor"
    else:
        folder, name = settings.workspaces_dir / learner, learner
        if not folder.is_dir():
            raise WorkspaceError(
                f"{learner} has no workspace yet; run: autograder start ASSIGNMENT --learner {learner}"
            )
    token = token or secrets.token_hex(16)
    user_settings = settings.state_dir / "lab" / name / "user-settings"
    news = user_settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if not news.is_file():  # a choice made later in JupyterLab is kept
        news.parent.mkdir(parents=True, exist_ok=True)
        news.write_text(json.dumps({"fetchNews": "false"}))
    argv = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={folder}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # the printed URL must be the one that serves
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={user_settings}",
        f"--LabApp.workspaces_dir={user_settings.parent / 'workspaces'}",
        "--no-browser",
        f"--config={settings.root / 'jupyter_config.py'}",
    ]
    if os.geteuid() == 0:  # containers and CI machines often run as root
        argv.append("--allow-root")
    env = {**os.environ, "AUTOGRADER_STATE": str(settings.state_dir)}
    if learner is not None:
        env = with_config_path(env, write_learner_lab_config(settings.state_dir / "lab" / "learner-config"))
    url = f"http://127.0.0.1:{port}/lab?token={token}"
    return LabCommand(argv, env, settings.root, url, token, folder)
