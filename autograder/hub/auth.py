"""Who may log in to the course's hub, and in which of its groups.

The machine's own accounts (PAM) log in; the course's Unix groups decide who is in the class:
``nbgrader-<course>`` for learners, ``formgrade-<course>`` for instructors. The hub's groups
of the same names follow them (``manage_groups``) at each login and each refresh, so that a
learner added with ``usermod -aG`` is in the class at their next login, and one removed is
out of it. nbgrader's JupyterHub plugin reads those hub groups to show each learner only the
courses they are in; an account in neither group cannot log in.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import PAMAuthenticator
from traitlets import Unicode

from .course import CourseGroups, unix_members


class CourseAuthenticator(PAMAuthenticator):  # type: ignore[misc]
    course_id = Unicode(config=True, help="The course whose groups decide who is in the class.")
    manage_groups = True

    def course_groups(self, username: str) -> list[str]:
        """The course's groups ``username`` is in on this machine (learners', instructors')."""
        groups = CourseGroups.of(self.course_id)
        return [g for g in (groups.learners, groups.instructors) if username in unix_members(g)]

    def check_allowed(self, username: str, authentication: Any = None) -> bool:
        """In the class means in one of the course's groups; nothing else lets anyone in."""
        return bool(self.course_groups(username))

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        name = await super().authenticate(handler, data)
        if name is None:
            return None
        username = name["name"] if isinstance(name, dict) else str(name)
        groups = self.course_groups(username)
        if not groups:
            self.log.warning("%s is in neither group of the course %s: not let in", username, self.course_id)
            return None
        return {"name": username, "groups": groups}

    async def refresh_user(self, user: Any, handler: Any = None) -> bool | dict[str, Any]:
        """Keep the hub's groups equal to the Unix groups between logins."""
        groups = self.course_groups(user.name)
        if not groups:
            return False  # no longer in the class: log in again, which will refuse
        return {"name": user.name, "groups": groups}
