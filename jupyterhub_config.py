"""JupyterHub for this course: `sudo autograder hub` starts it (docs/HUB.md).

Edit the settings below freely; `autograder hub` checks the machine and the course first
and hands this file what it read of the course (AUTOGRADER_HUB_COURSE), so that the hub,
which runs as root, never runs the course's own Python. The hub runs this file as root:
keep it where only root can change it (`autograder hub` refuses otherwise and says how).
"""

import os
import sys

from autograder.hub.course import HubCourse, HubLayout, node_path, proxy_command

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

course = HubCourse.from_environment()
groups = course.groups  # nbgrader-<course> (learners), formgrade-<course> (instructors)
hub_dir = HubLayout.of(course.course_id)

# --- where the hub listens, and where it keeps its own state ---------------------------
c.JupyterHub.bind_url = os.environ.get("AUTOGRADER_HUB_URL", "http://127.0.0.1:8000")
# the hub's own API and the proxy's, on loopback only
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('AUTOGRADER_HUB_API_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('AUTOGRADER_PROXY_API_PORT', '8001')}"
c.JupyterHub.db_url = f"sqlite:///{hub_dir.runtime / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub_dir.runtime / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(hub_dir.runtime / "proxy.pid")
c.ConfigurableHTTPProxy.command = proxy_command()  # npm's or Debian's configurable-http-proxy
if node_path():
    os.environ.setdefault("NODE_PATH", node_path() or "")

# --- who logs in: the machine's accounts (PAM), members of the course's Unix groups -----
c.JupyterHub.authenticator_class = "autograder.hub.auth.CourseAuthenticator"
c.CourseAuthenticator.course_id = course.course_id
c.Authenticator.admin_users = set()  # no one may open another person's server

# --- each person's server ---------------------------------------------------------------
c.JupyterHub.spawner_class = "autograder.hub.spawner.CourseSpawner"
c.CourseSpawner.course_root = course.root
c.CourseSpawner.course_id = course.course_id
c.CourseSpawner.state_dir = course.state_dir
c.CourseSpawner.learner_config_dir = str(hub_dir.learners)
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.mem_limit = os.environ.get("AUTOGRADER_HUB_MEM_LIMIT", "4G")  # server and kernels together
c.Spawner.cpu_limit = float(os.environ.get("AUTOGRADER_HUB_CPU_LIMIT", "1.0"))  # cores' worth of CPU time
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
# nbgrader's JupyterHub plugin reads the person's own groups through the hub's API
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "read:users:groups!user"]

# --- servers idle this long are stopped (jupyterhub-idle-culler) -------------------------
idle_seconds = int(os.environ.get("AUTOGRADER_HUB_IDLE_SECONDS", "3600"))
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable, "-m", "jupyterhub_idle_culler",
            f"--timeout={idle_seconds}", f"--cull-every={max(10, idle_seconds // 6)}",
        ],  # fmt: skip
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
