"""The course: its settings, manifest and folders, the learners' workspaces, the exchange,
JupyterLab, the demo, and ``autograder check``, which proves every notebook before release.

Trusted code only: a learner's kernel never imports anything below ``autograder.course``.
"""
