"""The one family of errors a user can fix: ``AutograderError``.

Why one family: the CLI prints an ``AutograderError`` as one line (``autograder: error:
...``) that names the input and the fix, and exits 2; anything else is a bug in the
grader and shows its traceback. Each subclass keeps the built-in base it had (a
``ValueError``, a ``KeyError``...), so code that caught those still does.
"""

from __future__ import annotations


class AutograderError(Exception):
    """Something the user can fix; the message names the input and the fix."""


class NotFound(AutograderError, LookupError):
    """A record, a learner's grading or a file that is asked for and does not exist (yet)."""


class BadPlan(AutograderError, ValueError):
    """A study plan asked for with hours, a date or a track it cannot be made from."""
