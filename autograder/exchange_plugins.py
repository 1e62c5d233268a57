"""The old path of ``autograder.course.exchange_plugins``, kept for configuration files.

``exchange-setup`` wrote learners' configuration files before 2026-12 naming
``autograder.exchange_plugins.OwnFolderSubmit``; those files still load. Nothing else
should import from here.
"""

from .course.exchange_plugins import OwnerCheckedCollect, OwnFolderSubmit

__all__ = ["OwnFolderSubmit", "OwnerCheckedCollect"]
