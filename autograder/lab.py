"""The JupyterLab a learner works in: their workspace, this course's configuration, nbgrader's tools.

``autograder lab`` is a thin wrapper over ``jupyter lab``; this module builds its command
line so that tests start exactly what a learner starts. Three things matter:

- the server's root is the learner's workspace, so the file browser opens on their work;
- the server runs from the course directory with ``jupyter_config.py`` passed in, so
  nbgrader's server extensions (the Validate button, the assignment list) read this
  course's configuration, as they look for it in the working directory;
- a login token is always set and shown in the URL the command prints, so the learner
  can open it (Jupyter's own random token would only be shown in its log).
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .workspace import WorkspaceError


@dataclass(frozen=True)
class LabCommand:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    url: str
    token: str
    root: Path


def lab_command(settings: Settings, learner: str, *, port: int = 8888, token: str | None = None) -> LabCommand:
    """The ``jupyter lab`` command line, environment and URL for ``learner``'s workspace."""
    folder = settings.workspaces_dir / learner
    if not folder.is_dir():
        raise WorkspaceError(
            f"{learner} has no workspace yet; run: autograder start ASSIGNMENT --learner {learner}"
        )
    token = token or secrets.token_hex(16)
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
        "--no-browser",
        f"--config={settings.root / 'jupyter_config.py'}",
    ]
    if os.geteuid() == 0:  # containers and CI machines often run as root
        argv.append("--allow-root")
    env = {**os.environ, "AUTOGRADER_STATE": str(settings.state_dir)}
    url = f"http://127.0.0.1:{port}/lab?token={token}"
    return LabCommand(argv, env, settings.root, url, token, folder)
