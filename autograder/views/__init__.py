"""Views of what grading recorded: mastery (pure), feedback pages, dashboards and their
charts, a competition's leaderboard, and grades for a learning-management system.

Every view reads typed evidence records (``grading.evidence``) and agrees with ``mastery``.
"""
