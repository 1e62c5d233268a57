"""The ``jupyterhub`` command ``autograder hub`` runs, built so that tests start exactly it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .course import CONFIG_FILE, COURSE_ENV, HUB_DIR_ENV, prepare


@dataclass(frozen=True)
class HubCommand:
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    url: str


@dataclass(frozen=True)
class HubOptions:
    url: str = "http://127.0.0.1:8000"
    idle_seconds: int = 3600
    mem_limit: str = "4G"
    cpu_limit: float = 1.0
    config: Path | None = None


def hub_command(course_root: Path, options: HubOptions) -> HubCommand:
    """Check and prepare everything, then the command line that starts the course's hub."""
    config = (options.config or course_root / CONFIG_FILE).resolve()
    layout, course = prepare(course_root, config)
    env = {
        **os.environ,
        COURSE_ENV: course.to_json(),
        HUB_DIR_ENV: str(layout.root),
        "AUTOGRADER_HUB_URL": options.url,
        "AUTOGRADER_HUB_IDLE_SECONDS": str(options.idle_seconds),
        "AUTOGRADER_HUB_MEM_LIMIT": options.mem_limit,
        "AUTOGRADER_HUB_CPU_LIMIT": str(options.cpu_limit),
    }
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(config)]
    return HubCommand(argv, env, layout.runtime, options.url.rstrip("/") + "/hub/login")
