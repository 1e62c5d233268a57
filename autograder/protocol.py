"""What the learner's kernel and the trusted grader agree on, and nothing else.

Why a module of its own: both sides need these names (the kernel to send a report, the
grader to find it and to tell the kernel it is being collected), and the grader should
not import the kernel's check helper to learn them. Standard library only.
"""

from __future__ import annotations

MIME_TYPE = "application/vnd.autograder.check+json"
"""The display output a check report travels in, attached to the test cell that made it."""
COLLECT_ENV = "AUTOGRADER_COLLECT"
"""Set to ``1`` by the grader: values are collected outside, nothing is compared in the kernel."""
STATE_ENV = "AUTOGRADER_STATE"
"""The course's working-state folder, where it is not ``.autograder/`` (the demo's, a test's)."""
